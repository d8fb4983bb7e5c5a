package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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
		t.Errorf("gzip body: share %d, want the limit 500", got)
	}
	unknown := post("abc", false)
	unknown.ContentLength = -1
	if got := g.Share(unknown, 500); got != 500 {
		t.Errorf("unknown length: share %d, want the limit", got)
	}
	if got := g.Share(unknown, 5000); got != 1000 {
		t.Errorf("limit over the budget: share %d, want the budget", got)
	}
}

func TestGateBusyAndFIFO(t *testing.T) {
	reg := prometheus.NewRegistry()
	const wait = 300 * time.Millisecond
	g := ingest.NewGate(100, wait, reg)
	ctx := context.Background()
	leaveA, err := g.Enter(ctx, post(strings.Repeat("a", 60), false), 1000)
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
		leave func()
		err   error
	}
	big := make(chan result, 1)
	go func() {
		leave, err := g.Enter(ctx, post(strings.Repeat("c", 90), false), 1000)
		big <- result{leave, err}
	}()
	time.Sleep(wait / 3)
	small := make(chan error, 1)
	go func() {
		leave, err := g.Enter(ctx, post(strings.Repeat("d", 10), false), 1000)
		if err == nil {
			leave()
		}
		small <- err
	}()
	time.Sleep(wait / 3)
	leaveA()
	r := <-big
	if r.err != nil {
		t.Fatalf("large waiter after the release: %v", r.err)
	}
	// 90 + 10 fit: the small one gets in behind the large one.
	if err := <-small; err != nil {
		t.Fatalf("small waiter: %v", err)
	}
	r.leave()
	if got := gauge(t, reg, "stele_ingest_body_bytes_reserved"); got != 0 {
		t.Fatalf("reserved %v bytes after every request left", got)
	}
	// A cancelled request gets its context's error, not ErrBusy.
	leave, _ := g.Enter(ctx, post(strings.Repeat("e", 100), false), 1000)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := g.Enter(cctx, post("f", false), 1000); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	leave()
}

func TestAdmit(t *testing.T) {
	g := ingest.NewGate(1<<20, time.Second, nil)
	// A declared length over the limit is refused before anything is read.
	if _, _, err := ingest.Admit(g, post(strings.Repeat("x", 200), false), 100); !errors.Is(err, ingest.ErrBodyTooLarge) || !errors.Is(err, stele.ErrTooLarge) {
		t.Fatalf("declared over the limit: %v", err)
	}
	// A gzip body that inflates past the limit is refused after reading,
	// and its share is given back.
	if _, _, err := ingest.Admit(g, post(strings.Repeat("x", 200), true), 100); !errors.Is(err, ingest.ErrBodyTooLarge) {
		t.Fatalf("inflated over the limit: %v", err)
	}
	body, leave, err := ingest.Admit(g, post("hello", true), 100)
	if err != nil || string(body) != "hello" {
		t.Fatalf("Admit: %q, %v", body, err)
	}
	leave()
	// With nil gate, everything is admitted.
	if body, leave, err := ingest.Admit(nil, post("hi", false), 100); err != nil || string(body) != "hi" {
		t.Fatalf("nil gate: %q %v", body, err)
	} else {
		leave()
	}
	// Every share was given back: the whole budget can be taken.
	leave, err = g.Enter(context.Background(), post("z", false), 1<<30)
	if err != nil {
		t.Fatalf("budget not returned: %v", err)
	}
	leave()
}
