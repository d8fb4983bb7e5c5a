package fsx

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MemFS is an in-memory FS that records what is durable so that CrashClone can
// show what a power loss would leave. See the package doc for the crash model.
//
// Paths are resolved lexically from the root "/"; relative paths are taken
// relative to the root. There are no symlinks, no umask (perm is stored as
// given) and no owners: the owner permission bits apply to every caller, which
// is stricter than a real FS when running as root.
//
// MemFS is safe for concurrent use. A single mutex serialises every operation:
// this is a test double, and simple locking keeps it obviously race-free.
type MemFS struct {
	mu    sync.Mutex
	root  *memNode
	locks map[*memNode]bool
}

// memNode is an inode. It is shared by every directory entry and open handle
// that refers to it, so a rename or an unlink does not disturb open files.
type memNode struct {
	dir        bool
	mode       fs.FileMode // permission bits only
	syncedMode fs.FileMode
	modTime    time.Time

	// Files. After Sync, synced may share data's backing array (synced's
	// capacity is clipped to its length, so appends to data never reach it).
	// appendOnly records that nothing at an index below len(synced) has been
	// changed since; the first such change copies data, so synced never
	// changes under us. appendOnly is also what makes a torn tail possible.
	data       []byte
	synced     []byte
	appendOnly bool

	// Directories: the current entries and the entries a crash would leave.
	children       map[string]*memNode
	syncedChildren map[string]*memNode
}

// NewMem returns an empty MemFS containing only the root directory, which is
// durable but has no durable entries.
func NewMem() *MemFS {
	return &MemFS{root: newDirNode(0o755), locks: make(map[*memNode]bool)}
}

var (
	_ FS          = (*MemFS)(nil)
	_ File        = (*memFile)(nil)
	_ fs.FileInfo = fileInfo{}
)

func newDirNode(perm fs.FileMode) *memNode {
	return &memNode{
		dir: true, mode: perm, syncedMode: perm, modTime: time.Now(),
		children: make(map[string]*memNode), syncedChildren: make(map[string]*memNode),
	}
}

func newFileNode(perm fs.FileMode) *memNode {
	return &memNode{mode: perm, syncedMode: perm, modTime: time.Now(), appendOnly: true}
}

func pathErr(op, name string, err error) error { return &fs.PathError{Op: op, Path: name, Err: err} }

// splitPath returns the components of name below the root.
func splitPath(name string) []string {
	p := path.Clean("/" + name)
	if p == "/" {
		return nil
	}
	return strings.Split(p[1:], "/")
}

// walkDir resolves the directory holding the first len(parts) components.
func (m *MemFS) walkDir(parts []string) (*memNode, error) {
	n := m.root
	for _, part := range parts {
		child := n.children[part]
		if child == nil {
			return nil, syscall.ENOENT
		}
		if !child.dir {
			return nil, syscall.ENOTDIR
		}
		n = child
	}
	return n, nil
}

// lookup resolves name to its node. Callers hold m.mu.
func (m *MemFS) lookup(op, name string) (*memNode, error) {
	if name == "" {
		return nil, pathErr(op, name, syscall.ENOENT)
	}
	parent, base, err := m.parent(op, name)
	if err != nil {
		return nil, err
	}
	if base == "" {
		return m.root, nil
	}
	if n := parent.children[base]; n != nil {
		return n, nil
	}
	return nil, pathErr(op, name, syscall.ENOENT)
}

// parent resolves the directory that holds name's last component. For the
// root itself it returns the root and base "".
func (m *MemFS) parent(op, name string) (*memNode, string, error) {
	parts := splitPath(name)
	if len(parts) == 0 {
		return m.root, "", nil
	}
	dir, err := m.walkDir(parts[:len(parts)-1])
	if err != nil {
		return nil, "", pathErr(op, name, err)
	}
	return dir, parts[len(parts)-1], nil
}

// OpenFile is os.OpenFile, with permission checks against the owner bits.
func (m *MemFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.open(name, flag, perm)
	if err != nil {
		return nil, err
	}
	acc := flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
	return &memFile{
		fs: m, node: n, name: name,
		read:   acc == os.O_RDONLY || acc == os.O_RDWR,
		write:  acc == os.O_WRONLY || acc == os.O_RDWR,
		append: flag&os.O_APPEND != 0,
	}, nil
}

func (m *MemFS) open(name string, flag int, perm os.FileMode) (*memNode, error) {
	if name == "" {
		return nil, pathErr("open", name, syscall.ENOENT)
	}
	acc := flag & (os.O_RDONLY | os.O_WRONLY | os.O_RDWR)
	write := acc == os.O_WRONLY || acc == os.O_RDWR
	parent, base, err := m.parent("open", name)
	if err != nil {
		return nil, err
	}
	n := m.root
	if base != "" {
		n = parent.children[base]
	}
	if n == nil {
		if flag&os.O_CREATE == 0 {
			return nil, pathErr("open", name, syscall.ENOENT)
		}
		if parent.mode&0o200 == 0 {
			return nil, pathErr("open", name, syscall.EACCES)
		}
		// Like open(2), a new file's mode does not restrict the handle that
		// created it.
		n = newFileNode(perm & fs.ModePerm)
		parent.children[base] = n
		parent.modTime = n.modTime
		return n, nil
	}
	switch {
	case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		return nil, pathErr("open", name, syscall.EEXIST)
	case n.dir && (write || flag&(os.O_CREATE|os.O_TRUNC) != 0):
		return nil, pathErr("open", name, syscall.EISDIR)
	case acc != os.O_WRONLY && n.mode&0o400 == 0,
		(write || flag&os.O_TRUNC != 0) && n.mode&0o200 == 0:
		return nil, pathErr("open", name, syscall.EACCES)
	}
	if flag&os.O_TRUNC != 0 {
		n.truncate(0)
	}
	return n, nil
}

// writable prepares data for a change at index off and beyond.
func (n *memNode) writable(off int64) {
	if n.appendOnly && off < int64(len(n.synced)) {
		n.data = bytes.Clone(n.data)
		n.appendOnly = false
	}
}

func (n *memNode) writeAt(p []byte, off int64) {
	if len(p) == 0 {
		return // write(2) of nothing does not extend the file
	}
	n.writable(off)
	if end := off + int64(len(p)); end > int64(len(n.data)) {
		n.data = append(n.data, make([]byte, end-int64(len(n.data)))...)
	}
	copy(n.data[off:], p)
	n.modTime = time.Now()
}

func (n *memNode) truncate(size int64) {
	n.writable(size)
	if size <= int64(len(n.data)) {
		n.data = n.data[:size]
	} else {
		n.data = append(n.data, make([]byte, size-int64(len(n.data)))...)
	}
	n.modTime = time.Now()
}

// sync makes n durable: a file's bytes and mode, or a directory's entries
// and the modes of the nodes they name (fsync of a directory commits the
// journal transaction that holds their chmods).
func (n *memNode) sync() {
	n.syncedMode = n.mode
	if n.dir {
		n.syncedChildren = maps.Clone(n.children)
		for _, child := range n.children {
			child.syncedMode = child.mode
		}
		return
	}
	n.synced = n.data[:len(n.data):len(n.data)]
	n.appendOnly = true
}

// Rename is rename(2) as os.Rename does it: an existing directory at newname
// is refused with EEXIST.
func (m *MemFS) Rename(oldname, newname string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	fail := func(err error) error {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	// os.Rename refuses an existing directory at newname before it asks the
	// kernel; the remaining checks follow rename(2)'s order.
	if dst, err := m.lookup("rename", newname); err == nil && dst.dir {
		if _, err := m.lookup("rename", oldname); err != nil {
			return fail(err)
		}
		return fail(syscall.EEXIST)
	}
	oldDir, oldBase, err := m.parent("rename", oldname)
	if err != nil {
		return fail(err)
	}
	newDir, newBase, err := m.parent("rename", newname)
	if err != nil {
		return fail(err)
	}
	if oldBase == "" || newBase == "" {
		return fail(syscall.EBUSY)
	}
	src := oldDir.children[oldBase]
	if src == nil {
		return fail(syscall.ENOENT)
	}
	dst := newDir.children[newBase]
	switch {
	case src.dir && strings.HasPrefix(path.Clean("/"+newname), path.Clean("/"+oldname)+"/"):
		return fail(syscall.EINVAL)
	case src == dst:
		return nil
	case oldDir.mode&0o200 == 0 || newDir.mode&0o200 == 0:
		return fail(syscall.EACCES)
	case src.dir && dst != nil:
		return fail(syscall.ENOTDIR)
	}
	delete(oldDir.children, oldBase)
	newDir.children[newBase] = src
	now := time.Now()
	oldDir.modTime, newDir.modTime = now, now
	return nil
}

// Remove removes a file or an empty directory.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("remove", name)
	if err != nil {
		return err
	}
	dir, base, _ := m.parent("remove", name)
	switch {
	case base == "":
		return pathErr("remove", name, syscall.EBUSY)
	case dir.mode&0o200 == 0:
		return pathErr("remove", name, syscall.EACCES)
	case n.dir && len(n.children) > 0:
		return pathErr("remove", name, syscall.ENOTEMPTY)
	}
	delete(dir.children, base)
	dir.modTime = time.Now()
	return nil
}

// MkdirAll is os.MkdirAll. Each new directory gets perm.
func (m *MemFS) MkdirAll(dir string, perm os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.root
	for _, part := range splitPath(dir) {
		child := n.children[part]
		if child == nil {
			if n.mode&0o200 == 0 {
				return pathErr("mkdir", dir, syscall.EACCES)
			}
			child = newDirNode(perm & fs.ModePerm)
			n.children[part] = child
			n.modTime = child.modTime
		} else if !child.dir {
			return pathErr("mkdir", dir, syscall.ENOTDIR)
		}
		n = child
	}
	return nil
}

// ReadDir lists a directory sorted by name.
func (m *MemFS) ReadDir(dir string) ([]os.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("open", dir)
	if err != nil {
		return nil, err
	}
	if !n.dir {
		return nil, pathErr("readdirent", dir, syscall.ENOTDIR)
	}
	entries := make([]os.DirEntry, 0, len(n.children))
	for _, name := range slices.Sorted(maps.Keys(n.children)) {
		entries = append(entries, fs.FileInfoToDirEntry(n.children[name].info(name)))
	}
	return entries, nil
}

// Stat is os.Stat.
func (m *MemFS) Stat(name string) (os.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return n.info(path.Base(name)), nil
}

// Chmod sets the permission bits. The change is durable only after a Sync of
// the file, a SyncDir of its parent, or SyncAll.
func (m *MemFS) Chmod(name string, mode os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("chmod", name)
	if err != nil {
		return err
	}
	n.mode = mode & fs.ModePerm
	return nil
}

// SyncDir makes dir's entries and the modes of the nodes they name durable.
func (m *MemFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.lookup("open", dir)
	if err != nil {
		return err
	}
	n.sync()
	return nil
}

// SyncAll makes everything reachable from the root durable.
func (m *MemFS) SyncAll(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.lookup("open", dir); err != nil {
		return err
	}
	var walk func(n *memNode)
	walk = func(n *memNode) {
		n.sync()
		for _, child := range n.children {
			walk(child)
		}
	}
	walk(m.root)
	return nil
}

// Lock takes an in-process exclusive lock on name's inode, creating the file
// like OS().Lock does.
func (m *MemFS) Lock(name string) (io.Closer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, err := m.open(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if m.locks[n] {
		return nil, fmt.Errorf("%s: %w", name, ErrLocked)
	}
	m.locks[n] = true
	return &memLock{fs: m, node: n, name: name}, nil
}

type memLock struct {
	fs       *MemFS
	node     *memNode
	name     string
	released bool
}

func (l *memLock) Close() error {
	l.fs.mu.Lock()
	defer l.fs.mu.Unlock()
	if l.released {
		return pathErr("close", l.name, os.ErrClosed)
	}
	l.released = true
	delete(l.fs.locks, l.node)
	return nil
}

// CrashClone returns an independent MemFS holding exactly the durable state:
// what the machine would find after losing power now. Locks are not carried
// over (the process that held them is gone).
func (m *MemFS) CrashClone() *MemFS { return m.crashClone(nil) }

// CrashCloneTorn is CrashClone, except that each surviving file that was only
// appended to since its last Sync keeps a prefix, of random length from none
// to all, of the appended bytes, as a write torn by the power loss would.
// Files are visited in path order, so a seeded rng gives a repeatable result.
func (m *MemFS) CrashCloneTorn(rng *rand.Rand) *MemFS { return m.crashClone(rng) }

func (m *MemFS) crashClone(rng *rand.Rand) *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	// A node named by two durable entries (a rename across directories that
	// was synced on both sides at different times) stays one node.
	clones := make(map[*memNode]*memNode)
	var clone func(n *memNode) *memNode
	clone = func(n *memNode) *memNode {
		if c := clones[n]; c != nil {
			return c
		}
		c := &memNode{dir: n.dir, mode: n.syncedMode, syncedMode: n.syncedMode, modTime: n.modTime}
		clones[n] = c
		if n.dir {
			c.children = make(map[string]*memNode, len(n.syncedChildren))
			for _, name := range slices.Sorted(maps.Keys(n.syncedChildren)) {
				c.children[name] = clone(n.syncedChildren[name])
			}
			c.syncedChildren = maps.Clone(c.children)
			return c
		}
		c.data = bytes.Clone(n.synced)
		if rng != nil && n.appendOnly && len(n.data) > len(n.synced) {
			tail := n.data[len(n.synced):]
			c.data = append(c.data, tail[:rng.IntN(len(tail)+1)]...)
		}
		c.synced = c.data[:len(c.data):len(c.data)]
		c.appendOnly = true
		return c
	}
	return &MemFS{root: clone(m.root), locks: make(map[*memNode]bool)}
}

func (n *memNode) info(name string) fileInfo {
	fi := fileInfo{name: name, size: int64(len(n.data)), mode: n.mode, modTime: n.modTime}
	if n.dir {
		fi.mode |= fs.ModeDir
		fi.size = 4096 // what ext4 reports for a small directory
	}
	return fi
}

type fileInfo struct {
	name    string
	size    int64
	mode    fs.FileMode
	modTime time.Time
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return fi.size }
func (fi fileInfo) Mode() fs.FileMode  { return fi.mode }
func (fi fileInfo) ModTime() time.Time { return fi.modTime }
func (fi fileInfo) IsDir() bool        { return fi.mode.IsDir() }
func (fi fileInfo) Sys() any           { return nil }

// memFile is an open handle. Its offset is guarded by the FS mutex.
type memFile struct {
	fs                  *MemFS
	node                *memNode
	name                string
	read, write, append bool
	closed              bool
	offset              int64
}

// errWriteAtInAppendMode mirrors the error os.File.WriteAt returns.
var errWriteAtInAppendMode = errors.New("os: invalid use of WriteAt on file opened with O_APPEND")

// check reports why op may not run on f; wantRead/wantWrite name the access
// mode op needs.
func (f *memFile) check(op string, wantRead, wantWrite bool) error {
	switch {
	case f.closed:
		return pathErr(op, f.name, os.ErrClosed)
	case wantRead && !f.read, wantWrite && !f.write:
		return pathErr(op, f.name, syscall.EBADF)
	case f.node.dir && (wantRead || wantWrite):
		return pathErr(op, f.name, syscall.EISDIR)
	}
	return nil
}

func (f *memFile) Read(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	// Like os.File.Read, an empty read succeeds on any open handle.
	if err := f.check("read", false, false); err != nil || len(p) == 0 {
		return 0, err
	}
	if err := f.check("read", true, false); err != nil {
		return 0, err
	}
	if f.offset >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[f.offset:])
	f.offset += int64(n)
	return n, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	// The order of checks is os.File.ReadAt's.
	if err := f.check("read", false, false); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, pathErr("readat", f.name, errors.New("negative offset"))
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := f.check("read", true, false); err != nil {
		return 0, err
	}
	if off >= int64(len(f.node.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.node.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write", false, true); err != nil {
		return 0, err
	}
	if f.append {
		f.offset = int64(len(f.node.data))
	}
	f.node.writeAt(p, f.offset)
	f.offset += int64(len(p))
	return len(p), nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	// The order of checks is os.File.WriteAt's.
	if err := f.check("write", false, false); err != nil {
		return 0, err
	}
	if f.append {
		return 0, errWriteAtInAppendMode
	}
	if off < 0 {
		return 0, pathErr("writeat", f.name, errors.New("negative offset"))
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := f.check("write", false, true); err != nil {
		return 0, err
	}
	f.node.writeAt(p, off)
	return len(p), nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("truncate", false, false); err != nil {
		return err
	}
	if !f.write || f.node.dir || size < 0 {
		return pathErr("truncate", f.name, syscall.EINVAL)
	}
	f.node.truncate(size)
	return nil
}

// Sync makes the file durable; on a directory handle it is SyncDir.
func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("sync", false, false); err != nil {
		return err
	}
	f.node.sync()
	return nil
}

func (f *memFile) Stat() (os.FileInfo, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat", false, false); err != nil {
		return nil, err
	}
	return f.node.info(path.Base(f.name)), nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("close", false, false); err != nil {
		return err
	}
	f.closed = true
	return nil
}

func (f *memFile) Name() string { return f.name }
