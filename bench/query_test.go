package bench_test

// These tests run the query benchmark against the real API over the real
// local log with the scan-only query engine, loaded with a small gen
// workload, and check every number against a count made directly on the
// generated events. (An external test package: bench itself must not import
// storage or api.)

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/bench"
	"github.com/stele-log/stele/client"
	"github.com/stele-log/stele/gen"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/query"
	"github.com/stele-log/stele/storage/local"
)

// The workload: three days ending on a Friday, so the last 24h are a
// weekday with about a third of the events in them.
var workload = gen.Options{Seed: 7, Days: 3, End: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Events: 1500}

// event is what the direct counts look at in a generated event.
type event struct {
	time    time.Time
	actor   string
	action  string
	outcome string
	tokens  [][]string // the tokens of each string value
}

// newSearchServer serves a log holding the workload, with search (scan
// only) and /metrics, and returns the events it was loaded with.
func newSearchServer(t *testing.T, withSearch bool) (*httptest.Server, []event) {
	t.Helper()
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	l, err := local.Open(ctx, "/data", local.Options{Origin: "bench.test/stele", FS: fsx.NewMem(), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{Log: l, Registry: reg}
	if withSearch {
		cfg.Search = query.NewEngine(l, nil)
	}
	srv := httptest.NewServer(api.New(cfg))
	t.Cleanup(func() { srv.Close(); l.Close() })

	ndjson := gen.New(workload).AppendNDJSON(nil, int(workload.Events))
	c, err := client.New(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(bytes.TrimSuffix(ndjson, []byte("\n")), []byte("\n"))
	for len(lines) > 0 {
		n := min(len(lines), 500)
		if _, err := c.Append(ctx, bytes.Join(lines[:n], nil), true, false); err != nil {
			t.Fatal(err)
		}
		lines = lines[n:]
	}
	var events []event
	for line := range bytes.Lines(ndjson) {
		var raw map[string]any
		if err := json.Unmarshal(line, &raw); err != nil {
			t.Fatal(err)
		}
		ev := event{action: str(raw["action"]), outcome: str(raw["outcome"])}
		if ev.time, err = time.Parse(time.RFC3339Nano, str(raw["time"])); err != nil {
			t.Fatal(err)
		}
		if actor, ok := raw["actor"].(map[string]any); ok {
			ev.actor = str(actor["id"])
		}
		walkStrings(raw, func(s string) {
			ev.tokens = append(ev.tokens, strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }))
		})
		events = append(events, ev)
	}
	return srv, events
}

func str(v any) string { s, _ := v.(string); return s }

func walkStrings(v any, fn func(string)) {
	switch v := v.(type) {
	case string:
		fn(v)
	case map[string]any:
		for _, x := range v {
			walkStrings(x, fn)
		}
	case []any:
		for _, x := range v {
			walkStrings(x, fn)
		}
	}
}

// hasPhrase reports whether some string value holds the phrase's tokens
// consecutively.
func (ev event) hasPhrase(phrase string) bool {
	want := strings.Fields(strings.ToLower(phrase))
	for _, toks := range ev.tokens {
		for i := 0; i+len(want) <= len(toks); i++ {
			if equal(toks[i:i+len(want)], want) {
				return true
			}
		}
	}
	return false
}

func equal(a, b []string) bool { return strings.Join(a, " ") == strings.Join(b, " ") }

// expectedHits counts what q should return, straight from the events: the
// page size for a search, the total for stats.
func expectedHits(t *testing.T, q bench.Query, events []event) int {
	t.Helper()
	var from, to time.Time
	var err error
	if q.Params.Since != "" {
		if from, err = time.Parse(time.RFC3339Nano, q.Params.Since); err != nil {
			t.Fatal(err)
		}
	}
	if q.Params.Until != "" {
		if to, err = time.Parse(time.RFC3339Nano, q.Params.Until); err != nil {
			t.Fatal(err)
		}
	}
	var match func(event) bool
	text := q.Params.Query
	switch {
	case text == "":
		match = func(event) bool { return true }
	case strings.HasPrefix(text, "actor.id:"):
		match = func(ev event) bool { return ev.actor == strings.TrimPrefix(text, "actor.id:") }
	case strings.HasPrefix(text, `"`):
		match = func(ev event) bool { return ev.hasPhrase(strings.Trim(text, `"`)) }
	case text == "outcome:failure":
		match = func(ev event) bool { return ev.outcome == "failure" }
	case text == "action:user.* -outcome:success":
		match = func(ev event) bool { return strings.HasPrefix(ev.action, "user.") && ev.outcome != "success" }
	default:
		t.Fatalf("no direct count for query %q", text)
	}
	n := 0
	for _, ev := range events {
		if (from.IsZero() || !ev.time.Before(from)) && (to.IsZero() || ev.time.Before(to)) && match(ev) {
			n++
		}
	}
	if !q.IsStats() {
		n = min(n, q.Params.Limit)
	}
	return n
}

func TestRunQueriesAgainstARealServer(t *testing.T) {
	srv, events := newSearchServer(t, true)
	cfg := bench.QueryConfig{URL: srv.URL, Queries: 12, Warmup: 2, Concurrency: 3, Duration: time.Minute, Workload: workload, Seed: 1}
	plans, err := bench.Plan(cfg)
	if err != nil {
		t.Fatal(err)
	}
	results, err := bench.RunQueries(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(bench.QueryKinds()) {
		t.Fatalf("%d results for %d kinds", len(results), len(bench.QueryKinds()))
	}
	for i, res := range results {
		kind := bench.QueryKinds()[i]
		if res.Kind != kind.Name || res.Target != kind.Target {
			t.Fatalf("result %d is %q (target %v), want %q (%v)", i, res.Kind, res.Target, kind.Name, kind.Target)
		}
		if res.Queries != int64(cfg.Queries) || res.Errors != 0 {
			t.Errorf("%s: %d queries, %d errors %v; want %d and none", res.Kind, res.Queries, res.Errors, res.ErrorSamples, cfg.Queries)
			continue
		}
		// Query i of the measured phase is plan[i%len(plan)].
		plan := plans[res.Kind]
		total := 0
		for q := range cfg.Queries {
			total += expectedHits(t, plan[q%len(plan)], events)
		}
		t.Logf("%s: mean hits %.2f, mean scanned %.0f, p50 %v", res.Kind, res.MeanHits, res.MeanScanned, res.Latencies.P50)
		if want := float64(total) / float64(cfg.Queries); math.Abs(res.MeanHits-want) > 1e-9 || want == 0 {
			t.Errorf("%s: mean hits %v, the events say %v (which must not be 0)", res.Kind, res.MeanHits, want)
		}
		if res.MeanScanned <= 0 {
			t.Errorf("%s: mean scanned %v from a scan-only engine", res.Kind, res.MeanScanned)
		}
		l := res.Latencies
		if l.P50 <= 0 || l.P90 < l.P50 || l.P99 < l.P90 || l.Max < l.P99 || res.Elapsed <= 0 {
			t.Errorf("%s: latencies out of order: %+v in %v", res.Kind, l, res.Elapsed)
		}
		if !strings.Contains(res.Slowest, "q=") {
			t.Errorf("%s: slowest query %q", res.Kind, res.Slowest)
		}
		if res.Met() != (kind.Target > 0 && l.P99 <= kind.Target) {
			t.Errorf("%s: Met() = %v with p99 %v and target %v", res.Kind, res.Met(), l.P99, kind.Target)
		}
	}

	// The facet's counts and the histogram's buckets add up to the direct
	// count of the window.
	c, _ := client.New(srv.URL, nil)
	for _, q := range []bench.Query{plans["facet"][0], plans["histogram"][0]} {
		st, err := c.Stats(context.Background(), q.Params, q.By, 1000, q.Interval)
		if err != nil {
			t.Fatal(err)
		}
		sum := st.Others + st.Missing
		for _, v := range st.Values {
			sum += v.Count
		}
		for _, b := range st.Buckets {
			sum += b.Count
		}
		if want := uint64(expectedHits(t, q, events)); sum != want || st.Total != want || want == 0 {
			t.Errorf("%s: counts add up to %d, total %d, the events say %d", q, sum, st.Total, want)
		}
	}

	metrics, err := bench.ServerMetrics(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, m := range metrics {
		got[m.Name] = m.Value
	}
	if got["stele_log_size"] != float64(workload.Events) || got["process_resident_memory_bytes"] <= 0 {
		t.Errorf("server metrics %v: want stele_log_size %d and a resident size", got, workload.Events)
	}
}

func TestPlan(t *testing.T) {
	plans, err := bench.Plan(bench.QueryConfig{Kinds: []string{"selective", "facet", "phrase"}})
	if err != nil {
		t.Fatal(err)
	}
	// The default "now" is the default workload's end, not the clock.
	since, until := gen.DefaultEnd().Add(-24*time.Hour).Format(time.RFC3339), gen.DefaultEnd().Format(time.RFC3339)
	for _, q := range append(plans["selective"], plans["facet"]...) {
		if q.Params.Since != since || q.Params.Until != until {
			t.Fatalf("%s: want since=%s until=%s", q, since, until)
		}
	}
	top := gen.New(gen.Options{}).TopActors(50)
	seen := map[string]bool{}
	for i, q := range plans["selective"] {
		actor := strings.TrimPrefix(q.Params.Query, "actor.id:")
		if q.Params.Limit != 100 || q.IsStats() || !strings.HasPrefix(actor, "u-") && !strings.HasPrefix(actor, "svc-") {
			t.Fatalf("selective query %d: %s", i, q)
		}
		seen[actor] = true
	}
	for _, a := range top {
		if !seen[a] {
			t.Errorf("top actor %s is never queried", a)
		}
	}
	if len(plans["selective"]) != 60 || len(seen) <= 50 {
		t.Errorf("%d selective queries over %d actors; want 60 over the top 50 and some random ones", len(plans["selective"]), len(seen))
	}
	if f := plans["facet"]; len(f) != 1 || f[0].By != "action" || !f[0].IsStats() {
		t.Errorf("facet plan %v", f)
	}
	for _, q := range plans["phrase"] {
		if q.Params.Since != "" || q.Params.Until != "" || q.Params.Limit != 100 || !strings.HasPrefix(q.Params.Query, `"`) {
			t.Errorf("phrase query %s: want a quoted phrase over all time, limit 100", q)
		}
	}

	if _, err := bench.Plan(bench.QueryConfig{Kinds: []string{"selective", "bogus"}}); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown kind: %v", err)
	}
}

func TestRunQueriesIsBoundedInTime(t *testing.T) {
	srv, _ := newSearchServer(t, true)
	start := time.Now()
	res, err := bench.RunQueries(context.Background(), bench.QueryConfig{
		URL: srv.URL, Kinds: []string{"selective"}, Queries: 1_000_000, Duration: 300 * time.Millisecond, Concurrency: 2, Workload: workload,
	})
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second || res[0].Queries == 0 || res[0].Queries >= 1_000_000 {
		t.Fatalf("%d queries in %v with a 300ms cap", res[0].Queries, elapsed)
	}
}

func TestRunQueriesCountsErrors(t *testing.T) {
	// A server without search answers every query 404.
	srv, _ := newSearchServer(t, false)
	res, err := bench.RunQueries(context.Background(), bench.QueryConfig{
		URL: srv.URL, Kinds: []string{"facet", "phrase"}, Queries: 7, Concurrency: 2, Workload: workload,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Queries != 0 || r.Errors != 7 || r.Met() || len(r.ErrorSamples) != 5 || !strings.Contains(r.ErrorSamples[0], "search is not enabled") {
			t.Errorf("%s: %d queries, %d errors %q, met %v", r.Kind, r.Queries, r.Errors, r.ErrorSamples, r.Met())
		}
	}

	// A server without /metrics has no numbers to give, and that is no error.
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	if m, err := bench.ServerMetrics(context.Background(), plain.URL); m != nil || err != nil {
		t.Errorf("no /metrics: %v, %v", m, err)
	}
}
