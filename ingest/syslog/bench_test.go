package syslog

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stele-log/stele/storage/local"
)

// BenchmarkTCPThroughput sends b.N octet-counted RFC 5424 messages over
// four TCP connections into a real log on disk (fsync on every batch) and
// reports messages per second, counted until the last one is sealed. The
// issue's target is at least 100k msg/s.
func BenchmarkTCPThroughput(b *testing.B) {
	l, err := local.Open(context.Background(), b.TempDir(), local.Options{Origin: "syslog.bench/log"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ln := listen(b)
	serveTCP(b, ln, Config{Sink: l, Logger: quiet})
	const conns = 4
	msg := `<86>1 2025-06-01T14:29:59.5Z host-%d sshd 4242 LOGIN [stele@32473 action="user.login" outcome="success" actor_id="u-%d"] Accepted publickey for user %d from 10.0.0.1`
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close()
			w := bufio.NewWriterSize(conn, 64<<10)
			for i := c; i < b.N; i += conns {
				m := fmt.Sprintf(msg, c, i, i)
				fmt.Fprintf(w, "%d %s", len(m), m)
			}
			w.Flush()
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(2 * time.Minute)
	for l.Size() < uint64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("sealed %d of %d messages", l.Size(), b.N)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msg/s")
}
