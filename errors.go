package stele

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by the log's public API wraps exactly
// one of these (test with errors.Is). api.StatusOf maps them to HTTP statuses;
// nothing else in the tree decides a status code.
var (
	// ErrInvalid means the caller sent something malformed. Fix the input and
	// retry; retrying unchanged will fail again. HTTP 400.
	ErrInvalid = errors.New("stele: invalid input")

	// ErrTooLarge means an event's canonical entry exceeds MaxEntrySize.
	// Shrink the event (usually its attributes or message). HTTP 413.
	ErrTooLarge = errors.New("stele: too large")

	// ErrNotFound means the requested seq, id, tile or proof does not exist
	// (yet). For a seq beyond the log size, retry after the log grows. HTTP 404.
	ErrNotFound = errors.New("stele: not found")

	// ErrDiskFull means the append was refused because the disk is full or
	// over quota. Nothing was appended and nothing acknowledged was lost; free
	// space and retry. HTTP 507.
	ErrDiskFull = errors.New("stele: disk full")

	// ErrUnavailable means the log cannot take the request right now (a write
	// error it recovered from, or overload). Nothing was appended; retry with
	// backoff. HTTP 503 with Retry-After.
	ErrUnavailable = errors.New("stele: unavailable")

	// ErrFailed means the log hit an error it could not roll back and stopped
	// accepting appends to protect what is already sealed. Reads keep working.
	// An operator must look at the logs and restart. HTTP 503.
	ErrFailed = errors.New("stele: log failed")

	// ErrClosed means the log is shutting down or closed. HTTP 503.
	ErrClosed = errors.New("stele: closed")

	// ErrCorrupt means stored data fails its checksums, its hashes or a signed
	// checkpoint. stele never repairs this silently: the error names the file,
	// offset and seq; an operator must investigate. HTTP 500.
	ErrCorrupt = errors.New("stele: corrupt")

	// ErrLocked means another process holds the data directory. HTTP n/a.
	ErrLocked = errors.New("stele: data directory locked")

	// ErrVerify means a proof, signature or checkpoint did not verify: the log
	// (or whoever served it) is lying or the data was tampered with.
	ErrVerify = errors.New("stele: verification failed")
)

// MaxEntrySize is the largest canonical entry the log accepts, in bytes. It is
// the bound of the C2SP tlog-tiles entry bundle format (uint16 length prefix).
const MaxEntrySize = 65535

// CorruptionError locates damage in stored data. It wraps ErrCorrupt.
type CorruptionError struct {
	File   string // path of the damaged file, relative to the data directory when known
	Offset int64  // byte offset in File, or -1 when not applicable
	Seq    int64  // log index of the affected entry, or -1 when unknown
	Reason string // what is wrong, e.g. "crc32c mismatch"
}

func (e *CorruptionError) Error() string {
	msg := "stele: corrupt: " + e.Reason
	if e.File != "" {
		msg += fmt.Sprintf(" (file %s", e.File)
		if e.Offset >= 0 {
			msg += fmt.Sprintf(", offset %d", e.Offset)
		}
		if e.Seq >= 0 {
			msg += fmt.Sprintf(", seq %d", e.Seq)
		}
		msg += ")"
	} else if e.Seq >= 0 {
		msg += fmt.Sprintf(" (seq %d)", e.Seq)
	}
	return msg
}

func (e *CorruptionError) Unwrap() error { return ErrCorrupt }
