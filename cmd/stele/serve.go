package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/index/search"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/query"
	"github.com/stele-log/stele/storage/local"
	"github.com/stele-log/stele/verify"
)

func cmdServe(args []string) int {
	fs := newFlags("serve", "[flags]", `
Run the stele server on the embedded storage engine. With no flags it keeps
its data in ./stele-data and listens on http://127.0.0.1:7600. On first start
it creates the data directory and a signing key (data/key, mode 0600); the
public key is in data/key.pub and at GET /v1/log.

SIGINT or SIGTERM drain in-flight appends and exit cleanly. After a crash,
just start it again: recovery is automatic, and it refuses to start (naming
the file, offset and seq) only if sealed data was damaged.`)
	data := fs.String("data", "./stele-data", "data directory (created on first start)")
	listen := fs.String("listen", "127.0.0.1:7600", "address to listen on (host:port)")
	origin := fs.String("origin", "", "log origin, the first line of every checkpoint (default: the data directory's, or <hostname>/stele for a new log)")
	keyFile := fs.String("key-file", "", "private note key to sign with, from 'stele keygen' (default: <data>/key, generated on first start)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (PEM); serve HTTPS when set with --tls-key")
	tlsKey := fs.String("tls-key", "", "TLS private key file (PEM)")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	segmentSize := fs.Int64("segment-size", 64<<20, "seal the active segment file at this size in bytes")
	maxBody := fs.Int64("max-body", 64<<20, "largest accepted append request body in bytes")
	drain := fs.Duration("drain-timeout", 30*time.Second, "on shutdown, how long to wait for in-flight requests")
	searchIndex := fs.Bool("search-index", true, "keep the search index (DIR/index/search) up to date; with =false, searches scan the log (for ingest-only nodes and for measuring the index's cost)")
	var intakeFl intakeFlags
	intakeFl.register(&flagSet{fs})
	debugAddr := fs.String("debug-addr", "", "serve Go's /debug/pprof profiles on this separate address (e.g. 127.0.0.1:6060); off by default")
	if code, ok := parse(fs, args); !ok {
		return code
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fail("--tls-cert and --tls-key go together")
	}
	logger, err := newLogger(*logLevel, *logFormat)
	if err != nil {
		return fail("%v", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	ctx := context.Background()
	start := time.Now()
	lg, err := local.Open(ctx, *data, local.Options{
		Origin:      *origin,
		KeyFile:     *keyFile,
		Logger:      logger,
		Registerer:  reg,
		SegmentSize: *segmentSize,
	})
	if err != nil {
		logger.Error("cannot open the log", "data", *data, "err", err)
		return 1
	}
	_, size, _ := lg.Checkpoint()
	logger.Info("log opened", "data", *data, "origin", lg.Origin(), "size", size, "took", time.Since(start).Round(time.Millisecond))

	// The search index is derived from the log: opened (and rebuilt where
	// damaged or missing) here, then kept caught up in the background.
	// Queries are right before it catches up; they scan what it lacks.
	var backend query.Backend // nil: searches scan the log
	var idx *search.Index
	followDone := make(chan struct{})
	fctx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	if *searchIndex {
		idx, err = openIndex(ctx, *data, lg, logger)
		if err != nil {
			lg.Close()
			logger.Error("cannot open the search index", "dir", indexDir(*data), "err", err, "fix", "stop the server and run 'stele reindex --data "+*data+"'")
			return 1
		}
		registerIndexMetrics(reg, idx)
		go func() {
			defer close(followDone)
			followIndex(fctx, logger, idx, lg, *data)
		}()
		backend = query.NewIndexBackend(idx, logger)
	} else {
		close(followDone)
		logger.Info("search index off (--search-index=false): searches scan the log")
	}
	engine := query.NewEngine(lg, backend)

	// abort undoes what started so far when a later step fails: the index
	// follower, the index and the log, in that order.
	abort := func(format string, args ...any) int {
		stopFollow()
		<-followDone
		if idx != nil {
			idx.Close()
		}
		lg.Close()
		return fail(format, args...)
	}
	in, err := intakeFl.setup(lg, reg, logger, *tlsCert, *tlsKey)
	if err != nil {
		return abort("%v", err)
	}
	srv := api.New(api.Config{Log: lg, Logger: logger, Registry: reg, MaxBodyBytes: *maxBody, Gate: in.gate, Search: engine, Intakes: in.routes})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		in.close()
		return abort("listen on %s: %v", *listen, err)
	}
	var dl net.Listener
	if *debugAddr != "" {
		if dl, err = net.Listen("tcp", *debugAddr); err != nil {
			ln.Close()
			in.close()
			return abort("listen on %s: %v", *debugAddr, err)
		}
	}
	// Every listener is bound: the syslog intakes start.
	ictx, stopIntakes := context.WithCancel(ctx)
	defer stopIntakes()
	waitIntakes := in.run(ictx, logger)
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	httpSrv.RegisterOnShutdown(srv.CloseStreams) // live tails end, so the drain does not wait on them
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	errc := make(chan error, 1)
	go func() {
		if *tlsCert != "" {
			errc <- httpSrv.ServeTLS(ln, *tlsCert, *tlsKey)
		} else {
			errc <- httpSrv.Serve(ln)
		}
	}()
	logger.Info("stele serving", "url", fmt.Sprintf("%s://%s", scheme, ln.Addr()), "verifier_key", lg.VerifierKey())

	if dl != nil {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go http.Serve(dl, mux)
		logger.Info("profiling endpoint", "url", fmt.Sprintf("http://%s/debug/pprof/", dl.Addr()))
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	code := 0
	select {
	case sig := <-sigs:
		logger.Info("shutting down: draining in-flight requests", "signal", sig.String())
	case err := <-errc:
		logger.Error("server stopped", "err", err)
		code = 1
	}
	sctx, cancel := context.WithTimeout(ctx, *drain)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Warn("drain incomplete", "err", err)
	}
	stopIntakes()
	waitIntakes() // syslog connections closed, their last batches sealed
	stopFollow()
	<-followDone
	if idx != nil {
		if err := idx.Close(); err != nil {
			logger.Warn("search index close (it is rebuilt from the log at the next start)", "err", err)
		}
	}
	if err := lg.Close(); err != nil {
		logger.Error("close", "err", err)
		return 1
	}
	logger.Info("stopped cleanly")
	return code
}

// indexDir is where a data directory keeps its search index.
func indexDir(data string) string { return filepath.Join(data, "index", "search") }

// registerIndexMetrics exports the search index's progress and size.
func registerIndexMetrics(reg prometheus.Registerer, idx *search.Index) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stele_search_indexed_events", Help: "Events the search index covers; queries scan the log past it."}, func() float64 { return float64(idx.Covered()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stele_search_index_disk_bytes", Help: "Bytes of the search index's chunk files."}, func() float64 { return float64(idx.Stats().DiskBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stele_search_index_memory_bytes", Help: "Memory the search index holds: chunk summaries, pending and partial chunks."}, func() float64 { return float64(idx.Stats().MemBytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "stele_search_index_seal_errors", Help: "Failed chunk writes since start (retried in the background)."}, func() float64 { return float64(idx.Stats().SealErrors) }),
	)
}

// openIndex opens the search index of the data directory data. An index
// built from another log (a copied or restored directory: its recorded
// identity differs, or it claims more events than the log holds) is
// discarded and rebuilt; so is one with no identity that covers events.
func openIndex(ctx context.Context, data string, lg *local.Log, logger *slog.Logger) (*search.Index, error) {
	dir := indexDir(data)
	idx, err := search.Open(fsx.OS(), dir, search.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	want, err := logIdentity(ctx, lg)
	if err != nil {
		idx.Close()
		return nil, err
	}
	have, err := search.ReadIdentity(fsx.OS(), dir)
	if err != nil {
		idx.Close()
		return nil, err
	}
	var why string
	switch {
	case idx.Covered() > lg.Size():
		why = "the search index covers more events than the log holds"
	case want != nil && have != nil && !bytes.Equal(have, want):
		why = "the search index was built from another log"
	case have == nil && idx.Covered() > 0:
		why = "the search index does not say which log it was built from"
	}
	if why != "" {
		logger.Warn(why+": rebuilding it", "indexed", idx.Covered(), "log_size", lg.Size())
		if err := idx.Close(); err != nil {
			return nil, err
		}
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
		if idx, err = search.Open(fsx.OS(), dir, search.Options{Logger: logger}); err != nil {
			return nil, err
		}
		have = nil
	}
	if want != nil && have == nil {
		if err := search.WriteIdentity(fsx.OS(), dir, want); err != nil {
			idx.Close()
			return nil, err
		}
	}
	return idx, nil
}

// logIdentity names a log: its origin and the leaf hash of its first entry
// (which holds a random UUIDv7 and a time, so no two logs share it). nil
// for an empty log.
func logIdentity(ctx context.Context, lg *local.Log) ([]byte, error) {
	if lg.Size() == 0 {
		return nil, nil
	}
	first, err := lg.Entry(ctx, 0)
	if err != nil {
		return nil, err
	}
	h := verify.LeafHash(first)
	return fmt.Appendf(nil, "%s\n%x\n", lg.Origin(), h), nil
}

// followIndex keeps idx caught up with lg until ctx ends, logging the initial
// catch-up when there is one. Indexing failures are logged and retried:
// the log is the authority, and search stays correct (if slower) meanwhile.
func followIndex(ctx context.Context, logger *slog.Logger, idx *search.Index, lg *local.Log, data string) {
	if have, _ := search.ReadIdentity(fsx.OS(), indexDir(data)); have == nil { // a new log: record its identity once it has one
		if _, err := lg.Wait(ctx, 0); err != nil {
			return
		}
		id, err := logIdentity(ctx, lg)
		if err == nil {
			err = search.WriteIdentity(fsx.OS(), indexDir(data), id)
		}
		if err != nil {
			logger.Error("cannot record the search index's log identity; it will be rebuilt at the next start", "err", err)
		}
	}
	if behind := lg.Size() - min(idx.Covered(), lg.Size()); behind > 0 {
		start := time.Now()
		logger.Info("search index catching up", "indexed", idx.Covered(), "log_size", lg.Size())
		last := time.Now()
		err := idx.CatchUp(ctx, lg, func(covered, target uint64) {
			if time.Since(last) >= 5*time.Second {
				last = time.Now()
				logger.Info("search index catching up", "indexed", covered, "target", target)
			}
		})
		if err == nil {
			logger.Info("search index caught up", "events", behind, "took", time.Since(start).Round(time.Millisecond))
		}
	}
	for backoff := time.Second; ; backoff = min(2*backoff, time.Minute) {
		err := idx.Follow(ctx, lg)
		if ctx.Err() != nil {
			return
		}
		logger.Error("search indexing stopped; queries scan the log past the index until it resumes", "indexed", idx.Covered(), "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
	}
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
