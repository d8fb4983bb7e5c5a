package jcs

import (
	"math"
	"strconv"
)

// maxSafeInt is 2^53, the largest magnitude up to which every integer is an
// IEEE 754 double. An integer literal beyond it would silently lose digits.
const maxSafeInt = 1 << 53

// AppendNumber appends the RFC 8785 §3.2.2.3 serialisation of f, which is
// ECMAScript's Number.prototype.toString: the shortest decimal that round
// trips to f, in plain notation when the decimal exponent is in [-6, 21) and
// in exponent notation ("1e+21", "5e-324") otherwise. -0 is "0".
//
// f must be finite: JSON has no NaN or Infinity, and RFC 8785 makes them an
// error, so AppendNumber panics rather than emit something that is not JSON.
func AppendNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		panic("jcs: AppendNumber of a non-finite number")
	}
	if f == 0 {
		return append(dst, '0')
	}
	// Integers up to 2^53 print as themselves (every one is a distinct
	// double, so no shorter decimal round trips); this is the common case for
	// counters and skips the shortest-digits search. Larger integers print
	// their shortest digits padded with zeros (2^60 is 1152921504606847000).
	if f == math.Trunc(f) && math.Abs(f) <= maxSafeInt {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	// strconv's shortest 'e' form gives the same digits as ECMAScript (the
	// shortest that round trip, the closest of those to f); only the layout
	// differs.
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	if e[0] == '-' {
		dst = append(dst, '-')
		e = e[1:]
	}
	// e is "d[.ddd]e±x": split it into the digits and the exponent n such
	// that f = 0.digits × 10^n (ECMAScript's k digits and n).
	var digits [24]byte
	k := 0
	i := 0
	for ; e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[k] = e[i]
			k++
		}
	}
	exp, _ := strconv.Atoi(string(e[i+1:]))
	n := exp + 1
	d := digits[:k]
	switch {
	case k <= n && n <= 21:
		dst = append(dst, d...)
		for range n - k {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, d[:n]...)
		dst = append(dst, '.')
		dst = append(dst, d[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for range -n {
			dst = append(dst, '0')
		}
		dst = append(dst, d...)
	default:
		dst = append(dst, d[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, d[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}

// appendNumberLiteral scans the JSON number at src[pos], checks it against
// the RFC 8259 grammar and the I-JSON limits RFC 8785 adopts, and appends its
// canonical form. It returns the offset just past the literal.
func appendNumberLiteral(dst, src []byte, pos int) ([]byte, int, error) {
	i := pos
	if i < len(src) && src[i] == '-' {
		i++
	}
	intStart := i
	switch {
	case i < len(src) && src[i] == '0':
		i++
	case i < len(src) && src[i] >= '1' && src[i] <= '9':
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
	default:
		return dst, pos, syntaxErr(i, "invalid number: expected a digit")
	}
	intDigits := i - intStart
	isInt := true
	if i < len(src) && src[i] == '.' {
		isInt = false
		i++
		start := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		if i == start {
			return dst, pos, syntaxErr(i, "invalid number: expected a digit after '.'")
		}
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		isInt = false
		i++
		if i < len(src) && (src[i] == '+' || src[i] == '-') {
			i++
		}
		start := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		if i == start {
			return dst, pos, syntaxErr(i, "invalid number: expected a digit in the exponent")
		}
	}
	lit := src[pos:i]
	if isInt && intDigits <= 16 {
		// The grammar forbids leading zeros, so an integer literal up to 2^53
		// is exactly a double and already canonical, except for "-0".
		var mag uint64
		for _, c := range src[intStart:i] {
			mag = mag*10 + uint64(c-'0')
		}
		if mag == 0 {
			return append(dst, '0'), i, nil
		}
		if mag <= maxSafeInt {
			return append(dst, lit...), i, nil
		}
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil && (math.IsInf(f, 0) || math.IsNaN(f)) {
		return dst, pos, &Error{Offset: pos, Reason: "number " + clip(lit) + " overflows an IEEE 754 double"}
	}
	// Underflow (e.g. 1e-400) is not an error: it rounds to 0, which is the
	// nearest double, exactly as ECMAScript's JSON.parse does.
	n := len(dst)
	dst = AppendNumber(dst, f)
	if isInt && string(dst[n:]) != string(lit) {
		// An integer literal beyond 2^53 would silently change digits
		// (9007199254740993 becomes 9007199254740992). One that is already
		// the canonical text of its double (12345678901234567000, which is
		// what 1.2345678901234567e19 canonicalises to) changes nothing and is
		// accepted, so that canonical output is always a fixed point.
		return dst[:n], pos, &Error{Offset: pos, Reason: "integer " + clip(lit) + " exceeds 2^53; send it as a string to keep every digit"}
	}
	return dst, i, nil
}

// clip shortens a literal for an error message.
func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:37]) + "..."
	}
	return string(b)
}
