package stele

import (
	"fmt"
	"testing"
	"time"
)

// benchBody builds a realistic request body: n events of about 300 bytes
// each, with the fields a typical audit source sends and 3-4 attributes.
func benchBody(n int) []byte {
	actions := []string{"user.login", "iam.policy.update", "db.read", "api.request"}
	outcomes := []string{"success", "failure", "denied", "success"}
	body := []byte{'['}
	for i := range n {
		if i > 0 {
			body = append(body, ",\n"...)
		}
		body = fmt.Appendf(body, `{"action":%q,"actor":{"type":"user","id":"u-%06d","name":"ann%d","ip":"10.%d.%d.%d"},`+
			`"resource":{"type":"table","id":"t-%d"},"outcome":%q,"time":"2025-06-01T12:%02d:%02d.%03dZ",`+
			`"source":{"service":"billing","host":"web-%02d"},"message":"handled for %d",`+
			`"attributes":{"region":"eu-west-1","ms":%d,"retries":%d,"tags":["prod"]}}`,
			actions[i%4], i, i, i%256, (i/256)%256, i%250+1, i%97, outcomes[i%4], i%60, (i*7)%60, i%1000, i%32, i%500, 3+i%900, i%3)
	}
	return append(body, ']')
}

func BenchmarkParseEventsInto(b *testing.B) {
	body := benchBody(1000)
	recv := time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)
	var batch Batch
	if err := ParseEventsInto(&batch, body, false, recv); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := ParseEventsInto(&batch, body, false, recv); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch.Len()), "ns/event")
	b.ReportMetric(float64(len(body))/float64(batch.Len()), "bytes/event")
}

func BenchmarkAppendEntry(b *testing.B) {
	batch, err := ParseEvents(benchBody(1000), false, time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC))
	if err != nil {
		b.Fatal(err)
	}
	id := []byte("0197a3c2-6f1e-7b40-8a1d-3c5e7f9b2d41")
	dst := make([]byte, 0, MaxEntrySize)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst = batch.AppendEntry(dst[:0], i%1000, id, uint64(1_000_000+i))
		i++
	}
}
