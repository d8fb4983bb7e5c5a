package search

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stele-log/stele/internal/fsx"
)

// TestModel adds randomized workloads across many small chunks and checks
// every query against the brute-force model: with the partial chunk in
// memory, after Flush, and after a reopen and re-Add from Covered().
//
// Under the race detector each case has fewer events (raceEvents), but
// still several full chunks, a partial one where it had one, and the same
// steps.
func TestModel(t *testing.T) {
	for _, tc := range []struct {
		name       string
		seed       uint64
		chunkSize  int
		events     int
		raceEvents int
	}{
		{"tiny chunks", 1, 64, 700, 300},
		{"small chunks", 2, 256, 2000, 800},
		{"one partial chunk", 3, 1024, 500, 500},
		{"exact boundary", 4, 128, 512, 256},
	} {
		if raceEnabled {
			tc.events = tc.raceEvents
		}
		t.Run(tc.name, func(t *testing.T) {
			w := newWorkload(t, tc.seed, tc.events)
			rng := rand.New(rand.NewPCG(tc.seed, 99))
			fs := fsx.NewMem()
			opts := testOptions(tc.chunkSize)
			x := openIndex(t, fs, opts)
			half := tc.events / 2
			addUpTo(t, x, w, half)
			checkIndex(t, x, w, rng)
			addUpTo(t, x, w, tc.events)
			checkIndex(t, x, w, rng)
			if err := x.Flush(); err != nil {
				t.Fatal(err)
			}
			checkIndex(t, x, w, rng)
			st := x.Stats()
			if want := tc.events / tc.chunkSize; st.Chunks != want || st.Pending != 0 || st.Events != uint64(tc.events) {
				t.Fatalf("Stats = %+v, want %d chunks", st, want)
			}
			if err := x.Close(); err != nil {
				t.Fatal(err)
			}

			x = openIndex(t, fs, opts)
			defer x.Close()
			if got, want := x.Covered(), uint64(tc.events/tc.chunkSize*tc.chunkSize); got != want {
				t.Fatalf("Covered after reopen = %d, want %d", got, want)
			}
			checkIndex(t, x, w, rng)
			addUpTo(t, x, w, tc.events)
			checkIndex(t, x, w, rng)
		})
	}
}

// TestRealChunkSize runs the model check over one full chunk of the real
// size and a partial second one.
//
// Under the race detector, making and modelling 68,000 distinct events
// costs more than indexing them, so the workload is cheaper there (see
// realSizeWorkload) and the partial chunk smaller; the chunk still holds
// ChunkSize events.
func TestRealChunkSize(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	var w *workload
	if raceEnabled {
		w = realSizeWorkload(t, 5, ChunkSize+300, ChunkSize/8, 6)
	} else {
		w = newWorkload(t, 5, ChunkSize+3000)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	fs := fsx.NewMem()
	x := openIndex(t, fs, Options{})
	defer x.Close()
	addUpTo(t, x, w, len(w.entries))
	if err := x.Flush(); err != nil {
		t.Fatal(err)
	}
	checkIndex(t, x, w, rng)

	// The chunk file must hold every postings kind, with single postings
	// past 32767 (where a position needs all 16 bits), or this test no
	// longer checks what only the real size reaches.
	name := filepath.Join("idx", chunkFileName(0))
	b, err := fsx.ReadFile(fs, name)
	if err != nil {
		t.Fatal(err)
	}
	x.mu.RLock()
	sum := x.sealed[0].src.(*sealed).summary // header and block index of the file
	x.mu.RUnlock()
	kinds, high := map[int]bool{}, 0
	var it blockIter
	for _, ref := range sum.blocks {
		it.reset(&sum.h, ref, b[ref.dictOff:ref.dictOff+int64(ref.dictLen)-crcSize], name)
		for e, err := it.next(); e != nil && err == nil; e, err = it.next() {
			kinds[e.kind] = true
			if e.kind == kindSingle {
				high = max(high, int(e.single))
			}
		}
	}
	if len(kinds) != 4 || high < 1<<15 {
		t.Fatalf("the real-size chunk has postings kinds %v and singles up to position %d; want all four kinds and singles past 32767", kinds, high)
	}
}

func TestSnapshotRanges(t *testing.T) {
	w := newWorkload(t, 6, 1000)
	x := openIndex(t, fsx.NewMem(), testOptions(128))
	defer x.Close()
	addUpTo(t, x, w, 1000)
	x.Flush()
	for _, tc := range []struct {
		name   string
		lo, hi uint64
		bases  []uint64
	}{
		{"everything", 0, 1 << 62, []uint64{0, 128, 256, 384, 512, 640, 768, 896}},
		{"one chunk", 130, 140, []uint64{128}},
		{"boundary", 128, 256, []uint64{128}},
		{"straddle", 255, 257, []uint64{128, 256}},
		{"partial chunk", 990, 2000, []uint64{896}},
		{"past the end", 1000, 2000, nil},
		{"empty", 300, 300, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap, err := x.Snapshot(tc.lo, tc.hi)
			if err != nil {
				t.Fatal(err)
			}
			defer snap.Close()
			var bases []uint64
			for _, c := range snap.Chunks() {
				bases = append(bases, c.Base())
			}
			if len(bases) != len(tc.bases) {
				t.Fatalf("Snapshot(%d, %d) chunks at %v, want %v", tc.lo, tc.hi, bases, tc.bases)
			}
			for i := range bases {
				if bases[i] != tc.bases[i] {
					t.Fatalf("Snapshot(%d, %d) chunks at %v, want %v", tc.lo, tc.hi, bases, tc.bases)
				}
			}
		})
	}
}

// TestSnapshotConcurrentAdd checks snapshots taken while another goroutine
// adds: each must show exactly the events below its own Covered (run with
// -race).
func TestSnapshotConcurrentAdd(t *testing.T) {
	const events = 3000
	w := newWorkload(t, 7, events)
	x := openIndex(t, fsx.NewMem(), testOptions(256))
	defer x.Close()
	var wg sync.WaitGroup
	wg.Go(func() {
		for seq := range uint64(events) {
			if err := x.Add(seq, w.entries[seq]); err != nil {
				t.Errorf("Add(%d): %v", seq, err)
				return
			}
		}
	})
	for r := range 2 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for x.Covered() < events {
				snap, err := x.Snapshot(0, events)
				if err != nil {
					t.Error(err)
					return
				}
				chunks := snap.Chunks()
				if len(chunks) > 0 {
					// The newest chunk is the one being filled.
					c := chunks[len(chunks)-1]
					checkChunk(t, c, w.model, rng)
				}
				snap.Close()
			}
		})
	}
	wg.Wait()
}

func TestAddErrors(t *testing.T) {
	x := openIndex(t, fsx.NewMem(), testOptions(64))
	w := newWorkload(t, 8, 3)
	if err := x.Add(1, w.entries[1]); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("Add(1) on an empty index = %v, want ErrOutOfOrder", err)
	}
	for _, bad := range []string{``, `[]`, `{"action":"a"}`, `{"action":"a","time":"yesterday"}`, `{"time":"2026-01-01T00:00:00Z"`} {
		if err := x.Add(0, []byte(bad)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Add(%q) = %v, want ErrInvalid", bad, err)
		}
	}
	if x.Covered() != 0 {
		t.Fatalf("failed Adds advanced Covered to %d", x.Covered())
	}
	if err := x.Add(0, w.entries[0]); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if err := x.Add(1, w.entries[1]); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	if _, err := x.Snapshot(0, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Snapshot after Close = %v, want ErrClosed", err)
	}
	if err := x.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
}

func TestLocked(t *testing.T) {
	fs := fsx.NewMem()
	x := openIndex(t, fs, Options{})
	defer x.Close()
	if _, err := Open(fs, "idx", Options{}); !errors.Is(err, fsx.ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}
