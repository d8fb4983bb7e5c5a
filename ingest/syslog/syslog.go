// Package syslog is stele's syslog intake: RFC 5424 and RFC 3164 messages
// over UDP (RFC 5426), TCP (RFC 6587, octet-counted or LF-delimited, told
// apart per connection by its first byte) and TLS (RFC 5425: ServeTCP on a
// tls.Listener).
//
// Each message becomes one event (mapping in docs/ingest/syslog.md) whose
// raw field is the message as received. Messages of one connection are
// sealed in batches through ingest.Seal, one at a time: the next batch is
// built while one seals, and once it is full the connection is not read, so
// a slow log pushes back on TCP senders and memory stays bounded (two
// batches per connection). A message that is not syslog, is too large, or maps
// to an invalid event is still recorded (syslog.unparsed, syslog.oversized)
// and counted as rejected: one bad message never refuses its batch.
//
// The package never imports storage, the API or the server: it needs only
// an ingest.Sink. The caller creates and owns the listeners.
package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxMessage   = 64 << 10
	DefaultBatchSize    = 1000
	DefaultBatchDelay   = 20 * time.Millisecond
	DefaultMaxBatches   = 8
	DefaultUDPQueue     = 8192
	DefaultUDPWorkers   = 2
	maxBatchBytes       = 4 << 20 // a batch is sealed once its messages reach this
	tlsHandshakeTimeout = 30 * time.Second
)

// Config configures a listener's intake.
type Config struct {
	Sink    ingest.Sink     // where batches are sealed; required
	Metrics *ingest.Metrics // counters, source syslog_tcp, syslog_tls or syslog_udp; nil counts nothing
	Logger  *slog.Logger    // nil: slog.Default(); warnings are rate-limited
	// MaxMessage is the largest message kept whole, in bytes; 0 means
	// DefaultMaxMessage. A larger one is recorded as syslog.oversized.
	MaxMessage int
	// BatchSize and BatchDelay bound a batch: it is sealed when it holds
	// BatchSize messages (0: DefaultBatchSize) or BatchDelay after its first
	// message (0: DefaultBatchDelay), whichever comes first.
	BatchSize  int
	BatchDelay time.Duration
	// MaxBatches bounds the batches being sealed at once across all
	// connections of one Serve call (0: DefaultMaxBatches).
	MaxBatches int
	// UDPQueue is how many datagrams wait for a batch before new ones are
	// dropped and counted as rejected (0: DefaultUDPQueue).
	UDPQueue int
	// UDPWorkers is how many batches of datagrams are built at once (0:
	// DefaultUDPWorkers).
	UDPWorkers int
	Now        func() time.Time // the receive clock; nil: time.Now
}

func (c Config) withDefaults() (Config, error) {
	if c.Sink == nil {
		return c, fmt.Errorf("syslog: Config.Sink is required: %w", stele.ErrInvalid)
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = DefaultMaxMessage
	}
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.BatchDelay <= 0 {
		c.BatchDelay = DefaultBatchDelay
	}
	if c.MaxBatches <= 0 {
		c.MaxBatches = DefaultMaxBatches
	}
	if c.UDPQueue <= 0 {
		c.UDPQueue = DefaultUDPQueue
	}
	if c.UDPWorkers <= 0 {
		c.UDPWorkers = DefaultUDPWorkers
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// server is what one Serve call shares between its connections.
type server struct {
	cfg  Config
	sem  chan struct{} // one token per batch being sealed
	warn *rateLimited
}

func newServer(cfg Config) (*server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &server{cfg: cfg, sem: make(chan struct{}, cfg.MaxBatches), warn: &rateLimited{log: cfg.Logger, every: time.Second}}, nil
}

// item is one received message on its way into a batch.
type item struct {
	fr   frame
	peer netip.Addr
}

// ServeTCP accepts syslog connections on ln until ctx is done (or ln is
// closed), then closes ln and every connection, waits for their last
// batches to be sealed and returns (nil after ctx is done). Other accept
// errors (out of file descriptors, say) are logged and retried with
// backoff. For TLS (RFC 5425) pass a
// tls.Listener: connections are then counted as source syslog_tls.
func ServeTCP(ctx context.Context, ln net.Listener, cfg Config) error {
	s, err := newServer(cfg)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close() // a listener that stops accepting must not stay bound
	var wg sync.WaitGroup
	defer wg.Wait()
	delay := 5 * time.Millisecond
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("syslog: accept: %w", err)
			}
			// Out of file descriptors, an aborted connection, a timeout:
			// back off and keep accepting, as net/http does.
			s.warn.Warn("syslog: accept failed; retrying", "err", err, "retry_in", delay.String())
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return nil
			}
			delay = min(2*delay, time.Second)
			continue
		}
		delay = 5 * time.Millisecond
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveConn(ctx, conn)
		}()
	}
}

func (s *server) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	name := "syslog_tcp"
	if tc, ok := conn.(*tls.Conn); ok {
		name = "syslog_tls"
		hctx, cancel := context.WithTimeout(ctx, tlsHandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			s.warn.Warn("syslog: TLS handshake failed", "peer", conn.RemoteAddr().String(), "err", err)
			return
		}
	}
	src := s.cfg.Metrics.Source(name)
	var peer netip.Addr
	if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
		peer = ap.Addr()
	}
	items := make(chan item) // unbuffered: the reader waits while a batch seals
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.batch(ctx, items, src)
	}()
	fr := newFrameReader(conn, s.cfg.MaxMessage)
	for {
		f, err := fr.next()
		if f.size > 0 || f.problem != "" {
			src.Received.Inc()
			src.Bytes.Add(float64(f.size))
			items <- item{fr: f, peer: peer}
		}
		if err != nil {
			if f.problem != "" {
				s.warn.Warn("syslog: connection dropped", "peer", conn.RemoteAddr().String(), "problem", f.problem, "err", err)
			}
			break
		}
	}
	close(items)
	<-done
}

// ServeUDP reads syslog datagrams (RFC 5426: one message per datagram) from
// pc until ctx is done or pc fails, then closes pc, seals what it queued and
// returns (nil after ctx is done). Datagrams that find the queue full are
// dropped and counted as rejected (source syslog_udp): UDP has no
// backpressure.
func ServeUDP(ctx context.Context, pc net.PacketConn, cfg Config) error {
	s, err := newServer(cfg)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	src := s.cfg.Metrics.Source("syslog_udp")
	queue := make(chan item, s.cfg.UDPQueue)
	var wg sync.WaitGroup
	for range s.cfg.UDPWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.batch(ctx, queue, src)
		}()
	}
	defer wg.Wait()
	defer close(queue)
	buf := make([]byte, 64<<10)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if n > 0 {
			src.Received.Inc()
			src.Bytes.Add(float64(n))
			it := item{fr: datagram(buf[:n], s.cfg.MaxMessage)}
			if ua, ok := addr.(*net.UDPAddr); ok {
				it.peer = ua.AddrPort().Addr()
			}
			select {
			case queue <- it:
			default:
				src.Rejected.Inc()
				s.warn.Warn("syslog: UDP queue full, datagram dropped", "peer", addr.String())
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("syslog: read: %w", err)
		}
	}
}

// datagram is one UDP message: a trailing LF, CR LF or NUL, which some
// senders add, is not part of it.
func datagram(b []byte, max int) frame {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	f := frame{size: int64(len(b)), oversize: len(b) > max}
	f.data = append([]byte(nil), b[:min(len(b), max)]...)
	return f
}

// batch maps the items it receives and seals them in batches until in is
// closed. One batch is sealed while the next is built (so mapping overlaps
// the fsync); when that one is full too, batch stops receiving, and the
// connection stops being read.
func (s *server) batch(ctx context.Context, in <-chan item, src *ingest.Source) {
	full := make(chan *pending)
	free := make(chan *pending, 2)
	free <- new(pending)
	free <- new(pending)
	sealed := make(chan struct{})
	go func() {
		defer close(sealed)
		mp := newMapper(s.cfg.Now) // for remapping; a mapper is not shared
		for b := range full {
			s.seal(ctx, mp, b, src)
			free <- b
		}
	}()
	mp := newMapper(s.cfg.Now)
	b := <-free
	var (
		timer *time.Timer
		tick  <-chan time.Time
	)
	flush := func() {
		if timer != nil {
			timer.Stop()
		}
		tick = nil
		if len(b.events) > 0 {
			full <- b
			b = <-free
		}
	}
	for {
		select {
		case it, ok := <-in:
			if !ok {
				flush()
				close(full)
				<-sealed
				return
			}
			b.add(mp, it)
			if len(b.events) == 1 {
				if timer == nil {
					timer = time.NewTimer(s.cfg.BatchDelay)
				} else {
					timer.Reset(s.cfg.BatchDelay)
				}
				tick = timer.C
			}
			if len(b.events) >= s.cfg.BatchSize || b.bytes >= maxBatchBytes {
				flush()
			}
		case <-tick:
			flush()
		}
	}
}

// pending is a batch being built: the mapped events and what they came
// from, so that a refused event can be mapped again.
type pending struct {
	events   [][]byte
	items    []item
	attempts []int // remappings of each event so far; >0 means rejected
	bytes    int
}

func (b *pending) add(mp *mapper, it item) {
	mp.setPeer(it.peer)
	var ev *event
	ok := true
	switch {
	case it.fr.oversize:
		ev = mp.oversized(it.fr.data, it.fr.size, fmt.Sprintf("message of %d bytes exceeds the limit", it.fr.size))
		ok = false
	case it.fr.problem != "":
		ev = mp.unparsed(it.fr.data, it.fr.problem)
		ok = false
	default:
		ev, ok = mp.mapMessage(it.fr.data)
	}
	attempt := 0
	if !ok {
		attempt = 1 // already a fallback: a refusal goes on to the next one
	}
	b.events = append(b.events, mp.encode(ev))
	b.items = append(b.items, it)
	b.attempts = append(b.attempts, attempt)
	b.bytes += len(it.fr.data)
}

func (b *pending) reset() {
	clear(b.items) // let the messages go
	b.events, b.items, b.attempts, b.bytes = b.events[:0], b.items[:0], b.attempts[:0], 0
}

// seal seals b and resets it. An event that stele refuses is mapped again
// (see mapper.remap) and the batch retried, so one bad message never costs
// the others; a log that is unavailable or full is retried with backoff
// until ctx is done, which keeps the connection unread (backpressure).
func (s *server) seal(ctx context.Context, mp *mapper, b *pending, src *ingest.Source) {
	if len(b.events) == 0 {
		return
	}
	defer b.reset()
	s.sem <- struct{}{} // also during shutdown: every batch holding a token finishes
	defer func() { <-s.sem }()
	// A batch that was read is sealed even during shutdown: its senders
	// consider it delivered. The log answers ErrClosed once it is closed.
	sealCtx := context.WithoutCancel(ctx)
	backoff := 50 * time.Millisecond
	for {
		now := s.cfg.Now()
		_, err := ingest.Seal(sealCtx, s.cfg.Sink, b.events, now)
		if err == nil {
			for _, a := range b.attempts {
				if a > 0 {
					src.Rejected.Inc()
				} else {
					src.Accepted.Inc()
				}
			}
			return
		}
		var ee *stele.EventError
		switch {
		case errors.As(err, &ee) && ee.Index >= 0 && s.remapRefused(mp, b, now):
		case (errors.Is(err, stele.ErrUnavailable) || errors.Is(err, stele.ErrDiskFull)) && ctx.Err() == nil:
			s.warn.Warn("syslog: the log pushes back; retrying", "events", len(b.events), "err", err)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(2*backoff, 5*time.Second)
		default:
			src.Rejected.Add(float64(len(b.events)))
			s.warn.Warn("syslog: batch lost", "events", len(b.events), "err", err)
			return
		}
	}
}

// remapRefused checks each event of b alone and maps every refused one
// again, one fallback further. It reports whether it changed anything.
func (s *server) remapRefused(mp *mapper, b *pending, now time.Time) bool {
	changed := false
	for i, ev := range b.events {
		for b.attempts[i] < 3 {
			_, err := stele.ParseEvents(ev, true, now)
			if err == nil {
				break
			}
			s.warn.Warn("syslog: message refused by the schema; recorded as a fallback", "err", err)
			mp.setPeer(b.items[i].peer)
			ev = mp.encode(mp.remap(b.items[i].fr.data, b.attempts[i], err.Error()))
			b.events[i] = ev
			b.attempts[i]++
			changed = true
		}
	}
	return changed
}

// setPeer sets the sender address mapped into source.ip.
func (mp *mapper) setPeer(peer netip.Addr) {
	if peer == mp.peerAddr {
		return
	}
	mp.peerAddr = peer
	mp.peer = ""
	if peer.IsValid() {
		mp.peer = peer.Unmap().WithZone("").String()
	}
}

// rateLimited logs at most one warning per interval and says how many it
// held back.
type rateLimited struct {
	log        *slog.Logger
	every      time.Duration
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

func (r *rateLimited) Warn(msg string, args ...any) {
	r.mu.Lock()
	now := time.Now()
	if now.Sub(r.last) < r.every {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	r.last = now
	held := r.suppressed
	r.suppressed = 0
	r.mu.Unlock()
	if held > 0 {
		args = append(args, "suppressed", held)
	}
	r.log.Warn(msg, args...)
}
