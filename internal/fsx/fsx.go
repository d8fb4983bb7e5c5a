// Package fsx is stele's file-system seam. Every byte stele persists goes
// through an FS, so tests can swap the operating system for an in-memory file
// system that simulates a crash (MemFS.CrashClone) or for one that fails on
// command (ErrorFS).
//
// The contract follows POSIX with Linux durability semantics:
//   - File.Sync makes the file's data durable (fdatasync). It does not make
//     the file's directory entry durable.
//   - FS.SyncDir makes creations, renames and removals inside a directory
//     durable.
//   - FS.SyncAll makes everything written so far durable (syncfs(2)).
//
// Anything not made durable by one of these MAY be lost by a crash.
//
// # Crash model
//
// MemFS implements the contract above literally, and CrashClone returns what
// a crash at that instant leaves. MemFS keeps, next to the state every call
// sees, the durable state:
//   - A file's bytes and size are durable as of the last File.Sync on any
//     handle to it (or SyncAll). Writes and truncations after it are lost.
//   - A directory's entries are durable as of the last SyncDir on it (or
//     File.Sync on a handle opened on it, or SyncAll). Creating, removing or
//     renaming an entry changes the current state only: after a crash an
//     unsynced new file is gone even if its data was synced, an unsynced
//     removal is undone, and an unsynced rename reverts. A new directory is
//     an entry in its parent like any other.
//   - A rename between two directories is two entry changes, each durable
//     with its own directory's sync: a crash between the two syncs can leave
//     the file under both names or under neither.
//   - Permission bits set by Chmod are durable after a File.Sync of the file,
//     a SyncDir of a directory holding it, or SyncAll.
//   - Locks do not survive a crash.
//
// CrashCloneTorn is the same, except that a file that was only appended to
// since its last sync keeps a random-length prefix (possibly empty, possibly
// all) of the appended bytes: a torn write. Bytes overwritten in place are
// never torn; the file reverts to its synced content.
//
// This is stricter than ext4 with data=ordered, where every journal commit
// also carries earlier metadata changes from unrelated files. Code that is
// correct under this model is correct there; the reverse does not hold.
package fsx

import (
	"errors"
	"io"
	iofs "io/fs"
	"os"
)

// ErrLocked is returned by FS.Lock when another holder has the lock.
var ErrLocked = errors.New("fsx: locked by another process")

// FS is the file-system seam. Paths are OS paths (slash-separated on Linux).
type FS interface {
	// OpenFile is os.OpenFile.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	// Rename atomically replaces newname with oldname (rename(2)).
	Rename(oldname, newname string) error
	// Remove removes a file or an empty directory.
	Remove(name string) error
	// MkdirAll is os.MkdirAll. New directories are not durable until SyncDir
	// is called on their parent.
	MkdirAll(dir string, perm os.FileMode) error
	// ReadDir lists a directory sorted by name.
	ReadDir(dir string) ([]os.DirEntry, error)
	// Stat is os.Stat.
	Stat(name string) (os.FileInfo, error)
	// Chmod is os.Chmod.
	Chmod(name string, mode os.FileMode) error
	// SyncDir makes the directory's entries durable (open + fsync the dir).
	SyncDir(dir string) error
	// SyncAll makes all data written through this FS durable (syncfs(2)).
	// dir names any directory on the file system to sync.
	SyncAll(dir string) error
	// Lock takes an exclusive advisory lock on name, creating it if needed.
	// It returns ErrLocked (wrapped) if another holder has it. Close releases.
	Lock(name string) (io.Closer, error)
}

// File is an open file. ReadAt and WriteAt may be called concurrently with
// each other on disjoint ranges; Write and Truncate must not be concurrent.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.WriterAt
	io.Closer
	// Sync makes the file's contents durable (fdatasync(2)).
	Sync() error
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Stat is os.File.Stat.
	Stat() (os.FileInfo, error)
	// Name is the name the file was opened with.
	Name() string
}

// Open opens name read-only.
func Open(fs FS, name string) (File, error) { return fs.OpenFile(name, os.O_RDONLY, 0) }

// ReadFile reads a whole file. The size from Stat is only a hint, so a file
// that changes size while being read is read to its end, as os.ReadFile does.
func ReadFile(fs FS, name string) ([]byte, error) {
	f, err := Open(fs, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 0, fi.Size()+1) // +1: reaching EOF needs spare room
	for {
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// WriteFileAtomic durably replaces name with data: it writes a temporary file
// in the same directory, syncs it, renames it over name and syncs the
// directory. After it returns nil, a crash leaves either the old or the new
// content, never a mix, and the new content survives.
//
// Concurrent calls for the same name MUST NOT overlap: they share the
// temporary file name+".tmp".
func WriteFileAtomic(fs FS, name string, data []byte, perm os.FileMode) error {
	tmp := name + ".tmp"
	// A temporary left by a crash may be read-only (perm 0o444, say), and
	// O_TRUNC cannot open that for writing; start from a fresh file.
	if err := fs.Remove(tmp); err != nil && !errors.Is(err, iofs.ErrNotExist) {
		return err
	}
	f, err := fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		fs.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		fs.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		fs.Remove(tmp)
		return err
	}
	if err := fs.Rename(tmp, name); err != nil {
		fs.Remove(tmp)
		return err
	}
	return fs.SyncDir(dirOf(name))
}

func dirOf(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			if i == 0 {
				return "/"
			}
			return name[:i]
		}
	}
	return "."
}
