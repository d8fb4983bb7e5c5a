package tiles

import (
	"encoding/binary"
	"errors"
	"fmt"
)

var (
	// ErrEntryTooLarge means an entry does not fit the bundle's uint16 length
	// prefix (more than MaxEntrySize bytes).
	ErrEntryTooLarge = errors.New("tiles: entry too large")

	// ErrMalformedBundle means entry-bundle bytes do not parse: a truncated
	// length prefix or entry, no entries, or more than Width entries.
	ErrMalformedBundle = errors.New("tiles: malformed bundle")
)

// AppendBundleEntry appends entry to the bundle dst, prefixed with its length
// as a big-endian uint16.
func AppendBundleEntry(dst, entry []byte) ([]byte, error) {
	if len(entry) > MaxEntrySize {
		return dst, fmt.Errorf("%w: %d bytes, limit %d", ErrEntryTooLarge, len(entry), MaxEntrySize)
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(entry)))
	return append(dst, entry...), nil
}

// ParseBundle splits an entry bundle into its entries. The entries alias
// data. It consumes all of data: trailing bytes are an error, as are an empty
// bundle and one with more than Width entries (no tile has those). Callers
// check the entry count against the width they asked for. Errors wrap
// ErrMalformedBundle.
func ParseBundle(data []byte) ([][]byte, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrMalformedBundle)
	}
	var entries [][]byte
	for off := 0; off < len(data); {
		if len(entries) == Width {
			return nil, fmt.Errorf("%w: more than %d entries", ErrMalformedBundle, Width)
		}
		if len(data)-off < 2 {
			return nil, fmt.Errorf("%w: truncated length prefix at offset %d", ErrMalformedBundle, off)
		}
		n := int(binary.BigEndian.Uint16(data[off:]))
		off += 2
		if len(data)-off < n {
			return nil, fmt.Errorf("%w: entry %d at offset %d needs %d bytes, %d left", ErrMalformedBundle, len(entries), off-2, n, len(data)-off)
		}
		entries = append(entries, data[off:off+n:off+n])
		off += n
	}
	return entries, nil
}
