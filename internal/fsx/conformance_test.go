package fsx

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
)

// conformanceCase is one behaviour every FS must share with the real thing.
// dir is an empty, writable directory on fsys.
type conformanceCase struct {
	name string
	// perms marks cases that rely on permission bits, which root bypasses on
	// a real file system (MemFS always enforces them).
	perms bool
	run   func(t *testing.T, fsys FS, dir string)
}

// TestConformance runs the same suite on the operating system and on MemFS,
// so that MemFS behaves like the real thing wherever a real FS defines the
// behaviour. Crash behaviour is MemFS-only and tested in memfs_test.go.
func TestConformance(t *testing.T) {
	impls := []struct {
		name   string
		newEnv func(t *testing.T) (FS, string)
	}{
		{"os", func(t *testing.T) (FS, string) { return OS(), t.TempDir() }},
		{"mem", func(t *testing.T) (FS, string) {
			m := NewMem()
			if err := m.MkdirAll("/tmp/test", 0o755); err != nil {
				t.Fatal(err)
			}
			return m, "/tmp/test"
		}},
		{"error-passthrough", func(t *testing.T) (FS, string) {
			return NewError(OS(), OnOp(OpAny, "", ErrInjected).disabled()), t.TempDir()
		}},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			for _, tc := range conformanceCases {
				t.Run(tc.name, func(t *testing.T) {
					fsys, dir := impl.newEnv(t)
					if tc.perms && impl.name != "mem" && os.Geteuid() == 0 {
						t.Skip("root bypasses permission bits on a real file system")
					}
					tc.run(t, fsys, dir)
				})
			}
		})
	}
}

func (s *Switch) disabled() *Switch { s.Disable(); return s }

// create writes data to a new file and closes it.
func create(t *testing.T, fsys FS, name, data string) {
	t.Helper()
	f, err := fsys.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatalf("write %s: %v", name, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close %s: %v", name, err)
	}
}

func wantContent(t *testing.T, fsys FS, name, want string) {
	t.Helper()
	got, err := ReadFile(fsys, name)
	if err != nil {
		t.Fatalf("ReadFile %s: %v", name, err)
	}
	if string(got) != want {
		t.Fatalf("%s = %q, want %q", name, got, want)
	}
}

func wantErrIs(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

func openT(t *testing.T, fsys FS, name string, flag int) File {
	t.Helper()
	f, err := fsys.OpenFile(name, flag, 0o644)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

var conformanceCases = []conformanceCase{
	{name: "write read stat", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		create(t, fsys, name, "hello")
		wantContent(t, fsys, name, "hello")
		fi, err := fsys.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Name() != "f" || fi.Size() != 5 || fi.IsDir() || fi.Mode() != 0o644 {
			t.Fatalf("Stat = %q size %d dir %v mode %v", fi.Name(), fi.Size(), fi.IsDir(), fi.Mode())
		}
		f := openT(t, fsys, name, os.O_RDONLY)
		if f.Name() != name {
			t.Fatalf("Name() = %q, want %q", f.Name(), name)
		}
		fi, err = f.Stat()
		if err != nil || fi.Size() != 5 || fi.Name() != "f" {
			t.Fatalf("File.Stat = %v, %v", fi, err)
		}
	}},
	{name: "read at EOF", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		create(t, fsys, name, "abc")
		f := openT(t, fsys, name, os.O_RDONLY)
		buf := make([]byte, 8)
		if n, err := f.Read(buf); n != 3 || err != nil {
			t.Fatalf("first Read = %d, %v", n, err)
		}
		if n, err := f.Read(buf); n != 0 || err != io.EOF {
			t.Fatalf("Read at EOF = %d, %v; want 0, io.EOF", n, err)
		}
		if n, err := f.Read(nil); n != 0 || err != nil {
			t.Fatalf("empty Read = %d, %v; want 0, nil", n, err)
		}
		if n, err := f.ReadAt(buf[:2], 1); n != 2 || err != nil || string(buf[:2]) != "bc" {
			t.Fatalf("ReadAt inside = %d, %v, %q", n, err, buf[:2])
		}
		if n, err := f.ReadAt(buf, 1); n != 2 || err != io.EOF {
			t.Fatalf("ReadAt across EOF = %d, %v; want 2, io.EOF", n, err)
		}
		if n, err := f.ReadAt(buf, 10); n != 0 || err != io.EOF {
			t.Fatalf("ReadAt past EOF = %d, %v; want 0, io.EOF", n, err)
		}
		if _, err := f.ReadAt(buf, -1); err == nil {
			t.Fatal("ReadAt at negative offset succeeded")
		}
	}},
	{name: "write at past EOF zero-fills", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		f := openT(t, fsys, name, os.O_RDWR|os.O_CREATE)
		if _, err := f.WriteAt([]byte("xy"), 4); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte("a"), 0); err != nil {
			t.Fatal(err)
		}
		wantContent(t, fsys, name, "a\x00\x00\x00xy")
		// WriteAt leaves the offset alone; Write continues from it.
		if _, err := f.Write([]byte("bc")); err != nil {
			t.Fatal(err)
		}
		wantContent(t, fsys, name, "bc\x00\x00xy")
	}},
	{name: "append", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		create(t, fsys, name, "abc")
		f := openT(t, fsys, name, os.O_WRONLY|os.O_APPEND)
		if _, err := f.Write([]byte("de")); err != nil {
			t.Fatal(err)
		}
		g := openT(t, fsys, name, os.O_WRONLY)
		if _, err := g.WriteAt([]byte("XYZ"), 5); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("f")); err != nil {
			t.Fatal(err)
		}
		wantContent(t, fsys, name, "abcdeXYZf")
		if _, err := f.WriteAt([]byte("q"), 0); err == nil {
			t.Fatal("WriteAt on an O_APPEND file succeeded")
		}
	}},
	{name: "truncate", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		create(t, fsys, name, "abcdef")
		f := openT(t, fsys, name, os.O_RDWR)
		if err := f.Truncate(2); err != nil {
			t.Fatal(err)
		}
		wantContent(t, fsys, name, "ab")
		if err := f.Truncate(4); err != nil {
			t.Fatal(err)
		}
		wantContent(t, fsys, name, "ab\x00\x00")
		wantErrIs(t, "negative Truncate", f.Truncate(-1), syscall.EINVAL)
		r := openT(t, fsys, name, os.O_RDONLY)
		wantErrIs(t, "Truncate on read-only handle", r.Truncate(0), syscall.EINVAL)
	}},
	{name: "O_TRUNC", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		create(t, fsys, name, "abcdef")
		f := openT(t, fsys, name, os.O_WRONLY|os.O_TRUNC)
		if _, err := f.Write([]byte("x")); err != nil {
			t.Fatal(err)
		}
		wantContent(t, fsys, name, "x")
	}},
	{name: "O_EXCL", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		create(t, fsys, name, "a")
		_, err := fsys.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		wantErrIs(t, "O_EXCL on existing", err, fs.ErrExist)
		var pe *fs.PathError
		if !errors.As(err, &pe) || pe.Path != name {
			t.Fatalf("O_EXCL error %#v is not a *fs.PathError for %s", err, name)
		}
		f := openT(t, fsys, name, os.O_RDWR|os.O_CREATE)
		if _, err := f.Write([]byte("b")); err != nil {
			t.Fatal(err)
		}
		wantContent(t, fsys, name, "b")
	}},
	{name: "missing", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "nope")
		_, err := fsys.OpenFile(name, os.O_RDONLY, 0)
		wantErrIs(t, "open missing", err, fs.ErrNotExist)
		_, err = fsys.OpenFile(filepath.Join(dir, "nodir", "f"), os.O_RDWR|os.O_CREATE, 0o644)
		wantErrIs(t, "create in missing dir", err, fs.ErrNotExist)
		_, err = fsys.Stat(name)
		wantErrIs(t, "Stat missing", err, fs.ErrNotExist)
		wantErrIs(t, "Remove missing", fsys.Remove(name), fs.ErrNotExist)
		wantErrIs(t, "Rename missing", fsys.Rename(name, name+"2"), fs.ErrNotExist)
		_, err = fsys.ReadDir(name)
		wantErrIs(t, "ReadDir missing", err, fs.ErrNotExist)
		wantErrIs(t, "Chmod missing", fsys.Chmod(name, 0o600), fs.ErrNotExist)
		wantErrIs(t, "SyncDir missing", fsys.SyncDir(name), fs.ErrNotExist)
		wantErrIs(t, "SyncAll missing", fsys.SyncAll(name), fs.ErrNotExist)
		_, err = ReadFile(fsys, name)
		wantErrIs(t, "ReadFile missing", err, fs.ErrNotExist)
	}},
	{name: "not a directory", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		create(t, fsys, name, "a")
		_, err := fsys.OpenFile(filepath.Join(name, "g"), os.O_RDWR|os.O_CREATE, 0o644)
		wantErrIs(t, "create under a file", err, syscall.ENOTDIR)
		wantErrIs(t, "MkdirAll over a file", fsys.MkdirAll(filepath.Join(name, "d"), 0o755), syscall.ENOTDIR)
		_, err = fsys.ReadDir(name)
		wantErrIs(t, "ReadDir of a file", err, syscall.ENOTDIR)
	}},
	{name: "handle access modes", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		create(t, fsys, name, "abc")
		r := openT(t, fsys, name, os.O_RDONLY)
		if _, err := r.Write([]byte("x")); err == nil {
			t.Fatal("Write on read-only handle succeeded")
		}
		w := openT(t, fsys, name, os.O_WRONLY)
		if _, err := w.Read(make([]byte, 1)); err == nil {
			t.Fatal("Read on write-only handle succeeded")
		}
		// fsync works on any handle.
		if err := r.Sync(); err != nil {
			t.Fatalf("Sync on read-only handle: %v", err)
		}
	}},
	{name: "closed handle", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		f, err := fsys.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		_, err = f.Write([]byte("x"))
		wantErrIs(t, "Write after Close", err, os.ErrClosed)
		_, err = f.Read(make([]byte, 1))
		wantErrIs(t, "Read after Close", err, os.ErrClosed)
		wantErrIs(t, "Sync after Close", f.Sync(), os.ErrClosed)
		wantErrIs(t, "second Close", f.Close(), os.ErrClosed)
	}},
	{name: "directories", run: func(t *testing.T, fsys FS, dir string) {
		sub := filepath.Join(dir, "a", "b")
		if err := fsys.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := fsys.MkdirAll(sub, 0o755); err != nil {
			t.Fatalf("MkdirAll of existing dir: %v", err)
		}
		create(t, fsys, filepath.Join(dir, "a", "z"), "")
		create(t, fsys, filepath.Join(dir, "a", "c"), "12")
		entries, err := fsys.ReadDir(filepath.Join(dir, "a"))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range entries {
			s := e.Name()
			if e.IsDir() {
				s += "/"
			}
			got = append(got, s)
		}
		if want := []string{"b/", "c", "z"}; !slices.Equal(got, want) {
			t.Fatalf("ReadDir = %q, want %q", got, want)
		}
		fi, err := fsys.Stat(sub)
		if err != nil || !fi.IsDir() || fi.Mode() != fs.ModeDir|0o755 || fi.Name() != "b" {
			t.Fatalf("Stat dir = %v, %v", fi, err)
		}
		d := openT(t, fsys, sub, os.O_RDONLY)
		if _, err := d.Read(make([]byte, 1)); err == nil {
			t.Fatal("Read of a directory succeeded")
		}
		if err := d.Sync(); err != nil {
			t.Fatalf("Sync of a directory handle: %v", err)
		}
		_, err = fsys.OpenFile(sub, os.O_RDWR, 0)
		wantErrIs(t, "open dir for writing", err, syscall.EISDIR)
		wantErrIs(t, "Remove non-empty dir", fsys.Remove(filepath.Join(dir, "a")), syscall.ENOTEMPTY)
		if err := fsys.Remove(sub); err != nil {
			t.Fatalf("Remove empty dir: %v", err)
		}
		if err := fsys.SyncDir(dir); err != nil {
			t.Fatal(err)
		}
		if err := fsys.SyncAll(dir); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "rename", run: func(t *testing.T, fsys FS, dir string) {
		a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		create(t, fsys, a, "new")
		create(t, fsys, b, "old")
		held := openT(t, fsys, b, os.O_RDONLY)
		if err := fsys.Rename(a, b); err != nil {
			t.Fatal(err)
		}
		wantContent(t, fsys, b, "new")
		if _, err := fsys.Stat(a); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Stat of renamed-away name: %v", err)
		}
		// An open handle keeps the replaced inode.
		buf := make([]byte, 3)
		if _, err := held.ReadAt(buf, 0); err != nil || string(buf) != "old" {
			t.Fatalf("held handle reads %q, %v", buf, err)
		}
		if err := fsys.Rename(b, b); err != nil {
			t.Fatalf("Rename onto itself: %v", err)
		}
		sub := filepath.Join(dir, "sub")
		if err := fsys.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		wantErrIs(t, "Rename onto a dir", fsys.Rename(b, sub), syscall.EEXIST)
		wantErrIs(t, "Rename dir onto a file", fsys.Rename(sub, b), syscall.ENOTDIR)
		wantErrIs(t, "Rename dir into itself", fsys.Rename(sub, filepath.Join(sub, "x")), syscall.EINVAL)
		if err := fsys.Rename(b, filepath.Join(sub, "b")); err != nil {
			t.Fatal(err)
		}
		wantContent(t, fsys, filepath.Join(sub, "b"), "new")
	}},
	{name: "remove open file", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		f := openT(t, fsys, name, os.O_RDWR|os.O_CREATE)
		if err := fsys.Remove(name); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("still")); err != nil {
			t.Fatalf("Write to unlinked file: %v", err)
		}
		if _, err := fsys.Stat(name); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Stat after Remove: %v", err)
		}
	}},
	{name: "chmod", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		create(t, fsys, name, "a")
		if err := fsys.Chmod(name, 0o444); err != nil {
			t.Fatal(err)
		}
		fi, err := fsys.Stat(name)
		if err != nil || fi.Mode() != 0o444 {
			t.Fatalf("Stat after Chmod = %v, %v", fi, err)
		}
		wantContent(t, fsys, name, "a")
	}},
	{name: "read-only file refuses writers", perms: true, run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		create(t, fsys, name, "a")
		if err := fsys.Chmod(name, 0o444); err != nil {
			t.Fatal(err)
		}
		for _, flag := range []int{os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_APPEND, os.O_RDONLY | os.O_TRUNC} {
			_, err := fsys.OpenFile(name, flag, 0)
			wantErrIs(t, "open 0444 for writing", err, fs.ErrPermission)
		}
		if _, err := fsys.Lock(name); !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("Lock on 0444 file: %v", err)
		}
		wantContent(t, fsys, name, "a")
		// Unlinking needs write permission on the directory only.
		if err := fsys.Remove(name); err != nil {
			t.Fatal(err)
		}
	}},
	{name: "new read-only file is writable through its creating handle", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		f := openT(t, fsys, name, os.O_RDWR|os.O_CREATE|os.O_EXCL)
		if err := fsys.Chmod(name, 0o444); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("ok")); err != nil {
			t.Fatalf("Write through creating handle: %v", err)
		}
		wantContent(t, fsys, name, "ok")
	}},
	{name: "read-only directory refuses entries", perms: true, run: func(t *testing.T, fsys FS, dir string) {
		sub := filepath.Join(dir, "ro")
		if err := fsys.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		create(t, fsys, filepath.Join(sub, "f"), "a")
		if err := fsys.Chmod(sub, 0o555); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { fsys.Chmod(sub, 0o755) })
		_, err := fsys.OpenFile(filepath.Join(sub, "g"), os.O_RDWR|os.O_CREATE, 0o644)
		wantErrIs(t, "create in 0555 dir", err, fs.ErrPermission)
		wantErrIs(t, "remove in 0555 dir", fsys.Remove(filepath.Join(sub, "f")), fs.ErrPermission)
		wantErrIs(t, "rename out of 0555 dir", fsys.Rename(filepath.Join(sub, "f"), filepath.Join(dir, "f")), fs.ErrPermission)
		wantErrIs(t, "mkdir in 0555 dir", fsys.MkdirAll(filepath.Join(sub, "d"), 0o755), fs.ErrPermission)
	}},
	{name: "lock", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "LOCK")
		l1, err := fsys.Lock(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fsys.Stat(name); err != nil {
			t.Fatalf("Lock did not create its file: %v", err)
		}
		_, err = fsys.Lock(name)
		wantErrIs(t, "second Lock", err, ErrLocked)
		if err := l1.Close(); err != nil {
			t.Fatal(err)
		}
		l2, err := fsys.Lock(name)
		if err != nil {
			t.Fatalf("Lock after release: %v", err)
		}
		l2.Close()
		_, err = fsys.Lock(filepath.Join(dir, "nodir", "LOCK"))
		wantErrIs(t, "Lock in missing dir", err, fs.ErrNotExist)
	}},
	{name: "WriteFileAtomic", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		if err := WriteFileAtomic(fsys, name, []byte("one"), 0o644); err != nil {
			t.Fatal(err)
		}
		wantContent(t, fsys, name, "one")
		if err := WriteFileAtomic(fsys, name, []byte("two"), 0o444); err != nil {
			t.Fatal(err)
		}
		wantContent(t, fsys, name, "two")
		if _, err := fsys.Stat(name + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("temporary left behind: %v", err)
		}
		// A read-only temporary left by a crashed attempt must not wedge
		// later attempts.
		create(t, fsys, name+".tmp", "junk")
		if err := fsys.Chmod(name+".tmp", 0o444); err != nil {
			t.Fatal(err)
		}
		if err := WriteFileAtomic(fsys, name, []byte("three"), 0o444); err != nil {
			t.Fatal(err)
		}
		wantContent(t, fsys, name, "three")
		wantContent(t, fsys, filepath.Join(dir, "f"), "three")
		if got, err := ReadFile(fsys, name); err != nil || !bytes.Equal(got, []byte("three")) {
			t.Fatalf("ReadFile = %q, %v", got, err)
		}
	}},
	{name: "ReadFile empty", run: func(t *testing.T, fsys FS, dir string) {
		name := filepath.Join(dir, "f")
		create(t, fsys, name, "")
		wantContent(t, fsys, name, "")
	}},
}
