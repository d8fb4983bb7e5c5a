package local

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/verify"
)

// TestCrashRecovery simulates power loss at random moments under concurrent
// load (MemFS keeps only what was synced, and a torn clone keeps a random
// prefix of unsynced appends). After each crash the log must open by itself,
// hold every acknowledged event at its acknowledged seq, and match every
// checkpoint it ever handed out.
func TestCrashRecovery(t *testing.T) {
	rounds := 25
	if testing.Short() {
		rounds = 5
	}
	for round := range rounds {
		t.Run(fmt.Sprintf("round%d", round), func(t *testing.T) {
			crashRound(t, uint64(round))
		})
	}
}

func crashRound(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 42))
	fsys := fsx.NewMem()
	opts := testOptions(fsys)
	opts.SegmentSize = int64(8<<10 + rng.IntN(64<<10)) // frequent rollovers
	opts.IDMemtableSize = 100 + rng.IntN(400)
	opts.TileSyncInterval = time.Duration(1+rng.IntN(20)) * time.Millisecond

	// A few generations: crash, recover, continue.
	var all ackLog
	all.acks = map[uint64]acked{}
	for gen := range 3 {
		l := mustOpen(t, "/data", opts)
		checkAcked(t, l, &all)

		acks := &ackLog{acks: map[uint64]acked{}}
		var stop atomic.Bool
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; !stop.Load(); i++ {
					n := 1 + (i*7+w)%40
					var lines []string
					for k := range n {
						id := ""
						if (i+k)%3 == 0 {
							id = fmt.Sprintf("g%d-w%d-%d-%d", gen, w, i, k)
						}
						lines = append(lines, event(i*100+k, id))
					}
					var s stele.Sealed
					err := l.Append(context.Background(), batchOf(t, lines...), &s)
					if err != nil {
						if !isExpectedAppendErr(err) {
							t.Errorf("append: %v", err)
						}
						return
					}
					acks.add(&s)
				}
			}()
		}
		time.Sleep(time.Duration(5+rng.IntN(40)) * time.Millisecond)
		// Power loss: everything acknowledged so far must survive.
		acks.mu.Lock()
		var crashed *fsx.MemFS
		if rng.IntN(2) == 0 {
			crashed = fsys.CrashCloneTorn(rng)
		} else {
			crashed = fsys.CrashClone()
		}
		survivors := map[uint64]acked{}
		for k, v := range acks.acks {
			survivors[k] = v
		}
		notes := append([][]byte(nil), acks.notes...)
		acks.mu.Unlock()
		stop.Store(true)
		wg.Wait()
		l.Close() // the old process's view; the clone is what "disk" kept

		for k, v := range survivors {
			all.acks[k] = v
		}
		all.notes = append(all.notes, notes...)
		fsys = crashed
		opts.FS = fsys
	}
	l := mustOpen(t, "/data", opts)
	checkAcked(t, l, &all)
	appendN(t, l, 0, 50, 10, false)
	checkInvariants(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	verifyDir(t, fsys, "/data")
}

// checkAcked asserts that every acknowledged event is in l at its seq and
// every handed-out checkpoint is consistent with l.
func checkAcked(t *testing.T, l *Log, a *ackLog) {
	t.Helper()
	ctx := context.Background()
	size := l.Size()
	for seq, ack := range a.acks {
		if seq >= size {
			t.Fatalf("acknowledged seq %d lost: log size is %d", seq, size)
		}
		entry, err := l.Entry(ctx, seq)
		if err != nil {
			t.Fatalf("acknowledged seq %d: %v", seq, err)
		}
		if verify.LeafHash(entry) != ack.leaf {
			t.Fatalf("acknowledged seq %d changed: acked id %s, now %s (size %d)", seq, ack.id, entry, size)
		}
	}
	for _, note := range a.notes {
		cp, err := checkpoint.Open(note, testOrigin, l.signer.Verifier())
		if err != nil {
			t.Fatalf("handed-out checkpoint: %v", err)
		}
		if cp.Size > size {
			t.Fatalf("checkpoint at %d handed out, log recovered at %d", cp.Size, size)
		}
		root, err := l.RootAt(ctx, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if root != cp.Hash {
			t.Fatalf("recovered tree disagrees with a signed checkpoint at size %d: two inconsistent checkpoints exist", cp.Size)
		}
	}
}

var _ = errors.Is
