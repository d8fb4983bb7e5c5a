package stele

import (
	"encoding/json"
	"strconv"
	"time"
)

// The event model. docs/schema.md is the reference for clients; this file and
// event_parse.go implement it.
//
// A client sends events as JSON objects. The parser checks every field
// strictly and writes each event straight into its canonical form (RFC 8785
// JCS, see internal/jcs): the byte string the Merkle log commits to. There is
// exactly one canonical byte string per event, so anyone can recompute an
// entry's hash from its content.

// Limits of the event model.
const (
	MaxActionLen       = 128 // bytes of "action"
	MaxCategoryLen     = 64  // bytes of "category"
	MaxClientIDLen     = 128 // bytes of a client-supplied "id"
	MaxAttributesDepth = 32  // nesting of "attributes", the attributes object itself being depth 1
)

// Outcome says how the audited action ended.
type Outcome string

// The outcomes an event may carry. An event without one is OutcomeUnknown.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
	OutcomeDenied  Outcome = "denied"
	OutcomeUnknown Outcome = "unknown"
)

// Actor is who did it. Every field is optional.
type Actor struct {
	Type      string `json:"type,omitempty"`       // e.g. "user", "service"
	ID        string `json:"id,omitempty"`         // stable identifier
	Name      string `json:"name,omitempty"`       // display name, e-mail
	IP        string `json:"ip,omitempty"`         // client address, canonical net/netip form
	UserAgent string `json:"user_agent,omitempty"` // HTTP User-Agent or client name
	SessionID string `json:"session_id,omitempty"`
}

// Resource is what it was done to. Every field is optional.
type Resource struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Source is the system that reported the event. Every field is optional.
type Source struct {
	Service string `json:"service,omitempty"`
	Host    string `json:"host,omitempty"`
	IP      string `json:"ip,omitempty"` // canonical net/netip form
}

// Event is the input model: what a client sends, one JSON object per event.
// json.Marshal of an Event is a valid input for ParseEvents. Only Action is
// required; the rules for each field are in docs/schema.md.
type Event struct {
	ID         string          `json:"id,omitempty"` // idempotency key; the server assigns a UUIDv7 when empty
	Action     string          `json:"action"`
	Actor      *Actor          `json:"actor,omitempty"`
	Resource   *Resource       `json:"resource,omitempty"`
	Outcome    Outcome         `json:"outcome,omitempty"`
	Time       time.Time       `json:"time,omitzero"` // when it happened; the receive time when zero
	Category   string          `json:"category,omitempty"`
	Source     *Source         `json:"source,omitempty"`
	Message    string          `json:"message,omitempty"`
	RequestID  string          `json:"request_id,omitempty"`
	Attributes json.RawMessage `json:"attributes,omitempty"` // a JSON object
	Raw        json.RawMessage `json:"raw,omitempty"`        // the original payload (intake adapters): any JSON value
}

// Batch holds parsed events, each already in canonical form except for the
// two values only known at sequencing time: the log index (seq) and, for
// events without a client id, the server id. Canonical key order puts "id"
// and "seq" between other fields, so each event is kept as three fragments
// that AppendEntry joins around them:
//
//	entry = Head + `"id":"` + id + `",` + Mid + `"seq":` + decimal(seq) + `,` + Tail
//
//	Head  `{"action":…,` then actor, attributes, category when present;
//	      never empty, ends with ','
//	Mid   message, outcome, received_at, request_id, resource;
//	      never empty (outcome and received_at are always there), ends with ','
//	Tail  source when present, then `"time":…}`
//
// All fragments live in one arena, so a Batch holds no per-event heap
// objects, and a reused Batch (ParseEventsInto) parses without allocating
// once its buffers have grown. A Batch is not safe for concurrent use.
type Batch struct {
	arena  []byte      // fragments and client ids of every event, in order
	events []eventSpan // where each event's pieces are in arena
	recv   []byte      // the receive time as a quoted canonical string
	parser eventParser
}

// eventSpan locates one event in Batch.arena: Head is arena[start:mid], Mid
// arena[mid:tail], Tail arena[tail:end] and the client id arena[end:idEnd]
// (empty when the server must assign one).
type eventSpan struct {
	start, mid, tail, end, idEnd int
}

// Len returns the number of events.
func (b *Batch) Len() int { return len(b.events) }

// Bytes returns how many bytes of canonical JSON the events hold, less
// the ids and seqs that AppendEntry adds: a size hint for their entries.
func (b *Batch) Bytes() int { return len(b.arena) }

// ClientID returns the id event i was sent with, or nil when the server must
// assign one. The id is at most MaxClientIDLen bytes of printable ASCII
// without '"' or '\\', so it is its own canonical string content. The slice
// aliases the Batch and is valid until the next Reset.
func (b *Batch) ClientID(i int) []byte {
	e := b.events[i]
	if e.idEnd == e.end {
		return nil
	}
	return b.arena[e.end:e.idEnd:e.idEnd]
}

// Lengths of the text AppendEntry puts around the id and the seq.
const (
	idFrame  = len(`"id":"",`)
	seqFrame = len(`"seq":,`)
)

// EntrySize returns the length of the entry AppendEntry renders for event i
// with an id of idLen bytes and the given seq.
func (b *Batch) EntrySize(i int, idLen int, seq uint64) int {
	e := b.events[i]
	return e.end - e.start + idFrame + idLen + seqFrame + decimalLen(seq)
}

// AppendEntry appends the canonical entry of event i with the given id and
// seq to dst. id must be the event's ClientID or, when that is nil, an id
// from IDGen; it is not checked here (this is the sequencer's hot path). It
// does not allocate when dst has room for EntrySize bytes.
func (b *Batch) AppendEntry(dst []byte, i int, id []byte, seq uint64) []byte {
	e := b.events[i]
	dst = append(dst, b.arena[e.start:e.mid]...)
	dst = append(dst, `"id":"`...)
	dst = append(dst, id...)
	dst = append(dst, `",`...)
	dst = append(dst, b.arena[e.mid:e.tail]...)
	dst = append(dst, `"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, ',')
	return append(dst, b.arena[e.tail:e.end]...)
}

// Reset empties the Batch, keeping its buffers for reuse.
func (b *Batch) Reset() {
	b.arena = b.arena[:0]
	b.events = b.events[:0]
	b.parser.reset()
}

func decimalLen(v uint64) int {
	n := 1
	for v >= 10 {
		v /= 10
		n++
	}
	return n
}

// EventError reports why a request body was refused. It wraps ErrInvalid, or
// ErrTooLarge for an event whose entry would exceed MaxEntrySize.
type EventError struct {
	Index  int    // 0-based index of the event; -1 when the body as a whole is at fault
	Line   int    // 1-based line of Offset in the body
	Offset int    // byte offset of the problem in the body; an event's start for event-wide problems
	Field  string // dotted path such as "actor.ip" or "attributes.geo.region"; empty for event-wide problems
	Reason string
	Err    error // ErrInvalid or ErrTooLarge
}

// Error reads like `event 3 (line 4): actor.ip: "10.0.0.999" is not an IP
// address`.
func (e *EventError) Error() string {
	var msg string
	if e.Index >= 0 {
		msg = "event " + strconv.Itoa(e.Index) + " (line " + strconv.Itoa(e.Line) + "): "
	} else {
		msg = "line " + strconv.Itoa(e.Line) + ": "
	}
	if e.Field != "" {
		msg += e.Field + ": "
	}
	return msg + e.Reason
}

func (e *EventError) Unwrap() error { return e.Err }
