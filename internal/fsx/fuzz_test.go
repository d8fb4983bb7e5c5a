package fsx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// FuzzMemMatchesOS runs the same random script of operations on the real
// file system and on MemFS and fails on the first result that differs. The
// conformance suite pins the behaviours we thought of; this finds the edge
// cases we did not (offsets, flag combinations, renames over directories).
// Permission bits are left alone: root ignores them on a real FS.
func FuzzMemMatchesOS(f *testing.F) {
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) > 3*64 {
			return
		}
		mem := NewMem()
		must(t, mem.MkdirAll("/x", 0o755))
		runners := []*scriptRunner{{fsys: OS(), root: t.TempDir()}, {fsys: mem, root: "/x"}}
		defer func() {
			for _, r := range runners {
				r.closeAll()
			}
		}()
		for i := 0; i+3 <= len(script); i += 3 {
			step := script[i : i+3]
			osResult, memResult := runners[0].step(step), runners[1].step(step)
			if osResult != memResult {
				t.Fatalf("step %d %s: os %q, mem %q", i/3, runners[0].describe(step), osResult, memResult)
			}
		}
		if a, b := snapshotDir(t, runners[0].fsys, runners[0].root), snapshotDir(t, runners[1].fsys, runners[1].root); a != b {
			t.Fatalf("final trees differ:\n os %q\nmem %q", a, b)
		}
	})
}

// scriptRunner interprets a fuzz script: each step is three bytes, an
// operation and two arguments, over four names and four handle slots.
type scriptRunner struct {
	fsys    FS
	root    string
	handles [4]File
}

var scriptNames = [4]string{"a", "b", "d", "d/a"}

var scriptOps = [...]string{"open", "write", "writeat", "read", "readat", "truncate",
	"close", "rename", "remove", "mkdir", "stat", "readdir"}

func (r *scriptRunner) name(arg byte) string {
	return filepath.Join(r.root, scriptNames[arg%4])
}

func (r *scriptRunner) describe(step []byte) string {
	return fmt.Sprintf("%s(%d, %d)", scriptOps[int(step[0])%len(scriptOps)], step[1], step[2])
}

func (r *scriptRunner) closeAll() {
	for i, h := range r.handles {
		if h != nil {
			h.Close()
			r.handles[i] = nil
		}
	}
}

// step runs one operation and renders everything observable about its result.
func (r *scriptRunner) step(step []byte) string {
	op, a1, a2 := int(step[0])%len(scriptOps), step[1], step[2]
	slot := int(a1) % len(r.handles)
	h := r.handles[slot]
	payload := bytes.Repeat([]byte{'a' + a1%26}, int(a2%8))
	switch scriptOps[op] {
	case "open":
		if h != nil {
			h.Close()
			r.handles[slot] = nil
		}
		flag := []int{os.O_RDONLY, os.O_WRONLY, os.O_RDWR}[a2%3]
		for bit, f := range []int{os.O_CREATE, os.O_EXCL, os.O_TRUNC, os.O_APPEND} {
			if a2&(4<<bit) != 0 {
				flag |= f
			}
		}
		f, err := r.fsys.OpenFile(r.name(a1/4), flag, 0o644)
		r.handles[slot] = f
		return errClass(err)
	case "rename":
		return errClass(r.fsys.Rename(r.name(a1), r.name(a2)))
	case "remove":
		return errClass(r.fsys.Remove(r.name(a1)))
	case "mkdir":
		return errClass(r.fsys.MkdirAll(r.name(a1), 0o755))
	case "stat":
		fi, err := r.fsys.Stat(r.name(a1))
		if err != nil {
			return errClass(err)
		}
		if fi.IsDir() {
			return fmt.Sprintf("dir %s %v", fi.Name(), fi.Mode())
		}
		return fmt.Sprintf("file %s %v %d", fi.Name(), fi.Mode(), fi.Size())
	case "readdir":
		entries, err := r.fsys.ReadDir(r.name(a1))
		if err != nil {
			return errClass(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, fmt.Sprintf("%s:%v", e.Name(), e.IsDir()))
		}
		return fmt.Sprint(names)
	}
	if h == nil {
		return "no handle"
	}
	switch scriptOps[op] {
	case "write":
		n, err := h.Write(payload)
		return fmt.Sprintf("%d %s", n, errClass(err))
	case "writeat":
		n, err := h.WriteAt(payload, int64(a2/8%16))
		return fmt.Sprintf("%d %s", n, errClass(err))
	case "read":
		buf := make([]byte, a2%8)
		n, err := h.Read(buf)
		return fmt.Sprintf("%q %s", buf[:n], errClass(err))
	case "readat":
		buf := make([]byte, a2%8)
		n, err := h.ReadAt(buf, int64(a2/8%16))
		return fmt.Sprintf("%q %s", buf[:n], errClass(err))
	case "truncate":
		return errClass(h.Truncate(int64(a2 % 16)))
	case "close":
		r.handles[slot] = nil
		return errClass(h.Close())
	}
	panic("unreachable")
}

// errClass reduces an error to what the two file systems must agree on: the
// errno or sentinel, not the message (which carries the path).
func errClass(err error) string {
	var errno syscall.Errno
	switch {
	case err == nil:
		return "ok"
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, os.ErrClosed):
		return "closed"
	case errors.As(err, &errno):
		return errno.Error()
	}
	return "other error"
}
