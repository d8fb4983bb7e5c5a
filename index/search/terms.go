package search

import (
	"bytes"
	"errors"
	"net/netip"
	"unicode"
	"unicode/utf8"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/tokenize"
)

// MaxValueLen is the longest field value indexed in full. A longer
// (lowercased) value is indexed by its shortest prefix that is longer than
// MaxValueLen bytes and ends at a rune boundary, so an indexed value longer
// than MaxValueLen (129 to 132 bytes) is always a truncation, and one of at
// most MaxValueLen bytes never is.
const MaxValueLen = 128

// Term keys. Every key in a chunk's dictionary starts with a namespace byte:
//
//	'f' field '\x00' value        field term: lowercased value (truncated)
//	'i' field '\x00' bits addr    IP prefix term: bits is 8, 16 or 24 (IPv4)
//	                              or 32, 48 or 64 (IPv6), addr the first
//	                              bits/8 bytes of the address
//	't' token                     free-text token (internal/tokenize)
//
// Field paths never contain a zero byte (RecordFields reports keys in their
// canonical JSON escaping, where U+0000 is "\u0000"), so sorting keys sorts
// field terms by (field, value) and keeps each field's terms together.
const (
	nsField = 'f'
	nsIP    = 'i'
	nsText  = 't'
)

// ipLevels are the indexed prefix lengths, shortest first.
var (
	ipLevels4 = [...]int{8, 16, 24}
	ipLevels6 = [...]int{32, 48, 64}
)

// FieldIndexed reports whether the scalar leaves at path (a dotted path as
// stele.RecordFields reports it) become field terms: every path except
// id, seq, time, received_at, message and raw (with everything under it).
// Numbers, booleans and null are indexed by their canonical JSON text;
// strings by their lowercased content.
func FieldIndexed(path string) bool {
	switch path {
	case "id", "seq", "time", "received_at", "message":
		return false
	}
	return !IsRaw(path)
}

// IsRaw reports whether path is the raw payload an intake kept, or inside
// it: stored and sealed, but not searched (it repeats what the mapped fields
// say, and would double the index). The query matcher uses it too, on the
// []byte paths of stele.RecordFields, without converting them.
func IsRaw[P ~string | ~[]byte](path P) bool {
	return len(path) >= 3 && string(path[:3]) == "raw" && (len(path) == 3 || path[3] == '.')
}

// TextIndexed reports whether the string leaves at path contribute free-text
// tokens: message and every other string value except id, time,
// received_at (an id is random, and times have their own column) and raw.
// A query matcher that verifies a free-text hit must look at exactly these
// leaves, or the index would miss events the matcher accepts.
func TextIndexed(path string) bool {
	switch path {
	case "id", "seq", "time", "received_at":
		return false
	}
	return !IsRaw(path)
}

// IPField reports whether field is one of the address fields that also get
// prefix terms (actor.ip, source.ip).
func IPField(field string) bool { return field == "actor.ip" || field == "source.ip" }

// Truncated reports whether an indexed value (as Facet reports it) is the
// truncation of a longer value.
func Truncated(value string) bool { return len(value) > MaxValueLen }

// truncLen returns the length of the indexed form of a value of len(v)
// bytes: all of it, or the shortest rune-boundary prefix longer than
// MaxValueLen.
func truncLen(v []byte) int {
	if len(v) <= MaxValueLen {
		return len(v)
	}
	n := MaxValueLen + 1
	for n < len(v) && !utf8.RuneStart(v[n]) {
		n++
	}
	return n
}

// appendLower appends strings.ToLower(s) to dst. Unlike strings.ToLower it
// keeps bytes that are not valid UTF-8 as they are (entries are valid
// UTF-8; a query prefix may end inside a rune). It returns s itself, not a
// copy, when s is already lowercase ASCII.
func appendLower(dst, s []byte) []byte {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			break
		}
		i++
	}
	if i == len(s) {
		return s
	}
	dst = append(dst, s[:i]...)
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, c) // kept as is, so a prefix cut inside a rune still matches
		} else {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += n
	}
	return dst
}

// lower returns s lowercased: s itself when it is lowercase ASCII, else a
// copy made in *buf (which it grows and keeps). Never appending to s matters:
// s may alias the caller's entry.
func lower(buf *[]byte, s []byte) []byte {
	low := appendLower((*buf)[:0], s)
	if len(s) == 0 || &low[0] == &s[0] {
		return s
	}
	*buf = low
	return low
}

// lowerString is appendLower for query arguments.
func lowerString(s string) []byte {
	b := []byte(s)
	return appendLower(nil, b)
}

// fieldKey appends the key of the field term (field, value) to dst. value
// must already be lowercased; it is truncated here. exact is false when the
// value was truncated.
func fieldKey(dst []byte, field string, value []byte) (key []byte, exact bool) {
	n := truncLen(value)
	dst = append(dst, nsField)
	dst = append(dst, field...)
	dst = append(dst, 0)
	// A value longer than MaxValueLen shares its key with every longer
	// value that starts the same, even when it is its own truncation.
	return append(dst, value[:n]...), len(value) <= MaxValueLen
}

// fieldPrefix appends the key prefix shared by every term of field.
func fieldPrefix(dst []byte, ns byte, field string) []byte {
	dst = append(dst, ns)
	dst = append(dst, field...)
	return append(dst, 0)
}

// ipKey appends the key of the bits-long prefix of a (a 4- or 16-byte
// address) in field.
func ipKey(dst []byte, field []byte, a []byte, bits int) []byte {
	dst = append(dst, nsIP)
	dst = append(dst, field...)
	dst = append(dst, 0, byte(bits))
	return append(dst, a[:bits/8]...)
}

// extractor turns one canonical entry into the keys of the terms it
// contributes, and its time. One extractor serves all Adds of an index
// (they are serialized), so its buffers are reused and Add does not
// allocate in the steady state.
type extractor struct {
	keys    []byte   // the keys, concatenated
	ends    []uint32 // end offset of each key in keys
	hashes  []uint64 // memChunk.add's scratch: the hash of each key
	time    int64    // the entry's time, unix seconds (floor)
	hasTime bool

	val  []byte // unescaped string content
	low  []byte // lowercased content
	tok  []byte // tokenizer scratch
	leaf func(path, value []byte) error
}

func newExtractor() *extractor {
	// tok has the capacity tokenize.Each needs, so it never allocates; leaf
	// is one method value, not one per Add.
	e := &extractor{tok: make([]byte, 0, tokenize.MaxToken)}
	e.leaf = e.onLeaf
	return e
}

func (e *extractor) reset() {
	e.keys = e.keys[:0]
	e.ends = e.ends[:0]
	e.hasTime = false
}

// extract resets e and walks entry.
func (e *extractor) extract(entry []byte) error {
	e.reset()
	if err := stele.SearchableFields(entry, e.leaf); err != nil {
		return err
	}
	if !e.hasTime {
		return errors.New(`no "time"`)
	}
	return nil
}

func (e *extractor) key(i int) []byte {
	start := uint32(0)
	if i > 0 {
		start = e.ends[i-1]
	}
	return e.keys[start:e.ends[i]]
}

func (e *extractor) endKey() { e.ends = append(e.ends, uint32(len(e.keys))) }

func (e *extractor) onLeaf(path, value []byte) error {
	if IsRaw(path) {
		return nil
	}
	switch string(path) {
	case "id", "seq", "received_at":
		return nil
	case "time":
		t, ok := parseTime(value)
		if !ok {
			return errBadTime
		}
		e.time, e.hasTime = t, true
		return nil
	case "message":
		content, err := e.content(value)
		if err != nil {
			return err
		}
		e.tokens(content)
		return nil
	}
	if value[0] != '"' {
		// A number or literal: canonical JSON text, already lowercase.
		e.addField(path, value)
		return nil
	}
	content, err := e.content(value)
	if err != nil {
		return err
	}
	e.addField(path, lower(&e.low, content))
	e.tokens(content)
	if IPField(string(path)) {
		e.addIP(path, content)
	}
	return nil
}

// content returns the decoded content of a JSON string literal.
func (e *extractor) content(lit []byte) ([]byte, error) {
	if len(lit) < 2 {
		return nil, errBadString
	}
	if bytes.IndexByte(lit, '\\') < 0 {
		return lit[1 : len(lit)-1], nil
	}
	var err error
	e.val, err = appendUnquoted(e.val[:0], lit)
	return e.val, err
}

func (e *extractor) addField(path, value []byte) {
	n := truncLen(value)
	e.keys = append(e.keys, nsField)
	e.keys = append(e.keys, path...)
	e.keys = append(e.keys, 0)
	e.keys = append(e.keys, value[:n]...)
	e.endKey()
}

func (e *extractor) tokens(content []byte) {
	tokenize.Each(content, e.tok, func(tok []byte) {
		e.keys = append(e.keys, nsText)
		e.keys = append(e.keys, tok...)
		e.endKey()
	})
}

func (e *extractor) addIP(path, content []byte) {
	var a16 [16]byte
	var a []byte
	var levels []int
	if v4, ok := parseIPv4(content); ok {
		a, levels = v4[:], ipLevels4[:]
	} else {
		addr, err := netip.ParseAddr(string(content))
		if err != nil || !addr.Is6() {
			return // not an address: no prefix terms (the entry is not canonical)
		}
		a16 = addr.As16()
		a, levels = a16[:], ipLevels6[:]
	}
	for _, bits := range levels {
		e.keys = ipKey(e.keys, path, a, bits)
		e.endKey()
	}
}

// parseIPv4 parses the canonical dotted-quad form netip produces (no leading
// zeros), without allocating. Anything else reports false.
func parseIPv4(s []byte) (a [4]byte, ok bool) {
	part, val, digits := 0, 0, 0
	for _, c := range s {
		switch {
		case '0' <= c && c <= '9':
			if digits > 0 && val == 0 {
				return a, false // leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return a, false
			}
		case c == '.':
			if digits == 0 || part == 3 {
				return a, false
			}
			a[part] = byte(val)
			part, val, digits = part+1, 0, 0
		default:
			return a, false
		}
	}
	if part != 3 || digits == 0 {
		return a, false
	}
	a[3] = byte(val)
	return a, true
}
