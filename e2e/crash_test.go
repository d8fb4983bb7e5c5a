package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stele-log/stele/checkpoint"
)

// loadResult is what the clients of one load phase saw.
type loadResult struct {
	acks      []acked
	notes     map[string]bool // every signed checkpoint a client was handed
	requests  int             // requests answered 200
	refused   map[int]int     // non-200 answers by status
	unknown   int             // requests cut off after the stop signal: outcome unknown
	cutKinds  map[string]int  // those by kind of transport error
	cutIDs    []string        // client ids of the events those requests carried
	cutOther  []string        // a few of the errors of kind "other"
	early     int             // transport errors before the stop signal (a failure)
	firstErrs []string
}

// loadConfig shapes a load phase.
type loadConfig struct {
	clients  int
	maxBatch int // events per array or NDJSON body: 1..maxBatch
	prefix   string
	seed     uint64
	// allowed lists the non-200 statuses that are not failures once
	// stopping is set (they must still carry a JSON error and
	// Retry-After).
	allowed []int
}

// runLoad appends from cfg.clients concurrent clients until stop is closed.
// Half the bodies are NDJSON, a quarter arrays and a quarter single
// objects; half the events carry client ids. stopping must be set before
// whatever makes the server stop answering, so that errors after it count
// as unknown outcomes rather than failures.
func runLoad(hc *http.Client, base string, cfg loadConfig, stop <-chan struct{}, stopping *atomic.Bool) *loadResult {
	res := &loadResult{notes: make(map[string]bool), refused: make(map[int]int), cutKinds: make(map[string]int)}
	var mu sync.Mutex
	note := func(format string, args ...any) {
		if len(res.firstErrs) < 10 {
			res.firstErrs = append(res.firstErrs, fmt.Sprintf(format, args...))
		}
	}
	var wg sync.WaitGroup
	for c := range cfg.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(cfg.seed, uint64(c)))
			gen := &eventGen{rng: rng, prefix: fmt.Sprintf("%s-c%d", cfg.prefix, c)}
			for {
				select {
				case <-stop:
					return
				default:
				}
				kind := bodyKind(rng.IntN(4))
				if kind > kindNDJSON {
					kind = kindNDJSON
				}
				n := 1
				if kind != kindObject {
					n = logUniform(rng, cfg.maxBatch)
				}
				events, ids := make([][]byte, n), make([]string, n)
				for i := range events {
					events[i], ids[i] = gen.next(rng.IntN(2) == 0)
				}
				resp, rep, err := postEvents(context.Background(), hc, base, kind, events, false)
				var acks []acked
				if err == nil && resp != nil {
					acks, err = ackedEvents(resp, events, ids)
				}
				mu.Lock()
				switch {
				case err != nil && stopping.Load():
					res.unknown++
					kind := transportErrorKind(err)
					res.cutKinds[kind]++
					if kind == "other" && len(res.cutOther) < 3 {
						res.cutOther = append(res.cutOther, err.Error())
					}
					for _, id := range ids {
						if id != "" {
							res.cutIDs = append(res.cutIDs, id)
						}
					}
					mu.Unlock()
					return
				case err != nil:
					res.early++
					note("client %d: %v", c, err)
				case resp == nil:
					res.refused[rep.status]++
					if !stopping.Load() || !containsInt(cfg.allowed, rep.status) {
						note("client %d: HTTP %d: %s", c, rep.status, rep.body)
					} else if jerr := checkErrorReply(rep); jerr != nil {
						note("client %d: %v", c, jerr)
					} else if rep.header.Get("Retry-After") == "" {
						note("client %d: HTTP %d without Retry-After", c, rep.status)
					}
				default:
					res.requests++
					res.acks = append(res.acks, acks...)
					res.notes[resp.Checkpoint] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res
}

// sampleIDs returns up to n distinct events of acks that carry a client id.
func sampleIDs(acks []acked, n int, rng *rand.Rand) []acked {
	var withID []acked
	for _, a := range acks {
		if a.event != nil {
			withID = append(withID, a)
		}
	}
	rng.Shuffle(len(withID), func(i, j int) { withID[i], withID[j] = withID[j], withID[i] })
	return withID[:min(n, len(withID))]
}

// transportErrorKind classifies a failed request: "refused" (no listener),
// "reset" (the connection was closed or reset under the request) or
// "other".
func transportErrorKind(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		strings.Contains(err.Error(), "server closed idle connection"):
		return "reset"
	}
	return "other"
}

// logUniform returns n in 1..max with log n uniform: many small batches and
// some large ones, without the large ones making up nearly all the events.
func logUniform(rng *rand.Rand, max int) int {
	return min(max, int(math.Exp(rng.Float64()*math.Log(float64(max)+1))))
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// failures reports what no load phase may see: transport errors while the
// server was meant to be up, and refusals that are not allowed.
func (r *loadResult) failures(t testing.TB) {
	t.Helper()
	if len(r.firstErrs) > 0 {
		t.Errorf("%d requests failed while the server was up (%d transport errors, refusals %v); first ones:", len(r.firstErrs), r.early, r.refused)
		for _, e := range r.firstErrs {
			t.Errorf("  %s", e)
		}
	}
}

// TestKillDashNineUnderLoad SIGKILLs the server in the middle of a
// concurrent append load, restarts it on the same directory, and checks
// that nothing it acknowledged was lost or changed and that every
// checkpoint it handed out is still a prefix of the log. It repeats that on
// the same directory, then stops cleanly and runs `stele verify --data`.
func TestKillDashNineUnderLoad(t *testing.T) {
	cycles, minLoad, maxLoad := 5, 300*time.Millisecond, 1500*time.Millisecond
	if testing.Short() {
		cycles, maxLoad = 2, 700*time.Millisecond
	}
	const clients = 8
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := filepath.Join(t.TempDir(), "data")
	// Small segments, so that loads cross rollovers and kills land in
	// freshly created segments too.
	args := []string{"--origin", "e2e.test/kill9", "--segment-size", "1048576"}
	hc := newHTTPClient(t, clients)

	var (
		all     []acked
		fresh   []acked         // acknowledged since the last restart
		leaves  [][32]byte      // of the log at the last restart, checked against its root
		pending map[string]bool // checkpoints handed out since the last restart
		vkey    string
	)
	for cycle := 0; ; cycle++ {
		srv := startServer(t, dir, args...)
		if cycle == 0 {
			vkey = srv.vkey
		} else if srv.vkey != vkey {
			t.Fatalf("after restart %d the verifier key is %q, was %q", cycle, srv.vkey, vkey)
		}
		v, err := checkpoint.NewVerifier(vkey)
		if err != nil {
			t.Fatal(err)
		}
		if cycle > 0 {
			cur := fetchCheckpoint(t, hc, srv.url, v)
			// pending holds the checkpoint of the last restart: once it is
			// proven a prefix of cur, the leaves read then are still the
			// log's first entries, and only the new ones need reading.
			checkCheckpoints(t, hc, srv.url, v, pending, cur)
			leaves = append(leaves, readLeaves(t, hc, srv.url, uint64(len(leaves)))...)
			if uint64(len(leaves)) != cur.Size {
				t.Fatalf("after restart %d: GET /v1/events returns %d entries, the checkpoint says %d", cycle, len(leaves), cur.Size)
			}
			if root := merkleRoot(leaves); root != cur.Hash {
				t.Fatalf("after restart %d: the entries hash to root %x, the signed checkpoint says %x", cycle, root, cur.Hash)
			}
			checkAcked(t, hc, srv.url, leaves, all, rng)
			// A random sample of the ids acknowledged since the last restart
			// and of older ones. (Resending runs at a few thousand events a
			// second, so resending every id would dominate the test.)
			resendDuplicates(t, hc, srv.url, v, append(sampleIDs(fresh, 2000, rng), sampleIDs(all[:len(all)-len(fresh)], 500, rng)...))
			t.Logf("restart %d: serving after %v with %d entries; all %d acknowledged events and %d checkpoints check out",
				cycle, srv.started.Round(time.Millisecond), cur.Size, len(all), len(pending))
		}
		if cycle == cycles || t.Failed() {
			if code, took := srv.stop(30 * time.Second); code != 0 {
				t.Fatalf("clean stop: exit status %d after %v", code, took)
			}
			break
		}
		pending = map[string]bool{checkpointNote(t, hc, srv.url): true}
		fresh = nil

		load := minLoad + time.Duration(rng.Int64N(int64(maxLoad-minLoad)))
		stop := make(chan struct{})
		var stopping atomic.Bool
		done := make(chan *loadResult)
		cfg := loadConfig{clients: clients, maxBatch: 200, prefix: fmt.Sprintf("k%d", cycle), seed: rng.Uint64()}
		go func() { done <- runLoad(hc, srv.url, cfg, stop, &stopping) }()
		time.Sleep(load)
		stopping.Store(true)
		srv.kill()
		close(stop)
		res := <-done
		res.failures(t)
		t.Logf("cycle %d: SIGKILL after %v: %d requests acknowledged (%d events), %d failed after the kill (outcome unknown), %d checkpoints handed out",
			cycle+1, load.Round(time.Millisecond), res.requests, len(res.acks), res.unknown, len(res.notes))
		if len(res.acks) == 0 {
			t.Errorf("cycle %d: no append was acknowledged in %v of load", cycle+1, load)
		}
		all = append(all, res.acks...)
		fresh = res.acks
		// Crash the recovery too: it cuts torn tails, seals what the kill
		// left unsealed and catches up the id index.
		delay := time.Duration(rng.Int64N(int64(150 * time.Millisecond)))
		if crashDuringStart(t, dir, delay, args...) {
			t.Logf("cycle %d: SIGKILL %v after restarting hit a server that had already recovered", cycle+1, delay)
		} else {
			t.Logf("cycle %d: SIGKILL %v after restarting, before it was serving", cycle+1, delay.Round(time.Millisecond))
		}
		for n := range res.notes {
			pending[n] = true
		}
	}

	res := mustRun(t, nil, "verify", "--data", dir, "--key", vkey)
	t.Logf("stele verify --data: %s", res.stdout)
}
