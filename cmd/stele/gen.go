package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/client"
	"github.com/stele-log/stele/gen"
)

// maxGenActors bounds --actors: the population costs about 1 kB per actor,
// so a typo must not ask for tens of gigabytes.
const maxGenActors = 1_000_000

func cmdGen(args []string) int {
	fs := newFlags("gen", "--events N [flags]", `
Generate a deterministic, realistic audit workload: NDJSON events in stele's
input schema, written to a file or standard output, or sent to a server.

The events look like a mid-sized company's audit trail: 10,000 actors by
default (people with home networks and browsers, admins, and service accounts
such as svc-deployer), about 220 actions in ten categories (logins, IAM
changes, deploys, database reads, secrets, billing, ...), an office-hours
daily cycle with quiet weekends and nightly batch jobs, Zipf-skewed activity,
~3% failures, ~1% denials and rare brute-force login bursts. Events are ~350
bytes each, in time order, spread over the --days days before --end.

The same flags always give the same bytes. --events is part of the workload:
the first 1000 events of --events 1000000 are not the events of --events 1000.

Without --url the events are written as NDJSON to --out. With --url they are
appended to a running server in bodies of --batch events, --concurrency at a
time (with --concurrency 1 the log receives them in time order). With --ids
every event carries a client id, which the server uses as an idempotency key:
sending the same workload again appends nothing.

Examples:
  stele gen --events 1000 --out sample.ndjson
  stele gen --events 1000000 --url http://127.0.0.1:7600
  stele gen --events 100000 --seed 7 --days 7 --ids --url http://127.0.0.1:7600`)
	events := fs.Int64("events", 0, "number of events to generate (required)")
	seed := fs.Uint64("seed", 0, "workload seed: selects the population and the event stream")
	actors := fs.Int("actors", gen.DefaultActors, fmt.Sprintf("population size, service accounts and admins included (at most %d)", maxGenActors))
	days := fs.Int("days", gen.DefaultDays, fmt.Sprintf("length of the time span in days (at most %d)", gen.MaxDays))
	end := fs.String("end", gen.DefaultEnd().Format(time.RFC3339), "end of the time span, exclusive (RFC 3339)")
	ids := fs.Bool("ids", false, `give every event a client "id" (gen-...), an idempotency key on the server`)
	out := fs.String("out", "-", `write NDJSON to this file ("-": standard output); not with --url`)
	url := fs.String("url", "", "append to the stele server at this URL (e.g. "+defaultURL+") instead of writing NDJSON")
	batch := fs.Int("batch", 1000, "with --url: events per request")
	conc := fs.Int("concurrency", 4, "with --url: requests in flight")
	if code, ok := parse(fs, args); !ok {
		return code
	}

	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	endTime, err := time.Parse(time.RFC3339, *end)
	switch {
	case fs.NArg() > 0:
		return genUsage("unexpected argument %q (gen takes only flags)", fs.Arg(0))
	case !set["events"]:
		return genUsage("--events is required, e.g. --events 1000000")
	case *events < 1:
		return genUsage("--events must be at least 1, not %d", *events)
	case *actors < 1 || *actors > maxGenActors:
		return genUsage("--actors must be between 1 and %d, not %d", maxGenActors, *actors)
	case *days < 1 || *days > gen.MaxDays:
		return genUsage("--days must be between 1 and %d, not %d", gen.MaxDays, *days)
	case err != nil:
		return genUsage("--end %q is not an RFC 3339 time like 2026-11-23T00:00:00Z", *end)
	case endTime.UTC().AddDate(0, 0, -*days).Year() < 1 || endTime.UTC().Year() > 9999:
		return genUsage("--end %s with --days %d puts the span outside years 0001-9999", *end, *days)
	case *url != "" && set["out"]:
		return genUsage("--out and --url are exclusive: write NDJSON or send it, not both")
	case *url == "" && (set["batch"] || set["concurrency"]):
		return genUsage("--batch and --concurrency only apply with --url")
	case *batch < 1:
		return genUsage("--batch must be at least 1, not %d", *batch)
	case *conc < 1:
		return genUsage("--concurrency must be at least 1, not %d", *conc)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opts := gen.Options{Seed: *seed, Actors: *actors, Days: *days, End: endTime, IDs: *ids, Events: *events}
	if *url != "" {
		return genSend(ctx, opts, *url, *batch, *conc)
	}
	return genWrite(ctx, opts, *out)
}

// genUsage reports a bad flag and returns exit code 2.
func genUsage(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "stele gen: "+format+"\nRun 'stele gen -h' for help.\n", args...)
	return 2
}

// genFail reports a failure of the run and returns exit code 1.
func genFail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "stele gen: "+format+"\n", args...)
	return 1
}

// genWrite writes the events of opts as NDJSON to path ("-": standard
// output).
func genWrite(ctx context.Context, opts gen.Options, path string) int {
	var w io.Writer = os.Stdout
	var file *os.File
	if path != "-" {
		f, err := os.Create(path)
		if err != nil {
			return genFail("%v", err)
		}
		defer f.Close()
		w, file = f, f
	}
	g, n := gen.New(opts), opts.Events
	bar := newProgress("generating")
	if file == nil && isTerminal(os.Stdout) {
		bar.on = false // the events themselves are on the terminal
	}
	const chunk = 1000
	var (
		buf     []byte
		written int64
		size    int64
		start   = time.Now()
	)
	for written < n {
		if err := ctx.Err(); err != nil {
			bar.done()
			return genFail("interrupted after %d of %d events", written, n)
		}
		k := min(n-written, chunk)
		buf = g.AppendNDJSON(buf[:0], int(k))
		if _, err := w.Write(buf); err != nil {
			bar.done()
			return genFail("write %s: %v", genOutName(path), err)
		}
		written += k
		size += int64(len(buf))
		bar.update(written, n, " events")
	}
	bar.done()
	if file != nil {
		if err := file.Close(); err != nil {
			return genFail("write %s: %v", path, err)
		}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(os.Stderr, "gen: wrote %d events (%s) to %s in %v, %s\n",
		written, genByteSize(size), genOutName(path), genRound(elapsed), humanRate(genRate(written, elapsed), " events"))
	return 0
}

func genOutName(path string) string {
	if path == "-" {
		return "standard output"
	}
	return path
}

// genSend appends the events of opts to the server at url.
func genSend(ctx context.Context, opts gen.Options, url string, batch, conc int) int {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = conc // keep every in-flight request's connection
	c, err := client.New(url, &http.Client{Transport: transport, Timeout: 5 * time.Minute})
	if err != nil {
		return genUsage("--url: %v", err)
	}
	// Ask for the log first, so a wrong URL fails with a clear message
	// before any event is generated.
	info, err := c.Log(ctx)
	if err != nil {
		return genFail("no stele server at %s (start one with 'stele serve'): %v", url, err)
	}

	g, n := gen.New(opts), opts.Events
	var dups atomic.Int64
	appendFn := func(ctx context.Context, body []byte) (uint64, error) {
		resp, err := c.Append(ctx, body, true, false)
		if err != nil {
			return 0, err
		}
		var d int64
		for _, ev := range resp.Events {
			if ev.Duplicate {
				d++
			}
		}
		dups.Add(d)
		return resp.Size, nil
	}
	bar := newProgress("sending")
	res, err := gen.Send(ctx, g, gen.SendConfig{
		Events:      n,
		Batch:       batch,
		Concurrency: conc,
		Progress:    func(sent int64) { bar.update(sent, n, " events") },
	}, appendFn)
	bar.done()
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return genFail("interrupted: %v", err)
		}
		if errors.Is(err, stele.ErrTooLarge) {
			return genFail("sending to %s: %v (try a smaller --batch)", url, err)
		}
		return genFail("sending to %s: %v", url, err)
	}
	d := dups.Load()
	fmt.Fprintf(os.Stderr, "gen: sent %d events (%s) to %s in %v, %s: %d appended, %d already in the log; log size %d (was %d)\n",
		res.Events, genByteSize(res.Bytes), url, genRound(res.Elapsed), humanRate(res.EventsPerSec(), " events"),
		res.Events-d, d, res.Size, info.Size)
	return 0
}

func genRate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// genRound rounds a duration for the summary: to the millisecond, or to
// 10 µs below 100 ms so that small runs do not print "0s".
func genRound(d time.Duration) time.Duration {
	if d < 100*time.Millisecond {
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

// genByteSize renders a byte count in decimal units.
func genByteSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
