package search

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/fsx"
)

// workload is a reproducible mix of realistic and awkward events with
// their canonical entries and the model built from them.
type workload struct {
	entries [][]byte
	model   *model
}

// newWorkload returns n entries: realistic ones from gen interleaved with
// odd ones (unicode, case, escapes, long values, arrays, numbers, IPv6,
// mapped IPv4, backfilled times).
func newWorkload(t testing.TB, seed uint64, n int) *workload {
	rng := rand.New(rand.NewPCG(seed, 7))
	g := newGen(seed)
	w := &workload{model: newModel()}
	var ids stele.IDGen
	for len(w.entries) < n {
		var body []byte
		if rng.IntN(3) == 0 {
			k := min(1+rng.IntN(40), n-len(w.entries))
			for range k {
				body = append(body, oddEvent(rng)...)
				body = append(body, '\n')
			}
			batch, err := stele.ParseEvents(body, true, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatalf("odd events do not parse: %v\n%s", err, body)
			}
			for i := range batch.Len() {
				id := batch.ClientID(i)
				if id == nil {
					id = ids.Next(nil, time.Now())
				}
				w.entries = append(w.entries, batch.AppendEntry(nil, i, id, uint64(len(w.entries))))
			}
			g.seq = uint64(len(w.entries))
			continue
		}
		_, entries := g.next(t, min(1+rng.IntN(200), n-len(w.entries)))
		w.entries = append(w.entries, entries...)
	}
	for _, e := range w.entries {
		w.model.add(t, e)
	}
	return w
}

var oddPieces = []string{"Alice", "BOB", "Ünïcode", "ÉTÉ", "straße", "İstanbul", "\u212a", "日本語", "テキスト", "a\"q", `back\slash`,
	"tab\tnl\n", "x.y", "DB.read", "db.write", "10.0.0.1", "🙂", "ǅ", "Σίσυφος", "", " ", "-", "_", "A-B_C"}

func oddString(rng *rand.Rand) string {
	var b strings.Builder
	long := rng.IntN(6) == 0
	for k := 1 + rng.IntN(3); k > 0 || long && b.Len() < 120+rng.IntN(40); k-- {
		b.WriteString(oddPieces[rng.IntN(len(oddPieces))])
		if rng.IntN(3) == 0 {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func oddIP(rng *rand.Rand) string {
	switch rng.IntN(4) {
	case 0:
		return netip.AddrFrom4([4]byte{byte(10 + rng.IntN(3)), byte(rng.IntN(3)), byte(rng.IntN(4)), byte(rng.IntN(256))}).String()
	case 1:
		return netip.AddrFrom4([4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}).String()
	case 2:
		var a [16]byte
		a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
		a[5], a[7], a[9], a[15] = byte(rng.IntN(3)), byte(rng.IntN(3)), byte(rng.IntN(4)), byte(rng.IntN(256))
		return netip.AddrFrom16(a).String()
	default:
		return netip.AddrFrom16(netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(2)), byte(rng.IntN(256))}).As16()).String()
	}
}

func oddEvent(rng *rand.Rand) []byte {
	ev := map[string]any{
		"action":  []string{"user.login", "db.read", "db.write", "db", "dbx.read", "a.b-c_d.e9"}[rng.IntN(6)],
		"outcome": []string{"success", "failure", "denied", "unknown"}[rng.IntN(4)],
		"time": time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(48 * time.Hour)))).
			Truncate(time.Duration(1+rng.IntN(3)) * time.Millisecond * 500).Format(time.RFC3339Nano),
	}
	if rng.IntN(20) == 0 {
		ev["time"] = fmt.Sprintf("%04d-03-01T00:00:00+01:00", rng.IntN(10000)) // far past and future
	}
	actor := map[string]any{}
	for _, k := range []string{"type", "id", "name", "user_agent", "session_id"} {
		if rng.IntN(2) == 0 {
			actor[k] = oddString(rng)
		}
	}
	if rng.IntN(3) > 0 {
		actor["ip"] = oddIP(rng)
	}
	ev["actor"] = actor
	if rng.IntN(2) == 0 {
		ev["source"] = map[string]any{"ip": oddIP(rng), "host": oddString(rng)}
	}
	if rng.IntN(2) == 0 {
		ev["resource"] = map[string]any{"id": oddString(rng), "type": oddString(rng)}
	}
	if rng.IntN(2) == 0 {
		ev["message"] = oddString(rng) + " " + oddString(rng)
	}
	if rng.IntN(3) == 0 {
		ev["request_id"] = fmt.Sprintf("REQ-%d", rng.IntN(20))
	}
	attrs := map[string]any{}
	for range rng.IntN(5) {
		key := []string{"n", "f", "ok", "nil", "empty", "tags", "geo", "Deep", "x.y"}[rng.IntN(9)]
		switch key {
		case "n":
			attrs[key] = rng.IntN(5)
		case "f":
			attrs[key] = []any{1.5, 1e21, -0.25, 1e-7}[rng.IntN(4)]
		case "ok":
			attrs[key] = rng.IntN(2) == 0
		case "nil":
			attrs[key] = nil
		case "empty":
			attrs[key] = []any{"", []any{}, map[string]any{}}[rng.IntN(3)]
		case "tags":
			attrs[key] = []any{oddString(rng), "prod", []any{"Nested", 3}}
		case "geo":
			attrs[key] = map[string]any{"region": oddString(rng), "zone": []any{"a", "B"}}
		default:
			attrs[key] = oddString(rng)
		}
	}
	if len(attrs) > 0 {
		ev["attributes"] = attrs
	}
	if rng.IntN(4) == 0 {
		ev["category"] = []string{"authentication", "data", "system"}[rng.IntN(3)]
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(rng.IntN(2) == 0)
	if err := enc.Encode(ev); err != nil {
		panic(err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// testOptions returns options with a small chunk size and fast retries.
func testOptions(chunkSize int) Options {
	return Options{chunkSize: chunkSize, retryBackoff: time.Millisecond}
}

func openIndex(t testing.TB, fs fsx.FS, opts Options) *Index {
	t.Helper()
	x, err := Open(fs, "idx", opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return x
}

// addUpTo adds the workload's entries from x.Covered() up to end.
func addUpTo(t testing.TB, x *Index, w *workload, end int) {
	t.Helper()
	for seq := x.Covered(); seq < uint64(end); seq++ {
		if err := x.Add(seq, w.entries[seq]); err != nil {
			t.Fatalf("Add(%d): %v", seq, err)
		}
	}
}

// checkIndex checks a snapshot of everything against the model.
func checkIndex(t testing.TB, x *Index, w *workload, rng *rand.Rand) {
	t.Helper()
	covered := x.Covered()
	snap, err := x.Snapshot(0, covered)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	next := uint64(0)
	for _, c := range snap.Chunks() {
		if c.Base() != next {
			t.Fatalf("snapshot chunk at %d, want %d", c.Base(), next)
		}
		next += uint64(c.Len())
		checkChunk(t, c, w.model, rng)
	}
	if next != covered {
		t.Fatalf("snapshot covers [0, %d), Covered() = %d", next, covered)
	}
}

// realSizeWorkload returns a workload of n entries in which only some are
// distinct: the first repeat*block entries are repeat copies of the first
// block entries of a fresh workload, and the rest are that workload's
// following entries. The index ignores an entry's seq and id, so the copies
// index like new events with the same terms, and the model is replicated
// rather than recomputed. With block*repeat well below ChunkSize, a chunk
// of the real size still has every postings kind: the fresh part gives
// single postings at positions above 32767, and the copies lists and
// bitmaps that span the chunk.
func realSizeWorkload(t testing.TB, seed uint64, n, block, repeat int) *workload {
	fresh := newWorkload(t, seed, n-(repeat-1)*block)
	shift := uint64((repeat - 1) * block)
	spread := func(seqs []uint64) []uint64 {
		out := make([]uint64, 0, len(seqs)*repeat)
		for r := range uint64(repeat) {
			for _, seq := range seqs {
				if seq >= uint64(block) {
					break
				}
				out = append(out, seq+r*uint64(block))
			}
		}
		for _, seq := range seqs {
			if seq >= uint64(block) {
				out = append(out, seq+shift)
			}
		}
		return out
	}
	w := &workload{model: newModel()}
	for range repeat - 1 {
		w.entries = append(w.entries, fresh.entries[:block]...)
		w.model.ips = append(w.model.ips, fresh.model.ips[:block]...)
		w.model.times = append(w.model.times, fresh.model.times[:block]...)
	}
	w.entries = append(w.entries, fresh.entries...)
	w.model.ips = append(w.model.ips, fresh.model.ips...)
	w.model.times = append(w.model.times, fresh.model.times...)
	for field, values := range fresh.model.fields {
		w.model.fields[field] = map[string][]uint64{}
		for v, seqs := range values {
			w.model.fields[field][v] = spread(seqs)
		}
	}
	for tok, seqs := range fresh.model.tokens {
		w.model.tokens[tok] = spread(seqs)
	}
	return w
}
