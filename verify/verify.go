// Package verify checks what a stele log claims: inclusion and consistency
// proofs, receipts, and (like a monitor) a remote log's published checkpoint,
// tiles and entry bundles against each other and against what was verified
// before.
//
// It imports no storage package, so any client can use it: everything it
// checks comes in as bytes (a receipt, or a Fetcher of C2SP tlog-tiles
// paths). Every verification failure wraps stele.ErrVerify and says which
// check failed; other errors (I/O, bad arguments) do not.
package verify

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/stele-log/stele"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// LeafHash returns the RFC 6962 leaf hash of entry, SHA-256(0x00 || entry).
func LeafHash(entry []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{rfc6962.RFC6962LeafHashPrefix})
	h.Write(entry)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Inclusion checks an RFC 6962 inclusion proof that leafHash is the leaf at
// index in the tree of the given size and root.
func Inclusion(index, size uint64, leafHash [32]byte, proofHashes [][32]byte, root [32]byte) error {
	if err := inclusion(index, size, leafHash, proofHashes, root); err != nil {
		return fmt.Errorf("%w: %v", stele.ErrVerify, err)
	}
	return nil
}

// Consistency checks an RFC 6962 consistency proof that the tree of size1
// and root1 is a prefix of the tree of size2 and root2.
func Consistency(size1, size2 uint64, proofHashes [][32]byte, root1, root2 [32]byte) error {
	if err := consistency(size1, size2, proofHashes, root1, root2); err != nil {
		return fmt.Errorf("%w: %v", stele.ErrVerify, err)
	}
	return nil
}

// inclusion and consistency return the reason a proof fails, unwrapped, for
// callers that add their own context.
func inclusion(index, size uint64, leafHash [32]byte, proofHashes [][32]byte, root [32]byte) error {
	err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, size, leafHash[:], slices32(proofHashes), root[:])
	if err != nil {
		return fmt.Errorf("inclusion proof of index %d in tree size %d: %s", index, size, reason(err))
	}
	return nil
}

func consistency(size1, size2 uint64, proofHashes [][32]byte, root1, root2 [32]byte) error {
	err := proof.VerifyConsistency(rfc6962.DefaultHasher, size1, size2, slices32(proofHashes), root1[:], root2[:])
	if err != nil {
		return fmt.Errorf("consistency proof from tree size %d to %d: %s", size1, size2, reason(err))
	}
	return nil
}

// reason formats a merkle/proof error on one line, with hashes in hex.
func reason(err error) string {
	var mismatch proof.RootMismatchError
	if errors.As(err, &mismatch) {
		return fmt.Sprintf("proof leads to root %x, want %x", mismatch.CalculatedRoot, mismatch.ExpectedRoot)
	}
	return err.Error()
}

func slices32(hs [][32]byte) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}
