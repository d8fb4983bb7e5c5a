package query

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/stele-log/stele"
)

// Engine runs queries against a log, using a Backend to skip what cannot
// match and scanning the log itself where the backend has not caught up.
// It is safe for concurrent use.
type Engine struct {
	log     Log
	backend Backend // nil: scan everything
}

// NewEngine returns an Engine. backend may be nil, and then every query
// scans the log.
func NewEngine(log Log, backend Backend) *Engine { return &Engine{log: log, backend: backend} }

// SearchOptions shape one page of results.
type SearchOptions struct {
	Limit  int    // results per page; 0 means no limit (export)
	Asc    bool   // oldest first; the default is newest first
	Cursor string // from the previous page's Page.Next
	// Size is the log size the query runs against: the snapshot that makes
	// a query see every event acknowledged before it began. 0 means the
	// log's current size.
	Size uint64
}

// Page describes what Search returned.
type Page struct {
	Size  uint64 // the log size the page was computed against
	Count int    // results passed to fn
	// Next continues after the last result, or is empty when the results
	// are exhausted. It is a keyset cursor: pages stay stable while the log
	// grows.
	Next string
	// Scanned is how many records were read and matched (a cost measure).
	Scanned int
}

// scanBlock is how many entries a scan of unindexed seqs reads at a time.
const scanBlock = 4096

// Search calls fn with every event matching q, newest first (or oldest
// first with Asc), up to Limit. The entry passed to fn is only valid during
// the call.
func (e *Engine) Search(ctx context.Context, q *Query, opts SearchOptions, fn func(seq uint64, entry []byte) error) (Page, error) {
	size := opts.Size
	if size == 0 {
		size = e.log.Size()
	}
	lo, hi := seqBounds(q, size)
	if opts.Cursor != "" {
		c, err := decodeCursor(opts.Cursor, q)
		if err != nil {
			return Page{}, err
		}
		if c.asc != opts.Asc {
			return Page{}, fmt.Errorf("query: the cursor was made for %s order: %w", orderName(c.asc), stele.ErrInvalid)
		}
		if opts.Asc {
			lo = max(lo, c.seq+1)
		} else {
			hi = min(hi, c.seq)
		}
	}
	page := Page{Size: size}
	if lo >= hi {
		return page, nil
	}
	r := &run{e: e, q: q, m: Compile(q), fn: fn, limit: opts.Limit, page: &page}
	var err error
	if ids, ok := idValues(q); ok { // id:X resolves through the id index
		err = r.byID(ctx, ids, lo, hi, opts.Asc)
	} else {
		err = r.search(ctx, lo, hi, opts.Asc)
	}
	if errors.Is(err, errStop) {
		err = nil
	}
	if err != nil {
		return page, err
	}
	if r.done() {
		page.Next = encodeCursor(cursor{asc: opts.Asc, seq: r.last}, q)
	}
	return page, nil
}

// search runs the query on [lo, hi): from the backend below what it covers,
// scanning the log above.
func (r *run) search(ctx context.Context, lo, hi uint64, asc bool) error {
	e := r.e
	covered := uint64(0)
	if e.backend != nil {
		covered = min(e.backend.Covered(), hi)
	}
	var err error
	if asc {
		if err = r.indexed(ctx, lo, max(lo, covered), false); err == nil && !r.done() {
			err = r.scan(ctx, max(lo, covered), hi, false)
		}
	} else {
		if err = r.scan(ctx, max(lo, covered), hi, true); err == nil && !r.done() {
			err = r.indexed(ctx, lo, max(lo, covered), true)
		}
	}
	return err
}

// run is one Search in progress.
type run struct {
	e     *Engine
	q     *Query
	m     *Matcher
	fn    func(uint64, []byte) error
	limit int
	page  *Page
	last  uint64
	err   error
}

var errStop = errors.New("query: stop")

func (r *run) done() bool { return r.limit > 0 && r.page.Count >= r.limit }

// emit passes one result on; it returns errStop once the page is full.
func (r *run) emit(seq uint64, entry []byte) error {
	if err := r.fn(seq, entry); err != nil {
		return err
	}
	r.page.Count++
	r.last = seq
	if r.done() {
		return errStop
	}
	return nil
}

// check reads nothing: it matches an entry already in hand.
func (r *run) check(entry []byte) (bool, error) {
	r.page.Scanned++
	return r.m.Match(entry)
}

// scan matches every entry in [lo, hi) read straight from the log.
func (r *run) scan(ctx context.Context, lo, hi uint64, desc bool) error {
	if lo >= hi {
		return nil
	}
	if !desc {
		return r.e.log.Entries(ctx, lo, int(hi-lo), func(seq uint64, entry []byte) error {
			ok, err := r.check(entry)
			if err != nil || !ok {
				return err
			}
			return r.emit(seq, entry)
		})
	}
	// Newest first: read blocks forward, emit each block backwards.
	type hit struct {
		seq   uint64
		entry []byte
	}
	var hits []hit
	for top := hi; top > lo; {
		bottom := max(lo, top-min(top, scanBlock))
		hits = hits[:0]
		err := r.e.log.Entries(ctx, bottom, int(top-bottom), func(seq uint64, entry []byte) error {
			ok, err := r.check(entry)
			if err == nil && ok {
				hits = append(hits, hit{seq, bytes.Clone(entry)})
			}
			return err
		})
		if err != nil {
			return err
		}
		for i := len(hits) - 1; i >= 0; i-- {
			if err := r.emit(hits[i].seq, hits[i].entry); err != nil {
				return err
			}
		}
		top = bottom
	}
	return nil
}

// indexed asks the backend for candidates in [lo, hi) and reads them.
func (r *run) indexed(ctx context.Context, lo, hi uint64, desc bool) error {
	if lo >= hi {
		return nil
	}
	err := r.e.backend.Candidates(ctx, r.q, lo, hi, desc, func(seq uint64, sure bool) bool {
		r.err = r.e.log.Entries(ctx, seq, 1, func(_ uint64, entry []byte) error {
			if !sure {
				ok, err := r.check(entry)
				if err != nil || !ok {
					return err
				}
			}
			return r.emit(seq, entry)
		})
		return r.err == nil
	})
	if r.err != nil {
		return r.err
	}
	return err
}

// byID answers a query with a positive id: clause through the log's id index.
func (r *run) byID(ctx context.Context, ids []string, lo, hi uint64, asc bool) error {
	type hit struct {
		seq   uint64
		entry []byte
	}
	var hits []hit
	for _, id := range ids {
		seq, entry, err := r.e.log.EntryByID(ctx, []byte(id))
		if errors.Is(err, stele.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if seq < lo || seq >= hi {
			continue
		}
		if ok, err := r.check(entry); err != nil {
			return err
		} else if ok {
			hits = append(hits, hit{seq, entry})
		}
	}
	sort.Slice(hits, func(i, j int) bool { return (hits[i].seq < hits[j].seq) == asc })
	for _, h := range hits {
		if err := r.emit(h.seq, h.entry); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

// idValues returns the values of a positive id: clause, if q has one.
func idValues(q *Query) ([]string, bool) {
	for _, c := range q.Clauses {
		if c.Kind == KindField && c.Field == "id" && !c.Neg && !slices.ContainsFunc(c.Values, func(v Value) bool { return v.Prefix }) {
			var ids []string
			for _, v := range c.Values {
				if !slices.Contains(ids, v.Raw) { // id:a,a is id:a
					ids = append(ids, v.Raw)
				}
			}
			return ids, true
		}
	}
	return nil, false
}

// seqBounds narrows [0, size) by the query's positive seq clauses.
func seqBounds(q *Query, size uint64) (lo, hi uint64) {
	lo, hi = 0, size
	for _, c := range q.Clauses {
		if c.Kind != KindSeq || c.Neg || len(c.Seqs) == 0 {
			continue
		}
		cl, ch := uint64(math.MaxUint64), uint64(0)
		for _, r := range c.Seqs {
			cl, ch = min(cl, r.Lo), max(ch, r.Hi)
		}
		lo, hi = max(lo, cl), min(hi, ch)
	}
	return lo, hi
}

func orderName(asc bool) string {
	if asc {
		return "ascending"
	}
	return "descending"
}

// Tail calls fn for every event matching q with seq >= from, in order, as
// it is sealed, until ctx ends. It is the live tail (SSE, `stele tail`).
func (e *Engine) Tail(ctx context.Context, q *Query, from uint64, fn func(seq uint64, entry []byte) error) error {
	m := Compile(q)
	for {
		size := e.log.Size()
		if from < size {
			err := e.log.Entries(ctx, from, int(size-from), func(seq uint64, entry []byte) error {
				ok, err := m.Match(entry)
				if err != nil || !ok {
					return err
				}
				return fn(seq, entry)
			})
			if err != nil {
				return err
			}
			from = size
		}
		if _, err := e.log.Wait(ctx, from); err != nil {
			return err
		}
	}
}

// lowerField returns a record's value for a facet field, lowercased as the
// index stores it, and whether the record has the field.
func fieldValue(entry []byte, field string) (string, bool, error) {
	var out string
	var found bool
	err := stele.SearchableFields(entry, func(path, value []byte) error {
		if found || string(path) != field {
			return nil
		}
		found = true
		out = string(scalarText(value))
		return nil
	})
	return out, found, err
}

// eventTime returns a record's event time.
func eventTime(entry []byte) (time.Time, error) {
	var t time.Time
	var perr error
	err := stele.SearchableFields(entry, func(path, value []byte) error {
		if string(path) == "time" && len(value) > 2 {
			t, perr = time.Parse(time.RFC3339Nano, string(value[1:len(value)-1]))
		}
		return nil
	})
	if err == nil {
		err = perr
	}
	return t, err
}

// scalarText is a JSON scalar's text as the index stores it: a string's
// content unescaped and lowercased, other scalars as written.
func scalarText(value []byte) []byte {
	if len(value) >= 2 && value[0] == '"' {
		return appendUnescaped(nil, value[1:len(value)-1], true)
	}
	return value
}

// FacetField resolves the field of a stats by= parameter (aliases such as
// actor allowed) to its canonical path. seq, time and ip cannot be counted
// by value.
func FacetField(name string) (string, error) {
	f, err := resolveField(name, 0)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) {
			return "", fmt.Errorf("%s: %w", se.Msg, stele.ErrInvalid)
		}
		return "", err
	}
	if f.kind != KindField && !(f.kind == KindIP && f.path != "ip") {
		return "", fmt.Errorf("%q cannot be counted by value (use interval= for time): %w", name, stele.ErrInvalid)
	}
	if f.path == "id" {
		return "", fmt.Errorf("every event has its own id; count by another field: %w", stele.ErrInvalid)
	}
	return f.path, nil
}

// ParseDuration reads a histogram interval: a Go duration (15m, 1h) with
// optional leading whole days and weeks (1d, 2w).
func ParseDuration(s string) (time.Duration, error) {
	d, why := parseAgo(s)
	if why != "" {
		return 0, fmt.Errorf("query: %q: %s: %w", s, why, stele.ErrInvalid)
	}
	return d, nil
}
