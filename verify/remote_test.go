package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/tiles"
	"golang.org/x/mod/sumdb/note"
)

// TestRemoteGrowing follows a log through many sizes, saving and loading
// the state as JSON between runs, as a monitor would.
func TestRemoteGrowing(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t)
	v := testVerifier(t)
	var prev *State
	for _, size := range []uint64{0, 0, 1, 2, 255, 256, 257, 511, 512, 1000, 65535, 65536, 65537, 65536 + 256*3 + 5, 70000, 70000, 140000} {
		l.grow(size)
		clear(l.fetches)
		var calls []uint64
		prevSize := uint64(0)
		if prev != nil {
			prevSize = prev.Size
		}
		st, err := Remote(ctx, l, "", v, prev, func(done, total uint64) {
			if total != size-prevSize || (len(calls) > 0 && done <= calls[len(calls)-1]) || done > total {
				t.Errorf("size %d: progress(%d, %d) after %v", size, done, total, calls)
			}
			calls = append(calls, done)
		})
		if err != nil {
			t.Fatalf("Remote at size %d (prev %d): %v", size, prevSize, err)
		}
		if st.Size != size || st.Root != l.b.Root() || st.Origin != testOrigin || st.Checkpoint != string(l.files["checkpoint"]) {
			t.Fatalf("Remote at size %d: state %+v", size, st)
		}
		if !equalRanges(st.Range, l.b.Range()) {
			t.Fatalf("Remote at size %d: compact range differs from the log's", size)
		}
		if size > prevSize && (len(calls) == 0 || calls[len(calls)-1] != size-prevSize) {
			t.Fatalf("size %d: progress calls %v", size, calls)
		}
		for path, n := range l.fetches {
			if n > 1 {
				t.Errorf("size %d: %s fetched %d times", size, path, n)
			}
		}
		data, err := json.Marshal(st)
		if err != nil {
			t.Fatalf("Marshal state: %v", err)
		}
		prev = new(State)
		if err := json.Unmarshal(data, prev); err != nil {
			t.Fatalf("Unmarshal state %s: %v", data, err)
		}
	}
}

func equalRanges(a, b [][32]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// verified returns the state of l verified at its current size.
func verified(t *testing.T, l *testLog) *State {
	t.Helper()
	st, err := Remote(context.Background(), l, testOrigin, testVerifier(t), nil, nil)
	if err != nil {
		t.Fatalf("Remote: %v", err)
	}
	return st
}

func TestRemoteErrors(t *testing.T) {
	ctx := context.Background()
	v := testVerifier(t)
	_, otherVkey, _ := checkpoint.GenerateKey(testOrigin)
	otherKey, _ := checkpoint.NewVerifier(otherVkey)

	tests := []struct {
		name   string
		setup  func(t *testing.T) (*testLog, *State) // the log as served, and prev
		origin string
		v      note.Verifier
		want   error
		msg    string // in the error message
	}{
		{"rollback", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			old := l.grow(500)
			l.grow(1000)
			st := verified(t, l)
			l.files["checkpoint"] = old
			return l, st
		}, testOrigin, v, stele.ErrVerify, "rollback"},
		{"fork at the same size", func(t *testing.T) (*testLog, *State) {
			l := forkedLog(t, 600, 3)
			l.grow(1000)
			st := verified(t, l)
			f := forkedLog(t, 600, 4)
			f.grow(1000)
			return f, st
		}, testOrigin, v, stele.ErrVerify, "fork"},
		{"fork at a larger size", func(t *testing.T) (*testLog, *State) {
			l := forkedLog(t, 600, 3)
			l.grow(1000)
			st := verified(t, l)
			f := forkedLog(t, 600, 4)
			f.grow(5000)
			return f, st
		}, testOrigin, v, stele.ErrVerify, "fork"},
		{"rewritten old entry in the first bundle", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(1000)
			st := verified(t, l)
			l.grow(1100)
			// Entry 980 is below the verified size, in bundle 3, which
			// is fetched again to extend from 1000.
			l.files["tile/entries/003"] = replaceEntry(t, l.files["tile/entries/003"], 980-768, []byte(`{"id":"e980","seq":981}`))
			return l, st
		}, testOrigin, v, stele.ErrVerify, "do not match the verified compact range"},
		{"tampered full tile", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(2000)
			l.files["tile/0/002"][5*32] ^= 1
			return l, nil
		}, testOrigin, v, stele.ErrVerify, "tile tile/0/002: hash 5 (covering entries from 517)"},
		{"tampered partial tile", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(70000)
			l.files["tile/1/001.p/17"][16*32+31] ^= 1
			return l, nil
		}, testOrigin, v, stele.ErrVerify, "tile tile/1/001.p/17: hash 16 (covering entries from 69632)"},
		{"tampered entry", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(1000)
			l.files["tile/entries/001"] = replaceEntry(t, l.files["tile/entries/001"], 7, []byte(`{"id":"e263","seq":264}`))
			return l, nil
		}, testOrigin, v, stele.ErrVerify, "tile tile/0/001: hash 7 (covering entries from 263)"},
		{"tampered entry in partial bundle", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(1000)
			l.files["tile/entries/003.p/232"] = replaceEntry(t, l.files["tile/entries/003.p/232"], 0, []byte(`{"id":"e768","seq":769}`))
			return l, nil
		}, testOrigin, v, stele.ErrVerify, "tile tile/0/003.p/232: hash 0"},
		{"bundle short of entries", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(1000)
			l.files["tile/entries/001"] = l.bundle(1, 255)
			return l, nil
		}, testOrigin, v, stele.ErrVerify, "tile/entries/001 has 255 entries, want 256"},
		{"malformed bundle", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(1000)
			l.files["tile/entries/001"] = append(l.files["tile/entries/001"], 0)
			return l, nil
		}, testOrigin, v, stele.ErrVerify, "tiles: malformed bundle"},
		{"tile of the wrong size", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(1000)
			l.files["tile/0/001"] = l.files["tile/0/001"][:100]
			return l, nil
		}, testOrigin, v, stele.ErrVerify, "tile/0/001 is 100 bytes"},
		{"checkpoint root matches no entries", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(1000)
			signed, _ := l.signer.Sign(checkpoint.Checkpoint{Origin: testOrigin, Size: 1000, Hash: [32]byte{1}})
			l.files["checkpoint"] = signed
			return l, nil
		}, testOrigin, v, stele.ErrVerify, "root recomputed"},
		{"empty tree with a wrong root", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			signed, _ := l.signer.Sign(checkpoint.Checkpoint{Origin: testOrigin, Size: 0, Hash: [32]byte{1}})
			l.files["checkpoint"] = signed
			return l, nil
		}, testOrigin, v, stele.ErrVerify, "empty tree"},
		{"wrong key", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(10)
			return l, nil
		}, testOrigin, otherKey, stele.ErrVerify, "signature"},
		{"wrong origin", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(10)
			return l, nil
		}, "example.com/other", v, stele.ErrVerify, "wrong origin"},
		{"malformed checkpoint", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.files["checkpoint"] = []byte("hello")
			return l, nil
		}, testOrigin, v, stele.ErrVerify, "malformed"},
		{"missing tile", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(1000)
			delete(l.files, "tile/0/001")
			return l, nil
		}, testOrigin, v, stele.ErrNotFound, "tile/0/001"},
		{"missing checkpoint", func(t *testing.T) (*testLog, *State) {
			return newTestLog(t), nil
		}, testOrigin, v, stele.ErrNotFound, "checkpoint"},
		{"previous state for another log", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(10)
			st := verified(t, l)
			st.Origin = "example.com/other"
			return l, st
		}, testOrigin, v, stele.ErrInvalid, "previous state"},
		{"previous state damaged", func(t *testing.T) (*testLog, *State) {
			l := newTestLog(t)
			l.grow(10)
			st := verified(t, l)
			st.Range[0][0] ^= 1
			return l, st
		}, testOrigin, v, stele.ErrInvalid, "previous state"},
		{"no verifier", func(t *testing.T) (*testLog, *State) {
			return newTestLog(t), nil
		}, testOrigin, nil, stele.ErrInvalid, "no verifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, prev := tt.setup(t)
			st, err := Remote(ctx, l, tt.origin, tt.v, prev, nil)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Remote = %+v, %v; want %v", st, err, tt.want)
			}
			if tt.want != stele.ErrVerify && errors.Is(err, stele.ErrVerify) {
				t.Fatalf("Remote error %v wraps ErrVerify too", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Remote error %q does not mention %q", err, tt.msg)
			}
			t.Log(err)
		})
	}
}

// forkedLog returns a log whose entries from seq forkAt on depend on salt.
func forkedLog(t *testing.T, forkAt uint64, salt byte) *testLog {
	l := newTestLog(t)
	base := l.entry
	l.entry = func(seq uint64) []byte {
		e := base(seq)
		if seq >= forkAt {
			e = append(e[:len(e)-1:len(e)-1], `,"salt":`+string('0'+salt)+`}`...)
		}
		return e
	}
	return l
}

// replaceEntry returns bundle with entry i replaced.
func replaceEntry(t *testing.T, bundle []byte, i int, entry []byte) []byte {
	t.Helper()
	entries, err := tiles.ParseBundle(bundle)
	if err != nil {
		t.Fatalf("ParseBundle: %v", err)
	}
	var out []byte
	for j, e := range entries {
		if j == i {
			e = entry
		}
		out, _ = tiles.AppendBundleEntry(out, e)
	}
	if bytes.Equal(out, bundle) {
		t.Fatalf("replaceEntry changed nothing")
	}
	return out
}

// TestRemoteStopsFetching checks that Remote, which fetches ahead in
// parallel, never leaves a Fetch running when it returns early.
func TestRemoteStopsFetching(t *testing.T) {
	l := newTestLog(t)
	l.grow(5000)
	delete(l.files, "tile/entries/005")
	var inflight, calls atomic.Int64
	slow := FetcherFunc(func(ctx context.Context, path string) ([]byte, error) {
		inflight.Add(1)
		defer inflight.Add(-1)
		calls.Add(1)
		time.Sleep(time.Millisecond)
		return l.Fetch(ctx, path)
	})

	ctx, cancel := context.WithCancel(context.Background())
	_, err := Remote(ctx, slow, testOrigin, testVerifier(t), nil, func(done, total uint64) {
		if done >= 512 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Remote after cancel = %v, want context.Canceled", err)
	}
	if n := inflight.Load(); n != 0 {
		t.Fatalf("%d fetches still running after Remote returned", n)
	}

	_, err = Remote(context.Background(), slow, testOrigin, testVerifier(t), nil, nil)
	if !errors.Is(err, stele.ErrNotFound) || !strings.Contains(err.Error(), "tile/entries/005") {
		t.Fatalf("Remote with a missing bundle = %v", err)
	}
	if n := inflight.Load(); n != 0 {
		t.Fatalf("%d fetches still running after Remote returned", n)
	}
	if calls.Load() > 2*(5000/256+2)+10 {
		t.Fatalf("%d fetches for a 5000-entry log", calls.Load())
	}
}

func BenchmarkRemote(b *testing.B) {
	l := newTestLog(b)
	l.grow(65536)
	v := testVerifier(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Remote(ctx, l, testOrigin, v, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/65536, "ns/entry")
}
