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
// batches per connection, at most Config.MaxConns connections, each closed
// after Config.IdleTimeout of silence). A message that is not syslog, is
// too large, or maps to an invalid event is still recorded (syslog.unparsed,
// syslog.oversized) and counted as rejected: one bad message never refuses
// its batch. UDP has no backpressure: datagrams beyond a bounded queue are
// dropped and counted as such.
//
// The package never imports storage, the API or the server: it needs only
// an ingest.Sink. The caller creates and owns the listeners.
package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxMessage    = 64 << 10
	DefaultBatchSize     = 1000
	DefaultBatchDelay    = 20 * time.Millisecond
	DefaultMaxBatches    = 8
	DefaultUDPQueue      = 8192
	DefaultUDPQueueBytes = 32 << 20
	DefaultUDPWorkers    = 2
	DefaultUDPReadBuffer = 4 << 20
	DefaultMaxConns      = 1024
	DefaultIdleTimeout   = 5 * time.Minute
	maxBatchBytes        = 4 << 20 // a batch is sealed once its messages reach this
	tlsHandshakeTimeout  = 30 * time.Second
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
	// MaxConns bounds the connections one ServeTCP call serves at once
	// (0: DefaultMaxConns; <0: no bound). At the bound it stops accepting
	// until one closes: senders then wait in the listener's backlog, and
	// once that is full the kernel refuses them.
	MaxConns int
	// IdleTimeout closes a TCP or TLS connection whose sender has sent
	// nothing for that long (0: DefaultIdleTimeout; <0: never). Time spent
	// not reading it because the log pushes back does not count. The
	// connection is closed after between IdleTimeout and IdleTimeout plus
	// min(1 s, IdleTimeout/8) of silence.
	IdleTimeout time.Duration
	// UDPQueue is how many datagrams wait for a batch before new ones are
	// dropped (0: DefaultUDPQueue).
	UDPQueue int
	// UDPQueueBytes bounds the bytes of the datagrams held, waiting in the
	// queue or in batches not yet sealed, before new ones are dropped (0:
	// DefaultUDPQueueBytes; at least MaxMessage).
	UDPQueueBytes int
	// UDPWorkers is how many batches of datagrams are built at once (0:
	// DefaultUDPWorkers).
	UDPWorkers int
	// UDPReadBuffer is the socket receive buffer ServeUDP asks the kernel
	// for (SO_RCVBUF), which holds datagrams while the intake is busy (0:
	// DefaultUDPReadBuffer; <0: the system default). Linux caps it at
	// net.core.rmem_max.
	UDPReadBuffer int
	Now           func() time.Time // the receive clock; nil: time.Now
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
	if c.UDPQueueBytes <= 0 {
		c.UDPQueueBytes = DefaultUDPQueueBytes
	}
	c.UDPQueueBytes = max(c.UDPQueueBytes, c.MaxMessage) // room for one message
	if c.UDPWorkers <= 0 {
		c.UDPWorkers = DefaultUDPWorkers
	}
	if c.UDPReadBuffer == 0 {
		c.UDPReadBuffer = DefaultUDPReadBuffer
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
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
	// queued is the bytes of datagrams ServeUDP holds, queued or in a batch
	// not yet sealed (bounded by Config.UDPQueueBytes). nil for TCP.
	queued *atomic.Int64
}

func newServer(cfg Config) (*server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &server{cfg: cfg, sem: make(chan struct{}, cfg.MaxBatches), warn: newRateLimited(cfg.Logger, time.Second)}, nil
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
// backoff. At most Config.MaxConns connections are served at once: at the
// bound it does not accept (the kernel's backlog holds the next senders)
// until one closes. For TLS (RFC 5425) pass a tls.Listener: connections
// are then counted as source syslog_tls.
func ServeTCP(ctx context.Context, ln net.Listener, cfg Config) error {
	s, err := newServer(cfg)
	if err != nil {
		return err
	}
	// Connections live in connCtx, which ends with ctx or when ServeTCP
	// returns for another reason (ln closed by its owner): then too every
	// connection is closed and its batches sealed before ServeTCP returns.
	connCtx, cancelConns := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		ln.Close() // a listener that stops accepting must not stay bound
		cancelConns()
		wg.Wait()
	}()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var slots chan struct{} // one per connection served; nil: no bound
	if s.cfg.MaxConns > 0 {
		slots = make(chan struct{}, s.cfg.MaxConns)
	}
	delay := 5 * time.Millisecond
	for {
		if slots != nil && !s.acquireConn(ctx, slots) {
			return nil
		}
		conn, err := ln.Accept()
		if err != nil {
			if slots != nil {
				<-slots
			}
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
			if slots != nil {
				defer func() { <-slots }()
			}
			s.serveConn(connCtx, conn)
		}()
	}
}

// acquireConn takes a connection slot, waiting for one to free up when all
// are taken. Not accepting meanwhile (rather than accepting and closing)
// lets the kernel push back: senders wait in the backlog, not in a loop of
// reconnects. It reports false when ctx is done first.
func (s *server) acquireConn(ctx context.Context, slots chan struct{}) bool {
	select {
	case slots <- struct{}{}:
		return true
	default:
	}
	s.warn.Warn("syslog: connection limit reached; not accepting until a connection closes", "max_conns", cap(slots))
	select {
	case slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
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
			if ctx.Err() == nil {
				s.warn.Warn("syslog: TLS handshake failed", "peer", conn.RemoteAddr().String(), "err", err)
			}
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
	cr := &connReader{conn: conn, ctx: ctx, timeout: s.cfg.IdleTimeout}
	if cr.timeout > 0 {
		cr.step = min(time.Second, cr.timeout/8)
	}
	fr := newFrameReader(cr, s.cfg.MaxMessage)
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
			if cr.idle {
				s.warn.Log(slog.LevelInfo, "syslog: closed an idle connection", "peer", conn.RemoteAddr().String(), "idle_timeout", s.cfg.IdleTimeout.String())
			}
			break
		}
	}
	close(items)
	<-done
}

// connReader reads a connection for the frameReader. When the server
// closes the stream itself (shutdown, idle timeout) it reports io.EOF, so
// that the last message is framed as at the sender's end of stream.
//
// The idle timeout is a read deadline. Setting it for every read would
// cost a timer update per message at low rates and per buffer at high
// ones, so it is moved at most once per step, and then to now plus timeout
// plus step: each Read starts with at least timeout ahead of it (so time
// spent not reading, while the log pushes back, never counts as silence),
// and a silent sender is cut off after at most timeout plus step.
type connReader struct {
	conn    net.Conn
	ctx     context.Context
	timeout time.Duration // 0: none
	step    time.Duration
	set     time.Time // when the deadline was last moved
	idle    bool      // the idle timeout ended the stream
}

func (r *connReader) Read(p []byte) (int, error) {
	if r.timeout > 0 {
		if now := time.Now(); now.Sub(r.set) >= r.step {
			if err := r.conn.SetReadDeadline(now.Add(r.timeout + r.step)); err != nil {
				if r.ctx.Err() != nil { // closed by the server at shutdown
					return 0, io.EOF
				}
				return 0, err
			}
			r.set = now
		}
	}
	n, err := r.conn.Read(p)
	if err != nil && err != io.EOF {
		switch {
		case r.ctx.Err() != nil: // closed by the server at shutdown
			err = io.EOF
		case r.timeout > 0 && errors.Is(err, os.ErrDeadlineExceeded):
			r.idle = true
			err = io.EOF
		}
	}
	return n, err
}

// ServeUDP reads syslog datagrams (RFC 5426: one message per datagram) from
// pc until ctx is done or pc fails, then closes pc, seals what it queued and
// returns (nil after ctx is done). UDP has no backpressure: a datagram that
// finds the queue full (Config.UDPQueue datagrams or Config.UDPQueueBytes
// bytes) is dropped and counted as received and dropped (source
// syslog_udp). When pc has SetReadBuffer (a *net.UDPConn does), the socket
// asks for Config.UDPReadBuffer bytes of receive buffer first.
func ServeUDP(ctx context.Context, pc net.PacketConn, cfg Config) error {
	s, err := newServer(cfg)
	if err != nil {
		return err
	}
	defer pc.Close()
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	if s.cfg.UDPReadBuffer > 0 {
		if rb, ok := pc.(interface{ SetReadBuffer(int) error }); ok {
			if err := rb.SetReadBuffer(s.cfg.UDPReadBuffer); err != nil {
				s.cfg.Logger.Warn("syslog: cannot set the UDP receive buffer; the system default stays", "bytes", s.cfg.UDPReadBuffer, "err", err)
			}
		}
	}
	src := s.cfg.Metrics.Source("syslog_udp")
	s.queued = new(atomic.Int64)
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
	uc, _ := pc.(*net.UDPConn) // reads without allocating an address
	buf := make([]byte, 64<<10)
	for {
		var (
			n    int
			peer netip.AddrPort
			err  error
		)
		if uc != nil {
			n, peer, err = uc.ReadFromUDPAddrPort(buf)
		} else {
			var addr net.Addr
			n, addr, err = pc.ReadFrom(buf)
			if ua, ok := addr.(*net.UDPAddr); ok {
				peer = ua.AddrPort()
			}
		}
		if n > 0 {
			src.Received.Inc()
			src.Bytes.Add(float64(n))
			if !s.enqueue(queue, buf[:n], peer.Addr()) {
				src.Dropped.Inc()
				s.warn.Warn("syslog: UDP queue full, datagram dropped", "peer", peer)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// A deadline someone set on pc: clear it rather than spin.
				if err := pc.SetReadDeadline(time.Time{}); err != nil {
					return fmt.Errorf("syslog: read: %w", err)
				}
				continue
			}
			return fmt.Errorf("syslog: read: %w", err)
		}
	}
}

// enqueue copies the datagram b into the queue unless the queue is full,
// in datagrams or in bytes; it reports whether it did.
func (s *server) enqueue(queue chan<- item, b []byte, peer netip.Addr) bool {
	b = trimDatagram(b)
	size := int64(min(len(b), s.cfg.MaxMessage))
	if s.queued.Add(size) > int64(s.cfg.UDPQueueBytes) || len(queue) == cap(queue) {
		s.queued.Add(-size)
		return false
	}
	select {
	case queue <- item{fr: datagram(b, s.cfg.MaxMessage), peer: peer}:
		return true
	default: // filled up since the check above
		s.queued.Add(-size)
		return false
	}
}

// trimDatagram drops a trailing LF, CR LF or NUL, which some senders add
// and which is not part of the message.
func trimDatagram(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r' || b[len(b)-1] == 0) {
		b = b[:len(b)-1]
	}
	return b
}

// datagram is one UDP message (see trimDatagram), its bytes copied.
func datagram(b []byte, max int) frame {
	b = trimDatagram(b)
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
			held := b.bytes
			s.seal(ctx, mp, b, src)
			if s.queued != nil {
				s.queued.Add(-int64(held)) // the datagrams are let go
			}
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

// rateLimited logs each message at most once per interval and says how
// many of it it held back. Messages are limited apart, so that a flood of
// one warning (datagrams dropped, say) never hides another (a batch lost).
type rateLimited struct {
	log   *slog.Logger
	every time.Duration
	mu    sync.Mutex
	state map[string]*limitState // by message; a fixed set of constants
}

type limitState struct {
	last       time.Time
	suppressed int
}

func newRateLimited(log *slog.Logger, every time.Duration) *rateLimited {
	return &rateLimited{log: log, every: every, state: map[string]*limitState{}}
}

// Warn logs msg at level warning, unless it was logged within the interval.
func (r *rateLimited) Warn(msg string, args ...any) { r.Log(slog.LevelWarn, msg, args...) }

// Log logs msg at level, unless it was logged within the interval.
func (r *rateLimited) Log(level slog.Level, msg string, args ...any) {
	r.mu.Lock()
	st := r.state[msg]
	if st == nil {
		st = new(limitState)
		r.state[msg] = st
	}
	now := time.Now()
	if !st.last.IsZero() && now.Sub(st.last) < r.every {
		st.suppressed++
		r.mu.Unlock()
		return
	}
	st.last = now
	held := st.suppressed
	st.suppressed = 0
	r.mu.Unlock()
	if held > 0 {
		args = append(args, "suppressed", held)
	}
	r.log.Log(context.Background(), level, msg, args...)
}
