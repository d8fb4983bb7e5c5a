package ids

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of these (test
// with errors.Is), except plain I/O errors from the FS, which are wrapped with
// the path they concern.
var (
	// ErrCorrupt means an index file failed its checksum or a structural
	// check. The index is derived data: the caller should Close the index,
	// delete its directory and rebuild it from the log (re-Add every seq).
	// The wrapped *CorruptionError names the file and byte offset.
	ErrCorrupt = errors.New("ids: corrupt index")

	// ErrClosed means the index was closed. Open it again to use it.
	ErrClosed = errors.New("ids: closed")

	// ErrOutOfOrder means Add was called with a seq other than Covered().
	// It is a bug in the caller; nothing was recorded.
	ErrOutOfOrder = errors.New("ids: seq out of order")
)

// CorruptionError locates damage in an index file. It wraps ErrCorrupt.
type CorruptionError struct {
	File   string // path of the damaged file
	Offset int64  // byte offset of the damaged field or block in File
	Reason string // what is wrong, e.g. "block crc32c mismatch"
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("ids: corrupt index: %s (file %s, offset %d)", e.Reason, e.File, e.Offset)
}

func (e *CorruptionError) Unwrap() error { return ErrCorrupt }

func corruptf(file string, offset int64, format string, args ...any) error {
	return &CorruptionError{File: file, Offset: offset, Reason: fmt.Sprintf(format, args...)}
}
