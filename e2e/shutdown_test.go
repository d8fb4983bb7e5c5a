package e2e

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stele-log/stele/checkpoint"
)

// TestGracefulShutdown sends SIGTERM to a server under load from 16
// clients. The server must drain and exit 0 within its drain timeout; every
// append it answered 200 must be in the log after a restart; and the only
// refusals allowed are 503 JSON errors and, once the listener is closed,
// connection errors.
func TestGracefulShutdown(t *testing.T) {
	const (
		clients = 16
		drain   = 10 * time.Second
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	dir := filepath.Join(t.TempDir(), "data")
	args := []string{"--origin", "e2e.test/drain", "--drain-timeout", drain.String()}
	srv := startServer(t, dir, args...)
	v, err := checkpoint.NewVerifier(srv.vkey)
	if err != nil {
		t.Fatal(err)
	}
	hc := newHTTPClient(t, clients)

	stop := make(chan struct{})
	var stopping atomic.Bool
	done := make(chan *loadResult)
	cfg := loadConfig{clients: clients, maxBatch: 100, prefix: "drain", seed: rng.Uint64(), allowed: []int{http.StatusServiceUnavailable}}
	go func() { done <- runLoad(hc, srv.url, cfg, stop, &stopping) }()
	time.Sleep(300*time.Millisecond + time.Duration(rng.Int64N(int64(500*time.Millisecond))))
	stopping.Store(true) // before the signal: every error after it is the shutdown's
	code, took := srv.stop(drain + 10*time.Second)
	close(stop)
	res := <-done
	res.failures(t)
	t.Logf("SIGTERM under load: exit %d after %v; %d requests answered 200 (%d events), refusals %v, %d transport errors after SIGTERM %v",
		code, took.Round(time.Millisecond), res.requests, len(res.acks), res.refused, res.unknown, res.cutKinds)
	for _, e := range res.cutOther {
		t.Logf("  transport error of kind other: %s", e)
	}
	if code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0", code)
	}
	if took > drain {
		t.Errorf("exited %v after SIGTERM, beyond the drain timeout of %v", took, drain)
	}
	out := srv.out.String()
	if !strings.Contains(out, "stopped cleanly") || strings.Contains(out, "drain incomplete") {
		t.Errorf("the server did not report a complete drain and a clean stop")
	}
	if res.requests == 0 {
		t.Fatalf("no append succeeded before SIGTERM")
	}

	srv = startServer(t, dir, args...)
	checkLog(t, hc, srv.url, v, res.acks, rng)
	// A drained server answers every request it processed: an event of a
	// request that got no answer must not be in the log.
	for _, id := range res.cutIDs {
		rep, err := do(context.Background(), hc, http.MethodGet, srv.url+"/v1/events/id/"+url.PathEscape(id), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.status != http.StatusNotFound {
			t.Errorf("event %s of a request that got no answer: GET /v1/events/id: HTTP %d %.200s, want 404", id, rep.status, rep.body)
		}
	}
	if code, _ := srv.stop(30 * time.Second); code != 0 {
		t.Errorf("second stop: exit %d", code)
	}
	mustRun(t, nil, "verify", "--data", dir, "--key", srv.vkey)
}
