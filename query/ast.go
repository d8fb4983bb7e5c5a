package query

import (
	"net/netip"
	"time"
)

// Query is a parsed search: every clause must match (AND).
type Query struct {
	Text    string   // the query as written
	Clauses []Clause // ANDed; an empty query matches every event

	// scope is the text a cursor is bound to when it is not String(): the
	// query before AndTime added since/until, which a client re-sends per
	// page and which, when relative ("24h"), resolves differently each time.
	scope string
}

// Clause is one space-separated term of a query. Exactly one of its value
// lists is used, chosen by Kind; several values are ORed.
type Clause struct {
	Kind Kind
	Neg  bool // written with a leading '-': the clause must not match
	Pos  int  // byte offset of the clause in Query.Text, for error messages

	// Field is the canonical dotted path the clause tests: "action",
	// "actor.id", "attributes.region", ... For KindIP it is "ip" (actor.ip or
	// source.ip), "actor.ip" or "source.ip". Empty for KindText.
	Field string

	Values []Value        // KindField: exact or prefix values, ORed
	IPs    []netip.Prefix // KindIP: addresses (as /32 or /128) or CIDRs, ORed
	Seqs   []SeqRange     // KindSeq: ORed
	Times  []TimeRange    // KindTime: ORed
	Text   string         // KindText: the word or phrase as written
	Tokens []string       // KindText: Text split by internal/tokenize
	Phrase bool           // KindText: a "quoted phrase" (tokens must be adjacent, in order)
}

// Kind says what a clause tests.
type Kind uint8

const (
	KindField Kind = iota + 1 // field:value[,value...] with exact or prefix values
	KindIP                    // ip:CIDR, actor.ip:CIDR, source.ip:CIDR
	KindSeq                   // seq:N, seq:>N, seq:A..B
	KindTime                  // time:>=2026-11-01, time:A..B
	KindText                  // a bare word or a "quoted phrase": free text
)

// Value is one value of a field clause. Matching is case-insensitive:
// Value holds the lowercased form.
type Value struct {
	Value  string
	Prefix bool // written as value* : matches values starting with Value

	// Raw is the value as written: unescaped, original case, without the
	// trailing '*'. Matching ignores it; an exact-match index whose keys
	// are case-sensitive (record ids) looks Raw up. strings.ToLower(Raw)
	// == Value for every Value that Parse returns.
	Raw string
}

// SeqRange is the half-open range [Lo, Hi) of seqs; Hi == math.MaxUint64
// means no upper bound (so seq:<0 is the empty range [0, 0)).
type SeqRange struct {
	Lo, Hi uint64
}

// TimeRange is the half-open range [From, To) of event times (the event's
// "time" field); a zero From or To is open.
type TimeRange struct {
	From, To time.Time
}
