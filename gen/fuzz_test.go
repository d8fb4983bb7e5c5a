package gen_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/gen"
)

// FuzzOptions: for any options New accepts, every event parses as a stele
// event, times never go backwards, planned events stay inside the span, and
// client ids are unique.
func FuzzOptions(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzOptions.
	f.Fuzz(func(t *testing.T, seed uint64, actors uint32, days uint16, events uint32, ids bool, endOffset int64) {
		// Map the inputs onto what New accepts: an End whose span stays
		// within years 0001-9999, a population small enough to build fast.
		minEnd := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, gen.MaxDays+1)
		maxEnd := time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
		span := maxEnd.Unix() - minEnd.Unix()
		end := time.Unix(minEnd.Unix()+(endOffset%span+span)%span, 0)
		if endOffset == 0 {
			end = time.Time{} // the default
		}
		opts := gen.Options{Seed: seed, Actors: int(actors % 20000), Days: int(days) % (gen.MaxDays + 100),
			Events: int64(events % 100000), IDs: ids, End: end}
		g := gen.New(opts)
		start, stop := g.Span()
		planned := g.Options().Events
		n := int(min(planned, 300)) + 20
		var last time.Time
		seen := map[string]bool{}
		var buf []byte
		for i := range n {
			buf = g.Next(buf[:0])
			if _, err := stele.ParseEvents(buf, false, time.Now()); err != nil {
				t.Fatalf("event %d of %+v: %v\n%s", i, opts, err, buf)
			}
			var e stele.Event
			if err := json.Unmarshal(buf, &e); err != nil {
				t.Fatal(err)
			}
			if e.Time.Before(last) {
				t.Fatalf("event %d at %v, before %v", i, e.Time, last)
			}
			last = e.Time
			if int64(i) < planned && (e.Time.Before(start) || !e.Time.Before(stop)) {
				t.Fatalf("planned event %d at %v, outside %v..%v", i, e.Time, start, stop)
			}
			if ids {
				if seen[e.ID] {
					t.Fatalf("id %s repeated", e.ID)
				}
				seen[e.ID] = true
			}
		}
	})
}
