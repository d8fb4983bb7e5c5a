package gen_test

import (
	"testing"

	"github.com/stele-log/stele/gen"
)

func benchmarkNext(b *testing.B, opts gen.Options) {
	g := gen.New(opts)
	buf := make([]byte, 0, 4096)
	var bytes int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		buf = g.Next(buf[:0])
		bytes += len(buf)
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "B/event")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkNext(b *testing.B) {
	benchmarkNext(b, gen.Options{Seed: 1, Events: 1 << 40})
}

func BenchmarkNextIDs(b *testing.B) {
	benchmarkNext(b, gen.Options{Seed: 1, Events: 1 << 40, IDs: true})
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		gen.New(gen.Options{Seed: 1})
	}
}
