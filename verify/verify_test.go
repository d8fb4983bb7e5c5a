package verify

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/tiles"
	"github.com/transparency-dev/merkle/rfc6962"
)

func TestLeafHash(t *testing.T) {
	for _, e := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("y"), 1000)} {
		got := LeafHash(e)
		if want := rfc6962.DefaultHasher.HashLeaf(e); !bytes.Equal(got[:], want) {
			t.Errorf("LeafHash(%d bytes) = %x, want %x", len(e), got, want)
		}
	}
}

func TestInclusionAndConsistency(t *testing.T) {
	ctx := context.Background()
	l := newTestLog(t)
	l.grow(1000)
	root1000 := l.b.Root()
	l.grow(70000)
	root := l.b.Root()

	for _, seq := range []uint64{0, 1, 255, 256, 999, 65535, 65536, 69999} {
		p, err := tiles.InclusionProof(ctx, l, seq, 70000)
		if err != nil {
			t.Fatalf("InclusionProof(%d): %v", seq, err)
		}
		if err := Inclusion(seq, 70000, LeafHash(l.entries[seq]), p, root); err != nil {
			t.Errorf("Inclusion(%d): %v", seq, err)
		}
	}
	p, err := tiles.ConsistencyProof(ctx, l, 1000, 70000)
	if err != nil {
		t.Fatalf("ConsistencyProof: %v", err)
	}
	if err := Consistency(1000, 70000, p, root1000, root); err != nil {
		t.Fatalf("Consistency: %v", err)
	}

	const seq = 12345
	ip, _ := tiles.InclusionProof(ctx, l, seq, 70000)
	leaf := LeafHash(l.entries[seq])
	flip := func(hs [][32]byte, i int) [][32]byte {
		out := append([][32]byte(nil), hs...)
		out[i][0] ^= 1
		return out
	}
	other := root
	other[31] ^= 1
	tests := []struct {
		name string
		err  error
	}{
		{"inclusion flipped proof hash", Inclusion(seq, 70000, leaf, flip(ip, 3), root)},
		{"inclusion flipped leaf", Inclusion(seq, 70000, LeafHash([]byte("other")), ip, root)},
		{"inclusion wrong index", Inclusion(seq+1, 70000, leaf, ip, root)},
		{"inclusion wrong size", Inclusion(seq, 65536, leaf, ip, root)},
		{"inclusion wrong root", Inclusion(seq, 70000, leaf, ip, other)},
		{"inclusion short proof", Inclusion(seq, 70000, leaf, ip[1:], root)},
		{"inclusion long proof", Inclusion(seq, 70000, leaf, append(ip, root), root)},
		{"inclusion index beyond size", Inclusion(70000, 70000, leaf, ip, root)},
		{"consistency flipped hash", Consistency(1000, 70000, flip(p, 0), root1000, root)},
		{"consistency wrong old root", Consistency(1000, 70000, p, other, root)},
		{"consistency wrong new root", Consistency(1000, 70000, p, root1000, other)},
		{"consistency wrong size", Consistency(1001, 70000, p, root1000, root)},
		{"consistency shrinking", Consistency(70000, 1000, p, root, root1000)},
		{"consistency same size other root", Consistency(1000, 1000, nil, root1000, other)},
		{"consistency from empty with proof", Consistency(0, 1000, p, root1000, root)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, stele.ErrVerify) {
				t.Fatalf("error = %v, want ErrVerify", tt.err)
			}
		})
	}
}
