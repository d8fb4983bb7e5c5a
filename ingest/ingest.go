// Package ingest is what stele's intake adapters share: the Sink they seal
// events into, the conversion of mapped events into one all-or-nothing
// batch, gzip request bodies, and per-source counters.
//
// An adapter (ingest/hec, ingest/k8saudit, ingest/otlp, ingest/syslog) maps
// its protocol's messages into stele's input schema (docs/schema.md), keeps
// the original payload in the event's "raw" field, and acknowledges only
// after Seal returns: the events are then durable and covered by a signed
// checkpoint, exactly as for POST /v1/events. Mappings are documented in
// docs/ingest.md.
package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stele-log/stele"
)

// Sink seals batches: storage/local.Log satisfies it, as does anything the
// API appends through.
type Sink interface {
	Append(ctx context.Context, b *stele.Batch, out *stele.Sealed) error
}

// Seal appends events (each one JSON object in stele's input schema, as
// an adapter mapped it) as one batch: all of them, or none when one is
// invalid (the error, wrapping stele.ErrInvalid or stele.ErrTooLarge, names
// its index). receivedAt is the received_at of every event.
func Seal(ctx context.Context, sink Sink, events [][]byte, receivedAt time.Time) (*stele.Sealed, error) {
	if len(events) == 0 {
		return &stele.Sealed{}, nil
	}
	n := 0
	for _, e := range events {
		n += len(e) + 1
	}
	bp := bodyPool.Get().(*[]byte)
	defer putPooled(&bodyPool, bp, cap(*bp))
	body := slices.Grow((*bp)[:0], n)
	for _, e := range events {
		if bytes.IndexByte(e, '\n') >= 0 {
			// Mapped events are compact JSON; a raw newline would split one.
			return nil, fmt.Errorf("ingest: a mapped event holds a raw newline: %w", stele.ErrInvalid)
		}
		body = append(body, e...)
		body = append(body, '\n')
	}
	*bp = body
	b := batchPool.Get().(*stele.Batch)
	defer putPooled(&batchPool, b, b.Bytes())
	if err := stele.ParseEventsInto(b, body, true, receivedAt); err != nil {
		return nil, err
	}
	var sealed stele.Sealed
	if err := sink.Append(ctx, b, &sealed); err != nil {
		return nil, err
	}
	return &sealed, nil
}

// Seal's working memory, reused across requests: a large batch costs
// one allocation less per buffer, and the garbage collector less work.
var (
	bodyPool  = sync.Pool{New: func() any { return new([]byte) }}
	batchPool = sync.Pool{New: func() any { return new(stele.Batch) }}
)

// putPooled returns x to p unless it grew past 16 MiB (a rare huge batch
// should not pin its memory).
func putPooled(p *sync.Pool, x any, size int) {
	if size <= 16<<20 {
		p.Put(x)
	}
}

// ErrBodyTooLarge is returned by ReadBody when a body, decompressed, is
// larger than the limit. It wraps stele.ErrTooLarge.
var ErrBodyTooLarge = fmt.Errorf("ingest: request body too large: %w", stele.ErrTooLarge)

// ReadBody reads a request body of at most limit bytes, decompressing it
// when Content-Encoding is gzip (every HTTP intake accepts gzip; the limit
// applies to the decompressed bytes, so a small bomb cannot grow large).
func ReadBody(r *http.Request, limit int64) ([]byte, error) { return readBody(r, limit, nil) }

// readBody is ReadBody with the decompressed body passed through wrap (a
// Pass's metering) when wrap is not nil.
func readBody(r *http.Request, limit int64, wrap func(io.Reader) io.Reader) ([]byte, error) {
	var src io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("ingest: gzip body: %v: %w", err, stele.ErrInvalid)
		}
		defer zr.Close()
		src = zr
	default:
		return nil, fmt.Errorf("ingest: Content-Encoding %q: only gzip is accepted: %w", enc, stele.ErrInvalid)
	}
	if wrap != nil {
		src = wrap(src)
	}
	body, err := io.ReadAll(io.LimitReader(src, limit+1))
	if err != nil {
		switch {
		case errors.Is(err, ErrBusy), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return nil, err
		case errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader):
			return nil, fmt.Errorf("ingest: gzip body: %v: %w", err, stele.ErrInvalid)
		}
		// A body cut short, too slow (the gate's body timeout) or broken:
		// the sender's to resend.
		return nil, fmt.Errorf("ingest: reading the request body: %v: %w", err, stele.ErrInvalid)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w (limit %d bytes)", ErrBodyTooLarge, limit)
	}
	return body, nil
}

// Metrics are the per-source counters an operator watches to see a source
// go silent or start failing: stele_ingest_{received,accepted,rejected,dropped}_total
// (events) and stele_ingest_bytes_total, labelled by source ("hec",
// "k8s_audit", "otlp", "syslog_tcp", ...).
type Metrics struct {
	received, accepted, rejected, dropped, bytes *prometheus.CounterVec
}

// NewMetrics registers the counters with reg (nil: counted, not exported).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	vec := func(name, help string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{"source"})
		if reg != nil {
			reg.MustRegister(v)
		}
		return v
	}
	return &Metrics{
		received: vec("stele_ingest_received_total", "Events (messages, records) an intake received, valid or not."),
		accepted: vec("stele_ingest_accepted_total", "Events an intake sealed into the log."),
		rejected: vec("stele_ingest_rejected_total", "Events an intake refused (malformed, unmappable, too large) or could not seal."),
		dropped:  vec("stele_ingest_dropped_total", "Events an intake received but discarded unread because it could not keep up (UDP syslog only: every other intake pushes back instead)."),
		bytes:    vec("stele_ingest_bytes_total", "Bytes an intake received (after decompression)."),
	}
}

// Source is one source's counters.
type Source struct {
	Received, Accepted, Rejected, Dropped, Bytes prometheus.Counter
}

// Source returns the counters of the named source. m may be nil (counters
// that count nothing), so adapters need no nil checks.
func (m *Metrics) Source(name string) *Source {
	if m == nil {
		m = NewMetrics(nil)
	}
	return &Source{
		Received: m.received.WithLabelValues(name),
		Accepted: m.accepted.WithLabelValues(name),
		Rejected: m.rejected.WithLabelValues(name),
		Dropped:  m.dropped.WithLabelValues(name),
		Bytes:    m.bytes.WithLabelValues(name),
	}
}
