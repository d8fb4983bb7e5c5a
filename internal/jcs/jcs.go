// Package jcs canonicalises JSON per RFC 8785, the JSON Canonicalization
// Scheme: one exact byte string for every JSON value, so that hashes and
// signatures over JSON are repeatable. stele's log entries and receipts are
// JCS bytes.
//
// The canonical form of a value is:
//   - no whitespace anywhere;
//   - literals true, false, null as themselves;
//   - numbers as ECMAScript's Number.prototype.toString of the IEEE 754
//     double (see AppendNumber);
//   - strings with only '"', '\\' and U+0000..U+001F escaped (\b \t \n \f \r
//     short forms, otherwise \u00xx in lowercase hex), everything else raw
//     UTF-8;
//   - object members sorted by their keys compared as arrays of UTF-16 code
//     units; arrays keep their order.
//
// Parsing is strict, because a canonicaliser that guesses hands two different
// inputs the same hash. Beyond the RFC 8259 grammar it rejects what I-JSON
// (RFC 7493, which RFC 8785 builds on) rejects or leaves ambiguous: duplicate
// object keys (compared after unescaping), invalid UTF-8, lone UTF-16
// surrogate escapes, numbers that overflow a double, and integers written
// without fraction or exponent whose magnitude exceeds 2^53 (they would lose
// digits silently). Nesting is limited (Canonicalizer.MaxDepth).
//
// The package never allocates per value: a Canonicalizer keeps its scratch
// buffers between calls, so the event parser can canonicalise attributes at
// ingest speed.
package jcs

import (
	"errors"
	"slices"
	"strconv"
)

// ErrInvalid is wrapped by every error this package returns: the input is not
// JSON, or is JSON that RFC 8785 refuses to canonicalise. Fix the input; the
// *Error says where and why.
var ErrInvalid = errors.New("jcs: invalid JSON")

// Error locates a problem in the input. It wraps ErrInvalid.
type Error struct {
	Offset int    // byte offset in the input
	Path   string // where in the value, e.g. `geo.tags[2]`; empty at the top
	Reason string // what is wrong
	// Syntax is true when the input breaks the RFC 8259 grammar, and false
	// when it is grammatical JSON that JCS rejects (duplicate keys, invalid
	// UTF-8 inside a string, lone surrogates, number range, nesting depth).
	Syntax bool
}

func (e *Error) Error() string {
	msg := "jcs: offset " + strconv.Itoa(e.Offset) + ": "
	if e.Path != "" {
		msg += e.Path + ": "
	}
	return msg + e.Reason
}

func (e *Error) Unwrap() error { return ErrInvalid }

func syntaxErr(offset int, reason string) *Error {
	return &Error{Offset: offset, Reason: reason, Syntax: true}
}

// DefaultMaxDepth is the nesting limit of a zero Canonicalizer and of
// Canonicalize. It bounds recursion (so hostile input cannot exhaust the
// stack) and comfortably holds a stele entry, whose attributes may nest 32
// deep below the entry's own object.
const DefaultMaxDepth = 64

// Canonicalize appends the canonical form of the JSON text src to dst.
// Whitespace may surround the value; anything else after it is an error. On
// error dst is returned unchanged (truncated to its original length).
func Canonicalize(dst, src []byte) ([]byte, error) {
	var c Canonicalizer
	return c.Canonicalize(dst, src)
}

// A Canonicalizer canonicalises JSON reusing its scratch memory, so that in
// steady state it does not allocate. The zero value is ready to use. A
// Canonicalizer is not safe for concurrent use.
type Canonicalizer struct {
	// MaxDepth limits nesting: the number of objects and arrays that enclose
	// the deepest value, the outermost included (`{}` is depth 1, `[[1]]`
	// depth 2). Zero means DefaultMaxDepth.
	MaxDepth int

	keys    []byte   // decoded keys of the members of the open objects
	members []member // members of the open objects, innermost last
	tmp     []byte   // staging area for reordering one object's members
}

// member is one object member already written to dst.
type member struct {
	keyStart, keyEnd int // decoded key in Canonicalizer.keys
	start, end       int // `"key":value` in dst
	offset           int // offset of the key in src, for error messages
}

// Canonicalize is the package-level Canonicalize with c's scratch memory.
func (c *Canonicalizer) Canonicalize(dst, src []byte) ([]byte, error) {
	n := len(dst)
	pos := skipSpace(src, 0)
	if pos == len(src) {
		return dst, syntaxErr(pos, "empty input")
	}
	dst, pos, err := c.AppendValue(dst, src, pos)
	if err != nil {
		return dst[:n], err
	}
	if pos = skipSpace(src, pos); pos != len(src) {
		return dst[:n], syntaxErr(pos, "unexpected "+quoteByte(src[pos])+" after the JSON value")
	}
	return dst, nil
}

// AppendValue canonicalises the one JSON value that starts at src[pos]
// (leading whitespace is skipped) and appends it to dst. It returns the
// extended dst and the offset just past the value; bytes after the value are
// left for the caller. On error the returned dst has its original length and
// the error is an *Error with an offset into src.
func (c *Canonicalizer) AppendValue(dst, src []byte, pos int) ([]byte, int, error) {
	n := len(dst)
	maxDepth := c.MaxDepth
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	dst, end, err := c.value(dst, src, skipSpace(src, pos), maxDepth)
	if err != nil {
		c.keys = c.keys[:0]
		c.members = c.members[:0]
		return dst[:n], end, err
	}
	return dst, end, nil
}

// value appends the canonical form of the value at src[pos]. depth is how
// many more containers may be opened.
func (c *Canonicalizer) value(dst, src []byte, pos, depth int) ([]byte, int, error) {
	if pos >= len(src) {
		return dst, pos, syntaxErr(pos, "unexpected end of input, expected a value")
	}
	switch b := src[pos]; b {
	case '"':
		return AppendString(dst, src, pos)
	case '{':
		return c.object(dst, src, pos, depth)
	case '[':
		return c.array(dst, src, pos, depth)
	case 't':
		return literal(dst, src, pos, "true")
	case 'f':
		return literal(dst, src, pos, "false")
	case 'n':
		return literal(dst, src, pos, "null")
	default:
		if b == '-' || (b >= '0' && b <= '9') {
			return appendNumberLiteral(dst, src, pos)
		}
		return dst, pos, syntaxErr(pos, "unexpected "+quoteByte(b)+", expected a value")
	}
}

func literal(dst, src []byte, pos int, lit string) ([]byte, int, error) {
	end := pos + len(lit)
	if end > len(src) || string(src[pos:end]) != lit {
		return dst, pos, syntaxErr(pos, "invalid literal, expected "+lit)
	}
	return append(dst, lit...), end, nil
}

func (c *Canonicalizer) array(dst, src []byte, pos, depth int) ([]byte, int, error) {
	if depth == 0 {
		return dst, pos, &Error{Offset: pos, Reason: "nesting too deep"}
	}
	dst = append(dst, '[')
	pos = skipSpace(src, pos+1)
	if pos < len(src) && src[pos] == ']' {
		return append(dst, ']'), pos + 1, nil
	}
	for index := 0; ; index++ {
		var err error
		if dst, pos, err = c.value(dst, src, pos, depth-1); err != nil {
			return dst, pos, addPath(err, "["+strconv.Itoa(index)+"]")
		}
		pos = skipSpace(src, pos)
		if pos >= len(src) {
			return dst, pos, syntaxErr(pos, "unexpected end of input in array")
		}
		switch src[pos] {
		case ',':
			dst = append(dst, ',')
			pos = skipSpace(src, pos+1)
		case ']':
			return append(dst, ']'), pos + 1, nil
		default:
			return dst, pos, syntaxErr(pos, "unexpected "+quoteByte(src[pos])+", expected ',' or ']'")
		}
	}
}

// object writes each member as it is parsed, then, if the keys were not
// already in order, sorts the members and rewrites them in place. Input
// produced by a canonical writer is already sorted, so the common case costs
// one comparison per member.
func (c *Canonicalizer) object(dst, src []byte, pos, depth int) ([]byte, int, error) {
	if depth == 0 {
		return dst, pos, &Error{Offset: pos, Reason: "nesting too deep"}
	}
	dst = append(dst, '{')
	body := len(dst)
	base, keyBase := len(c.members), len(c.keys)
	defer func() {
		c.members = c.members[:base]
		c.keys = c.keys[:keyBase]
	}()
	pos = skipSpace(src, pos+1)
	if pos < len(src) && src[pos] == '}' {
		return append(dst, '}'), pos + 1, nil
	}
	sorted := true
	for {
		if pos >= len(src) || src[pos] != '"' {
			if pos >= len(src) {
				return dst, pos, syntaxErr(pos, "unexpected end of input in object")
			}
			return dst, pos, syntaxErr(pos, "unexpected "+quoteByte(src[pos])+", expected a string key")
		}
		if len(c.members) > base {
			dst = append(dst, ',')
		}
		m := member{keyStart: len(c.keys), start: len(dst), offset: pos}
		var next int
		var plain bool
		var err error
		if dst, next, plain, err = appendString(dst, src, pos, true); err != nil {
			return dst, next, err
		}
		// The key's decoded form is needed for sorting. Without escapes it
		// is the literal's content; otherwise decode it again.
		if plain {
			c.keys = append(c.keys, src[pos+1:next-1]...)
		} else {
			c.keys, _, _, _ = appendString(c.keys, src, pos, false)
		}
		pos = next
		m.keyEnd = len(c.keys)
		key := c.keys[m.keyStart:m.keyEnd]
		if len(c.members) > base {
			prev := c.members[len(c.members)-1]
			switch compareKeys(c.keys[prev.keyStart:prev.keyEnd], key) {
			case 0:
				return dst, m.offset, &Error{Offset: m.offset, Path: pathSegment(key), Reason: "duplicate key"}
			case 1:
				sorted = false
			}
		}
		dst = append(dst, ':')
		pos = skipSpace(src, pos)
		if pos >= len(src) || src[pos] != ':' {
			return dst, pos, syntaxErr(pos, "expected ':' after object key")
		}
		if dst, pos, err = c.value(dst, src, skipSpace(src, pos+1), depth-1); err != nil {
			return dst, pos, addPath(err, pathSegment(key))
		}
		m.end = len(dst)
		c.members = append(c.members, m)
		pos = skipSpace(src, pos)
		if pos >= len(src) {
			return dst, pos, syntaxErr(pos, "unexpected end of input in object")
		}
		if src[pos] == '}' {
			pos++
			break
		}
		if src[pos] != ',' {
			return dst, pos, syntaxErr(pos, "unexpected "+quoteByte(src[pos])+", expected ',' or '}'")
		}
		pos = skipSpace(src, pos+1)
	}
	if !sorted {
		var err error
		if dst, err = c.reorder(dst, body, c.members[base:]); err != nil {
			return dst, pos, err
		}
	}
	return append(dst, '}'), pos, nil
}

// reorder sorts the members written at dst[body:] by key and rewrites them in
// that order. Sorting also brings duplicate keys together, which is how
// duplicates that were not adjacent in the input are found.
func (c *Canonicalizer) reorder(dst []byte, body int, members []member) ([]byte, error) {
	keys := c.keys
	if len(members) <= 12 {
		// Insertion sort: objects are small, and this avoids the indirect
		// comparison calls of slices.SortFunc.
		for i := 1; i < len(members); i++ {
			m := members[i]
			j := i
			for ; j > 0 && compareKeys(keys[members[j-1].keyStart:members[j-1].keyEnd], keys[m.keyStart:m.keyEnd]) > 0; j-- {
				members[j] = members[j-1]
			}
			members[j] = m
		}
	} else {
		slices.SortFunc(members, func(a, b member) int {
			return compareKeys(keys[a.keyStart:a.keyEnd], keys[b.keyStart:b.keyEnd])
		})
	}
	for i := 1; i < len(members); i++ {
		a, b := members[i-1], members[i]
		if compareKeys(keys[a.keyStart:a.keyEnd], keys[b.keyStart:b.keyEnd]) == 0 {
			return dst, &Error{Offset: max(a.offset, b.offset), Path: pathSegment(keys[b.keyStart:b.keyEnd]), Reason: "duplicate key"}
		}
	}
	c.tmp = append(c.tmp[:0], dst[body:]...)
	dst = dst[:body]
	for i, m := range members {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, c.tmp[m.start-body:m.end-body]...)
	}
	return dst, nil
}

func skipSpace(src []byte, pos int) int {
	for pos < len(src) {
		switch src[pos] {
		case ' ', '\t', '\n', '\r':
			pos++
		default:
			return pos
		}
	}
	return pos
}

// addPath prefixes the location of err with seg, the key or [index] of the
// enclosing container. It runs only on the error path.
func addPath(err error, seg string) error {
	e, ok := err.(*Error)
	if !ok {
		return err
	}
	switch {
	case e.Path == "":
		e.Path = seg
	case e.Path[0] == '[':
		e.Path = seg + e.Path
	default:
		e.Path = seg + "." + e.Path
	}
	return e
}

// pathSegment renders a key for a path: as is when it is a plain name, Go
// quoted otherwise, so that a path never hides control characters or dots.
func pathSegment(key []byte) string {
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return strconv.Quote(string(key))
		}
	}
	if len(key) == 0 {
		return `""`
	}
	return string(key)
}

func quoteByte(b byte) string {
	if b >= 0x20 && b < 0x7f {
		return strconv.QuoteRune(rune(b))
	}
	return hexByte(b)
}

func hexByte(b byte) string {
	return "0x" + string([]byte{lowerHex[b>>4], lowerHex[b&15]})
}
