package query

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/stele-log/stele"
)

// StatsOptions choose what Stats counts.
type StatsOptions struct {
	By       string        // facet field (canonical path, e.g. "action", "actor.id"); "" for none
	Top      int           // most frequent values to return; default 10
	Interval time.Duration // time histogram bucket width; 0 for none
	Size     uint64        // snapshot size; 0 means the log's current size
}

// Stats is what a console draws: a total, top values and a histogram.
type Stats struct {
	Size    uint64       `json:"size"`
	Total   uint64       `json:"total"`
	By      string       `json:"by,omitempty"`
	Values  []ValueCount `json:"values,omitempty"`
	Others  uint64       `json:"others,omitempty"`  // matching events with other values (beyond Top)
	Missing uint64       `json:"missing,omitempty"` // matching events without the field
	// Interval and Buckets form the histogram: contiguous buckets from the
	// first to the last non-empty one.
	Interval string   `json:"interval,omitempty"`
	Buckets  []Bucket `json:"buckets,omitempty"`
	Scanned  int      `json:"scanned"` // records read to answer (the rest came from the index)
}

// ValueCount is one facet value.
type ValueCount struct {
	Value string `json:"value"`
	Count uint64 `json:"count"`
}

// Bucket is one histogram bucket: events with Start <= time < Start+Interval.
type Bucket struct {
	Start time.Time `json:"start"`
	Count uint64    `json:"count"`
}

// maxBuckets bounds a histogram.
const maxBuckets = 100_000

// Stats counts the events matching q: in total, by a field, and over time.
func (e *Engine) Stats(ctx context.Context, q *Query, opts StatsOptions) (*Stats, error) {
	if opts.Top <= 0 {
		opts.Top = 10
	}
	if opts.Interval < 0 || (opts.Interval > 0 && opts.Interval < time.Second) || opts.Interval%time.Second != 0 {
		return nil, fmt.Errorf("query: interval %v: want a whole number of seconds, at least 1s: %w", opts.Interval, stele.ErrInvalid)
	}
	size := opts.Size
	if size == 0 {
		size = e.log.Size()
	}
	st := &Stats{Size: size, By: opts.By}
	lo, hi := seqBounds(q, size)
	if lo >= hi {
		return st, nil
	}
	covered := lo
	if e.backend != nil {
		covered = max(lo, min(e.backend.Covered(), hi))
	}
	values := map[string]uint64{}
	buckets := map[int64]uint64{}
	sec := int64(opts.Interval / time.Second)

	// Events the index covers: ask it, or check its candidates' records.
	facetDone, histDone := opts.By == "", opts.Interval == 0
	if covered > lo {
		var err error
		if !facetDone {
			facetDone, err = e.backend.Facet(ctx, q, opts.By, lo, covered, func(v string, n uint64) { values[v] += n })
			if err != nil {
				return nil, err
			}
		}
		if !histDone {
			histDone, err = e.backend.Histogram(ctx, q, lo, covered, opts.Interval, func(start time.Time, n uint64) { buckets[start.Unix()] += n })
			if err != nil {
				return nil, err
			}
		}
	}
	count := func(entry []byte) error {
		st.Total++
		if !facetDone {
			v, ok, err := fieldValue(entry, opts.By)
			if err != nil {
				return err
			}
			if ok {
				values[v]++
			} else {
				st.Missing++
			}
		}
		if !histDone {
			t, err := eventTime(entry)
			if err != nil {
				return err
			}
			buckets[floorDiv(t.Unix(), sec)*sec]++
		}
		return nil
	}
	// The total, and whatever the index could not count, from candidates.
	if covered > lo {
		m := Compile(q)
		var cerr error
		err := e.backend.Candidates(ctx, q, lo, covered, false, func(seq uint64, sure bool) bool {
			if sure && facetDone && histDone {
				st.Total++
				return true
			}
			cerr = e.log.Entries(ctx, seq, 1, func(_ uint64, entry []byte) error {
				if !sure {
					st.Scanned++
					ok, err := m.Match(entry)
					if err != nil || !ok {
						return err
					}
				}
				return count(entry)
			})
			return cerr == nil
		})
		if err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	// Events the index has not seen yet: from the log.
	if covered < hi {
		m := Compile(q)
		err := e.log.Entries(ctx, covered, int(hi-covered), func(_ uint64, entry []byte) error {
			st.Scanned++
			ok, err := m.Match(entry)
			if err != nil || !ok {
				return err
			}
			if facetDone && opts.By != "" { // the index counted its part; count this part here
				v, ok, err := fieldValue(entry, opts.By)
				if err != nil {
					return err
				}
				if ok {
					values[v]++
				} else {
					st.Missing++
				}
			}
			if histDone && opts.Interval > 0 {
				t, err := eventTime(entry)
				if err != nil {
					return err
				}
				buckets[floorDiv(t.Unix(), sec)*sec]++
			}
			if !facetDone || !histDone {
				return count(entry)
			}
			st.Total++
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if opts.By != "" {
		st.Values, st.Others = topN(values, opts.Top)
		if facetDone { // the index does not report events lacking the field
			var with uint64
			for _, n := range values {
				with += n
			}
			if with <= st.Total {
				st.Missing = st.Total - with
			}
		}
	}
	if opts.Interval > 0 {
		var err error
		if st.Buckets, err = contiguous(buckets, sec); err != nil {
			return nil, err
		}
		st.Interval = opts.Interval.String()
	}
	return st, nil
}

func topN(values map[string]uint64, n int) ([]ValueCount, uint64) {
	out := make([]ValueCount, 0, len(values))
	for v, c := range values {
		out = append(out, ValueCount{v, c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Value < out[j].Value
	})
	var others uint64
	if len(out) > n {
		for _, vc := range out[n:] {
			others += vc.Count
		}
		out = out[:n]
	}
	return out, others
}

func contiguous(buckets map[int64]uint64, sec int64) ([]Bucket, error) {
	if len(buckets) == 0 {
		return nil, nil
	}
	first, last := int64(1<<62), int64(-1<<62)
	for start := range buckets {
		first, last = min(first, start), max(last, start)
	}
	if (last-first)/sec+1 > maxBuckets {
		return nil, errors.Join(fmt.Errorf("query: the histogram would have %d buckets (max %d): use a larger interval or a narrower time range", (last-first)/sec+1, maxBuckets), stele.ErrInvalid)
	}
	out := make([]Bucket, 0, (last-first)/sec+1)
	for start := first; start <= last; start += sec {
		out = append(out, Bucket{Start: time.Unix(start, 0).UTC(), Count: buckets[start]})
	}
	return out, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
