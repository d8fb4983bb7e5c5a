package search

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/tokenize"
)

// model is the brute-force reference: for every seq, the facts the index
// must reproduce, computed independently of the index's code (encoding/json
// to decode strings, strings.ToLower, net/netip).
type model struct {
	fields map[string]map[string][]uint64 // field → indexed value → seqs
	tokens map[string][]uint64
	ips    [][]modelIP // by seq
	times  []int64     // by seq
}

type modelIP struct {
	field string
	addr  netip.Addr
}

func newModel() *model {
	return &model{fields: map[string]map[string][]uint64{}, tokens: map[string][]uint64{}}
}

// modelTrunc is the documented truncation: values longer than MaxValueLen
// keep their shortest rune-boundary prefix longer than MaxValueLen.
func modelTrunc(v string) string {
	if len(v) <= MaxValueLen {
		return v
	}
	for n := MaxValueLen + 1; ; n++ {
		if n == len(v) || utf8.RuneStart(v[n]) {
			return v[:n]
		}
	}
}

func addSeq(list []uint64, seq uint64) []uint64 {
	if len(list) > 0 && list[len(list)-1] == seq {
		return list
	}
	return append(list, seq)
}

func (m *model) add(t testing.TB, entry []byte) {
	seq := uint64(len(m.times))
	var ips []modelIP
	hasTime := false
	err := stele.RecordFields(entry, func(path, value []byte) error {
		field := string(path)
		var text string
		isString := value[0] == '"'
		if isString && bytes.IndexByte(value, '\\') < 0 && utf8.Valid(value) {
			// No escape: the JSON string is its bytes between the quotes
			// (RFC 8259), and json.Unmarshal is needlessly slow under -race.
			text = string(value[1 : len(value)-1])
		} else if isString {
			if err := json.Unmarshal(value, &text); err != nil {
				t.Fatalf("model: %s: %v", field, err)
			}
		} else {
			text = string(value)
		}
		switch field {
		case "time":
			tm, err := time.Parse(time.RFC3339Nano, text)
			if err != nil {
				t.Fatalf("model: time %q: %v", text, err)
			}
			m.times = append(m.times, tm.Unix())
			hasTime = true
			return nil
		case "id", "seq", "received_at":
			return nil
		}
		if isString {
			for _, tok := range tokenize.Strings(text) {
				m.tokens[tok] = addSeq(m.tokens[tok], seq)
			}
		}
		if field == "message" {
			return nil
		}
		if m.fields[field] == nil {
			m.fields[field] = map[string][]uint64{}
		}
		v := modelTrunc(strings.ToLower(text))
		m.fields[field][v] = addSeq(m.fields[field][v], seq)
		if field == "actor.ip" || field == "source.ip" {
			if a, err := netip.ParseAddr(text); err == nil {
				ips = append(ips, modelIP{field, a})
			}
		}
		return nil
	})
	if err != nil || !hasTime {
		t.Fatalf("model: entry %s: %v (time %v)", entry, err, hasTime)
	}
	m.ips = append(m.ips, ips)
}

// bitmapOf returns the positions of the seqs of list in [base, base+n).
func bitmapOf(list []uint64, base uint64, n int) *Bitmap {
	var b Bitmap
	for _, p := range positionsIn(list, base, n) {
		b.Set(p)
	}
	return &b
}

// positionsIn returns the positions of the seqs of the sorted list that lie
// in [base, base+n). It finds the range by binary search, so that checking
// a small chunk against a large model costs little.
func positionsIn(list []uint64, base uint64, n int) []int {
	lo, _ := slices.BinarySearch(list, base)
	var out []int
	for _, seq := range list[lo:] {
		if seq >= base+uint64(n) {
			break
		}
		out = append(out, int(seq-base))
	}
	return out
}

// chunkValues restricts one field's values to the chunk [base, base+n):
// each value with at least one event there, and its positions.
func chunkValues(values map[string][]uint64, base uint64, n int) map[string][]int {
	in := map[string][]int{}
	for v, seqs := range values {
		if ps := positionsIn(seqs, base, n); len(ps) > 0 {
			in[v] = ps
		}
	}
	return in
}

func diffBitmaps(got, want *Bitmap) string {
	if *got == *want {
		return ""
	}
	var extra, missing []int
	for p := range got.Ascending() {
		if !want.Has(p) {
			extra = append(extra, p)
		}
	}
	for p := range want.Ascending() {
		if !got.Has(p) {
			missing = append(missing, p)
		}
	}
	return fmt.Sprintf("extra positions %v, missing %v", head(extra), head(missing))
}

func head(s []int) []int {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}

// checkChunk compares every kind of query on c with the model: a sample of
// terms, prefixes, tokens, facets, presence, IP prefixes and time ranges.
// The expected results are computed from the model restricted to the chunk
// (chunkValues), so the cost follows the chunk's size rather than the
// model's.
func checkChunk(t testing.TB, c *Chunk, m *model, rng *rand.Rand) {
	t.Helper()
	base, n := c.Base(), c.Len()
	if n == 0 || base+uint64(n) > uint64(len(m.times)) {
		t.Fatalf("chunk [%d, +%d) outside the model's %d events", base, n, len(m.times))
	}
	where := fmt.Sprintf("chunk %d+%d", base, n)
	tmin, tmax := int64(math.MaxInt64), int64(math.MinInt64)
	for _, tm := range m.times[base : base+uint64(n)] {
		tmin, tmax = min(tmin, tm), max(tmax, tm)
	}
	if gmin, gmax := c.TimeBounds(); gmin != tmin || gmax != tmax {
		t.Fatalf("%s: TimeBounds = %d, %d, want %d, %d", where, gmin, gmax, tmin, tmax)
	}
	for _, field := range slices.Sorted(maps.Keys(m.fields)) {
		values := chunkValues(m.fields[field], base, n)
		if len(values) == 0 {
			continue
		}
		var present Bitmap
		for _, ps := range values {
			for _, p := range ps {
				present.Set(p)
			}
		}
		var got Bitmap
		if err := c.Present(field, &got); err != nil {
			t.Fatalf("%s: Present(%q): %v", where, field, err)
		}
		if d := diffBitmaps(&got, &present); d != "" {
			t.Fatalf("%s: Present(%q): %s", where, field, d)
		}
		checkFacet(t, c, field, values, rng, where)
		// A sample of values, exact and as prefixes. They come from the
		// whole model, so some have no event in this chunk.
		keys := slices.Sorted(maps.Keys(m.fields[field]))
		for range min(len(keys), 8) {
			v := keys[rng.IntN(len(keys))]
			checkTerm(t, c, field, v, values, where)
			if len(v) > 0 {
				checkPrefix(t, c, field, v[:rng.IntN(len(v)+1)], values, where)
			}
		}
		checkTerm(t, c, field, "no such value", values, where)
	}
	toks := slices.Sorted(maps.Keys(m.tokens))
	for range 20 {
		tok := toks[rng.IntN(len(toks))]
		var got Bitmap
		if err := c.Token(tok, &got); err != nil {
			t.Fatalf("%s: Token(%q): %v", where, tok, err)
		}
		if d := diffBitmaps(&got, bitmapOf(m.tokens[tok], base, n)); d != "" {
			t.Fatalf("%s: Token(%q): %s", where, tok, d)
		}
	}
	checkIPs(t, c, m, rng, where)
	checkTimes(t, c, m, rng, where)
}

// setAll returns the positions ps as a Bitmap.
func setAll(ps []int) *Bitmap {
	var b Bitmap
	for _, p := range ps {
		b.Set(p)
	}
	return &b
}

// checkTerm checks one value; values is the field restricted to the chunk.
func checkTerm(t testing.TB, c *Chunk, field, value string, values map[string][]int, where string) {
	t.Helper()
	var got Bitmap
	query := value
	if up := strings.ToUpper(value); strings.ToLower(up) == value {
		query = up // matching is case-insensitive
	}
	exact, err := c.Term(field, query, &got)
	if err != nil {
		t.Fatalf("%s: Term(%q, %q): %v", where, field, query, err)
	}
	if wantExact := len(value) <= MaxValueLen; exact != wantExact {
		t.Fatalf("%s: Term(%q, %q) exact = %v", where, field, value, exact)
	}
	want := setAll(values[modelTrunc(value)])
	if d := diffBitmaps(&got, want); d != "" {
		t.Fatalf("%s: Term(%q, %q): %s", where, field, value, d)
	}
}

// checkPrefix checks one prefix; values is the field restricted to the
// chunk.
func checkPrefix(t testing.TB, c *Chunk, field, prefix string, values map[string][]int, where string) {
	t.Helper()
	var got Bitmap
	exact, err := c.Prefix(field, prefix, &got)
	if err != nil {
		t.Fatalf("%s: Prefix(%q, %q): %v", where, field, prefix, err)
	}
	var want Bitmap
	for v, ps := range values {
		if len(prefix) <= MaxValueLen && strings.HasPrefix(v, prefix) ||
			len(prefix) > MaxValueLen && len(v) > MaxValueLen && (strings.HasPrefix(v, prefix) || strings.HasPrefix(prefix, v)) {
			for _, p := range ps {
				want.Set(p)
			}
		}
	}
	if exact != (len(prefix) <= MaxValueLen) {
		t.Fatalf("%s: Prefix(%q, %q) exact = %v", where, field, prefix, exact)
	}
	if d := diffBitmaps(&got, &want); d != "" {
		t.Fatalf("%s: Prefix(%q, %q): %s", where, field, prefix, d)
	}
}

// checkFacet checks Facet without and with a random mask; values is the
// field restricted to the chunk.
func checkFacet(t testing.TB, c *Chunk, field string, values map[string][]int, rng *rand.Rand, where string) {
	t.Helper()
	var mask Bitmap
	for p := range c.Len() {
		if rng.IntN(3) > 0 {
			mask.Set(p)
		}
	}
	for _, mk := range []*Bitmap{nil, &mask} {
		got := map[string]int{}
		err := c.Facet(field, mk, func(value string, count int) {
			if _, dup := got[value]; dup {
				t.Errorf("%s: Facet(%q) reports %q twice", where, field, value)
			}
			got[value] = count
		})
		if err != nil {
			t.Fatalf("%s: Facet(%q): %v", where, field, err)
		}
		want := map[string]int{}
		for v, ps := range values {
			k := 0
			for _, p := range ps {
				if mk == nil || mk.Has(p) {
					k++
				}
			}
			if k > 0 {
				want[v] = k
			}
		}
		if !maps.Equal(got, want) {
			t.Fatalf("%s: Facet(%q, mask %v) = %v, want %v", where, field, mk != nil, got, want)
		}
	}
}

// checkIPs queries prefixes of every length around addresses of the chunk.
func checkIPs(t testing.TB, c *Chunk, m *model, rng *rand.Rand, where string) {
	t.Helper()
	base, n := c.Base(), c.Len()
	var samples []modelIP
	for seq := base; seq < base+uint64(n); seq++ {
		samples = append(samples, m.ips[seq]...)
	}
	if len(samples) == 0 {
		return
	}
	for range 12 {
		s := samples[rng.IntN(len(samples))]
		bits := rng.IntN(s.addr.BitLen() + 1)
		p, err := s.addr.Prefix(bits)
		if err != nil {
			t.Fatal(err)
		}
		var got Bitmap
		exact, err := c.IP(s.field, p, &got)
		if err != nil {
			t.Fatalf("%s: IP(%q, %v): %v", where, s.field, p, err)
		}
		// want: exact matches; loose: the enclosing /64 for long IPv6 prefixes.
		var want, loose Bitmap
		p64 := p
		if s.addr.Is6() && bits > 64 && bits < 128 {
			p64, _ = s.addr.Prefix(64)
		}
		for seq := base; seq < base+uint64(n); seq++ {
			for _, ip := range m.ips[seq] {
				if ip.field == s.field && p.Contains(ip.addr) {
					want.Set(int(seq - base))
				}
				if ip.field == s.field && p64.Contains(ip.addr) {
					loose.Set(int(seq - base))
				}
			}
		}
		wantExact := p64 == p
		if exact != wantExact {
			t.Fatalf("%s: IP(%q, %v) exact = %v, want %v", where, s.field, p, exact, wantExact)
		}
		if d := diffBitmaps(&got, &loose); d != "" {
			t.Fatalf("%s: IP(%q, %v): %s (want %d events exactly)", where, s.field, p, d, want.Count())
		}
	}
}

func checkTimes(t testing.TB, c *Chunk, m *model, rng *rand.Rand, where string) {
	t.Helper()
	base, n := c.Base(), c.Len()
	tmin, tmax := c.TimeBounds()
	ranges := [][2]int64{{math.MinInt64, math.MaxInt64}, {tmin, tmax}, {tmin, tmax + 1}, {tmax + 1, math.MaxInt64}}
	for range 6 {
		a := tmin - 5 + rng.Int64N(tmax-tmin+10)
		ranges = append(ranges, [2]int64{a, a + rng.Int64N(tmax-tmin+2)})
	}
	for _, r := range ranges {
		var got, want Bitmap
		if err := c.TimeMask(r[0], r[1], &got); err != nil {
			t.Fatalf("%s: TimeMask: %v", where, err)
		}
		for p := range n {
			if tm := m.times[base+uint64(p)]; r[0] <= tm && tm < r[1] {
				want.Set(p)
			}
		}
		if d := diffBitmaps(&got, &want); d != "" {
			t.Fatalf("%s: TimeMask(%d, %d): %s", where, r[0], r[1], d)
		}
	}
	count := 0
	if err := c.Times(nil, func(pos int, tm int64) {
		if tm != m.times[base+uint64(pos)] || pos != count {
			t.Fatalf("%s: Times: position %d time %d, want position %d time %d", where, pos, tm, count, m.times[base+uint64(pos)])
		}
		count++
	}); err != nil || count != n {
		t.Fatalf("%s: Times: %v after %d events, want %d", where, err, count, n)
	}
}
