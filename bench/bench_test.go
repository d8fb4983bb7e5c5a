package bench

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestEventIsValidJSONOfTheRequestedSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{300, 1000} {
		ev := Event(rng, size, "")
		if !json.Valid([]byte(ev)) {
			t.Fatalf("not JSON: %s", ev)
		}
		if len(ev) != size {
			t.Fatalf("event is %d bytes, want %d", len(ev), size)
		}
	}
}

func TestStampWritesUniqueIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	b := makeBody(rng, 3, 300, true)
	var counter uint64
	seen := map[string]bool{}
	var buf []byte
	for range 4 {
		buf = b.stamp(buf, 7, &counter)
		for _, line := range strings.Split(strings.TrimSpace(string(buf)), "\n") {
			var ev struct{ ID string }
			if err := json.Unmarshal([]byte(line), &ev); err != nil || len(ev.ID) != idWidth {
				t.Fatalf("bad event %s: %v", line, err)
			}
			if seen[ev.ID] {
				t.Fatalf("id %s repeated", ev.ID)
			}
			seen[ev.ID] = true
		}
	}
}

func TestRunCountsRequestsAndErrors(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if n.Add(1)%10 == 0 {
			http.Error(w, `{"error":"boom"}`, http.StatusServiceUnavailable)
			return
		}
		NoopHandler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Batch: 5, Concurrency: 3, Duration: 300 * time.Millisecond, Warmup: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Events != res.Requests*5 {
		t.Fatalf("requests %d events %d", res.Requests, res.Events)
	}
	if res.Errors == 0 || len(res.ErrorSamples) == 0 || !strings.Contains(res.ErrorSamples[0], "503") {
		t.Fatalf("errors not counted: %+v", res)
	}
	if res.Latencies.P50 <= 0 || res.Latencies.P99 < res.Latencies.P50 || res.Latencies.Max < res.Latencies.P999 {
		t.Fatalf("percentiles out of order: %+v", res.Latencies)
	}
}

func TestRunStopsAtMaxRequests(t *testing.T) {
	srv := httptest.NewServer(NoopHandler())
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Batch: 1, Concurrency: 2, Duration: time.Minute, MaxRequests: 50})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 50 || res.Requests > 52 || res.Elapsed > 30*time.Second {
		t.Fatalf("ran %d requests in %v, want about 50", res.Requests, res.Elapsed)
	}
}
