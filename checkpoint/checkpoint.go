// Package checkpoint owns the log's signed tree heads: C2SP tlog-checkpoint
// text (https://c2sp.org/tlog-checkpoint), signed as a C2SP signed note
// (https://c2sp.org/signed-note) with the log's Ed25519 key, and the keys
// themselves.
//
// It is a leaf package: it imports nothing from this module. Signing and
// verification are golang.org/x/mod/sumdb/note; this package adds the strict
// checkpoint grammar and stele's conventions (the key name is the origin).
//
// # Checkpoint text
//
// The note text is three or more lines, each ending in a newline:
//
//	<origin>                 non-empty; for stele, equal to the key name
//	<size>                   decimal, no sign, no leading zeros ("0" for empty)
//	<base64 root hash>       standard base64 with padding of 32 bytes (44 chars)
//	[<extension line>...]    optional, each non-empty; stele writes none
//
// The signed note appends a blank line and one line per signature,
// "— <key name> <base64(4-byte key ID || Ed25519 signature)>".
package checkpoint

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// HashSize is the size of a checkpoint's root hash.
const HashSize = 32

var (
	// ErrMalformed means checkpoint or note bytes do not parse, or use a
	// non-canonical spelling. Whoever produced them is buggy or hostile.
	ErrMalformed = errors.New("checkpoint: malformed")

	// ErrSignature means a note carries no valid signature by the expected
	// key (missing, or present and invalid).
	ErrSignature = errors.New("checkpoint: signature does not verify")

	// ErrOrigin means a verified checkpoint is for another log than the one
	// asked for, or a signer was asked to sign for another origin.
	ErrOrigin = errors.New("checkpoint: wrong origin")

	// ErrKey means a signer or verifier key string does not parse, or names
	// an invalid key name.
	ErrKey = errors.New("checkpoint: invalid key")
)

// Checkpoint is a tree head: the log's origin, its size and its RFC 6962
// root hash at that size.
type Checkpoint struct {
	Origin string
	Size   uint64
	Hash   [HashSize]byte
}

// Marshal returns the checkpoint's note text, "origin\nsize\nbase64(hash)\n".
// Marshal does not validate Origin; Signer.Sign does.
func (c Checkpoint) Marshal() []byte {
	buf := make([]byte, 0, len(c.Origin)+1+20+1+base64.StdEncoding.EncodedLen(HashSize)+1)
	buf = append(buf, c.Origin...)
	buf = append(buf, '\n')
	buf = strconv.AppendUint(buf, c.Size, 10)
	buf = append(buf, '\n')
	buf = base64.StdEncoding.AppendEncode(buf, c.Hash[:])
	return append(buf, '\n')
}

// Parse parses checkpoint note text strictly and returns the checkpoint and
// its extension lines (without newlines; nil when there are none). It
// rejects everything that is not the one canonical spelling: a missing final
// newline, an empty origin or extension line, a size with a sign or leading
// zeros, a hash that is not canonical padded standard base64 of 32 bytes,
// invalid UTF-8, and control characters, which a signed note cannot carry.
// Errors wrap ErrMalformed.
func Parse(text []byte) (Checkpoint, []string, error) {
	bad := func(format string, args ...any) (Checkpoint, []string, error) {
		return Checkpoint{}, nil, fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
	if !utf8.Valid(text) {
		return bad("not valid UTF-8")
	}
	for i, c := range text {
		if c < 0x20 && c != '\n' {
			return bad("control character 0x%02x at offset %d", c, i)
		}
	}
	if len(text) == 0 || text[len(text)-1] != '\n' {
		return bad("does not end in a newline")
	}
	lines := bytes.Split(text[:len(text)-1], []byte{'\n'})
	if len(lines) < 3 {
		return bad("%d lines, want at least 3", len(lines))
	}
	var c Checkpoint
	if len(lines[0]) == 0 {
		return bad("empty origin")
	}
	c.Origin = string(lines[0])

	size := lines[1]
	if len(size) == 0 || len(size) > 1 && size[0] == '0' {
		return bad("size %q is empty or has leading zeros", size)
	}
	for _, d := range size {
		if d < '0' || d > '9' {
			return bad("size %q is not a decimal number", size)
		}
	}
	n, err := strconv.ParseUint(string(size), 10, 64)
	if err != nil {
		return bad("size %q does not fit 64 bits", size)
	}
	c.Size = n

	h := lines[2]
	if len(h) != base64.StdEncoding.EncodedLen(HashSize) {
		return bad("root hash %q is not %d characters of base64", h, base64.StdEncoding.EncodedLen(HashSize))
	}
	// Strict rejects non-zero padding bits; re-encoding also catches the
	// CR and LF characters the decoder skips.
	var raw [HashSize + 1]byte // 44 characters without padding would decode to 33 bytes
	m, err := base64.StdEncoding.Strict().Decode(raw[:], h)
	copy(c.Hash[:], raw[:])
	if err != nil || m != HashSize || base64.StdEncoding.EncodeToString(c.Hash[:]) != string(h) {
		return bad("root hash %q is not canonical base64 of %d bytes", h, HashSize)
	}

	var ext []string
	for i, line := range lines[3:] {
		if len(line) == 0 {
			return bad("extension line %d is empty", i+1)
		}
		ext = append(ext, string(line))
	}
	return c, ext, nil
}
