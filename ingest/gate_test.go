package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
)

func post(body string, gz bool) *http.Request {
	b := []byte(body)
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		b = buf.Bytes()
	}
	r := httptest.NewRequest("POST", "/x", bytes.NewReader(b))
	if gz {
		r.Header.Set("Content-Encoding", "gzip")
	}
	return r
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.Counter != nil {
				return m.Counter.GetValue()
			}
			return m.Gauge.GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func TestGateShares(t *testing.T) {
	g := ingest.NewGate(1000, time.Second, nil)
	if got := g.Share(post(strings.Repeat("a", 60), false), 500); got != 60 {
		t.Errorf("declared 60 bytes: share %d", got)
	}
	if got := g.Share(post(strings.Repeat("a", 60), true), 500); got != 500 {
		t.Errorf("gzip body, limit 500: share %d, want the limit (under a Chunk)", got)
	}
	if got := ingest.NewGate(100<<20, time.Second, nil).Share(post("x", true), 64<<20); got != ingest.Chunk {
		t.Errorf("gzip body, large limit: share %d, want a Chunk", got)
	}
	unknown := post("abc", false)
	unknown.ContentLength = -1
	if got := g.Share(unknown, 500); got != 500 {
		t.Errorf("unknown length: share %d, want the limit", got)
	}
	if got := g.Share(unknown, 5000); got != 1000 {
		t.Errorf("limit over the budget: share %d, want the budget", got)
	}
	declared := post("abc", false)
	declared.ContentLength = 64 << 20
	if got := ingest.NewGate(100<<20, time.Second, nil).Share(declared, 64<<20); got != ingest.Chunk {
		t.Errorf("declared 64 MiB: share %d, want a Chunk (the rest as it arrives)", got)
	}
}

func TestGateBusyAndFIFO(t *testing.T) {
	reg := prometheus.NewRegistry()
	const wait = 300 * time.Millisecond
	g := ingest.NewGate(100, wait, reg)
	ctx := context.Background()
	a, err := g.Enter(ctx, post(strings.Repeat("a", 60), false), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if got := gauge(t, reg, "stele_ingest_body_bytes_reserved"); got != 60 {
		t.Fatalf("reserved %v bytes, want 60", got)
	}
	// 60 + 60 > 100: the second waits, then is told to come back.
	start := time.Now()
	if _, err := g.Enter(ctx, post(strings.Repeat("b", 60), false), 1000); !errors.Is(err, ingest.ErrBusy) || !errors.Is(err, stele.ErrUnavailable) {
		t.Fatalf("over budget: %v", err)
	}
	if waited := time.Since(start); waited < wait*9/10 {
		t.Fatalf("gave up after %v, before its wait", waited)
	}
	if got := gauge(t, reg, "stele_ingest_busy_total"); got != 1 {
		t.Fatalf("stele_ingest_busy_total = %v", got)
	}
	// First come, first served: a small request that would fit does not
	// overtake a large one that waits.
	type result struct {
		pass *ingest.Pass
		err  error
	}
	big := make(chan result, 1)
	go func() {
		p, err := g.Enter(ctx, post(strings.Repeat("c", 90), false), 1000)
		big <- result{p, err}
	}()
	time.Sleep(wait / 3)
	small := make(chan error, 1)
	go func() {
		p, err := g.Enter(ctx, post(strings.Repeat("d", 10), false), 1000)
		p.Leave()
		small <- err
	}()
	time.Sleep(wait / 3)
	a.Leave()
	a.Leave() // twice is harmless
	r := <-big
	if r.err != nil {
		t.Fatalf("large waiter after the release: %v", r.err)
	}
	// 90 + 10 fit: the small one gets in behind the large one.
	if err := <-small; err != nil {
		t.Fatalf("small waiter: %v", err)
	}
	r.pass.Fit(30) // a body smaller than reserved gives the rest back
	if got := gauge(t, reg, "stele_ingest_body_bytes_reserved"); got != 30 {
		t.Fatalf("reserved %v bytes after Fit(30)", got)
	}
	r.pass.Leave()
	if got := gauge(t, reg, "stele_ingest_body_bytes_reserved"); got != 0 {
		t.Fatalf("reserved %v bytes after every request left", got)
	}
	// A cancelled request gets its context's error, not ErrBusy.
	e, _ := g.Enter(ctx, post(strings.Repeat("e", 100), false), 1000)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.Enter(cctx, post("f", false), 1000); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	e.Leave()
}

func TestAdmit(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := ingest.NewGate(8<<20, time.Second, reg)
	w := httptest.NewRecorder()
	// A declared length over the limit is refused before anything is read.
	if _, _, err := ingest.Admit(g, w, post(strings.Repeat("x", 200), false), 100); !errors.Is(err, ingest.ErrBodyTooLarge) || !errors.Is(err, stele.ErrTooLarge) {
		t.Fatalf("declared over the limit: %v", err)
	}
	// A gzip body that inflates past the limit is refused after reading,
	// and its share is given back.
	if _, _, err := ingest.Admit(g, w, post(strings.Repeat("x", 200), true), 100); !errors.Is(err, ingest.ErrBodyTooLarge) {
		t.Fatalf("inflated over the limit: %v", err)
	}
	// A gzip body of 3 MiB grows its reservation as it inflates, then
	// holds exactly its size.
	large := strings.Repeat("0123456789abcdef", 3<<16)
	body, pass, err := ingest.Admit(g, w, post(large, true), 64<<20)
	if err != nil || string(body) != large {
		t.Fatalf("Admit: %d bytes, %v", len(body), err)
	}
	if got := gauge(t, reg, "stele_ingest_body_bytes_reserved"); got != float64(len(large)) {
		t.Fatalf("reserved %v bytes for a %d-byte body", got, len(large))
	}
	pass.Leave()
	// With nil gate, everything is admitted.
	if body, pass, err := ingest.Admit(nil, w, post("hi", false), 100); err != nil || string(body) != "hi" {
		t.Fatalf("nil gate: %q %v", body, err)
	} else {
		pass.Leave()
	}
	if got := gauge(t, reg, "stele_ingest_body_bytes_reserved"); got != 0 {
		t.Fatalf("reserved %v bytes after every request left", got)
	}
}

// TestStalledSenders sends bodies (chunked, or declaring 32 MiB) that
// stall after one byte to a real HTTP server: each holds one Chunk of the budget, not its
// endpoint's limit, and only until the gate's body timeout; meanwhile
// other requests are admitted.
func TestStalledSenders(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := ingest.NewGate(8*ingest.Chunk, time.Second, reg)
	g.BodyTimeout = 500 * time.Millisecond
	const limit = 64 << 20
	results := make(chan error, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, pass, err := ingest.Admit(g, w, r, limit)
		if err == nil {
			pass.Leave()
			w.Write([]byte(strconv.Itoa(len(body))))
		}
		results <- err
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	const stalled = 4
	var conns []net.Conn
	for i := range stalled {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		if i%2 == 0 { // chunked: length unknown
			fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n")
		} else { // a large declared length
			fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\na", 32<<20)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for gauge(t, reg, "stele_ingest_body_bytes_reserved") != stalled*ingest.Chunk {
		if time.Now().After(deadline) {
			t.Fatalf("reserved %v bytes, want %d (a Chunk per stalled sender)", gauge(t, reg, "stele_ingest_body_bytes_reserved"), stalled*ingest.Chunk)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The stalled senders leave room: a normal request is admitted at once.
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(answer) != "5" {
		t.Fatalf("a request beside stalled senders: %d %q", resp.StatusCode, answer)
	}
	// The body timeout ends the stalls and gives their room back.
	var ok, cut int
	for range stalled + 1 {
		select {
		case err := <-results:
			switch {
			case err == nil:
				ok++
			case errors.Is(err, stele.ErrInvalid):
				cut++
			default:
				t.Fatalf("stalled sender: %v, want a read error (ErrInvalid)", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a stalled sender was not cut off by the body timeout")
		}
	}
	if ok != 1 || cut != stalled {
		t.Fatalf("%d admitted and %d cut off, want 1 and %d", ok, cut, stalled)
	}
	if got := gauge(t, reg, "stele_ingest_body_bytes_reserved"); got != 0 {
		t.Fatalf("reserved %v bytes after the stalls ended", got)
	}
}
