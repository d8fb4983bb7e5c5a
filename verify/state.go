package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"unicode/utf8"

	"github.com/stele-log/stele"
)

// emptyRoot is the RFC 6962 root of the empty tree.
var emptyRoot = sha256.Sum256(nil)

// State is what a remote verification proved about a log, to be saved by the
// caller and passed back as prev next time: the log had, at Size, the given
// Root, and Range is its compact range (the hashes of the maximal perfect
// subtrees of the tree, largest first; one per set bit of Size), which is
// what extending the tree needs. Checkpoint is the signed checkpoint that
// was verified, kept as evidence.
//
// Its JSON form is an object with exactly these members (hashes in standard
// padded base64):
//
//	{"origin": "example.com/stele", "size": 70000,
//	 "root": "<base64>", "range": ["<base64>", ...],
//	 "checkpoint": "<signed note text>"}
//
// UnmarshalJSON is strict and also checks that Range has one hash per set bit
// of Size and folds to Root, so a damaged state file is caught on load.
type State struct {
	Origin     string
	Size       uint64
	Root       [32]byte
	Range      [][32]byte
	Checkpoint string
}

// check reports whether s is internally consistent.
func (s *State) check() error {
	if s.Origin == "" {
		return fmt.Errorf("empty origin")
	}
	if want := bits.OnesCount64(s.Size); len(s.Range) != want {
		return fmt.Errorf("compact range has %d hashes, size %d needs %d", len(s.Range), s.Size, want)
	}
	if root := foldRange(s.Range); root != s.Root {
		return fmt.Errorf("compact range folds to %x, not the root %x", root, s.Root)
	}
	return nil
}

// foldRange returns the root of the tree whose compact range (from 0) is hs.
func foldRange(hs [][32]byte) [32]byte {
	if len(hs) == 0 {
		return emptyRoot
	}
	root := hs[len(hs)-1]
	for i := len(hs) - 2; i >= 0; i-- {
		var in [65]byte
		in[0] = 1
		copy(in[1:], hs[i][:])
		copy(in[33:], root[:])
		root = sha256.Sum256(in[:])
	}
	return root
}

// MarshalJSON encodes s as documented on State.
func (s State) MarshalJSON() ([]byte, error) {
	rng := make([]string, len(s.Range))
	for i := range s.Range {
		rng[i] = base64.StdEncoding.EncodeToString(s.Range[i][:])
	}
	return json.Marshal(struct {
		Origin     string   `json:"origin"`
		Size       uint64   `json:"size"`
		Root       string   `json:"root"`
		Range      []string `json:"range"`
		Checkpoint string   `json:"checkpoint"`
	}{s.Origin, s.Size, base64.StdEncoding.EncodeToString(s.Root[:]), rng, s.Checkpoint})
}

// UnmarshalJSON decodes the JSON form documented on State strictly: unknown,
// duplicate, null or missing members, non-canonical hashes, invalid UTF-8
// and an inconsistent range are errors wrapping stele.ErrInvalid.
func (s *State) UnmarshalJSON(data []byte) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: verify state: %s", stele.ErrInvalid, fmt.Sprintf(format, args...))
	}
	if !utf8.Valid(data) {
		return bad("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return bad("not a JSON object")
	}
	var out State
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return bad("%v", err)
		}
		key, _ := tok.(string)
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
		case "origin":
			err = json.Unmarshal(raw, &out.Origin)
		case "size":
			// A JSON integer only: encoding/json would also take 1.0 as
			// an error, but be explicit about the form.
			out.Size, err = strconv.ParseUint(string(raw), 10, 64)
		case "root":
			out.Root, err = decodeHashJSON(raw)
		case "range":
			var strs []json.RawMessage
			if err = json.Unmarshal(raw, &strs); err == nil {
				if len(strs) > 64 {
					return bad("range has %d hashes", len(strs))
				}
				out.Range = make([][32]byte, len(strs))
				for i, h := range strs {
					if out.Range[i], err = decodeHashJSON(h); err != nil {
						break
					}
				}
			}
		case "checkpoint":
			err = json.Unmarshal(raw, &out.Checkpoint)
		default:
			return bad("unknown member %q", key)
		}
		if err != nil {
			return bad("member %q: %v", key, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return bad("%v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad("data after the object")
	}
	for _, key := range []string{"origin", "size", "root", "range", "checkpoint"} {
		if !seen[key] {
			return bad("missing member %q", key)
		}
	}
	if err := out.check(); err != nil {
		return bad("%v", err)
	}
	*s = out
	return nil
}

// decodeHashJSON decodes a JSON string holding canonical padded standard
// base64 of 32 bytes.
func decodeHashJSON(raw json.RawMessage) ([32]byte, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return [32]byte{}, fmt.Errorf("hash is not a string")
	}
	if len(s) != base64.StdEncoding.EncodedLen(32) { // before decoding into a fixed buffer
		return [32]byte{}, fmt.Errorf("hash %q is not canonical base64 of 32 bytes", s)
	}
	var h [32]byte
	var buf [33]byte
	n, err := base64.StdEncoding.Decode(buf[:], []byte(s))
	copy(h[:], buf[:])
	if err != nil || n != 32 || base64.StdEncoding.EncodeToString(h[:]) != s {
		return [32]byte{}, fmt.Errorf("hash %q is not canonical base64 of 32 bytes", s)
	}
	return h, nil
}
