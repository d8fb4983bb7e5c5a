package api

import "encoding/json"

// Wire types of the JSON API (documented in docs/api.md). Hashes are
// standard base64 (RFC 4648 §4), as in C2SP checkpoints.

// AppendResponse acknowledges POST /v1/events: every event is durable and
// sealed by Checkpoint.
type AppendResponse struct {
	Size       uint64          `json:"size"`       // tree size of Checkpoint
	RootHash   string          `json:"root_hash"`  // root hash of Checkpoint
	Checkpoint string          `json:"checkpoint"` // signed C2SP checkpoint note
	Events     []AppendedEvent `json:"events"`     // in request order
}

// AppendedEvent is one event of an AppendResponse.
type AppendedEvent struct {
	Seq            uint64   `json:"seq"`
	ID             string   `json:"id"`
	LeafHash       string   `json:"leaf_hash"`
	Duplicate      bool     `json:"duplicate,omitempty"`       // id already in the log: nothing appended, original seq
	InclusionProof []string `json:"inclusion_proof,omitempty"` // with ?proof=1: proof of Seq in the tree of Size
}

// LogInfo is GET /v1/log.
type LogInfo struct {
	Origin      string `json:"origin"`
	VerifierKey string `json:"verifier_key"` // note verifier key: pass it to `stele verify --key`
	Size        uint64 `json:"size"`
	RootHash    string `json:"root_hash"`
	Checkpoint  string `json:"checkpoint"`
}

// EventsPage is GET /v1/events?after_seq=&limit=.
type EventsPage struct {
	Events  []json.RawMessage `json:"events"`             // canonical records, in seq order
	LastSeq *uint64           `json:"last_seq,omitempty"` // pass as after_seq for the next page
	Size    uint64            `json:"size"`               // log size when the page was read
}

// InclusionProof is GET /v1/proof/inclusion.
type InclusionProof struct {
	Seq        uint64   `json:"seq"`
	Size       uint64   `json:"size"`
	LeafHash   string   `json:"leaf_hash"`
	Proof      []string `json:"proof"`
	RootHash   string   `json:"root_hash"`
	Checkpoint string   `json:"checkpoint,omitempty"` // when size is the current size
}

// ConsistencyProof is GET /v1/proof/consistency.
type ConsistencyProof struct {
	Old        uint64   `json:"old"`
	New        uint64   `json:"new"`
	Proof      []string `json:"proof"`
	OldRoot    string   `json:"old_root"`
	NewRoot    string   `json:"new_root"`
	Checkpoint string   `json:"checkpoint,omitempty"` // when new is the current size
}

// Health is GET /healthz.
type Health struct {
	Status string `json:"status"` // "ok" or "failing"
	Size   uint64 `json:"size"`
	Error  string `json:"error,omitempty"`
}

// ErrorBody is every error response.
type ErrorBody struct {
	Error string `json:"error"`
}
