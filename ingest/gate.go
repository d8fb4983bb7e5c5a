package ingest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/semaphore"

	"github.com/stele-log/stele"
)

// Gate bounds the request bodies that HTTP intakes (and POST /v1/events)
// hold in memory at once, by bytes. A request reserves room before its
// body is read and holds what its body turned out to take until it is
// answered:
//
//   - an uncompressed body of declared length under a Chunk reserves
//     exactly that, up front;
//   - any other body reserves a first Chunk, and more as its bytes arrive
//     (so a sender that stalls, whatever length it declared, holds at most
//     a Chunk, not the limit);
//   - once read, the reservation shrinks to the body's size.
//
// A request that cannot get room within the gate's wait, at the start or
// while it grows, is refused with ErrBusy, which every intake answers as
// its protocol's "busy, retry later" (HTTP 503 with Retry-After): a sender
// that outruns the log is pushed back and keeps its data, instead of piling
// bodies up in memory. Reading a body has a deadline (BodyTimeout), so a
// sender cannot hold its reservation by sending slowly. Waiters are served
// first come, first served, so a large request is not starved by a stream
// of small ones. A nil *Gate admits everything.
type Gate struct {
	sem    *semaphore.Weighted
	budget int64
	wait   time.Duration
	held   prometheus.Gauge
	busy   prometheus.Counter
	// BodyTimeout bounds the reading of one admitted body (0: no bound).
	BodyTimeout time.Duration
}

// Chunk is what a body of unknown size reserves at a time.
const Chunk = 1 << 20

// DefaultBodyTimeout is NewGate's BodyTimeout: a 64 MiB body must arrive
// at more than 1 MiB/s.
const DefaultBodyTimeout = time.Minute

// ErrBusy is the error of a request the gate did not admit within its
// wait. It wraps stele.ErrUnavailable.
var ErrBusy = fmt.Errorf("ingest: too much being received at once; retry later: %w", stele.ErrUnavailable)

// NewGate returns a gate admitting up to budget bytes of request bodies at
// once, each request waiting at most wait for room. Its gauge
// stele_ingest_body_bytes_reserved and counter stele_ingest_busy_total are
// registered with reg (nil: not exported).
func NewGate(budget int64, wait time.Duration, reg prometheus.Registerer) *Gate {
	if budget <= 0 {
		budget = 1
	}
	g := &Gate{
		sem:         semaphore.NewWeighted(budget),
		budget:      budget,
		wait:        wait,
		BodyTimeout: DefaultBodyTimeout,
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

// Share is what a request reserves before reading: its declared length
// when its body is not compressed and is declared shorter than a Chunk,
// else a Chunk (at most limit). A share over the gate's budget is the
// budget (such a request runs alone).
func (g *Gate) Share(r *http.Request, limit int64) int64 {
	n := min(limit, Chunk)
	if r.ContentLength >= 0 && r.ContentLength < n && !compressed(r) {
		n = r.ContentLength
	}
	return min(max(n, 1), g.budget)
}

// Pass is one admitted request's reservation. The methods of a nil *Pass
// (from a nil Gate) do nothing.
type Pass struct {
	g    *Gate
	ctx  context.Context
	held int64
}

// Enter reserves r's Share for a body of at most limit bytes, waiting at
// most the gate's wait. It fails with ErrBusy when the wait runs out, or
// with ctx's error. The caller must Leave.
func (g *Gate) Enter(ctx context.Context, r *http.Request, limit int64) (*Pass, error) {
	if g == nil {
		return nil, nil
	}
	p := &Pass{g: g, ctx: ctx}
	if err := p.grow(g.Share(r, limit)); err != nil {
		return nil, err
	}
	return p, nil
}

// grow reserves n more bytes.
func (p *Pass) grow(n int64) error {
	g := p.g
	n = min(n, g.budget-p.held)
	if n <= 0 {
		return nil
	}
	if !g.sem.TryAcquire(n) {
		wctx, cancel := context.WithTimeout(p.ctx, g.wait)
		err := g.sem.Acquire(wctx, n)
		cancel()
		if err != nil {
			if p.ctx.Err() != nil {
				return p.ctx.Err()
			}
			g.busy.Inc()
			return ErrBusy
		}
	}
	p.held += n
	g.held.Add(float64(n))
	return nil
}

// Reader returns src metered: reading past the reservation reserves more,
// a Chunk (or as much again as is held, whichever is more) at a time, and
// fails with ErrBusy when there is no room within the gate's wait.
func (p *Pass) Reader(src io.Reader) io.Reader {
	if p == nil {
		return src
	}
	return &meteredReader{p: p, src: src}
}

type meteredReader struct {
	p    *Pass
	src  io.Reader
	read int64
}

func (m *meteredReader) Read(b []byte) (int, error) {
	p := m.p
	if len(b) > 0 && m.read >= p.held && p.held < p.g.budget {
		if err := p.grow(max(Chunk, p.held)); err != nil {
			return 0, err
		}
	}
	if room := p.held - m.read; room > 0 && int64(len(b)) > room {
		b = b[:room] // a request holding the whole budget reads on unmetered
	}
	n, err := m.src.Read(b)
	m.read += int64(n)
	return n, err
}

// Fit shrinks the reservation to n bytes, once a body of n bytes is read.
func (p *Pass) Fit(n int64) {
	if p == nil || n >= p.held {
		return
	}
	n = max(n, 0)
	p.g.sem.Release(p.held - n)
	p.g.held.Sub(float64(p.held - n))
	p.held = n
}

// Leave gives the reservation back.
func (p *Pass) Leave() { p.Fit(0) }

// Admit is the start of every HTTP intake request: it enters the gate
// (which may be nil), then reads the body with ReadBody, metered and under
// the gate's BodyTimeout, and fits the reservation to it. On success the
// caller must Leave once it has answered the request, sealed or not.
func Admit(g *Gate, w http.ResponseWriter, r *http.Request, limit int64) (body []byte, pass *Pass, err error) {
	if !compressed(r) && r.ContentLength > limit {
		// Refused before anything is reserved or read.
		return nil, nil, fmt.Errorf("%w: %d bytes declared (limit %d bytes)", ErrBodyTooLarge, r.ContentLength, limit)
	}
	pass, err = g.Enter(r.Context(), r, limit)
	if err != nil {
		return nil, nil, err
	}
	if g != nil && g.BodyTimeout > 0 {
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(g.BodyTimeout)) == nil {
			defer rc.SetReadDeadline(time.Time{})
		}
	}
	body, err = readBody(r, limit, pass.Reader)
	if err != nil {
		pass.Leave()
		return nil, nil, err
	}
	pass.Fit(int64(len(body)))
	return body, pass, nil
}

// compressed reports whether r's body has a Content-Encoding other than
// identity.
func compressed(r *http.Request) bool {
	enc := strings.TrimSpace(r.Header.Get("Content-Encoding"))
	return enc != "" && !strings.EqualFold(enc, "identity")
}

// Unread reports whether an error from Admit means the request was turned
// away or abandoned before its body was taken: the gate was busy, or the
// sender left while waiting. Intakes answer it without counting the
// request as received (busy refusals have stele_ingest_busy_total).
func Unread(err error) bool {
	return errors.Is(err, ErrBusy) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
