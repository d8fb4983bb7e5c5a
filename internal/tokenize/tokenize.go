// Package tokenize defines how stele splits text into search tokens. The
// search index and the query matcher must agree byte for byte, so both use
// this one function.
//
// A token is a maximal run of Unicode letters and digits, lowercased
// (unicode.ToLower, rune by rune). Everything else separates tokens. Tokens
// longer than MaxToken bytes are cut to their longest prefix of at most
// MaxToken bytes that ends at a rune boundary.
package tokenize

import (
	"unicode"
	"unicode/utf8"
)

// MaxToken bounds a token's length in bytes.
const MaxToken = 64

// Each calls fn with every token of s, in order. The slice passed to fn is
// reused after fn returns. buf is scratch space (may be nil).
func Each(s []byte, buf []byte, fn func(tok []byte)) {
	tok := buf[:0]
	full := false // a rune did not fit: the rest of this token is cut off
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			default:
				if len(tok) > 0 {
					fn(tok)
					tok = tok[:0]
				}
				full = false
				continue
			}
			if !full && len(tok) < MaxToken {
				tok = append(tok, c)
			} else {
				full = true
			}
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		i += n
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			if len(tok) > 0 {
				fn(tok)
				tok = tok[:0]
			}
			full = false
			continue
		}
		r = unicode.ToLower(r)
		if !full && len(tok)+utf8.RuneLen(r) <= MaxToken {
			tok = utf8.AppendRune(tok, r)
		} else {
			full = true
		}
	}
	if len(tok) > 0 {
		fn(tok)
	}
}

// Strings returns the tokens of s (convenience for tests and queries).
func Strings(s string) []string {
	var out []string
	Each([]byte(s), nil, func(t []byte) { out = append(out, string(t)) })
	return out
}
