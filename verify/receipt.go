package verify

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/internal/jcs"
	"golang.org/x/mod/sumdb/note"
)

// Receipt checks a receipt offline, in this order:
//
//  1. its tlog-proof parses strictly (stele.Receipt.TLogProof);
//  2. the proof's index equals r.Seq;
//  3. the proof's checkpoint carries a valid signature by v and is for
//     origin (empty origin: v.Name(), stele's convention);
//  4. the inclusion proof of r.LeafHash at r.Seq leads to the checkpoint's
//     root;
//  5. if r.Entry is present: its RFC 8785 canonical form hashes to
//     r.LeafHash, and its "seq" and "id" members equal r.Seq and r.ID.
//
// Every failure wraps stele.ErrVerify and names the check.
func Receipt(r *stele.Receipt, origin string, v note.Verifier) error {
	fail := func(check string, err error) error {
		return fmt.Errorf("%w: receipt for seq %d: %s: %w", stele.ErrVerify, r.Seq, check, err)
	}
	if r == nil {
		return fmt.Errorf("%w: nil receipt", stele.ErrVerify)
	}
	index, hashes, signed, err := r.TLogProof()
	if err != nil {
		return fail("proof does not parse", err)
	}
	if index != r.Seq {
		return fmt.Errorf("%w: receipt for seq %d: proof is for index %d", stele.ErrVerify, r.Seq, index)
	}
	cp, err := checkpoint.Open(signed, origin, v)
	if err != nil {
		return fail("signed checkpoint", err)
	}
	if err := inclusion(r.Seq, cp.Size, r.LeafHash, hashes, cp.Hash); err != nil {
		return fail("not included in the checkpoint", err)
	}
	if len(r.Entry) == 0 {
		return nil
	}
	canonical, err := jcs.Canonicalize(nil, r.Entry)
	if err != nil {
		return fail("entry is not canonicalisable JSON", err)
	}
	if got := LeafHash(canonical); got != r.LeafHash {
		return fmt.Errorf("%w: receipt for seq %d: canonical entry hashes to %x, receipt says leaf hash %x", stele.ErrVerify, r.Seq, got, r.LeafHash)
	}
	seq, id, err := entrySeqID(canonical)
	if err != nil {
		return fail("entry", err)
	}
	if seq != r.Seq || id != r.ID {
		return fmt.Errorf("%w: receipt for seq %d id %q: entry has seq %d id %q", stele.ErrVerify, r.Seq, r.ID, seq, id)
	}
	return nil
}

// entrySeqID reads the "seq" and "id" members of a canonical entry. seq must
// be a JSON number (a string holding digits is not the same entry).
func entrySeqID(canonical []byte) (uint64, string, error) {
	var fields struct {
		Seq json.RawMessage `json:"seq"`
		ID  *string         `json:"id"`
	}
	if err := json.Unmarshal(canonical, &fields); err != nil {
		return 0, "", fmt.Errorf("not an object with a string \"id\": %v", err)
	}
	if fields.Seq == nil || fields.ID == nil {
		return 0, "", fmt.Errorf("missing \"seq\" or \"id\"")
	}
	seq, err := strconv.ParseUint(string(fields.Seq), 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("seq %s is not an unsigned integer", fields.Seq)
	}
	return seq, *fields.ID, nil
}
