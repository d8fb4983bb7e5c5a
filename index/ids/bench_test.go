package ids

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stele-log/stele/internal/fsx"
)

// benchIDs is the size of the large benchmark index.
const benchIDs = 10_000_000

// fillID writes a 36-byte UUID-shaped id for n into buf, cheaply enough not
// to dominate an Add. prefix tells present ids ('0') from absent ones ('f').
func fillID(buf *[36]byte, prefix byte, n uint64) []byte {
	copy(buf[:], "0190a1b2-c3d4-7e5f-8a9b-000000000000")
	buf[0] = prefix
	const hex = "0123456789abcdef"
	for i := 35; i >= 24; i-- {
		buf[i] = hex[n&15]
		n >>= 4
	}
	buf[22] = hex[n&15] // ids beyond 2^48 vary here too
	return buf[:]
}

var benchFixture struct {
	once sync.Once
	dir  string
	err  error
}

// TestMain removes the large benchmark fixture, if one was built.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchFixture.dir != "" {
		os.RemoveAll(benchFixture.dir)
	}
	os.Exit(code)
}

// fixtureDir returns a directory holding a flushed, fully merged index of
// benchIDs ids, built once per test binary run.
func fixtureDir(b *testing.B) string {
	benchFixture.once.Do(func() {
		dir, err := os.MkdirTemp("", "ids-bench-")
		if err != nil {
			benchFixture.err = err
			return
		}
		benchFixture.dir = dir
		x, err := Open(fsx.OS(), dir, Options{})
		if err != nil {
			benchFixture.err = err
			return
		}
		var buf [36]byte
		for seq := range uint64(benchIDs) {
			if err := x.Add(fillID(&buf, '0', seq), seq); err != nil {
				benchFixture.err = err
				return
			}
		}
		if err := x.Flush(); err != nil {
			benchFixture.err = err
			return
		}
		if err := x.waitIdle(); err != nil {
			benchFixture.err = err
			return
		}
		benchFixture.err = x.Close()
	})
	if benchFixture.err != nil {
		b.Fatalf("building the %d-id fixture: %v", benchIDs, benchFixture.err)
	}
	return benchFixture.dir
}

// cpuClock measures the process's CPU time (user+system), which on a shared
// machine is a steadier cost measure than wall time.
func cpuClock() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// readCounter counts pread calls through an fsx.ErrorFS.
type readCounter struct{ reads atomic.Int64 }

func (c *readCounter) MaybeError(op fsx.Op, _ string) error {
	if op == fsx.OpRead {
		c.reads.Add(1)
	}
	return nil
}

func BenchmarkAdd(b *testing.B) {
	x := mustOpen(b, fsx.OS(), b.TempDir(), Options{})
	defer mustClose(b, x)
	var buf [36]byte
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuClock()
	for seq := range uint64(b.N) {
		if err := x.Add(fillID(&buf, '0', seq), seq); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := x.waitIdle(); err != nil {
		b.Fatal(err)
	}
	// Includes the background flushes and merges of the ids added.
	b.ReportMetric(float64(cpuClock()-cpu)/float64(b.N), "cpu-ns/op")
}

// benchLookup looks up ids from gen in the fixture index and reports disk
// reads per lookup.
func benchLookup(b *testing.B, prefix byte) {
	dir := fixtureDir(b)
	var counter readCounter
	x := mustOpen(b, fsx.NewError(fsx.OS(), &counter), dir, Options{})
	defer mustClose(b, x)
	if x.Covered() != benchIDs {
		b.Fatalf("fixture covers %d ids, want %d", x.Covered(), benchIDs)
	}
	var buf [36]byte
	// A running index has a partly full memtable; fill half of it (these
	// ids are not flushed, so the fixture stays as it is).
	for seq := uint64(benchIDs); seq < benchIDs+DefaultMemtableSize/2; seq++ {
		if err := x.Add(fillID(&buf, '1', seq), seq); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var dst []uint64
	counter.reads.Store(0)
	found := 0
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuClock()
	for range b.N {
		var err error
		dst, err = x.Lookup(dst[:0], fillID(&buf, prefix, rng.Uint64N(benchIDs)))
		if err != nil {
			b.Fatal(err)
		}
		found += len(dst)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuClock()-cpu)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(counter.reads.Load())/float64(b.N), "reads/op")
	b.ReportMetric(float64(found)/float64(b.N), "found/op")
	b.ReportMetric(float64(len(runCounts(x))), "runs")
}

// BenchmarkLookupAbsent10M is the common case of the idempotency check: an
// id that is not in a 10 M-id index.
func BenchmarkLookupAbsent10M(b *testing.B) { benchLookup(b, 'f') }

// BenchmarkLookupPresent10M looks up ids that are in the index: one pread
// of one block, from the page cache here.
func BenchmarkLookupPresent10M(b *testing.B) { benchLookup(b, '0') }

// BenchmarkOpen10M opens (and fully verifies) a 10 M-id index. It also
// reports the index's disk bytes per id and the heap the open index holds.
func BenchmarkOpen10M(b *testing.B) {
	dir := fixtureDir(b)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var heap uint64
	b.ResetTimer()
	for range b.N {
		x := mustOpen(b, fsx.OS(), dir, Options{})
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = after.HeapInuse - before.HeapInuse
		b.StartTimer()
		mustClose(b, x)
	}
	b.StopTimer()
	var size int64
	ents, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			size += fi.Size()
		}
	}
	b.ReportMetric(float64(size)/benchIDs, "disk-bytes/id")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
}

// BenchmarkHeap10M adds 10 M ids to a new index as fast as Add allows and
// reports the heap the index holds afterwards (runtime.MemStats.HeapInuse
// after a GC, minus the heap before), the process's resident set, and its
// peak resident set (VmHWM, over the whole test process). Run with
// -benchtime=1x.
func BenchmarkHeap10M(b *testing.B) {
	var heap uint64
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		x := mustOpen(b, fsx.OS(), b.TempDir(), Options{})
		var buf [36]byte
		for seq := range uint64(benchIDs) {
			if err := x.Add(fillID(&buf, '0', seq), seq); err != nil {
				b.Fatal(err)
			}
		}
		if err := x.waitIdle(); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = after.HeapInuse - before.HeapInuse
		mustClose(b, x)
	}
	b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
	b.ReportMetric(float64(procStatus("VmRSS:"))/(1<<20), "rss-MiB")
	b.ReportMetric(float64(procStatus("VmHWM:"))/(1<<20), "peak-rss-MiB")
}

// procStatus returns a size field of /proc/self/status in bytes, or 0.
func procStatus(field string) int64 {
	f, err := os.Open(filepath.Join("/proc", "self", "status"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// BenchmarkHash measures the seeded id hash on a 36-byte id.
func BenchmarkHash(b *testing.B) {
	var buf [36]byte
	id := fillID(&buf, '0', 12345)
	var sink uint64
	for range b.N {
		sink += hashID(0x1234, id)
	}
	if sink == 1 {
		fmt.Println(sink)
	}
}
