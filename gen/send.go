package gen

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// AppendFunc appends one NDJSON body of events to a log and returns the
// log's size after it. It MUST NOT return before the events are appended
// (for a stele server: acknowledged), and it must be safe for concurrent
// use. client.Client.Append fits in a one-line adapter.
type AppendFunc func(ctx context.Context, body []byte) (size uint64, err error)

// SendConfig says how many events Send sends and how.
type SendConfig struct {
	Events      int64            // events to send
	Batch       int              // events per body (0: 1000)
	Concurrency int              // bodies in flight (0: 4)
	Progress    func(sent int64) // called after each appended body, never concurrently; may be nil
}

// SendResult summarises a Send.
type SendResult struct {
	Events  int64         // events appended
	Bytes   int64         // bytes of NDJSON appended
	Size    uint64        // the largest log size an append reported
	Elapsed time.Duration // from the first event generated to the last acknowledged
}

// EventsPerSec is the rate of the send.
func (r SendResult) EventsPerSec() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Events) / r.Elapsed.Seconds()
}

// ErrSend wraps the first append error of a Send; the events of that body
// and of every body not yet sent are not appended (bodies already in flight
// may be).
var ErrSend = errors.New("gen: send")

// Send generates cfg.Events events from g and appends them through appendFn
// in NDJSON bodies of cfg.Batch events, cfg.Concurrency bodies at a time.
// Bodies are generated in order by one goroutine, so with Concurrency 1 the
// log receives the events in generation (time) order; with more, bodies may
// land in any order. The first error stops the send.
func Send(ctx context.Context, g *Generator, cfg SendConfig, appendFn AppendFunc) (SendResult, error) {
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type body struct {
		data   []byte
		events int64
	}
	work := make(chan *body, cfg.Concurrency)
	free := make(chan *body, 2*cfg.Concurrency)
	for range 2 * cfg.Concurrency {
		free <- &body{}
	}

	var (
		res      SendResult
		sent     atomic.Int64
		bytes    atomic.Int64
		size     atomic.Uint64
		errOnce  sync.Once
		firstErr error
		progMu   sync.Mutex
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	start := time.Now()
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				s, err := appendFn(ctx, b.data)
				if err != nil {
					fail(err)
					continue // drain, so the producer never blocks
				}
				for old := size.Load(); s > old && !size.CompareAndSwap(old, s); old = size.Load() {
				}
				bytes.Add(int64(len(b.data)))
				total := sent.Add(b.events)
				if cfg.Progress != nil {
					progMu.Lock()
					cfg.Progress(total)
					progMu.Unlock()
				}
				free <- b
			}
		}()
	}

produce:
	for left := cfg.Events; left > 0; {
		var b *body
		select {
		case b = <-free:
		case <-ctx.Done():
			break produce
		}
		n := min(left, int64(cfg.Batch))
		b.data = g.AppendNDJSON(b.data[:0], int(n))
		b.events = n
		left -= n
		select {
		case work <- b:
		case <-ctx.Done():
			break produce
		}
	}
	close(work)
	wg.Wait()

	res.Events, res.Bytes, res.Size = sent.Load(), bytes.Load(), size.Load()
	res.Elapsed = time.Since(start)
	if firstErr == nil {
		firstErr = parent.Err() // cancelled between bodies
	}
	if firstErr != nil {
		return res, fmt.Errorf("%w: %d of %d events appended: %w", ErrSend, res.Events, cfg.Events, firstErr)
	}
	return res, nil
}
