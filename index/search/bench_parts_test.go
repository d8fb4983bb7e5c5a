package search

import (
	"hash/maphash"
	"testing"
)

// The benchmarks below time the parts of BenchmarkAdd one at a time, on one
// goroutine, so that ns/op is CPU time: BenchmarkAdd also seals in the
// background, and its wall time depends on how the two goroutines share
// the CPUs.

// BenchmarkExtract measures turning gen entries into term keys.
func BenchmarkExtract(b *testing.B) {
	entries := genEntries(b, ChunkSize)
	e := newExtractor()
	b.ReportAllocs()
	for b.Loop() {
		for _, en := range entries {
			if err := e.extract(en); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)*ChunkSize/b.Elapsed().Seconds(), "events/s")
}

// fillMem returns a memChunk filled with entries, and the chunk it
// presizes the next one from, as Add does.
func fillMem(b *testing.B, entries [][]byte, e *extractor, prev *memChunk) *memChunk {
	m := newMemChunk(0, maphash.MakeSeed())
	if prev != nil {
		m.presize(prev)
	}
	for _, en := range entries {
		if err := e.extract(en); err != nil {
			b.Fatal(err)
		}
		m.add(e)
	}
	return m
}

// BenchmarkFill measures Add without the sealing: extracting the terms of a
// full chunk of gen entries and adding them to a presized memChunk.
func BenchmarkFill(b *testing.B) {
	entries := genEntries(b, ChunkSize)
	e := newExtractor()
	prev := fillMem(b, entries, e, nil)
	b.ReportAllocs()
	for b.Loop() {
		fillMem(b, entries, e, prev)
	}
	b.ReportMetric(float64(b.N)*ChunkSize/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEncodeMem measures encoding a full chunk of gen entries.
func BenchmarkEncodeMem(b *testing.B) {
	m := fillMem(b, genEntries(b, ChunkSize), newExtractor(), nil)
	b.ReportAllocs()
	for b.Loop() {
		encodeMem(m, ChunkSize)
	}
	b.ReportMetric(float64(b.N)*ChunkSize/b.Elapsed().Seconds(), "events/s")
}
