package jcs

import "unicode/utf8"

// compareKeys orders two decoded keys (valid UTF-8) as RFC 8785 §3.2.3
// requires: as arrays of UTF-16 code units. Byte order of UTF-8 is code point
// order, which agrees with UTF-16 order except that characters above U+FFFF
// (surrogate pairs, 0xD800..0xDBFF first) sort before U+E000..U+FFFF in
// UTF-16. So bytes are compared until the first difference, and only there
// are the two characters decoded and compared by their first UTF-16 unit.
func compareKeys(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		switch {
		case len(a) < len(b):
			return -1
		case len(a) > len(b):
			return 1
		}
		return 0
	}
	if a[i] < utf8.RuneSelf && b[i] < utf8.RuneSelf {
		return cmpInt(int(a[i]), int(b[i]))
	}
	// Back up to the start of the character the difference is in; the
	// prefix is shared, so it starts at the same offset in both.
	for i > 0 && !utf8.RuneStart(a[i]) {
		i--
	}
	ra, _ := utf8.DecodeRune(a[i:])
	rb, _ := utf8.DecodeRune(b[i:])
	if ua, ub := firstUnit(ra), firstUnit(rb); ua != ub {
		return cmpInt(int(ua), int(ub))
	}
	// Same high surrogate: the low surrogates order like the code points.
	return cmpInt(int(ra), int(rb))
}

// firstUnit is the first UTF-16 code unit of r.
func firstUnit(r rune) rune {
	if r < 0x10000 {
		return r
	}
	return 0xD800 + (r-0x10000)>>10
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
