package stele

import (
	"bytes"
	"errors"
	"net/netip"
	"strconv"
	"time"
	"unsafe"

	"github.com/stele-log/stele/internal/jcs"
)

// ParseEvents parses a request body into a Batch. With ndjson false the body
// is one JSON object or a JSON array of objects; with ndjson true it is one
// object per line (blank lines, a final newline and CRLF line ends are
// fine). receivedAt is the server's receive time: it becomes every event's
// received_at and the time of events that carry none.
//
// Parsing is all-or-nothing: the first bad event fails the whole body with an
// *EventError, and a body without events is ErrInvalid ("no events").
func ParseEvents(body []byte, ndjson bool, receivedAt time.Time) (*Batch, error) {
	b := new(Batch)
	if err := ParseEventsInto(b, body, ndjson, receivedAt); err != nil {
		return nil, err
	}
	return b, nil
}

// ParseEventsInto is ParseEvents into b, which is Reset first, so that a
// pooled Batch parses without allocating. On error b is left empty.
func ParseEventsInto(b *Batch, body []byte, ndjson bool, receivedAt time.Time) error {
	b.Reset()
	if need := len(body) + len(body)/4; cap(b.arena) < need {
		// Canonical events are about as long as the body; one allocation
		// instead of a growing arena's dozen for a large batch.
		b.arena = make([]byte, 0, need)
	}
	var err *EventError
	b.recv, err = appendReceiveTime(b.recv[:0], receivedAt)
	if err == nil {
		if ndjson {
			err = b.parseLines(body)
		} else {
			err = b.parseDocument(body)
		}
	}
	if err == nil && len(b.events) == 0 {
		err = &EventError{Index: -1, Offset: 0, Reason: "no events", Err: ErrInvalid}
	}
	if err != nil {
		err.Line = 1 + bytes.Count(body[:min(err.Offset, len(body))], []byte{'\n'})
		b.Reset()
		return err
	}
	return nil
}

func appendReceiveTime(dst []byte, t time.Time) ([]byte, *EventError) {
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return dst, &EventError{Index: -1, Reason: "receive time " + t.String() + " is outside years 0001-9999", Err: ErrInvalid}
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), nil
}

// parseDocument parses a body that is one event object or an array of them.
func (b *Batch) parseDocument(body []byte) *EventError {
	pos := skipSpace(body, 0)
	if pos == len(body) {
		return nil
	}
	switch body[pos] {
	case '{':
		end, err := b.parseEvent(body, pos, 0)
		if err != nil {
			return err
		}
		if pos = skipSpace(body, end); pos != len(body) {
			reason := "unexpected " + quoteByte(body[pos]) + " after the event"
			if body[pos] == '{' {
				reason += "; send several events as a JSON array, or as ndjson (one per line)"
			}
			return bodyErr(pos, reason)
		}
		return nil
	case '[':
		pos = skipSpace(body, pos+1)
		if pos < len(body) && body[pos] == ']' {
			pos++
		} else {
			for index := 0; ; index++ {
				if pos >= len(body) || body[pos] != '{' {
					return &EventError{Index: index, Offset: pos, Reason: "must be a JSON object, got " + jsonKind(body, pos), Err: ErrInvalid}
				}
				end, err := b.parseEvent(body, pos, index)
				if err != nil {
					return err
				}
				pos = skipSpace(body, end)
				if pos < len(body) && body[pos] == ',' {
					pos = skipSpace(body, pos+1)
					continue
				}
				if pos < len(body) && body[pos] == ']' {
					pos++
					break
				}
				if pos >= len(body) {
					return bodyErr(pos, "unexpected end of body, expected ',' or ']'")
				}
				return bodyErr(pos, "unexpected "+quoteByte(body[pos])+" after event "+strconv.Itoa(index)+", expected ',' or ']'")
			}
		}
		if pos = skipSpace(body, pos); pos != len(body) {
			return bodyErr(pos, "unexpected "+quoteByte(body[pos])+" after the array")
		}
		return nil
	}
	return bodyErr(pos, "body must be a JSON object or an array of objects, got "+jsonKind(body, pos))
}

// parseLines parses ndjson: one event object per line.
func (b *Batch) parseLines(body []byte) *EventError {
	for start := 0; start < len(body); {
		end := len(body)
		if i := bytes.IndexByte(body[start:], '\n'); i >= 0 {
			end = start + i
		}
		line := body[:end] // absolute offsets, so errors point into body
		pos := skipSpace(line, start)
		if pos < end {
			index := len(b.events)
			if line[pos] != '{' {
				return &EventError{Index: index, Offset: pos, Reason: "each line must hold one JSON object, got " + jsonKind(line, pos), Err: ErrInvalid}
			}
			next, err := b.parseEvent(line, pos, index)
			if err != nil {
				return err
			}
			if pos = skipSpace(line, next); pos != end {
				return &EventError{Index: index, Offset: pos, Reason: "unexpected " + quoteByte(line[pos]) + " after the event; each line must hold exactly one object", Err: ErrInvalid}
			}
		}
		start = end + 1
	}
	return nil
}

// parseEvent parses the event object at src[pos] into b's arena.
func (b *Batch) parseEvent(src []byte, pos, index int) (int, *EventError) {
	p := &b.parser
	end, err := p.parse(src, pos)
	if err == nil {
		var span eventSpan
		b.arena, span, err = p.assemble(b.arena, b.recv)
		if err == nil {
			b.events = append(b.events, span)
		}
	}
	if err != nil {
		err.Index = index
		return end, err
	}
	return end, nil
}

func bodyErr(offset int, reason string) *EventError {
	return &EventError{Index: -1, Offset: offset, Reason: reason, Err: ErrInvalid}
}

// span is a half-open byte range; the zero span is an absent value.
type span struct{ start, end int }

// eventParser parses one event object at a time. It keeps the canonical JSON
// of each field value in scratch, in input order, and assemble copies them
// into the arena in canonical order.
type eventParser struct {
	scratch []byte
	slots   [numFields]span // valid only where seen has the slot's bit
	seen    uint32          // fields and objects met in this event, to refuse duplicates
	start   int             // offset of the event in the body
	keyBuf  []byte          // a key that needed unescaping
	canon   jcs.Canonicalizer

	// stored is set when parsing a stored entry (ParseRecord): seq and
	// received_at are then expected rather than refused.
	stored bool
	seq    uint64
}

func (p *eventParser) reset() {
	// A pooled Batch should not pin the memory of one huge event forever.
	if cap(p.scratch) > 4*MaxEntrySize {
		p.scratch = nil
	}
}

// value returns the canonical JSON of slot f, or nil when absent (never sent,
// null or empty).
func (p *eventParser) value(f int) []byte {
	s := p.slots[f]
	if p.seen&(1<<f) == 0 || s.end == 0 {
		return nil
	}
	return p.scratch[s.start:s.end]
}

func (p *eventParser) fail(offset int, field, reason string) *EventError {
	return &EventError{Offset: offset, Field: field, Reason: reason, Err: ErrInvalid}
}

// parse parses the object at src[pos] (which is '{') into the slots and
// returns the offset after it.
func (p *eventParser) parse(src []byte, pos int) (int, *EventError) {
	p.scratch = p.scratch[:0]
	p.seen = 0
	p.start = pos
	pos = skipSpace(src, pos+1)
	if pos < len(src) && src[pos] == '}' {
		return pos + 1, nil
	}
	for {
		keyPos := pos
		key, next, err := p.key(src, pos, "")
		if err != nil {
			return pos, err
		}
		f := topField(key)
		if f < 0 {
			return keyPos, p.unknownKey(keyPos, "", key)
		}
		if (f == fSeq || f == fReceivedAt) && !p.stored {
			return keyPos, p.fail(keyPos, fieldNames[f], "assigned by the server; do not send it")
		}
		if p.seen&(1<<f) != 0 {
			return keyPos, p.fail(keyPos, topName(f), "duplicate key")
		}
		p.seen |= 1 << f
		if pos, err = colon(src, next); err != nil {
			return pos, err
		}
		switch f {
		case bitActor:
			pos, err = p.object(src, pos, "actor", actorField)
		case bitResource:
			pos, err = p.object(src, pos, "resource", resourceField)
		case bitSource:
			pos, err = p.object(src, pos, "source", sourceField)
		case fAttributes:
			pos, err = p.attributes(src, pos)
		case fRaw:
			pos, err = p.raw(src, pos)
		case fSeq:
			pos, err = p.seqField(src, pos)
		default:
			pos, err = p.stringField(src, pos, f)
		}
		if err != nil {
			return pos, err
		}
		var done bool
		if pos, done, err = p.next(src, pos); err != nil || done {
			return pos, err
		}
	}
}

// next consumes the separator after an object member: after a ',' it
// returns the offset of the next key, after a '}' the offset past it and
// done.
func (p *eventParser) next(src []byte, pos int) (next int, done bool, err *EventError) {
	pos = skipSpace(src, pos)
	if pos < len(src) {
		switch src[pos] {
		case ',':
			return skipSpace(src, pos+1), false, nil
		case '}':
			return pos + 1, true, nil
		}
		return pos, false, p.fail(pos, "", "unexpected "+quoteByte(src[pos])+", expected ',' or '}'")
	}
	return pos, false, p.fail(pos, "", "unexpected end of input in the object")
}

func colon(src []byte, pos int) (int, *EventError) {
	pos = skipSpace(src, pos)
	if pos >= len(src) || src[pos] != ':' {
		return pos, &EventError{Offset: pos, Reason: "expected ':' after the key", Err: ErrInvalid}
	}
	return skipSpace(src, pos+1), nil
}

// key reads the object key at src[pos]. Keys are nearly always plain ASCII
// and are then used in place; an escaped key is unescaped into keyBuf, so
// that "\u0061ction" is "action" (and a duplicate of it).
func (p *eventParser) key(src []byte, pos int, object string) ([]byte, int, *EventError) {
	if pos >= len(src) || src[pos] != '"' {
		if pos >= len(src) {
			return nil, pos, p.fail(pos, object, "unexpected end of input, expected a key")
		}
		return nil, pos, p.fail(pos, object, "unexpected "+quoteByte(src[pos])+", expected a string key")
	}
	for i := pos + 1; i < len(src); i++ {
		c := src[i]
		if c == '"' {
			return src[pos+1 : i], i + 1, nil
		}
		if c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
	}
	var err error
	var end int
	if p.keyBuf, end, err = jcs.AppendUnquoted(p.keyBuf[:0], src, pos); err != nil {
		return nil, end, p.jcsErr(err, object)
	}
	return p.keyBuf, end, nil
}

func (p *eventParser) unknownKey(offset int, object string, key []byte) *EventError {
	name := pathKey(key)
	switch object {
	case "":
		return p.fail(offset, name, "unknown field; put free-form data in \"attributes\"")
	case "actor":
		return p.fail(offset, "actor."+name, "unknown field (actor has type, id, name, ip, user_agent, session_id); put free-form data in \"attributes\"")
	case "resource":
		return p.fail(offset, "resource."+name, "unknown field (resource has type, id, name); put free-form data in \"attributes\"")
	default:
		return p.fail(offset, "source."+name, "unknown field (source has service, host, ip); put free-form data in \"attributes\"")
	}
}

// object parses actor, resource or source: an object of optional strings.
func (p *eventParser) object(src []byte, pos int, name string, field func([]byte) int) (int, *EventError) {
	if pos < len(src) && src[pos] == 'n' {
		return p.null(src, pos, name)
	}
	if pos >= len(src) || src[pos] != '{' {
		return pos, p.fail(pos, name, "must be an object, got "+jsonKind(src, pos))
	}
	pos = skipSpace(src, pos+1)
	if pos < len(src) && src[pos] == '}' {
		return pos + 1, nil
	}
	for {
		keyPos := pos
		key, next, err := p.key(src, pos, name)
		if err != nil {
			return pos, err
		}
		f := field(key)
		if f < 0 {
			return keyPos, p.unknownKey(keyPos, name, key)
		}
		if p.seen&(1<<f) != 0 {
			return keyPos, p.fail(keyPos, fieldNames[f], "duplicate key")
		}
		p.seen |= 1 << f
		if pos, err = colon(src, next); err != nil {
			return pos, err
		}
		if pos, err = p.stringField(src, pos, f); err != nil {
			return pos, err
		}
		var done bool
		if pos, done, err = p.next(src, pos); err != nil || done {
			return pos, err
		}
	}
}

// null accepts the literal null at src[pos], which means "absent".
func (p *eventParser) null(src []byte, pos int, field string) (int, *EventError) {
	if len(src)-pos >= 4 && string(src[pos:pos+4]) == "null" {
		return pos + 4, nil
	}
	return pos, p.fail(pos, field, "invalid literal, expected null")
}

// stringField parses the string value of slot f, checks it against the
// field's rules and records it. null and "" leave the field absent.
func (p *eventParser) stringField(src []byte, pos, f int) (int, *EventError) {
	p.slots[f] = span{}
	if pos < len(src) && src[pos] == 'n' {
		return p.null(src, pos, fieldNames[f])
	}
	if pos >= len(src) || src[pos] != '"' {
		return pos, p.fail(pos, fieldNames[f], "must be a string, got "+jsonKind(src, pos))
	}
	start := len(p.scratch)
	var end int
	var err error
	if p.scratch, end, err = jcs.AppendString(p.scratch, src, pos); err != nil {
		return pos, p.jcsErr(err, fieldNames[f])
	}
	if len(p.scratch)-start == 2 {
		p.scratch = p.scratch[:start] // "" is absent
		return end, nil
	}
	if reason := p.check(f, start); reason != "" {
		return pos, p.fail(pos, fieldNames[f], reason)
	}
	p.slots[f] = span{start, len(p.scratch)}
	return end, nil
}

// check applies the rules of slot f to the canonical string at scratch[start:]
// and, for times and addresses, replaces it with its normal form. It returns
// why the value is refused, or "".
func (p *eventParser) check(f, start int) string {
	content := p.scratch[start+1 : len(p.scratch)-1]
	switch f {
	case fAction:
		if !validAction(content) {
			return quoteValue(content) + ` is not an action: want lowercase dotted segments of [a-z0-9_-], starting with a letter, at most 128 bytes, e.g. "user.login"`
		}
	case fCategory:
		if !validCategory(content) {
			return quoteValue(content) + ` is not a category: want a lowercase token of [a-z0-9_.-], at most 64 bytes, e.g. "authentication"`
		}
	case fOutcome:
		switch string(content) {
		case "success", "failure", "denied", "unknown":
		default:
			return quoteValue(content) + ` is not an outcome: want "success", "failure", "denied" or "unknown"`
		}
	case fID:
		if !validClientID(content) {
			return quoteValue(content) + " is not a valid id: want 1-128 bytes of printable ASCII (0x21-0x7e) without '\"' or '\\\\'"
		}
	case fTime, fReceivedAt:
		var t timestamp
		if reason := t.parse(content); reason != "" {
			return quoteValue(content) + " is not an RFC 3339 time: " + reason
		}
		if !t.canonical {
			p.scratch = append(p.scratch[:start], '"')
			p.scratch = t.appendUTC(p.scratch)
			p.scratch = append(p.scratch, '"')
		}
	case fActorIP, fSourceIP:
		// netip.ParseAddr wants a string; converting would allocate per
		// event. The string aliases scratch only during the call: ParseAddr
		// keeps none of it (a zone would be interned as a copy, and is
		// refused anyway), and its error is not kept.
		addr, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(content), len(content)))
		if err != nil {
			return quoteValue(content) + " is not an IP address"
		}
		if addr.Zone() != "" {
			return quoteValue(content) + " has an IPv6 zone, which is meaningless outside its host; send the address without %zone"
		}
		p.scratch = append(p.scratch[:start], '"')
		p.scratch = addr.AppendTo(p.scratch)
		p.scratch = append(p.scratch, '"')
	}
	return ""
}

// raw canonicalises the original payload an intake adapter keeps: any JSON
// value (a syslog line as a string, a Kubernetes audit event as an object),
// nested at most MaxAttributesDepth deep. null is absent.
func (p *eventParser) raw(src []byte, pos int) (int, *EventError) {
	p.slots[fRaw] = span{}
	if pos < len(src) && src[pos] == 'n' {
		return p.null(src, pos, "raw")
	}
	start := len(p.scratch)
	p.canon.MaxDepth = MaxAttributesDepth
	var end int
	var err error
	if p.scratch, end, err = p.canon.AppendValue(p.scratch, src, pos); err != nil {
		return end, p.jcsErr(err, "raw")
	}
	p.slots[fRaw] = span{start, len(p.scratch)}
	return end, nil
}

// attributes canonicalises the free-form attributes object.
func (p *eventParser) attributes(src []byte, pos int) (int, *EventError) {
	p.slots[fAttributes] = span{}
	if pos < len(src) && src[pos] == 'n' {
		return p.null(src, pos, "attributes")
	}
	if pos >= len(src) || src[pos] != '{' {
		return pos, p.fail(pos, "attributes", "must be a JSON object, got "+jsonKind(src, pos))
	}
	start := len(p.scratch)
	p.canon.MaxDepth = MaxAttributesDepth
	var end int
	var err error
	if p.scratch, end, err = p.canon.AppendValue(p.scratch, src, pos); err != nil {
		return end, p.jcsErr(err, "attributes")
	}
	if len(p.scratch)-start == 2 {
		p.scratch = p.scratch[:start] // {} is absent
		return end, nil
	}
	p.slots[fAttributes] = span{start, len(p.scratch)}
	return end, nil
}

// seqField parses the seq of a stored entry: a canonical decimal integer.
func (p *eventParser) seqField(src []byte, pos int) (int, *EventError) {
	if !p.stored {
		return pos, p.fail(pos, "seq", "assigned by the server; do not send it")
	}
	end := pos
	for end < len(src) && src[end] >= '0' && src[end] <= '9' {
		end++
	}
	digits := src[pos:end]
	seq, err := strconv.ParseUint(string(digits), 10, 64)
	switch {
	case len(digits) == 0:
		return pos, p.fail(pos, "seq", "must be a non-negative integer, got "+jsonKind(src, pos))
	case len(digits) > 1 && digits[0] == '0':
		return pos, p.fail(pos, "seq", "leading zero")
	case err != nil || seq > 1<<53:
		return pos, p.fail(pos, "seq", "exceeds 2^53")
	}
	p.seq = seq
	start := len(p.scratch)
	p.scratch = append(p.scratch, digits...)
	p.slots[fSeq] = span{start, len(p.scratch)}
	return end, nil
}

// jcsErr turns an error from internal/jcs into an EventError at field.
func (p *eventParser) jcsErr(err error, field string) *EventError {
	var je *jcs.Error
	if !errors.As(err, &je) {
		return p.fail(p.start, field, err.Error())
	}
	if je.Path != "" {
		switch {
		case field == "":
			field = je.Path
		case je.Path[0] == '[':
			field += je.Path
		default:
			field += "." + je.Path
		}
	}
	return p.fail(je.Offset, field, je.Reason)
}

// assemble checks the event as a whole and appends its three fragments and
// client id to arena.
func (p *eventParser) assemble(arena []byte, recv []byte) ([]byte, eventSpan, *EventError) {
	if len(p.value(fAction)) == 0 {
		return arena, eventSpan{}, p.fail(p.start, "action", `missing; every event needs one, e.g. "user.login"`)
	}
	if p.stored {
		for _, f := range [...]int{fID, fOutcome, fReceivedAt, fSeq, fTime} {
			if len(p.value(f)) == 0 {
				return arena, eventSpan{}, p.fail(p.start, fieldNames[f], "missing; every stored entry has one")
			}
		}
		recv = p.value(fReceivedAt)
	}
	var s eventSpan
	a := arena
	s.start = len(a)
	a = append(a, `{"action":`...)
	a = append(a, p.value(fAction)...)
	a = append(a, ',')
	a = p.appendObject(a, `"actor":{`, actorMembers[:])
	a = p.appendMember(a, `"attributes":`, fAttributes)
	a = p.appendMember(a, `"category":`, fCategory)
	s.mid = len(a)
	a = p.appendMember(a, `"message":`, fMessage)
	if len(p.value(fOutcome)) > 0 {
		a = p.appendMember(a, `"outcome":`, fOutcome)
	} else {
		a = append(a, `"outcome":"unknown",`...)
	}
	a = p.appendMember(a, `"raw":`, fRaw)
	a = append(a, `"received_at":`...)
	a = append(a, recv...)
	a = append(a, ',')
	a = p.appendMember(a, `"request_id":`, fRequestID)
	a = p.appendObject(a, `"resource":{`, resourceMembers[:])
	s.tail = len(a)
	a = p.appendObject(a, `"source":{`, sourceMembers[:])
	a = append(a, `"time":`...)
	if v := p.value(fTime); len(v) > 0 {
		a = append(a, v...)
	} else {
		a = append(a, recv...)
	}
	a = append(a, '}')
	s.end = len(a)
	idLen := IDLen
	if id := p.value(fID); len(id) > 0 {
		a = append(a, id[1:len(id)-1]...)
		idLen = len(id) - 2
	}
	s.idEnd = len(a)
	if size := s.end - s.start + idFrame + idLen + seqFrame + 20; size > MaxEntrySize && !p.stored {
		return arena, eventSpan{}, &EventError{Offset: p.start, Err: ErrTooLarge,
			Reason: "too large: its entry could be " + strconv.Itoa(size) + " bytes with its id and seq; the limit is " + strconv.Itoa(MaxEntrySize) + " bytes (shrink message or attributes)"}
	}
	return a, s, nil
}

func (p *eventParser) appendMember(a []byte, key string, f int) []byte {
	if v := p.value(f); len(v) > 0 {
		a = append(a, key...)
		a = append(a, v...)
		a = append(a, ',')
	}
	return a
}

// appendObject appends `"name":{…},` with the present members, or nothing
// when none is present.
func (p *eventParser) appendObject(a []byte, open string, members []member) []byte {
	n := len(a)
	for _, m := range members {
		if v := p.value(m.slot); len(v) > 0 {
			if len(a) == n {
				a = append(a, open...)
			} else {
				a = append(a, ',')
			}
			a = append(a, m.key...)
			a = append(a, v...)
		}
	}
	if len(a) > n {
		a = append(a, '}', ',')
	}
	return a
}

func skipSpace(src []byte, pos int) int {
	for pos < len(src) {
		switch src[pos] {
		case ' ', '\t', '\n', '\r':
			pos++
		default:
			return pos
		}
	}
	return pos
}
