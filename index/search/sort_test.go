package search

import (
	"bytes"
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortedTerms checks sortedTerms against sorting the whole keys, on the
// gen workload and on keys that tie in their first 8 bytes after the
// prefix, are shorter than 8 bytes, or hold zero bytes.
func TestSortedTerms(t *testing.T) {
	check := func(t *testing.T, m *memChunk) {
		t.Helper()
		want := make([]uint32, len(m.terms))
		for i := range want {
			want[i] = uint32(i)
		}
		slices.SortFunc(want, func(a, b uint32) int { return bytes.Compare(m.termKey(a), m.termKey(b)) })
		if got := sortedTerms(m); !slices.Equal(got, want) {
			t.Fatalf("sortedTerms differs from sorting the keys (%d terms)", len(want))
		}
	}
	t.Run("gen", func(t *testing.T) {
		e := newExtractor()
		m := newMemChunk(0, maphash.MakeSeed())
		for _, en := range genEntries(t, 2000) {
			if err := e.extract(en); err != nil {
				t.Fatal(err)
			}
			m.add(e)
		}
		check(t, m)
	})
	t.Run("ties", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		m := newMemChunk(0, maphash.MakeSeed())
		alphabet := []byte{0, 1, 'a', 'b', 0xff}
		fields := []string{"a", "a.b", "ab", "b", "actor.ip"}
		for pos := range 3000 {
			v := make([]byte, r.IntN(12))
			for i := range v {
				v[i] = alphabet[r.IntN(len(alphabet))]
			}
			var key []byte
			switch f := fields[r.IntN(len(fields))]; r.IntN(3) {
			case 0:
				key = append([]byte{nsText}, v...)
			case 1:
				key, _ = fieldKey(nil, f, v)
			default:
				key = append(fieldPrefix(nil, nsIP, f), v...)
			}
			if len(key) == 1 {
				key = append(key, 'x')
			}
			m.addPosting(maphash.Bytes(m.seed, key), key, uint16(pos))
		}
		check(t, m)
	})
}
