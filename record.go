package stele

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/stele-log/stele/internal/jcs"
)

// Record is a stored event: a log entry decoded. json.Marshal of a Record is
// a readable JSON object with the wire names; it is not the canonical entry
// (that is the entry's bytes themselves).
type Record struct {
	Seq        uint64          `json:"seq"`
	ID         string          `json:"id"`
	ReceivedAt time.Time       `json:"received_at"`
	Action     string          `json:"action"`
	Actor      *Actor          `json:"actor,omitempty"`
	Resource   *Resource       `json:"resource,omitempty"`
	Outcome    Outcome         `json:"outcome"`
	Time       time.Time       `json:"time"`
	Category   string          `json:"category,omitempty"`
	Source     *Source         `json:"source,omitempty"`
	Message    string          `json:"message,omitempty"`
	RequestID  string          `json:"request_id,omitempty"`
	Attributes json.RawMessage `json:"attributes,omitempty"` // canonical JSON object
	Raw        json.RawMessage `json:"raw,omitempty"`        // canonical JSON: the payload an intake received
}

// ParseRecord decodes a log entry. It is strict: the entry must be exactly
// the canonical bytes stele would write for its content (it is parsed with
// the event rules, rendered again, and must come out byte for byte the
// same). Anything else is ErrInvalid with the reason, since an entry that is
// not canonical was not written by stele.
func ParseRecord(entry []byte) (*Record, error) {
	if len(entry) > MaxEntrySize {
		return nil, recordErr(0, "", "entry is "+strconv.Itoa(len(entry))+" bytes, more than the limit of "+strconv.Itoa(MaxEntrySize))
	}
	if len(entry) == 0 || entry[0] != '{' {
		return nil, recordErr(0, "", "not a JSON object")
	}
	p := eventParser{stored: true, scratch: make([]byte, 0, len(entry))}
	end, perr := p.parse(entry, 0)
	if perr != nil {
		return nil, recordErr(perr.Offset, perr.Field, perr.Reason)
	}
	if end != len(entry) {
		return nil, recordErr(end, "", "unexpected data after the object")
	}
	arena, span, perr := p.assemble(make([]byte, 0, len(entry)), nil)
	if perr != nil {
		return nil, recordErr(perr.Offset, perr.Field, perr.Reason)
	}
	b := Batch{arena: arena, events: []eventSpan{span}}
	id := b.ClientID(0)
	rendered := b.AppendEntry(make([]byte, 0, len(entry)), 0, id, p.seq)
	if string(rendered) != string(entry) {
		i := 0
		for i < len(entry) && i < len(rendered) && entry[i] == rendered[i] {
			i++
		}
		return nil, recordErr(i, "", "not canonical: the canonical entry has "+excerpt(rendered, i)+" here")
	}

	r := &Record{
		Seq:       p.seq,
		ID:        string(id),
		Action:    p.text(fAction),
		Outcome:   Outcome(p.text(fOutcome)),
		Category:  p.text(fCategory),
		Message:   p.text(fMessage),
		RequestID: p.text(fRequestID),
	}
	var err error
	if r.ReceivedAt, err = time.Parse(time.RFC3339Nano, p.text(fReceivedAt)); err != nil {
		return nil, recordErr(0, "received_at", err.Error()) // unreachable: checked by the parser
	}
	if r.Time, err = time.Parse(time.RFC3339Nano, p.text(fTime)); err != nil {
		return nil, recordErr(0, "time", err.Error())
	}
	if a := (Actor{p.text(fActorType), p.text(fActorID), p.text(fActorName), p.text(fActorIP), p.text(fActorUserAgent), p.text(fActorSessionID)}); a != (Actor{}) {
		r.Actor = &a
	}
	if res := (Resource{p.text(fResourceType), p.text(fResourceID), p.text(fResourceName)}); res != (Resource{}) {
		r.Resource = &res
	}
	if src := (Source{p.text(fSourceService), p.text(fSourceHost), p.text(fSourceIP)}); src != (Source{}) {
		r.Source = &src
	}
	if v := p.value(fAttributes); len(v) > 0 {
		r.Attributes = append(json.RawMessage(nil), v...)
	}
	if v := p.value(fRaw); len(v) > 0 {
		r.Raw = append(json.RawMessage(nil), v...)
	}
	return r, nil
}

// text decodes the string in slot f ("" when absent).
func (p *eventParser) text(f int) string {
	v := p.value(f)
	if len(v) == 0 {
		return ""
	}
	var err error
	if p.keyBuf, _, err = jcs.AppendUnquoted(p.keyBuf[:0], v, 0); err != nil {
		return "" // unreachable: the slot holds a canonical string the parser wrote
	}
	return string(p.keyBuf)
}

func recordErr(offset int, field, reason string) error {
	if field != "" {
		reason = field + ": " + reason
	}
	return fmt.Errorf("record: offset %d: %s: %w", offset, reason, ErrInvalid)
}

func excerpt(b []byte, i int) string {
	end := min(i+24, len(b))
	if i >= len(b) {
		return "the end"
	}
	return strconv.Quote(string(b[i:end]))
}

// RecordFields walks every scalar leaf of a canonical entry, calling fn with
// the leaf's dotted path (`action`, `actor.id`, `attributes.geo.region`) and
// its raw canonical JSON value (a quoted string, a number, true, false or
// null). Each element of an array is reported under the array's path
// (`attributes.tags`); empty objects and arrays report nothing. Keys appear
// in the path as they are in the entry (canonical escaping), so a key that
// contains a dot is not told apart from nesting.
//
// RecordFields is for extracting fields at ingest speed (the search index):
// it does not allocate per field, and it assumes an entry stele wrote. It
// checks structure only, returning ErrInvalid (never panicking) on malformed
// input; ParseRecord is the strict check. path and value alias internal
// memory and the entry: fn must not keep them. An error from fn stops the walk
// and is returned as is.
func RecordFields(entry []byte, fn func(path []byte, value []byte) error) error {
	return walkFields(entry, fn, false)
}

// SearchableFields is RecordFields without the top-level "raw" member: an
// intake's original payload is sealed and returned but never searched
// (docs/schema.md), so the index and the query matcher skip it whole, with
// a scan that visits none of its leaves.
func SearchableFields(entry []byte, fn func(path []byte, value []byte) error) error {
	return walkFields(entry, fn, true)
}

func walkFields(entry []byte, fn func(path []byte, value []byte) error, skipRaw bool) error {
	var buf [128]byte
	w := fieldWalker{src: entry, fn: fn, path: buf[:0], skipRaw: skipRaw}
	if len(entry) == 0 || entry[0] != '{' {
		return recordErr(0, "", "not a JSON object")
	}
	end, err := w.value(0, jcs.DefaultMaxDepth)
	if err != nil {
		return err
	}
	if end != len(entry) {
		return recordErr(end, "", "unexpected data after the object")
	}
	return nil
}

// fieldWalker is RecordFields' state: the entry and the path so far.
type fieldWalker struct {
	src     []byte
	fn      func(path, value []byte) error
	path    []byte
	skipRaw bool // skip the top-level "raw" member (SearchableFields)
}

// skip returns the offset after the value at src[pos] without visiting
// it: strings are stepped over whole, brackets counted.
func (w *fieldWalker) skip(pos int) (int, error) {
	src := w.src
	depth := 0
	for i := pos; i < len(src); {
		switch c := src[i]; {
		case c == '"':
			end, err := w.stringEnd(i)
			if err != nil {
				return end, err
			}
			i = end
			if depth == 0 {
				return i, nil
			}
		case c == '{' || c == '[':
			depth++
			i++
		case c == '}' || c == ']':
			if depth == 0 { // a scalar, ended by its parent
				return i, nil
			}
			depth--
			i++
			if depth == 0 {
				return i, nil
			}
		case c == ',' && depth == 0:
			return i, nil
		default:
			i++
		}
	}
	return len(src), recordErr(len(src), "", "unexpected end of entry")
}

// value walks the value at src[pos] and returns the offset after it.
func (w *fieldWalker) value(pos, depth int) (int, error) {
	src := w.src
	if pos >= len(src) {
		return pos, recordErr(pos, "", "unexpected end of entry")
	}
	switch src[pos] {
	case '{':
		if depth == 0 {
			return pos, recordErr(pos, "", "nesting too deep")
		}
		pos++
		if pos < len(src) && src[pos] == '}' {
			return pos + 1, nil
		}
		base := len(w.path)
		for {
			keyEnd, err := w.stringEnd(pos)
			if err != nil {
				return pos, err
			}
			if base > 0 {
				w.path = append(w.path, '.')
			}
			w.path = append(w.path, src[pos+1:keyEnd-1]...)
			if keyEnd >= len(src) || src[keyEnd] != ':' {
				return keyEnd, recordErr(keyEnd, "", "expected ':'")
			}
			if w.skipRaw && base == 0 && string(w.path) == "raw" {
				pos, err = w.skip(keyEnd + 1)
			} else {
				pos, err = w.value(keyEnd+1, depth-1)
			}
			if err != nil {
				return pos, err
			}
			w.path = w.path[:base]
			if pos < len(src) && src[pos] == ',' {
				pos++
				continue
			}
			if pos < len(src) && src[pos] == '}' {
				return pos + 1, nil
			}
			return pos, recordErr(pos, "", "expected ',' or '}'")
		}
	case '[':
		if depth == 0 {
			return pos, recordErr(pos, "", "nesting too deep")
		}
		pos++
		if pos < len(src) && src[pos] == ']' {
			return pos + 1, nil
		}
		for {
			var err error
			if pos, err = w.value(pos, depth-1); err != nil {
				return pos, err
			}
			if pos < len(src) && src[pos] == ',' {
				pos++
				continue
			}
			if pos < len(src) && src[pos] == ']' {
				return pos + 1, nil
			}
			return pos, recordErr(pos, "", "expected ',' or ']'")
		}
	case '"':
		end, err := w.stringEnd(pos)
		if err != nil {
			return pos, err
		}
		return end, w.fn(w.path, src[pos:end])
	default:
		// A number or a literal: canonical JSON has no whitespace, so it
		// runs to the next delimiter.
		end := pos
		for end < len(src) && src[end] != ',' && src[end] != '}' && src[end] != ']' {
			end++
		}
		if !scalarToken(src[pos:end]) {
			return pos, recordErr(pos, "", "invalid value")
		}
		return end, w.fn(w.path, src[pos:end])
	}
}

// stringEnd returns the offset after the string literal at src[pos].
func (w *fieldWalker) stringEnd(pos int) (int, error) {
	src := w.src
	if pos >= len(src) || src[pos] != '"' {
		return pos, recordErr(pos, "", "expected a string")
	}
	for i := pos + 1; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++ // skip the escaped byte; \uXXXX's digits cannot be '"'
		case '"':
			return i + 1, nil
		}
	}
	return len(src), recordErr(len(src), "", "unterminated string")
}

// scalarToken reports whether t can be a canonical number or literal; it is
// a cheap shape check, not a full number grammar.
func scalarToken(t []byte) bool {
	switch string(t) {
	case "true", "false", "null":
		return true
	case "":
		return false
	}
	for _, c := range t {
		if !(c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e') {
			return false
		}
	}
	return true
}
