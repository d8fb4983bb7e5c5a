package query_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/query"
	"github.com/stele-log/stele/storage/local"
)

// engines returns the engines a test runs against: scanning only, and (when
// an index is wired) index-backed. Each gets the same log.
type engineCase struct {
	name string
	eng  *query.Engine
}

var base = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// fixture builds a log of n events with predictable fields: event i has
// actor u<i%7>, action a.<i%5>, outcome failure when i%10 == 0, time
// base + i minutes, client id e<i> on even i.
func fixture(t *testing.T, n int) *local.Log {
	t.Helper()
	l, err := local.Open(context.Background(), "/d", local.Options{Origin: "query.test/log", FS: fsx.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	appendRange(t, l, 0, n)
	return l
}

func line(i int) string {
	outcome := "success"
	if i%10 == 0 {
		outcome = "failure"
	}
	id := ""
	if i%2 == 0 {
		id = fmt.Sprintf(`"id":"e%d",`, i)
	}
	return fmt.Sprintf(`{%s"action":"a.%d","actor":{"id":"u%d","ip":"10.%d.0.1"},"outcome":%q,"time":%q,"message":"event %d said hello world","attributes":{"n":%d}}`,
		id, i%5, i%7, i%3, outcome, base.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), i, i)
}

func appendRange(t *testing.T, l *local.Log, from, to int) {
	t.Helper()
	for i := from; i < to; i += 100 {
		var lines []string
		for j := i; j < min(to, i+100); j++ {
			lines = append(lines, line(j))
		}
		b, err := stele.ParseEvents([]byte(strings.Join(lines, "\n")), true, base)
		if err != nil {
			t.Fatal(err)
		}
		var s stele.Sealed
		if err := l.Append(context.Background(), b, &s); err != nil {
			t.Fatal(err)
		}
	}
}

// expected is the brute-force answer: seqs of events matching q, ascending.
func expected(t *testing.T, l *local.Log, q *query.Query) []uint64 {
	t.Helper()
	m := query.Compile(q)
	var out []uint64
	err := l.Entries(context.Background(), 0, int(l.Size()), func(seq uint64, entry []byte) error {
		ok, err := m.Match(entry)
		if ok {
			out = append(out, seq)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// collect pages through a search and returns every seq, in result order.
func collect(t *testing.T, eng *query.Engine, q *query.Query, asc bool, limit int) []uint64 {
	t.Helper()
	var out []uint64
	cursor := ""
	for pages := 0; pages < 10000; pages++ {
		page, err := eng.Search(context.Background(), q, query.SearchOptions{Limit: limit, Asc: asc, Cursor: cursor}, func(seq uint64, _ []byte) error {
			out = append(out, seq)
			return nil
		})
		if err != nil {
			t.Fatalf("Search(%q): %v", q.Text, err)
		}
		if page.Count > limit {
			t.Fatalf("page of %d results with limit %d", page.Count, limit)
		}
		if page.Next == "" {
			return out
		}
		cursor = page.Next
	}
	t.Fatal("too many pages")
	return nil
}

func searchCases() []string {
	return []string{
		``,
		`actor:u3`,
		`actor:u3 outcome:failure`,
		`action:a.1,a.2 -actor:u0`,
		`action:a.*`,
		`outcome:failure ip:10.1.0.0/16`,
		`seq:>=100 seq:<250`,
		`time:2026-11-01`,
		`time:>=2026-11-01T10:00:00Z`,
		`hello`,
		`"event 42 said"`,
		`attributes.n:77`,
		`id:e40`,
		`id:e41`,
		`nothing:here`,
	}
}

func testSearch(t *testing.T, cases []engineCase, l *local.Log) {
	for _, text := range searchCases() {
		q, err := query.Parse(text)
		if err != nil {
			if text == "nothing:here" {
				continue
			}
			t.Fatalf("Parse(%q): %v", text, err)
		}
		want := expected(t, l, q)
		for _, ec := range cases {
			t.Run(ec.name+"/"+text, func(t *testing.T) {
				for _, limit := range []int{7, 100, 5000} {
					got := collect(t, ec.eng, q, true, limit)
					if !slices.Equal(got, want) {
						t.Fatalf("asc limit %d: %d results, want %d (%v vs %v)", limit, len(got), len(want), head(got), head(want))
					}
					desc := collect(t, ec.eng, q, false, limit)
					rev := slices.Clone(want)
					slices.Reverse(rev)
					if !slices.Equal(desc, rev) {
						t.Fatalf("desc limit %d: %d results, want %d (%v vs %v)", limit, len(desc), len(rev), head(desc), head(rev))
					}
				}
			})
		}
	}
}

func head(s []uint64) []uint64 { return s[:min(len(s), 8)] }

func TestSearchScanOnly(t *testing.T) {
	l := fixture(t, 1200)
	testSearch(t, []engineCase{{"scan", query.NewEngine(l, nil)}}, l)
}

func TestCursorIsStableWhileTheLogGrows(t *testing.T) {
	l := fixture(t, 500)
	eng := query.NewEngine(l, nil)
	q, _ := query.Parse(`outcome:failure`)
	var first []uint64
	page, err := eng.Search(context.Background(), q, query.SearchOptions{Limit: 10}, func(seq uint64, _ []byte) error {
		first = append(first, seq)
		return nil
	})
	if err != nil || page.Next == "" {
		t.Fatalf("first page: %v %+v", err, page)
	}
	appendRange(t, l, 500, 800) // newer failures arrive between pages
	var second []uint64
	if _, err := eng.Search(context.Background(), q, query.SearchOptions{Limit: 10, Cursor: page.Next}, func(seq uint64, _ []byte) error {
		second = append(second, seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if second[0] >= first[len(first)-1] || second[0] != first[len(first)-1]-10 {
		t.Fatalf("second page %v does not continue below %v", second, first)
	}
	// Cursors are tied to their query and order.
	other, _ := query.Parse(`outcome:success`)
	if _, err := eng.Search(context.Background(), other, query.SearchOptions{Limit: 10, Cursor: page.Next}, func(uint64, []byte) error { return nil }); !errors.Is(err, stele.ErrInvalid) {
		t.Fatalf("cursor reused with another query: %v", err)
	}
	if _, err := eng.Search(context.Background(), q, query.SearchOptions{Limit: 10, Asc: true, Cursor: page.Next}, func(uint64, []byte) error { return nil }); !errors.Is(err, stele.ErrInvalid) {
		t.Fatalf("cursor reused in the other order: %v", err)
	}
	if _, err := eng.Search(context.Background(), q, query.SearchOptions{Cursor: "garbage!"}, func(uint64, []byte) error { return nil }); !errors.Is(err, stele.ErrInvalid) {
		t.Fatalf("garbage cursor: %v", err)
	}
}

func testStats(t *testing.T, cases []engineCase, l *local.Log) {
	q, _ := query.Parse(`-action:a.0`)
	want := expected(t, l, q)
	for _, ec := range cases {
		st, err := ec.eng.Stats(context.Background(), q, query.StatsOptions{By: "actor.id", Top: 3, Interval: time.Hour})
		if err != nil {
			t.Fatalf("%s: %v", ec.name, err)
		}
		if st.Total != uint64(len(want)) {
			t.Fatalf("%s: total %d, want %d", ec.name, st.Total, len(want))
		}
		var sum uint64
		for _, v := range st.Values {
			sum += v.Count
		}
		if len(st.Values) != 3 || sum+st.Others+st.Missing != st.Total {
			t.Fatalf("%s: values %+v others %d missing %d total %d", ec.name, st.Values, st.Others, st.Missing, st.Total)
		}
		var hist uint64
		for i, b := range st.Buckets {
			hist += b.Count
			if i > 0 && !b.Start.Equal(st.Buckets[i-1].Start.Add(time.Hour)) {
				t.Fatalf("%s: buckets not contiguous at %d", ec.name, i)
			}
		}
		if hist != st.Total || st.Buckets[0].Start != base {
			t.Fatalf("%s: histogram sums to %d (want %d), starts %v", ec.name, hist, st.Total, st.Buckets[0].Start)
		}
		// One hour of events at one per minute: 60 per bucket, minus the
		// a.0 events (every 5th).
		if st.Buckets[1].Count != 48 {
			t.Fatalf("%s: bucket 1 has %d events, want 48", ec.name, st.Buckets[1].Count)
		}
	}
}

func TestStatsScanOnly(t *testing.T) {
	l := fixture(t, 1200)
	testStats(t, []engineCase{{"scan", query.NewEngine(l, nil)}}, l)
}

func TestTail(t *testing.T) {
	l := fixture(t, 50)
	eng := query.NewEngine(l, nil)
	q, _ := query.Parse(`outcome:failure`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan uint64, 100)
	done := make(chan error, 1)
	go func() {
		done <- eng.Tail(ctx, q, 50, func(seq uint64, _ []byte) error {
			got <- seq
			return nil
		})
	}()
	appendRange(t, l, 50, 80)
	for _, want := range []uint64{50, 60, 70} {
		select {
		case seq := <-got:
			if seq != want {
				t.Fatalf("tail got %d, want %d", seq, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("tail did not deliver %d", want)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Tail ended with %v", err)
	}
}

// TestCursorWithRelativeSince: a client re-sends since=24h with every page,
// and it resolves to a later instant each time; the cursor must still fit.
func TestCursorWithRelativeSince(t *testing.T) {
	l := fixture(t, 300)
	eng := query.NewEngine(l, nil)
	q, _ := query.Parse(`outcome:failure`)
	var got []uint64
	collectPage := func(q *query.Query, cursor string) string {
		page, err := eng.Search(context.Background(), q, query.SearchOptions{Limit: 4, Cursor: cursor}, func(seq uint64, _ []byte) error {
			got = append(got, seq)
			return nil
		})
		if err != nil {
			t.Fatalf("page after cursor %q: %v", cursor, err)
		}
		return page.Next
	}
	since := base.Add(100*time.Minute - 30*time.Second) // moves by 1s a page: still before seq 100
	next := collectPage(q.AndTime(query.TimeRange{From: since}), "")
	for i := 1; next != ""; i++ {
		next = collectPage(q.AndTime(query.TimeRange{From: since.Add(time.Duration(i) * time.Second)}), next)
	}
	want := expected(t, l, q.AndTime(query.TimeRange{From: since}))
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Fatalf("paged %v, want %v", got, want)
	}
	// A different query is still refused.
	other, _ := query.Parse(`outcome:success`)
	page, _ := eng.Search(context.Background(), q, query.SearchOptions{Limit: 1}, func(uint64, []byte) error { return nil })
	if _, err := eng.Search(context.Background(), other, query.SearchOptions{Limit: 1, Cursor: page.Next}, func(uint64, []byte) error { return nil }); !errors.Is(err, stele.ErrInvalid) {
		t.Fatalf("a cursor of another query: %v", err)
	}
}

// TestIDListPages: id:a,b,c,... answers through the id index, in pages.
func TestIDListPages(t *testing.T) {
	l := fixture(t, 50)
	eng := query.NewEngine(l, nil)
	q, _ := query.Parse(`id:e0,e2,e4,e6,e8,e40,nosuch`)
	if got, want := collect(t, eng, q, false, 2), []uint64{40, 8, 6, 4, 2, 0}; !slices.Equal(got, want) {
		t.Fatalf("desc pages of 2: %v, want %v", got, want)
	}
	if got, want := collect(t, eng, q, true, 4), []uint64{0, 2, 4, 6, 8, 40}; !slices.Equal(got, want) {
		t.Fatalf("asc pages of 4: %v, want %v", got, want)
	}
}

// TestIDListDuplicates: a value written twice finds its event once.
func TestIDListDuplicates(t *testing.T) {
	l := fixture(t, 20)
	eng := query.NewEngine(l, nil)
	for text, want := range map[string][]uint64{`id:e2,e2`: {2}, `id:e2,e4,e2`: {4, 2}} {
		q, _ := query.Parse(text)
		if got := collect(t, eng, q, false, 10); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", text, got, want)
		}
	}
}

// TestForgedCursor: a cursor at the largest seq must not wrap around to 0.
func TestForgedCursor(t *testing.T) {
	l := fixture(t, 20)
	eng := query.NewEngine(l, nil)
	q, _ := query.Parse(``)
	page, err := eng.Search(context.Background(), q, query.SearchOptions{Limit: 1, Asc: true}, func(uint64, []byte) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(page.Next)
	parts := strings.Split(string(raw), ".")
	parts[2] = "18446744073709551615"
	forged := base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, ".")))
	n := 0
	_, err = eng.Search(context.Background(), q, query.SearchOptions{Limit: 100, Asc: true, Cursor: forged}, func(uint64, []byte) error { n++; return nil })
	if !errors.Is(err, stele.ErrInvalid) || n != 0 {
		t.Fatalf("forged cursor: %d results, err %v", n, err)
	}
}
