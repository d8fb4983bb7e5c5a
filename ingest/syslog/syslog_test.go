package syslog

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/storage/local"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fixedNow is the receive clock of tests that check RFC 3164 years.
var fixedNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func openLog(t testing.TB) *local.Log {
	t.Helper()
	l, err := local.Open(context.Background(), "/d", local.Options{Origin: "syslog.test/log", FS: fsx.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// records reads the whole log.
func records(t testing.TB, l *local.Log) []*stele.Record {
	t.Helper()
	var out []*stele.Record
	for seq := uint64(0); seq < l.Size(); seq++ {
		entry, err := l.Entry(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		r, err := stele.ParseRecord(entry)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// waitSize polls until l holds want entries or the deadline passes.
func waitSize(t testing.TB, l *local.Log, want uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for l.Size() < want {
		if time.Now().After(deadline) {
			t.Fatalf("log size %d, want %d", l.Size(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // nothing more should arrive
	if l.Size() != want {
		t.Fatalf("log size %d, want %d", l.Size(), want)
	}
}

func attrs(t testing.TB, r *stele.Record) map[string]any {
	t.Helper()
	m := map[string]any{}
	if len(r.Attributes) > 0 {
		if err := json.Unmarshal(r.Attributes, &m); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func rawString(t testing.TB, r *stele.Record) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(r.Raw, &s); err != nil {
		t.Fatalf("raw %s: %v", r.Raw, err)
	}
	return s
}

// sealAll runs messages through the batcher (no network) into l.
func sealAll(t testing.TB, l *local.Log, m *ingest.Metrics, msgs ...string) []*stele.Record {
	t.Helper()
	s, err := newServer(Config{Sink: l, Metrics: m, Logger: quiet, Now: func() time.Time { return fixedNow }, MaxMessage: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	in := make(chan item)
	done := make(chan struct{})
	go func() { defer close(done); s.batch(context.Background(), in, m.Source("test")) }()
	for _, msg := range msgs {
		in <- item{fr: datagram([]byte(msg), s.cfg.MaxMessage)}
	}
	close(in)
	<-done
	recs := records(t, l)
	if len(recs) != len(msgs) {
		t.Fatalf("%d records for %d messages", len(recs), len(msgs))
	}
	for i, r := range recs {
		if !strings.HasPrefix(msgs[i], rawPrefix(t, r)) {
			t.Errorf("record %d: raw %s is not (a prefix of) the message %q", i, r.Raw, msgs[i])
		}
	}
	return recs
}

func rawPrefix(t testing.TB, r *stele.Record) string {
	var s string
	if json.Unmarshal(r.Raw, &s) == nil {
		return s
	}
	var b struct{ Base64 []byte }
	if err := json.Unmarshal(r.Raw, &b); err != nil {
		t.Fatalf("raw %s: %v", r.Raw, err)
	}
	return string(b.Base64)
}

func TestMapping(t *testing.T) {
	l := openLog(t)
	reg := prometheus.NewRegistry()
	m := ingest.NewMetrics(reg)
	msgs := []string{
		// 0: RFC 5424 with stele@32473 and another SD element.
		`<86>1 2025-06-01T14:29:59.5+02:00 sso-1 SSHD 4242 LOGIN [stele@32473 action="user.login" outcome="success" actor_id="u-42" actor_type="user" actor_ip="2001:DB8::7" resource_type="host" resource_id="db-1" category="authentication" request_id="req-7" id="evt-1" tier="gold"][origin@32473 ip="10.0.0.1"] Accepted publickey for ann`,
		// 1: RFC 5424 without SD, app-name normalised.
		`<13>1 2025-06-01T12:00:00Z web1 My.App/v2 - - - hello`,
		// 2: RFC 5424 all nil.
		`<13>1 - - - - - -`,
		// 3: RFC 3164: year-less stamp takes the receive year.
		`<38>Mar  9 08:00:01 gw sshd[77]: Failed password for root`,
		// 4: RFC 3164 December stamp received in March: still this year (not in the future).
		`<38>Dec 31 23:59:59 gw cron: old`,
		// 5: PRI then free text (RFC 3164 §4.3.3): CONTENT.
		`<13>hello there`,
		// 6: no PRI: unparsed.
		`just text`,
		// 7: RFC 5424 that breaks the grammar: unparsed.
		`<13>1 yesterday host app - - - x`,
		// 8: an invalid stele action: mapped again without stele@32473.
		`<13>1 2025-06-01T12:00:00Z h app - - [stele@32473 action="Bad Action" actor_ip="not-an-ip"] m`,
		// 9: not UTF-8: raw as base64.
		"<13>1 - h app - - - caf\xe9",
		// 10: PRI out of range.
		`<192>1 - - - - - - x`,
		// 11: year 0000 cannot be stored: the receive time instead.
		`<13>1 0000-01-01T00:00:00Z h app - - - y0`,
		// 12: over MaxMessage (1 KiB here).
		`<13>1 - h app - - - ` + strings.Repeat("x", 2000),
	}
	recs := sealAll(t, l, m, msgs...)

	r := recs[0]
	if r.Action != "user.login" || r.Outcome != "success" || r.Actor == nil || r.Actor.ID != "u-42" || r.Actor.Type != "user" ||
		r.Actor.IP != "2001:db8::7" || r.Resource == nil || r.Resource.ID != "db-1" || r.Resource.Type != "host" ||
		r.Category != "authentication" || r.RequestID != "req-7" || r.ID != "evt-1" || r.Message != "Accepted publickey for ann" ||
		r.Source == nil || r.Source.Host != "sso-1" || r.Source.Service != "SSHD" || !r.Time.Equal(time.Date(2025, 6, 1, 12, 29, 59, 5e8, time.UTC)) {
		t.Errorf("5424 with SD: %+v %+v %+v %+v", r, r.Actor, r.Resource, r.Source)
	}
	a := attrs(t, r)
	sd, _ := a["sd"].(map[string]any)
	if a["facility"] != "authpriv" || a["severity"] != "info" || a["procid"] != "4242" || a["msgid"] != "LOGIN" ||
		fmt.Sprint(sd["origin@32473"]) != "map[ip:10.0.0.1]" || fmt.Sprint(sd["stele@32473"]) != "map[tier:gold]" {
		t.Errorf("5424 attributes: %v", a)
	}
	if recs[1].Action != "syslog.my_app_v2" || recs[1].Outcome != "unknown" || recs[1].Message != "hello" {
		t.Errorf("5424 plain: %+v", recs[1])
	}
	if recs[2].Action != "syslog.message" || recs[2].Source != nil || !recs[2].Time.Equal(fixedNow) {
		t.Errorf("5424 nil fields: %+v", recs[2])
	}
	r = recs[3]
	if r.Action != "syslog.sshd" || r.Source.Host != "gw" || r.Source.Service != "sshd" || r.Message != "Failed password for root" ||
		!r.Time.Equal(time.Date(2026, 3, 9, 8, 0, 1, 0, time.UTC)) || attrs(t, r)["procid"] != "77" || attrs(t, r)["facility"] != "auth" {
		t.Errorf("3164: %+v %v", r, attrs(t, r))
	}
	if !recs[4].Time.Equal(time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC)) {
		t.Errorf("3164 December stamp in March: %v", recs[4].Time)
	}
	if recs[5].Action != "syslog.message" || recs[5].Message != "hello there" || attrs(t, recs[5])["severity"] != "notice" {
		t.Errorf("PRI + CONTENT: %+v", recs[5])
	}
	for _, i := range []int{6, 7, 10} {
		if recs[i].Action != ActionUnparsed || recs[i].Message != msgs[i] || rawString(t, recs[i]) != msgs[i] || attrs(t, recs[i])["error"] == nil {
			t.Errorf("message %d: %+v", i, recs[i])
		}
	}
	r = recs[8]
	sd, _ = attrs(t, r)["sd"].(map[string]any)
	if r.Action != "syslog.app" || r.Actor != nil || fmt.Sprint(sd["stele@32473"]) != "map[action:Bad Action actor_ip:not-an-ip]" || attrs(t, r)["error"] == nil {
		t.Errorf("invalid stele@32473: %+v %v", r, attrs(t, r))
	}
	if string(recs[9].Raw) != `{"base64":"PDEzPjEgLSBoIGFwcCAtIC0gLSBjYWbp"}` || recs[9].Message != "caf\uFFFD" {
		t.Errorf("not UTF-8: raw %s message %q", recs[9].Raw, recs[9].Message)
	}
	if recs[11].Action != "syslog.app" || !recs[11].Time.Equal(fixedNow) {
		t.Errorf("year 0: %+v", recs[11])
	}
	if recs[12].Action != ActionOversized || len(rawString(t, recs[12])) != 1<<10 || attrs(t, recs[12])["size"] != float64(len(msgs[12])) {
		t.Errorf("oversized: %+v", recs[12])
	}
	src := m.Source("test")
	if acc, rej := count(src.Accepted), count(src.Rejected); acc != 8 || rej != 5 {
		t.Errorf("accepted %v rejected %v, want 8 and 5", acc, rej)
	}
}

// serveTCP starts ServeTCP on ln and stops it at the end of the test.
func serveTCP(t testing.TB, ln net.Listener, cfg Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ServeTCP(ctx, ln, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("ServeTCP: %v", err)
		}
	})
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func octet(msgs ...string) string {
	var sb strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&sb, "%d %s", len(m), m)
	}
	return sb.String()
}

func TestTCPFraming(t *testing.T) {
	l := openLog(t)
	reg := prometheus.NewRegistry()
	m := ingest.NewMetrics(reg)
	ln := listen(t)
	serveTCP(t, ln, Config{Sink: l, Metrics: m, Logger: quiet, MaxMessage: 256, BatchSize: 3})

	multi := "<13>1 - h app - - - line one\nline two"
	send := func(payload string) {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(conn, payload); err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	// Octet counting: a message with an embedded LF, an oversized one, then a normal one.
	send(octet(multi, "<13>1 - h app - - - "+strings.Repeat("y", 300), "<13>1 - h app - - - after"))
	waitSize(t, l, 3)
	// LF: CR LF, an empty line, an oversized line, a last line without LF.
	send("<13>1 - h lf - - - a\r\n\n<13>1 - h lf - - - " + strings.Repeat("z", 300) + "\n<13>1 - h lf - - - b")
	waitSize(t, l, 6)
	recs := records(t, l)
	if recs[0].Message != "line one\nline two" || rawString(t, recs[0]) != multi {
		t.Errorf("octet-counted with LF inside: %+v", recs[0])
	}
	if recs[1].Action != ActionOversized || attrs(t, recs[1])["size"] != float64(320) || len(rawString(t, recs[1])) != 256 {
		t.Errorf("octet-counted oversized: %+v %v", recs[1], attrs(t, recs[1]))
	}
	if recs[2].Message != "after" || recs[3].Message != "a" || recs[3].Action != "syslog.lf" || recs[5].Message != "b" {
		t.Errorf("messages: %q %q %q", recs[2].Message, recs[3].Message, recs[5].Message)
	}
	if recs[4].Action != ActionOversized || attrs(t, recs[4])["size"] != float64(319) { // its LF is not counted
		t.Errorf("LF oversized: %+v %v", recs[4], attrs(t, recs[4]))
	}
	if recs[0].Source == nil || recs[0].Source.IP != "127.0.0.1" {
		t.Errorf("source.ip: %+v", recs[0].Source)
	}
	src := m.Source("syslog_tcp")
	if acc, rej := count(src.Accepted), count(src.Rejected); acc != 4 || rej != 2 {
		t.Errorf("accepted %v rejected %v", acc, rej)
	}
}

func TestTCPBrokenStreams(t *testing.T) {
	for _, c := range []struct {
		name, payload, problem string
		good                   int // complete messages before the damage
	}{
		{"closed mid-frame", octet("<13>1 - h a - - - ok") + "40 <13>1 - h a - - - cut", "connection closed after 21 of 40 bytes of a message", 1},
		{"closed inside the count", octet("<13>1 - h a - - - ok") + "12", "connection closed inside an octet count", 1},
		{"bad count", octet("<13>1 - h a - - - ok") + "12x <13>", `octet counting: bad MSG-LEN "12x" (RFC 6587 §3.4.1)`, 1},
		{"leading zero", "012 <13>1 - - -", `octet counting: bad MSG-LEN "0" (RFC 6587 §3.4.1)`, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := openLog(t)
			ln := listen(t)
			serveTCP(t, ln, Config{Sink: l, Logger: quiet})
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(conn, c.payload)
			conn.(*net.TCPConn).CloseWrite()
			// The server closes a desynchronised connection itself.
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.ReadAll(conn); err != nil {
				t.Fatalf("server did not close: %v", err)
			}
			conn.Close()
			waitSize(t, l, uint64(c.good+1))
			recs := records(t, l)
			last := recs[c.good]
			if last.Action != ActionUnparsed || attrs(t, last)["error"] != c.problem {
				t.Errorf("damaged frame: %+v %v", last, attrs(t, last))
			}
		})
	}
}

// selfSigned makes a TLS certificate for 127.0.0.1.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "stele syslog test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func TestTLS(t *testing.T) {
	l := openLog(t)
	reg := prometheus.NewRegistry()
	m := ingest.NewMetrics(reg)
	cert, pool := selfSigned(t)
	ln := tls.NewListener(listen(t), &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	serveTCP(t, ln, Config{Sink: l, Metrics: m, Logger: quiet})

	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, octet(`<165>1 2025-06-01T12:00:00Z h tlsapp - - [stele@32473 action="tls.ok"] over tls`, "<13>1 - h tlsapp - - - two"))
	conn.Close()
	waitSize(t, l, 2)
	recs := records(t, l)
	if recs[0].Action != "tls.ok" || recs[0].Message != "over tls" || recs[1].Message != "two" {
		t.Errorf("TLS records: %+v %+v", recs[0], recs[1])
	}
	if acc := count(m.Source("syslog_tls").Accepted); acc != 2 {
		t.Errorf("syslog_tls accepted %v", acc)
	}

	// A client that does not speak TLS is dropped without an event.
	plain, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(plain, "<13>1 - h a - - - plain\n")
	plain.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.ReadAll(plain)
	plain.Close()
	if l.Size() != 2 {
		t.Errorf("plain text over the TLS port appended: size %d", l.Size())
	}
}

func TestUDP(t *testing.T) {
	l := openLog(t)
	reg := prometheus.NewRegistry()
	m := ingest.NewMetrics(reg)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ServeUDP(ctx, pc, Config{Sink: l, Metrics: m, Logger: quiet, MaxMessage: 100}) }()
	conn, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"<13>1 - h udp - - - one\n", "<13>Mar  9 08:00:01 h udp: two", "garbage", "<13>1 - h udp - - - " + strings.Repeat("q", 200)} {
		if _, err := io.WriteString(conn, d); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close()
	waitSize(t, l, 4) // loopback does not lose datagrams at this rate
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	byMsg := map[string]*stele.Record{}
	for _, r := range records(t, l) {
		byMsg[r.Action+"|"+r.Message] = r
	}
	for _, k := range []string{"syslog.udp|one", "syslog.udp|two", ActionUnparsed + "|garbage", ActionOversized + "|"} {
		if byMsg[k] == nil {
			t.Errorf("no record %q in %v", k, byMsg)
		}
	}
	src := m.Source("syslog_udp")
	if acc, rej := count(src.Accepted), count(src.Rejected); acc != 2 || rej != 2 {
		t.Errorf("accepted %v rejected %v", acc, rej)
	}
}

// TestUDPQueueFull fills a queue of one behind a sink that is blocked and
// checks that the excess is dropped and counted as dropped, not rejected.
func TestUDPQueueFull(t *testing.T) {
	l := openLog(t)
	reg := prometheus.NewRegistry()
	m := ingest.NewMetrics(reg)
	release := make(chan struct{})
	sink := blockingSink{l, release}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- ServeUDP(ctx, pc, Config{Sink: sink, Metrics: m, Logger: quiet, UDPQueue: 1, UDPWorkers: 1, BatchSize: 1})
	}()
	conn, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	src := m.Source("syslog_udp")
	const sent = 20
	for i := range sent {
		fmt.Fprintf(conn, "<13>1 - h q - - - %d", i)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count(src.Received) < sent && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	rec, acc, rej, drop := count(src.Received), count(src.Accepted), count(src.Rejected), count(src.Dropped)
	if rec != sent || drop < sent-3 || rej != 0 || acc+drop != rec || float64(l.Size()) != acc {
		t.Errorf("received %v accepted %v rejected %v dropped %v, log %d", rec, acc, rej, drop, l.Size())
	}
}

type blockingSink struct {
	ingest.Sink
	release chan struct{}
}

func (b blockingSink) Append(ctx context.Context, batch *stele.Batch, out *stele.Sealed) error {
	<-b.release
	return b.Sink.Append(ctx, batch, out)
}

func TestConfigNeedsSink(t *testing.T) {
	if err := ServeTCP(context.Background(), nil, Config{}); err == nil {
		t.Fatal("no Sink accepted")
	}
}

func count(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

// flakySink answers each Append with the next error of errs, then appends.
type flakySink struct {
	ingest.Sink
	mu   sync.Mutex
	errs []error
}

func (f *flakySink) Append(ctx context.Context, batch *stele.Batch, out *stele.Sealed) error {
	f.mu.Lock()
	var err error
	if len(f.errs) > 0 {
		err, f.errs = f.errs[0], f.errs[1:]
	}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.Sink.Append(ctx, batch, out)
}

// TestSealErrors checks that a log that pushes back is retried until the
// batch is sealed, and that a batch the log refuses for good is counted as
// rejected.
func TestSealErrors(t *testing.T) {
	for _, c := range []struct {
		name     string
		errs     []error
		size     uint64
		acc, rej float64
	}{
		{"unavailable, then disk full, then sealed", []error{stele.ErrUnavailable, stele.ErrDiskFull}, 2, 2, 0},
		{"failed", []error{stele.ErrFailed}, 0, 0, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := openLog(t)
			m := ingest.NewMetrics(prometheus.NewRegistry())
			sink := &flakySink{Sink: l, errs: c.errs}
			s, err := newServer(Config{Sink: sink, Metrics: m, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			in := make(chan item)
			done := make(chan struct{})
			go func() { defer close(done); s.batch(context.Background(), in, m.Source("test")) }()
			for _, msg := range []string{"<13>1 - h a - - - one", "<13>1 - h a - - - two"} {
				in <- item{fr: datagram([]byte(msg), s.cfg.MaxMessage)}
			}
			close(in)
			<-done
			src := m.Source("test")
			if l.Size() != c.size || count(src.Accepted) != c.acc || count(src.Rejected) != c.rej {
				t.Errorf("log %d, accepted %v, rejected %v", l.Size(), count(src.Accepted), count(src.Rejected))
			}
		})
	}
}

// flakyListener fails its first Accepts like a process out of file
// descriptors.
type flakyListener struct {
	net.Listener
	fails int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// TestAcceptErrorsAreRetried: running out of file descriptors for a moment
// must not stop the listener for good.
func TestAcceptErrorsAreRetried(t *testing.T) {
	l := openLog(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- ServeTCP(ctx, &flakyListener{Listener: ln, fails: 3}, Config{Sink: l, BatchDelay: time.Millisecond})
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("<13>1 2026-11-01T10:00:00Z host app - - - after the errors\n"))
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for l.Size() < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ServeTCP: %v", err)
	}
	if l.Size() != 1 {
		t.Fatalf("the message after the accept errors was not sealed (size %d)", l.Size())
	}
}
