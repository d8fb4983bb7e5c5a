package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/stele-log/stele/bench"
	"github.com/stele-log/stele/client"
	"github.com/stele-log/stele/gen"
)

func cmdBench(args []string) int {
	if len(args) > 0 && args[0] == "noop-server" {
		return cmdNoopServer(args[1:])
	}
	if len(args) > 0 && args[0] == "query" {
		return cmdBenchQuery(args[1:])
	}
	if len(args) > 0 && args[0] == "syslog" {
		return cmdBenchSyslog(args[1:])
	}
	fs := newFlags("bench", "[flags]", `
Load-test a stele server: append realistic ~300-byte events at a chosen batch
size and concurrency, and report events/s and acknowledgement latency
percentiles (request sent → sealed receipt read). Every acknowledged event is
durable (fsync) and covered by a signed checkpoint.

--baseline first runs the same load against a do-nothing HTTP handler in a
separate process on this machine, and reports the server's rate as a fraction
of it: on a small machine shared with the load generator, HTTP itself is the
ceiling for one event per request.

--intake otlp sends OpenTelemetry logs instead (POST /v1/logs, protobuf,
--batch records per request of the realistic 'stele gen' workload, grouped
by service as an SDK or the Collector batches them; --event-size does not
apply); the acknowledgement is again after sealing.

'stele bench query' measures search, and 'stele bench syslog' the syslog
TCP intake: run them with -h.

Examples:
  stele bench --batch 1000 --concurrency 4 --duration 20s
  stele bench --batch 1 --concurrency 256 --duration 20s --baseline
  stele bench --batch 1 --concurrency 1 --duration 20s
  stele bench --intake otlp --batch 1000 --concurrency 4 --duration 20s`)
	url := fs.String("url", envOr("STELE_URL", defaultURL), "server URL (env STELE_URL)")
	batch := fs.Int("batch", 1, "events per request")
	conc := fs.Int("concurrency", 1, "concurrent clients (one connection each)")
	duration := fs.Duration("duration", 10*time.Second, "measured duration")
	warmup := fs.Duration("warmup", 2*time.Second, "unmeasured warm-up before measuring")
	size := fs.Int("event-size", 300, "approximate bytes of JSON per event")
	ids := fs.Bool("ids", false, "give every event a unique client id (exercises the idempotency index)")
	proof := fs.Bool("proof", false, "ask for an inclusion proof with every event")
	maxReq := fs.Int("requests", 0, "stop after this many measured requests (0: run for --duration)")
	baseline := fs.Bool("baseline", false, "also measure a do-nothing HTTP handler with the same load, first")
	intake := fs.String("intake", "", "send another protocol: otlp (POST /v1/logs, protobuf); default stele's own JSON to POST /v1/events")
	gz := fs.Bool("gzip", false, "compress request bodies with gzip (as the OTel Collector's exporter does by default)")
	asJSON := fs.Bool("json", false, "print results as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the load generator itself to this file")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fail("%v", err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	cfg := bench.Config{
		URL: strings.TrimRight(*url, "/"), Batch: *batch, Concurrency: *conc, Duration: *duration,
		Warmup: *warmup, EventSize: *size, IDs: *ids, Proof: *proof, MaxRequests: *maxReq, Gzip: *gz,
	}
	switch *intake {
	case "", "stele":
	case "otlp":
		if *ids || *proof {
			return fail("--ids and --proof apply to stele's own API, not to --intake otlp")
		}
		cfg.Path, cfg.ContentType, cfg.Body = "/v1/logs", "application/x-protobuf", bench.OTLPBody
	default:
		return fail("--intake %q: want otlp (or nothing, for POST /v1/events)", *intake)
	}
	type report struct {
		Target   string  `json:"target"`
		Events   int64   `json:"events"`
		Requests int64   `json:"requests"`
		Errors   int64   `json:"errors"`
		EPS      float64 `json:"events_per_sec"`
		RPS      float64 `json:"requests_per_sec"`
		P50ms    float64 `json:"p50_ms"`
		P90ms    float64 `json:"p90_ms"`
		P99ms    float64 `json:"p99_ms"`
		P999ms   float64 `json:"p999_ms"`
		MaxMs    float64 `json:"max_ms"`
	}
	toReport := func(target string, r bench.Result) report {
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		return report{target, r.Events, r.Requests, r.Errors, r.EventsPerSec(), r.RequestsPerSec(),
			ms(r.Latencies.P50), ms(r.Latencies.P90), ms(r.Latencies.P99), ms(r.Latencies.P999), ms(r.Latencies.Max)}
	}
	var reports []report
	print := func(rep report, r bench.Result) {
		if *asJSON {
			return
		}
		fmt.Printf("%-9s %9.0f events/s %8.0f req/s  p50 %7.2fms  p90 %7.2fms  p99 %7.2fms  p99.9 %7.2fms  max %7.2fms  errors %d\n",
			rep.Target, rep.EPS, rep.RPS, rep.P50ms, rep.P90ms, rep.P99ms, rep.P999ms, rep.MaxMs, rep.Errors)
		for _, e := range r.ErrorSamples {
			fmt.Printf("          error: %s\n", e)
		}
	}
	if !*asJSON {
		what := fmt.Sprintf("POST /v1/events, ~%d-byte events", *size)
		if cfg.Body != nil {
			what = "OTLP POST /v1/logs, records of the gen workload"
		}
		if *gz {
			what += ", gzip"
		}
		fmt.Printf("%s: batch %d, concurrency %d, %v (+%v warm-up)\n", what, *batch, *conc, *duration, *warmup)
	}
	if *baseline {
		addr, cleanup, err := startNoop()
		if err != nil {
			return fail("baseline: %v", err)
		}
		bcfg := cfg
		bcfg.URL = "http://" + addr
		res, err := bench.Run(ctx, bcfg)
		cleanup()
		if err != nil {
			return fail("baseline: %v", err)
		}
		rep := toReport("baseline", res)
		reports = append(reports, rep)
		print(rep, res)
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return fail("%v", err)
	}
	rep := toReport("stele", res)
	reports = append(reports, rep)
	print(rep, res)
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(reports)
	} else if *baseline && reports[0].RPS > 0 {
		fmt.Printf("stele reached %.1f%% of the do-nothing baseline's request rate\n", 100*rep.RPS/reports[0].RPS)
	}
	if res.Errors > 0 {
		return 1
	}
	return 0
}

// startNoop runs 'stele bench noop-server' as a child process and returns
// its address.
func startNoop() (string, func(), error) {
	exe, err := os.Executable()
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(exe, "bench", "noop-server", "--listen", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		return "", nil, fmt.Errorf("noop server did not start: %v", err)
	}
	cleanup := func() { cmd.Process.Kill(); cmd.Wait() }
	return strings.TrimSpace(line), cleanup, nil
}

// cmdNoopServer serves bench.NoopHandler and prints its address.
func cmdNoopServer(args []string) int {
	fs := newFlags("bench noop-server", "[--listen ADDR]", "Serve a do-nothing append endpoint (the baseline of 'stele bench --baseline').")
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fail("%v", err)
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: bench.NoopHandler(), ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil {
		return fail("%v", err)
	}
	return 0
}

func cmdBenchQuery(args []string) int {
	var kindHelp strings.Builder
	var names []string
	for _, k := range bench.QueryKinds() {
		target := "No target."
		if k.Target > 0 {
			target = "Target: p99 ≤ " + k.Target.String() + "."
		}
		for i, line := range wrap(k.Doc+". "+target, 64) {
			name := ""
			if i == 0 {
				name = k.Name
			}
			fmt.Fprintf(&kindHelp, "  %-10s %s\n", name, line)
		}
		names = append(names, k.Name)
	}
	fs := newFlags("bench query", "[flags]", `
Benchmark search on a server that holds a 'stele gen' workload: send each kind
of query --queries times (after --warmup unmeasured ones), --concurrency at a
time, and report client-observed latency percentiles (request sent → response
decoded), the mean hits (events on the page, or matching events for stats)
and the mean records the server scanned to answer. Each kind stops early at
--duration; n in the table says how many queries it measured.

The workload lies in the past, so "now" is its end (--end, by default the
default workload's end), sent as absolute since= and until= times. The
selective kind's actors come from the workload itself (gen's most active
actors), so --seed, --actors, --days and --end must match the 'stele gen' run.

Kinds:
`+kindHelp.String()+`
The targets are the issue's, for 10M events of the default workload on the
server, and the table marks each ✓ or ✗. Two more targets are measured
outside this command: the index at most 35% of the raw NDJSON size (compare
the index directory's size with 'stele gen --events 10000000 --out FILE'), and
the server's peak RSS at most 256 MB. When the server exposes /metrics, its
resident size now and its stele_index_* numbers are printed after the table.

Exit status 1 if a query failed; a missed target only shows as ✗.

To reproduce (the default workload, 10M events):
  stele serve --data ./bench-data &
  stele gen --events 10000000 --url http://127.0.0.1:7600
  stele bench query --url http://127.0.0.1:7600

Examples:
  stele bench query --kinds selective,facet --queries 500
  stele bench query --concurrency 8 --duration 30s --json`)
	url := fs.String("url", envOr("STELE_URL", defaultURL), "server URL (env STELE_URL)")
	queries := fs.Int("queries", 200, "measured queries per kind")
	warmup := fs.Int("warmup", 5, "unmeasured queries per kind before measuring")
	duration := fs.Duration("duration", time.Minute, "time cap per kind, warm-up included")
	conc := fs.Int("concurrency", 1, "queries in flight at once")
	kinds := fs.String("kinds", strings.Join(names, ","), "comma-separated kinds to run, in order")
	end := fs.String("end", gen.DefaultEnd().Format(time.RFC3339), `the workload's end (RFC 3339): "now" for the last 24h`)
	seed := fs.Uint64("seed", 0, "the workload's --seed")
	actors := fs.Int("actors", gen.DefaultActors, "the workload's --actors")
	days := fs.Int("days", gen.DefaultDays, "the workload's --days")
	asJSON := fs.Bool("json", false, "print results as JSON")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	endTime, err := time.Parse(time.RFC3339, *end)
	switch {
	case fs.NArg() > 0:
		return fail("bench query: unexpected argument %q (it takes only flags)", fs.Arg(0))
	case err != nil:
		return fail("bench query: --end %q is not an RFC 3339 time like 2026-11-23T00:00:00Z", *end)
	case *queries < 1 || *warmup < 0 || *conc < 1 || *duration <= 0:
		return fail("bench query: --queries, --concurrency and --duration must be positive, --warmup at least 0")
	case *actors < 1 || *days < 1 || *days > gen.MaxDays:
		return fail("bench query: --actors must be at least 1 and --days between 1 and %d", gen.MaxDays)
	}
	cfg := bench.QueryConfig{
		URL: strings.TrimRight(*url, "/"), Queries: *queries, Warmup: *warmup, Duration: *duration, Concurrency: *conc,
		Workload: gen.Options{Seed: *seed, Actors: *actors, Days: *days, End: endTime},
	}
	for _, k := range strings.Split(*kinds, ",") {
		if k = strings.TrimSpace(k); k != "" {
			cfg.Kinds = append(cfg.Kinds, k)
		}
	}
	if len(cfg.Kinds) == 0 {
		return fail("bench query: --kinds is empty; pick from %s", strings.Join(names, ", "))
	}
	if _, err := bench.Plan(cfg); err != nil { // a bad kind fails before any load
		return fail("%v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := client.New(cfg.URL, nil)
	if err != nil {
		return fail("%v", err)
	}
	info, err := c.Log(ctx)
	if err != nil {
		return fail("bench query: %v", err)
	}
	if !*asJSON {
		fmt.Printf("%d events at %s; now = %s (the workload's end); %d queries per kind (+%d warm-up), concurrency %d, at most %v per kind\n",
			info.Size, cfg.URL, cfg.End().Format(time.RFC3339), *queries, *warmup, *conc, *duration)
		if info.Size == 0 {
			fmt.Println("the log is empty: load it first, e.g. stele gen --events 10000000 --url " + cfg.URL)
		}
	}
	results, err := bench.RunQueries(ctx, cfg)
	if err != nil && len(results) == 0 {
		return fail("%v", err)
	}
	metrics, merr := bench.ServerMetrics(ctx, cfg.URL)
	if merr != nil && !*asJSON {
		fmt.Fprintf(os.Stderr, "stele: server metrics: %v\n", merr)
	}
	failed := int64(0)
	for _, r := range results {
		failed += r.Errors
	}
	if *asJSON {
		printQueryJSON(info.Size, cfg, results, metrics)
	} else {
		printQueryTable(results, metrics)
	}
	if err != nil {
		return fail("%v", err)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

// wrap breaks text into lines of at most width bytes at spaces (a longer
// word gets a line of its own).
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	return append(lines, line)
}

// queryReport is one kind's line of 'stele bench query --json'.
type queryReport struct {
	Kind        string   `json:"kind"`
	Queries     int64    `json:"queries"`
	Errors      int64    `json:"errors"`
	P50ms       float64  `json:"p50_ms"`
	P90ms       float64  `json:"p90_ms"`
	P99ms       float64  `json:"p99_ms"`
	MaxMs       float64  `json:"max_ms"`
	MeanHits    float64  `json:"mean_hits"`
	MeanScanned float64  `json:"mean_scanned"`
	Slowest     string   `json:"slowest,omitempty"`
	TargetMs    float64  `json:"target_p99_ms,omitempty"`
	Met         *bool    `json:"met,omitempty"` // absent without a target
	ErrorSample []string `json:"error_samples,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printQueryJSON(size uint64, cfg bench.QueryConfig, results []bench.QueryResult, metrics []bench.ServerMetric) {
	out := struct {
		URL     string             `json:"url"`
		Events  uint64             `json:"events"`
		End     time.Time          `json:"end"`
		Kinds   []queryReport      `json:"kinds"`
		Metrics map[string]float64 `json:"server_metrics,omitempty"`
	}{URL: cfg.URL, Events: size, End: cfg.End(), Kinds: []queryReport{}}
	for _, r := range results {
		rep := queryReport{Kind: r.Kind, Queries: r.Queries, Errors: r.Errors,
			P50ms: ms(r.Latencies.P50), P90ms: ms(r.Latencies.P90), P99ms: ms(r.Latencies.P99), MaxMs: ms(r.Latencies.Max),
			MeanHits: r.MeanHits, MeanScanned: r.MeanScanned, Slowest: r.Slowest, ErrorSample: r.ErrorSamples}
		if r.Target > 0 {
			met := r.Met()
			rep.TargetMs, rep.Met = ms(r.Target), &met
		}
		out.Kinds = append(out.Kinds, rep)
	}
	if len(metrics) > 0 {
		out.Metrics = map[string]float64{}
		for _, m := range metrics {
			out.Metrics[m.Name] = m.Value
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

func printQueryTable(results []bench.QueryResult, metrics []bench.ServerMetric) {
	fmt.Printf("%-10s %5s %9s %9s %9s %9s %8s %10s  %s\n", "kind", "n", "p50", "p90", "p99", "max", "hits", "scanned", "target")
	for _, r := range results {
		target := ""
		if r.Target > 0 {
			mark := "✗"
			if r.Met() {
				mark = "✓"
			}
			target = fmt.Sprintf("p99 ≤ %v %s", r.Target, mark)
		}
		l := r.Latencies
		fmt.Printf("%-10s %5d %7.2fms %7.2fms %7.2fms %7.2fms %8.1f %10.0f  %s\n",
			r.Kind, r.Queries, ms(l.P50), ms(l.P90), ms(l.P99), ms(l.Max), r.MeanHits, r.MeanScanned, target)
		if r.Target > 0 && !r.Met() && r.Slowest != "" {
			fmt.Printf("           slowest: %s\n", r.Slowest)
		}
		if r.Errors > 0 {
			fmt.Printf("           %d errors, e.g.:\n", r.Errors)
		}
		for _, e := range r.ErrorSamples {
			fmt.Printf("           error: %s\n", e)
		}
		if r.Kind == "selective" && r.Queries > 0 && r.MeanHits == 0 {
			fmt.Println("           no actor had events: was the log loaded by stele gen with the same --seed, --actors, --days and --end?")
		}
	}
	if len(metrics) == 0 {
		return
	}
	fmt.Println("server /metrics after the run:")
	for _, m := range metrics {
		note := ""
		if m.Name == "process_resident_memory_bytes" {
			note = "  (target: peak RSS ≤ 256 MB; this is the RSS now)"
		}
		value := fmt.Sprintf("%.0f", m.Value)
		if strings.HasSuffix(m.Name, "_bytes") {
			value = fmt.Sprintf("%.1f MB", m.Value/1e6)
		}
		fmt.Printf("  %-40s %14s%s\n", m.Name, value, note)
	}
}

func cmdBenchSyslog(args []string) int {
	fs := newFlags("bench syslog", "--addr HOST:PORT [flags]", `
Load-test a server's syslog TCP intake (serve --syslog-tcp). It writes RFC
5424 messages of the realistic workload ('stele gen': skewed actors,
templated messages, ~200 bytes; half with the event in stele's stele@32473
SD element, half as plain text) over --conns connections as fast as the
server reads them, and reports the rate at which the log sealed them: the
growth of its signed checkpoint during the measured window, read from --url.
Syslog has no acknowledgement; TCP backpressure is what slows the senders.

After sending stops it waits until every message written is sealed and
reports any missing: the log must receive nothing else during the run.

Example:
  stele serve --syslog-tcp 127.0.0.1:5514 &
  stele bench syslog --addr 127.0.0.1:5514 --conns 4 --duration 20s`)
	addr := fs.String("addr", "127.0.0.1:5514", "the server's syslog TCP address")
	url := fs.String("url", envOr("STELE_URL", defaultURL), "the server's URL, to read its checkpoint (env STELE_URL)")
	conns := fs.Int("conns", 4, "concurrent TCP connections")
	duration := fs.Duration("duration", 10*time.Second, "measured duration")
	warmup := fs.Duration("warmup", 2*time.Second, "unmeasured warm-up before measuring")
	lf := fs.Bool("lf", false, "LF-delimited framing instead of octet counting (RFC 6587)")
	maxMsgs := fs.Int64("messages", 0, "stop after writing this many messages (0: run for --duration)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	framing := "octet-counted"
	if *lf {
		framing = "LF-delimited"
	}
	if !*asJSON {
		fmt.Printf("syslog TCP %s: %d connections, %s, %v (+%v warm-up)\n", *addr, *conns, framing, *duration, *warmup)
	}
	res, err := bench.RunSyslog(ctx, bench.SyslogConfig{
		Addr: *addr, URL: strings.TrimRight(*url, "/"), Conns: *conns, Duration: *duration, Warmup: *warmup,
		LF: *lf, MaxMessages: *maxMsgs,
	})
	if err != nil {
		return fail("%v", err)
	}
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(map[string]any{
			"sealed_per_sec": res.SealedPerSec(), "sent_per_sec": res.SentPerSec(), "sealed": res.Sealed, "sent": res.Sent,
			"elapsed_sec": res.Elapsed.Seconds(), "total_sent": res.Total, "missing": res.Missing, "drain_sec": res.DrainFor.Seconds(),
		})
	} else {
		fmt.Printf("sealed %9.0f msg/s  (sent %.0f msg/s; %d sealed in %.1fs)\n", res.SealedPerSec(), res.SentPerSec(), res.Sealed, res.Elapsed.Seconds())
		if res.Missing == 0 {
			fmt.Printf("all %d messages written were sealed, the last %.2fs after sending stopped\n", res.Total, res.DrainFor.Seconds())
		}
	}
	if res.Missing != 0 {
		fmt.Fprintf(os.Stderr, "stele bench syslog: %d messages written were not sealed\n", res.Missing)
		return 1
	}
	return 0
}
