package ids

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stele-log/stele/internal/fsx"
)

// crashOpts makes small memtables so that a short workload flushes and
// merges many times, and retries failed background work quickly.
var crashOpts = Options{MemtableSize: 8, retryBackoff: time.Millisecond}

// crashWorkload is long enough for two levels of merges: 8·4·4 ids fill tier 2.
const crashWorkload = 8*4*4 + 8*4 + 5

func crashModel() *model {
	m := &model{}
	rng := rand.New(rand.NewPCG(42, 42))
	for range crashWorkload {
		m.add(genID(rng, m, 0.02))
	}
	return m
}

// runWorkload adds the model's ids, counting each Add in adds before it
// starts, then Flushes. It returns Flush's error.
func runWorkload(t testing.TB, x *Index, m *model, adds *atomic.Uint64) error {
	t.Helper()
	for seq, id := range m.ids {
		adds.Add(1)
		if err := x.Add(id, uint64(seq)); err != nil {
			t.Fatalf("Add(%d): %v", seq, err)
		}
	}
	return x.Flush()
}

// checkRecovered opens a crashed copy, checks that it is correct for
// [0, Covered()) with Covered() ≤ maxCovered, then replays the rest and
// checks again.
func checkRecovered(t *testing.T, fsys fsx.FS, m *model, maxCovered uint64, what string) {
	t.Helper()
	x, err := Open(fsys, "/idx", crashOpts)
	if err != nil {
		t.Fatalf("%s: Open after crash: %v", what, err)
	}
	defer mustClose(t, x)
	if c := x.Covered(); c > maxCovered {
		t.Fatalf("%s: Covered() = %d after crash, but only %d ids had been added", what, c, maxCovered)
	}
	checkIndex(t, x, m)
	addAll(t, x, m)
	checkIndex(t, x, m)
}

// TestCrashAtEveryPoint snapshots the durable state before every file
// operation of a workload with many flushes and merges, and opens each
// snapshot as a machine would find it after losing power there.
func TestCrashAtEveryPoint(t *testing.T) {
	for _, torn := range []bool{false, true} {
		t.Run(fmt.Sprintf("torn=%v", torn), func(t *testing.T) {
			m := crashModel()
			mem := fsx.NewMem()
			type snapshot struct {
				fs   *fsx.MemFS
				adds uint64
				op   string
			}
			var (
				mu    sync.Mutex
				snaps []snapshot
				adds  atomic.Uint64
				rng   = rand.New(rand.NewPCG(1, 2))
			)
			inj := fsx.InjectorFunc(func(op fsx.Op, path string) error {
				mu.Lock()
				defer mu.Unlock()
				clone := mem.CrashClone()
				if torn {
					clone = mem.CrashCloneTorn(rng)
				}
				// Read adds after cloning: it bounds what the clone holds.
				snaps = append(snaps, snapshot{clone, adds.Load(), op.String() + " " + path})
				return nil
			})
			x := mustOpen(t, fsx.NewError(mem, inj), "/idx", crashOpts)
			if err := runWorkload(t, x, m, &adds); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			settle(t, x)
			merged := 0
			for _, c := range runCounts(x) {
				if c > uint64(crashOpts.MemtableSize) {
					merged++
				}
			}
			if merged == 0 {
				t.Fatalf("workload did no merge: runs %v", runCounts(x))
			}
			mustClose(t, x)
			mu.Lock()
			defer mu.Unlock()
			renames := 0
			for _, s := range snaps {
				if strings.HasPrefix(s.op, "rename") {
					renames++
				}
			}
			t.Logf("%d crash points, %d of them renames", len(snaps), renames)
			for i, s := range snaps {
				checkRecovered(t, s.fs, m, s.adds, fmt.Sprintf("crash %d before %s", i, s.op))
			}
			// Flush returned, so nothing may be lost now.
			final, err := Open(mem.CrashClone(), "/idx", crashOpts)
			if err != nil {
				t.Fatalf("Open after Flush and crash: %v", err)
			}
			defer mustClose(t, final)
			if c := final.Covered(); c != crashWorkload {
				t.Fatalf("Covered() = %d after Flush and crash, want %d", c, crashWorkload)
			}
			checkIndex(t, final, m)
		})
	}
}

// countOps counts the file operations of the workload.
func countOps(t *testing.T, m *model) int {
	counter := fsx.FailNth(0, fsx.OpAny, "", nil)
	x := mustOpen(t, fsx.NewError(fsx.NewMem(), counter), "/idx", crashOpts)
	var adds atomic.Uint64
	if err := runWorkload(t, x, m, &adds); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	settle(t, x)
	mustClose(t, x)
	return counter.Count()
}

// TestStopAtEveryPoint models a machine that stops at the nth file operation
// (every operation from the nth on fails) and then loses power.
func TestStopAtEveryPoint(t *testing.T) {
	m := crashModel()
	total := countOps(t, m)
	for n := 1; n <= total+5; n++ {
		mem := fsx.NewMem()
		x, err := Open(fsx.NewError(mem, fsx.FailFrom(n, fsx.OpAny, "", fsx.ErrInjected)), "/idx", crashOpts)
		var adds atomic.Uint64
		if err == nil {
			runWorkload(t, x, m, &adds) // fails once the machine stops
			mustClose(t, x)
		} else if !errors.Is(err, fsx.ErrInjected) {
			t.Fatalf("stop at op %d: Open: %v", n, err)
		}
		checkRecovered(t, mem.CrashClone(), m, adds.Load(), fmt.Sprintf("stop at op %d", n))
	}
}

// TestFailEachOperationOnce fails one file operation at a time: the index
// must keep every id, retry, and end up complete and durable.
func TestFailEachOperationOnce(t *testing.T) {
	m := crashModel()
	total := countOps(t, m)
	for n := 1; n <= total+5; n++ {
		mem := fsx.NewMem()
		counter := fsx.FailNth(n, fsx.OpAny, "", fsx.ErrInjected)
		var armed atomic.Bool
		armed.Store(true)
		efs := fsx.NewError(mem, fsx.InjectorFunc(func(op fsx.Op, path string) error {
			if !armed.Load() {
				return nil
			}
			return counter.MaybeError(op, path)
		}))
		x, err := Open(efs, "/idx", crashOpts)
		if err != nil {
			if !errors.Is(err, fsx.ErrInjected) {
				t.Fatalf("fail op %d: Open: %v", n, err)
			}
			x = mustOpen(t, efs, "/idx", crashOpts) // the fault is spent
		}
		var adds atomic.Uint64
		if err := runWorkload(t, x, m, &adds); err != nil && !errors.Is(err, fsx.ErrInjected) {
			t.Fatalf("fail op %d: Flush: %v", n, err)
		}
		flushUntilOK(t, x)
		settle(t, x)
		armed.Store(false) // only the workload's operations are under test
		if err := x.Err(); err != nil {
			t.Fatalf("fail op %d: Err() = %v after recovery", n, err)
		}
		if c := x.Covered(); c != crashWorkload {
			t.Fatalf("fail op %d: Covered() = %d, want %d", n, c, crashWorkload)
		}
		checkIndex(t, x, m)
		mustClose(t, x)
		// Flush succeeded, so a crash now loses nothing.
		y := mustOpen(t, mem.CrashClone(), "/idx", crashOpts)
		if c := y.Covered(); c != crashWorkload {
			t.Fatalf("fail op %d: Covered() = %d after reopen, want %d", n, c, crashWorkload)
		}
		checkIndex(t, y, m)
		mustClose(t, y)
	}
}

func flushUntilOK(t testing.TB, x *Index) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := x.Flush()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Flush keeps failing: %v", err)
		}
	}
}

// TestDiskFullDuringFlush runs out of space under the flusher: Adds keep
// working, nothing is lost or left half-written, and the flush succeeds once
// space returns.
func TestDiskFullDuringFlush(t *testing.T) {
	mem := fsx.NewMem()
	disk := fsx.NewDiskFull(0)
	// No timed retries: a flush attempt runs only when Flush asks, so the
	// directory can be inspected between attempts.
	opts := Options{MemtableSize: 100, retryBackoff: time.Hour}
	x := mustOpen(t, fsx.NewError(mem, disk), "/idx", opts)
	m := &model{}
	rng := rand.New(rand.NewPCG(5, 5))
	add := func(n int) {
		for range n {
			seq := m.add(genID(rng, m, 0.01))
			if err := x.Add(m.ids[seq], seq); err != nil {
				t.Fatalf("Add(%d) while the disk is full: %v", seq, err)
			}
		}
	}
	add(350)
	err := x.Flush()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Flush on a full disk: %v, want ENOSPC", err)
	}
	if err := x.Err(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Err() on a full disk: %v, want ENOSPC", err)
	}
	add(250)
	if c := x.Covered(); c != 600 {
		t.Fatalf("Covered() = %d, want 600", c)
	}
	checkIndex(t, x, m)
	// Room for part of a run: the write is cut short and must not survive.
	disk.SetFree(blockSize + 100)
	if err := x.Flush(); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Flush with little space: %v, want ENOSPC", err)
	}
	for _, name := range listDir(t, mem, "/idx") {
		if name != lockName {
			t.Fatalf("file %s left behind by failed flushes", name)
		}
	}
	checkIndex(t, x, m)

	disk.Unlimited()
	flushUntilOK(t, x)
	settle(t, x)
	if err := x.Err(); err != nil {
		t.Fatalf("Err() after space returned: %v", err)
	}
	checkIndex(t, x, m)
	mustClose(t, x)
	y := mustOpen(t, mem.CrashClone(), "/idx", opts)
	defer mustClose(t, y)
	if c := y.Covered(); c != 600 {
		t.Fatalf("Covered() = %d after reopen, want 600", c)
	}
	checkIndex(t, y, m)
}

// TestMergeFailureKeepsInputs fails every merge write: the inputs stay live,
// Err reports it, and lookups stay correct; when writes work again the merge
// completes.
func TestMergeFailureKeepsInputs(t *testing.T) {
	mem := fsx.NewMem()
	// Merge outputs are the only runs larger than a memtable: fail writes to
	// files whose names end past seq 8 but begin at 0, i.e. [0, 32).
	sw := fsx.OnOp(fsx.OpCreate, runFileName(0, 32), fsx.ErrInjected)
	x := mustOpen(t, fsx.NewError(mem, sw), "/idx", crashOpts)
	defer func() { mustClose(t, x) }()
	m := &model{}
	rng := rand.New(rand.NewPCG(6, 6))
	for range 40 {
		seq := m.add(genID(rng, m, 0))
		if err := x.Add(m.ids[seq], seq); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for x.Err() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("merge did not fail")
		}
		time.Sleep(time.Millisecond)
	}
	if err := x.Err(); !errors.Is(err, fsx.ErrInjected) {
		t.Fatalf("Err() = %v, want the injected merge failure", err)
	}
	checkIndex(t, x, m)
	sw.Disable()
	settle(t, x)
	checkShape(t, x)
	checkIndex(t, x, m)
	if got := runCounts(x); got[0] != 32 {
		t.Fatalf("runs %v, want the merged [0, 32) first", got)
	}
}
