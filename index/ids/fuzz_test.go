package ids

import (
	"bytes"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzRunDecode feeds arbitrary run files to the decoder. A file the
// decoder accepts must be canonical: re-encoding its entries gives the same
// bytes, and a lookup of every entry through the fences and bloom filter the
// decoder rebuilt finds it.
//
// With raw, data is the file. Otherwise data is expanded by expandRun into a
// file with valid checksums, so that small inputs reach the structural checks
// behind the CRCs; this also keeps inputs small enough for the fuzzer to
// minimise (a run file is at least 8 KiB).
func FuzzRunDecode(f *testing.F) {
	// Seeds live in testdata/fuzz/FuzzRunDecode; see TestWriteFuzzSeeds.
	f.Fuzz(func(t *testing.T, data []byte, raw bool) {
		if !raw {
			data = expandRun(data)
		}
		hdr, fences, filter, err := decodeRun(bytes.NewReader(data), int64(len(data)), "fuzz.ids")
		if err != nil {
			var ce *CorruptionError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) || ce.File != "fuzz.ids" || ce.Offset < 0 || ce.Offset > int64(len(data)) {
				t.Fatalf("decodeRun error %v (%T) is not a corruption error within the file", err, err)
			}
			return
		}
		it, err := newRunIter(bytes.NewReader(data), int64(len(data)), "fuzz.ids")
		if err != nil {
			t.Fatalf("decodeRun accepted what newRunIter rejects: %v", err)
		}
		var entries []entry
		for {
			ok, err := it.next()
			if err != nil {
				t.Fatalf("decodeRun accepted a file the iterator fails on: %v", err)
			}
			if !ok {
				break
			}
			entries = append(entries, it.cur)
		}
		if again := encodeRun(t, hdr, entries); !bytes.Equal(again, data) {
			t.Fatalf("accepted a non-canonical run: re-encoding gives %d different bytes", len(again))
		}
		r := newRun(nil, "fuzz.ids", slog.New(slog.DiscardHandler), nopCloser{bytes.NewReader(data)}, hdr, fences, filter)
		for _, e := range entries {
			if !filter.mayContain(e.hash) {
				t.Fatalf("bloom filter misses hash %#x", e.hash)
			}
			got, err := r.lookup(nil, e.hash)
			if err != nil || !slices.Contains(got, e.seq) {
				t.Fatalf("lookup(%#x) = %v, %v; want it to contain %d", e.hash, got, err, e.seq)
			}
		}
	})
}

// expandRun turns a compact description into a run file with valid CRCs:
// the first hdrUsed bytes of data become the header fields (the rest of the
// header block is zero), and the remaining bytes fill data blocks of
// blockDataSize bytes, the last one zero-padded.
func expandRun(data []byte) []byte {
	head := data[:min(len(data), hdrUsed)]
	body := data[len(head):]
	nblocks := (len(body) + blockDataSize - 1) / blockDataSize
	file := make([]byte, (1+nblocks)*blockSize)
	copy(file, head)
	for i := range nblocks {
		copy(file[(i+1)*blockSize:(i+1)*blockSize+blockDataSize], body[i*blockDataSize:])
	}
	for off := 0; off < len(file); off += blockSize {
		sealBlock(file[off : off+blockSize])
	}
	return file
}

// compactRun is the inverse of expandRun for a valid run file.
func compactRun(file []byte) []byte {
	out := slices.Clone(file[:hdrUsed])
	for off := blockSize; off < len(file); off += blockSize {
		out = append(out, file[off:off+blockDataSize]...)
	}
	return bytes.TrimRight(out, "\x00")
}

// TestWriteFuzzSeeds regenerates the committed seed corpus of FuzzRunDecode
// when STELE_UPDATE_FUZZ_SEEDS=1, and otherwise checks that it exists.
func TestWriteFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzRunDecode")
	if os.Getenv("STELE_UPDATE_FUZZ_SEEDS") != "1" {
		ents, err := os.ReadDir(dir)
		if err != nil || len(ents) < 4 {
			t.Fatalf("seed corpus %s missing (%v); regenerate with STELE_UPDATE_FUZZ_SEEDS=1", dir, err)
		}
		return
	}
	rng := rand.New(rand.NewPCG(9, 9))
	one := encodeRun(t, runHeader{seed: 1, first: 0, end: 1}, []entry{{hash: 0xfeed, seq: 0}})
	collide := encodeRun(t, runHeader{seed: 2, first: 7, end: 10}, []entry{{hash: 5, seq: 7}, {hash: 5, seq: 8}, {hash: 5, seq: 9}})
	two := encodeRun(t, runHeader{seed: 3, first: 1 << 40, end: 1<<40 + entriesPerBlock + 2}, randomEntries(rng, 1<<40, entriesPerBlock+2))
	for _, file := range [][]byte{one, collide, two} {
		if !bytes.Equal(expandRun(compactRun(file)), file) {
			t.Fatalf("expandRun(compactRun(f)) != f")
		}
	}
	seeds := map[string][]any{
		"one-entry":       {compactRun(one), false},
		"collisions":      {compactRun(collide), false},
		"two-blocks":      {compactRun(two), false},
		"header-only":     {compactRun(one)[:hdrUsed], false},
		"raw-short":       {one[:100], true},
		"raw-empty":       {[]byte{}, true},
		"raw-magic-only":  {[]byte(runMagic), true},
		"compact-garbage": {[]byte("STLIDRUN\x01\x00\x00\x00\x00\x10"), false},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, args := range seeds {
		var b bytes.Buffer
		b.WriteString("go test fuzz v1\n")
		b.WriteString("[]byte(" + quoteBytes(args[0].([]byte)) + ")\n")
		if args[1].(bool) {
			b.WriteString("bool(true)\n")
		} else {
			b.WriteString("bool(false)\n")
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// quoteBytes writes b as a Go string literal, using \x escapes for anything
// that is not printable ASCII, as the fuzz corpus format accepts.
func quoteBytes(b []byte) string {
	var s bytes.Buffer
	s.WriteByte('"')
	const hex = "0123456789abcdef"
	for _, c := range b {
		switch {
		case c == '"' || c == '\\':
			s.WriteByte('\\')
			s.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			s.WriteByte(c)
		default:
			s.WriteString(`\x`)
			s.WriteByte(hex[c>>4])
			s.WriteByte(hex[c&15])
		}
	}
	s.WriteByte('"')
	return s.String()
}
