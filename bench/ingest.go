package bench

import (
	"bufio"
	"bytes"
	"context"
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
)

// SyslogConfig describes a syslog-over-TCP load run.
type SyslogConfig struct {
	Addr        string        // the server's syslog TCP address (--syslog-tcp)
	URL         string        // the server's HTTP base URL, to read how much is sealed
	Conns       int           // concurrent TCP connections
	Duration    time.Duration // measured time (after Warmup)
	Warmup      time.Duration // unmeasured time first
	MessageSize int           // approximate bytes per message (0: 300)
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
	if cfg.MessageSize <= 0 {
		cfg.MessageSize = 300
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
	)
	for c := range cfg.Conns {
		conn, err := net.DialTimeout("tcp", cfg.Addr, 5*time.Second)
		if err != nil {
			stop.Store(true)
			wg.Wait()
			return SyslogResult{}, fmt.Errorf("bench: syslog: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			rng := rand.New(rand.NewPCG(cfg.Seed, uint64(c)))
			// A few thousand distinct messages per connection, framed once.
			var frames [][]byte
			for range 4096 {
				m := SyslogMessage(rng, cfg.MessageSize)
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
	sleep := func(d time.Duration) {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	sleep(cfg.Warmup)
	before, err := CheckpointSize(ctx, hc, cfg.URL)
	if err != nil {
		stop.Store(true)
		wg.Wait()
		return SyslogResult{}, err
	}
	measuring.Store(true)
	begin := time.Now()
	sleep(cfg.Duration)
	after, err := CheckpointSize(ctx, hc, cfg.URL)
	elapsed := time.Since(begin)
	measuring.Store(false)
	stop.Store(true)
	wg.Wait()
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
		sleep(20 * time.Millisecond)
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

// SyslogMessage returns one RFC 5424 message of about size bytes: half
// carry stele's own SD element (an audit event in the stele@32473
// convention), half are plain sshd/sudo lines.
func SyslogMessage(rng *rand.Rand, size int) string {
	var b strings.Builder
	actor := rng.IntN(10000)
	host := rng.IntN(64)
	ts := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(86400e6)) * time.Microsecond)
	if rng.IntN(2) == 0 {
		fmt.Fprintf(&b, `<86>1 %s host-%02d sshd %d LOGIN [stele@32473 action=%q outcome=%q actor_id="u-%05d" actor_ip="10.%d.%d.%d" resource_type="host" resource_id="host-%02d"] `,
			ts.Format(time.RFC3339Nano), host, 1000+rng.IntN(60000), actions[rng.IntN(len(actions))], outcomes[rng.IntN(len(outcomes))],
			actor, rng.IntN(256), rng.IntN(256), 1+rng.IntN(254), host)
	} else {
		fmt.Fprintf(&b, `<38>1 %s host-%02d sudo %d - - user%d : TTY=pts/%d ; PWD=/home/user%d ; USER=root ; COMMAND=`,
			ts.Format(time.RFC3339Nano), host, 1000+rng.IntN(60000), actor, rng.IntN(8), actor)
	}
	for b.Len() < size {
		b.WriteByte("abcdefghijklmnopqrstuvwxyz /"[rng.IntN(28)])
	}
	return b.String()
}

// OTLPBody returns an OTLP/HTTP logs request (ExportLogsServiceRequest) of
// n records of about size bytes of attributes and body each, in protobuf,
// spread over a few resources (services) as an SDK or Collector batches
// them.
func OTLPBody(rng *rand.Rand, n, size int) ([]byte, error) {
	logs := plog.NewLogs()
	perResource := max(1, n/len(services))
	var sl plog.ScopeLogs
	for i := range n {
		if i%perResource == 0 {
			rl := logs.ResourceLogs().AppendEmpty()
			svc := services[(i/perResource)%len(services)]
			rl.Resource().Attributes().PutStr("service.name", svc)
			rl.Resource().Attributes().PutStr("host.name", fmt.Sprintf("host-%02d", rng.IntN(64)))
			sl = rl.ScopeLogs().AppendEmpty()
			sl.Scope().SetName("audit")
		}
		lr := sl.LogRecords().AppendEmpty()
		ts := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(86400e6)) * time.Microsecond)
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		attrs := lr.Attributes()
		actor := rng.IntN(10000)
		attrs.PutStr("event.name", actions[rng.IntN(len(actions))])
		attrs.PutStr("user.id", fmt.Sprintf("u-%05d", actor))
		attrs.PutStr("user.name", fmt.Sprintf("user %d", actor))
		attrs.PutStr("client.address", fmt.Sprintf("10.%d.%d.%d", rng.IntN(256), rng.IntN(256), 1+rng.IntN(254)))
		attrs.PutStr("event.outcome", outcomes[rng.IntN(len(outcomes))])
		attrs.PutStr("db.namespace", fmt.Sprintf("db-%03d", rng.IntN(500)))
		attrs.PutInt("db.rows", int64(rng.IntN(100000)))
		var msg bytes.Buffer
		for msg.Len() < max(0, size-200) {
			msg.WriteByte("abcdefghijklmnopqrstuvwxyz "[rng.IntN(27)])
		}
		lr.Body().SetStr(msg.String())
	}
	return plogotlp.NewExportRequestFromLogs(logs).MarshalProto()
}
