package search

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"math"
	"math/bits"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stele-log/stele"
)

// maxFuzzFile bounds the inputs FuzzDecodeChunk looks at, so that one input
// cannot make it allocate much (a real chunk file of 65,536 events is a few
// MiB; the seeds are a few KiB).
const maxFuzzFile = 1 << 20

// FuzzDecodeChunk feeds arbitrary bytes to the chunk decoder. It must never
// panic, and it must either reject the input with a *CorruptionError (which
// wraps ErrCorrupt and points inside the file) or accept it. Each input is
// decoded twice: as is, and with ignoreCRC (and the header CRC recomputed)
// so that mutated inputs reach the structural checks behind the CRCs. An
// input that passes the structural checks then has its CRCs recomputed
// (resealed), and the resealed file:
//
//   - decodes with every CRC checked, to the same summary;
//   - answers every read method of Chunk (Term, Prefix, Token, IP, Facet,
//     Present, TimeMask, Times) without an error, since the decoder's
//     promise is that a file it accepts fails later only on I/O errors or
//     damage done after the check, and each answer equals what the
//     documented key layout predicts from the dictionary entries;
//   - re-encodes through the package's writer to a file that decodes to the
//     same terms, times and header, and whose own re-encoding is
//     byte-identical (the writer is deterministic).
//
// Seeds live in testdata/fuzz/FuzzDecodeChunk (see TestWriteFuzzSeeds), and
// files freshly made by the writer are added here, so that the corpus
// follows the format.
func FuzzDecodeChunk(f *testing.F) {
	for _, s := range fuzzSeedChunks(f) {
		f.Add(s.data)
	}
	f.Fuzz(fuzzDecodeChunk)
}

func fuzzDecodeChunk(t *testing.T, data []byte) {
	if len(data) > maxFuzzFile {
		return
	}
	const name = "fuzz.six"
	strict, strictErr := decodeChunk(data, name, false)
	// parseHeader checks the header CRC even with ignoreCRC: recompute it,
	// so that mutated header fields reach their own checks.
	loose := data
	if len(data) >= headerSize {
		loose = bytes.Clone(data)
		binary.LittleEndian.PutUint32(loose[88:], crc(loose[:88]))
	}
	sum, err := decodeChunk(loose, name, true)
	for _, e := range []error{strictErr, err} {
		if e != nil {
			checkCorruptionError(t, e, name, len(data))
		}
	}
	if err != nil {
		if strictErr == nil {
			t.Fatalf("ignoring CRCs rejects a file that passes with them: %v", err)
		}
		return
	}
	fixed := resealChunk(loose, sum)
	if strictErr == nil {
		if !reflect.DeepEqual(strict, sum) {
			t.Fatalf("the summary depends on whether CRCs are checked")
		}
		if !bytes.Equal(fixed, data) {
			t.Fatalf("resealing a file whose CRCs are valid changed it")
		}
	}
	again, err := decodeChunk(fixed, name, false)
	if err != nil {
		t.Fatalf("the resealed file fails with CRCs checked: %v", err)
	}
	if !reflect.DeepEqual(again, sum) {
		t.Fatalf("resealing changed the summary")
	}
	checkDecodedChunk(t, fixed, sum)
}

// checkCorruptionError checks that err reports damage inside the file.
func checkCorruptionError(t *testing.T, err error, name string, size int) {
	t.Helper()
	var ce *CorruptionError
	if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || ce.File != name || ce.Offset < 0 || ce.Offset > int64(size) || ce.Reason == "" {
		t.Fatalf("decode error %v (%T) is not a corruption error within the %d-byte file", err, err, size)
	}
}

// resealChunk returns a copy of b, which decodeChunk accepted with
// ignoreCRC and summarized as s, with every CRC recomputed.
func resealChunk(b []byte, s *summary) []byte {
	out := bytes.Clone(b)
	seal := func(from, end int64) {
		binary.LittleEndian.PutUint32(out[end-crcSize:], crc(out[from:end-crcSize]))
	}
	seal(s.h.timeOff(), s.h.dictOff())
	var it blockIter
	for _, ref := range s.blocks {
		end := ref.dictOff + int64(ref.dictLen)
		it.reset(&s.h, ref, out[ref.dictOff:end-crcSize], "")
		for {
			e, err := it.next()
			if err != nil || e == nil {
				break
			}
			if e.kind == kindList || e.kind == kindBitmap {
				seal(e.ext, e.ext+int64(e.size)+crcSize)
			}
		}
		seal(ref.dictOff, end)
	}
	seal(s.h.indexOff(), s.h.fileSize())
	binary.LittleEndian.PutUint32(out[88:], crc(out[:88]))
	return out
}

// chunkTerm is one dictionary entry: its key and its positions.
type chunkTerm struct {
	key []byte
	pos []int
}

// readTerms returns every dictionary entry of a file that decodeChunk
// accepted, in file order.
func readTerms(t testing.TB, b []byte, s *summary) []chunkTerm {
	t.Helper()
	var terms []chunkTerm
	var it blockIter
	for _, ref := range s.blocks {
		it.reset(&s.h, ref, b[ref.dictOff:ref.dictOff+int64(ref.dictLen)-crcSize], "")
		for {
			e, err := it.next()
			if err != nil {
				t.Fatalf("an accepted file fails a second walk: %v", err)
			}
			if e == nil {
				break
			}
			p := postings{count: e.count, kind: e.kind, single: e.single, n: s.h.count, data: e.data}
			if e.kind == kindList || e.kind == kindBitmap {
				p.data = b[e.ext : e.ext+int64(e.size)]
			}
			terms = append(terms, chunkTerm{key: bytes.Clone(e.key), pos: positionsOf(t, &p)})
		}
	}
	return terms
}

// positionsOf returns the positions of postings that the decoder checked.
func positionsOf(t testing.TB, p *postings) []int {
	var ps []int
	switch p.kind {
	case kindSingle:
		ps = []int{int(p.single)}
	case kindInline, kindList:
		if !walkList(p.data, p.count, p.n, func(q int) { ps = append(ps, q) }) {
			t.Fatalf("an accepted file has a malformed postings list")
		}
	case kindBitmap:
		bitmapWords(p.data, func(i int, w uint64) {
			for ; w != 0; w &= w - 1 {
				ps = append(ps, i*64+bits.TrailingZeros64(w))
			}
		})
	}
	if len(ps) != p.count {
		t.Fatalf("an accepted file has %d positions for a count of %d", len(ps), p.count)
	}
	return ps
}

// splitKey splits a field or IP key into its field and the rest.
func splitKey(key []byte) (field string, rest []byte, ok bool) {
	z := bytes.IndexByte(key, 0)
	if z < 1 || key[0] == nsText {
		return "", nil, false
	}
	return string(key[1:z]), key[z+1:], true
}

// maxFuzzTerms bounds the terms whose queries are asked per input; they
// are spread over the whole dictionary.
const maxFuzzTerms = 64

// checkDecodedChunk queries an accepted file with valid CRCs through the
// Chunk API and compares every answer with its dictionary, then re-encodes
// it with the writer.
func checkDecodedChunk(t *testing.T, b []byte, s *summary) {
	terms := readTerms(t, b, s)
	if len(terms) != s.h.terms {
		t.Fatalf("summary says %d terms, walk finds %d", s.h.terms, len(terms))
	}
	for i := 1; i < len(terms); i++ {
		if bytes.Compare(terms[i-1].key, terms[i].key) >= 0 {
			t.Fatalf("accepted keys out of order: %q, %q", terms[i-1].key, terms[i].key)
		}
	}
	sc := newSealed(s, "fuzz.six", bytes.NewReader(b), nil, int64(len(b)), nil, newBufPool())
	c := sealedChunk(sc)
	q := &chunkQuerier{t: t, c: c, terms: terms}

	times := q.checkTimes(s)
	q.fixedQueries()
	fields := map[string]bool{}
	step := max(1, len(terms)/maxFuzzTerms)
	for i, term := range terms {
		if i%step == 0 || i == len(terms)-1 {
			q.termQueries(term, fields)
		}
	}
	checkReencode(t, s, terms, times)
}

// chunkQuerier runs queries on a decoded chunk and predicts each answer
// from the chunk's dictionary entries, following the key layout documented
// in terms.go.
type chunkQuerier struct {
	t     *testing.T
	c     *Chunk
	terms []chunkTerm
	mask  Bitmap // every third position
}

// withPrefix returns the terms whose key starts with prefix. The decoder
// guarantees that the keys are strictly increasing.
func (q *chunkQuerier) withPrefix(prefix string) []chunkTerm {
	lo := sort.Search(len(q.terms), func(i int) bool { return string(q.terms[i].key) >= prefix })
	hi := lo
	for hi < len(q.terms) && strings.HasPrefix(string(q.terms[hi].key), prefix) {
		hi++
	}
	return q.terms[lo:hi]
}

// union returns the positions of every term whose key starts with prefix
// and satisfies match (nil: every such term).
func (q *chunkQuerier) union(prefix string, match func(key []byte) bool) *Bitmap {
	var b Bitmap
	for _, term := range q.withPrefix(prefix) {
		if match == nil || match(term.key) {
			for _, p := range term.pos {
				b.Set(p)
			}
		}
	}
	return &b
}

// exact returns the positions of the term key (none if it is absent).
func (q *chunkQuerier) exact(key string) *Bitmap {
	return q.union(key, func(k []byte) bool { return string(k) == key })
}

func (q *chunkQuerier) expect(what string, got *Bitmap, err error, want *Bitmap) {
	q.t.Helper()
	if err != nil {
		q.t.Fatalf("%s on an accepted file: %v", what, err)
	}
	if want != nil {
		if d := diffBitmaps(got, want); d != "" {
			q.t.Fatalf("%s: %s", what, d)
		}
	}
	if p := got.Next(q.c.Len()); p >= 0 {
		q.t.Fatalf("%s sets position %d of a %d-event chunk", what, p, q.c.Len())
	}
}

// checkTimes checks Times, TimeMask and TimeBounds against each other and
// returns the times.
func (q *chunkQuerier) checkTimes(s *summary) []int64 {
	t, c := q.t, q.c
	var times []int64
	err := c.Times(nil, func(pos int, tm int64) {
		if pos != len(times) {
			t.Fatalf("Times: position %d after %d events", pos, len(times))
		}
		times = append(times, tm)
	})
	if err != nil || len(times) != c.Len() {
		t.Fatalf("Times: %v after %d of %d events", err, len(times), c.Len())
	}
	tmin, tmax := c.TimeBounds()
	if tmin != slices.Min(times) || tmax != slices.Max(times) || tmin != s.h.minTime || tmax != s.h.maxTime {
		t.Fatalf("TimeBounds %d, %d; the times span %d, %d", tmin, tmax, slices.Min(times), slices.Max(times))
	}
	for p := 0; p < c.Len(); p += 3 {
		q.mask.Set(p)
	}
	masked := 0
	err = c.Times(&q.mask, func(pos int, tm int64) {
		if pos%3 != 0 || tm != times[pos] {
			t.Fatalf("Times(mask): position %d time %d", pos, tm)
		}
		masked++
	})
	if err != nil || masked != q.mask.Count() {
		t.Fatalf("Times(mask): %v after %d of %d events", err, masked, q.mask.Count())
	}
	mid := tmin + (tmax-tmin)/2
	edges := []int64{math.MinInt64, tmin, tmin + 1, mid, tmax, tmax + 1, math.MaxInt64}
	for _, from := range edges {
		for _, to := range edges {
			var got, want Bitmap
			for p, tm := range times {
				if from <= tm && tm < to {
					want.Set(p)
				}
			}
			err := c.TimeMask(from, to, &got)
			q.expect(fmt.Sprintf("TimeMask(%d, %d)", from, to), &got, err, &want)
		}
	}
	return times
}

// fixedQueries asks what any chunk must answer: absent fields, empty and
// over-long arguments, the widest IP prefixes.
func (q *chunkQuerier) fixedQueries() {
	var got Bitmap
	_, err := q.c.Term("no.such.field", "x", &got)
	q.expect("Term(no.such.field)", &got, err, q.exact("fno.such.field\x00x"))
	got.Clear()
	err = q.c.Present("", &got)
	q.expect(`Present("")`, &got, err, q.union("f\x00", nil))
	got.Clear()
	err = q.c.Token("", &got)
	q.expect(`Token("")`, &got, err, q.exact("t"))
	for _, p := range []string{"0.0.0.0/0", "::/0", "10.0.0.0/8", "2001:db8::/32", "10.1.2.3/31", "2001:db8::1/127"} {
		for _, field := range []string{"actor.ip", "source.ip"} {
			q.ipQuery(field, netip.MustParsePrefix(p))
		}
	}
	if _, err := q.c.IP("action", netip.MustParsePrefix("10.0.0.0/8"), &got); !errors.Is(err, ErrInvalid) {
		q.t.Fatalf("IP on a field without addresses = %v, want ErrInvalid", err)
	}
	long := strings.Repeat("é", 100) // 200 bytes
	got.Clear()
	_, err = q.c.Prefix("actor.name", long, &got)
	q.expect("Prefix(actor.name, long)", &got, err, q.prefixWant("actor.name", long))
	got.Clear()
	_, err = q.c.Term("actor.name", long, &got)
	q.expect("Term(actor.name, long)", &got, err, q.termWant("actor.name", long))
}

// lowerStable reports whether a query argument is used as is: valid UTF-8
// that lowercasing does not change.
func lowerStable(s string) bool { return utf8.ValidString(s) && strings.ToLower(s) == s }

// termWant predicts Term(field, value) for a lowercase value, nil otherwise.
func (q *chunkQuerier) termWant(field, value string) *Bitmap {
	if !lowerStable(value) {
		return nil
	}
	key := "f" + field + "\x00" + modelTrunc(value)
	return q.exact(key)
}

// prefixWant predicts Prefix(field, prefix) for a lowercase prefix, nil
// otherwise: the terms whose value starts with prefix or, beyond
// MaxValueLen, the truncated terms that agree with it as far as both go.
func (q *chunkQuerier) prefixWant(field, prefix string) *Bitmap {
	if !lowerStable(prefix) {
		return nil
	}
	start := "f" + field + "\x00"
	return q.union(start+prefix[:min(len(prefix), MaxValueLen+1)], func(k []byte) bool {
		v, ok := strings.CutPrefix(string(k), start)
		switch {
		case !ok:
			return false
		case len(prefix) <= MaxValueLen:
			return strings.HasPrefix(v, prefix)
		}
		return len(v) > MaxValueLen && (strings.HasPrefix(v, prefix) || strings.HasPrefix(prefix, v))
	})
}

// ipWant predicts IP(field, p) as its doc states it, from the terms: a
// whole address is its field term; an IPv4 prefix longer than /24 matches
// the field terms that are dotted quads inside it; otherwise the prefix
// terms of the next indexed length (the longest for IPv6 beyond /64) that
// agree with p on its bits.
func (q *chunkQuerier) ipWant(field string, p netip.Prefix) *Bitmap {
	p = p.Masked()
	addr, n := p.Addr(), p.Bits()
	if n == addr.BitLen() {
		return q.termWant(field, addr.String())
	}
	if addr.Is4() && n > 24 {
		start := "f" + field + "\x00"
		return q.union(start, func(k []byte) bool {
			v, ok := strings.CutPrefix(string(k), start)
			a, err := netip.ParseAddr(v)
			return ok && err == nil && a.Is4() && a.String() == v && p.Contains(a)
		})
	}
	levels, raw := ipLevels6[:], addr.AsSlice()
	if addr.Is4() {
		levels = ipLevels4[:]
	}
	level := levels[len(levels)-1]
	for _, l := range levels {
		if l >= n {
			level = l
			break
		}
	}
	fixed := min(n, level)
	start := append([]byte("i"+field+"\x00"), byte(level))
	return q.union(string(start), func(k []byte) bool {
		a, ok := bytes.CutPrefix(k, start)
		if !ok || len(a) != level/8 {
			return false
		}
		for i := range fixed {
			if (a[i/8]^raw[i/8])&(0x80>>(i%8)) != 0 {
				return false
			}
		}
		return true
	})
}

func (q *chunkQuerier) ipQuery(field string, p netip.Prefix) {
	q.t.Helper()
	var got Bitmap
	exact, err := q.c.IP(field, p, &got)
	q.expect(fmt.Sprintf("IP(%q, %v)", field, p), &got, err, q.ipWant(field, p))
	if want := !p.Addr().Is6() || p.Bits() <= 64 || p.Bits() == 128; exact != want {
		q.t.Fatalf("IP(%q, %v) exact = %v", field, p, exact)
	}
}

// termQueries asks the queries that term's key suggests, and the
// field-wide ones (Present, Facet) once per field.
func (q *chunkQuerier) termQueries(term chunkTerm, fields map[string]bool) {
	t, c := q.t, q.c
	var got Bitmap
	if term.key[0] == nsText {
		tok := string(term.key[1:])
		err := c.Token(tok, &got)
		q.expect(fmt.Sprintf("Token(%q)", tok), &got, err, q.exact(string(term.key)))
		return
	}
	field, rest, ok := splitKey(term.key)
	if !ok {
		return
	}
	if term.key[0] == nsIP {
		if !IPField(field) || len(rest) < 1 {
			return
		}
		raw := make([]byte, 16)
		copy(raw, rest[1:])
		level := int(rest[0])
		var addr netip.Addr
		switch {
		case slices.Contains(ipLevels4[:], level):
			addr = netip.AddrFrom4([4]byte(raw[:4]))
		case slices.Contains(ipLevels6[:], level):
			addr = netip.AddrFrom16([16]byte(raw))
		default:
			return
		}
		for _, n := range []int{level, level - 3} {
			q.ipQuery(field, netip.PrefixFrom(addr, n))
		}
		return
	}
	value := string(rest)
	_, err := c.Term(field, value, &got)
	q.expect(fmt.Sprintf("Term(%q, %q)", field, value), &got, err, q.termWant(field, value))
	prefixes := []string{value, value[:len(value)/2]}
	if len(value) > MaxValueLen {
		prefixes = append(prefixes, value+"~longer") // matches its truncation
	}
	for _, prefix := range prefixes {
		got.Clear()
		_, err = c.Prefix(field, prefix, &got)
		q.expect(fmt.Sprintf("Prefix(%q, %q)", field, prefix), &got, err, q.prefixWant(field, prefix))
	}
	if IPField(field) {
		if a, err := netip.ParseAddr(value); err == nil && a.Zone() == "" {
			for _, n := range []int{a.BitLen(), a.BitLen() - 5, a.BitLen() / 2} {
				q.ipQuery(field, netip.PrefixFrom(a, n))
			}
		}
	}
	if fields[field] {
		return
	}
	fields[field] = true
	start := []byte("f" + field + "\x00")
	got.Clear()
	err = c.Present(field, &got)
	q.expect(fmt.Sprintf("Present(%q)", field), &got, err, q.union(string(start), nil))
	for _, mask := range []*Bitmap{nil, &q.mask} {
		gotCounts := map[string]int{}
		err := c.Facet(field, mask, func(value string, count int) {
			if _, dup := gotCounts[value]; dup {
				t.Fatalf("Facet(%q) reports %q twice", field, value)
			}
			gotCounts[value] = count
		})
		if err != nil {
			t.Fatalf("Facet(%q) on an accepted file: %v", field, err)
		}
		want := map[string]int{}
		for _, term := range q.withPrefix(string(start)) {
			if v, ok := bytes.CutPrefix(term.key, start); ok {
				n := 0
				for _, p := range term.pos {
					if mask == nil || mask.Has(p) {
						n++
					}
				}
				if n > 0 {
					want[string(v)] = n
				}
			}
		}
		if !maps.Equal(gotCounts, want) {
			t.Fatalf("Facet(%q, mask %v) = %v, want %v", field, mask != nil, gotCounts, want)
		}
	}
}

// encodeTerms encodes terms and times with the package's writer.
func encodeTerms(h header, terms []chunkTerm, times []int64) []byte {
	w := newChunkWriter(h.chunkSize, h.base, h.count)
	var list []uint16
	for _, term := range terms {
		list = list[:0]
		for _, p := range term.pos {
			list = append(list, uint16(p))
		}
		w.addTerm(term.key, list)
	}
	return w.finish(times)
}

// checkReencode checks that the writer reproduces an accepted file's
// content, and that its output is a fixed point.
func checkReencode(t *testing.T, s *summary, terms []chunkTerm, times []int64) {
	out := encodeTerms(s.h, terms, times)
	sum, err := decodeChunk(out, "reencoded.six", false)
	if err != nil {
		t.Fatalf("the writer's re-encoding of an accepted file fails: %v", err)
	}
	a, b := s.h, sum.h
	if a.chunkSize != b.chunkSize || a.base != b.base || a.count != b.count || a.terms != b.terms || a.minTime != b.minTime || a.maxTime != b.maxTime {
		t.Fatalf("re-encoding changed the header: %+v, was %+v", b, a)
	}
	if got := readTerms(t, out, sum); !reflect.DeepEqual(got, terms) {
		t.Fatalf("re-encoding changed the terms")
	}
	var again []int64
	if err := sealedChunk(newSealed(sum, "reencoded.six", bytes.NewReader(out), nil, int64(len(out)), nil, newBufPool())).
		Times(nil, func(_ int, tm int64) { again = append(again, tm) }); err != nil || !slices.Equal(again, times) {
		t.Fatalf("re-encoding changed the times (%v)", err)
	}
	if twice := encodeTerms(sum.h, terms, times); !bytes.Equal(twice, out) {
		t.Fatalf("the writer is not deterministic: re-encoding its own output differs")
	}
}

// fuzzSeed is one seed input and what decoding it must give.
type fuzzSeed struct {
	name string
	data []byte
	ok   bool // decodeChunk accepts it with CRCs checked
}

// seedEntries parses NDJSON lines into canonical entries, as the log
// stores them.
func seedEntries(t testing.TB, lines []string, now time.Time) [][]byte {
	t.Helper()
	batch, err := stele.ParseEvents([]byte(strings.Join(lines, "\n")+"\n"), true, now)
	if err != nil {
		t.Fatalf("seed events do not parse: %v", err)
	}
	var ids stele.IDGen
	entries := make([][]byte, batch.Len())
	for i := range entries {
		entries[i] = batch.AppendEntry(nil, i, ids.Next(nil, now), uint64(i))
	}
	return entries
}

// encodeEntries fills a memChunk at base with entries through the
// extractor Add uses, and encodes it with the writer.
func encodeEntries(t testing.TB, entries [][]byte, base uint64, chunkSize int) ([]byte, *memChunk) {
	t.Helper()
	m := newMemChunk(base, maphash.MakeSeed())
	ex := newExtractor()
	for i, e := range entries {
		if err := ex.extract(e); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		m.add(ex)
	}
	return encodeMem(m, chunkSize), m
}

// kindsEvents returns n small events whose terms take all four postings
// kinds in a chunk of 512 when n >= 80: unique values (single), a value on
// 10 events (inline), one on 40 consecutive events (a 40-byte list), and
// the action on every event (a bitmap once n >= 64). Some carry IPv4 and
// IPv6 addresses, one a value longer than MaxValueLen, and one event's time
// is an hour earlier than the rest.
func kindsEvents(n int) []string {
	start := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	lines := make([]string, n)
	for i := range lines {
		tm := start.Add(time.Duration(i) * time.Second)
		if i == n*3/5 {
			tm = tm.Add(-time.Hour)
		}
		ev := fmt.Sprintf(`{"action":"seed.run","time":%q`, tm.Format(time.RFC3339Nano))
		switch {
		case i%16 == 0:
			ev += fmt.Sprintf(`,"attributes":{"k":"single-%d"}`, i)
		case 20 <= i && i < 30:
			ev += `,"attributes":{"k":"Inline"}`
		case 40 <= i && i < 80:
			ev += `,"attributes":{"k":"list"}`
		case i == 5:
			ev += `,"attributes":{"note":"` + strings.Repeat("É", 70) + `"}` // 140 bytes: truncated
		}
		if i%30 == 3 {
			ev += fmt.Sprintf(`,"actor":{"ip":"10.%d.%d.%d"}`, i%3, i/256, i%256)
		}
		if i%45 == 9 {
			ev += fmt.Sprintf(`,"source":{"ip":"2001:db8:%x::%x"}`, i%2, i)
		}
		lines[i] = ev + "}"
	}
	return lines
}

// fuzzSeedChunks makes the seed inputs with the package's writer: a
// partial chunk of 100 events of 512 with every postings kind (at a nonzero
// base), a full chunk of 64, a partial chunk of 4 randomized events
// (unicode, long values, arrays, IPv6), and damaged variants of the chunk of 64: truncated, with a
// bit flipped under a CRC, and with structural errors behind valid CRCs.
// They are kept small (a few KiB at most) because the fuzzer minimizes
// every input that finds new code, at a cost that grows with its length.
func fuzzSeedChunks(t testing.TB) []fuzzSeed {
	now := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	kinds, _ := encodeEntries(t, seedEntries(t, kindsEvents(100), now), 1024, 512)
	small, _ := encodeEntries(t, seedEntries(t, kindsEvents(64), now), 0, 64)
	w := newWorkload(t, 11, 4)
	partial, _ := encodeEntries(t, w.entries, 64*5, 64)
	sum, err := decodeChunk(kinds, "seed", false)
	if err != nil {
		t.Fatalf("the writer's chunk does not decode: %v", err)
	}
	if got := postingsKinds(kinds, sum); len(got) != 4 {
		t.Fatalf("the kinds seed has postings kinds %v, want all four", got)
	}
	sum, err = decodeChunk(small, "seed", false)
	if err != nil {
		t.Fatalf("the writer's chunk does not decode: %v", err)
	}
	flipped := bytes.Clone(small)
	flipped[sum.h.dictOff()+3] ^= 0x10     // in the first key: fails the block's CRC
	unordered := resealChunk(flipped, sum) // the same, resealed: keys out of order
	terms := bytes.Clone(small)
	binary.LittleEndian.PutUint32(terms[32:], uint32(sum.h.terms+1)) // header term count off by one
	binary.LittleEndian.PutUint32(terms[88:], crc(terms[:88]))
	return []fuzzSeed{
		{"kinds-partial-512", kinds, true},
		{"kinds-64", small, true},
		{"workload-partial", partial, true},
		{"truncated-header", small[:headerSize-1], false},
		{"header-only", small[:headerSize], false},
		{"truncated-half", small[:len(small)/2], false},
		{"bitflip-dictionary", flipped, false},
		{"resealed-keys-out-of-order", unordered, false},
		{"resealed-term-count", terms, false},
	}
}

// postingsKinds returns the postings kinds found in an accepted file.
func postingsKinds(b []byte, s *summary) map[int]bool {
	kinds := map[int]bool{}
	var it blockIter
	for _, ref := range s.blocks {
		it.reset(&s.h, ref, b[ref.dictOff:ref.dictOff+int64(ref.dictLen)-crcSize], "")
		for e, err := it.next(); e != nil && err == nil; e, err = it.next() {
			kinds[e.kind] = true
		}
	}
	return kinds
}

// TestDecodeMatchesWriter decodes files the writer made from in-memory
// chunks and compares their terms and times with the memChunk's, then
// checks that re-encoding the decoded terms gives the same bytes.
func TestDecodeMatchesWriter(t *testing.T) {
	w := newWorkload(t, 12, 700)
	for _, tc := range []struct {
		name      string
		entries   [][]byte
		base      uint64
		chunkSize int
	}{
		{"kinds", seedEntries(t, kindsEvents(512), time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)), 1024, 512},
		{"workload full", w.entries[:256], 256, 256},
		{"workload partial", w.entries[:700], 0, 1024},
		{"one event", w.entries[:1], 64, 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, m := encodeEntries(t, tc.entries, tc.base, tc.chunkSize)
			s, err := decodeChunk(b, "x.six", false)
			if err != nil {
				t.Fatal(err)
			}
			if s.h.base != tc.base || s.h.count != len(tc.entries) || s.h.chunkSize != tc.chunkSize {
				t.Fatalf("header %+v", s.h)
			}
			terms := readTerms(t, b, s)
			want := map[string][]int{}
			for ti := range m.terms {
				var ps []int
				for _, p := range m.postingsOf(nil, uint32(ti)) {
					ps = append(ps, int(p))
				}
				want[string(m.termKey(uint32(ti)))] = ps
			}
			if len(terms) != len(want) {
				t.Fatalf("file has %d terms, memChunk %d", len(terms), len(want))
			}
			for _, term := range terms {
				if ps, ok := want[string(term.key)]; !ok || !slices.Equal(ps, term.pos) {
					t.Fatalf("term %q: file %v, memChunk %v", term.key, head(term.pos), head(ps))
				}
			}
			var times []int64
			if err := sealedChunk(newSealed(s, "x.six", bytes.NewReader(b), nil, int64(len(b)), nil, newBufPool())).
				Times(nil, func(_ int, tm int64) { times = append(times, tm) }); err != nil || !slices.Equal(times, m.times) {
				t.Fatalf("times differ from the memChunk's (%v)", err)
			}
			if again := encodeTerms(s.h, terms, times); !bytes.Equal(again, b) {
				t.Fatalf("re-encoding the decoded terms gives different bytes")
			}
		})
	}
}

// TestWriteFuzzSeeds regenerates the committed seed corpus of
// FuzzDecodeChunk when STELE_UPDATE_FUZZ_SEEDS=1. Otherwise it checks that
// the corpus exists and that the seeds still decode as they did: after a
// format change they would only test the rejection of old files.
func TestWriteFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeChunk")
	seeds := fuzzSeedChunks(t)
	if os.Getenv("STELE_UPDATE_FUZZ_SEEDS") == "1" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, s := range seeds {
			body := "go test fuzz v1\n[]byte(" + fmt.Sprintf("%q", s.data) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, s.name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, s := range seeds {
		raw, err := os.ReadFile(filepath.Join(dir, s.name))
		if err != nil {
			t.Fatalf("seed corpus incomplete (%v); regenerate with STELE_UPDATE_FUZZ_SEEDS=1", err)
		}
		data, ok := parseFuzzBytes(string(raw))
		if !ok {
			t.Fatalf("seed %s is not a one-[]byte corpus file", s.name)
		}
		if _, err := decodeChunk(data, s.name, false); (err == nil) != s.ok {
			t.Errorf("seed %s: decodeChunk = %v, want ok = %v; regenerate with STELE_UPDATE_FUZZ_SEEDS=1", s.name, err, s.ok)
		}
	}
}

// parseFuzzBytes reads a corpus file holding one []byte written with %q.
func parseFuzzBytes(file string) ([]byte, bool) {
	body, ok := strings.CutPrefix(file, "go test fuzz v1\n[]byte(")
	if !ok {
		return nil, false
	}
	body, ok = strings.CutSuffix(body, ")\n")
	if !ok {
		return nil, false
	}
	s, err := strconv.Unquote(body)
	return []byte(s), err == nil
}
