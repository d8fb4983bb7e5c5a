package query

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stele-log/stele/internal/tokenize"
)

// refMatch is a slow, independent statement of the matcher's semantics,
// written from docs/query.md with encoding/json, net/netip and time: the
// tests and FuzzMatch check that Matcher agrees with it.
func refMatch(q *Query, entry []byte) (bool, error) {
	dec := json.NewDecoder(bytes.NewReader(entry))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return false, err
	}
	var leaves []refLeaf
	refWalk(&leaves, "", root)
	for _, c := range q.Clauses {
		matched := slices.ContainsFunc(leaves, func(l refLeaf) bool { return refClause(c, l) })
		if matched == c.Neg {
			return false, nil
		}
	}
	return true, nil
}

type refLeaf struct {
	path  string
	value any // string, json.Number, bool or nil
}

func refWalk(out *[]refLeaf, path string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			p := k
			if path != "" {
				p = path + "." + k
			}
			refWalk(out, p, child)
		}
	case []any:
		for _, child := range v {
			refWalk(out, path, child)
		}
	default:
		*out = append(*out, refLeaf{path, v})
	}
}

func refClause(c Clause, l refLeaf) bool {
	switch c.Kind {
	case KindField:
		if l.path != c.Field {
			return false
		}
		var text string
		switch v := l.value.(type) {
		case string:
			text = strings.ToLower(v)
		case json.Number:
			text = string(v)
		case bool:
			text = strconv.FormatBool(v)
		case nil:
			text = "null"
		}
		for _, v := range c.Values {
			want := v.Value
			if c.Field == "id" { // ids are keys: compared as written
				text, want = l.value.(string), v.Raw
			}
			if v.Prefix && strings.HasPrefix(text, want) || !v.Prefix && text == want {
				return true
			}
		}
	case KindIP:
		if !(l.path == c.Field || c.Field == "ip" && (l.path == "actor.ip" || l.path == "source.ip")) {
			return false
		}
		s, ok := l.value.(string)
		if !ok {
			return false
		}
		addr, err := netip.ParseAddr(s)
		if err != nil || addr.Zone() != "" {
			return false
		}
		for _, p := range c.IPs {
			if p.Contains(addr) {
				return true
			}
		}
	case KindSeq:
		n, ok := l.value.(json.Number)
		if l.path != "seq" || !ok {
			return false
		}
		seq, err := strconv.ParseUint(string(n), 10, 64)
		if err != nil {
			return false
		}
		for _, r := range c.Seqs {
			if r.Lo <= seq && seq < r.Hi {
				return true
			}
		}
	case KindTime:
		s, ok := l.value.(string)
		if l.path != "time" || !ok {
			return false
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return false
		}
		for _, r := range c.Times {
			if (r.From.IsZero() || !t.Before(r.From)) && (r.To.IsZero() || t.Before(r.To)) {
				return true
			}
		}
	case KindText:
		s, ok := l.value.(string)
		if !ok || len(c.Tokens) == 0 || l.path == "id" || l.path == "time" || l.path == "received_at" {
			return false
		}
		toks := tokenize.Strings(s)
		for i := 0; i+len(c.Tokens) <= len(toks); i++ {
			if slices.Equal(toks[i:i+len(c.Tokens)], c.Tokens) {
				return true
			}
		}
	}
	return false
}
