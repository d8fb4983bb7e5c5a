package fsx

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"testing"
)

// TestWriteFileAtomicCrash stops the machine before each FS operation of
// WriteFileAtomic in turn (every later operation fails too, as nothing runs
// after a power loss), then crashes, and checks that the file holds the old
// or the new content: never a mix, never missing if it existed, and the new
// content once WriteFileAtomic has returned nil.
func TestWriteFileAtomicCrash(t *testing.T) {
	const name = "/d/f"
	tests := []struct {
		name string
		old  string // "" means the file does not exist beforehand
	}{
		{"replace existing", "old content"},
		{"replace with shorter", "a much longer old content"},
		{"create new", ""},
	}
	newData := "new content"
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := durableBase(t)
			if tc.old != "" {
				must(t, WriteFileAtomic(base, name, []byte(tc.old), 0o644))
			}
			must(t, base.SyncAll("/"))

			dry := FailNth(0, OpAny, "", ErrInjected)
			must(t, WriteFileAtomic(NewError(base.CrashClone(), dry), name, []byte(newData), 0o644))
			steps := dry.Count()
			if steps < 5 {
				t.Fatalf("dry run saw %d operations, want at least create, write, sync, rename, syncdir", steps)
			}
			for stop := 1; stop <= steps+1; stop++ {
				live := base.CrashClone()
				err := WriteFileAtomic(NewError(live, FailFrom(stop, OpAny, "", ErrInjected)), name, []byte(newData), 0o644)
				if stop <= steps && !errors.Is(err, ErrInjected) {
					t.Fatalf("stop %d: err = %v, want ErrInjected", stop, err)
				}
				if stop > steps && err != nil {
					t.Fatalf("stop %d (none): %v", stop, err)
				}
				crashes := map[string]*MemFS{"clean": live.CrashClone()}
				for seed := range uint64(4) {
					crashes["torn"+string(rune('0'+seed))] = live.CrashCloneTorn(rand.New(rand.NewPCG(seed, uint64(stop))))
				}
				for kind, crashed := range crashes {
					got, rerr := ReadFile(crashed, name)
					switch {
					case errors.Is(rerr, fs.ErrNotExist) && tc.old == "" && err != nil:
						// Never existed and never committed: fine.
					case rerr != nil:
						t.Fatalf("stop %d %s: %v", stop, kind, rerr)
					case err == nil && string(got) != newData:
						t.Fatalf("stop %d %s: committed but file = %q", stop, kind, got)
					case string(got) != newData && (tc.old == "" || string(got) != tc.old):
						t.Fatalf("stop %d %s: file = %q, want %q or %q", stop, kind, got, tc.old, newData)
					}
				}
			}
		})
	}
}
