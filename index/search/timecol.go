package search

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/stele-log/stele/internal/jcs"
)

// Errors of entry extraction; Add wraps them in ErrInvalid.
var (
	errBadTime   = errors.New(`"time" is not an RFC 3339 time`)
	errBadString = errors.New("malformed string")
)

func appendUnquoted(dst, lit []byte) ([]byte, error) {
	dst, end, err := jcs.AppendUnquoted(dst, lit, 0)
	if err == nil && end != len(lit) {
		err = errBadString
	}
	if err != nil {
		return dst, fmt.Errorf("%w: %v", errBadString, err)
	}
	return dst, nil
}

// parseTime returns the unix seconds (rounded down) of a quoted canonical
// time, "YYYY-MM-DDTHH:MM:SS[.fraction]Z". The canonical layout is parsed
// by hand (time.Parse costs more than the rest of Add's work on a field);
// anything else goes through time.Parse.
func parseTime(lit []byte) (int64, bool) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return 0, false
	}
	s := lit[1 : len(lit)-1]
	if t, ok := parseCanonicalTime(s); ok {
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil {
		return 0, false
	}
	return t.Unix(), true
}

func parseCanonicalTime(s []byte) (int64, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return 0, false
	}
	if len(s) > 20 {
		if s[19] != '.' || len(s) == 21 {
			return 0, false
		}
		for _, c := range s[20 : len(s)-1] {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
	}
	num := func(lo, hi int) (int64, bool) {
		v := int64(0)
		for _, c := range s[lo:hi] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int64(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 7)
	day, ok3 := num(8, 10)
	hour, ok4 := num(11, 13)
	minute, ok5 := num(14, 16)
	sec, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	return daysFromCivil(year, month, day)*86400 + hour*3600 + minute*60 + sec, true
}

func daysIn(month, year int64) int64 {
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

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's algorithm).
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// The time column stores each event's time, in position order, as the
// zigzag uvarint of its difference from the previous event's time (the
// first from the chunk's minimum). Events arrive roughly in time order, so
// most differences take one byte.

func appendTimes(dst []byte, times []int64, minTime int64) []byte {
	prev := minTime
	for _, t := range times {
		d := t - prev
		dst = binary.AppendUvarint(dst, uint64(d<<1)^uint64(d>>63))
		prev = t
	}
	return dst
}

// decodeTimes calls fn with every time of a column of count events; it
// fails if the column is malformed or a time lies outside [minTime,
// maxTime]. bad is the offset within col of the first bad byte.
func decodeTimes(col []byte, count int, minTime, maxTime int64, fn func(pos int, t int64)) (bad int, ok bool) {
	prev, off := minTime, 0
	for pos := range count {
		u, n := binary.Uvarint(col[off:])
		if n <= 0 {
			return off, false
		}
		t := prev + (int64(u>>1) ^ -int64(u&1))
		if t < minTime || t > maxTime {
			return off, false
		}
		fn(pos, t)
		prev = t
		off += n
	}
	if off != len(col) {
		return off, false
	}
	return 0, true
}
