package query_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/gen"
	"github.com/stele-log/stele/index/search"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/query"
	"github.com/stele-log/stele/storage/local"
)

// indexTo opens an index over l and indexes its first n events.
func indexTo(t *testing.T, l *local.Log, n uint64) *search.Index {
	x, _ := indexOn(t, fsx.NewMem(), l, n)
	return x
}

// indexOn is indexTo on fsys (in /idx), with full chunks written.
func indexOn(t *testing.T, fsys fsx.FS, l *local.Log, n uint64) (*search.Index, fsx.FS) {
	t.Helper()
	x, err := search.Open(fsys, "/idx", search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	err = l.Entries(context.Background(), 0, int(n), func(seq uint64, entry []byte) error { return x.Add(seq, entry) })
	if err == nil {
		err = x.Flush()
	}
	if err != nil {
		t.Fatal(err)
	}
	return x, fsys
}

// indexedCases are the index-backed engines: fully caught up, and lagging
// (the engine must scan what the index lacks).
func indexedCases(t *testing.T, l *local.Log) []engineCase {
	full := indexTo(t, l, l.Size())
	half := indexTo(t, l, l.Size()/2)
	return []engineCase{
		{"index", query.NewEngine(l, query.NewIndexBackend(full, nil))},
		{"index-lagging", query.NewEngine(l, query.NewIndexBackend(half, nil))},
	}
}

func TestSearchIndexed(t *testing.T) {
	l := fixture(t, 1200)
	testSearch(t, indexedCases(t, l), l)
}

func TestStatsIndexed(t *testing.T) {
	l := fixture(t, 1200)
	testStats(t, indexedCases(t, l), l)
}

// TestIndexedMatchesScan runs queries of every clause kind on a realistic
// workload that spans two index chunks, and checks that the index-backed
// engine returns exactly what matching every record returns: results,
// order, pages, counts, facets and histograms.
func TestIndexedMatchesScan(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 70,000-event log")
	}
	const n = search.ChunkSize + 4464
	l, err := local.Open(context.Background(), "/d", local.Options{Origin: "query.test/gen", FS: fsx.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	g := gen.New(gen.Options{Seed: 3, Actors: 500, Days: 3, Events: n})
	for done := 0; done < n; done += 1000 {
		body := g.AppendNDJSON(nil, min(1000, n-done))
		b, err := stele.ParseEvents(body, true, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		var s stele.Sealed
		if err := l.Append(context.Background(), b, &s); err != nil {
			t.Fatal(err)
		}
	}
	start, end := g.Span()
	mid := start.Add(end.Sub(start) / 2)
	top := g.TopActors(3)
	phrases := g.Phrases()
	queries := []string{
		`actor.id:` + top[0],
		fmt.Sprintf(`actor.id:%s time:>=%s`, top[1], mid.Format(time.RFC3339)),
		fmt.Sprintf(`time:%s..%s`, mid.Format(time.RFC3339Nano), mid.Add(90*time.Minute+1500*time.Millisecond).Format(time.RFC3339Nano)),
		`outcome:failure action:user.login`,
		`action:iam.* -outcome:success`,
		`-actor.type:user -actor.type:admin`,
		`ip:10.0.0.0/8 outcome:denied`,
		`ip:2001:db8::/32`,
		`source.ip:10.240.0.0/16 category:deployment`,
		`"` + phrases[0] + `"`,
		`"` + phrases[len(phrases)-1] + `"`,
		`-"` + phrases[0] + `" outcome:failure`,
		`failed`,
		`-failed category:authentication`,
		`message:` + strconv.Quote(aMessage(t, l)),
		`message:` + strings.Fields(aMessage(t, l))[0] + `*`,
		`attributes.region:eu-west-1`,
		`seq:65000..66000 outcome:failure`,
		`actor.session_id:*  -actor.session_id:s_*`,
		`request_id:* category:api`,
	}
	if raceEnabled {
		// Every clause kind once: the race detector looks for races, which
		// need no more; the full list runs in the plain go test ./...
		queries = []string{queries[1], queries[2], queries[4], queries[6], queries[11], queries[14], queries[16]}
	}
	cases := indexedCases(t, l)
	for _, text := range queries {
		q, err := query.Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q): %v", text, err)
		}
		want := expected(t, l, q)
		wantStats := scanStats(t, l, q)
		for _, ec := range cases {
			t.Run(ec.name+"/"+text, func(t *testing.T) {
				got := collect(t, ec.eng, q, false, 5000)
				rev := slices.Clone(want)
				slices.Reverse(rev)
				if !slices.Equal(got, rev) {
					t.Fatalf("desc: %d results, want %d (%v vs %v)", len(got), len(rev), head(got), head(rev))
				}
				first := collect(t, ec.eng, q, true, 100000)
				if !slices.Equal(first, want) {
					t.Fatalf("asc: %d results, want %d", len(first), len(want))
				}
				checkStats(t, ec.eng, q, wantStats, len(want))
			})
		}
	}

	// Damage the sealed chunk under an open index: answers must not change
	// (the chunk's events are read from the log instead), and the damage
	// must be reported.
	fsys := fsx.NewMem()
	x, _ := indexOn(t, fsys, l, l.Size())
	var logged strings.Builder
	eng := query.NewEngine(l, query.NewIndexBackend(x, slog.New(slog.NewTextHandler(&logged, nil))))
	damageChunks(t, fsys, "/idx")
	for _, text := range queries[:6] {
		q, _ := query.Parse(text)
		want := expected(t, l, q)
		slices.Reverse(want)
		if got := collect(t, eng, q, false, 5000); !slices.Equal(got, want) {
			t.Fatalf("%q on a damaged chunk: %d results, want %d", text, len(got), len(want))
		}
		checkStats(t, eng, q, scanStats(t, l, q), len(want))
	}
	if n := strings.Count(logged.String(), "damaged index chunk"); n != 1 {
		t.Fatalf("damage logged %d times, want once:\n%s", n, logged.String())
	}
}

// damageChunks flips bytes across the middle of every chunk file in dir:
// dictionary blocks, postings and the time column.
func damageChunks(t *testing.T, fsys fsx.FS, dir string) {
	t.Helper()
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".six") {
			continue
		}
		f, err := fsys.OpenFile(dir+"/"+e.Name(), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		for off := int64(100); off < st.Size(); off += 997 {
			b := []byte{0}
			f.ReadAt(b, off)
			b[0] ^= 0x5a
			if _, err := f.WriteAt(b, off); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		n++
	}
	if n == 0 {
		t.Fatal("no chunk file to damage")
	}
}

// aMessage returns the first message in l.
func aMessage(t *testing.T, l *local.Log) string {
	for seq := uint64(0); seq < l.Size(); seq++ {
		entry, err := l.Entry(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		var rec struct{ Message string }
		if err := json.Unmarshal(entry, &rec); err != nil {
			t.Fatal(err)
		}
		if rec.Message != "" {
			return rec.Message
		}
	}
	t.Fatal("no event has a message")
	return ""
}

// statsBy are the facets checkStats compares: a built-in field and an
// attribute (which the index leaves to the records).
var statsBy = []string{"action", "attributes.region"}

// scanStats is the scan-only engine's Stats of q for each of statsBy.
func scanStats(t *testing.T, l *local.Log, q *query.Query) []*query.Stats {
	t.Helper()
	var out []*query.Stats
	for _, by := range statsBy {
		st, err := query.NewEngine(l, nil).Stats(context.Background(), q, query.StatsOptions{By: by, Top: 1000, Interval: 10 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, st)
	}
	return out
}

// checkStats compares an engine's facets and histograms with want, the
// scan-only engine's.
func checkStats(t *testing.T, eng *query.Engine, q *query.Query, want []*query.Stats, total int) {
	t.Helper()
	for i, by := range statsBy {
		got, err := eng.Stats(context.Background(), q, query.StatsOptions{By: by, Top: 1000, Interval: 10 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		w := want[i]
		if got.Total != uint64(total) || w.Total != uint64(total) {
			t.Fatalf("by %s: total %d (scan %d), want %d", by, got.Total, w.Total, total)
		}
		if !slices.Equal(got.Values, w.Values) || got.Others != w.Others || got.Missing != w.Missing {
			t.Fatalf("by %s: facet differs from the scan's:\n got %v others %d missing %d\nwant %v others %d missing %d",
				by, got.Values, got.Others, got.Missing, w.Values, w.Others, w.Missing)
		}
		if !slices.Equal(got.Buckets, w.Buckets) {
			t.Fatalf("by %s: histogram differs from the scan's (%d vs %d buckets)", by, len(got.Buckets), len(w.Buckets))
		}
	}
}

// TestPagingWhileAppendsAndIndexingRun pages through searches while another
// goroutine appends and the index follows the log: newest-first pages must
// add up to exactly the matches of the first page's snapshot, and
// oldest-first pages to the matches up to the last page's snapshot.
func TestPagingWhileAppendsAndIndexingRun(t *testing.T) {
	l := fixture(t, 3000)
	x, err := search.Open(fsx.NewMem(), "/idx", search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	followed := make(chan error, 1)
	go func() { followed <- x.Follow(ctx, l) }()
	appended := make(chan struct{})
	go func() {
		defer close(appended)
		for from := 3000; from < 6000 && ctx.Err() == nil; from += 100 {
			appendRange(t, l, from, from+100)
		}
	}()
	eng := query.NewEngine(l, query.NewIndexBackend(x, nil))
	for _, text := range []string{`outcome:failure`, `ip:10.1.0.0/16 -actor:u3`, `hello actor:u2,u5`} {
		q, _ := query.Parse(text)
		for _, asc := range []bool{false, true} {
			var got []uint64
			var first, last uint64
			cursor := ""
			for pages := 0; ; pages++ {
				page, err := eng.Search(context.Background(), q, query.SearchOptions{Limit: 37, Asc: asc, Cursor: cursor}, func(seq uint64, _ []byte) error {
					got = append(got, seq)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if pages == 0 {
					first = page.Size
				}
				last = page.Size
				if page.Next == "" {
					break
				}
				cursor = page.Next
				time.Sleep(time.Millisecond) // let appends and indexing interleave
			}
			bound := first // newest first: the first page fixes the top
			if asc {
				bound = last // oldest first: the last page reaches the newest snapshot
			}
			var want []uint64
			for _, seq := range expected(t, l, q) {
				if seq < bound {
					want = append(want, seq)
				}
			}
			if !asc {
				slices.Reverse(want)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%q asc=%v: %d results, want %d (snapshots %d..%d)", text, asc, len(got), len(want), first, last)
			}
		}
	}
	cancel()
	<-appended
	if err := <-followed; !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow: %v", err)
	}
}
