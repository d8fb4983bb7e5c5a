package stele

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// parseUUIDv7 decodes an id from IDGen, failing the test unless it has the
// 8-4-4-4-12 lowercase layout, version 7 and the RFC 9562 variant. It
// returns the 60-bit unix_ts_ms‖rand_a counter.
func parseUUIDv7(t *testing.T, id []byte) (counter uint64, randB uint64) {
	t.Helper()
	if len(id) != IDLen {
		t.Fatalf("id %q has length %d, want %d", id, len(id), IDLen)
	}
	for i, c := range id {
		dash := i == 8 || i == 13 || i == 18 || i == 23
		if dash != (c == '-') || (!dash && !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
			t.Fatalf("id %q: byte %d is %q", id, i, c)
		}
	}
	raw, err := hex.DecodeString(strings.ReplaceAll(string(id), "-", ""))
	if err != nil {
		t.Fatal(err)
	}
	if raw[6]>>4 != 7 {
		t.Fatalf("id %s: version %d, want 7", id, raw[6]>>4)
	}
	if raw[8]>>6 != 2 {
		t.Fatalf("id %s: variant bits %b, want 10", id, raw[8]>>6)
	}
	var ms, a, b uint64
	for _, x := range raw[:6] {
		ms = ms<<8 | uint64(x)
	}
	a = uint64(raw[6]&0x0f)<<8 | uint64(raw[7])
	for _, x := range raw[8:] {
		b = b<<8 | uint64(x)
	}
	return ms<<12 | a, b & (1<<62 - 1)
}

func TestIDGenLayout(t *testing.T) {
	var g IDGen
	now := time.Date(2025, 3, 1, 12, 0, 0, 500_250_000, time.UTC) // .5 ms into the second + 0.25 ms
	id := g.Next([]byte("x"), now)
	if id[0] != 'x' {
		t.Fatalf("Next did not append: %q", id)
	}
	counter, _ := parseUUIDv7(t, id[1:])
	if ms := counter >> 12; ms != uint64(now.UnixMilli()) {
		t.Errorf("timestamp %d, want %d", ms, now.UnixMilli())
	}
	if frac := counter & 0xfff; frac != 1024 { // 0.25 ms = 1024/4096
		t.Errorf("sub-millisecond fraction %d, want 1024", frac)
	}
}

func TestIDGenMonotonic(t *testing.T) {
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		clock func(i int) time.Time
	}{
		{"advancing", func(i int) time.Time { return base.Add(time.Duration(i) * time.Microsecond) }},
		{"stalled", func(int) time.Time { return base }},
		{"stepped back", func(i int) time.Time {
			if i < 50 {
				return base.Add(time.Duration(i) * time.Millisecond)
			}
			return base.Add(-time.Hour)
		}},
		{"jittery", func(i int) time.Time { return base.Add(time.Duration((i*7919)%1000) * time.Microsecond) }},
		{"before epoch", func(int) time.Time { return time.Unix(-10, 0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g IDGen
			var prev []byte
			var prevCounter uint64
			for i := range 10000 {
				id := g.Next(nil, tt.clock(i))
				counter, _ := parseUUIDv7(t, id)
				if prev != nil && (bytes.Compare(prev, id) >= 0 || counter <= prevCounter) {
					t.Fatalf("id %d %s does not follow %s", i, id, prev)
				}
				prev, prevCounter = id, counter
			}
		})
	}
}

// TestIDGenCarry checks that more than 4096 ids in one clock reading carry
// from rand_a into the millisecond timestamp.
func TestIDGenCarry(t *testing.T) {
	var g IDGen
	now := time.UnixMilli(1_700_000_000_000)
	var counter uint64
	for range 4097 {
		counter, _ = parseUUIDv7(t, g.Next(nil, now))
	}
	if ms := counter >> 12; ms != uint64(now.UnixMilli())+1 {
		t.Errorf("after 4097 ids at one instant the timestamp is %d, want %d", ms, now.UnixMilli()+1)
	}
	// Once the clock passes the counter, ids follow the clock again.
	later := now.Add(time.Second)
	counter, _ = parseUUIDv7(t, g.Next(nil, later))
	if ms := counter >> 12; ms != uint64(later.UnixMilli()) {
		t.Errorf("timestamp %d, want the clock's %d", ms, later.UnixMilli())
	}
}

// TestIDGenRandom checks that rand_b differs between ids, including across
// refills of the random pool.
func TestIDGenRandom(t *testing.T) {
	var g IDGen
	seen := make(map[uint64]bool)
	now := time.Now()
	for i := range 1000 {
		_, r := parseUUIDv7(t, g.Next(nil, now))
		if seen[r] {
			t.Fatalf("rand_b %x repeated at id %d", r, i)
		}
		seen[r] = true
	}
}

func TestIDGenNoAllocs(t *testing.T) {
	var g IDGen
	dst := make([]byte, 0, IDLen)
	now := time.Now()
	if allocs := testing.AllocsPerRun(1000, func() { g.Next(dst, now) }); allocs != 0 {
		t.Errorf("Next allocates %v times, want 0", allocs)
	}
}

func BenchmarkIDGen(b *testing.B) {
	var g IDGen
	dst := make([]byte, 0, IDLen)
	now := time.Now()
	for b.Loop() {
		dst = g.Next(dst[:0], now)
	}
}
