package search

import (
	"testing"
	"time"

	"github.com/stele-log/stele"
	stelegen "github.com/stele-log/stele/gen"
	"github.com/stele-log/stele/internal/fsx"
)

// genEntries returns n canonical entries of the default gen workload, as
// the log stores them.
func genEntries(b testing.TB, n int) [][]byte {
	g := stelegen.New(stelegen.Options{Seed: 1, Events: int64(n)})
	batch, err := stele.ParseEvents(g.AppendNDJSON(nil, n), true, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	var ids stele.IDGen
	entries := make([][]byte, batch.Len())
	for i := range entries {
		entries[i] = batch.AppendEntry(nil, i, ids.Next(nil, time.Now()), uint64(i))
	}
	return entries
}

// BenchmarkAdd measures indexing throughput on the gen workload (three full
// chunks per iteration, sealed to a MemFS in the background).
func BenchmarkAdd(b *testing.B) {
	entries := genEntries(b, ChunkSize)
	var bytes int64
	for _, e := range entries {
		bytes += int64(len(e))
	}
	b.SetBytes(3 * bytes)
	b.ReportAllocs()
	for b.Loop() {
		x, err := Open(fsx.NewMem(), "/idx", Options{})
		if err != nil {
			b.Fatal(err)
		}
		for k := range 3 { // the same events again: the index ignores seq and id
			for i, e := range entries {
				if err := x.Add(uint64(k*ChunkSize+i), e); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := x.Flush(); err != nil {
			b.Fatal(err)
		}
		x.Close()
	}
	b.ReportMetric(float64(b.N)*3*ChunkSize/b.Elapsed().Seconds(), "events/s")
}
