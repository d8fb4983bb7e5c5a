// Package api serves stele over HTTP: the JSON API under /v1, the C2SP
// tlog-tiles read API at the root (/checkpoint, /tile/...), /healthz and
// /metrics. It declares the small interfaces it consumes; storage drivers
// satisfy them without importing this package.
//
// Every error response is {"error": "..."} with the status chosen by
// StatusOf, the one function that maps errors to HTTP statuses.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/tiles"
)

// Appender seals batches of events.
type Appender interface {
	Append(ctx context.Context, b *stele.Batch, out *stele.Sealed) error
}

// EntryReader reads sealed entries.
type EntryReader interface {
	Entry(ctx context.Context, seq uint64) ([]byte, error)
	EntryByID(ctx context.Context, id []byte) (uint64, []byte, error)
	Entries(ctx context.Context, from uint64, limit int, fn func(seq uint64, entry []byte) error) error
}

// TileReader serves the tlog-tiles resources.
type TileReader interface {
	Checkpoint() (note []byte, size uint64, root [32]byte)
	ReadTile(ctx context.Context, t tiles.Tile) ([]byte, error)
	ReadEntryBundle(ctx context.Context, index uint64, width int) ([]byte, error)
}

// Prover builds Merkle proofs.
type Prover interface {
	InclusionProof(ctx context.Context, seq, size uint64) ([][32]byte, error)
	ConsistencyProof(ctx context.Context, old, new uint64) ([][32]byte, error)
	RootAt(ctx context.Context, size uint64) ([32]byte, error)
}

// Log is everything the server needs from a storage driver.
type Log interface {
	Appender
	EntryReader
	TileReader
	Prover
	Origin() string
	VerifierKey() string
	Health() error
}

// Config configures a Server.
type Config struct {
	Log Log
	// Logger receives request errors; nil discards.
	Logger *slog.Logger
	// Registry serves /metrics and receives the HTTP metrics; nil disables both.
	Registry *prometheus.Registry
	// MaxBodyBytes bounds an append request body. Default 64 MiB.
	MaxBodyBytes int64
	// Gate bounds the append request bodies held in memory at once, shared
	// with the ingest adapters; one it does not admit in time is answered
	// 503 with Retry-After. nil: unbounded.
	Gate *ingest.Gate
	// Now is the clock used for received_at; nil means time.Now.
	Now func() time.Time
	// Search runs queries (query.Engine); nil disables search, stats and
	// the live tail.
	Search Searcher
	// Intakes are extra endpoints that take events in other protocols
	// (ingest adapters). Each writes its own responses, in the shape its
	// senders expect.
	Intakes []Intake
}

// Intake is one HTTP endpoint of an ingest adapter, as its Routes method
// returns it: a ServeMux pattern, the route label in the HTTP metrics, and
// a handler that answers in its protocol's own shape.
type Intake = ingest.Route

// Server is the HTTP handler.
type Server struct {
	cfg     Config
	log     Log
	logger  *slog.Logger
	mux     *http.ServeMux
	metrics *httpMetrics

	noteCache atomic.Pointer[escapedNote]

	streamsCtx  context.Context // cancelled by CloseStreams
	stopStreams context.CancelFunc
}

// New returns a Server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 20
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Log, logger: cfg.Logger, mux: http.NewServeMux()}
	s.streamsCtx, s.stopStreams = context.WithCancel(context.Background())
	var reg prometheus.Registerer
	if cfg.Registry != nil {
		reg = cfg.Registry
	}
	s.metrics = newHTTPMetrics(reg)

	s.route("POST /v1/events", "append", s.handleAppend)
	s.route("GET /v1/events", "events", s.handleEvents)
	s.route("GET /v1/events/{seq}", "event", s.handleEvent)
	s.route("GET /v1/events/id/{id}", "event_by_id", s.handleEventByID)
	s.route("GET /v1/events/stream", "stream", s.handleStream)
	s.route("GET /v1/stats", "stats", s.handleStats)
	s.route("GET /v1/log", "log", s.handleLog)
	s.route("GET /v1/proof/inclusion", "proof_inclusion", s.handleInclusion)
	s.route("GET /v1/proof/consistency", "proof_consistency", s.handleConsistency)
	s.route("GET /checkpoint", "checkpoint", s.handleCheckpoint)
	s.route("GET /tile/", "tile", s.handleTile)
	s.route("GET /healthz", "healthz", s.handleHealth)
	for _, in := range cfg.Intakes {
		observe := s.metrics.route(in.Name)
		h := in.Handler
		s.mux.HandleFunc(in.Pattern, func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			h.ServeHTTP(sw, r)
			observe(sw.status, time.Since(start))
		})
	}
	if cfg.Registry != nil {
		s.mux.Handle("GET /metrics", promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{Registry: cfg.Registry}))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errorf(stele.ErrNotFound, "no route for %s %s (see docs/api.md)", r.Method, r.URL.Path))
	})
	return s
}

func (s *Server) route(pattern, name string, h func(http.ResponseWriter, *http.Request) error) {
	observe := s.metrics.route(name)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		err := h(w, r)
		if err != nil {
			if status := StatusOf(err); status >= 500 {
				s.logger.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
			}
			writeError(w, err)
		}
		observe(StatusOf(err), time.Since(start))
	})
}

// statusWriter remembers the status an intake wrote, for the metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

func (s *Server) handleLog(w http.ResponseWriter, r *http.Request) error {
	note, size, root := s.log.Checkpoint()
	return writeJSON(w, http.StatusOK, LogInfo{
		Origin:      s.log.Origin(),
		VerifierKey: s.log.VerifierKey(),
		Size:        size,
		RootHash:    b64(root[:]),
		Checkpoint:  string(note),
	})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	_, size, _ := s.log.Checkpoint()
	if err := s.log.Health(); err != nil {
		return writeJSON(w, StatusOf(err), Health{Status: "failing", Size: size, Error: err.Error()})
	}
	return writeJSON(w, http.StatusOK, Health{Status: "ok", Size: size})
}

// parseUint reads a decimal query or path parameter.
func parseUint(name, v string) (uint64, error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || (len(v) > 1 && v[0] == '0') {
		return 0, errorf(stele.ErrInvalid, "%s: %q is not a non-negative decimal integer", name, v)
	}
	return n, nil
}

func isNDJSON(contentType string) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	switch strings.TrimSpace(strings.ToLower(ct)) {
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines":
		return true
	}
	return false
}
