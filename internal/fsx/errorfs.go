package fsx

import (
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// ErrInjected is the error tests usually hand to an injector. Code under test
// should treat it like any other I/O error.
var ErrInjected = errors.New("fsx: injected error")

// Op names an FS or File operation that an Injector can fail.
type Op int

// The operations ErrorFS asks its Injector about. OpAny is never asked about;
// the ready-made injectors use it to match every operation.
const (
	OpAny      Op = iota
	OpOpen        // OpenFile without O_CREATE
	OpCreate      // OpenFile with O_CREATE
	OpRead        // File.Read, File.ReadAt
	OpWrite       // File.Write, File.WriteAt
	OpSync        // File.Sync
	OpSyncDir     // FS.SyncDir
	OpSyncAll     // FS.SyncAll
	OpRename      // FS.Rename; the path is the old name
	OpRemove      // FS.Remove
	OpTruncate    // File.Truncate
	OpMkdir       // FS.MkdirAll
	OpChmod       // FS.Chmod
	OpStat        // FS.Stat, File.Stat
	OpReadDir     // FS.ReadDir
	OpLock        // FS.Lock
)

var opNames = [...]string{"any", "open", "create", "read", "write", "sync", "syncdir",
	"syncall", "rename", "remove", "truncate", "mkdir", "chmod", "stat", "readdir", "lock"}

func (op Op) String() string {
	if op < 0 || int(op) >= len(opNames) {
		return "op(?)"
	}
	return opNames[op]
}

// Injector decides which operations fail.
type Injector interface {
	// MaybeError is called before op runs on path. A non-nil error fails the
	// operation without running it; ErrorFS wraps the error in a
	// *fs.PathError naming op and path.
	MaybeError(op Op, path string) error
}

// WriteLimiter is an Injector that can also cut writes short.
type WriteLimiter interface {
	Injector
	// LimitWrite is called before n bytes are written to path, after
	// MaybeError allowed the write. It returns how many bytes to write; if
	// fewer than n, those bytes are written and err (wrapped in a
	// *fs.PathError) is returned with the short count.
	LimitWrite(path string, n int) (allowed int, err error)
}

// InjectorFunc adapts a function to Injector.
type InjectorFunc func(op Op, path string) error

// MaybeError calls fn.
func (fn InjectorFunc) MaybeError(op Op, path string) error { return fn(op, path) }

// ErrorFS wraps an FS and fails the operations its Injector picks.
type ErrorFS struct {
	inner FS
	inj   Injector
}

// NewError returns an FS that asks inj before every operation on inner.
func NewError(inner FS, inj Injector) *ErrorFS { return &ErrorFS{inner: inner, inj: inj} }

func (e *ErrorFS) check(op Op, path string) error {
	if err := e.inj.MaybeError(op, path); err != nil {
		return pathErr(op.String(), path, err)
	}
	return nil
}

// OpenFile asks about OpCreate if flag has O_CREATE, else OpOpen.
func (e *ErrorFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	op := OpOpen
	if flag&os.O_CREATE != 0 {
		op = OpCreate
	}
	if err := e.check(op, name); err != nil {
		return nil, err
	}
	f, err := e.inner.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &errorFile{File: f, fs: e}, nil
}

func (e *ErrorFS) Rename(oldname, newname string) error {
	if err := e.check(OpRename, oldname); err != nil {
		return err
	}
	return e.inner.Rename(oldname, newname)
}

func (e *ErrorFS) Remove(name string) error {
	if err := e.check(OpRemove, name); err != nil {
		return err
	}
	return e.inner.Remove(name)
}

func (e *ErrorFS) MkdirAll(dir string, perm os.FileMode) error {
	if err := e.check(OpMkdir, dir); err != nil {
		return err
	}
	return e.inner.MkdirAll(dir, perm)
}

func (e *ErrorFS) ReadDir(dir string) ([]os.DirEntry, error) {
	if err := e.check(OpReadDir, dir); err != nil {
		return nil, err
	}
	return e.inner.ReadDir(dir)
}

func (e *ErrorFS) Stat(name string) (os.FileInfo, error) {
	if err := e.check(OpStat, name); err != nil {
		return nil, err
	}
	return e.inner.Stat(name)
}

func (e *ErrorFS) Chmod(name string, mode os.FileMode) error {
	if err := e.check(OpChmod, name); err != nil {
		return err
	}
	return e.inner.Chmod(name, mode)
}

func (e *ErrorFS) SyncDir(dir string) error {
	if err := e.check(OpSyncDir, dir); err != nil {
		return err
	}
	return e.inner.SyncDir(dir)
}

func (e *ErrorFS) SyncAll(dir string) error {
	if err := e.check(OpSyncAll, dir); err != nil {
		return err
	}
	return e.inner.SyncAll(dir)
}

func (e *ErrorFS) Lock(name string) (io.Closer, error) {
	if err := e.check(OpLock, name); err != nil {
		return nil, err
	}
	return e.inner.Lock(name)
}

type errorFile struct {
	File
	fs *ErrorFS
}

func (f *errorFile) Read(p []byte) (int, error) {
	if err := f.fs.check(OpRead, f.Name()); err != nil {
		return 0, err
	}
	return f.File.Read(p)
}

func (f *errorFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.fs.check(OpRead, f.Name()); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f *errorFile) Write(p []byte) (int, error) {
	return f.write(p, func(b []byte) (int, error) { return f.File.Write(b) })
}

func (f *errorFile) WriteAt(p []byte, off int64) (int, error) {
	return f.write(p, func(b []byte) (int, error) { return f.File.WriteAt(b, off) })
}

// write lets the injector fail or shorten a write; the bytes that fit really
// land, as with a disk that fills up mid-write.
func (f *errorFile) write(p []byte, do func([]byte) (int, error)) (int, error) {
	if err := f.fs.check(OpWrite, f.Name()); err != nil {
		return 0, err
	}
	lim, ok := f.fs.inj.(WriteLimiter)
	if !ok {
		return do(p)
	}
	allowed, limErr := lim.LimitWrite(f.Name(), len(p))
	if allowed >= len(p) {
		return do(p)
	}
	written, err := do(p[:max(allowed, 0)])
	if err != nil {
		return written, err
	}
	if limErr == nil {
		limErr = io.ErrShortWrite
	}
	return written, pathErr(OpWrite.String(), f.Name(), limErr)
}

func (f *errorFile) Sync() error {
	if err := f.fs.check(OpSync, f.Name()); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f *errorFile) Truncate(size int64) error {
	if err := f.fs.check(OpTruncate, f.Name()); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f *errorFile) Stat() (os.FileInfo, error) {
	if err := f.fs.check(OpStat, f.Name()); err != nil {
		return nil, err
	}
	return f.File.Stat()
}

// matches reports whether an injector aimed at (want, substr) covers op on path.
func matches(want Op, substr string, op Op, path string) bool {
	return (want == OpAny || want == op) && strings.Contains(path, substr)
}

// Switch fails every matching operation while enabled.
type Switch struct {
	op     Op
	substr string
	err    error
	off    atomic.Bool
}

// OnOp returns an enabled Switch that fails op (OpAny: every op) on every
// path containing pathSubstring with err.
func OnOp(op Op, pathSubstring string, err error) *Switch {
	return &Switch{op: op, substr: pathSubstring, err: err}
}

// Enable turns the injection on.
func (s *Switch) Enable() { s.off.Store(false) }

// Disable turns the injection off.
func (s *Switch) Disable() { s.off.Store(true) }

// MaybeError implements Injector.
func (s *Switch) MaybeError(op Op, path string) error {
	if !s.off.Load() && matches(s.op, s.substr, op, path) {
		return s.err
	}
	return nil
}

// Counter fails the nth matching operation, and with FailFrom every later
// one too. Sweeping n from 1 to the count of a clean run visits every fault
// point of a code path.
type Counter struct {
	op     Op
	substr string
	err    error
	nth    int
	sticky bool

	mu   sync.Mutex
	seen int
}

// FailNth returns a Counter that fails only the nth (from 1) matching
// operation with err. With n <= 0 it fails nothing, which lets a dry run
// count the fault points.
func FailNth(n int, op Op, pathSubstring string, err error) *Counter {
	return &Counter{op: op, substr: pathSubstring, err: err, nth: n}
}

// FailFrom returns a Counter that fails the nth matching operation and every
// later one, which models a machine that stops (crashes) at that point.
func FailFrom(n int, op Op, pathSubstring string, err error) *Counter {
	return &Counter{op: op, substr: pathSubstring, err: err, nth: n, sticky: true}
}

// Count returns how many matching operations have been seen, failed or not.
func (c *Counter) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen
}

// MaybeError implements Injector.
func (c *Counter) MaybeError(op Op, path string) error {
	if !matches(c.op, c.substr, op, path) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen++
	if c.nth > 0 && (c.seen == c.nth || c.sticky && c.seen > c.nth) {
		return c.err
	}
	return nil
}

// DiskFull is a byte budget shared by every write through the ErrorFS (or
// several ErrorFSs) it is given to. Every byte written counts, even one that
// overwrites an existing byte; truncating or removing gives nothing back.
type DiskFull struct {
	mu        sync.Mutex
	free      int64
	unlimited bool
}

// NewDiskFull returns a budget of free bytes.
func NewDiskFull(free int64) *DiskFull { return &DiskFull{free: free} }

// SetFree sets the remaining budget to n bytes.
func (d *DiskFull) SetFree(n int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.free, d.unlimited = n, false
}

// Unlimited removes the budget until the next SetFree.
func (d *DiskFull) Unlimited() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unlimited = true
}

// MaybeError implements Injector; DiskFull fails nothing but writes.
func (d *DiskFull) MaybeError(Op, string) error { return nil }

// LimitWrite implements WriteLimiter: it spends what fits and reports ENOSPC
// for the rest.
func (d *DiskFull) LimitWrite(_ string, n int) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.unlimited || int64(n) <= d.free {
		if !d.unlimited {
			d.free -= int64(n)
		}
		return n, nil
	}
	fit := int(max(d.free, 0))
	d.free -= int64(fit)
	return fit, syscall.ENOSPC
}

// Chain combines injectors: an operation fails with the first error any of
// them returns, and a write is limited by the smallest allowance of those
// that are WriteLimiters. Each limiter is charged for what it allowed, not
// for what was written, so chain at most one DiskFull.
func Chain(injs ...Injector) WriteLimiter { return chain(injs) }

type chain []Injector

func (c chain) MaybeError(op Op, path string) error {
	for _, inj := range c {
		if err := inj.MaybeError(op, path); err != nil {
			return err
		}
	}
	return nil
}

func (c chain) LimitWrite(path string, n int) (int, error) {
	allowed, firstErr := n, error(nil)
	for _, inj := range c {
		if lim, ok := inj.(WriteLimiter); ok {
			a, err := lim.LimitWrite(path, n)
			if a < allowed {
				allowed, firstErr = a, err
			}
		}
	}
	return allowed, firstErr
}
