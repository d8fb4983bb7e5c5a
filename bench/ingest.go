package bench

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/stele-log/stele/gen"
)

// SyslogConfig describes a syslog-over-TCP load run.
type SyslogConfig struct {
	Addr        string        // the server's syslog TCP address (--syslog-tcp)
	URL         string        // the server's HTTP base URL, to read how much is sealed
	Conns       int           // concurrent TCP connections
	Duration    time.Duration // measured time (after Warmup)
	Warmup      time.Duration // unmeasured time first
	LF          bool          // LF-delimited framing instead of octet counting
	MaxMessages int64         // stop sending after this many (0: no bound but Duration)
	// Drain is how long to wait, after sending stops, for every message sent
	// to be sealed (0: 2 minutes).
	Drain time.Duration
	Seed  uint64
}

// SyslogResult is what a syslog run measured. Syslog has no
// acknowledgement, so the rate that counts is the log's: how much its
// signed checkpoint grew during the measured window.
type SyslogResult struct {
	Sent     int64         // messages written during the measured window
	Sealed   int64         // growth of the log's checkpoint during the window
	Elapsed  time.Duration // the measured window
	Total    int64         // messages written in the whole run, warm-up included
	Missing  int64         // of Total, how many the log did not hold after Drain
	DrainFor time.Duration // how long after sending stopped the last one was sealed
}

// SealedPerSec is the rate at which the log sealed messages.
func (r SyslogResult) SealedPerSec() float64 { return float64(r.Sealed) / r.Elapsed.Seconds() }

// SentPerSec is the rate at which the senders wrote (what TCP let through).
func (r SyslogResult) SentPerSec() float64 { return float64(r.Sent) / r.Elapsed.Seconds() }

// RunSyslog writes RFC 5424 messages over Conns TCP connections as fast as
// the server reads them, and measures the sealed rate from the server's
// checkpoint. The log must receive nothing else during the run: Missing
// compares what was sent with how much the log grew.
func RunSyslog(ctx context.Context, cfg SyslogConfig) (SyslogResult, error) {
	if cfg.Conns < 1 || cfg.Duration <= 0 {
		return SyslogResult{}, errors.New("bench: connections and duration must be positive")
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 2 * time.Minute
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	start, err := CheckpointSize(ctx, hc, cfg.URL)
	if err != nil {
		return SyslogResult{}, err
	}
	var (
		stop, measuring atomic.Bool
		sent, total     atomic.Int64
		wg              sync.WaitGroup
		errMu           sync.Mutex
		firstErr        error
		conns           []net.Conn
	)
	// finish stops the senders. One blocked in a write (the server stopped
	// reading: more connections than it serves, a log that keeps pushing
	// back, a server gone) has its connection closed after a grace period,
	// so a run always ends.
	finish := func() {
		stop.Store(true)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
			return
		case <-time.After(10 * time.Second):
		case <-ctx.Done():
		}
		for _, c := range conns {
			c.Close()
		}
		<-done
	}
	for c := range cfg.Conns {
		conn, err := net.DialTimeout("tcp", cfg.Addr, 5*time.Second)
		if err != nil {
			finish()
			return SyslogResult{}, fmt.Errorf("bench: syslog: %w", err)
		}
		conns = append(conns, conn)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(c)))
			// A few thousand distinct messages per connection, framed once.
			msgs, err := SyslogMessages(rng, 4096)
			if err != nil {
				errMu.Lock()
				firstErr = err
				errMu.Unlock()
				stop.Store(true)
				return
			}
			var frames [][]byte
			for _, m := range msgs {
				if cfg.LF {
					frames = append(frames, append([]byte(m), '\n'))
				} else {
					frames = append(frames, []byte(strconv.Itoa(len(m))+" "+m))
				}
			}
			w := bufio.NewWriterSize(conn, 64<<10)
			for i := 0; !stop.Load(); i++ {
				if cfg.MaxMessages > 0 && total.Load() >= cfg.MaxMessages {
					break
				}
				if _, err := w.Write(frames[i%len(frames)]); err != nil {
					errMu.Lock()
					if firstErr == nil && !stop.Load() {
						firstErr = fmt.Errorf("bench: syslog write: %w", err)
					}
					errMu.Unlock()
					stop.Store(true)
					return
				}
				total.Add(1)
				if measuring.Load() {
					sent.Add(1)
				}
			}
			if err := w.Flush(); err != nil {
				errMu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("bench: syslog write: %w", err)
				}
				errMu.Unlock()
			}
		}()
	}
	sleep(ctx, cfg.Warmup)
	before, err := CheckpointSize(ctx, hc, cfg.URL)
	if err != nil {
		finish()
		return SyslogResult{}, err
	}
	measuring.Store(true)
	begin := time.Now()
	sleep(ctx, cfg.Duration)
	after, err := CheckpointSize(ctx, hc, cfg.URL)
	elapsed := time.Since(begin)
	measuring.Store(false)
	finish()
	if err != nil {
		return SyslogResult{}, err
	}
	res := SyslogResult{Sent: sent.Load(), Sealed: int64(after - before), Elapsed: elapsed, Total: total.Load()}
	// Every message written must end up sealed.
	stopped := time.Now()
	want := start + uint64(res.Total)
	for {
		size, err := CheckpointSize(ctx, hc, cfg.URL)
		if err != nil {
			return res, err
		}
		if size >= want || time.Since(stopped) > cfg.Drain || ctx.Err() != nil {
			res.Missing = int64(want) - int64(size)
			res.DrainFor = time.Since(stopped)
			break
		}
		sleep(ctx, 20*time.Millisecond)
	}
	errMu.Lock()
	defer errMu.Unlock()
	return res, firstErr
}

// CheckpointSize reads the size of the server's current checkpoint
// (tlog-tiles GET /checkpoint: the second line of the note).
func CheckpointSize(ctx context.Context, hc *http.Client, baseURL string) (uint64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/checkpoint", nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("bench: reading the checkpoint: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil || resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("bench: reading the checkpoint: HTTP %d %v", resp.StatusCode, err)
	}
	lines := strings.SplitN(string(body), "\n", 3)
	if len(lines) < 3 {
		return 0, fmt.Errorf("bench: checkpoint %q has no size line", body)
	}
	return strconv.ParseUint(lines[1], 10, 64)
}

// genEvent is the part of a gen workload event that the intake payloads
// carry.
type genEvent struct {
	Time     time.Time `json:"time"`
	Action   string    `json:"action"`
	Outcome  string    `json:"outcome"`
	Category string    `json:"category"`
	Actor    struct {
		Type      string `json:"type"`
		ID        string `json:"id"`
		IP        string `json:"ip"`
		UserAgent string `json:"user_agent"`
		SessionID string `json:"session_id"`
	} `json:"actor"`
	Resource struct {
		Type string `json:"type"`
		ID   string `json:"id"`
	} `json:"resource"`
	Source struct {
		Service string `json:"service"`
		Host    string `json:"host"`
	} `json:"source"`
	Message    string         `json:"message"`
	RequestID  string         `json:"request_id"`
	Attributes map[string]any `json:"attributes"`
}

// events draws n events of the realistic workload that 'stele gen' and the
// search benchmark use (package gen): skewed actors, templated messages,
// real-looking addresses and agents.
func events(rng *rand.Rand, n int) ([]genEvent, error) {
	g := gen.New(gen.Options{Seed: rng.Uint64(), Events: int64(max(n, 1000))})
	out := make([]genEvent, n)
	var buf []byte
	for i := range out {
		buf = g.Next(buf[:0])
		if err := json.Unmarshal(buf, &out[i]); err != nil {
			return nil, fmt.Errorf("bench: a gen event: %w", err)
		}
	}
	return out, nil
}

// SyslogMessages returns n RFC 5424 messages of the realistic workload:
// half carry the event in stele's stele@32473 SD element, half are the
// message text alone, as a program logging through syslog(3) sends it.
func SyslogMessages(rng *rand.Rand, n int) ([]string, error) {
	evs, err := events(rng, n)
	if err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i, e := range evs {
		host := e.Source.Host
		if host == "" {
			host = "host-" + strconv.Itoa(rng.IntN(64))
		}
		app := e.Source.Service
		if app == "" {
			app = "-"
		}
		msg := e.Message
		if msg == "" {
			msg = e.Action + " " + e.Outcome
		}
		ts := e.Time.UTC().Format(time.RFC3339Nano)
		if i%2 == 0 {
			sd := fmt.Sprintf(`[stele@32473 action="%s" outcome="%s" actor_id="%s"`, e.Action, e.Outcome, e.Actor.ID)
			if e.Actor.IP != "" {
				sd += fmt.Sprintf(` actor_ip="%s"`, e.Actor.IP)
			}
			if e.Resource.ID != "" {
				sd += fmt.Sprintf(` resource_type="%s" resource_id="%s"`, e.Resource.Type, e.Resource.ID)
			}
			out[i] = fmt.Sprintf("<86>1 %s %s %s %d AUDIT %s] %s", ts, host, app, 1000+rng.IntN(60000), sd, msg)
		} else {
			out[i] = fmt.Sprintf("<38>1 %s %s %s %d - - %s: %s by %s from %s", ts, host, app, 1000+rng.IntN(60000), e.Action, msg, e.Actor.ID, e.Actor.IP)
		}
	}
	return out, nil
}

// OTLPBody returns an OTLP/HTTP logs request (ExportLogsServiceRequest,
// protobuf) of n records of the realistic workload, grouped by service
// into resources as an SDK or the Collector batches them, with the
// semantic-convention attributes the intake maps (docs/ingest/otlp.md).
// size is ignored: the workload's events are what they are (~250 bytes).
func OTLPBody(rng *rand.Rand, n, size int) ([]byte, error) {
	evs, err := events(rng, n)
	if err != nil {
		return nil, err
	}
	logs := plog.NewLogs()
	scopes := map[string]plog.ScopeLogs{}
	for _, e := range evs {
		sl, ok := scopes[e.Source.Service]
		if !ok {
			rl := logs.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("service.name", e.Source.Service)
			if e.Source.Host != "" {
				rl.Resource().Attributes().PutStr("host.name", e.Source.Host)
			}
			sl = rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("audit")
			scopes[e.Source.Service] = sl
		}
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(e.Time))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetEventName(e.Action)
		a := lr.Attributes()
		a.PutStr("event.outcome", e.Outcome)
		a.PutStr("user.id", e.Actor.ID)
		for k, v := range map[string]string{"client.address": e.Actor.IP, "user_agent.original": e.Actor.UserAgent,
			"session.id": e.Actor.SessionID, "resource.type": e.Resource.Type, "resource.id": e.Resource.ID, "event.category": e.Category} {
			if v != "" {
				a.PutStr(k, v)
			}
		}
		for k, v := range e.Attributes {
			switch v := v.(type) {
			case string:
				a.PutStr(k, v)
			case float64:
				a.PutDouble(k, v)
			case bool:
				a.PutBool(k, v)
			}
		}
		if e.RequestID != "" {
			var tid pcommon.TraceID
			hex.Decode(tid[:8], []byte(e.RequestID))
			lr.SetTraceID(tid)
		}
		lr.Body().SetStr(e.Message)
	}
	return plogotlp.NewExportRequestFromLogs(logs).MarshalProto()
}
