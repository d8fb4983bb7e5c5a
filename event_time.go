package stele

import "time"

// timestamp is an RFC 3339 date-time on its way to its canonical form: UTC in
// time.RFC3339Nano layout ("2025-01-02T15:04:05.12Z", fraction trimmed of
// trailing zeros and dropped when zero).
//
// The parser is hand-written rather than time.Parse because it runs for most
// events, must not allocate, and is stricter: it takes exactly RFC 3339's
// date-time production (lowercase "t" and "z" included, as the RFC allows),
// refuses fractions finer than a nanosecond instead of truncating them, and
// refuses leap seconds, which time.Time cannot represent.
type timestamp struct {
	utc       time.Time // the instant; set only when canonical is false
	canonical bool      // the input is already its canonical form
}

// parse parses s, returning why it is not a valid time or "".
func (ts *timestamp) parse(s []byte) string {
	if len(s) < len("2006-01-02T15:04:05") {
		return "too short; want e.g. 2025-01-02T15:04:05Z"
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || s[4] != '-' || s[7] != '-' ||
		(s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return "want the layout 2025-01-02T15:04:05[.999999999](Z|+hh:mm)"
	}
	i := 19
	nanos, fracDigits := 0, 0
	if i < len(s) && s[i] == '.' {
		i++
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			fracDigits++
			if fracDigits > 9 {
				return "more than 9 fractional digits (nanoseconds)"
			}
			nanos = nanos*10 + int(s[i]-'0')
		}
		if fracDigits == 0 {
			return "no digits after '.'"
		}
		for range 9 - fracDigits {
			nanos *= 10
		}
	}
	if i >= len(s) {
		return "missing time zone (Z or +hh:mm)"
	}
	offset := 0
	zone := s[i]
	switch zone {
	case 'Z', 'z':
		i++
	case '+', '-':
		if len(s)-i != 6 || s[i+3] != ':' {
			return "time zone offset must be +hh:mm or -hh:mm"
		}
		oh, ok1 := digits(s[i+1 : i+3])
		om, ok2 := digits(s[i+4 : i+6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return "time zone offset must be +hh:mm or -hh:mm"
		}
		offset = (oh*60 + om) * 60
		if zone == '-' {
			offset = -offset
		}
		i += 6
	default:
		return "missing time zone (Z or +hh:mm)"
	}
	switch {
	case i != len(s):
		return "unexpected text after the time zone"
	case month < 1 || month > 12:
		return "month out of range"
	case day < 1 || day > daysIn(month, year):
		return "day out of range"
	case hour > 23:
		return "hour out of range"
	case minute > 59:
		return "minute out of range"
	case sec == 60:
		return "leap seconds are not supported"
	case sec > 59:
		return "second out of range"
	}
	ts.canonical = s[10] == 'T' && zone == 'Z' && (fracDigits == 0 || s[18+fracDigits+1] != '0')
	if ts.canonical && year >= 1 {
		return "" // four year digits in UTC: in range, nothing to convert
	}
	ts.utc = time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC).Add(-time.Duration(offset) * time.Second)
	if y := ts.utc.Year(); y < 1 || y > 9999 {
		// Year 0000 is refused too: Go's zero time.Time is 0001-01-01,
		// which searches use for "no bound".
		return "outside the years 0001-9999 once converted to UTC"
	}
	return ""
}

// appendUTC appends the canonical form of a time whose input was not
// canonical.
func (ts *timestamp) appendUTC(dst []byte) []byte {
	return ts.utc.AppendFormat(dst, time.RFC3339Nano)
}

func digits(s []byte) (int, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
