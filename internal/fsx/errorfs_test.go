package fsx

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
	"testing"
)

// TestErrorFSEveryOp checks that each Op reaches the injector from the
// methods that document it, and that the error names the op and the path.
func TestErrorFSEveryOp(t *testing.T) {
	const file = "/d/f"
	tests := []struct {
		op   Op
		path string
		call func(e *ErrorFS, f File) error
	}{
		{OpOpen, file, func(e *ErrorFS, _ File) error { _, err := e.OpenFile(file, os.O_RDONLY, 0); return err }},
		{OpCreate, "/d/g", func(e *ErrorFS, _ File) error { _, err := e.OpenFile("/d/g", os.O_RDWR|os.O_CREATE, 0o644); return err }},
		{OpRead, file, func(_ *ErrorFS, f File) error { _, err := f.Read(make([]byte, 1)); return err }},
		{OpRead, file, func(_ *ErrorFS, f File) error { _, err := f.ReadAt(make([]byte, 1), 0); return err }},
		{OpWrite, file, func(_ *ErrorFS, f File) error { _, err := f.Write([]byte("x")); return err }},
		{OpWrite, file, func(_ *ErrorFS, f File) error { _, err := f.WriteAt([]byte("x"), 0); return err }},
		{OpSync, file, func(_ *ErrorFS, f File) error { return f.Sync() }},
		{OpTruncate, file, func(_ *ErrorFS, f File) error { return f.Truncate(0) }},
		{OpStat, file, func(_ *ErrorFS, f File) error { _, err := f.Stat(); return err }},
		{OpStat, file, func(e *ErrorFS, _ File) error { _, err := e.Stat(file); return err }},
		{OpSyncDir, "/d", func(e *ErrorFS, _ File) error { return e.SyncDir("/d") }},
		{OpSyncAll, "/d", func(e *ErrorFS, _ File) error { return e.SyncAll("/d") }},
		{OpRename, file, func(e *ErrorFS, _ File) error { return e.Rename(file, "/d/h") }},
		{OpRemove, file, func(e *ErrorFS, _ File) error { return e.Remove(file) }},
		{OpMkdir, "/d/e", func(e *ErrorFS, _ File) error { return e.MkdirAll("/d/e", 0o755) }},
		{OpChmod, file, func(e *ErrorFS, _ File) error { return e.Chmod(file, 0o600) }},
		{OpReadDir, "/d", func(e *ErrorFS, _ File) error { _, err := e.ReadDir("/d"); return err }},
		{OpLock, "/d/LOCK", func(e *ErrorFS, _ File) error { _, err := e.Lock("/d/LOCK"); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.op.String(), func(t *testing.T) {
			m := durableBase(t)
			writeNew(t, m, file, "abc", true).Close()
			sw := OnOp(tc.op, "", ErrInjected)
			e := NewError(m, sw)
			sw.Disable()
			f, err := e.OpenFile(file, os.O_RDWR, 0)
			must(t, err)
			defer f.Close()
			sw.Enable()
			err = tc.call(e, f)
			var pe *fs.PathError
			if !errors.Is(err, ErrInjected) || !errors.As(err, &pe) || pe.Op != tc.op.String() || pe.Path != tc.path {
				t.Fatalf("err = %v, want *fs.PathError{%s %s} wrapping ErrInjected", err, tc.op, tc.path)
			}
			// The failed operation did not run.
			wantContent(t, m, file, "abc")
			sw.Disable()
			if err := tc.call(e, f); err != nil && errors.Is(err, ErrInjected) {
				t.Fatalf("disabled switch still injects: %v", err)
			}
		})
	}
}

func TestSwitchMatching(t *testing.T) {
	tests := []struct {
		name   string
		sw     *Switch
		op     Op
		path   string
		failed bool
	}{
		{"op and substring", OnOp(OpSync, "seg", ErrInjected), OpSync, "/d/seg-1", true},
		{"other op", OnOp(OpSync, "seg", ErrInjected), OpWrite, "/d/seg-1", false},
		{"other path", OnOp(OpSync, "seg", ErrInjected), OpSync, "/d/checkpoint", false},
		{"any op", OnOp(OpAny, "", ErrInjected), OpRename, "/x", true},
		{"disabled", OnOp(OpAny, "", ErrInjected).disabled(), OpRename, "/x", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.sw.MaybeError(tc.op, tc.path); (err != nil) != tc.failed {
				t.Fatalf("MaybeError(%s, %s) = %v, want failure %v", tc.op, tc.path, err, tc.failed)
			}
		})
	}
}

func TestCounter(t *testing.T) {
	tests := []struct {
		name string
		c    *Counter
		want string // per call: x = failed, . = ran
	}{
		{"FailNth 3", FailNth(3, OpWrite, "", ErrInjected), "..x..."},
		{"FailFrom 3", FailFrom(3, OpWrite, "", ErrInjected), "..xxxx"},
		{"FailNth 0 never", FailNth(0, OpWrite, "", ErrInjected), "......"},
		{"other op not counted", FailNth(1, OpSync, "", ErrInjected), "......"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := durableBase(t)
			e := NewError(m, tc.c)
			f, err := e.OpenFile("/d/f", os.O_RDWR|os.O_CREATE, 0o644)
			must(t, err)
			got := ""
			for range len(tc.want) {
				if _, err := f.Write([]byte("w")); err != nil {
					got += "x"
				} else {
					got += "."
				}
			}
			if got != tc.want {
				t.Fatalf("calls = %s, want %s", got, tc.want)
			}
			if tc.c.op == OpWrite && tc.c.Count() != len(tc.want) {
				t.Fatalf("Count = %d, want %d", tc.c.Count(), len(tc.want))
			}
		})
	}
}

func TestDiskFull(t *testing.T) {
	m := durableBase(t)
	quota := NewDiskFull(10)
	e := NewError(m, quota)
	f, err := e.OpenFile("/d/f", os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	must(t, err)
	g, err := e.OpenFile("/d/g", os.O_RDWR|os.O_CREATE, 0o644)
	must(t, err)

	if n, err := f.Write([]byte("1234567")); n != 7 || err != nil {
		t.Fatalf("write within budget = %d, %v", n, err)
	}
	// The budget is shared: g gets the last 3 bytes of "abcde".
	n, err := g.WriteAt([]byte("abcde"), 0)
	var pe *fs.PathError
	if n != 3 || !errors.Is(err, syscall.ENOSPC) || !errors.As(err, &pe) || pe.Op != "write" || pe.Path != "/d/g" {
		t.Fatalf("short WriteAt = %d, %v; want 3, write /d/g: ENOSPC", n, err)
	}
	wantContent(t, m, "/d/g", "abc")
	if n, err := f.Write([]byte("89")); n != 0 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on full disk = %d, %v", n, err)
	}
	// Truncating and syncing work on a full disk and cost nothing.
	must(t, g.Truncate(1))
	must(t, f.Sync())
	wantContent(t, m, "/d/f", "1234567")

	quota.SetFree(4)
	if n, err := f.Write([]byte("89")); n != 2 || err != nil {
		t.Fatalf("write after SetFree = %d, %v", n, err)
	}
	if n, err := f.Write([]byte("abc")); n != 2 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write beyond SetFree = %d, %v", n, err)
	}
	wantContent(t, m, "/d/f", "123456789ab")
	quota.Unlimited()
	big := make([]byte, 1<<16)
	if n, err := f.Write(big); n != len(big) || err != nil {
		t.Fatalf("write when unlimited = %d, %v", n, err)
	}
}

func TestChain(t *testing.T) {
	m := durableBase(t)
	quota := NewDiskFull(2)
	sw := OnOp(OpSync, "", ErrInjected)
	e := NewError(m, Chain(sw, quota, InjectorFunc(func(op Op, path string) error {
		if op == OpRemove {
			return syscall.EIO
		}
		return nil
	})))
	f, err := e.OpenFile("/d/f", os.O_RDWR|os.O_CREATE, 0o644)
	must(t, err)
	if n, err := f.Write([]byte("abc")); n != 2 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("chained quota: %d, %v", n, err)
	}
	if err := f.Sync(); !errors.Is(err, ErrInjected) {
		t.Fatalf("chained switch: %v", err)
	}
	if err := e.Remove("/d/f"); !errors.Is(err, syscall.EIO) {
		t.Fatalf("chained func: %v", err)
	}
	if _, err := e.Stat("/d/f"); err != nil {
		t.Fatalf("nothing in the chain fails Stat: %v", err)
	}
}

// TestErrorFSShortWriteWithoutReason covers a WriteLimiter that shortens a
// write without giving an error: the caller still learns it was short.
func TestErrorFSShortWriteWithoutReason(t *testing.T) {
	m := durableBase(t)
	e := NewError(m, halfWriter{})
	f, err := e.OpenFile("/d/f", os.O_RDWR|os.O_CREATE, 0o644)
	must(t, err)
	if n, err := f.Write([]byte("abcd")); n != 2 || !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("Write = %d, %v; want 2, io.ErrShortWrite", n, err)
	}
	wantContent(t, m, "/d/f", "ab")
}

type halfWriter struct{}

func (halfWriter) MaybeError(Op, string) error             { return nil }
func (halfWriter) LimitWrite(_ string, n int) (int, error) { return n / 2, nil }
