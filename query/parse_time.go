package query

import (
	"strings"
	"time"
)

// Time values. A query names either a whole UTC day (2026-11-01) or an
// instant (an RFC 3339 date-time); each denotes a half-open span
// [start, end): the day, or [t, t+1ns). Comparisons and ranges are built
// from those spans, so `>D` starts after the whole day and `A..B` runs
// through the end of B.

const timeForms = "want 2026-11-01, 2026-11-01T10:00:00Z, >X, >=X, <X, <=X or A..B (* for an open end)"

// Bounds of the instants a query may name, in Unix seconds: years 0001-9999
// in UTC. time.Time's zero value (0001-01-01T00:00:00Z) means "open" in a
// TimeRange, so nothing earlier can be a bound.
const (
	minQuerySec = -62135596800 // 0001-01-01T00:00:00Z
	endQuerySec = 253402300800 // 10000-01-01T00:00:00Z
)

// timeValue reads one time value (at text[pos]) as a half-open range.
func parseTimeValue(s string, pos int) (TimeRange, error) {
	op, rest := splitComparison(s)
	if op != "" {
		start, end, err := parseTimeSpan(rest, pos+len(op))
		if err != nil {
			return TimeRange{}, err
		}
		switch op {
		case ">":
			if end.Unix() >= endQuerySec {
				return TimeRange{}, syntaxErr(pos, "nothing is after %s", rest)
			}
			return TimeRange{From: end}, nil
		case ">=":
			return TimeRange{From: start}, nil
		case "<":
			if start.Equal(time.Time{}) {
				return TimeRange{}, syntaxErr(pos, "nothing is before %s", rest)
			}
			return TimeRange{To: start}, nil
		default: // "<="
			return TimeRange{To: end}, nil
		}
	}
	if a, b, ok := strings.Cut(s, ".."); ok {
		var r TimeRange
		if a == "*" && b == "*" {
			return r, syntaxErr(pos, "range %q has no end; leave the time clause out instead", s)
		}
		if a != "*" {
			start, _, err := parseTimeSpan(a, pos)
			if err != nil {
				return r, err
			}
			r.From = start
		}
		if b != "*" {
			_, end, err := parseTimeSpan(b, pos+len(a)+2)
			if err != nil {
				return r, err
			}
			r.To = end
		}
		if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
			return r, syntaxErr(pos, "reversed range %q: %s is after %s", s, a, b)
		}
		return r, nil
	}
	start, end, err := parseTimeSpan(s, pos)
	return TimeRange{From: start, To: end}, err
}

// timeSpan reads a date or an RFC 3339 date-time (at text[pos]) and returns
// the span it denotes, in UTC.
func parseTimeSpan(s string, pos int) (start, end time.Time, err error) {
	if s == "" {
		return start, end, syntaxErr(pos, "missing time; %s", timeForms)
	}
	if len(s) == len("2006-01-02") {
		year, month, day, why := parseDate(s)
		if why != "" {
			return start, end, syntaxErr(pos, "bad date %q: %s", s, why)
		}
		if year == 0 {
			return start, end, syntaxErr(pos, "bad date %q: year 0000 is before the earliest searchable day 0001-01-01", s)
		}
		start = time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 1), nil
	}
	sec, nsec, why := parseTimestamp(s)
	if why != "" {
		if len(s) < len("2006-01-02T15:04:05Z") {
			why = timeForms
		}
		return start, end, syntaxErr(pos, "bad time %q: %s", s, why)
	}
	if sec < minQuerySec || sec >= endQuerySec {
		return start, end, syntaxErr(pos, "bad time %q: outside the years 0001-9999 in UTC", s)
	}
	start = time.Unix(sec, int64(nsec)).UTC()
	return start, start.Add(time.Nanosecond), nil
}

// parseDate reads YYYY-MM-DD; why says what is wrong, or is empty.
func parseDate[T ~string | ~[]byte](s T) (year, month, day int, why string) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, "want YYYY-MM-DD"
	}
	year, ok1 := parseDigits(s[0:4])
	month, ok2 := parseDigits(s[5:7])
	day, ok3 := parseDigits(s[8:10])
	switch {
	case !ok1 || !ok2 || !ok3:
		return 0, 0, 0, "want YYYY-MM-DD"
	case month < 1 || month > 12:
		return 0, 0, 0, "month out of range"
	case day < 1 || day > daysInMonth(month, year):
		return 0, 0, 0, "day out of range"
	}
	return year, month, day, ""
}

// parseTimestamp reads an RFC 3339 date-time exactly as stele's event parser
// does (lowercase t and z allowed, at most 9 fractional digits, no leap
// second) and returns it as Unix seconds and nanoseconds. why says what is
// wrong, or is empty. It does not allocate: the matcher runs it on every
// record's time.
func parseTimestamp[T ~string | ~[]byte](s T) (sec int64, nsec int32, why string) {
	if len(s) < len("2006-01-02T15:04:05Z") {
		return 0, 0, "too short"
	}
	year, month, day, why := parseDate(s[:10])
	if why != "" {
		return 0, 0, why
	}
	hour, ok1 := parseDigits(s[11:13])
	minute, ok2 := parseDigits(s[14:16])
	second, ok3 := parseDigits(s[17:19])
	if !ok1 || !ok2 || !ok3 || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return 0, 0, "want the layout 2006-01-02T15:04:05[.999999999](Z|+hh:mm)"
	}
	switch {
	case hour > 23:
		return 0, 0, "hour out of range"
	case minute > 59:
		return 0, 0, "minute out of range"
	case second == 60:
		return 0, 0, "leap seconds are not supported"
	case second > 59:
		return 0, 0, "second out of range"
	}
	i := 19
	if s[i] == '.' {
		i++
		fracDigits := 0
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if fracDigits++; fracDigits > 9 {
				return 0, 0, "more than 9 fractional digits"
			}
			nsec = nsec*10 + int32(s[i]-'0')
		}
		if fracDigits == 0 {
			return 0, 0, "no digits after '.'"
		}
		for range 9 - fracDigits {
			nsec *= 10
		}
	}
	if i == len(s) {
		return 0, 0, "missing time zone (Z or +hh:mm)"
	}
	offset := 0
	switch zone := s[i]; zone {
	case 'Z', 'z':
		i++
	case '+', '-':
		if len(s)-i != 6 || s[i+3] != ':' {
			return 0, 0, "time zone offset must be +hh:mm or -hh:mm"
		}
		oh, ok1 := parseDigits(s[i+1 : i+3])
		om, ok2 := parseDigits(s[i+4 : i+6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, 0, "time zone offset must be +hh:mm or -hh:mm"
		}
		offset = (oh*60 + om) * 60
		if zone == '-' {
			offset = -offset
		}
		i += 6
	default:
		return 0, 0, "missing time zone (Z or +hh:mm)"
	}
	if i != len(s) {
		return 0, 0, "unexpected text after the time zone"
	}
	sec = daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+second-offset)
	return sec, nsec, ""
}

// daysFromCivil returns the number of days from 1970-01-01 to the given
// proleptic Gregorian date (Howard Hinnant's algorithm), without time.Date,
// which is several times slower.
func daysFromCivil(year, month, day int) int64 {
	y := int64(year)
	if month <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := int64(month+9) % 12
	doy := (153*mp+2)/5 + int64(day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func parseDigits[T ~string | ~[]byte](s T) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysInMonth(month, year int) int {
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
