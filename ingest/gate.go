package ingest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"

	"github.com/stele-log/stele"
)

// Gate bounds the request bodies that HTTP intakes hold in memory at once,
// by bytes. A request reserves its share before its body is read, and holds
// it until it is answered: the declared Content-Length of an uncompressed
// body, or the endpoint's whole body limit when the length is unknown or
// the body is compressed (it may inflate up to the limit). A request that
// cannot reserve its share within the gate's wait is refused with ErrBusy,
// which every intake answers as its protocol's "busy, retry later" (HTTP
// 503 with Retry-After): a sender that outruns the log is pushed back and
// keeps its data, instead of piling bodies up in memory.
//
// Waiters are served first come, first served, so a large request is not
// starved by a stream of small ones. A nil *Gate admits everything.
type Gate struct {
	sem    *semaphore.Weighted
	budget int64
	wait   time.Duration
	held   prometheus.Gauge
	busy   prometheus.Counter
}

// ErrBusy is the error of a request the gate did not admit within its
// wait. It wraps stele.ErrUnavailable.
var ErrBusy = fmt.Errorf("ingest: too much being received at once; retry later: %w", stele.ErrUnavailable)

// NewGate returns a gate admitting up to budget bytes of request bodies at
// once, each request waiting at most wait for its share. Its gauge
// stele_ingest_body_bytes_reserved and counter stele_ingest_busy_total are
// registered with reg (nil: not exported).
func NewGate(budget int64, wait time.Duration, reg prometheus.Registerer) *Gate {
	if budget <= 0 {
		budget = 1
	}
	g := &Gate{
		sem:    semaphore.NewWeighted(budget),
		budget: budget,
		wait:   wait,
		held: prometheus.NewGauge(prometheus.GaugeOpts{Name: "stele_ingest_body_bytes_reserved",
			Help: "Bytes of request bodies the HTTP intakes have reserved (read or about to be read)."}),
		busy: prometheus.NewCounter(prometheus.CounterOpts{Name: "stele_ingest_busy_total",
			Help: "Requests refused with 503 + Retry-After because the intakes' body budget stayed full."}),
	}
	g.held.Set(0)
	if reg != nil {
		reg.MustRegister(g.held, g.busy)
	}
	return g
}

// Share is what a request reserves: its declared length when its body is
// not compressed and the length is known and within limit, else limit. A
// share over the gate's budget is the budget (such a request runs alone).
func (g *Gate) Share(r *http.Request, limit int64) int64 {
	n := limit
	if r.ContentLength >= 0 && r.ContentLength < limit && !compressed(r) {
		n = r.ContentLength
	}
	return min(max(n, 1), g.budget)
}

// Enter reserves r's share (Share) for a body of at most limit bytes,
// waiting at most the gate's wait; leave gives it back. It fails with
// ErrBusy when the wait runs out, or with ctx's error.
func (g *Gate) Enter(ctx context.Context, r *http.Request, limit int64) (leave func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	n := g.Share(r, limit)
	if !g.sem.TryAcquire(n) {
		wctx, cancel := context.WithTimeout(ctx, g.wait)
		err := g.sem.Acquire(wctx, n)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			g.busy.Inc()
			return nil, ErrBusy
		}
	}
	g.held.Add(float64(n))
	return func() {
		g.held.Sub(float64(n))
		g.sem.Release(n)
	}, nil
}

// Admit is the start of every HTTP intake request: it enters the gate
// (which may be nil), then reads the body with ReadBody. On success the
// caller must call leave once it has answered the request, sealed or not.
func Admit(g *Gate, r *http.Request, limit int64) (body []byte, leave func(), err error) {
	if !compressed(r) && r.ContentLength > limit {
		// Refused before anything is reserved or read.
		return nil, nil, fmt.Errorf("%w: %d bytes declared (limit %d bytes)", ErrBodyTooLarge, r.ContentLength, limit)
	}
	leave, err = g.Enter(r.Context(), r, limit)
	if err != nil {
		return nil, nil, err
	}
	body, err = ReadBody(r, limit)
	if err != nil {
		leave()
		return nil, nil, err
	}
	return body, leave, nil
}

// compressed reports whether r's body has a Content-Encoding other than
// identity.
func compressed(r *http.Request) bool {
	enc := strings.TrimSpace(r.Header.Get("Content-Encoding"))
	return enc != "" && !strings.EqualFold(enc, "identity")
}
