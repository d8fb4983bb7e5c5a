package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/stele-log/stele"
)

// LimitSink bounds the batches that intakes seal at once: at most n appends
// are in flight through it, and an append that finds no free slot within
// wait fails with an error wrapping stele.ErrUnavailable. Every adapter
// turns that into its protocol's "busy, retry later" answer (HTTP 503 with
// Retry-After in HEC's, OTLP's or Kubernetes' shape; syslog over TCP stops
// reading), so a sender that outruns the log is pushed back instead of
// piling requests, and their bodies, up in memory.
func LimitSink(sink Sink, n int, wait time.Duration) Sink {
	if n <= 0 {
		n = 1
	}
	return &limitSink{sink: sink, slots: make(chan struct{}, n), wait: wait}
}

type limitSink struct {
	sink  Sink
	slots chan struct{}
	wait  time.Duration
}

// ErrBusy is what LimitSink returns when every slot stays taken for its
// wait. It wraps stele.ErrUnavailable.
var ErrBusy = fmt.Errorf("ingest: too many batches being sealed; retry later: %w", stele.ErrUnavailable)

func (l *limitSink) Append(ctx context.Context, b *stele.Batch, out *stele.Sealed) error {
	select {
	case l.slots <- struct{}{}:
	default:
		t := time.NewTimer(l.wait)
		defer t.Stop()
		select {
		case l.slots <- struct{}{}:
		case <-t.C:
			return ErrBusy
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer func() { <-l.slots }()
	return l.sink.Append(ctx, b, out)
}
