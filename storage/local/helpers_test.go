package local

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/verify"
)

const testOrigin = "test.example/stele"

func testOptions(fsys fsx.FS) Options {
	return Options{Origin: testOrigin, FS: fsys, TileSyncInterval: 20 * time.Millisecond}
}

func mustOpen(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return l
}

// event returns a valid NDJSON event line; id may be empty.
func event(i int, id string) string {
	idField := ""
	if id != "" {
		idField = fmt.Sprintf(`"id":%q,`, id)
	}
	return fmt.Sprintf(`{%s"action":"user.login","actor":{"id":"user-%d","ip":"10.0.%d.%d"},"outcome":"success","attributes":{"n":%d},"message":"event number %d"}`,
		idField, i%97, i%256, (i/256)%256, i, i)
}

func batchOf(t testing.TB, lines ...string) *stele.Batch {
	t.Helper()
	b, err := stele.ParseEvents([]byte(strings.Join(lines, "\n")), true, time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("ParseEvents: %v", err)
	}
	return b
}

// acked is what a client learned from one acknowledged event.
type acked struct {
	seq  uint64
	id   string
	leaf [32]byte
}

// appendN appends n events in batches of size batch and returns their acks.
func appendN(t testing.TB, l *Log, start, n, batch int, ids bool) []acked {
	t.Helper()
	var out []acked
	for i := start; i < start+n; i += batch {
		var lines []string
		for j := i; j < min(start+n, i+batch); j++ {
			id := ""
			if ids {
				id = fmt.Sprintf("client-%d", j)
			}
			lines = append(lines, event(j, id))
		}
		var s stele.Sealed
		if err := l.Append(context.Background(), batchOf(t, lines...), &s); err != nil {
			t.Fatalf("Append: %v", err)
		}
		for k, e := range s.Events {
			out = append(out, acked{seq: e.Seq, id: string(s.ID(k)), leaf: e.LeafHash})
		}
	}
	return out
}

// checkInvariants is the invariant checker run after storage tests: every
// sealed entry is readable, hashes to its tile leaf, proves into the newest
// checkpoint, and the offline verifier accepts the directory.
func checkInvariants(t testing.TB, l *Log) {
	t.Helper()
	ctx := context.Background()
	note, size, root := l.Checkpoint()
	cp, err := checkpoint.Open(note, testOrigin, l.signer.Verifier())
	if err != nil {
		t.Fatalf("newest checkpoint does not verify: %v", err)
	}
	if cp.Size != size || cp.Hash != root {
		t.Fatalf("Checkpoint() disagrees with its note")
	}
	if got, err := l.RootAt(ctx, size); err != nil || got != root {
		t.Fatalf("RootAt(%d) = %x, %v; want %x", size, got, err, root)
	}
	step := max(1, size/200) // sample to keep big logs fast
	for seq := uint64(0); seq < size; seq += step {
		entry, err := l.Entry(ctx, seq)
		if err != nil {
			t.Fatalf("Entry(%d): %v", seq, err)
		}
		rec, err := stele.ParseRecord(entry)
		if err != nil || rec.Seq != seq {
			t.Fatalf("entry %d: %v (seq field %v)", seq, err, rec)
		}
		proof, err := l.InclusionProof(ctx, seq, size)
		if err != nil {
			t.Fatalf("InclusionProof(%d, %d): %v", seq, size, err)
		}
		if err := verify.Inclusion(seq, size, verify.LeafHash(entry), proof, root); err != nil {
			t.Fatalf("inclusion of %d in %d: %v", seq, size, err)
		}
	}
}

// verifyDir runs the offline verifier on a closed or live directory.
func verifyDir(t testing.TB, fsys fsx.FS, dir string) *VerifyReport {
	t.Helper()
	rep, err := Verify(context.Background(), dir, VerifyOptions{FS: fsys})
	if err != nil {
		t.Fatalf("Verify(%s): %v", dir, err)
	}
	return rep
}

// concurrentAppends runs workers that append single events until stop is
// closed, recording every acknowledged event.
type ackLog struct {
	mu    sync.Mutex
	acks  map[uint64]acked
	notes [][]byte
	errs  []error
}

func (a *ackLog) add(s *stele.Sealed) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, e := range s.Events {
		a.acks[e.Seq] = acked{seq: e.Seq, id: string(s.ID(k)), leaf: e.LeafHash}
	}
	a.notes = append(a.notes, append([]byte(nil), s.Checkpoint...))
}

func isExpectedAppendErr(err error) bool {
	return errors.Is(err, stele.ErrClosed) || errors.Is(err, stele.ErrUnavailable) || errors.Is(err, stele.ErrDiskFull) || errors.Is(err, stele.ErrFailed)
}

// memByTest gives each conformance test its own in-memory disk that
// survives reopening within the test.
var memByTest sync.Map
