package syslog

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stele-log/stele/ingest"
)

// TestFrameLineEnds checks what an LF-delimited frame keeps and how large
// it says the message is: the LF or CR LF is never part of the message,
// not even of an oversized one's size, also when the CR and the LF fall in
// different reads of the buffer.
func TestFrameLineEnds(t *testing.T) {
	const max = 8
	long := strings.Repeat("x", 64<<10-1) // with its CR, fills the 64 KiB buffer
	for _, c := range []struct {
		name, stream string
		data         []string // the frames' data
		sizes        []int64
	}{
		{"LF", "abc\n", []string{"abc"}, []int64{3}},
		{"CR LF", "abc\r\n", []string{"abc"}, []int64{3}},
		{"last line without LF", "abc\ndef", []string{"abc", "def"}, []int64{3, 3}},
		{"last line ending in CR", "abc\r", []string{"abc"}, []int64{3}},
		{"empty lines skipped", "\n\r\nabc\n\n", []string{"abc"}, []int64{3}},
		{"exactly max, CR LF", "a2345678\r\n", []string{"a2345678"}, []int64{8}},
		{"oversized LF", "a23456789\n", []string{"a2345678"}, []int64{9}},
		{"oversized CR LF", "a234567890\r\n", []string{"a2345678"}, []int64{10}},
		{"oversized without LF", "a234567890", []string{"a2345678"}, []int64{10}},
		{"CR and LF in two buffer reads", long + "\r\nabc\n", []string{"xxxxxxxx", "abc"}, []int64{int64(len(long)), 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fr := newFrameReader(strings.NewReader(c.stream), max)
			var data []string
			var sizes []int64
			for range 10 {
				f, err := fr.next()
				if f.problem != "" {
					t.Errorf("problem %q", f.problem)
				}
				if f.size > 0 {
					data = append(data, string(f.data))
					sizes = append(sizes, f.size)
					if f.oversize != (f.size > max) {
						t.Errorf("size %d, oversize %v", f.size, f.oversize)
					}
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if fmt.Sprint(data) != fmt.Sprint(c.data) || fmt.Sprint(sizes) != fmt.Sprint(c.sizes) {
				t.Errorf("frames %q sizes %v, want %q %v", data, sizes, c.data, c.sizes)
			}
		})
	}
}

// countingListener counts the bytes its connections have read, so that a
// test knows when the server holds everything a client wrote.
type countingListener struct {
	net.Listener
	read atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, read: &l.read}, nil
}

type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// countingDialConn counts the bytes a client wrote, below TLS.
type countingDialConn struct {
	net.Conn
	written atomic.Int64
}

func (c *countingDialConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestLastLineWithoutLF: an LF-delimited stream's last line without its LF
// is the same event whoever ends the stream: the sender (EOF), the server
// shutting down, or the idle timeout; over TCP and over TLS.
func TestLastLineWithoutLF(t *testing.T) {
	const payload = "<13>1 - h app - - - first\n<13>1 - h app - - - last"
	cert, pool := selfSigned(t)
	for _, useTLS := range []bool{false, true} {
		for _, end := range []string{"sender EOF", "shutdown", "idle timeout"} {
			name := end
			if useTLS {
				name += " over TLS"
			}
			t.Run(name, func(t *testing.T) {
				l := openLog(t)
				m := ingest.NewMetrics(prometheus.NewRegistry())
				cl := &countingListener{Listener: listen(t)}
				var ln net.Listener = cl
				source := "syslog_tcp"
				if useTLS {
					ln = tls.NewListener(cl, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
					source = "syslog_tls"
				}
				cfg := Config{Sink: l, Metrics: m, Logger: quiet, BatchDelay: time.Millisecond}
				if end == "idle timeout" {
					cfg.IdleTimeout = 100 * time.Millisecond
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				errc := make(chan error, 1)
				go func() { errc <- ServeTCP(ctx, ln, cfg) }()

				raw, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer raw.Close()
				cc := &countingDialConn{Conn: raw}
				var conn net.Conn = cc
				if useTLS {
					tc := tls.Client(cc, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
					if err := tc.Handshake(); err != nil {
						t.Fatal(err)
					}
					conn = tc
				}
				if _, err := io.WriteString(conn, payload); err != nil {
					t.Fatal(err)
				}
				switch end {
				case "sender EOF":
					if useTLS {
						conn.(*tls.Conn).CloseWrite()
					} else {
						raw.(*net.TCPConn).CloseWrite()
					}
				case "shutdown":
					// Only once the server has read every byte: what is still
					// in the kernel's buffer at shutdown is lost.
					waitFor(t, "the server to read the payload", func() bool { return cl.read.Load() == cc.written.Load() })
					waitSize(t, l, 1)
					cancel()
					if err := <-errc; err != nil {
						t.Fatalf("ServeTCP: %v", err)
					}
				}
				waitSize(t, l, 2)
				recs := records(t, l)
				for i, want := range []string{"first", "last"} {
					if recs[i].Action != "syslog.app" || recs[i].Message != want {
						t.Errorf("record %d: %s %q %v, want syslog.app %q", i, recs[i].Action, recs[i].Message, attrs(t, recs[i]), want)
					}
				}
				src := m.Source(source)
				if rec, acc, rej := count(src.Received), count(src.Accepted), count(src.Rejected); rec != 2 || acc != 2 || rej != 0 {
					t.Errorf("received %v accepted %v rejected %v", rec, acc, rej)
				}
				cancel()
				if end != "shutdown" {
					if err := <-errc; err != nil {
						t.Fatalf("ServeTCP: %v", err)
					}
				}
			})
		}
	}
}

// TestMaxConns: at the bound the server does not accept; the next sender
// waits in the backlog and is served, not refused, once a connection closes.
func TestMaxConns(t *testing.T) {
	l := openLog(t)
	m := ingest.NewMetrics(prometheus.NewRegistry())
	ln := listen(t)
	serveTCP(t, ln, Config{Sink: l, Metrics: m, Logger: quiet, MaxConns: 2, BatchDelay: time.Millisecond})
	dial := func(msg string) net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := fmt.Fprintf(c, "<13>1 - h app - - - %s\n", msg); err != nil {
			t.Fatal(err)
		}
		return c
	}
	first := dial("one")
	dial("two")
	waitSize(t, l, 2)
	third := dial("three") // completes in the kernel's backlog
	time.Sleep(200 * time.Millisecond)
	if got := count(m.Source("syslog_tcp").Received); l.Size() != 2 || got != 2 {
		t.Fatalf("a third connection was served at MaxConns 2: log %d, received %v", l.Size(), got)
	}
	first.Close()
	waitSize(t, l, 3)
	// The third connection was accepted, not closed: it goes on.
	fmt.Fprintf(third, "<13>1 - h app - - - four\n")
	waitSize(t, l, 4)
	recs := records(t, l)
	if recs[2].Message != "three" || recs[3].Message != "four" {
		t.Errorf("messages %q %q", recs[2].Message, recs[3].Message)
	}
}

// TestIdleTimeout: a silent connection is closed, not before IdleTimeout;
// one that keeps sending, however slowly, is not.
func TestIdleTimeout(t *testing.T) {
	const idle = 200 * time.Millisecond
	l := openLog(t)
	ln := listen(t)
	serveTCP(t, ln, Config{Sink: l, Logger: quiet, IdleTimeout: idle, BatchDelay: time.Millisecond})

	silent, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	io.WriteString(silent, "<13>1 - h app - - - then silence\n")
	sent := time.Now()
	silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(silent); err != nil {
		t.Fatalf("the server did not close a silent connection: %v", err)
	}
	if waited := time.Since(sent); waited < idle {
		t.Errorf("closed after %v of silence, IdleTimeout %v", waited, idle)
	}
	waitSize(t, l, 1)

	active, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer active.Close()
	const n = 12 // over 3 IdleTimeouts
	for i := range n {
		if _, err := fmt.Fprintf(active, "<13>1 - h app - - - tick %d\n", i); err != nil {
			t.Fatal(err)
		}
		time.Sleep(idle / 4)
	}
	waitSize(t, l, 1+n)
}

// TestIdleTimeoutNotWhileBlocked: time the server spends not reading a
// connection, because the log pushes back, is not the sender's silence.
func TestIdleTimeoutNotWhileBlocked(t *testing.T) {
	const idle = 100 * time.Millisecond
	l := openLog(t)
	m := ingest.NewMetrics(prometheus.NewRegistry())
	release := make(chan struct{})
	ln := listen(t)
	serveTCP(t, ln, Config{Sink: blockingSink{l, release}, Metrics: m, Logger: quiet, IdleTimeout: idle, BatchSize: 1})
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "<13>1 - h app - - - 1\n<13>1 - h app - - - 2\n<13>1 - h app - - - 3\n")
	// One batch sealing, one full, the third message waiting: not reading.
	waitFor(t, "three messages received", func() bool { return count(m.Source("syslog_tcp").Received) == 3 })
	time.Sleep(4 * idle)
	io.WriteString(conn, "<13>1 - h app - - - 4\n") // waits in the kernel
	close(release)
	waitSize(t, l, 4)
	io.WriteString(conn, "<13>1 - h app - - - 5\n")
	waitSize(t, l, 5)
}

// TestServeTCPListenerClosed: when the listener's owner closes it,
// ServeTCP closes the connections too and returns, their messages sealed.
func TestServeTCPListenerClosed(t *testing.T) {
	l := openLog(t)
	ln := listen(t)
	errc := make(chan error, 1)
	go func() { errc <- ServeTCP(context.Background(), ln, Config{Sink: l, Logger: quiet}) }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "<13>1 - h app - - - before the close\n")
	waitSize(t, l, 1)
	ln.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("ServeTCP: %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeTCP did not return after its listener was closed")
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Errorf("the connection was not closed: %v", err)
	}
}

// TestUDPQueueBytes: datagrams held (queued or in batches not yet sealed)
// are bounded in bytes, the excess is dropped and counted as dropped, and
// the bytes are given back once sealed.
func TestUDPQueueBytes(t *testing.T) {
	l := openLog(t)
	m := ingest.NewMetrics(prometheus.NewRegistry())
	release := make(chan struct{})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- ServeUDP(ctx, pc, Config{Sink: blockingSink{l, release}, Metrics: m, Logger: quiet,
			MaxMessage: 200, UDPQueueBytes: 1000, UDPQueue: 1000, UDPWorkers: 1, BatchSize: 1})
	}()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("ServeUDP: %v", err)
		}
	}()
	conn, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	src := m.Source("syslog_udp")
	send := func(i int) {
		msg := fmt.Sprintf("<13>1 - h q - - - %03d ", i)
		msg += strings.Repeat("p", 100-len(msg)) // 100 bytes each
		if _, err := io.WriteString(conn, msg); err != nil {
			t.Fatal(err)
		}
	}
	const sent = 30
	for i := range sent {
		send(i)
	}
	waitFor(t, "every datagram received", func() bool { return count(src.Received) == sent })
	close(release)
	// 1000 bytes hold ten datagrams of 100, none of which is sealed yet.
	waitFor(t, "ten datagrams sealed", func() bool { return count(src.Accepted) == 10 })
	if drop, rej := count(src.Dropped), count(src.Rejected); drop != sent-10 || rej != 0 {
		t.Errorf("dropped %v rejected %v, want %d and 0", drop, rej, sent-10)
	}
	// Sealed datagrams give their bytes back: the next ones are kept.
	for i := range 20 {
		send(sent + i)
		waitFor(t, "the datagram sealed", func() bool { return count(src.Accepted) == float64(11+i) })
	}
	if drop := count(src.Dropped); drop != sent-10 {
		t.Errorf("dropped %v after the queue drained", drop)
	}
	waitSize(t, l, 30)
}

// TestRateLimitedPerMessage: one warning's flood does not hide another.
func TestRateLimitedPerMessage(t *testing.T) {
	var buf bytes.Buffer
	r := newRateLimited(slog.New(slog.NewTextHandler(&buf, nil)), time.Hour)
	for range 5 {
		r.Warn("syslog: flood")
	}
	r.Warn("syslog: batch lost")
	out := buf.String()
	if strings.Count(out, "flood") != 1 || strings.Count(out, "batch lost") != 1 {
		t.Errorf("log:\n%s", out)
	}
	r.state["syslog: flood"].last = time.Now().Add(-2 * time.Hour)
	r.Warn("syslog: flood")
	if !strings.Contains(buf.String(), "suppressed=4") {
		t.Errorf("log without the held-back count:\n%s", buf.String())
	}
}

// TestShutdownAfterBackpressureKeepsLastLine: the reader has waited on the
// batcher (the log pushing back) longer than its deadline step, with the
// start of an unterminated line already buffered, when shutdown closes the
// connection. Moving the deadline then fails on the closed connection;
// that must read as the server's own end of stream, so the line is the
// same event as at the sender's EOF, not syslog.unparsed.
func TestShutdownAfterBackpressureKeepsLastLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sent := make(chan struct{})
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		c.Write([]byte("<13>1 - h a - - - one\n<13>1 - h a - - - partial"))
		close(sent)
		time.Sleep(time.Second)
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cr := &connReader{conn: c, ctx: ctx, timeout: time.Minute, step: 10 * time.Millisecond}
	fr := newFrameReader(cr, 1<<16)
	<-sent
	time.Sleep(50 * time.Millisecond) // both lines arrived
	if f, err := fr.next(); err != nil || string(f.data) != "<13>1 - h a - - - one" {
		t.Fatalf("first line: %q %v", f.data, err)
	}
	time.Sleep(50 * time.Millisecond) // backpressure, longer than step
	cancel()
	c.Close()
	f, err := fr.next()
	if string(f.data) != "<13>1 - h a - - - partial" || f.problem != "" || err != io.EOF {
		t.Fatalf("last line at shutdown: data %q problem %q err %v; want it whole, no problem, io.EOF", f.data, f.problem, err)
	}
}
