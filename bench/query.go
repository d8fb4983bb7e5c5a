package bench

// The query benchmark: the search targets of stele, measured from the
// client's side against a server loaded with a gen workload. Run
// `stele bench query -h` for the command line.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/client"
	"github.com/stele-log/stele/gen"
	"github.com/stele-log/stele/query"
)

// QueryKind is one kind of query the benchmark sends.
type QueryKind struct {
	Name string
	// Doc says what the kind sends, for help texts.
	Doc string
	// Target is the bound on the kind's p99 client-observed latency
	// on 10M events of the default workload; 0 for none.
	Target time.Duration
}

// QueryKinds returns every kind, in the order they run by default.
//
// The selective kind's actors come from gen itself (Generator.TopActors),
// not from sampling the server: the workload is known, so the choice is
// deterministic and costs the server nothing. It holds only when the server
// was loaded by gen with the same Workload options.
func QueryKinds() []QueryKind {
	return []QueryKind{
		{"selective", "actor.id:<actor> over the last 24h, first page of 100; the actors rotate among the workload's 50 most active and 10 random ones", 20 * time.Millisecond},
		{"facet", "stats by=action over the last 24h", 200 * time.Millisecond},
		{"phrase", `a quoted phrase over all time, first page of 100; the phrases rotate from common to rare: ` + strings.Join(quoted(benchPhrases), ", "), time.Second},
		{"histogram", "stats interval=1h of outcome:failure over the last 24h", 0},
		{"negation", "action:user.* -outcome:success over the last 24h, first page of 100 (a prefix and a negation)", 0},
	}
}

// benchPhrases are the phrase kind's queries, most common first. Each is
// the fixed text of a gen message template. In 10M events of the default
// workload they match about 367,000, 34,000, 3,900, 760 and 15 events: the
// last fills less than a page of 100, so the server must exhaust it.
var benchPhrases = []string{"request completed", "MFA challenge passed", "connection refused", "vault is sealed", "ownership transferred"}

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}

// QueryConfig describes one query benchmark run.
type QueryConfig struct {
	URL string // server base URL, e.g. http://127.0.0.1:7600
	// Kinds to run, in order (nil: every kind of QueryKinds).
	Kinds []string
	// Queries is how many measured queries each kind sends (0: 200).
	Queries int
	// Warmup is how many unmeasured queries each kind sends first.
	Warmup int
	// Duration caps the time of each kind, warm-up included (0: 1 minute).
	// No query starts after it; the ones in flight finish.
	Duration time.Duration
	// Timeout bounds one query (0: 2 minutes); a query that exceeds it
	// counts as an error.
	Timeout time.Duration
	// Concurrency is how many queries are in flight at once (0: 1).
	Concurrency int
	// Workload is the gen workload the server holds; it names the actors
	// of the selective kind, and its End is the benchmark's "now".
	Workload gen.Options
	// Seed picks the random actors of the selective kind.
	Seed uint64
}

// QueryResult is what one kind measured.
type QueryResult struct {
	Kind         string
	Queries      int64 // measured queries that succeeded
	Errors       int64
	ErrorSamples []string
	Elapsed      time.Duration // of the measured queries
	Latencies    Percentiles   // client-observed: request sent → response decoded
	MeanHits     float64       // events on the page (searches) or matching events (stats)
	MeanScanned  float64       // records the server read to answer (SearchPage.Scanned, Stats.Scanned)
	Slowest      string        // the query that took Latencies.Max
	Target       time.Duration // QueryKind.Target
}

// Met reports whether the kind has a target and met it: no errors and a
// p99 within the target.
func (r QueryResult) Met() bool {
	return r.Target > 0 && r.Queries > 0 && r.Errors == 0 && r.Latencies.P99 <= r.Target
}

// Query is one request of the benchmark: a search (GET /v1/events) or, when
// By or Interval is set, a stats request (GET /v1/stats).
type Query struct {
	Kind     string
	Params   client.SearchParams // query text, since, until and limit
	By       string              // stats: the facet field
	Interval string              // stats: the histogram bucket width
}

// IsStats reports whether q is a stats request.
func (q Query) IsStats() bool { return q.By != "" || q.Interval != "" }

// String renders q as its request parameters, for reports.
func (q Query) String() string {
	s := fmt.Sprintf("q=%q", q.Params.Query)
	if q.Params.Since != "" {
		s += " since=" + q.Params.Since
	}
	if q.Params.Until != "" {
		s += " until=" + q.Params.Until
	}
	if q.Params.Limit > 0 {
		s += fmt.Sprintf(" limit=%d", q.Params.Limit)
	}
	if q.By != "" {
		s += " by=" + q.By
	}
	if q.Interval != "" {
		s += " interval=" + q.Interval
	}
	return s
}

// withDefaults fills in the zero fields.
func (cfg QueryConfig) withDefaults() QueryConfig {
	if cfg.Kinds == nil {
		for _, k := range QueryKinds() {
			cfg.Kinds = append(cfg.Kinds, k.Name)
		}
	}
	if cfg.Queries == 0 {
		cfg.Queries = 200
	}
	if cfg.Duration == 0 {
		cfg.Duration = time.Minute
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 2 * time.Minute
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 1
	}
	return cfg
}

// End returns the benchmark's "now": the workload's end.
func (cfg QueryConfig) End() time.Time {
	if cfg.Workload.End.IsZero() {
		return gen.DefaultEnd()
	}
	return cfg.Workload.End.UTC().Truncate(time.Microsecond)
}

// Plan returns the queries of each kind of cfg.Kinds. RunQueries sends
// query i of a kind's phase (warm-up or measured) as plan[i%len(plan)].
// Times are absolute (the workload lies in the past): "the last 24h" is
// [End-24h, End).
func Plan(cfg QueryConfig) (map[string][]Query, error) {
	cfg = cfg.withDefaults()
	end := cfg.End()
	since, until := end.Add(-24*time.Hour).Format(time.RFC3339Nano), end.Format(time.RFC3339Nano)
	last24h := func(kind, q string, limit int) Query {
		return Query{Kind: kind, Params: client.SearchParams{Query: q, Since: since, Until: until, Limit: limit}}
	}
	var g *gen.Generator // built only if a kind needs it: a few MB
	generator := func() *gen.Generator {
		if g == nil {
			g = gen.New(cfg.Workload)
		}
		return g
	}
	plans := map[string][]Query{}
	for _, kind := range cfg.Kinds {
		var plan []Query
		switch kind {
		case "selective":
			const top, random = 50, 10
			everyone := generator().TopActors(generator().Options().Actors)
			rng := rand.New(rand.NewPCG(cfg.Seed, 0x5e1ec7))
			for i, t := 0, 0; i < top+random; i++ { // every sixth a random actor
				actor := everyone[rng.IntN(len(everyone))]
				if i%6 != 5 && t < len(everyone) {
					actor, t = everyone[t], t+1
				}
				plan = append(plan, last24h(kind, "actor.id:"+actor, 100))
			}
		case "facet":
			q := last24h(kind, "", 0)
			q.By = "action"
			plan = []Query{q}
		case "phrase":
			known := generator().Phrases()
			for _, p := range benchPhrases {
				if !slices.Contains(known, p) {
					return nil, fmt.Errorf("bench: phrase %q is no longer in gen's message templates: %w", p, stele.ErrInvalid)
				}
				plan = append(plan, Query{Kind: kind, Params: client.SearchParams{Query: strconv.Quote(p), Limit: 100}})
			}
		case "histogram":
			q := last24h(kind, "outcome:failure", 0)
			q.Interval = "1h"
			plan = []Query{q}
		case "negation":
			plan = []Query{last24h(kind, "action:user.* -outcome:success", 100)}
		default:
			names := []string{}
			for _, k := range QueryKinds() {
				names = append(names, k.Name)
			}
			return nil, fmt.Errorf("bench: unknown query kind %q (want one of %s): %w", kind, strings.Join(names, ", "), stele.ErrInvalid)
		}
		for _, q := range plan { // catch a malformed query before the server does
			if _, err := query.Parse(q.Params.Query); err != nil {
				return nil, fmt.Errorf("bench: %s query %s: %w", kind, q, err)
			}
		}
		plans[kind] = plan
	}
	return plans, nil
}

// RunQueries runs each kind of cfg.Kinds in turn: cfg.Warmup unmeasured
// queries, then cfg.Queries measured ones, cfg.Concurrency at a time, all
// within cfg.Duration. A failed query is counted and sampled, not fatal.
// It returns the results so far and ctx's error if ctx ends.
func RunQueries(ctx context.Context, cfg QueryConfig) ([]QueryResult, error) {
	cfg = cfg.withDefaults()
	if cfg.Queries < 1 || cfg.Warmup < 0 || cfg.Concurrency < 1 || cfg.Duration < 0 || cfg.Timeout < 0 {
		return nil, fmt.Errorf("bench: queries, concurrency, duration and timeout must be positive: %w", stele.ErrInvalid)
	}
	plans, err := Plan(cfg)
	if err != nil {
		return nil, err
	}
	transport := loadTransport(cfg.Concurrency)
	defer transport.CloseIdleConnections()
	c, err := client.New(cfg.URL, &http.Client{Transport: transport, Timeout: cfg.Timeout})
	if err != nil {
		return nil, fmt.Errorf("bench: %w: %w", err, stele.ErrInvalid)
	}
	c.Retries = 0 // a 503 is a result, not something to hide
	targets := map[string]time.Duration{}
	for _, k := range QueryKinds() {
		targets[k.Name] = k.Target
	}
	var results []QueryResult
	for _, kind := range cfg.Kinds {
		if ctx.Err() != nil {
			return results, ctx.Err()
		}
		res := runKind(ctx, c, cfg, plans[kind])
		res.Kind, res.Target = kind, targets[kind]
		results = append(results, res)
	}
	return results, ctx.Err()
}

// sample is one measured query.
type sample struct {
	latency       time.Duration
	hits, scanned int
	query         int // index into the plan
}

// runKind sends one kind's warm-up and measured queries.
func runKind(ctx context.Context, c *client.Client, cfg QueryConfig, plan []Query) QueryResult {
	deadline := time.Now().Add(cfg.Duration)
	var (
		mu        sync.Mutex
		samples   []sample
		errCount  atomic.Int64
		errSample []string
	)
	// phase sends n queries with cfg.Concurrency workers, pulling indexes
	// from a shared counter so the set sent does not depend on scheduling.
	phase := func(n int, measure bool) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range min(cfg.Concurrency, n) {
			wg.Go(func() {
				var local []sample
				for ctx.Err() == nil && time.Now().Before(deadline) {
					i := int(next.Add(1) - 1)
					if i >= n {
						break
					}
					s, err := send(ctx, c, cfg.Timeout, plan[i%len(plan)])
					s.query = i % len(plan)
					if !measure {
						continue
					}
					if err != nil {
						if ctx.Err() != nil {
							break
						}
						if errCount.Add(1) <= 5 {
							mu.Lock()
							errSample = append(errSample, fmt.Sprintf("%s: %v", plan[s.query], err))
							mu.Unlock()
						}
						continue
					}
					local = append(local, s)
				}
				mu.Lock()
				samples = append(samples, local...)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	phase(cfg.Warmup, false)
	begin := time.Now()
	phase(cfg.Queries, true)
	res := QueryResult{Queries: int64(len(samples)), Errors: errCount.Load(), ErrorSamples: errSample, Elapsed: time.Since(begin)}
	if len(samples) == 0 {
		return res
	}
	latencies := make([]time.Duration, len(samples))
	slowest := samples[0]
	var hits, scanned float64
	for i, s := range samples {
		latencies[i] = s.latency
		hits += float64(s.hits)
		scanned += float64(s.scanned)
		if s.latency > slowest.latency {
			slowest = s
		}
	}
	res.Latencies = percentiles(latencies)
	res.MeanHits, res.MeanScanned = hits/float64(len(samples)), scanned/float64(len(samples))
	res.Slowest = plan[slowest.query].String()
	return res
}

// send runs one query and times it from request to decoded response.
func send(ctx context.Context, c *client.Client, timeout time.Duration, q Query) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	if q.IsStats() {
		st, err := c.Stats(ctx, q.Params, q.By, 0, q.Interval)
		if err != nil {
			return sample{}, err
		}
		return sample{latency: time.Since(start), hits: int(st.Total), scanned: st.Scanned}, nil
	}
	page, err := c.Search(ctx, q.Params)
	if err != nil {
		return sample{}, err
	}
	return sample{latency: time.Since(start), hits: len(page.Events), scanned: page.Scanned}, nil
}

// ServerMetric is one number from a server's /metrics.
type ServerMetric struct {
	Name  string
	Value float64 // summed over the series' label sets
}

// ServerMetrics returns the numbers of a server's /metrics that bear on the
// search targets: its resident memory (process_resident_memory_bytes),
// log size (stele_log_size), and every stele_index_* and stele_search_*
// gauge or counter, sorted by name. A server without /metrics gives none
// and no error.
func ServerMetrics(ctx context.Context, baseURL string) ([]ServerMetric, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("bench: metrics: %w: %w", err, stele.ErrInvalid)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bench: metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("bench: metrics: HTTP %d", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("bench: metrics: %w", err)
	}
	var out []ServerMetric
	for name, mf := range families {
		wanted := name == "process_resident_memory_bytes" || name == "stele_log_size" ||
			strings.HasPrefix(name, "stele_index_") || strings.HasPrefix(name, "stele_search_")
		if !wanted {
			continue
		}
		sum, ok := 0.0, false
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				sum, ok = sum+m.GetGauge().GetValue(), true
			case m.GetCounter() != nil:
				sum, ok = sum+m.GetCounter().GetValue(), true
			case m.GetUntyped() != nil:
				sum, ok = sum+m.GetUntyped().GetValue(), true
			}
		}
		if ok {
			out = append(out, ServerMetric{Name: name, Value: sum})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
