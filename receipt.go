package stele

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/transparency-dev/formats/proof"
)

// tlogProofHeader is the first line of a C2SP tlog-proof.
const tlogProofHeader = "c2sp.org/tlog-proof@v1"

// maxProofHashes bounds an inclusion proof: a tree with a uint64 size is at
// most 64 levels deep.
const maxProofHashes = 64

// Receipt proves that one event is in the log, offline: an inclusion proof in
// C2SP tlog-proof form (https://c2sp.org/tlog-proof: the entry's index, the
// proof hashes and the signed checkpoint they lead to) plus the event's seq,
// id and leaf hash, and optionally the canonical entry itself. Check one with
// verify.Receipt.
//
// Its JSON form (MarshalJSON) is an object with exactly these members:
//
//	"seq"        the event's log index, a JSON integer
//	"id"         the event's id, a non-empty string
//	"leaf_hash"  RFC 6962 leaf hash of the canonical entry, standard padded base64
//	"proof"      the tlog-proof text as a string, with index equal to seq and
//	             no "extra" line
//	"entry"      optional: the canonical entry, a JSON object. Re-encoders
//	             may change its whitespace or escapes, so verifiers
//	             re-canonicalise it (RFC 8785) before hashing.
type Receipt struct {
	Seq      uint64
	ID       string
	LeafHash [32]byte
	Proof    []byte          // tlog-proof text
	Entry    json.RawMessage // canonical entry, or nil
}

// NewReceipt assembles a receipt for the event at seq from its inclusion
// proof in the tree of the signed checkpoint. entry may be nil; it is copied.
func NewReceipt(seq uint64, id string, leafHash [32]byte, proofHashes [][32]byte, signedCheckpoint []byte, entry []byte) Receipt {
	p := proof.TLogProof{Index: seq, Hashes: proofHashes, Checkpoint: signedCheckpoint}
	return Receipt{Seq: seq, ID: id, LeafHash: leafHash, Proof: p.Marshal(), Entry: bytes.Clone(entry)}
}

// TLogProof parses r.Proof strictly: the header line, no "extra" line (stele
// defines no extra data), "index <n>" in canonical decimal, at most 64
// canonical base64 hashes of 32 bytes one per line, an empty line, and a
// non-empty signed checkpoint, which is returned as is (aliasing r.Proof) and
// is not verified here. Errors wrap ErrInvalid.
func (r Receipt) TLogProof() (index uint64, hashes [][32]byte, signedCheckpoint []byte, err error) {
	bad := func(format string, args ...any) (uint64, [][32]byte, []byte, error) {
		return 0, nil, nil, fmt.Errorf("%w: receipt proof: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	rest := r.Proof
	line, rest, ok := cutLine(rest)
	if !ok || string(line) != tlogProofHeader {
		return bad("first line is not %q", tlogProofHeader)
	}
	line, rest, ok = cutLine(rest)
	if !ok {
		return bad("missing index line")
	}
	if bytes.HasPrefix(line, []byte("extra ")) {
		return bad("has an extra data line, which stele receipts do not use")
	}
	digits, found := bytes.CutPrefix(line, []byte("index "))
	if !found {
		return bad("second line is not \"index <n>\"")
	}
	if index, ok = parseCanonicalUint(digits); !ok {
		return bad("index %q is not a canonical decimal uint64", digits)
	}
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			return bad("missing empty line before the checkpoint")
		}
		if len(line) == 0 {
			break
		}
		if len(hashes) == maxProofHashes {
			return bad("more than %d proof hashes", maxProofHashes)
		}
		h, ok := decodeHash(line)
		if !ok {
			return bad("proof hash %d %q is not canonical base64 of 32 bytes", len(hashes), line)
		}
		hashes = append(hashes, h)
	}
	if len(rest) == 0 {
		return bad("missing checkpoint")
	}
	return index, hashes, rest, nil
}

// cutLine splits b after its first newline; ok is false if there is none.
func cutLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, b, false
	}
	return b[:i], b[i+1:], true
}

// parseCanonicalUint parses a decimal uint64 with no sign and no leading
// zeros.
func parseCanonicalUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 1 && b[0] == '0' {
		return 0, false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	return n, err == nil
}

// decodeHash decodes canonical padded standard base64 of exactly 32 bytes.
// Re-encoding rejects the CR/LF the decoder would skip and non-zero padding
// bits.
func decodeHash(b []byte) ([32]byte, bool) {
	var h [32]byte
	if len(b) != base64.StdEncoding.EncodedLen(len(h)) {
		return h, false
	}
	var raw [33]byte
	n, err := base64.StdEncoding.Decode(raw[:], b)
	copy(h[:], raw[:])
	if err != nil || n != len(h) || base64.StdEncoding.EncodeToString(h[:]) != string(b) {
		return [32]byte{}, false
	}
	return h, true
}

// MarshalJSON encodes r as documented on Receipt. It fails if the proof or
// id is not valid UTF-8 or the entry is not a JSON object, rather than let
// encoding/json replace bytes and silently break the proof.
func (r Receipt) MarshalJSON() ([]byte, error) {
	if !utf8.Valid(r.Proof) || !utf8.ValidString(r.ID) {
		return nil, fmt.Errorf("%w: receipt: proof or id is not valid UTF-8", ErrInvalid)
	}
	if len(r.Entry) > 0 && !isJSONObject(r.Entry) {
		return nil, fmt.Errorf("%w: receipt: entry is not a JSON object", ErrInvalid)
	}
	id, _ := json.Marshal(r.ID) // strings always marshal
	prf, _ := json.Marshal(string(r.Proof))
	buf := make([]byte, 0, 96+len(id)+len(prf)+len(r.Entry))
	buf = append(buf, `{"seq":`...)
	buf = strconv.AppendUint(buf, r.Seq, 10)
	buf = append(buf, `,"id":`...)
	buf = append(buf, id...)
	buf = append(buf, `,"leaf_hash":"`...)
	buf = base64.StdEncoding.AppendEncode(buf, r.LeafHash[:])
	buf = append(buf, `","proof":`...)
	buf = append(buf, prf...)
	if len(r.Entry) > 0 {
		buf = append(buf, `,"entry":`...)
		buf = append(buf, r.Entry...)
	}
	return append(buf, '}'), nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// UnmarshalJSON decodes the JSON form documented on Receipt strictly:
// unknown, duplicate, null or missing members, a leaf hash that is not
// canonical base64 of 32 bytes, an empty id, an entry that is not an object,
// invalid UTF-8 and a proof that TLogProof rejects are all errors wrapping
// ErrInvalid. The
// proof's contents are not verified (see verify.Receipt).
func (r *Receipt) UnmarshalJSON(data []byte) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: receipt JSON: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	if !utf8.Valid(data) {
		// encoding/json would quietly turn invalid bytes into U+FFFD.
		return bad("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return bad("not a JSON object")
	}
	var out Receipt
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad("%v", err)
		}
		key, _ := tok.(string) // object keys are always strings
		if seen[key] {
			return bad("duplicate member %q", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return bad("member %q: %v", key, err)
		}
		if string(raw) == "null" {
			return bad("member %q is null", key)
		}
		switch key {
		case "seq":
			if err := json.Unmarshal(raw, &out.Seq); err != nil {
				return bad("seq is not an unsigned 64-bit integer: %s", raw)
			}
		case "id":
			if err := json.Unmarshal(raw, &out.ID); err != nil || out.ID == "" {
				return bad("id is not a non-empty string")
			}
		case "leaf_hash":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return bad("leaf_hash is not a string")
			}
			h, ok := decodeHash([]byte(s))
			if !ok {
				return bad("leaf_hash %q is not canonical base64 of 32 bytes", s)
			}
			out.LeafHash = h
		case "proof":
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return bad("proof is not a string")
			}
			out.Proof = []byte(s)
		case "entry":
			if !isJSONObject(raw) {
				return bad("entry is not a JSON object")
			}
			out.Entry = bytes.Clone(raw)
		default:
			return bad("unknown member %q", key)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return bad("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("data after the object")
	}
	for _, key := range []string{"seq", "id", "leaf_hash", "proof"} {
		if !seen[key] {
			return bad("missing member %q", key)
		}
	}
	if _, _, _, err := out.TLogProof(); err != nil {
		return err
	}
	*r = out
	return nil
}
