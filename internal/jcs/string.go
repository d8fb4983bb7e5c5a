package jcs

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// AppendString reads the JSON string literal that starts at src[pos] (which
// must be '"') and appends its canonical encoding, quotes included, to dst.
// It returns the extended dst and the offset just past the closing quote.
//
// The canonical encoding (RFC 8785 §3.2.2.2) escapes only '"', '\\' and the
// control characters U+0000..U+001F (\b \t \n \f \r in short form, the rest
// as \u00xx with lowercase hex); every other character is raw UTF-8. Invalid
// UTF-8 and lone surrogate escapes are errors.
func AppendString(dst, src []byte, pos int) ([]byte, int, error) {
	dst, end, _, err := appendString(dst, src, pos, true)
	return dst, end, err
}

// AppendUnquoted is AppendString but appends the decoded value (the UTF-8
// bytes the literal denotes, without quotes or escapes).
func AppendUnquoted(dst, src []byte, pos int) ([]byte, int, error) {
	dst, end, _, err := appendString(dst, src, pos, false)
	return dst, end, err
}

// Masks for scanning eight bytes at a time (SWAR).
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// specialBytes returns a word whose high bit is set in the first (lowest
// addressed, as x is read little-endian) byte of x that is not a plain string
// byte: a control character, '"', '\\' or a byte >= 0x80. Bytes above the
// first special one may be flagged spuriously (a borrow), never bytes below
// it, so the trailing zero count locates the first special byte exactly and a
// zero result means all eight are plain.
func specialBytes(x uint64) uint64 {
	control := x - ones*0x20
	quote := (x ^ ones*'"') - ones
	backslash := (x ^ ones*'\\') - ones
	return (control | quote | backslash | x) & highs
}

// appendString decodes the literal at src[pos] and appends either its
// canonical encoding or its decoded bytes. Runs of bytes that are the same in
// both forms (printable ASCII other than '"' and '\\', and valid multi-byte
// UTF-8) are copied in one append; this is the hot loop of event parsing, so
// runs are scanned eight bytes at a time. plain reports that the literal had
// no escape sequence, so that both forms are exactly src[pos+1:end-1].
func appendString(dst, src []byte, pos int, canonical bool) (_ []byte, end int, plain bool, err error) {
	if pos >= len(src) || src[pos] != '"' {
		return dst, pos, false, syntaxErr(pos, "expected string")
	}
	if canonical {
		dst = append(dst, '"')
	}
	i := pos + 1
	run := i
	plain = true
	for i < len(src) {
		for i+8 <= len(src) {
			m := specialBytes(binary.LittleEndian.Uint64(src[i:]))
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(src) {
			break
		}
		c := src[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		switch {
		case c == '"':
			dst = append(dst, src[run:i]...)
			if canonical {
				dst = append(dst, '"')
			}
			return dst, i + 1, plain, nil
		case c == '\\':
			dst = append(dst, src[run:i]...)
			plain = false
			r, n, err := decodeEscape(src, i)
			if err != nil {
				return dst, i, false, err
			}
			if canonical {
				dst = appendEscapedRune(dst, r)
			} else {
				dst = utf8.AppendRune(dst, r)
			}
			i += n
			run = i
		case c < 0x20:
			return dst, i, false, syntaxErr(i, "control character "+hexByte(c)+" in string must be escaped")
		default:
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size <= 1 {
				return dst, i, false, &Error{Offset: i, Reason: "invalid UTF-8 in string"}
			}
			i += size
		}
	}
	return dst, len(src), false, syntaxErr(len(src), "unterminated string")
}

// decodeEscape decodes the escape sequence at src[i] (a backslash) and
// returns the character and the length of the sequence. A \u escape of a
// UTF-16 high surrogate must be followed by one of a low surrogate; the pair
// is one character.
func decodeEscape(src []byte, i int) (rune, int, error) {
	if i+1 >= len(src) {
		return 0, 0, syntaxErr(i, "unterminated escape")
	}
	switch src[i+1] {
	case '"':
		return '"', 2, nil
	case '\\':
		return '\\', 2, nil
	case '/':
		return '/', 2, nil
	case 'b':
		return '\b', 2, nil
	case 'f':
		return '\f', 2, nil
	case 'n':
		return '\n', 2, nil
	case 'r':
		return '\r', 2, nil
	case 't':
		return '\t', 2, nil
	case 'u':
		r, ok := hex4(src, i+2)
		if !ok {
			return 0, 0, syntaxErr(i, `invalid \u escape`)
		}
		if r < 0xD800 || r > 0xDFFF {
			return r, 6, nil
		}
		if r >= 0xDC00 {
			return 0, 0, &Error{Offset: i, Reason: `lone low surrogate \u` + hex4String(r)}
		}
		if i+7 < len(src) && src[i+6] == '\\' && src[i+7] == 'u' {
			lo, ok := hex4(src, i+8)
			if !ok {
				return 0, 0, syntaxErr(i+6, `invalid \u escape`)
			}
			if lo >= 0xDC00 && lo <= 0xDFFF {
				return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), 12, nil
			}
		}
		return 0, 0, &Error{Offset: i, Reason: `lone high surrogate \u` + hex4String(r)}
	}
	return 0, 0, syntaxErr(i, "invalid escape "+quoteByte(src[i+1]))
}

// hex4 decodes four hex digits at src[i:].
func hex4(src []byte, i int) (rune, bool) {
	if i+4 > len(src) {
		return 0, false
	}
	var r rune
	for _, c := range src[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

const lowerHex = "0123456789abcdef"

func hex4String(r rune) string {
	return string([]byte{lowerHex[r>>12&15], lowerHex[r>>8&15], lowerHex[r>>4&15], lowerHex[r&15]})
}

// appendEscapedRune appends r as it appears inside a canonical string.
func appendEscapedRune(dst []byte, r rune) []byte {
	switch r {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\b':
		return append(dst, '\\', 'b')
	case '\t':
		return append(dst, '\\', 't')
	case '\n':
		return append(dst, '\\', 'n')
	case '\f':
		return append(dst, '\\', 'f')
	case '\r':
		return append(dst, '\\', 'r')
	}
	if r < 0x20 {
		return append(dst, '\\', 'u', '0', '0', lowerHex[r>>4], lowerHex[r&15])
	}
	return utf8.AppendRune(dst, r)
}

// AppendQuoted appends the Go string s as a canonical JSON string: escaped
// as a canonical entry holds it, with every invalid UTF-8 byte replaced by
// U+FFFD (as encoding/json does). It is the encoder for JSON that code
// builds by hand (intake mappings), so that it never needs canonicalising.
func AppendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedRune(dst, rune(c))
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = utf8.AppendRune(dst, utf8.RuneError)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
