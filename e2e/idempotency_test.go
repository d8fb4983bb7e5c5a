package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/checkpoint"
)

// TestConcurrentDuplicateIDs sends the same batches of client-id events
// from 8 clients at once, in different body kinds. Each id must be appended
// exactly once: every response names the same seq for it, exactly one
// response says it was new, and the log holds one entry per id.
func TestConcurrentDuplicateIDs(t *testing.T) {
	const (
		clients = 8
		rounds  = 20
		perReq  = 50
	)
	srv := startServer(t, filepath.Join(t.TempDir(), "data"), "--origin", "e2e.test/dups")
	v, err := checkpoint.NewVerifier(srv.vkey)
	if err != nil {
		t.Fatal(err)
	}
	hc := newHTTPClient(t, clients)
	gen := &eventGen{rng: rand.New(rand.NewPCG(9, 9)), prefix: "dup"}

	for round := range rounds {
		events, ids := make([][]byte, perReq), make([]string, perReq)
		for i := range events {
			events[i], ids[i] = gen.next(true)
		}
		resps := make([]*api.AppendResponse, clients)
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				kind := bodyKind(c % 3)
				batch := events
				if kind == kindObject {
					batch = events[:1]
				}
				resp, rep, err := postEvents(context.Background(), hc, srv.url, kind, batch, c%2 == 0)
				if err != nil || resp == nil {
					t.Errorf("round %d client %d: %v (HTTP %d %s)", round, c, err, rep.status, rep.body)
					return
				}
				resps[c] = resp
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		for i, id := range ids {
			seq, fresh := uint64(0), 0
			seen := false
			for c, resp := range resps {
				if i >= len(resp.Events) {
					continue
				}
				ev := resp.Events[i]
				if ev.ID != id {
					t.Fatalf("round %d client %d event %d: id %q, sent %q", round, c, i, ev.ID, id)
				}
				if seen && ev.Seq != seq {
					t.Errorf("round %d: id %s acknowledged at seq %d and at seq %d", round, id, seq, ev.Seq)
				}
				seq, seen = ev.Seq, true
				if !ev.Duplicate {
					fresh++
				}
			}
			if fresh != 1 {
				t.Errorf("round %d: id %s was acknowledged as new %d times, want exactly once", round, id, fresh)
			}
		}
	}
	cp := fetchCheckpoint(t, hc, srv.url, v)
	if want := uint64(rounds * perReq); cp.Size != want {
		t.Errorf("the log has %d entries for %d distinct ids", cp.Size, want)
	}
	for seq := range cp.Size {
		rep, err := do(context.Background(), hc, "GET", fmt.Sprintf("%s/v1/events/%d", srv.url, seq), "", nil)
		if err != nil || rep.status != 200 {
			t.Fatalf("GET /v1/events/%d: %v HTTP %d", seq, err, rep.status)
		}
	}
}
