package ids

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestRunRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, entriesPerBlock - 1, entriesPerBlock, entriesPerBlock + 1, 2 * entriesPerBlock, 5000} {
		first := rng.Uint64N(1 << 40)
		hdr := runHeader{seed: rng.Uint64(), first: first, end: first + uint64(n)}
		entries := randomEntries(rng, first, n)
		data := encodeRun(t, hdr, entries)
		if int64(len(data)) != runFileSize(uint64(n)) {
			t.Fatalf("n=%d: file size %d, want %d", n, len(data), runFileSize(uint64(n)))
		}
		got, fences, filter, err := decodeRun(bytes.NewReader(data), int64(len(data)), "test.ids")
		if err != nil {
			t.Fatalf("n=%d: decodeRun: %v", n, err)
		}
		if got != hdr {
			t.Fatalf("n=%d: header %+v, want %+v", n, got, hdr)
		}
		if len(fences) != int(dataBlocks(uint64(n))) {
			t.Fatalf("n=%d: %d fences, want %d", n, len(fences), dataBlocks(uint64(n)))
		}
		r := newRun(nil, "test.ids", slog.New(slog.DiscardHandler), nopCloser{bytes.NewReader(data)}, hdr, fences, filter)
		byHash := make(map[uint64][]uint64)
		for _, e := range entries {
			byHash[e.hash] = append(byHash[e.hash], e.seq)
		}
		for h, seqs := range byHash {
			if !filter.mayContain(h) {
				t.Fatalf("n=%d: bloom filter misses hash %#x", n, h)
			}
			got, err := r.lookup(nil, h)
			if err != nil {
				t.Fatalf("n=%d: lookup: %v", n, err)
			}
			want := slices.Clone(seqs)
			slices.Reverse(want)
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d: lookup(%#x) = %v, want %v", n, h, got, want)
			}
		}
		for range 200 {
			h := rng.Uint64()
			if _, ok := byHash[h]; ok {
				continue
			}
			if got, err := r.lookup(nil, h); err != nil || len(got) != 0 {
				t.Fatalf("n=%d: lookup(absent %#x) = %v, %v", n, h, got, err)
			}
		}
	}
}

// TestRunLookupSpansBlocks puts one hash at the end of a block and the start
// of the next, the case the fence search must not miss.
func TestRunLookupSpansBlocks(t *testing.T) {
	const n = 3 * entriesPerBlock
	entries := make([]entry, n)
	for i := range entries {
		entries[i] = entry{hash: uint64(i) * 1000, seq: uint64(i)}
	}
	// Five entries straddle the first block boundary.
	for i := entriesPerBlock - 2; i < entriesPerBlock+3; i++ {
		entries[i].hash = 42 + uint64(entriesPerBlock)*1000
	}
	hdr := runHeader{seed: 7, first: 0, end: n}
	data := encodeRun(t, hdr, entries)
	_, fences, filter, err := decodeRun(bytes.NewReader(data), int64(len(data)), "span.ids")
	if err != nil {
		t.Fatalf("decodeRun: %v", err)
	}
	r := newRun(nil, "span.ids", slog.New(slog.DiscardHandler), nopCloser{bytes.NewReader(data)}, hdr, fences, filter)
	got, err := r.lookup(nil, 42+uint64(entriesPerBlock)*1000)
	if err != nil {
		t.Fatalf("lookup: %v", err)
	}
	var want []uint64
	for seq := entriesPerBlock + 2; seq >= entriesPerBlock-2; seq-- {
		want = append(want, uint64(seq))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("lookup = %v, want %v", got, want)
	}
}

func TestDecodeRunCorruption(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 2*entriesPerBlock + 10
	hdr := runHeader{seed: 99, first: 1000, end: 1000 + n}
	valid := encodeRun(t, hdr, randomEntries(rng, 1000, n))
	block1 := int64(blockSize)
	lastBlock := int64(3 * blockSize)
	reseal := func(b []byte, off int64) { sealBlock(b[off : off+blockSize]) }
	cases := []struct {
		name    string
		mutate  func(b []byte) []byte
		wantOff int64
		reason  string
	}{
		{"bad magic", func(b []byte) []byte { b[0] ^= 1; return b }, 0, "magic"},
		{"header crc", func(b []byte) []byte { b[hdrSeed] ^= 1; return b }, 0, "header crc32c"},
		{"version", func(b []byte) []byte { b[hdrVersion] = 2; reseal(b, 0); return b }, hdrVersion, "version"},
		{"block size", func(b []byte) []byte { b[hdrBlockSize+1] = 0x20; reseal(b, 0); return b }, hdrBlockSize, "block size"},
		{"empty range", func(b []byte) []byte {
			copy(b[hdrEnd:], b[hdrFirst:hdrFirst+8])
			reseal(b, 0)
			return b
		}, hdrFirst, "seq range"},
		{"range too large", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[hdrEnd:], 1000+maxRunEntries+1)
			reseal(b, 0)
			return b
		}, hdrFirst, "seq range"},
		{"reserved byte", func(b []byte) []byte { b[100] = 1; reseal(b, 0); return b }, 100, "reserved"},
		{"header only", func(b []byte) []byte { return b[:10] }, 10, "too short"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-blockSize] }, int64(len(valid) - blockSize), "file size"},
		{"trailing block", func(b []byte) []byte { return append(b, make([]byte, blockSize)...) }, int64(len(valid)), "file size"},
		{"count disagrees with size", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[hdrEnd:], 1000+n+entriesPerBlock)
			reseal(b, 0)
			return b
		}, int64(len(valid)), "file size"},
		{"data crc", func(b []byte) []byte { b[block1+7] ^= 0x80; return b }, block1, "block crc32c"},
		{"crc field", func(b []byte) []byte { b[block1+blockDataSize] ^= 1; return b }, block1, "block crc32c"},
		{"padding", func(b []byte) []byte {
			b[lastBlock+10*entrySize+3] = 1
			reseal(b, lastBlock)
			return b
		}, lastBlock + 10*entrySize + 3, "padding"},
		{"seq outside run", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[block1+8:], n)
			reseal(b, block1)
			return b
		}, block1 + 8, "outside run"},
		{"duplicate seq", func(b []byte) []byte {
			copy(b[block1+entrySize+8:block1+entrySize+12], b[block1+8:block1+12])
			reseal(b, block1)
			return b
		}, block1 + entrySize + 8, "twice"},
		{"out of order in block", func(b []byte) []byte {
			e0 := slices.Clone(b[block1 : block1+entrySize])
			copy(b[block1:], b[block1+entrySize:block1+2*entrySize])
			copy(b[block1+entrySize:], e0)
			reseal(b, block1)
			return b
		}, block1 + entrySize, "out of order"},
		{"out of order across blocks", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[2*blockSize:], 0) // first hash of block 2
			reseal(b, 2*blockSize)
			return b
		}, 2 * blockSize, "out of order"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.mutate(slices.Clone(valid))
			_, _, _, err := decodeRun(bytes.NewReader(data), int64(len(data)), "dir/run.ids")
			ce := asCorruption(t, err)
			if ce.File != "dir/run.ids" || ce.Offset != tc.wantOff || !strings.Contains(ce.Reason, tc.reason) {
				t.Fatalf("got %v; want file dir/run.ids, offset %d, reason containing %q", err, tc.wantOff, tc.reason)
			}
			if !strings.Contains(err.Error(), "dir/run.ids") {
				t.Fatalf("error %q does not name the file", err)
			}
		})
	}
}

func TestRunFileName(t *testing.T) {
	cases := []struct {
		name       string
		first, end uint64
		ok         bool
	}{
		{"run-0000000000000000-0000000000000001.ids", 0, 1, true},
		{"run-00000000000000ff-0000000000010000.ids", 255, 65536, true},
		{"run-00000000000000FF-0000000000010000.ids", 0, 0, false}, // not canonical
		{"run-0000000000000001-0000000000000001.ids", 0, 0, false}, // empty
		{"run-0000000000000002-0000000000000001.ids", 0, 0, false},
		{"run-000000000000000-00000000000000001.ids", 0, 0, false},
		{"run-0000000000000000-0000000000000001.ids.tmp", 0, 0, false},
		{"run-+000000000000000-0000000000000001.ids", 0, 0, false},
		{"LOCK", 0, 0, false},
	}
	for _, tc := range cases {
		first, end, ok := parseRunFileName(tc.name)
		if ok != tc.ok || ok && (first != tc.first || end != tc.end) {
			t.Errorf("parseRunFileName(%q) = %d, %d, %v; want %d, %d, %v", tc.name, first, end, ok, tc.first, tc.end, tc.ok)
		}
		if tc.ok && runFileName(tc.first, tc.end) != tc.name {
			t.Errorf("runFileName(%d, %d) = %q, want %q", tc.first, tc.end, runFileName(tc.first, tc.end), tc.name)
		}
	}
}

func TestRunWriterRejectsBadInput(t *testing.T) {
	cases := []struct {
		name    string
		entries []entry
	}{
		{"too few", []entry{{hash: 1, seq: 10}}},
		{"too many", []entry{{hash: 1, seq: 10}, {hash: 2, seq: 11}, {hash: 3, seq: 10}}},
		{"out of order", []entry{{hash: 2, seq: 10}, {hash: 1, seq: 11}}},
		{"duplicate", []entry{{hash: 1, seq: 10}, {hash: 1, seq: 10}}},
		{"seq outside", []entry{{hash: 1, seq: 10}, {hash: 2, seq: 12}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rw := newRunWriter(&bytes.Buffer{}, runHeader{first: 10, end: 12})
			var err error
			for _, e := range tc.entries {
				if err = rw.add(e); err != nil {
					break
				}
			}
			if err == nil {
				err = rw.finish()
			}
			if err == nil {
				t.Fatalf("runWriter accepted %v", tc.entries)
			}
		})
	}
}
