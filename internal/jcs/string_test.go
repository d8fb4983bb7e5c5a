package jcs

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"math/rand/v2"
	"testing"
)

// TestSpecialBytes checks the eight-at-a-time scan against the byte-wise
// definition: the first flagged byte is the first byte that is a control
// character, '"', '\\' or >= 0x80, and no byte is flagged when there is none.
func TestSpecialBytes(t *testing.T) {
	special := func(c byte) bool { return c < 0x20 || c == '"' || c == '\\' || c >= 0x80 }
	check := func(w [8]byte) {
		first := 8
		for i, c := range w {
			if special(c) {
				first = i
				break
			}
		}
		m := specialBytes(binary.LittleEndian.Uint64(w[:]))
		got := 8
		if m != 0 {
			got = bits.TrailingZeros64(m) >> 3
		}
		if got != first {
			t.Fatalf("specialBytes(%q) finds byte %d, want %d", w, got, first)
		}
	}
	// Every byte value at every position in an otherwise plain word, and in
	// front of every other byte value.
	for pos := range 8 {
		for c := range 256 {
			w := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			w[pos] = byte(c)
			check(w)
			for d := range 256 {
				if pos < 7 {
					w[pos+1] = byte(d)
					check(w)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 1_000_000 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], rng.Uint64()&0x7f7f7f7f7f7f7f7f|0x2020202020202020*uint64(rng.IntN(2)))
		check(w)
	}
}

// TestAppendQuoted: a Go string quoted by hand is exactly what
// canonicalising encoding/json's encoding of it gives.
func TestAppendQuoted(t *testing.T) {
	for _, s := range []string{"", "plain", `say "hi" \o/`, "tab\tnl\ncr\rbs\bff\f", "\x00\x01\x1f\x7f", "<&>",
		"ünïcode 日本 🙂", "bad \xff byte", "\xed\xa0\x80 surrogate", "truncated \xe6\x97"} {
		enc, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Canonicalize(nil, enc)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendQuoted(nil, s); string(got) != string(want) {
			t.Errorf("AppendQuoted(%q) = %s, want %s", s, got, want)
		}
	}
}

func FuzzAppendQuoted(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\n", "\xff", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc, _ := json.Marshal(s)
		want, err := Canonicalize(nil, enc)
		if err != nil {
			t.Fatalf("encoding/json gave invalid JSON for %q: %v", s, err)
		}
		if got := AppendQuoted(nil, s); string(got) != string(want) {
			t.Fatalf("AppendQuoted(%q) = %s, want %s", s, got, want)
		}
	})
}
