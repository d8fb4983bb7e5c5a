// Package bench is stele's load generator: it appends realistic events to a
// server at a chosen batch size and concurrency and reports throughput and
// acknowledgement latency percentiles. `stele bench` is its command line.
//
// A baseline mode measures a do-nothing HTTP handler answering the same
// requests, so a result can be stated as a fraction of what HTTP alone
// allows on the same machine.
package bench

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes one load run.
type Config struct {
	URL         string        // server base URL, e.g. http://127.0.0.1:7600
	Batch       int           // events per request (1 sends a JSON object, more send NDJSON)
	Concurrency int           // concurrent clients, one connection each
	Duration    time.Duration // measured time (after Warmup)
	Warmup      time.Duration // unmeasured time first
	MaxRequests int           // stop after this many measured requests (0: no bound)
	EventSize   int           // approximate bytes of JSON per event
	IDs         bool          // give every event a unique client id (exercises idempotency lookups)
	Proof       bool          // ask for inclusion proofs (?proof=1)
	Path        string        // request path; default /v1/events
	// Body, when set, builds a request body of Batch events in another
	// protocol (an intake's), sent with ContentType instead of stele's JSON;
	// IDs and Proof do not apply, and an empty 200 response is an
	// acknowledgement (OTLP's protobuf one is empty).
	Body        func(rng *rand.Rand, batch, size int) ([]byte, error)
	ContentType string
	Gzip        bool // compress bodies (Content-Encoding: gzip), once, up front
	Seed        uint64
}

// Result is what a run measured.
type Result struct {
	Requests     int64
	Events       int64
	Errors       int64
	ErrorSamples []string
	Elapsed      time.Duration
	Latencies    Percentiles
}

// EventsPerSec is the measured event throughput.
func (r Result) EventsPerSec() float64 { return float64(r.Events) / r.Elapsed.Seconds() }

// RequestsPerSec is the measured request throughput.
func (r Result) RequestsPerSec() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Percentiles of acknowledgement latency (request sent → response read).
type Percentiles struct {
	P50, P90, P99, P999, Max time.Duration
}

const maxSamples = 20_000_000

// Run executes the load and blocks until it is done or ctx ends.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Batch < 1 || cfg.Concurrency < 1 || cfg.Duration <= 0 {
		return Result{}, errors.New("bench: batch, concurrency and duration must be positive")
	}
	if cfg.Gzip && cfg.IDs {
		return Result{}, errors.New("bench: gzip and per-event ids do not combine (ids are rewritten in place)")
	}
	if cfg.EventSize <= 0 {
		cfg.EventSize = 300
	}
	if cfg.Path == "" {
		cfg.Path = "/v1/events"
	}
	url := cfg.URL + cfg.Path
	if cfg.Proof {
		url += "?proof=1"
	}
	contentType := "application/json"
	if cfg.Batch > 1 {
		contentType = "application/x-ndjson"
	}
	if cfg.Body != nil {
		contentType = cfg.ContentType
		cfg.IDs = false
	}
	transport := loadTransport(cfg.Concurrency)
	transport.DisableCompression = true
	defer transport.CloseIdleConnections()
	hc := &http.Client{Transport: transport, Timeout: 60 * time.Second}

	// A few distinct bodies per worker; with ids, every send gets fresh ids.
	seed := cfg.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	run := uint32(seed)

	var (
		measuring atomic.Bool
		stop      atomic.Bool
		requests  atomic.Int64
		errCount  atomic.Int64
		mu        sync.Mutex
		samples   []time.Duration
		errSample []string
		wg        sync.WaitGroup
	)
	recordErr := func(msg string) {
		if errCount.Add(1) <= 5 {
			mu.Lock()
			errSample = append(errSample, msg)
			mu.Unlock()
		}
	}
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			templates := make([]body, 4)
			for i := range templates {
				if cfg.Body != nil {
					data, err := cfg.Body(rng, cfg.Batch, cfg.EventSize)
					if err != nil {
						recordErr(err.Error())
						return
					}
					templates[i] = body{data: data}
				} else {
					templates[i] = makeBody(rng, cfg.Batch, cfg.EventSize, cfg.IDs)
				}
				if cfg.Gzip {
					templates[i].data = gzipped(templates[i].data)
				}
			}
			var (
				counter = uint64(w) << 40
				buf     []byte
				local   []time.Duration
				sink    = make([]byte, 64<<10)
			)
			for i := 0; !stop.Load(); i++ {
				data := templates[i%len(templates)].data
				if cfg.IDs {
					buf = templates[i%len(templates)].stamp(buf, run, &counter)
					data = buf
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
				req.Header.Set("Content-Type", contentType)
				if cfg.Gzip {
					req.Header.Set("Content-Encoding", "gzip")
				}
				start := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					if ctx.Err() != nil || stop.Load() {
						break
					}
					if measuring.Load() {
						recordErr(err.Error())
					}
					continue
				}
				var n int
				status := resp.StatusCode
				for {
					m, rerr := resp.Body.Read(sink)
					n += m
					if rerr != nil {
						if rerr != io.EOF {
							err = rerr
						}
						break
					}
				}
				resp.Body.Close()
				elapsed := time.Since(start)
				if !measuring.Load() {
					continue
				}
				switch {
				case err != nil:
					recordErr(err.Error())
				case status != http.StatusOK:
					recordErr(fmt.Sprintf("HTTP %d: %s", status, bytes.TrimSpace(sink[:min(n, 200)])))
				case n == 0 && cfg.Body == nil:
					recordErr("empty response")
				default:
					if len(local) < maxSamples/cfg.Concurrency {
						local = append(local, elapsed)
					}
					if r := requests.Add(1); cfg.MaxRequests > 0 && r >= int64(cfg.MaxRequests) {
						stop.Store(true)
					}
				}
			}
			mu.Lock()
			samples = append(samples, local...)
			mu.Unlock()
		}()
	}

	sleep(ctx, cfg.Warmup)
	measuring.Store(true)
	begin := time.Now()
	deadline := time.NewTimer(cfg.Duration)
	for !stop.Load() {
		select {
		case <-deadline.C:
			stop.Store(true)
		case <-ctx.Done():
			stop.Store(true)
		case <-time.After(10 * time.Millisecond):
		}
	}
	elapsed := time.Since(begin)
	measuring.Store(false)
	wg.Wait()

	res := Result{
		Requests:     requests.Load(),
		Events:       requests.Load() * int64(cfg.Batch),
		Errors:       errCount.Load(),
		ErrorSamples: errSample,
		Elapsed:      elapsed,
		Latencies:    percentiles(samples),
	}
	return res, ctx.Err()
}

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), P999: at(0.999), Max: d[len(d)-1]}
}

// NoopHandler answers every request the way a do-nothing append endpoint
// would: it reads the whole body and returns a small fixed JSON
// acknowledgement. It is the baseline for what HTTP alone costs.
func NoopHandler() http.Handler {
	ack := []byte(`{"size":1,"root_hash":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","checkpoint":"noop\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n","events":[{"seq":0,"id":"00000000-0000-7000-8000-000000000000","leaf_hash":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}]}` + "\n")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(ack)
	})
}

// loadTransport is an HTTP transport for a load generator of n concurrent
// clients: one kept-alive connection each, no proxy.
func loadTransport(n int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        n,
		MaxIdleConnsPerHost: n,
		MaxConnsPerHost:     n,
		IdleConnTimeout:     90 * time.Second,
	}
}

// gzipped is b compressed with gzip.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}
