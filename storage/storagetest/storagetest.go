// Package storagetest is the conformance suite every stele storage driver's
// tests run: the behaviour the API relies on, checked through the same small
// interfaces the API consumes. The embedded driver runs it today; a
// PostgreSQL driver must pass it unchanged.
package storagetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/tiles"
	"github.com/stele-log/stele/verify"
)

// Log is what a driver must provide.
type Log interface {
	Append(ctx context.Context, b *stele.Batch, out *stele.Sealed) error
	Entry(ctx context.Context, seq uint64) ([]byte, error)
	EntryByID(ctx context.Context, id []byte) (uint64, []byte, error)
	Entries(ctx context.Context, from uint64, limit int, fn func(seq uint64, entry []byte) error) error
	Checkpoint() (note []byte, size uint64, root [32]byte)
	ReadTile(ctx context.Context, t tiles.Tile) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, width int) ([]byte, error)
	InclusionProof(ctx context.Context, seq, size uint64) ([][32]byte, error)
	ConsistencyProof(ctx context.Context, old, new uint64) ([][32]byte, error)
	RootAt(ctx context.Context, size uint64) ([32]byte, error)
	Origin() string
	VerifierKey() string
	Close() error
}

// Harness opens a driver's log. Open must return the same log (same storage)
// every time it is called within one test, so the suite can test restarts;
// every test gets a fresh, empty log on its first Open.
type Harness struct {
	Open func(t *testing.T) Log
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"AppendReadYourWrites", testAppendRead},
		{"ConcurrentAppendsAreContiguous", testConcurrent},
		{"Idempotency", testIdempotency},
		{"ProofsVerify", testProofs},
		{"TilesMatchEntries", testTiles},
		{"SurvivesRestart", testRestart},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

var received = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func batch(t *testing.T, lines ...string) *stele.Batch {
	t.Helper()
	b, err := stele.ParseEvents([]byte(strings.Join(lines, "\n")), true, received)
	if err != nil {
		t.Fatalf("ParseEvents: %v", err)
	}
	return b
}

func event(i int, id string) string {
	if id != "" {
		return fmt.Sprintf(`{"id":%q,"action":"user.login","actor":{"id":"u%d"},"attributes":{"i":%d}}`, id, i, i)
	}
	return fmt.Sprintf(`{"action":"user.login","actor":{"id":"u%d"},"attributes":{"i":%d}}`, i, i)
}

func appendOK(t *testing.T, l Log, lines ...string) *stele.Sealed {
	t.Helper()
	var s stele.Sealed
	if err := l.Append(context.Background(), batch(t, lines...), &s); err != nil {
		t.Fatalf("Append: %v", err)
	}
	return &s
}

func verifier(t *testing.T, l Log) note.Verifier {
	t.Helper()
	v, err := checkpoint.NewVerifier(l.VerifierKey())
	if err != nil {
		t.Fatalf("verifier key: %v", err)
	}
	return v
}

func testAppendRead(t *testing.T, h Harness) {
	ctx := context.Background()
	l := h.Open(t)
	defer l.Close()
	for i := range 20 {
		s := appendOK(t, l, event(i, ""), event(100+i, fmt.Sprintf("id-%d", i)))
		// The acknowledgement's checkpoint verifies and covers the batch.
		cp, err := checkpoint.Open(s.Checkpoint, l.Origin(), verifier(t, l))
		if err != nil {
			t.Fatalf("ack checkpoint: %v", err)
		}
		for k, e := range s.Events {
			if e.Seq >= cp.Size {
				t.Fatalf("ack checkpoint (size %d) does not cover seq %d", cp.Size, e.Seq)
			}
			// Read your writes: visible as soon as Append returns.
			entry, err := l.Entry(ctx, e.Seq)
			if err != nil {
				t.Fatalf("Entry(%d) right after its ack: %v", e.Seq, err)
			}
			if verify.LeafHash(entry) != e.LeafHash {
				t.Fatalf("entry %d does not hash to its acknowledged leaf", e.Seq)
			}
			rec, err := stele.ParseRecord(entry)
			if err != nil || rec.Seq != e.Seq || rec.ID != string(s.ID(k)) {
				t.Fatalf("entry %d: %v %+v", e.Seq, err, rec)
			}
		}
	}
	if _, err := l.Entry(ctx, 40); !errors.Is(err, stele.ErrNotFound) {
		t.Fatalf("Entry beyond the size = %v, want ErrNotFound", err)
	}
	seq, _, err := l.EntryByID(ctx, []byte("id-7"))
	if err != nil || seq != 15 {
		t.Fatalf("EntryByID(id-7) = %d, %v; want 15", seq, err)
	}
	var n int
	if err := l.Entries(ctx, 10, 100, func(seq uint64, _ []byte) error { n++; return nil }); err != nil || n != 30 {
		t.Fatalf("Entries(10, 100) gave %d entries, %v; want 30", n, err)
	}
}

func testConcurrent(t *testing.T, h Harness) {
	l := h.Open(t)
	defer l.Close()
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				s := appendOK(t, l, event(w*1000+i, ""), event(w*1000+i, ""), event(w*1000+i, ""))
				mu.Lock()
				for _, e := range s.Events {
					if seen[e.Seq] {
						t.Errorf("seq %d acknowledged twice", e.Seq)
					}
					seen[e.Seq] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	_, size, _ := l.Checkpoint()
	if size != 600 || len(seen) != 600 {
		t.Fatalf("size %d with %d distinct seqs, want 600 and 600", size, len(seen))
	}
	for seq := range uint64(600) {
		if !seen[seq] {
			t.Fatalf("seq %d was never acknowledged: a gap", seq)
		}
	}
}

func testIdempotency(t *testing.T, h Harness) {
	l := h.Open(t)
	first := appendOK(t, l, event(1, "a"), event(2, "b"), event(3, ""))
	again := appendOK(t, l, event(9, "b"), event(4, "c"), event(9, "a"), event(5, "c"))
	want := []struct {
		seq uint64
		dup bool
	}{{1, true}, {3, false}, {0, true}, {3, true}}
	for i, w := range want {
		if e := again.Events[i]; e.Seq != w.seq || e.Duplicate != w.dup {
			t.Errorf("event %d: seq %d duplicate %v, want %d %v", i, e.Seq, e.Duplicate, w.seq, w.dup)
		}
	}
	if again.Events[0].LeafHash != first.Events[1].LeafHash {
		t.Errorf("a duplicate reports a different leaf hash than its original")
	}
	if _, size, _ := l.Checkpoint(); size != 4 {
		t.Fatalf("size %d, want 4", size)
	}
	l.Close()
	l = h.Open(t)
	defer l.Close()
	s := appendOK(t, l, event(0, "a"), event(0, "c"))
	if !s.Events[0].Duplicate || s.Events[0].Seq != 0 || !s.Events[1].Duplicate || s.Events[1].Seq != 3 {
		t.Fatalf("after restart: %+v", s.Events)
	}
}

func testProofs(t *testing.T, h Harness) {
	ctx := context.Background()
	l := h.Open(t)
	defer l.Close()
	var notes [][]byte
	for i := range 30 {
		var lines []string
		for k := range 1 + i*13%50 {
			lines = append(lines, event(i*100+k, ""))
		}
		notes = append(notes, appendOK(t, l, lines...).Checkpoint)
	}
	v := verifier(t, l)
	latest, err := checkpoint.Open(notes[len(notes)-1], l.Origin(), v)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range notes {
		old, err := checkpoint.Open(n, l.Origin(), v)
		if err != nil {
			t.Fatal(err)
		}
		proof, err := l.ConsistencyProof(ctx, old.Size, latest.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := verify.Consistency(old.Size, latest.Size, proof, old.Hash, latest.Hash); err != nil {
			t.Fatalf("checkpoint at %d inconsistent with %d: %v", old.Size, latest.Size, err)
		}
		if root, err := l.RootAt(ctx, old.Size); err != nil || root != old.Hash {
			t.Fatalf("RootAt(%d): %v", old.Size, err)
		}
		for _, seq := range []uint64{0, old.Size / 2, old.Size - 1} {
			entry, err := l.Entry(ctx, seq)
			if err != nil {
				t.Fatal(err)
			}
			proof, err := l.InclusionProof(ctx, seq, old.Size)
			if err != nil {
				t.Fatal(err)
			}
			if err := verify.Inclusion(seq, old.Size, verify.LeafHash(entry), proof, old.Hash); err != nil {
				t.Fatalf("inclusion of %d in %d: %v", seq, old.Size, err)
			}
		}
	}
}

func testTiles(t *testing.T, h Harness) {
	ctx := context.Background()
	l := h.Open(t)
	defer l.Close()
	var lines []string
	for i := range 700 {
		lines = append(lines, event(i, ""))
	}
	appendOK(t, l, lines...)
	for _, tile := range []tiles.Tile{{Level: 0, Index: 0, Width: 256}, {Level: 0, Index: 1, Width: 256}, {Level: 0, Index: 2, Width: 188}, {Level: 0, Index: 2, Width: 7}} {
		hashes, err := l.ReadTile(ctx, tile)
		if err != nil {
			t.Fatalf("tile %s: %v", tile.Path(), err)
		}
		bundle, err := l.ReadEntryBundle(ctx, tile.Index, tile.Width)
		if err != nil {
			t.Fatalf("bundle %s: %v", tile.EntriesPath(), err)
		}
		entries, err := tiles.ParseBundle(bundle)
		if err != nil || len(entries) != tile.Width || len(hashes) != tile.Width*32 {
			t.Fatalf("tile %s: %d entries, %d hash bytes, %v", tile.Path(), len(entries), len(hashes), err)
		}
		for i, e := range entries {
			if verify.LeafHash(e) != [32]byte(hashes[32*i:32*i+32]) {
				t.Fatalf("%s: entry %d does not hash to its tile hash", tile.Path(), i)
			}
		}
	}
	if _, err := l.ReadTile(ctx, tiles.Tile{Level: 0, Index: 2, Width: 189}); !errors.Is(err, stele.ErrNotFound) {
		t.Fatalf("a partial tile wider than the checkpoint: %v, want ErrNotFound", err)
	}
	if _, err := l.ReadTile(ctx, tiles.Tile{Level: 1, Index: 0, Width: 2}); err != nil {
		t.Fatalf("level-1 partial tile: %v", err)
	}
}

func testRestart(t *testing.T, h Harness) {
	l := h.Open(t)
	var lines []string
	for i := range 300 {
		lines = append(lines, event(i, ""))
	}
	s := appendOK(t, l, lines...)
	note, size, root := l.Checkpoint()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	l = h.Open(t)
	defer l.Close()
	_, size2, root2 := l.Checkpoint()
	if size2 != size || root2 != root {
		t.Fatalf("after restart: size %d root %x; want %d %x", size2, root2, size, root)
	}
	if _, err := checkpoint.Open(note, l.Origin(), verifier(t, l)); err != nil {
		t.Fatalf("the key changed across a restart: %v", err)
	}
	s2 := appendOK(t, l, event(1, ""))
	if s2.Events[0].Seq != 300 || s.Events[299].Seq != 299 {
		t.Fatalf("seq after restart %d", s2.Events[0].Seq)
	}
}
