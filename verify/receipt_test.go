package verify

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"golang.org/x/mod/sumdb/note"
)

func testVerifier(t testing.TB) note.Verifier {
	t.Helper()
	v, err := checkpoint.NewVerifier(testVkey)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func TestReceipt(t *testing.T) {
	l := newTestLog(t)
	l.grow(1000)
	v := testVerifier(t)
	for _, seq := range []uint64{0, 1, 500, 999} {
		for _, withEntry := range []bool{false, true} {
			r := l.receipt(seq, withEntry)
			for _, origin := range []string{testOrigin, ""} {
				if err := Receipt(r, origin, v); err != nil {
					t.Errorf("Receipt(seq %d, entry %v, origin %q): %v", seq, withEntry, origin, err)
				}
			}
		}
	}
	// An entry re-encoded with other whitespace and key order still
	// verifies: verification re-canonicalises it.
	r := l.receipt(7, true)
	r.Entry = []byte(`{ "seq" : 7, "id" : "e7" }`)
	if err := Receipt(r, testOrigin, v); err != nil {
		t.Errorf("Receipt(re-encoded entry): %v", err)
	}
}

func TestReceiptErrors(t *testing.T) {
	l := newTestLog(t)
	// Entry 9 claims seq 10 and entry 11 has a string seq: they are in the
	// log, so only the entry checks can catch them.
	base := l.entry
	l.entry = func(seq uint64) []byte {
		switch seq {
		case 9:
			return []byte(`{"id":"e9","seq":10}`)
		case 11:
			return []byte(`{"id":"e11","seq":"11"}`)
		case 12:
			return []byte(`{"id":"e12"}`)
		}
		return base(seq)
	}
	l.grow(1000)
	v := testVerifier(t)
	_, otherVkey, err := checkpoint.GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, _ := checkpoint.NewVerifier(otherVkey)

	mod := func(seq uint64, withEntry bool, f func(r *stele.Receipt)) *stele.Receipt {
		r := l.receipt(seq, withEntry)
		f(r)
		return r
	}
	tests := []struct {
		name   string
		r      *stele.Receipt
		origin string
		v      note.Verifier
		want   string // in the error message
	}{
		{"flipped proof hash", mod(5, false, func(r *stele.Receipt) {
			i := bytes.Index(r.Proof, []byte("index 5\n")) + len("index 5\n")
			r.Proof[i] = flipB64(r.Proof[i])
		}), testOrigin, v, "inclusion"},
		{"flipped leaf hash", mod(5, false, func(r *stele.Receipt) { r.LeafHash[0] ^= 1 }), testOrigin, v, "inclusion"},
		{"wrong seq", mod(5, false, func(r *stele.Receipt) { r.Seq = 6 }), testOrigin, v, "proof is for index 5"},
		{"wrong index in proof", mod(5, false, func(r *stele.Receipt) {
			r.Proof = bytes.Replace(r.Proof, []byte("index 5\n"), []byte("index 6\n"), 1)
			r.Seq = 6
		}), testOrigin, v, "inclusion"},
		{"wrong key", l.receipt(5, false), testOrigin, otherKey, "checkpoint"},
		{"wrong origin", l.receipt(5, false), "example.com/other", v, "checkpoint"},
		{"tampered checkpoint size", mod(5, false, func(r *stele.Receipt) {
			r.Proof = bytes.Replace(r.Proof, []byte("\n1000\n"), []byte("\n1001\n"), 1)
		}), testOrigin, v, "checkpoint"},
		{"unparseable proof", mod(5, false, func(r *stele.Receipt) {
			r.Proof = bytes.Replace(r.Proof, []byte("index 5"), []byte("index 05"), 1)
		}), testOrigin, v, "does not parse"},
		{"tampered entry", mod(5, true, func(r *stele.Receipt) { r.Entry = []byte(`{"id":"e5","seq":5,"x":1}`) }), testOrigin, v, "canonical entry hashes"},
		{"entry not JSON", mod(5, true, func(r *stele.Receipt) { r.Entry = []byte(`{"id":`) }), testOrigin, v, "canonicalisable"},
		{"entry with duplicate key", mod(5, true, func(r *stele.Receipt) { r.Entry = []byte(`{"id":"e5","seq":5,"seq":5}`) }), testOrigin, v, "canonicalisable"},
		{"wrong id", mod(5, true, func(r *stele.Receipt) { r.ID = "e6" }), testOrigin, v, "entry has seq 5 id \"e5\""},
		{"entry seq differs", l.receipt(9, true), testOrigin, v, "entry has seq 10"},
		{"entry seq is a string", l.receipt(11, true), testOrigin, v, "seq \"11\" is not an unsigned integer"},
		{"entry without seq", l.receipt(12, true), testOrigin, v, "missing"},
		{"nil receipt", nil, testOrigin, v, "nil receipt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Receipt(tt.r, tt.origin, tt.v)
			if !errors.Is(err, stele.ErrVerify) {
				t.Fatalf("Receipt error = %v, want ErrVerify", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Receipt error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func flipB64(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

func BenchmarkReceipt(b *testing.B) {
	l := newTestLog(b)
	l.grow(70000)
	r := l.receipt(12345, true)
	v := testVerifier(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := Receipt(r, testOrigin, v); err != nil {
			b.Fatal(err)
		}
	}
	_ = strconv.Itoa
}
