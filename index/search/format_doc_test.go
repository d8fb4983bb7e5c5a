package search

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/fsx"
)

// The tests in this file keep docs/format-search.md honest. TestFormatDoc
// writes real chunk files through Open/Add/Flush on the OS file system and
// reads them back with a decoder written from the document alone
// (readDocChunk), not with the package's own decoder. It parses the
// document's header table and checks every field at the offset and size the
// table states, compares the worked example's hex dump and byte excerpts
// with the real file, and checks what the document says Open does with the
// files it finds. TestFormatDocCrash checks the crash claims. The expected
// values are literals, not the package's constants, so a change to the
// format fails here until the document is updated.

const (
	docPath      = "../../docs/format-search.md"
	docChunkSize = 512 // small, yet large enough for all four postings kinds
	docEvents    = 2*docChunkSize + 100
	// docDumpMarker precedes the fenced hex dump of the header of the
	// second chunk file in the document.
	docDumpMarker = "<!-- header dump of chunk-00000000000000000512.six, checked by index/search/format_doc_test.go -->"
	// docBytesMarker precedes a fenced block of lines "offset  hex bytes"
	// from the same file.
	docBytesMarker = "<!-- bytes of chunk-00000000000000000512.six, checked by index/search/format_doc_test.go -->"
)

// docStart is the time of event 0 (2026-01-02T03:04:05Z).
var docStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// docEventTime returns event seq's time in unix seconds (rounded down): one
// second apart, with every event whose seq is 200 mod 256 backfilled by an
// hour, so that the time column holds negative differences.
func docEventTime(seq int) int64 {
	t := docStart.Unix() + int64(seq)
	if seq%256 == 200 {
		t -= 3600
	}
	return t
}

// docEvent returns the NDJSON of event seq. Its terms are predictable, so
// the test can name the keys the document says they get.
func docEvent(seq int) string {
	tm := time.Unix(docEventTime(seq), 0).UTC()
	if seq%2 == 1 {
		tm = tm.Add(500 * time.Millisecond) // indexed rounded down
	}
	outcome := "success"
	switch {
	case seq%12 == 0:
		outcome = "failure" // 42 or 43 per chunk: an external delta list
	case seq%100 == 7:
		outcome = "denied" // 5 or 6 per chunk: an inline delta list
	}
	ev := fmt.Sprintf(`{"id":"doc-%d","action":"user.login","outcome":%q,"time":%q,`+
		`"actor":{"name":"User%d","ip":"10.0.%d.%d"},"request_id":"req-%d","message":"login by user%d"`,
		seq, outcome, tm.Format(time.RFC3339Nano), seq%5, seq/256, seq%256, seq, seq%5)
	if seq%64 == 5 {
		ev += fmt.Sprintf(`,"source":{"ip":"2001:db8:1::%x"}`, seq)
	}
	var attrs []string
	if seq == 1 {
		attrs = append(attrs, `"note":"`+strings.Repeat("É", 70)+`"`) // 140 bytes
	}
	for _, k := range docKinds {
		if pos := seq % docChunkSize; k.from <= pos && pos < k.from+k.n {
			attrs = append(attrs, `"`+k.field+`":"`+k.value+`"`)
		}
	}
	if len(attrs) > 0 {
		ev += `,"attributes":{` + strings.Join(attrs, ",") + "}"
	}
	return ev + "}"
}

// docKinds are attribute values whose postings sit just below and just
// above the writer's thresholds: delta lists of 32 and 33 bytes (inline up
// to 32) and of 63 and 64 bytes (a list below chunk_size/8 = 64 bytes, a
// bitmap from there on). Each is held by a run of consecutive positions
// starting below 128, so its delta list takes one byte per position.
var docKinds = []struct {
	field, value string
	from, n      int // positions [from, from+n) in every chunk
	kind         string
}{
	{"k1", "inline32", 0, 32, "inline"},
	{"k1", "list33", 32, 33, "list"},
	{"k2", "list63", 0, 63, "list"},
	{"k2", "bitmap64", 63, 64, "bitmap"},
}

// docEntries returns the canonical entries of events 0 … docEvents-1, made
// by the real parser.
func docEntries(t *testing.T) [][]byte {
	t.Helper()
	var body []byte
	for seq := range docEvents {
		body = append(append(body, docEvent(seq)...), '\n')
	}
	batch, err := stele.ParseEvents(body, true, docStart)
	if err != nil {
		t.Fatalf("ParseEvents: %v", err)
	}
	entries := make([][]byte, batch.Len())
	for i := range entries {
		entries[i] = batch.AppendEntry(nil, i, batch.ClientID(i), uint64(i))
	}
	return entries
}

// docField is one row of the document's header table.
type docField struct {
	off, size int
	name, typ string
}

// docHeaderTable parses the table that follows the "### Header" heading.
func docHeaderTable(t *testing.T, doc string) []docField {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n### Header\n")
	if !ok {
		t.Fatalf("%s has no \"### Header\" section", docPath)
	}
	var fields []docField
	inTable := false
	for line := range strings.Lines(rest) {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(cells[i]), "`")
		}
		off, err1 := strconv.Atoi(cells[0])
		size, err2 := strconv.Atoi(cells[1])
		if err1 != nil || err2 != nil {
			continue // the heading and separator rows
		}
		fields = append(fields, docField{off: off, size: size, name: cells[2], typ: cells[3]})
	}
	if len(fields) == 0 {
		t.Fatalf("no header table after \"### Header\" in %s", docPath)
	}
	return fields
}

// docFenced returns the ```text block that follows marker.
func docFenced(t *testing.T, doc, marker string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, marker)
	if !ok {
		t.Fatalf("%s lacks the marker %q", docPath, marker)
	}
	_, rest, ok = strings.Cut(rest, "```text\n")
	if !ok {
		t.Fatalf("no ```text block after %q in %s", marker, docPath)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("unterminated block after %q in %s", marker, docPath)
	}
	return block
}

// checkDocBytes checks each line "offset  hex bytes" of the document's
// byte excerpts against the file.
func checkDocBytes(t *testing.T, doc string, b []byte) {
	t.Helper()
	lines := 0
	for line := range strings.Lines(docFenced(t, doc, docBytesMarker)) {
		off, bytesHex, _ := strings.Cut(strings.TrimSpace(line), " ")
		at, err1 := strconv.Atoi(off)
		want, err2 := hex.DecodeString(strings.ReplaceAll(bytesHex, " ", ""))
		if err1 != nil || err2 != nil || len(want) == 0 {
			t.Fatalf("bad byte excerpt line %q in %s", line, docPath)
		}
		if at+len(want) > len(b) || !bytes.Equal(b[at:at+len(want)], want) {
			t.Errorf("%s says the bytes at %d are % x; the file has % x", docPath, at, want, b[at:min(at+len(want), len(b))])
		}
		lines++
	}
	if lines == 0 {
		t.Errorf("no byte excerpts in %s", docPath)
	}
}

// TestFormatDoc writes real chunk files and checks them, and the directory
// that holds them, against docs/format-search.md.
func TestFormatDoc(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	table := docHeaderTable(t, doc)

	entries := docEntries(t)
	dir := filepath.Join(t.TempDir(), "index", "search")
	x, err := Open(fsx.OS(), dir, testOptions(docChunkSize))
	if err != nil {
		t.Fatal(err)
	}
	for seq, e := range entries {
		if err := x.Add(uint64(seq), e); err != nil {
			t.Fatalf("Add(%d): %v", seq, err)
		}
	}
	if err := x.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}

	// Layout: LOCK and one file per full chunk; the partial chunk (100
	// events) is not written, and no temporary file is left.
	names := dirNames(t, dir)
	want := []string{"LOCK", "chunk-00000000000000000000.six", "chunk-00000000000000000512.six"}
	if !slices.Equal(names, want) {
		t.Fatalf("directory holds %q, want %q", names, want)
	}

	kinds := map[string]bool{}
	for k, base := range []int{0, docChunkSize} {
		name := want[1+k]
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		ok := t.Run(name, func(t *testing.T) {
			h := checkDocHeader(t, table, b, base)
			r := readDocChunk(t, b, h)
			checkDocTerms(t, r, base, kinds)
			checkAgainstPackage(t, name, b, r)
			if base == docChunkSize {
				if got := hex.Dump(b[:96]); got != docFenced(t, doc, docDumpMarker) {
					t.Errorf("the hex dump in %s is stale; the header of %s is now:\n%s", docPath, name, got)
				}
				checkDocBytes(t, doc, b)
			}
		})
		if !ok {
			return
		}
	}
	for _, k := range []string{"single", "inline", "list", "bitmap"} {
		if !kinds[k] {
			t.Errorf("no %s postings in the test's chunks: the workload no longer covers every kind", k)
		}
	}

	t.Run("reopen", func(t *testing.T) { checkDocReopen(t, dir) })
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names // sorted by os.ReadDir
}

// docHeader is a header decoded through the document's table.
type docHeader map[string]uint64

// checkDocHeader decodes the header with the offsets and sizes of the
// document's table and checks the values it must hold.
func checkDocHeader(t *testing.T, table []docField, b []byte, base int) docHeader {
	t.Helper()
	le := binary.LittleEndian
	h := docHeader{}
	next := 0
	for _, f := range table {
		if f.off != next {
			t.Fatalf("header table: %s at offset %d, want %d (fields must be contiguous)", f.name, f.off, next)
		}
		next += f.size
		field := b[f.off : f.off+f.size]
		switch {
		case f.typ == "[8]byte" && f.size == 8:
			h[f.name] = 0
			if f.name == "magic" && string(field) != "STELESIX" {
				t.Errorf("magic at %d = %q, want STELESIX", f.off, field)
			}
		case f.typ == "uint32" && f.size == 4:
			h[f.name] = uint64(le.Uint32(field))
		case (f.typ == "uint64" || f.typ == "int64") && f.size == 8:
			h[f.name] = le.Uint64(field)
		default:
			t.Fatalf("header table: %s has type %s and size %d", f.name, f.typ, f.size)
		}
	}
	if next != 96 || len(b) < 96 {
		t.Fatalf("header table ends at %d, file has %d bytes; want a 96-byte header", next, len(b))
	}
	wantValues := map[string]uint64{
		"version":    1,
		"chunk_size": docChunkSize,
		"base":       uint64(base),
		"count":      docChunkSize,
		"reserved1":  0,
		"reserved2":  0,
		"crc":        uint64(crc32.Checksum(b[:88], crc32.MakeTable(crc32.Castagnoli))),
	}
	minT, maxT := docEventTime(base), docEventTime(base)
	for seq := base; seq < base+docChunkSize; seq++ {
		minT, maxT = min(minT, docEventTime(seq)), max(maxT, docEventTime(seq))
	}
	wantValues["min_time"], wantValues["max_time"] = uint64(minT), uint64(maxT)
	for _, name := range []string{"magic", "version", "chunk_size", "base", "count", "blocks", "terms", "reserved1",
		"min_time", "max_time", "time_len", "dict_len", "post_len", "index_len", "crc", "reserved2"} {
		got, ok := h[name]
		if !ok {
			t.Errorf("header table lacks the field %s", name)
			continue
		}
		if w, ok := wantValues[name]; ok && got != w {
			t.Errorf("header %s = %d, want %d", name, got, w)
		}
	}
	if len(h) != 16 {
		t.Errorf("header table has %d fields, want 16", len(h))
	}
	if sum := 96 + h["time_len"] + h["dict_len"] + h["post_len"] + h["index_len"]; sum != uint64(len(b)) {
		t.Errorf("96 + section lengths = %d, file has %d bytes", sum, len(b))
	}
	return h
}

// docTerm is one dictionary entry as the document describes it.
type docTerm struct {
	key       string
	kind      string // single, inline, list or bitmap
	positions []int
}

// docChunk is a chunk file decoded by readDocChunk.
type docChunk struct {
	times []int64
	terms []docTerm
}

// docReader reads a chunk section by section, failing the test on any
// difference from the document.
type docReader struct {
	t   *testing.T
	b   []byte
	off int
	end int
}

func (r *docReader) uvarint(what string) uint64 {
	r.t.Helper()
	v, n := binary.Uvarint(r.b[r.off:r.end])
	if n <= 0 {
		r.t.Fatalf("bad uvarint (%s) at offset %d", what, r.off)
	}
	r.off += n
	return v
}

func (r *docReader) bytes(n int, what string) []byte {
	r.t.Helper()
	if n < 0 || n > r.end-r.off {
		r.t.Fatalf("%s of %d bytes at offset %d runs past %d", what, n, r.off, r.end)
	}
	r.off += n
	return r.b[r.off-n : r.off]
}

// checkedSection returns a reader over [off, off+n-4) after checking that
// the last 4 bytes are the CRC-32C (Castagnoli), little-endian, of the rest.
func checkedSection(t *testing.T, b []byte, off, n int, what string) *docReader {
	t.Helper()
	if n < 4 || off+n > len(b) {
		t.Fatalf("%s [%d, %d) does not fit the file (%d bytes)", what, off, off+n, len(b))
	}
	body := b[off : off+n-4]
	if got, want := binary.LittleEndian.Uint32(b[off+n-4:]), crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)); got != want {
		t.Fatalf("%s at %d: stored crc %#x, CRC-32C of its bytes is %#x", what, off, got, want)
	}
	return &docReader{t: t, b: b, off: off, end: off + n - 4}
}

// readDocChunk decodes a whole chunk file from the document's description.
func readDocChunk(t *testing.T, b []byte, h docHeader) *docChunk {
	t.Helper()
	count := int(h["count"])
	timeOff := 96
	dictOff := timeOff + int(h["time_len"])
	postOff := dictOff + int(h["dict_len"])
	indexOff := postOff + int(h["post_len"])
	c := &docChunk{}

	// Time column: zigzag uvarint differences, the first from min_time.
	tr := checkedSection(t, b, timeOff, int(h["time_len"]), "time column")
	prev := int64(h["min_time"])
	for range count {
		u := tr.uvarint("time difference")
		prev += int64(u>>1) ^ -int64(u&1)
		c.times = append(c.times, prev)
	}
	if tr.off != tr.end {
		t.Fatalf("time column: %d bytes after the last time", tr.end-tr.off)
	}

	// Block index: per block, first key, block length, postings length.
	type blockRef struct {
		first            string
		dictLen, postLen int
	}
	ir := checkedSection(t, b, indexOff, int(h["index_len"]), "block index")
	var blocks []blockRef
	for ir.off < ir.end {
		first := string(ir.bytes(int(ir.uvarint("first key length")), "first key"))
		dl, pl := ir.uvarint("block length"), ir.uvarint("postings length")
		blocks = append(blocks, blockRef{first, int(dl), int(pl)})
	}
	if len(blocks) != int(h["blocks"]) {
		t.Fatalf("block index has %d blocks, header says %d", len(blocks), h["blocks"])
	}
	if len(blocks) < 2 {
		t.Fatalf("only %d dictionary block: the workload no longer covers several", len(blocks))
	}

	// Dictionary blocks, each with the external postings of its entries.
	bitmapSize := int(h["chunk_size"]) / 8
	dictAt, postAt := dictOff, postOff
	for bi, ref := range blocks {
		br := checkedSection(t, b, dictAt, ref.dictLen, fmt.Sprintf("dictionary block %d", bi))
		ext := postAt
		var key []byte
		for n := 0; br.off < br.end; n++ {
			shared := int(br.uvarint("shared"))
			suffix := int(br.uvarint("suffix length"))
			if n == 0 && shared != 0 || shared > len(key) {
				t.Fatalf("block %d entry %d: shared %d after a key of %d bytes", bi, n, shared, len(key))
			}
			key = append(key[:shared], br.bytes(suffix, "key suffix")...)
			if n == 0 && string(key) != ref.first {
				t.Fatalf("block %d starts with %q, the index says %q", bi, key, ref.first)
			}
			term := docTerm{key: string(key)}
			cnt := int(br.uvarint("count"))
			if cnt == 1 {
				term.kind = "single"
				term.positions = []int{int(binary.LittleEndian.Uint16(br.bytes(2, "position")))}
			} else {
				desc := br.uvarint("descriptor")
				size := int(desc >> 2)
				switch desc & 3 {
				case 0:
					term.kind = "inline"
					term.positions = docDeltaList(t, br.bytes(size, "inline postings"), cnt)
				case 1:
					term.kind = "list"
					pr := checkedSection(t, b, ext, size+4, "postings list")
					term.positions = docDeltaList(t, pr.bytes(size, "postings list"), cnt)
					ext += size + 4
				case 2:
					term.kind = "bitmap"
					if size != bitmapSize {
						t.Fatalf("%q: bitmap of %d bytes, want chunk_size/8 = %d", key, size, bitmapSize)
					}
					pr := checkedSection(t, b, ext, size+4, "bitmap")
					bm := pr.bytes(size, "bitmap")
					for p := range 8 * size {
						if bm[p>>3]&(1<<(p&7)) != 0 {
							term.positions = append(term.positions, p)
						}
					}
					ext += size + 4
				default:
					t.Fatalf("%q: postings kind 3", key)
				}
				if len(term.positions) != cnt {
					t.Fatalf("%q: %d positions, count says %d", key, len(term.positions), cnt)
				}
			}
			if k := len(c.terms); k > 0 && c.terms[k-1].key >= term.key {
				t.Fatalf("keys out of order: %q then %q", c.terms[k-1].key, term.key)
			}
			c.terms = append(c.terms, term)
		}
		if ext != postAt+ref.postLen {
			t.Fatalf("block %d: external postings end at %d, the index says %d", bi, ext, postAt+ref.postLen)
		}
		dictAt += ref.dictLen
		postAt += ref.postLen
	}
	if dictAt != postOff || postAt != indexOff {
		t.Fatalf("blocks end at %d and postings at %d; sections end at %d and %d", dictAt, postAt, postOff, indexOff)
	}
	if len(c.terms) != int(h["terms"]) {
		t.Fatalf("dictionary has %d entries, header says %d", len(c.terms), h["terms"])
	}
	return c
}

// docDeltaList decodes a delta list: the first position, then each gap
// minus one.
func docDeltaList(t *testing.T, data []byte, count int) []int {
	t.Helper()
	r := &docReader{t: t, b: data, end: len(data)}
	var out []int
	prev := -1
	for range count {
		prev += 1 + int(r.uvarint("delta"))
		out = append(out, prev)
	}
	if r.off != r.end {
		t.Fatalf("delta list: %d bytes after the last of %d positions", r.end-r.off, count)
	}
	return out
}

// checkDocTerms checks the keys and kinds the document's examples name.
func checkDocTerms(t *testing.T, c *docChunk, base int, kinds map[string]bool) {
	t.Helper()
	for pos, got := range c.times {
		if want := docEventTime(base + pos); got != want {
			t.Fatalf("time of position %d = %d, want %d", pos, got, want)
		}
	}
	terms := map[string]docTerm{}
	for _, term := range c.terms {
		terms[term.key] = term
		kinds[term.kind] = true
		if ns := term.key[0]; ns != 'f' && ns != 'i' && ns != 't' {
			t.Errorf("key %q: namespace %q", term.key, ns)
		}
	}
	positions := func(match func(seq int) bool) []int {
		var out []int
		for p := range docChunkSize {
			if match(base + p) {
				out = append(out, p)
			}
		}
		return out
	}
	ip := func(a ...byte) string { return string(a) }
	for _, tc := range []struct {
		key  string
		kind string // "" when it depends on the chunk
		want []int
	}{
		{"faction\x00user.login", "bitmap", positions(func(int) bool { return true })},
		{"foutcome\x00failure", "list", positions(func(s int) bool { return s%12 == 0 })},
		{"foutcome\x00denied", "inline", positions(func(s int) bool { return s%12 != 0 && s%100 == 7 })},
		{fmt.Sprintf("frequest_id\x00req-%d", base+3), "single", []int{3}},
		{"factor.name\x00user3", "", positions(func(s int) bool { return s%5 == 3 })},
		{"tuser3", "", positions(func(s int) bool { return s%5 == 3 })},
		{"tlogin", "bitmap", positions(func(int) bool { return true })},
		{fmt.Sprintf("factor.ip\x0010.0.%d.7", (base+7)/256), "single", []int{7}},
		{"iactor.ip\x00" + ip(8, 10), "bitmap", positions(func(int) bool { return true })},
		{"iactor.ip\x00" + ip(24, 10, 0, byte(base/256)), "bitmap", positions(func(s int) bool { return s/256 == base/256 })},
		{"isource.ip\x00" + ip(48, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01), "", positions(func(s int) bool { return s%64 == 5 })},
	} {
		checkDocTerm(t, terms, tc.key, tc.kind, tc.want)
	}
	for _, k := range docKinds {
		checkDocTerm(t, terms, "fattributes."+k.field+"\x00"+k.value, k.kind,
			positions(func(s int) bool { p := s % docChunkSize; return k.from <= p && p < k.from+k.n }))
	}
	if base != 0 {
		return
	}
	// Event 1's 140-byte value is indexed by its first 130 bytes (the
	// shortest rune-boundary prefix longer than 128), lowercased; its token
	// is cut to 64 bytes.
	for _, key := range []string{"fattributes.note\x00" + strings.Repeat("é", 65), "t" + strings.Repeat("é", 32)} {
		checkDocTerm(t, terms, key, "single", []int{1})
	}
}

// checkDocTerm checks that key is a term at exactly the positions want,
// stored as kind (any kind when kind is "").
func checkDocTerm(t *testing.T, terms map[string]docTerm, key, kind string, want []int) {
	t.Helper()
	got, ok := terms[key]
	switch {
	case !ok:
		t.Errorf("no term %q", key)
	case kind != "" && got.kind != kind:
		t.Errorf("term %q stored as %s, want %s", key, got.kind, kind)
	case !slices.Equal(got.positions, want):
		t.Errorf("term %q at %v, want %v", key, got.positions, want)
	}
}

// checkAgainstPackage opens the file as the index does and checks that the
// package reads the same time column and the same terms as docReader.
func checkAgainstPackage(t *testing.T, name string, b []byte, c *docChunk) {
	t.Helper()
	sum, err := decodeChunk(b, name, false)
	if err != nil {
		t.Fatalf("the package rejects the file: %v", err)
	}
	s := newSealed(sum, name, bytes.NewReader(b), nil, int64(len(b)), nil, newBufPool())
	var times []int64
	if err := s.times(func(_ int, tm int64) { times = append(times, tm) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(times, c.times) {
		t.Errorf("the package reads other times than the document's decoder")
	}
	i := 0
	err = s.scan(nil, func(key []byte, p *postings) error {
		if i >= len(c.terms) || string(key) != c.terms[i].key {
			return fmt.Errorf("the package reads term %d as %q", i, key)
		}
		var got, want Bitmap
		if err := p.or(&got); err != nil {
			return err
		}
		for _, pos := range c.terms[i].positions {
			want.Set(pos)
		}
		if got != want {
			return fmt.Errorf("term %q: the package reads other positions", key)
		}
		i++
		return nil
	})
	if err == nil && i != len(c.terms) {
		err = fmt.Errorf("the package reads %d terms, the document's decoder %d", i, len(c.terms))
	}
	if err != nil {
		t.Error(err)
	}
}

// checkDocReopen checks what the document says Open does with the files it
// finds: leftovers of a write are removed, unknown files are kept, and a
// chunk of an unknown version ends the chain, so that it and every later
// chunk are removed and rebuilt.
func checkDocReopen(t *testing.T, dir string) {
	x, err := Open(fsx.OS(), dir, testOptions(docChunkSize))
	if err != nil {
		t.Fatal(err)
	}
	if got := x.Covered(); got != 2*docChunkSize {
		t.Fatalf("Covered() after reopening = %d, want %d (the partial chunk is not on disk)", got, 2*docChunkSize)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}

	first := filepath.Join(dir, "chunk-00000000000000000000.six")
	b, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b[8:], 2) // version 2, with a valid header crc
	binary.LittleEndian.PutUint32(b[88:], crc32.Checksum(b[:88], crc32.MakeTable(crc32.Castagnoli)))
	writes := map[string][]byte{
		first: b,
		filepath.Join(dir, "chunk-00000000000000001024.six.tmp"): []byte("unfinished"),
		filepath.Join(dir, "notes.txt"):                          []byte("not the index's"),
	}
	for name, data := range writes {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	x, err = Open(fsx.OS(), dir, testOptions(docChunkSize))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if got := x.Covered(); got != 0 {
		t.Errorf("Covered() with a version-2 first chunk = %d, want 0", got)
	}
	if names, want := dirNames(t, dir), []string{"LOCK", "notes.txt"}; !slices.Equal(names, want) {
		t.Errorf("after Open the directory holds %q, want %q", names, want)
	}
	if _, err := os.Stat(first); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the version-2 chunk is still there: %v", err)
	}
}

// lockedBuffer is an io.Writer for a logger shared by goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestFormatDocCrash checks the write protocol the document describes
// (temporary file, fsync, rename, directory fsync): a crash at any moment,
// with torn unsynced appends, leaves a directory that Open accepts without
// finding damage, holding a chain of complete chunks; and once Flush has
// returned, every full chunk survives a crash.
func TestFormatDocCrash(t *testing.T) {
	entries := docEntries(t)
	mem := fsx.NewMem()
	x := openIndex(t, mem, testOptions(docChunkSize))
	defer x.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(crashed *fsx.MemFS, minCovered uint64) {
		t.Helper()
		var logs lockedBuffer
		opts := testOptions(docChunkSize)
		opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelError}))
		y := openIndex(t, crashed, opts)
		covered := y.Covered()
		if err := y.Close(); err != nil {
			t.Fatal(err)
		}
		if covered%docChunkSize != 0 || covered < minCovered || covered > uint64(len(entries)) {
			t.Fatalf("after a crash Covered() = %d, want a multiple of %d from %d up", covered, docChunkSize, minCovered)
		}
		if logs.String() != "" {
			t.Fatalf("Open after a crash found damage:\n%s", logs.String())
		}
	}
	clones := 0
	for seq, e := range entries {
		if err := x.Add(uint64(seq), e); err != nil {
			t.Fatalf("Add(%d): %v", seq, err)
		}
		// Crash states while the background writer works on a chunk.
		if pos := (seq + 1) % docChunkSize; pos < 64 && seq >= docChunkSize-1 {
			check(mem.CrashCloneTorn(rng), 0)
			clones++
		}
	}
	if err := x.Flush(); err != nil {
		t.Fatal(err)
	}
	check(mem.CrashCloneTorn(rng), 2*docChunkSize)
	t.Logf("%d crash states checked", clones+1)
}
