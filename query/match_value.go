package query

import (
	"net/netip"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Decoding a record's scalars without allocating: the matcher runs these on
// every leaf it tests.

// appendUnescaped appends the text of a JSON string's content (between the
// quotes) to dst, resolving escapes; with lower it also lowercases it exactly
// as strings.ToLower does (unicode.ToLower rune by rune, invalid UTF-8 as
// U+FFFD). Canonical entries only use \" \\ \b \t \n \f \r and \u00xx, but
// any JSON escape is understood, and a malformed one is kept as written.
func appendUnescaped(dst, content []byte, lower bool) []byte {
	for i := 0; i < len(content); {
		c := content[i]
		if c == '\\' && i+1 < len(content) {
			r, n := unescape(content[i:])
			dst = appendRune(dst, r, lower)
			i += n
			continue
		}
		if c < utf8.RuneSelf {
			if lower && 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(content[i:])
		if lower {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		} else {
			dst = append(dst, content[i:i+n]...)
		}
		i += n
	}
	return dst
}

func appendRune(dst []byte, r rune, lower bool) []byte {
	if lower {
		r = unicode.ToLower(r)
	}
	return utf8.AppendRune(dst, r)
}

// unescape decodes the escape at the start of s (s[0] == '\\', len(s) >= 2)
// and returns the rune and the bytes it took.
func unescape(s []byte) (rune, int) {
	switch e := s[1]; e {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
		r, ok := hex4(s[2:])
		if !ok {
			return 'u', 2 // malformed: keep the letter, drop the backslash
		}
		if utf16.IsSurrogate(r) {
			if len(s) >= 12 && s[6] == '\\' && s[7] == 'u' {
				if low, ok := hex4(s[8:]); ok {
					if pair := utf16.DecodeRune(r, low); pair != utf8.RuneError {
						return pair, 12
					}
				}
			}
			return utf8.RuneError, 6
		}
		return r, 6
	default: // '"', '\\', '/', or not an escape at all
		return rune(e), 2
	}
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// parseAddr parses an IPv4 or IPv6 address as netip.ParseAddr does, but
// from bytes and without allocating, and refusing zones (stele stores
// none). ok is false for anything that is not an address.
func parseAddr(s []byte) (netip.Addr, bool) {
	for _, c := range s {
		if c == ':' {
			return parseAddr6(s)
		}
	}
	a4, ok := parseAddr4(s)
	if !ok {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(a4), true
}

// parseAddr4 parses dotted decimal: four fields 0-255 without leading zeros.
func parseAddr4(s []byte) ([4]byte, bool) {
	var out [4]byte
	field, digits, val := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || field == 4 {
				return out, false
			}
			out[field] = byte(val)
			field++
			digits, val = 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || (digits == 1 && val == 0) {
			return out, false // not a digit, or a leading zero
		}
		val = val*10 + int(c-'0')
		digits++
		if val > 255 {
			return out, false
		}
	}
	return out, field == 4
}

// parseAddr6 parses RFC 4291 text: up to eight hex fields, one "::" for a
// run of zero fields, optionally ending in dotted IPv4.
func parseAddr6(s []byte) (netip.Addr, bool) {
	var ip [16]byte
	ellipsis := -1 // byte offset in ip where "::" stands
	if len(s) >= 2 && s[0] == ':' && s[1] == ':' {
		ellipsis = 0
		s = s[2:]
		if len(s) == 0 {
			return netip.IPv6Unspecified(), true
		}
	}
	i := 0
	for i < 16 {
		n, val := 0, 0
		for n < len(s) && n < 5 {
			d, ok := hexDigit(s[n])
			if !ok {
				break
			}
			val = val<<4 | d
			n++
		}
		if n < len(s) && s[n] == '.' {
			// Dotted IPv4 in the last 32 bits.
			if ellipsis < 0 && i != 12 || i > 12 {
				return netip.Addr{}, false
			}
			a4, ok := parseAddr4(s)
			if !ok {
				return netip.Addr{}, false
			}
			copy(ip[i:], a4[:])
			i += 4
			s = nil
			break
		}
		if n == 0 || n > 4 {
			return netip.Addr{}, false
		}
		ip[i], ip[i+1] = byte(val>>8), byte(val)
		i += 2
		s = s[n:]
		if len(s) == 0 {
			break
		}
		if s[0] != ':' || len(s) == 1 {
			return netip.Addr{}, false
		}
		s = s[1:]
		if s[0] == ':' {
			if ellipsis >= 0 {
				return netip.Addr{}, false // a second "::"
			}
			ellipsis = i
			s = s[1:]
			if len(s) == 0 {
				break
			}
		}
	}
	if len(s) != 0 {
		return netip.Addr{}, false
	}
	if i < 16 {
		if ellipsis < 0 {
			return netip.Addr{}, false
		}
		shift := 16 - i
		copy(ip[ellipsis+shift:], ip[ellipsis:i])
		clear(ip[ellipsis : ellipsis+shift])
	} else if ellipsis >= 0 {
		return netip.Addr{}, false // "::" must stand for at least one zero field
	}
	return netip.AddrFrom16(ip), true
}

func hexDigit(c byte) (int, bool) {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0'), true
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}
