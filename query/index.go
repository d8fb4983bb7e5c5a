package query

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/stele-log/stele/index/search"
	"github.com/stele-log/stele/internal/tokenize"
)

// IndexBackend answers Backend calls from the embedded search index
// (index/search): each clause becomes a bitmap per chunk of 65,536 seqs, and
// the clauses are intersected. A clause the index can answer only
// approximately (a phrase, a sub-second time bound, a value longer than the
// index keeps, a field it does not index) yields a superset, and its
// candidates are reported as not sure so the engine matches their records.
// A negated clause is subtracted only when it is exact; otherwise it is left
// to the record check.
//
// A chunk file found damaged while answering (search.ErrCorrupt) is not
// used: every event of that chunk becomes an unsure candidate, so the
// query is still answered, from the records, and the damage is logged once
// per file. The file is rebuilt at the next start.
type IndexBackend struct {
	x      *search.Index
	logger *slog.Logger
	bufs   sync.Pool // *chunkBufs
	warned sync.Map  // damaged file -> struct{}: logged once
}

// NewIndexBackend returns a Backend over x. x stays owned by the caller.
// logger (may be nil) hears about damaged chunk files.
func NewIndexBackend(x *search.Index, logger *slog.Logger) *IndexBackend {
	b := &IndexBackend{x: x, logger: logger}
	b.bufs.New = func() any { return new(chunkBufs) }
	return b
}

// damaged reports whether err is chunk damage, which eachChunk and its
// callers get around by reading records instead; it logs each file once.
func (b *IndexBackend) damaged(err error) bool {
	if !errors.Is(err, search.ErrCorrupt) {
		return false
	}
	key := err.Error()
	var ce *search.CorruptionError
	if errors.As(err, &ce) {
		key = ce.File
	}
	if _, seen := b.warned.LoadOrStore(key, struct{}{}); !seen && b.logger != nil {
		b.logger.Error("search: damaged index chunk; queries read the records of its events instead, and it is rebuilt at the next start", "err", err)
	}
	return true
}

// chunkBufs is the scratch of one chunk evaluation (24 KiB), pooled.
type chunkBufs struct {
	acc, clause, tmp search.Bitmap
}

// Covered implements Backend.
func (b *IndexBackend) Covered() uint64 { return b.x.Covered() }

// Candidates implements Backend.
func (b *IndexBackend) Candidates(ctx context.Context, q *Query, lo, hi uint64, desc bool, fn func(seq uint64, sure bool) bool) error {
	return b.eachChunk(ctx, q, lo, hi, desc, func(c *search.Chunk, m *search.Bitmap, exact bool) (bool, error) {
		base := c.Base()
		if desc {
			for p := m.Prev(search.ChunkSize - 1); p >= 0; p = m.Prev(p - 1) {
				if !fn(base+uint64(p), exact) {
					return false, nil
				}
			}
			return true, nil
		}
		for p := m.Next(0); p >= 0; p = m.Next(p + 1) {
			if !fn(base+uint64(p), exact) {
				return false, nil
			}
		}
		return true, nil
	})
}

// Facet implements Backend. It answers only when every chunk's evaluation is
// exact, the field is indexed by value, and no counted value is a
// truncation; attributes.* fields are left to the records, since an
// attribute may be an array, which the index counts once per element and the
// record path once per event.
func (b *IndexBackend) Facet(ctx context.Context, q *Query, field string, lo, hi uint64, fn func(value string, count uint64)) (bool, error) {
	if !search.FieldIndexed(field) || strings.HasPrefix(field, "attributes.") {
		return false, nil
	}
	counts := map[string]uint64{}
	ok, err := b.countExact(ctx, q, lo, hi, func(c *search.Chunk, m *search.Bitmap) (bool, error) {
		whole := true
		err := c.Facet(field, m, func(value string, n int) {
			whole = whole && !search.Truncated(value)
			counts[value] += uint64(n)
		})
		return whole, err
	})
	if err != nil || !ok {
		return false, err
	}
	for v, n := range counts {
		fn(v, n)
	}
	return true, nil
}

// Histogram implements Backend. The index keeps times in whole seconds, so
// it answers for intervals that are whole seconds.
func (b *IndexBackend) Histogram(ctx context.Context, q *Query, lo, hi uint64, interval time.Duration, fn func(start time.Time, count uint64)) (bool, error) {
	if interval < time.Second || interval%time.Second != 0 {
		return false, nil
	}
	sec := int64(interval / time.Second)
	buckets := map[int64]uint64{}
	ok, err := b.countExact(ctx, q, lo, hi, func(c *search.Chunk, m *search.Bitmap) (bool, error) {
		return true, c.Times(m, func(_ int, t int64) { buckets[floorDiv(t, sec)*sec]++ })
	})
	if err != nil || !ok {
		return false, err
	}
	for start, n := range buckets {
		fn(time.Unix(start, 0).UTC(), n)
	}
	return true, nil
}

// countExact calls count with each chunk's candidates for q in [lo, hi), as
// long as they are exact and count reports that it could use them (the
// index holds what it needs, undamaged). It reports false otherwise, and the
// caller discards what was counted: the engine then counts from records.
func (b *IndexBackend) countExact(ctx context.Context, q *Query, lo, hi uint64, count func(c *search.Chunk, m *search.Bitmap) (bool, error)) (bool, error) {
	ok := true
	err := b.eachChunk(ctx, q, lo, hi, false, func(c *search.Chunk, m *search.Bitmap, exact bool) (bool, error) {
		if !exact {
			ok = false
			return false, nil
		}
		usable, err := count(c, m)
		if b.damaged(err) {
			usable, err = false, nil
		}
		ok = usable
		return ok, err
	})
	return ok && err == nil, err
}

// eachChunk evaluates q on every chunk overlapping [lo, hi), in seq order
// (reversed when desc), and calls fn with the chunk's candidates (never
// empty) and whether they are exact. fn returns false to stop.
func (b *IndexBackend) eachChunk(ctx context.Context, q *Query, lo, hi uint64, desc bool, fn func(c *search.Chunk, m *search.Bitmap, exact bool) (bool, error)) error {
	if lo >= hi {
		return nil
	}
	snap, err := b.x.Snapshot(lo, hi)
	if err != nil {
		return err
	}
	defer snap.Close()
	bufs := b.bufs.Get().(*chunkBufs)
	defer b.bufs.Put(bufs)
	chunks := snap.Chunks()
	win := timeWindow(q)
	for i := range chunks {
		c := chunks[i]
		if desc {
			c = chunks[len(chunks)-1-i]
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if tmin, tmax := c.TimeBounds(); tmin > tmax || tmax < win.from || tmin >= win.to { // from memory, never damaged
			continue // empty, or no event in the query's time window
		}
		exact, err := evalChunk(c, q, lo, hi, bufs)
		if b.damaged(err) {
			// Every event of the chunk in range, checked on its record.
			base := c.Base()
			bufs.acc.Clear()
			bufs.acc.SetRange(int(max(lo, base)-base), int(min(hi, base+uint64(c.Len()))-base))
			exact, err = false, nil
		}
		if err != nil {
			return err
		}
		if !bufs.acc.Any() {
			continue
		}
		more, err := fn(c, &bufs.acc, exact)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// window is a half-open range of Unix seconds.
type window struct{ from, to int64 }

// timeWindow is the seconds range outside which no event can match q: the
// intersection of its positive time clauses (each the union of its ranges).
func timeWindow(q *Query) window {
	w := window{math.MinInt64, math.MaxInt64}
	for i := range q.Clauses {
		c := &q.Clauses[i]
		if c.Kind != KindTime || c.Neg {
			continue
		}
		u := window{math.MaxInt64, math.MinInt64}
		for _, r := range c.Times {
			from, to, _ := secondsOf(r)
			u.from, u.to = min(u.from, from), max(u.to, to)
		}
		w.from, w.to = max(w.from, u.from), min(w.to, u.to)
	}
	return w
}

// secondsOf converts a time range to whole seconds covering it: [floor(From),
// ceil(To)), open ends as the extremes. exact reports that the seconds range
// selects the same events (both bounds are whole seconds).
func secondsOf(r TimeRange) (from, to int64, exact bool) {
	from, to, exact = math.MinInt64, math.MaxInt64, true
	if !r.From.IsZero() {
		from = r.From.Unix()
		if r.From.Nanosecond() != 0 {
			exact = false // floor: Unix() rounds down
		}
	}
	if !r.To.IsZero() {
		to = r.To.Unix()
		if r.To.Nanosecond() != 0 {
			to++
			exact = false
		}
	}
	return from, to, exact
}

// evalChunk leaves in bufs.acc the positions of c in [lo, hi) that may match
// q, and reports whether they all do.
func evalChunk(c *search.Chunk, q *Query, lo, hi uint64, bufs *chunkBufs) (bool, error) {
	acc := &bufs.acc
	acc.Clear()
	base := c.Base()
	from := int(max(lo, base) - base)
	to := int(min(hi, base+uint64(c.Len())) - base)
	acc.SetRange(from, to)
	exact := true
	for i := range q.Clauses {
		if !acc.Any() {
			return true, nil
		}
		cl := &q.Clauses[i]
		bufs.clause.Clear()
		clauseExact, err := evalClause(c, cl, &bufs.clause, &bufs.tmp)
		if err != nil {
			return false, err
		}
		switch {
		case !cl.Neg:
			acc.And(&bufs.clause)
			exact = exact && clauseExact
		case clauseExact:
			acc.AndNot(&bufs.clause)
		default:
			exact = false // a superset cannot be subtracted: records decide
		}
	}
	return exact, nil
}

// evalClause ORs into dst the positions of c that may satisfy the clause
// (ignoring Neg), and reports whether exactly those do. tmp is scratch.
func evalClause(c *search.Chunk, cl *Clause, dst, tmp *search.Bitmap) (bool, error) {
	switch cl.Kind {
	case KindField:
		return evalField(c, cl, dst, tmp)
	case KindIP:
		fields := []string{cl.Field}
		if cl.Field == "ip" {
			fields = []string{"actor.ip", "source.ip"}
		}
		exact := true
		for _, f := range fields {
			for _, p := range cl.IPs {
				ok, err := c.IP(f, p, dst)
				if err != nil {
					return false, err
				}
				exact = exact && ok
			}
		}
		return exact, nil
	case KindSeq:
		base, n := c.Base(), uint64(c.Len())
		for _, r := range cl.Seqs {
			from, to := max(r.Lo, base), min(r.Hi, base+n)
			if from < to {
				dst.SetRange(int(from-base), int(to-base))
			}
		}
		return true, nil
	case KindTime:
		exact := true
		for _, r := range cl.Times {
			from, to, ok := secondsOf(r)
			if err := c.TimeMask(from, to, dst); err != nil {
				return false, err
			}
			exact = exact && ok
		}
		return exact, nil
	case KindText:
		if len(cl.Tokens) == 0 {
			return true, nil // the matcher never matches a text clause without tokens
		}
		return len(cl.Tokens) == 1, allTokens(c, cl.Tokens, dst, tmp)
	}
	dst.SetRange(0, c.Len()) // unknown kind: everything, checked on records
	return false, nil
}

// evalField handles field:value clauses.
func evalField(c *search.Chunk, cl *Clause, dst, tmp *search.Bitmap) (bool, error) {
	if cl.Field == "message" {
		// message is not indexed by value, but its tokens are: an event
		// whose message equals (or starts with) a value has the value's
		// complete tokens in its text.
		for _, v := range cl.Values {
			toks := tokenize.Strings(v.Value)
			if v.Prefix && len(toks) > 0 && !endsWithSeparator(v.Value) {
				toks = toks[:len(toks)-1] // the last may be cut short
			}
			if len(toks) == 0 {
				dst.SetRange(0, c.Len())
				return false, nil
			}
			tmp.Clear()
			if err := allTokens(c, toks, tmp, nil); err != nil {
				return false, err
			}
			dst.Or(tmp)
		}
		return false, nil
	}
	if !search.FieldIndexed(cl.Field) {
		dst.SetRange(0, c.Len()) // id (negated), or a field the index skips
		return false, nil
	}
	exact := true
	for _, v := range cl.Values {
		var ok bool
		var err error
		if v.Prefix {
			ok, err = c.Prefix(cl.Field, v.Value, dst)
		} else {
			ok, err = c.Term(cl.Field, v.Value, dst)
		}
		if err != nil {
			return false, err
		}
		exact = exact && ok
	}
	return exact, nil
}

// endsWithSeparator reports whether the last rune of s separates tokens,
// so that the last token of s is complete.
func endsWithSeparator(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return len(tokenize.Strings(string(r))) == 0
}

// allTokens sets dst to the positions that have every token (dst must be
// empty). tmp, if not nil, is scratch; otherwise one is allocated.
func allTokens(c *search.Chunk, toks []string, dst, tmp *search.Bitmap) error {
	if err := c.Token(toks[0], dst); err != nil {
		return err
	}
	if len(toks) == 1 {
		return nil
	}
	if tmp == nil {
		tmp = new(search.Bitmap)
	}
	for _, t := range toks[1:] {
		if !dst.Any() {
			return nil
		}
		tmp.Clear()
		if err := c.Token(t, tmp); err != nil {
			return err
		}
		dst.And(tmp)
	}
	return nil
}
