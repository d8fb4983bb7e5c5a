package fsx

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
)

// durableBase returns a MemFS whose /d directory is durable.
func durableBase(t *testing.T) *MemFS {
	t.Helper()
	m := NewMem()
	if err := m.MkdirAll("/d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.SyncDir("/"); err != nil {
		t.Fatal(err)
	}
	return m
}

// must fails the test on err; it keeps crash scenarios readable.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func writeNew(t *testing.T, m FS, name, data string, sync bool) File {
	t.Helper()
	f, err := m.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	must(t, err)
	_, err = f.Write([]byte(data))
	must(t, err)
	if sync {
		must(t, f.Sync())
	}
	return f
}

// snapshot renders every file under the root as "path=content" lines and
// directories as "path/", so a whole FS state compares as one string.
func snapshot(t *testing.T, m FS) string {
	t.Helper()
	return snapshotDir(t, m, "/")
}

// snapshotDir is snapshot for the tree under root, with paths relative to it.
func snapshotDir(t *testing.T, m FS, root string) string {
	t.Helper()
	var lines []string
	var walk func(dir string)
	walk = func(dir string) {
		entries, err := m.ReadDir(dir)
		must(t, err)
		for _, e := range entries {
			p := strings.TrimSuffix(dir, "/") + "/" + e.Name()
			if e.IsDir() {
				lines = append(lines, p+"/")
				walk(p)
				continue
			}
			data, err := ReadFile(m, p)
			must(t, err)
			lines = append(lines, p+"="+string(data))
		}
	}
	walk(root)
	for i := range lines {
		lines[i] = strings.TrimPrefix(lines[i], strings.TrimSuffix(root, "/"))
	}
	return strings.Join(lines, " ")
}

func TestCrashClone(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, m *MemFS)
		want  string // snapshot after the crash
	}{
		{"nothing synced", func(t *testing.T, m *MemFS) {
			writeNew(t, m, "/d/f", "abc", false)
		}, "/d/"},
		{"synced data and entry survive", func(t *testing.T, m *MemFS) {
			writeNew(t, m, "/d/f", "abc", true)
			must(t, m.SyncDir("/d"))
		}, "/d/ /d/f=abc"},
		{"entry synced but data not: empty file", func(t *testing.T, m *MemFS) {
			writeNew(t, m, "/d/f", "abc", false)
			must(t, m.SyncDir("/d"))
		}, "/d/ /d/f="},
		{"synced data without synced entry is lost", func(t *testing.T, m *MemFS) {
			writeNew(t, m, "/d/f", "abc", true)
		}, "/d/"},
		{"writes after sync are lost", func(t *testing.T, m *MemFS) {
			f := writeNew(t, m, "/d/f", "abc", true)
			must(t, m.SyncDir("/d"))
			_, err := f.Write([]byte("def"))
			must(t, err)
			_, err = f.WriteAt([]byte("X"), 0)
			must(t, err)
		}, "/d/ /d/f=abc"},
		{"overwrite after sync reverts", func(t *testing.T, m *MemFS) {
			f := writeNew(t, m, "/d/f", "abcdef", true)
			must(t, m.SyncDir("/d"))
			_, err := f.WriteAt([]byte("XY"), 1)
			must(t, err)
		}, "/d/ /d/f=abcdef"},
		{"synced overwrite survives", func(t *testing.T, m *MemFS) {
			f := writeNew(t, m, "/d/f", "abcdef", true)
			must(t, m.SyncDir("/d"))
			_, err := f.WriteAt([]byte("XY"), 1)
			must(t, err)
			must(t, f.Sync())
		}, "/d/ /d/f=aXYdef"},
		{"unsynced truncate reverts", func(t *testing.T, m *MemFS) {
			f := writeNew(t, m, "/d/f", "abcdef", true)
			must(t, m.SyncDir("/d"))
			must(t, f.Truncate(2))
		}, "/d/ /d/f=abcdef"},
		{"synced truncate survives", func(t *testing.T, m *MemFS) {
			f := writeNew(t, m, "/d/f", "abcdef", true)
			must(t, m.SyncDir("/d"))
			must(t, f.Truncate(2))
			must(t, f.Sync())
		}, "/d/ /d/f=ab"},
		{"truncate then regrow is not the old data", func(t *testing.T, m *MemFS) {
			f := writeNew(t, m, "/d/f", "abcdef", true)
			must(t, m.SyncDir("/d"))
			must(t, f.Truncate(1))
			_, err := f.WriteAt([]byte("Z"), 3)
			must(t, err)
			must(t, f.Sync())
		}, "/d/ /d/f=a\x00\x00Z"},
		{"unsynced O_TRUNC reverts", func(t *testing.T, m *MemFS) {
			writeNew(t, m, "/d/f", "abc", true)
			must(t, m.SyncDir("/d"))
			writeNew(t, m, "/d/f", "x", false)
		}, "/d/ /d/f=abc"},
		{"unsynced rename reverts", func(t *testing.T, m *MemFS) {
			writeNew(t, m, "/d/f", "old", true)
			writeNew(t, m, "/d/f.tmp", "new", true)
			must(t, m.SyncDir("/d"))
			must(t, m.Rename("/d/f.tmp", "/d/f"))
		}, "/d/ /d/f=old /d/f.tmp=new"},
		{"synced rename survives", func(t *testing.T, m *MemFS) {
			writeNew(t, m, "/d/f", "old", true)
			writeNew(t, m, "/d/f.tmp", "new", true)
			must(t, m.SyncDir("/d"))
			must(t, m.Rename("/d/f.tmp", "/d/f"))
			must(t, m.SyncDir("/d"))
		}, "/d/ /d/f=new"},
		{"rename across dirs synced on one side only", func(t *testing.T, m *MemFS) {
			must(t, m.MkdirAll("/e", 0o755))
			must(t, m.SyncDir("/"))
			writeNew(t, m, "/d/f", "x", true)
			must(t, m.SyncDir("/d"))
			must(t, m.Rename("/d/f", "/e/f"))
			must(t, m.SyncDir("/e"))
		}, "/d/ /d/f=x /e/ /e/f=x"},
		{"unsynced remove reverts", func(t *testing.T, m *MemFS) {
			writeNew(t, m, "/d/f", "abc", true)
			must(t, m.SyncDir("/d"))
			must(t, m.Remove("/d/f"))
		}, "/d/ /d/f=abc"},
		{"synced remove survives", func(t *testing.T, m *MemFS) {
			writeNew(t, m, "/d/f", "abc", true)
			must(t, m.SyncDir("/d"))
			must(t, m.Remove("/d/f"))
			must(t, m.SyncDir("/d"))
		}, "/d/"},
		{"new dir needs its parent synced", func(t *testing.T, m *MemFS) {
			must(t, m.MkdirAll("/d/e", 0o755))
			writeNew(t, m, "/d/e/f", "abc", true)
			must(t, m.SyncDir("/d/e"))
		}, "/d/"},
		{"new dir with parent synced", func(t *testing.T, m *MemFS) {
			must(t, m.MkdirAll("/d/e", 0o755))
			writeNew(t, m, "/d/e/f", "abc", true)
			must(t, m.SyncDir("/d/e"))
			must(t, m.SyncDir("/d"))
		}, "/d/ /d/e/ /d/e/f=abc"},
		{"directory handle Sync is SyncDir", func(t *testing.T, m *MemFS) {
			writeNew(t, m, "/d/f", "abc", true)
			d, err := m.OpenFile("/d", os.O_RDONLY, 0)
			must(t, err)
			must(t, d.Sync())
		}, "/d/ /d/f=abc"},
		{"SyncAll makes everything durable", func(t *testing.T, m *MemFS) {
			must(t, m.MkdirAll("/d/e/g", 0o755))
			writeNew(t, m, "/d/e/g/f", "abc", false)
			writeNew(t, m, "/top", "t", false)
			must(t, m.SyncAll("/d"))
		}, "/d/ /d/e/ /d/e/g/ /d/e/g/f=abc /top=t"},
		{"writes to an unlinked file leave nothing", func(t *testing.T, m *MemFS) {
			f := writeNew(t, m, "/d/f", "abc", true)
			must(t, m.SyncDir("/d"))
			must(t, m.Remove("/d/f"))
			must(t, m.SyncDir("/d"))
			_, err := f.Write([]byte("more"))
			must(t, err)
			must(t, f.Sync())
		}, "/d/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := durableBase(t)
			tc.setup(t, m)
			crashed := m.CrashClone()
			if got := snapshot(t, crashed); got != tc.want {
				t.Errorf("after crash:\n got %q\nwant %q", got, tc.want)
			}
			// The torn clone keeps at least the durable state; for these
			// cases with a zero-length tear it is the durable state.
			if got := snapshot(t, m.CrashCloneTorn(rand.New(zeroSource{}))); got != tc.want {
				t.Errorf("after torn crash with no tail:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// zeroSource makes CrashCloneTorn keep no torn bytes at all.
type zeroSource struct{}

func (zeroSource) Uint64() uint64 { return 0 }

func TestCrashCloneMode(t *testing.T) {
	tests := []struct {
		name  string
		after func(t *testing.T, m *MemFS, f File)
		want  fs.FileMode
	}{
		{"chmod unsynced", func(t *testing.T, m *MemFS, f File) {}, 0o644},
		{"chmod then file Sync", func(t *testing.T, m *MemFS, f File) { must(t, f.Sync()) }, 0o444},
		{"chmod then SyncDir", func(t *testing.T, m *MemFS, f File) { must(t, m.SyncDir("/d")) }, 0o444},
		{"chmod then SyncAll", func(t *testing.T, m *MemFS, f File) { must(t, m.SyncAll("/")) }, 0o444},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := durableBase(t)
			f := writeNew(t, m, "/d/f", "abc", true)
			must(t, m.SyncDir("/d"))
			must(t, m.Chmod("/d/f", 0o444))
			tc.after(t, m, f)
			fi, err := m.CrashClone().Stat("/d/f")
			must(t, err)
			if fi.Mode() != tc.want {
				t.Fatalf("mode after crash = %v, want %v", fi.Mode(), tc.want)
			}
		})
	}
}

func TestCrashCloneIndependent(t *testing.T) {
	m := durableBase(t)
	f := writeNew(t, m, "/d/f", "abc", true)
	must(t, m.SyncDir("/d"))
	lock, err := m.Lock("/d/LOCK")
	must(t, err)
	defer lock.Close()

	c := m.CrashClone()
	// Appending to the original after the clone shares a backing array with
	// the synced bytes; neither side may see the other's writes.
	_, err = f.Write([]byte("-orig"))
	must(t, err)
	must(t, f.Sync())
	g, err := c.OpenFile("/d/f", os.O_RDWR, 0)
	must(t, err)
	_, err = g.WriteAt([]byte("Z"), 0)
	must(t, err)
	_, err = g.WriteAt([]byte("-clone"), 3)
	must(t, err)
	wantContent(t, m, "/d/f", "abc-orig")
	wantContent(t, c, "/d/f", "Zbc-clone")
	// The lock file's entry was not synced; a lock held in m is not held in
	// a clone whatever the state of the file.
	must(t, m.SyncDir("/d"))
	l2, err := m.CrashClone().Lock("/d/LOCK")
	if err != nil {
		t.Fatalf("lock survived the crash: %v", err)
	}
	l2.Close()
}

func TestCrashCloneTorn(t *testing.T) {
	m := durableBase(t)
	appended := writeNew(t, m, "/d/appended", "durable", true)
	_, err := appended.Write([]byte("0123456789"))
	must(t, err)
	overwritten := writeNew(t, m, "/d/overwritten", "durable", true)
	_, err = overwritten.WriteAt([]byte("XX"), 5)
	must(t, err)
	_, err = overwritten.Write([]byte("tail"))
	must(t, err)
	newFile := writeNew(t, m, "/d/new", "", false)
	_, err = newFile.Write([]byte("fresh"))
	must(t, err)
	writeNew(t, m, "/d/unlisted", "gone", false)
	must(t, m.SyncDir("/d"))
	// The removal is unsynced, so the entry survives with whatever of its
	// unsynced bytes the tear keeps.
	must(t, m.Remove("/d/unlisted"))

	lengths := make(map[int]bool)
	for seed := range uint64(200) {
		c := m.CrashCloneTorn(rand.New(rand.NewPCG(seed, 1)))
		got, err := ReadFile(c, "/d/appended")
		must(t, err)
		if !bytes.HasPrefix([]byte("durable0123456789"), got) || len(got) < len("durable") {
			t.Fatalf("seed %d: appended = %q, want durable content plus a prefix of the tail", seed, got)
		}
		lengths[len(got)] = true
		wantContent(t, c, "/d/overwritten", "durable")
		for name, tail := range map[string]string{"/d/new": "fresh", "/d/unlisted": "gone"} {
			got, err = ReadFile(c, name)
			must(t, err)
			if !strings.HasPrefix(tail, string(got)) {
				t.Fatalf("seed %d: %s = %q, want a prefix of %q", seed, name, got, tail)
			}
		}
		again := m.CrashCloneTorn(rand.New(rand.NewPCG(seed, 1)))
		if snapshot(t, c) != snapshot(t, again) {
			t.Fatalf("seed %d: torn clone is not repeatable", seed)
		}
	}
	// 11 possible lengths and 200 draws: every length should appear.
	for n := len("durable"); n <= len("durable0123456789"); n++ {
		if !lengths[n] {
			t.Errorf("torn length %d never produced; got %v", n, lengths)
		}
	}
}

func TestMemConcurrent(t *testing.T) {
	m := durableBase(t)
	shared := writeNew(t, m, "/d/shared", "", true)
	const workers, rounds, chunk = 8, 200, 16
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("/d/w%d", w)
			f, err := m.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
			if err != nil {
				t.Error(err)
				return
			}
			defer f.Close()
			block := bytes.Repeat([]byte{byte('a' + w)}, chunk)
			for r := range rounds {
				if _, err := f.Write(block); err != nil {
					t.Error(err)
					return
				}
				off := int64((r*workers + w) * chunk)
				if _, err := shared.WriteAt(block, off); err != nil {
					t.Error(err)
					return
				}
				buf := make([]byte, chunk)
				if _, err := shared.ReadAt(buf, off); err != nil || !bytes.Equal(buf, block) {
					t.Errorf("ReadAt %d = %q, %v", off, buf, err)
					return
				}
				switch r % 50 {
				case 0:
					must2(t, f.Sync())
					must2(t, m.SyncDir("/d"))
				case 1:
					m.CrashClone()
				case 2:
					if l, err := m.Lock("/d/LOCK"); err == nil {
						l.Close()
					} else if !errors.Is(err, ErrLocked) {
						t.Error(err)
					}
				case 3:
					if _, err := m.ReadDir("/d"); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	for w := range workers {
		fi, err := m.Stat(fmt.Sprintf("/d/w%d", w))
		must(t, err)
		if fi.Size() != rounds*chunk {
			t.Errorf("w%d size = %d, want %d", w, fi.Size(), rounds*chunk)
		}
	}
	fi, err := shared.Stat()
	must(t, err)
	if fi.Size() != workers*rounds*chunk {
		t.Errorf("shared size = %d, want %d", fi.Size(), workers*rounds*chunk)
	}
}

// must2 is must for goroutines, where t.Fatal is not allowed.
func must2(t *testing.T, err error) {
	if err != nil {
		t.Error(err)
	}
}
