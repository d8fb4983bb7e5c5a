package query

import (
	"bytes"
	"errors"
	"net/netip"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/index/search"
	"github.com/stele-log/stele/internal/tokenize"
)

// Matcher decides whether one canonical entry matches a query. It is the
// definition of the language's semantics: the executor uses it to filter
// index candidates and scans, and the live tail uses it on every new entry.
//
// A Matcher reads the entry in one pass of stele.RecordFields and keeps its
// scratch space between calls, so matching does not allocate per field.
// A Matcher is NOT safe for concurrent use; give each goroutine its own
// Clone.
type Matcher struct {
	q    *Query
	prog *program // immutable after Compile, shared by clones

	// Scratch, reset by every Match.
	matched   []bool // per clause: some value of the record satisfied it
	positives int    // positive clauses not matched yet
	decided   bool   // a negated clause matched: the answer is false
	lower     []byte // the current leaf's string content, unescaped and lowercased
	content   []byte // the current leaf's string content, unescaped
	tokBuf    []byte // tokens of the current string leaf, concatenated
	tokEnds   []int  // end offset of each token in tokBuf
	tokSpare  []byte // tokenize.Each's scratch (MaxToken bytes, never grows)
	visit     func(path, value []byte) error
	addToken  func(tok []byte)
}

// program is a query compiled for matching.
type program struct {
	clauses []matchClause
	groups  []pathGroup // clauses by the record path they test
	text    []int       // indexes of the KindText clauses
	negs    int         // number of negated clauses
}

// pathGroup lists the clauses that test one record path.
type pathGroup struct {
	path    string
	clauses []int
}

// matchClause is a Clause in the form Match evaluates.
type matchClause struct {
	kind   Kind
	neg    bool
	values []Value
	ips    []netip.Prefix
	seqs   []SeqRange
	times  []timeBounds
	tokens []string
	anchor string // the clause's longest token when it is ASCII, for mayContain
	exact  bool   // compare values case-sensitively (id: ids are keys, "A1" is not "a1")
}

// timeBounds is a TimeRange as Unix seconds and nanoseconds, so that a
// record's time is compared without building a time.Time.
type timeBounds struct {
	hasFrom, hasTo bool
	fromSec, toSec int64
	fromNs, toNs   int32
}

// errDecided stops the walk once the answer cannot change.
var errDecided = errors.New("query: match decided")

// Compile prepares q for matching. q must not be changed afterwards. A nil
// q is the empty query, which matches every entry.
func Compile(q *Query) *Matcher {
	if q == nil {
		q = &Query{}
	}
	prog := &program{}
	group := func(path string, idx int) {
		for i := range prog.groups {
			if prog.groups[i].path == path {
				prog.groups[i].clauses = append(prog.groups[i].clauses, idx)
				return
			}
		}
		prog.groups = append(prog.groups, pathGroup{path: path, clauses: []int{idx}})
	}
	for i, c := range q.Clauses {
		mc := matchClause{kind: c.Kind, neg: c.Neg, values: c.Values, ips: c.IPs, seqs: c.Seqs, tokens: c.Tokens}
		if c.Kind == KindField && c.Field == "id" {
			// Ids are idempotency keys, compared byte for byte by the log:
			// id:X finds exactly the record the id index finds.
			mc.exact = true
			mc.values = make([]Value, len(c.Values))
			for i, v := range c.Values {
				mc.values[i] = Value{Value: v.Raw, Prefix: v.Prefix, Raw: v.Raw}
			}
		}
		for _, tok := range c.Tokens {
			if len(tok) > len(mc.anchor) {
				mc.anchor = tok
			}
		}
		if !isASCII([]byte(mc.anchor)) {
			mc.anchor = ""
		}
		for _, r := range c.Times {
			mc.times = append(mc.times, boundsOf(r))
		}
		if c.Neg {
			prog.negs++
		}
		prog.clauses = append(prog.clauses, mc)
		switch {
		case c.Kind == KindText:
			prog.text = append(prog.text, i)
		case c.Kind == KindIP && c.Field == "ip":
			group("actor.ip", i)
			group("source.ip", i)
		case c.Kind == KindSeq:
			group("seq", i)
		case c.Kind == KindTime:
			group("time", i)
		default:
			group(c.Field, i)
		}
	}
	return newMatcher(q, prog)
}

func boundsOf(r TimeRange) timeBounds {
	var b timeBounds
	if !r.From.IsZero() {
		b.hasFrom, b.fromSec, b.fromNs = true, r.From.Unix(), int32(r.From.Nanosecond())
	}
	if !r.To.IsZero() {
		b.hasTo, b.toSec, b.toNs = true, r.To.Unix(), int32(r.To.Nanosecond())
	}
	return b
}

func newMatcher(q *Query, prog *program) *Matcher {
	m := &Matcher{
		q:        q,
		prog:     prog,
		matched:  make([]bool, len(prog.clauses)),
		tokSpare: make([]byte, 0, tokenize.MaxToken),
	}
	// Bound once here: a method value made in Match would allocate per call.
	m.visit = m.leaf
	m.addToken = func(tok []byte) {
		m.tokBuf = append(m.tokBuf, tok...)
		m.tokEnds = append(m.tokEnds, len(m.tokBuf))
	}
	return m
}

// Clone returns a Matcher for the same query with its own scratch space, for
// use on another goroutine.
func (m *Matcher) Clone() *Matcher { return newMatcher(m.q, m.prog) }

// Query returns the query m evaluates (for planning index lookups).
func (m *Matcher) Query() *Query { return m.q }

// Match reports whether entry, a canonical stele entry, satisfies every
// clause. It fails (wrapping stele.ErrInvalid) only when entry is not
// well-formed JSON; it stops reading as soon as the answer is known (a
// negated clause matched, or every clause matched and none is negated), so
// damage after that point goes unnoticed: use stele.ParseRecord to validate.
// The empty query matches without reading entry.
func (m *Matcher) Match(entry []byte) (bool, error) {
	prog := m.prog
	if len(prog.clauses) == 0 {
		return true, nil
	}
	clear(m.matched)
	m.positives = len(prog.clauses) - prog.negs
	m.decided = false
	err := stele.SearchableFields(entry, m.visit)
	if err != nil && err != errDecided {
		return false, err
	}
	if m.decided {
		return false, nil
	}
	for i := range prog.clauses {
		if m.matched[i] == prog.clauses[i].neg {
			return false, nil
		}
	}
	return true, nil
}

// leaf evaluates the clauses that care about one scalar of the record.
func (m *Matcher) leaf(path, value []byte) error {
	prog := m.prog
	var lower []byte
	lowered := false
	for gi := range prog.groups {
		g := &prog.groups[gi]
		if g.path != string(path) {
			continue
		}
		for _, ci := range g.clauses {
			if m.matched[ci] {
				continue
			}
			c := &prog.clauses[ci]
			var ok bool
			switch c.kind {
			case KindField:
				if c.exact {
					ok = matchValues(c.values, m.scalarExact(value))
					break
				}
				if !lowered {
					lower, lowered = m.scalarLower(value), true
				}
				ok = matchValues(c.values, lower)
			case KindIP:
				ok = matchIP(c.ips, value)
			case KindSeq:
				ok = matchSeq(c.seqs, value)
			case KindTime:
				ok = matchTime(c.times, value)
			}
			if ok {
				if err := m.satisfy(ci); err != nil {
					return err
				}
			}
		}
	}
	if len(prog.text) > 0 && len(value) > 0 && value[0] == '"' && textLeaf(path) {
		return m.leafText(value)
	}
	return nil
}

// textLeaf reports whether free text is searched in the string at path:
// every string but the id and the two times, which are not words (the
// index's search.TextIndexed; a test keeps the two in step).
func textLeaf(path []byte) bool {
	switch string(path) {
	case "id", "seq", "time", "received_at":
		return false
	}
	return !search.IsRaw(path)
}

// scalarExact returns a leaf's value unescaped but not lowercased (for
// case-sensitive clauses); other scalars as their canonical text.
func (m *Matcher) scalarExact(value []byte) []byte {
	if value[0] != '"' {
		return value
	}
	content := value[1 : len(value)-1]
	if bytes.IndexByte(content, '\\') < 0 {
		return content
	}
	m.lower = appendUnescaped(m.lower[:0], content, false)
	return m.lower
}

// satisfy records that clause ci matched, and stops the walk when that
// settles the answer.
func (m *Matcher) satisfy(ci int) error {
	m.matched[ci] = true
	if m.prog.clauses[ci].neg {
		m.decided = true
		return errDecided
	}
	m.positives--
	if m.positives == 0 && m.prog.negs == 0 {
		return errDecided
	}
	return nil
}

// scalarLower returns a leaf's value as field clauses compare it: string
// content unescaped and lowercased, other scalars as their canonical text.
func (m *Matcher) scalarLower(value []byte) []byte {
	if value[0] != '"' {
		return value
	}
	content := value[1 : len(value)-1]
	if plainLower(content) {
		return content
	}
	m.lower = appendUnescaped(m.lower[:0], content, true)
	return m.lower
}

// plainLower reports whether content is its own unescaped, lowercased form:
// ASCII without backslashes or capitals (the common case: no copy).
func plainLower(content []byte) bool {
	for _, c := range content {
		if c >= 0x80 || c == '\\' || ('A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func matchValues(values []Value, s []byte) bool {
	for i := range values {
		v := &values[i]
		if v.Prefix {
			if len(s) >= len(v.Value) && string(s[:len(v.Value)]) == v.Value {
				return true
			}
		} else if string(s) == v.Value {
			return true
		}
	}
	return false
}

func matchIP(prefixes []netip.Prefix, value []byte) bool {
	if len(value) < 2 || value[0] != '"' {
		return false
	}
	addr, ok := parseAddr(value[1 : len(value)-1])
	if !ok {
		return false
	}
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

func matchSeq(ranges []SeqRange, value []byte) bool {
	if len(value) == 0 || len(value) > 20 {
		return false
	}
	var seq uint64
	for _, c := range value {
		if c < '0' || c > '9' {
			return false // not an unsigned integer
		}
		next := seq*10 + uint64(c-'0')
		if next/10 != seq {
			return false // overflow
		}
		seq = next
	}
	for _, r := range ranges {
		if r.Lo <= seq && seq < r.Hi {
			return true
		}
	}
	return false
}

func matchTime(bounds []timeBounds, value []byte) bool {
	if len(value) < 2 || value[0] != '"' {
		return false
	}
	sec, ns, why := parseTimestamp(value[1 : len(value)-1])
	if why != "" {
		return false
	}
	for _, b := range bounds {
		if b.hasFrom && (sec < b.fromSec || sec == b.fromSec && ns < b.fromNs) {
			continue
		}
		if b.hasTo && (sec > b.toSec || sec == b.toSec && ns >= b.toNs) {
			continue
		}
		return true
	}
	return false
}

// leafText evaluates the free-text clauses on one string leaf: its tokens
// are collected once, then each clause looks for its token or phrase.
func (m *Matcher) leafText(value []byte) error {
	content := value[1 : len(value)-1]
	if bytes.IndexByte(content, '\\') >= 0 {
		m.content = appendUnescaped(m.content[:0], content, false)
		content = m.content
	}
	if !m.mayContain(content) {
		return nil
	}
	m.tokBuf, m.tokEnds = m.tokBuf[:0], m.tokEnds[:0]
	tokenize.Each(content, m.tokSpare, m.addToken)
	if len(m.tokEnds) == 0 {
		return nil
	}
	for _, ci := range m.prog.text {
		if !m.matched[ci] && m.hasSequence(m.prog.clauses[ci].tokens) {
			if err := m.satisfy(ci); err != nil {
				return err
			}
		}
	}
	return nil
}

// hasSequence reports whether want occurs as consecutive tokens of the
// current leaf. A single token is a word search; several are a phrase (a
// clause with several tokens is always matched as a phrase).
func (m *Matcher) hasSequence(want []string) bool {
	n := len(m.tokEnds)
	if len(want) == 0 || len(want) > n {
		return false
	}
	for start := 0; start+len(want) <= n; start++ {
		j := 0
		for ; j < len(want); j++ {
			if string(m.token(start+j)) != want[j] {
				break
			}
		}
		if j == len(want) {
			return true
		}
	}
	return false
}

// token returns token i of the current leaf (aliasing scratch).
func (m *Matcher) token(i int) []byte {
	from := 0
	if i > 0 {
		from = m.tokEnds[i-1]
	}
	return m.tokBuf[from:m.tokEnds[i]]
}

// mayContain is a cheap filter run before tokenizing a string leaf: false
// means no unmatched text clause can match it. Most strings are ASCII, and
// the tokens of an ASCII string are its runs of letters and digits,
// lowercased, so a clause's token can only be among them if it occurs in
// the string ignoring ASCII case. A non-ASCII string always passes: some
// non-ASCII letters lowercase to ASCII ones (U+212A KELVIN SIGN is k).
func (m *Matcher) mayContain(content []byte) bool {
	if !isASCII(content) {
		return true
	}
	for _, ci := range m.prog.text {
		c := &m.prog.clauses[ci]
		if !m.matched[ci] && (c.anchor == "" || containsFold(content, c.anchor)) {
			return true
		}
	}
	return false
}

func isASCII(s []byte) bool {
	for _, c := range s {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// containsFold reports whether token (lowercase ASCII letters and digits)
// occurs in s ignoring ASCII case. Setting bit 0x20 folds upper-case letters
// onto lower-case ones; it also folds a few non-letters onto letters and
// digits, which can only cause a false positive (a needless tokenization).
func containsFold(s []byte, token string) bool {
	first := token[0]
	for i := 0; i+len(token) <= len(s); i++ {
		if s[i]|0x20 != first {
			continue
		}
		j := 1
		for j < len(token) && s[i+j]|0x20 == token[j] {
			j++
		}
		if j == len(token) {
			return true
		}
	}
	return false
}
