package ids

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stele-log/stele/internal/fsx"
)

// checkShape checks the structural invariants of an idle index: the runs
// tile [0, Covered()) minus the memtable, and no tier holds mergeFanout
// adjacent runs.
func checkShape(t testing.TB, x *Index) {
	t.Helper()
	x.mu.RLock()
	defer x.mu.RUnlock()
	next := uint64(0)
	for _, r := range x.runs {
		if r.hdr.first != next {
			t.Fatalf("run %s starts at %d, want %d", r.path, r.hdr.first, next)
		}
		next = r.hdr.end
	}
	if len(x.frozen) > 0 {
		t.Fatalf("%d frozen memtables on an idle index", len(x.frozen))
	}
	if x.active.base != next {
		t.Fatalf("memtable starts at %d, runs end at %d", x.active.base, next)
	}
	if _, _, due := x.pickMergeLocked(); due {
		t.Fatalf("merge due on an idle index: runs %v", runCountsLocked(x))
	}
}

func runCountsLocked(x *Index) []uint64 {
	var out []uint64
	for _, r := range x.runs {
		out = append(out, r.count())
	}
	return out
}

func TestRandomizedAgainstModel(t *testing.T) {
	for _, memtableSize := range []int{1, 5, 64} {
		t.Run(fmt.Sprintf("memtable=%d", memtableSize), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(memtableSize), 7))
			fsys := fsx.NewMem()
			opts := Options{MemtableSize: memtableSize}
			x := mustOpen(t, fsys, "/idx", opts)
			m := &model{}
			durable := uint64(0) // Covered is at least this after a reopen
			for round := range 60 {
				for range rng.IntN(8 * memtableSize) {
					seq := m.add(genID(rng, m, 0.05))
					if err := x.Add(m.ids[seq], seq); err != nil {
						t.Fatalf("Add(%d): %v", seq, err)
					}
				}
				switch rng.IntN(6) {
				case 0:
					if err := x.Flush(); err != nil {
						t.Fatalf("Flush: %v", err)
					}
					durable = uint64(len(m.ids))
				case 1:
					mustIdle(t, x)
					checkShape(t, x)
				case 2, 3:
					checkIndex(t, x, m)
				case 4:
					mustIdle(t, x)
					x.mu.RLock()
					durable = x.active.base // every full memtable is in a run
					x.mu.RUnlock()
					mustClose(t, x)
					x = mustOpen(t, fsys, "/idx", opts)
					if c := x.Covered(); c < durable || c > uint64(len(m.ids)) {
						t.Fatalf("round %d: Covered() = %d after reopen, want in [%d, %d]", round, c, durable, len(m.ids))
					}
					checkIndex(t, x, m)
					addAll(t, x, m)
				case 5:
					if err := x.Flush(); err != nil {
						t.Fatalf("Flush: %v", err)
					}
					mustClose(t, x)
					x = mustOpen(t, fsys, "/idx", opts)
					if c := x.Covered(); c != uint64(len(m.ids)) {
						t.Fatalf("round %d: Covered() = %d after Flush and reopen, want %d", round, c, len(m.ids))
					}
				}
			}
			mustIdle(t, x)
			checkShape(t, x)
			checkIndex(t, x, m)
			t.Logf("%d ids, runs %v", len(m.ids), runCounts(x))
			mustClose(t, x)
		})
	}
}

// TestMergesBoundRuns checks the size-tiered policy on a long append: the
// run count stays logarithmic and every tier has fewer than mergeFanout runs.
func TestMergesBoundRuns(t *testing.T) {
	const memtableSize = 16
	x := mustOpen(t, fsx.NewMem(), "/idx", Options{MemtableSize: memtableSize})
	defer mustClose(t, x)
	m := &model{}
	rng := rand.New(rand.NewPCG(1, 1))
	for n := range 5000 {
		seq := m.add(genID(rng, m, 0))
		if err := x.Add(m.ids[seq], seq); err != nil {
			t.Fatalf("Add: %v", err)
		}
		if n%500 == 0 {
			mustIdle(t, x)
			checkShape(t, x)
		}
	}
	mustIdle(t, x)
	checkShape(t, x)
	// 5000/16 = 312 memtables = 1·256 + 0·64 + 3·16 + 2·4 + 0·1 in base 4.
	if got, want := runCounts(x), []uint64{4096, 256, 256, 256, 64, 64}; !slices.Equal(got, want) {
		t.Fatalf("runs %v, want %v", got, want)
	}
	checkIndex(t, x, m)
}

func TestCollisions(t *testing.T) {
	// Every id starting with the same byte has the same hash.
	opts := Options{MemtableSize: 4, hash: func(_ uint64, id []byte) uint64 { return uint64(id[0]) << 56 }}
	fsys := fsx.NewMem()
	x := mustOpen(t, fsys, "/idx", opts)
	m := &model{}
	add := func(id string) {
		seq := m.add([]byte(id))
		if err := x.Add([]byte(id), seq); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	// a-ids land in runs (merged and not), in a frozen or flushed memtable,
	// and in the active memtable.
	for i := range 70 {
		add(fmt.Sprintf("%c-%d", "abcdefg"[i%7], i))
	}
	add("a-last")
	mustIdle(t, x)
	want := []uint64{70, 63, 56, 49, 42, 35, 28, 21, 14, 7, 0}
	for _, probe := range []string{"a-last", "a-0", "a-never-added"} {
		got, err := x.Lookup(nil, []byte(probe))
		if err != nil {
			t.Fatalf("Lookup(%q): %v", probe, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("Lookup(%q) = %v, want %v", probe, got, want)
		}
	}
	if got, err := x.Lookup(nil, []byte("z")); err != nil || len(got) != 0 {
		t.Fatalf("Lookup(z) = %v, %v; want nothing", got, err)
	}
	checkIndex(t, x, m)
	if err := x.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	mustClose(t, x)
	x = mustOpen(t, fsys, "/idx", opts)
	defer mustClose(t, x)
	if got, _ := x.Lookup(nil, []byte("a")); !slices.Equal(got, want) {
		t.Fatalf("after reopen Lookup(a) = %v, want %v", got, want)
	}
	checkIndex(t, x, m)
}

func TestCoveredSemantics(t *testing.T) {
	fsys := fsx.NewMem()
	opts := Options{MemtableSize: 4}
	x := mustOpen(t, fsys, "/idx", opts)
	if c := x.Covered(); c != 0 {
		t.Fatalf("new index: Covered() = %d, want 0", c)
	}
	if err := x.Add([]byte("x"), 1); !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("Add(seq 1) on empty index: %v, want ErrOutOfOrder", err)
	}
	for seq := range uint64(10) {
		if err := x.Add(fmt.Appendf(nil, "id-%d", seq), seq); err != nil {
			t.Fatalf("Add(%d): %v", seq, err)
		}
		if c := x.Covered(); c != seq+1 {
			t.Fatalf("after Add(%d): Covered() = %d", seq, c)
		}
	}
	for _, seq := range []uint64{0, 9, 11} {
		if err := x.Add([]byte("x"), seq); !errors.Is(err, ErrOutOfOrder) {
			t.Fatalf("Add(seq %d) at Covered 10: %v, want ErrOutOfOrder", seq, err)
		}
	}
	mustIdle(t, x)
	mustClose(t, x) // no Flush: the two ids in the memtable are lost

	x = mustOpen(t, fsys, "/idx", opts)
	if c := x.Covered(); c != 8 {
		t.Fatalf("after Close without Flush: Covered() = %d, want 8 (two full memtables)", c)
	}
	for seq := uint64(8); seq < 10; seq++ {
		if got, _ := x.Lookup(nil, fmt.Appendf(nil, "id-%d", seq)); len(got) != 0 {
			t.Fatalf("seq %d, above Covered, found: %v", seq, got)
		}
		if err := x.Add(fmt.Appendf(nil, "id-%d", seq), seq); err != nil {
			t.Fatalf("re-Add(%d): %v", seq, err)
		}
	}
	if err := x.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if err := x.Flush(); err != nil { // nothing to do
		t.Fatalf("second Flush: %v", err)
	}
	mustClose(t, x)
	x = mustOpen(t, fsys, "/idx", opts)
	defer mustClose(t, x)
	if c := x.Covered(); c != 10 {
		t.Fatalf("after Flush and reopen: Covered() = %d, want 10", c)
	}
	for seq := range uint64(10) {
		got, err := x.Lookup(nil, fmt.Appendf(nil, "id-%d", seq))
		if err != nil || !slices.Equal(got, []uint64{seq}) {
			t.Fatalf("Lookup(id-%d) = %v, %v", seq, got, err)
		}
	}
}

func TestClosed(t *testing.T) {
	x := mustOpen(t, fsx.NewMem(), "/idx", Options{})
	mustClose(t, x)
	if err := x.Add([]byte("a"), 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close: %v", err)
	}
	if _, err := x.Lookup(nil, []byte("a")); !errors.Is(err, ErrClosed) {
		t.Errorf("Lookup after Close: %v", err)
	}
	if err := x.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
	if err := x.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenLocked(t *testing.T) {
	fsys := fsx.NewMem()
	x := mustOpen(t, fsys, "/idx", Options{})
	if _, err := Open(fsys, "/idx", Options{}); !errors.Is(err, fsx.ErrLocked) {
		t.Fatalf("second Open: %v, want fsx.ErrLocked", err)
	}
	mustClose(t, x)
	mustClose(t, mustOpen(t, fsys, "/idx", Options{}))
}

func TestOpenOptions(t *testing.T) {
	for _, size := range []int{-1, maxMemtableSize + 1} {
		if _, err := Open(fsx.NewMem(), "/idx", Options{MemtableSize: size}); err == nil {
			t.Errorf("Open with MemtableSize %d succeeded", size)
		}
	}
}

// writeRunFile writes a run file for [first, end) directly, bypassing Index.
func writeRunFile(t *testing.T, fsys fsx.FS, path string, seed, first, end uint64) {
	t.Helper()
	es := make([]entry, end-first)
	for i := range es {
		es[i] = entry{hash: hashID(seed, fmt.Appendf(nil, "id-%d", first+uint64(i))), seq: first + uint64(i)}
	}
	data := encodeRun(t, runHeader{seed: seed, first: first, end: end}, es)
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func listDir(t *testing.T, fsys fsx.FS, dir string) []string {
	t.Helper()
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestOpenChoosesChain(t *testing.T) {
	const seed = 12345
	cases := []struct {
		name        string
		runs        [][2]uint64 // files present
		extra       []string    // other files present
		wantCovered uint64
		wantFiles   []string
	}{
		{"empty", nil, nil, 0, nil},
		{"chain", [][2]uint64{{0, 4}, {4, 8}}, nil, 8, []string{runFileName(0, 4), runFileName(4, 8)}},
		{"merged wins over its inputs", [][2]uint64{{0, 4}, {4, 8}, {0, 8}, {8, 9}}, nil, 9,
			[]string{runFileName(0, 8), runFileName(8, 9)}},
		{"merge output with one input left", [][2]uint64{{4, 8}, {0, 8}}, nil, 8, []string{runFileName(0, 8)}},
		{"gap", [][2]uint64{{0, 4}, {8, 12}}, nil, 4, []string{runFileName(0, 4)}},
		{"not from zero", [][2]uint64{{4, 8}}, nil, 0, nil},
		{"overlap", [][2]uint64{{0, 4}, {2, 6}, {4, 6}}, nil, 6, []string{runFileName(0, 4), runFileName(4, 6)}},
		{"temp files", [][2]uint64{{0, 4}}, []string{runFileName(4, 8) + ".tmp", "LOCK.tmp"}, 4, []string{runFileName(0, 4)}},
		{"unknown file kept", [][2]uint64{{0, 4}}, []string{"README"}, 4, []string{"README", runFileName(0, 4)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fsx.NewMem()
			if err := fsys.MkdirAll("/idx", 0o755); err != nil {
				t.Fatal(err)
			}
			for _, r := range tc.runs {
				writeRunFile(t, fsys, filepath.Join("/idx", runFileName(r[0], r[1])), seed, r[0], r[1])
			}
			for _, name := range tc.extra {
				if err := fsx.WriteFileAtomic(fsys, filepath.Join("/idx", name), []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			x := mustOpen(t, fsys, "/idx", Options{MemtableSize: 1000})
			defer mustClose(t, x)
			if c := x.Covered(); c != tc.wantCovered {
				t.Fatalf("Covered() = %d, want %d", c, tc.wantCovered)
			}
			got := slices.DeleteFunc(listDir(t, fsys, "/idx"), func(s string) bool { return s == lockName })
			if !slices.Equal(got, tc.wantFiles) {
				t.Fatalf("files %v, want %v", got, tc.wantFiles)
			}
			for seq := range tc.wantCovered {
				got, err := x.Lookup(nil, fmt.Appendf(nil, "id-%d", seq))
				if err != nil || !slices.Equal(got, []uint64{seq}) {
					t.Fatalf("Lookup(id-%d) = %v, %v", seq, got, err)
				}
			}
		})
	}
}

func TestOpenRejectsInconsistentRuns(t *testing.T) {
	cases := []struct {
		name    string
		write   func(t *testing.T, fsys fsx.FS)
		file    string
		offset  int64
		message string
	}{
		{"name disagrees with header", func(t *testing.T, fsys fsx.FS) {
			writeRunFile(t, fsys, "/idx/"+runFileName(0, 4), 1, 0, 4)
			writeRunFile(t, fsys, "/idx/tmp", 1, 4, 9)
			if err := fsys.Rename("/idx/tmp", "/idx/"+runFileName(4, 8)); err != nil {
				t.Fatal(err)
			}
		}, "/idx/" + runFileName(4, 8), hdrFirst, "file name"},
		{"seed differs", func(t *testing.T, fsys fsx.FS) {
			writeRunFile(t, fsys, "/idx/"+runFileName(0, 4), 1, 0, 4)
			writeRunFile(t, fsys, "/idx/"+runFileName(4, 8), 2, 4, 8)
		}, "/idx/" + runFileName(4, 8), hdrSeed, "seed"},
		{"not a run", func(t *testing.T, fsys fsx.FS) {
			if err := fsx.WriteFileAtomic(fsys, "/idx/"+runFileName(0, 4), []byte("hello"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "/idx/" + runFileName(0, 4), 5, "too short"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fsx.NewMem()
			if err := fsys.MkdirAll("/idx", 0o755); err != nil {
				t.Fatal(err)
			}
			tc.write(t, fsys)
			_, err := Open(fsys, "/idx", Options{})
			ce := asCorruption(t, err)
			if ce.File != tc.file || ce.Offset != tc.offset || !strings.Contains(ce.Reason, tc.message) {
				t.Fatalf("Open: %v; want file %s offset %d reason containing %q", err, tc.file, tc.offset, tc.message)
			}
			// The failed Open released the lock: after deleting the
			// directory's runs the caller can rebuild in place.
			for _, name := range listDir(t, fsys, "/idx") {
				if err := fsys.Remove("/idx/" + name); err != nil {
					t.Fatal(err)
				}
			}
			mustClose(t, mustOpen(t, fsys, "/idx", Options{}))
		})
	}
}

// TestCorruptRunOnDisk flips one byte of a run file on the real file system,
// in each region of the file, and checks that Open names the file and offset.
func TestCorruptRunOnDisk(t *testing.T) {
	const n = 3*entriesPerBlock + 5
	cases := []struct {
		name   string
		offset int64 // byte to flip
		want   int64 // offset the error must name
	}{
		{"magic", 0, 0},
		{"header field", hdrEnd + 2, 0},
		{"header crc", blockDataSize + 1, 0},
		{"first data block", blockSize + 100, blockSize},
		{"middle data block", 2*blockSize + 4000, 2 * blockSize},
		{"last block padding", 4*blockSize + 3000, 4 * blockSize},
		{"last block crc", 4*blockSize + blockDataSize, 4 * blockSize},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			x := mustOpen(t, fsx.OS(), dir, Options{MemtableSize: n})
			for seq := range uint64(n) {
				if err := x.Add(fmt.Appendf(nil, "id-%d", seq), seq); err != nil {
					t.Fatal(err)
				}
			}
			mustIdle(t, x)
			mustClose(t, x)
			path := filepath.Join(dir, runFileName(0, n))
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			data[tc.offset] ^= 0x10
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err = Open(fsx.OS(), dir, Options{MemtableSize: n})
			ce := asCorruption(t, err)
			if ce.File != path || ce.Offset != tc.want {
				t.Fatalf("Open: %v; want file %s offset %d", err, path, tc.want)
			}
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, fmt.Sprintf("offset %d", tc.want)) {
				t.Fatalf("error %q does not name file and offset", msg)
			}
		})
	}
}

// TestCorruptionAfterOpen damages a block under an open index: the lookup
// that reads it reports the corruption instead of a wrong answer.
func TestCorruptionAfterOpen(t *testing.T) {
	dir := t.TempDir()
	const n = 2000
	x := mustOpen(t, fsx.OS(), dir, Options{MemtableSize: n})
	defer mustClose(t, x)
	for seq := range uint64(n) {
		if err := x.Add(fmt.Appendf(nil, "id-%d", seq), seq); err != nil {
			t.Fatal(err)
		}
	}
	mustIdle(t, x)
	path := filepath.Join(dir, runFileName(0, n))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Zero every data block's first entry: its CRC no longer matches.
	for off := int64(blockSize); off < runFileSize(n); off += blockSize {
		if _, err := f.WriteAt(make([]byte, entrySize), off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	_, err = x.Lookup(nil, []byte("id-7"))
	ce := asCorruption(t, err)
	if ce.File != path || ce.Offset%blockSize != 0 || ce.Offset == 0 {
		t.Fatalf("Lookup: %v; want a data block of %s", err, path)
	}
}

// TestConcurrentLookup runs lookups against Adds, flushes and merges; run it
// with -race. Every id below the Covered() seen before a lookup must be found.
func TestConcurrentLookup(t *testing.T) {
	const n = 20000
	x := mustOpen(t, fsx.NewMem(), "/idx", Options{MemtableSize: 64})
	defer mustClose(t, x)
	id := func(seq uint64) []byte { return fmt.Appendf(nil, "id-%d", seq) }
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 4)
	for g := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 0))
			var dst []uint64
			for {
				select {
				case <-stop:
					return
				default:
				}
				covered := x.Covered()
				if covered == 0 {
					continue
				}
				seq := rng.Uint64N(covered)
				var err error
				dst, err = x.Lookup(dst[:0], id(seq))
				if err != nil || !slices.Equal(dst, []uint64{seq}) {
					errs <- fmt.Errorf("Lookup(id-%d) = %v, %v at Covered %d", seq, dst, err, covered)
					return
				}
			}
		}()
	}
	for seq := range uint64(n) {
		if err := x.Add(id(seq), seq); err != nil {
			t.Fatal(err)
		}
	}
	mustIdle(t, x)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSeedPersists checks that the hash seed is random per directory and
// survives reopening (else lookups after a reopen would miss everything).
func TestSeedPersists(t *testing.T) {
	fsys := fsx.NewMem()
	a := mustOpen(t, fsys, "/a", Options{MemtableSize: 1})
	b := mustOpen(t, fsys, "/b", Options{MemtableSize: 1})
	if a.seed == b.seed {
		t.Fatalf("two new indexes share seed %#x", a.seed)
	}
	if err := a.Add([]byte("x"), 0); err != nil {
		t.Fatal(err)
	}
	mustIdle(t, a)
	seed := a.seed
	mustClose(t, a)
	mustClose(t, b)
	a = mustOpen(t, fsys, "/a", Options{MemtableSize: 1})
	defer mustClose(t, a)
	if a.seed != seed {
		t.Fatalf("seed %#x after reopen, was %#x", a.seed, seed)
	}
	if got, _ := a.Lookup(nil, []byte("x")); !slices.Equal(got, []uint64{0}) {
		t.Fatalf("Lookup(x) after reopen = %v", got)
	}
}

// settle waits until background work is done, nudging and retrying while a
// transient failure is being retried.
func settle(t testing.TB, x *Index) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := x.waitIdle()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("index did not recover: %v", err)
		}
		wake(x.flushCh)
		time.Sleep(time.Millisecond)
	}
}

// TestCreatedDirIsDurable opens an index in a directory whose parents do not
// exist yet; after Flush, a crash must not lose the directory chain.
func TestCreatedDirIsDurable(t *testing.T) {
	mem := fsx.NewMem()
	x := mustOpen(t, mem, "/data/index/ids", Options{MemtableSize: 4})
	defer mustClose(t, x)
	for seq := range uint64(6) {
		if err := x.Add(fmt.Appendf(nil, "id-%d", seq), seq); err != nil {
			t.Fatal(err)
		}
	}
	if err := x.Flush(); err != nil {
		t.Fatal(err)
	}
	y := mustOpen(t, mem.CrashClone(), "/data/index/ids", Options{MemtableSize: 4})
	defer mustClose(t, y)
	if c := y.Covered(); c != 6 {
		t.Fatalf("Covered() = %d after Flush and crash, want 6", c)
	}
}

// TestAddWaitsForSlowFlusher blocks the flusher's writes: Add must stop once
// maxQueuedMemtables memtables are queued, and continue when writes resume.
func TestAddWaitsForSlowFlusher(t *testing.T) {
	const memtableSize = 8
	release := make(chan struct{})
	blocking := fsx.InjectorFunc(func(op fsx.Op, path string) error {
		if op == fsx.OpCreate && strings.HasSuffix(path, ".tmp") {
			<-release
		}
		return nil
	})
	x := mustOpen(t, fsx.NewError(fsx.NewMem(), blocking), "/idx", Options{MemtableSize: memtableSize})
	defer mustClose(t, x)
	const n = 10 * memtableSize
	var added atomic.Uint64
	done := make(chan error, 1)
	go func() {
		for seq := range uint64(n) {
			if err := x.Add(fmt.Appendf(nil, "id-%d", seq), seq); err != nil {
				done <- err
				return
			}
			added.Store(seq + 1)
		}
		done <- nil
	}()
	// One memtable is being flushed (blocked), maxQueuedMemtables more
	// wait, and the Add that fills the next one does not return.
	stall := uint64((maxQueuedMemtables+1)*memtableSize - 1)
	deadline := time.Now().Add(10 * time.Second)
	for added.Load() < stall {
		if time.Now().After(deadline) {
			t.Fatalf("only %d ids added", added.Load())
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if got := added.Load(); got != stall {
		t.Fatalf("%d ids added while the flusher was blocked, want Add to wait after %d", got, stall)
	}
	if c := x.Covered(); c != stall+1 {
		t.Fatalf("Covered() = %d while Add waits, want %d (the id is recorded before the wait)", c, stall+1)
	}
	if got, err := x.Lookup(nil, []byte("id-3")); err != nil || !slices.Equal(got, []uint64{3}) {
		t.Fatalf("Lookup while Add waits = %v, %v", got, err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Add: %v", err)
	}
	mustIdle(t, x)
	if c := x.Covered(); c != n {
		t.Fatalf("Covered() = %d, want %d", c, n)
	}
}
