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
)

func cmdBench(args []string) int {
	if len(args) > 0 && args[0] == "noop-server" {
		return cmdNoopServer(args[1:])
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

Examples:
  stele bench --batch 1000 --concurrency 4 --duration 20s
  stele bench --batch 1 --concurrency 256 --duration 20s --baseline
  stele bench --batch 1 --concurrency 1 --duration 20s`)
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
		Warmup: *warmup, EventSize: *size, IDs: *ids, Proof: *proof, MaxRequests: *maxReq,
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
		fmt.Printf("batch %d, concurrency %d, ~%d-byte events, %v (+%v warm-up)\n", *batch, *conc, *size, *duration, *warmup)
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
