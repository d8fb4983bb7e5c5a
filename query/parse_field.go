package query

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// fields are the searchable fields of a record and the aliases a query may
// use, for suggestions on a typo. Read-only.
var knownFields = [...]string{
	"action", "category", "outcome", "id", "request_id", "message",
	"actor.type", "actor.id", "actor.name", "actor.ip", "actor.user_agent", "actor.session_id",
	"resource.type", "resource.id", "resource.name",
	"source.service", "source.host", "source.ip",
	"ip", "seq", "time", "actor", "resource", "source",
}

// maxSeq is the largest seq a record can have (stele.ParseRecord refuses
// 2^53 and beyond), so a seq beyond it in a query is a typo.
const maxSeq = 1<<53 - 1

// fieldSpec is a field name of a query resolved to what it searches.
type fieldSpec struct {
	name string // as written, for messages
	path string // canonical dotted path, Clause.Field
	kind Kind
}

// resolveField maps a field name (text[pos:pos+len(name)]) to its spec.
func resolveField(name string, pos int) (fieldSpec, error) {
	f := fieldSpec{name: name, path: name, kind: KindField}
	switch name {
	case "action", "category", "outcome", "id", "request_id", "message",
		"actor.type", "actor.id", "actor.name", "actor.user_agent", "actor.session_id",
		"resource.type", "resource.id", "resource.name", "source.service", "source.host":
		return f, nil
	case "actor":
		f.path = "actor.id"
		return f, nil
	case "resource":
		f.path = "resource.id"
		return f, nil
	case "source":
		f.path = "source.service"
		return f, nil
	case "ip", "actor.ip", "source.ip":
		f.kind = KindIP
		return f, nil
	case "seq":
		f.kind = KindSeq
		return f, nil
	case "time":
		f.kind = KindTime
		return f, nil
	case "received_at":
		return f, syntaxErr(pos, "received_at is not searchable; time: searches the event's time")
	case "raw":
		return f, syntaxErr(pos, "raw (the payload an intake received) is stored and sealed but not searchable; search the fields it was mapped to")
	case "attributes":
		return f, syntaxErr(pos, "attributes needs a key: attributes.<key>, e.g. attributes.region")
	}
	if key, ok := strings.CutPrefix(name, "attributes."); ok {
		return f, checkAttributePath(key, pos+len("attributes."))
	}
	if strings.HasPrefix(name, "raw.") {
		return f, syntaxErr(pos, "raw (the payload an intake received) is stored and sealed but not searchable; search the fields it was mapped to")
	}
	return f, syntaxErr(pos, "unknown field %q; did you mean %s? Custom data is searched as attributes.<key>", name, closestField(name))
}

// checkAttributePath checks the key path after "attributes." (at text[pos]):
// dotted segments, none empty. ',', '*' and '\' are refused so that the
// name reads unambiguously; ' ', ':' and '"' cannot occur (they end the
// name). Keys are compared byte for byte with the entry's, case-sensitively.
func checkAttributePath(key string, pos int) error {
	if key == "" {
		return syntaxErr(pos, "attributes needs a key: attributes.<key>, e.g. attributes.region")
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; c {
		case '.':
			if i == 0 || i == len(key)-1 || key[i-1] == '.' {
				return syntaxErr(pos+i, "empty key in attributes path")
			}
		case ',', '*', '\\':
			return syntaxErr(pos+i, "%q in a field name", c)
		}
	}
	return nil
}

// closestField returns the known field nearest to name by edit distance
// (ties go to the earlier, more common field).
func closestField(name string) string {
	name = strings.ToLower(name)
	best, bestDist := knownFields[0], math.MaxInt
	for _, f := range knownFields {
		if d := editDistance(name, f); d < bestDist {
			best, bestDist = f, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b in bytes. Field names
// are short, so the quadratic table is fine; one row is kept.
func editDistance(a, b string) int {
	if len(a) > 64 {
		a = a[:64] // a long typo is far from everything; bound the work
	}
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			next := min(row[j]+1, row[j-1]+1, diag+cost)
			diag, row[j] = row[j], next
		}
	}
	return row[len(b)]
}

// values interprets a field clause's values according to its kind.
func (f fieldSpec) values(c *Clause, vals []rawValue) error {
	for _, v := range vals {
		if v.quoted && (f.kind == KindSeq || f.kind == KindTime) {
			return syntaxErr(v.pos, "%s values are not quoted", f.name)
		}
		switch f.kind {
		case KindField:
			val, err := parseValue(f, v)
			if err != nil {
				return err
			}
			c.Values = append(c.Values, val)
		case KindIP:
			pfx, err := parseIPValue(f, v)
			if err != nil {
				return err
			}
			c.IPs = append(c.IPs, pfx)
		case KindSeq:
			r, err := parseSeqValue(v.s, v.pos)
			if err != nil {
				return err
			}
			c.Seqs = append(c.Seqs, r)
		case KindTime:
			r, err := parseTimeValue(v.s, v.pos)
			if err != nil {
				return err
			}
			c.Times = append(c.Times, r)
		}
	}
	return nil
}

// fieldValue reads an exact or prefix value. A quoted value is always exact;
// an unquoted one may end in '*' (alone, '*' matches any value: the field is
// present).
func parseValue(f fieldSpec, v rawValue) (Value, error) {
	val := Value{Value: strings.ToLower(v.s), Raw: v.s}
	if !v.quoted {
		if i := strings.IndexByte(v.s, '*'); i >= 0 {
			if i != len(v.s)-1 {
				return val, syntaxErr(v.pos+i, "wildcard '*' only at the end of a value")
			}
			val.Raw = v.s[:i]
			val.Value, val.Prefix = strings.ToLower(val.Raw), true
		}
	}
	if f.path == "outcome" && !val.Prefix {
		switch val.Value {
		case "success", "failure", "denied", "unknown":
		default:
			return val, syntaxErr(v.pos, "outcome is success, failure, denied or unknown, not %q", v.s)
		}
	}
	return val, nil
}

// ipValue reads an address (as a /32 or /128) or a CIDR, masked.
func parseIPValue(f fieldSpec, v rawValue) (netip.Prefix, error) {
	if strings.IndexByte(v.s, '*') >= 0 {
		return netip.Prefix{}, syntaxErr(v.pos, "%s takes addresses and CIDRs, not wildcards: write 10.0.0.0/8 for 10.*", f.name)
	}
	if strings.IndexByte(v.s, '/') >= 0 {
		pfx, err := netip.ParsePrefix(v.s)
		if err != nil {
			return pfx, syntaxErr(v.pos, "%q is not a CIDR (10.0.0.0/8, 2001:db8::/32)", v.s)
		}
		return pfx.Masked(), nil
	}
	addr, err := netip.ParseAddr(v.s)
	if err != nil {
		return netip.Prefix{}, syntaxErr(v.pos, "%q is not an IP address or CIDR", v.s)
	}
	if addr.Zone() != "" {
		return netip.Prefix{}, syntaxErr(v.pos, "%q has an IPv6 zone; stele stores addresses without zones", v.s)
	}
	return netip.PrefixFrom(addr, addr.BitLen()), nil
}

// comparison splits a leading >=, <=, > or < off s.
func splitComparison(s string) (op, rest string) {
	for _, op := range [...]string{">=", "<=", ">", "<"} {
		if rest, ok := strings.CutPrefix(s, op); ok {
			return op, rest
		}
	}
	return "", s
}

const seqForms = "want N, >N, >=N, <N, <=N or A..B"

// seqValue reads one seq value (at text[pos]) as a half-open range.
func parseSeqValue(s string, pos int) (SeqRange, error) {
	op, rest := splitComparison(s)
	if op != "" {
		n, err := parseSeqNumber(rest, pos+len(op))
		if err != nil {
			return SeqRange{}, err
		}
		switch op {
		case ">":
			if n >= maxSeq {
				return SeqRange{}, syntaxErr(pos, "nothing is after seq %d, the largest possible seq", n)
			}
			return SeqRange{Lo: n + 1, Hi: math.MaxUint64}, nil
		case ">=":
			return SeqRange{Lo: n, Hi: math.MaxUint64}, nil
		case "<":
			return SeqRange{Lo: 0, Hi: n}, nil
		default: // "<="
			return SeqRange{Lo: 0, Hi: n + 1}, nil
		}
	}
	if a, b, ok := strings.Cut(s, ".."); ok {
		r := SeqRange{Lo: 0, Hi: math.MaxUint64}
		if a == "*" && b == "*" {
			return r, syntaxErr(pos, "range %q has no end; leave the seq clause out instead", s)
		}
		if a != "*" {
			lo, err := parseSeqNumber(a, pos)
			if err != nil {
				return r, err
			}
			r.Lo = lo
		}
		if b != "*" {
			hi, err := parseSeqNumber(b, pos+len(a)+2)
			if err != nil {
				return r, err
			}
			if hi < r.Lo {
				return r, syntaxErr(pos, "reversed range %q: %d is after %d", s, r.Lo, hi)
			}
			r.Hi = hi + 1
		}
		return r, nil
	}
	n, err := parseSeqNumber(s, pos)
	return SeqRange{Lo: n, Hi: n + 1}, err
}

// seqNumber reads a decimal seq (at text[pos]).
func parseSeqNumber(s string, pos int) (uint64, error) {
	if s == "" {
		return 0, syntaxErr(pos, "missing seq number; %s", seqForms)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, syntaxErr(pos+i, "bad seq %q; %s", s, seqForms)
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > maxSeq {
		return 0, syntaxErr(pos, "seq %s is beyond the largest possible seq %d", s, uint64(maxSeq))
	}
	return n, nil
}
