package local

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/verify"
)

func TestDiskFullRollsBackAndResumes(t *testing.T) {
	ctx := context.Background()
	mem := fsx.NewMem()
	full := fsx.NewDiskFull(1 << 40)
	fsys := fsx.NewError(mem, full)
	l := mustOpen(t, "/data", testOptions(fsys))
	acks := appendN(t, l, 0, 300, 30, true)

	full.SetFree(10_000) // a few batches' worth
	var diskFull error
	for i := 0; i < 100 && diskFull == nil; i++ {
		var s stele.Sealed
		err := l.Append(ctx, batchOf(t, event(1000+i, ""), event(2000+i, "")), &s)
		if err != nil {
			diskFull = err
			break
		}
		for k, e := range s.Events {
			acks = append(acks, acked{seq: e.Seq, id: string(s.ID(k)), leaf: e.LeafHash})
		}
	}
	if !errors.Is(diskFull, stele.ErrDiskFull) || !errors.Is(diskFull, syscall.ENOSPC) && !errors.Is(diskFull, stele.ErrDiskFull) {
		t.Fatalf("filling the disk gave %v, want ErrDiskFull", diskFull)
	}
	if err := l.Health(); err != nil {
		t.Fatalf("log unhealthy after a rolled-back write: %v", err)
	}
	// Nothing acknowledged was lost, and reads still work.
	for _, a := range acks {
		entry, err := l.Entry(ctx, a.seq)
		if err != nil || verify.LeafHash(entry) != a.leaf {
			t.Fatalf("acked seq %d after disk full: %v", a.seq, err)
		}
	}
	sizeAtFull := l.Size()
	// Still full: still refused, nothing appended.
	var s stele.Sealed
	if err := l.Append(ctx, batchOf(t, event(1, "")), &s); !errors.Is(err, stele.ErrDiskFull) {
		t.Fatalf("append on a full disk: %v", err)
	}
	if l.Size() != sizeAtFull {
		t.Fatalf("a refused append changed the size")
	}
	// Space returns: appends resume with no gap in seqs.
	full.Unlimited()
	more := appendN(t, l, 5000, 100, 25, false)
	if more[0].seq != sizeAtFull {
		t.Fatalf("first seq after space returned = %d, want %d", more[0].seq, sizeAtFull)
	}
	checkInvariants(t, l)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	verifyDir(t, mem, "/data")
	l = mustOpen(t, "/data", testOptions(mem))
	checkInvariants(t, l)
	l.Close()
}

func TestSyncErrorRollsBack(t *testing.T) {
	ctx := context.Background()
	mem := fsx.NewMem()
	// One failing fsync; the rollback's own fsync works.
	var armed atomic.Bool
	once := fsx.InjectorFunc(func(op fsx.Op, path string) error {
		if op == fsx.OpSync && strings.Contains(path, "segments/") && armed.CompareAndSwap(true, false) {
			return fsx.ErrInjected
		}
		return nil
	})
	l := mustOpen(t, "/data", testOptions(fsx.NewError(mem, once)))
	appendN(t, l, 0, 50, 10, false)
	armed.Store(true)
	var s stele.Sealed
	err := l.Append(ctx, batchOf(t, event(1, ""), event(2, "")), &s)
	if !errors.Is(err, stele.ErrUnavailable) {
		t.Fatalf("append with failing fsync: %v, want ErrUnavailable", err)
	}
	if l.Size() != 50 {
		t.Fatalf("size %d after a failed append, want 50", l.Size())
	}
	if err := l.Health(); err != nil {
		t.Fatalf("unhealthy after a rolled-back fsync error: %v", err)
	}
	more := appendN(t, l, 100, 10, 10, false)
	if more[0].seq != 50 {
		t.Fatalf("seq after recovery from a sync error = %d, want 50", more[0].seq)
	}
	checkInvariants(t, l)
	l.Close()
	verifyDir(t, mem, "/data")
}

func TestUnrecoverableWriteErrorStopsAppends(t *testing.T) {
	ctx := context.Background()
	mem := fsx.NewMem()
	syncs := fsx.OnOp(fsx.OpSync, "segments/", fsx.ErrInjected)
	truncs := fsx.OnOp(fsx.OpTruncate, "segments/", fsx.ErrInjected)
	syncs.Disable()
	truncs.Disable()
	l := mustOpen(t, "/data", testOptions(fsx.NewError(mem, fsx.Chain(syncs, truncs))))
	acks := appendN(t, l, 0, 40, 10, false)
	syncs.Enable()
	truncs.Enable()
	var s stele.Sealed
	if err := l.Append(ctx, batchOf(t, event(1, "")), &s); err == nil {
		t.Fatalf("append succeeded with failing fsync")
	}
	if err := l.Health(); !errors.Is(err, stele.ErrFailed) {
		t.Fatalf("Health after an unrecoverable error = %v, want ErrFailed", err)
	}
	syncs.Disable()
	truncs.Disable()
	if err := l.Append(ctx, batchOf(t, event(2, "")), &s); !errors.Is(err, stele.ErrFailed) {
		t.Fatalf("append on a failed log = %v, want ErrFailed", err)
	}
	for _, a := range acks { // reads keep working
		if e, err := l.Entry(ctx, a.seq); err != nil || verify.LeafHash(e) != a.leaf {
			t.Fatalf("read after failure: %v", err)
		}
	}
	l.Close()
	// A power loss now: only synced data survives. Everything acknowledged is there.
	l = mustOpen(t, "/data", testOptions(mem.CrashClone()))
	for _, a := range acks {
		if e, err := l.Entry(ctx, a.seq); err != nil || verify.LeafHash(e) != a.leaf {
			t.Fatalf("acked seq %d after restart: %v", a.seq, err)
		}
	}
	checkInvariants(t, l)
	l.Close()
}

// TestFaultSweep fails the n-th file-system operation of a fixed workload,
// for many n, then restarts on what a power loss would leave. Whatever
// failed, every acknowledged event must survive and the log must verify.
func TestFaultSweep(t *testing.T) {
	workload := func(fsys fsx.FS) (acks []acked, err error) {
		opts := testOptions(fsys)
		opts.SegmentSize = 12 << 10
		opts.IDMemtableSize = 50
		l, err := Open(context.Background(), "/data", opts)
		if err != nil {
			return nil, err
		}
		defer l.Close()
		for i := range 30 {
			var s stele.Sealed
			lines := []string{event(i, fmt.Sprintf("id-%d", i)), event(i+1000, "")}
			if err := l.Append(context.Background(), batchOf(t, lines...), &s); err != nil {
				return acks, err
			}
			for k, e := range s.Events {
				acks = append(acks, acked{seq: e.Seq, id: string(s.ID(k)), leaf: e.LeafHash})
			}
		}
		return acks, nil
	}
	// Count the operations of a clean run.
	counter := fsx.FailNth(1<<30, fsx.OpAny, "", fsx.ErrInjected)
	if _, err := workload(fsx.NewError(fsx.NewMem(), counter)); err != nil {
		t.Fatalf("clean run: %v", err)
	}
	total := counter.Count()
	step := max(1, total/150)
	if testing.Short() {
		step = max(1, total/30)
	}
	for n := 1; n <= total; n += step {
		mem := fsx.NewMem()
		acks, err := workload(fsx.NewError(mem, fsx.FailNth(n, fsx.OpAny, "", fsx.ErrInjected)))
		if err != nil && !errors.Is(err, fsx.ErrInjected) && !isExpectedAppendErr(err) {
			t.Fatalf("op %d: unexpected error kind: %v", n, err)
		}
		for _, crashed := range []*fsx.MemFS{mem.CrashClone(), mem} {
			l, err := Open(context.Background(), "/data", testOptions(crashed))
			if err != nil {
				t.Fatalf("op %d/%d failed (%v); restart failed: %v", n, total, err, err)
			}
			for _, a := range acks {
				e, err := l.Entry(context.Background(), a.seq)
				if err != nil || verify.LeafHash(e) != a.leaf {
					l.Close()
					t.Fatalf("op %d: acked seq %d lost after restart: %v", n, a.seq, err)
				}
			}
			appendN(t, l, 0, 3, 3, false)
			checkInvariants(t, l)
			l.Close()
		}
	}
}
