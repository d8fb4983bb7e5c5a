// Package tokenize defines how stele splits text into search tokens. The
// search index and the query matcher must agree byte for byte, so both use
// this one function.
//
// A token is a maximal run of Unicode letters and digits, lowercased
// (unicode.ToLower, rune by rune). Everything else separates tokens. Tokens
// longer than MaxToken bytes are cut to MaxToken bytes (at a rune boundary).
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
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				tok = appendCapped(tok, c)
			case 'A' <= c && c <= 'Z':
				tok = appendCapped(tok, c+'a'-'A')
			default:
				if len(tok) > 0 {
					fn(tok)
					tok = tok[:0]
				}
			}
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		i += n
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			r = unicode.ToLower(r)
			if len(tok)+utf8.RuneLen(r) <= MaxToken {
				tok = utf8.AppendRune(tok, r)
			}
			continue
		}
		if len(tok) > 0 {
			fn(tok)
			tok = tok[:0]
		}
	}
	if len(tok) > 0 {
		fn(tok)
	}
}

func appendCapped(tok []byte, c byte) []byte {
	if len(tok) < MaxToken {
		return append(tok, c)
	}
	return tok
}

// Strings returns the tokens of s (convenience for tests and queries).
func Strings(s string) []string {
	var out []string
	Each([]byte(s), nil, func(t []byte) { out = append(out, string(t)) })
	return out
}
