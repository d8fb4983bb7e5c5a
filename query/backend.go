package query

import (
	"context"
	"time"
)

// Backend finds the events that may match a query, so the engine reads only
// those. Every answer is checked: candidates the backend is not sure of are
// matched against their records. The embedded driver's backend is the
// chunked search index (IndexBackend); a PostgreSQL driver can implement
// Backend with SQL.
type Backend interface {
	// Covered reports that every seq below it is indexed. The engine scans
	// the log itself from there on, so a query always sees every sealed
	// event (read-your-writes), however far indexing lags.
	Covered() uint64
	// Candidates calls fn with the seqs in [lo, hi) that may match q, in
	// ascending order, or descending when desc is set. sure reports that the
	// backend proved the match. fn returns false to stop early.
	Candidates(ctx context.Context, q *Query, lo, hi uint64, desc bool, fn func(seq uint64, sure bool) bool) error
	// Facet counts the events in [lo, hi) that match q, by the value of
	// field. It reports ok=false, having called fn for nothing, when it
	// cannot answer exactly; the engine then counts from records.
	Facet(ctx context.Context, q *Query, field string, lo, hi uint64, fn func(value string, count uint64)) (ok bool, err error)
	// Histogram counts the events in [lo, hi) that match q by event time,
	// in buckets of interval aligned to the Unix epoch: fn gets each
	// non-empty bucket's start. ok=false as for Facet.
	Histogram(ctx context.Context, q *Query, lo, hi uint64, interval time.Duration, fn func(start time.Time, count uint64)) (ok bool, err error)
}

// Log is what the engine reads events from.
type Log interface {
	// Size is the number of sealed events.
	Size() uint64
	// Entries calls fn for up to limit sealed entries from seq from, in
	// order. The entry slice is only valid during the call.
	Entries(ctx context.Context, from uint64, limit int, fn func(seq uint64, entry []byte) error) error
	// EntryByID returns the seq and entry with that id, or an error
	// wrapping stele.ErrNotFound.
	EntryByID(ctx context.Context, id []byte) (uint64, []byte, error)
	// Wait blocks until the log holds more than size events.
	Wait(ctx context.Context, size uint64) (uint64, error)
}
