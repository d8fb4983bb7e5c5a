package otlp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/stele-log/stele/ingest/otlp"
	"github.com/stele-log/stele/storage/local"
)

// benchLogs is one export request of n records as an SDK batches them:
// one resource, one scope, records with a handful of attributes.
func benchLogs(n int) plog.Logs {
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	rl.Resource().Attributes().PutStr("host.name", "checkout-7d9f")
	rl.Resource().Attributes().PutStr("telemetry.sdk.language", "go")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("checkout/audit")
	now := time.Now()
	for i := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(i))))
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
		lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, byte(i)})
		lr.Body().SetStr(fmt.Sprintf("order %d paid", i))
		a := lr.Attributes()
		a.PutStr("event.name", "order.pay")
		a.PutStr("user.id", fmt.Sprintf("u-%d", i%1000))
		a.PutStr("client.address", "10.1.2.3")
		a.PutInt("order.total_cents", int64(i*37))
		a.PutStr("payment.method", "card")
	}
	return logs
}

// BenchmarkIngest posts protobuf requests (SDK-sized batches of 100 and
// 1000 records) over HTTP, from four senders at once, into a real Log on a
// temporary directory; each request is answered once durable and under a
// signed checkpoint. The metric that matters is records/s (issue target:
// at least 100k).
func BenchmarkIngest(b *testing.B) {
	for _, perRequest := range []int{100, 1000} {
		b.Run(fmt.Sprintf("records=%d", perRequest), func(b *testing.B) { benchIngest(b, perRequest) })
	}
}

func benchIngest(b *testing.B, perRequest int) {
	l, err := local.Open(context.Background(), b.TempDir(), local.Options{Origin: "otlp.bench/log"})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	url := serve(b, l, nil)
	body := encode(b, benchLogs(perRequest), "application/x-protobuf")
	b.SetBytes(int64(len(body)))
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*perRequest)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkMap is the mapping alone: records/s of Map on one request.
func BenchmarkMap(b *testing.B) {
	logs := benchLogs(1000)
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := otlp.Map(logs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "records/s")
}
