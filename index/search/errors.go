package search

import (
	"errors"
	"fmt"

	"github.com/stele-log/stele"
)

// Sentinel errors. Errors returned by this package wrap one of these (test
// with errors.Is), except plain I/O errors from the FS, which are wrapped
// with the path they concern.
var (
	// ErrCorrupt means a chunk file failed its checksum or a structural
	// check. Open removes such a file and truncates Covered() before it, so
	// the caller re-Adds those events from the log; a query that meets one
	// (damage after Open) gets this error, and the caller should fail the
	// query (the index never serves damaged data) and rebuild at the next
	// Open. The wrapped *CorruptionError names the file and byte offset.
	ErrCorrupt error = &kindError{"search: corrupt", stele.ErrCorrupt}

	// ErrClosed means the index was closed. Open it again to use it.
	ErrClosed error = &kindError{"search: closed", stele.ErrClosed}

	// ErrOutOfOrder means Add was called with a seq other than Covered(). It
	// is a bug in the caller; nothing was recorded.
	ErrOutOfOrder = errors.New("search: seq out of order")

	// ErrInvalid means Add was given bytes that are not a canonical entry
	// (no JSON object, or no valid "time"), or a query method was given an
	// argument it cannot use (IP on a field that holds no addresses).
	// Nothing was recorded; the caller has a bug.
	ErrInvalid = errors.New("search: invalid")
)

// CorruptionError locates damage in a chunk file. It wraps ErrCorrupt.
type CorruptionError struct {
	File   string // path of the damaged file
	Offset int64  // byte offset of the damaged field, block or section in File
	Reason string // what is wrong, e.g. "dictionary block crc32c mismatch"
}

func (e *CorruptionError) Error() string {
	return fmt.Sprintf("search: corrupt: %s (file %s, offset %d)", e.Reason, e.File, e.Offset)
}

func (e *CorruptionError) Unwrap() error { return ErrCorrupt }

func corruptf(file string, offset int64, format string, args ...any) error {
	return &CorruptionError{File: file, Offset: offset, Reason: fmt.Sprintf(format, args...)}
}

// kindError is a sentinel of this package that is also one of stele's
// (errors.Is finds both), so that the API maps it to the right status.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }
