package query

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stele-log/stele"
)

// String renders q in canonical form: clauses in order separated by one
// space, canonical field names (aliases resolved), values as written
// (Value.Raw; matching ignores case) and quoted only when they must be, seq and time ranges in their shortest form.
// For any query Parse returned, Parse(q.String()) succeeds and yields the
// same clauses (Text and Pos aside). A hand-built Query may hold what the
// language cannot express (a control character, a prefix value with a
// space, an empty range); String then renders its nearest form.
func (q *Query) String() string {
	var b strings.Builder
	for i := range q.Clauses {
		if i > 0 {
			b.WriteByte(' ')
		}
		q.Clauses[i].appendTo(&b)
	}
	return b.String()
}

// String renders one clause in canonical form (see Query.String).
func (c *Clause) String() string {
	var b strings.Builder
	c.appendTo(&b)
	return b.String()
}

func (c *Clause) appendTo(b *strings.Builder) {
	if c.Neg {
		b.WriteByte('-')
	}
	if c.Kind == KindText {
		// A bare word is anything a word may hold: Parse reads it back as is.
		if !c.Phrase && c.Text != "" && c.Text[0] != '-' && !strings.ContainsAny(c.Text, " :\"\\*") {
			b.WriteString(c.Text)
		} else {
			writeQuoted(b, c.Text)
		}
		return
	}
	b.WriteString(c.Field)
	b.WriteByte(':')
	switch c.Kind {
	case KindField:
		for i, v := range c.Values {
			if i > 0 {
				b.WriteByte(',')
			}
			// Raw keeps the case as written, for exact-match indexes;
			// a Raw that disagrees with Value is ignored.
			s := v.Value
			if v.Raw != s && strings.ToLower(v.Raw) == s {
				s = v.Raw
			}
			switch {
			case v.Prefix && (s == "" || isBareValue(s)):
				b.WriteString(s)
				b.WriteByte('*')
			case isBareValue(s):
				b.WriteString(s)
			default:
				writeQuoted(b, s)
			}
		}
	case KindIP:
		for i, pfx := range c.IPs {
			if i > 0 {
				b.WriteByte(',')
			}
			if pfx.IsSingleIP() {
				b.WriteString(pfx.Addr().String())
			} else {
				b.WriteString(pfx.String())
			}
		}
	case KindSeq:
		for i, r := range c.Seqs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(r.String())
		}
	case KindTime:
		for i, r := range c.Times {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(r.String())
		}
	}
}

// bare reports whether a value can be written without quotes.
func isBareValue(s string) bool {
	return s != "" && !strings.ContainsAny(s, " ,\"\\*")
}

func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}

// String renders r as a seq value: N, >=N, <=N or A..B (inclusive), or <0
// for an empty range.
func (r SeqRange) String() string {
	switch {
	case r.Lo >= r.Hi:
		return "<0"
	case r.Hi == math.MaxUint64:
		return ">=" + strconv.FormatUint(r.Lo, 10)
	case r.Lo == 0:
		return "<=" + strconv.FormatUint(r.Hi-1, 10)
	case r.Hi == r.Lo+1:
		return strconv.FormatUint(r.Lo, 10)
	}
	return strconv.FormatUint(r.Lo, 10) + ".." + strconv.FormatUint(r.Hi-1, 10)
}

// String renders r as a time value. When both ends fall on UTC midnight it
// uses dates (2026-11-01, 2026-11-01..2026-11-07, >=2026-11-01), otherwise
// RFC 3339 timestamps; the upper end is written inclusively (<=, ..), as the
// language reads it.
func (r TimeRange) String() string {
	from, to := r.From.UTC(), r.To.UTC()
	days := (r.From.IsZero() || isMidnightUTC(from)) && (r.To.IsZero() || isMidnightUTC(to))
	format := func(t time.Time) string { return t.Format(time.RFC3339Nano) }
	last := func(t time.Time) time.Time { return t.Add(-time.Nanosecond) } // the last instant before t
	if days {
		format = func(t time.Time) string { return t.Format(time.DateOnly) }
		last = func(t time.Time) time.Time { return t.AddDate(0, 0, -1) }
	}
	switch {
	case r.From.IsZero() && r.To.IsZero():
		return ">=0001-01-01" // everything: zero From is open, and so is this bound
	case r.To.IsZero():
		return ">=" + format(from)
	case r.From.IsZero():
		return "<=" + format(last(to))
	case format(from) == format(last(to)):
		return format(from)
	}
	return format(from) + ".." + format(last(to))
}

func isMidnightUTC(t time.Time) bool {
	return t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0
}

// AndTime returns a copy of q with one more clause: the event time must fall
// in tr (the API's since= and until=, the CLI's --since). A fully open tr
// adds nothing. The clause's canonical text is appended to Text, so Text
// stays a query that parses to the result. tr should not be empty (From
// before To): the result would match nothing and its String would not parse;
// the API refuses since >= until before it gets here. q is not modified.
func (q *Query) AndTime(tr TimeRange) *Query {
	out := &Query{Text: q.Text, Clauses: slices.Clone(q.Clauses), scope: q.scope}
	if out.scope == "" {
		out.scope = q.String()
	}
	if tr.From.IsZero() && tr.To.IsZero() {
		return out
	}
	if !tr.From.IsZero() {
		tr.From = tr.From.UTC() // also drops a monotonic reading
	}
	if !tr.To.IsZero() {
		tr.To = tr.To.UTC()
	}
	c := Clause{Kind: KindTime, Field: "time", Times: []TimeRange{tr}}
	if out.Text != "" {
		out.Text += " "
	}
	c.Pos = len(out.Text)
	out.Text += c.String()
	out.Clauses = append(out.Clauses, c)
	return out
}

// ParseSince reads a point in time for since=/until= and --since: either a
// duration back from now (a Go duration such as 90m or 1h30m, or whole days
// and weeks: 7d, 2w, 1d12h) or an absolute date (2026-11-01, its start in
// UTC) or RFC 3339 timestamp. The result is in UTC. Errors wrap
// stele.ErrInvalid.
func ParseSince(s string, now time.Time) (time.Time, error) {
	if len(s) >= len("2006-01-02") && s[4] == '-' {
		start, _, err := parseTimeSpan(s, 0)
		if err != nil {
			var se *SyntaxError
			if errors.As(err, &se) {
				return time.Time{}, fmt.Errorf("query: %s: %w", se.Msg, stele.ErrInvalid)
			}
			return time.Time{}, err
		}
		return start, nil
	}
	d, why := parseAgo(s)
	if why != "" {
		return time.Time{}, fmt.Errorf("query: %q: %s; want a duration (90m, 24h, 7d, 2w) or a date or time (2026-11-01, 2026-11-01T10:00:00Z): %w", s, why, stele.ErrInvalid)
	}
	return now.Add(-d).UTC(), nil
}

// parseAgo reads a non-negative duration with optional leading whole days
// (d) and weeks (w) before what time.ParseDuration takes.
func parseAgo(s string) (time.Duration, string) {
	if s == "" {
		return 0, "empty"
	}
	if s[0] == '-' || s[0] == '+' {
		return 0, "no sign: it counts back from now"
	}
	var total time.Duration
	rest := s
	for {
		n := 0
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 0 || n == len(rest) || (rest[n] != 'd' && rest[n] != 'w') {
			break
		}
		unit := 24 * time.Hour
		if rest[n] == 'w' {
			unit *= 7
		}
		count, err := strconv.ParseInt(rest[:n], 10, 64)
		if err != nil || count > math.MaxInt64/int64(unit) || total > math.MaxInt64-time.Duration(count)*unit {
			return 0, "too long ago"
		}
		total += time.Duration(count) * unit
		rest = rest[n+1:]
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, "not a duration"
		}
		if d < 0 || rest[0] == '-' || rest[0] == '+' {
			return 0, "no sign: it counts back from now"
		}
		if total > math.MaxInt64-d {
			return 0, "too long ago"
		}
		total += d
	}
	return total, ""
}
