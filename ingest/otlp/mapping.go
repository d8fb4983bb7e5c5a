package otlp

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/jcs"
)

// DefaultAction is the action of a record that names none.
const DefaultAction = "otel.log"

// maxActionLen is stele's limit on an action (docs/schema.md).
const maxActionLen = 128

// maxDepth is how deep a mapped value may nest: stele refuses attributes
// and raw values nested deeper than 32. A value this deep is refused here,
// with the record's location, rather than cut.
const maxDepth = 32

// Attribute keys the mapping reads (docs/ingest/otlp.md).
const (
	keySteleAction    = "stele.action"
	keySteleID        = "stele.id"
	keySteleOutcome   = "stele.outcome"
	keyEventName      = "event.name"
	keyEventOutcome   = "event.outcome"
	keyUserID         = "user.id"
	keyEnduserID      = "enduser.id"
	keyUserName       = "user.name"
	keyClientAddress  = "client.address"
	keyUserAgent      = "user_agent.original"
	keySessionID      = "session.id"
	keyServiceName    = "service.name"
	keyHostName       = "host.name"
	keySeverityText   = "otel.severity_text"
	keySeverityNumber = "otel.severity_number"
	keyScopeName      = "otel.scope.name"
	keyScopeVersion   = "otel.scope.version"
	keySpanID         = "otel.span_id"
	keyBody           = "otel.body"
)

// Map maps every log record of logs to one event in stele's input schema
// (compact JSON, for ingest.Seal), in request order, with each event's
// location. A record that cannot be mapped is a *RecordError wrapping
// stele.ErrInvalid; then no event is returned.
func Map(logs plog.Logs) ([][]byte, []Loc, error) { return mapLogs(logs, 0) }

// mapLogs is Map with a size hint for the mapped events' bytes.
func mapLogs(logs plog.Logs, hint int) ([][]byte, []Loc, error) {
	n := logs.LogRecordCount()
	events := make([][]byte, 0, n)
	locs := make([]Loc, 0, n)
	m := newMapper()
	m.arena = make([]byte, 0, hint)
	rls := logs.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := resourceFields(rl.Resource())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			if err := m.raw.scope(rl, sl); err != nil {
				return nil, nil, &RecordError{Loc: Loc{i, j, 0}, Field: "raw", Err: err}
			}
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				loc := Loc{i, j, k}
				ev, err := m.event(lrs.At(k), res, sl.Scope())
				if err != nil {
					return nil, nil, &RecordError{Loc: loc, Field: m.field, Err: err}
				}
				events = append(events, ev)
				locs = append(locs, loc)
			}
		}
	}
	return events, locs, nil
}

// resource is what a record takes from its resource.
type resource struct {
	service, host string
}

func resourceFields(r pcommon.Resource) resource {
	var res resource
	if v, ok := r.Attributes().Get(keyServiceName); ok && v.Type() == pcommon.ValueTypeStr {
		res.service = v.Str()
	}
	if v, ok := r.Attributes().Get(keyHostName); ok && v.Type() == pcommon.ValueTypeStr {
		res.host = v.Str()
	}
	return res
}

// mapper holds one request's scratch state.
type mapper struct {
	// arena holds the mapped events back to back; each event is a slice
	// of it (a reallocation leaves earlier events in the old array).
	arena []byte
	field string // the attribute or field an error is about
	raw   *rawEncoder
	keys  []string // the attribute keys of the current record, for duplicates
	// keySet holds keys[:len(keySet)] once a record has more than
	// linearKeys attributes.
	keySet map[string]bool
}

func newMapper() *mapper {
	return &mapper{raw: newRawEncoder()}
}

// fields is what a record's attributes map to; used marks the attributes
// consumed by a field (and so left out of "attributes").
type fields struct {
	action, id, outcome                            string
	actorID, actorName, actorIP, userAgent, sessID string
	used                                           []string
}

func (f *fields) isUsed(key string) bool {
	for _, u := range f.used {
		if u == key {
			return true
		}
	}
	return false
}

// scalar is an attribute's string form when it is a string or an integer
// (an id may be sent as either); ok is false for other types.
func scalar(v pcommon.Value) (string, bool) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return v.Str(), v.Str() != ""
	case pcommon.ValueTypeInt:
		return strconv.FormatInt(v.Int(), 10), true
	}
	return "", false
}

func (m *mapper) readAttributes(attrs pcommon.Map, eventName string) (fields, error) {
	f := fields{used: make([]string, 0, 8)}
	take := func(key string, dst *string) {
		if *dst != "" {
			return
		}
		if v, ok := attrs.Get(key); ok {
			if s, ok := scalar(v); ok {
				*dst = s
				f.used = append(f.used, key)
			}
		}
	}
	steleString := func(key string, dst *string) error {
		v, ok := attrs.Get(key)
		if !ok {
			return nil
		}
		if v.Type() != pcommon.ValueTypeStr {
			m.field = key
			return fmt.Errorf("must be a string, not %s: %w", v.Type(), stele.ErrInvalid)
		}
		*dst = v.Str()
		f.used = append(f.used, key)
		return nil
	}
	if err := steleString(keySteleAction, &f.action); err != nil {
		return f, err
	}
	if err := steleString(keySteleID, &f.id); err != nil {
		return f, err
	}
	if err := steleString(keySteleOutcome, &f.outcome); err != nil {
		return f, err
	}
	if f.action == "" {
		name, key := eventName, ""
		if name == "" {
			if v, ok := attrs.Get(keyEventName); ok && v.Type() == pcommon.ValueTypeStr {
				name, key = v.Str(), keyEventName
			}
		}
		if name != "" {
			action, err := normaliseAction(name)
			if err != nil {
				m.field = "event.name"
				return f, err
			}
			f.action = action
			// The attribute is dropped only when the action says it
			// exactly; otherwise it stays searchable as sent.
			if key != "" && action == name {
				f.used = append(f.used, key)
			}
		}
	}
	if f.action == "" {
		f.action = DefaultAction
	}
	if f.outcome == "" {
		if v, ok := attrs.Get(keyEventOutcome); ok && v.Type() == pcommon.ValueTypeStr {
			switch v.Str() {
			case "success", "failure", "unknown":
				f.outcome = v.Str()
				f.used = append(f.used, keyEventOutcome)
			}
		}
	}
	take(keyUserID, &f.actorID)
	take(keyEnduserID, &f.actorID)
	take(keyUserName, &f.actorName)
	take(keyUserAgent, &f.userAgent)
	take(keySessionID, &f.sessID)
	if v, ok := attrs.Get(keyClientAddress); ok && v.Type() == pcommon.ValueTypeStr {
		if addr, err := netip.ParseAddr(v.Str()); err == nil && addr.Zone() == "" {
			f.actorIP = v.Str()
			f.used = append(f.used, keyClientAddress)
		}
	}
	return f, nil
}

// normaliseAction turns an event name into stele's action syntax:
// lowercase, runs of characters outside [a-z0-9_-] within a segment become
// "_", empty segments go, and a name not starting with a letter gets the
// prefix "otel.".
func normaliseAction(name string) (string, error) {
	out := make([]byte, 0, len(name)+5)
	segStart := true
	lastUnderscore := false
	for _, r := range name {
		switch {
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		case r == '.':
			if !segStart {
				out = append(out, '.')
			}
			segStart, lastUnderscore = true, false
			continue
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '_' {
			out = append(out, byte(r))
			lastUnderscore = r == '_'
		} else if !lastUnderscore {
			out = append(out, '_')
			lastUnderscore = true
		}
		segStart = false
	}
	for len(out) > 0 && out[len(out)-1] == '.' {
		out = out[:len(out)-1]
	}
	if len(out) == 0 {
		return DefaultAction, nil
	}
	if out[0] < 'a' || out[0] > 'z' {
		out = append([]byte("otel."), out...)
	}
	if len(out) > maxActionLen {
		return "", fmt.Errorf("%q is longer than %d bytes as an action: %w", name, maxActionLen, stele.ErrInvalid)
	}
	return string(out), nil
}

// event maps one record.
func (m *mapper) event(lr plog.LogRecord, res resource, scope pcommon.InstrumentationScope) ([]byte, error) {
	m.field = ""
	attrs := lr.Attributes()
	f, err := m.readAttributes(attrs, lr.EventName())
	if err != nil {
		return nil, err
	}
	begin := len(m.arena)
	b := m.arena
	b = append(b, `{"action":`...)
	b = jcs.AppendQuoted(b, f.action)
	if f.actorID != "" || f.actorName != "" || f.actorIP != "" || f.userAgent != "" || f.sessID != "" {
		b = append(b, `,"actor":{`...)
		first := true
		for _, kv := range [...]struct{ k, v string }{
			{"id", f.actorID}, {"name", f.actorName}, {"ip", f.actorIP}, {"user_agent", f.userAgent}, {"session_id", f.sessID},
		} {
			if kv.v == "" {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = jcs.AppendQuoted(b, kv.k)
			b = append(b, ':')
			b = jcs.AppendQuoted(b, kv.v)
		}
		b = append(b, '}')
	}
	if res.service != "" || res.host != "" {
		b = append(b, `,"source":{`...)
		if res.service != "" {
			b = append(b, `"service":`...)
			b = jcs.AppendQuoted(b, res.service)
		}
		if res.host != "" {
			if res.service != "" {
				b = append(b, ',')
			}
			b = append(b, `"host":`...)
			b = jcs.AppendQuoted(b, res.host)
		}
		b = append(b, '}')
	}
	if f.outcome != "" {
		b = append(b, `,"outcome":`...)
		b = jcs.AppendQuoted(b, f.outcome)
	}
	if f.id != "" {
		b = append(b, `,"id":`...)
		b = jcs.AppendQuoted(b, f.id)
	}
	body := lr.Body()
	if body.Type() == pcommon.ValueTypeStr && body.Str() != "" {
		if !utf8.ValidString(body.Str()) {
			m.field = "body"
			return nil, fmt.Errorf("invalid UTF-8: %w", stele.ErrInvalid)
		}
		b = append(b, `,"message":`...)
		b = jcs.AppendQuoted(b, body.Str())
	}
	if tid := lr.TraceID(); !tid.IsEmpty() {
		b = append(b, `,"request_id":"`...)
		b = hex.AppendEncode(b, tid[:])
		b = append(b, '"')
	}
	ts := lr.Timestamp()
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	if ts != 0 {
		b = append(b, `,"time":"`...)
		b = time.Unix(int64(ts/1e9), int64(ts%1e9)).UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}

	// attributes: the record's own attributes not consumed above, then
	// the OTLP fields that have no stele field (a record attribute of the
	// same name wins; the field is still in raw).
	b = append(b, `,"attributes":{`...)
	start := len(b)
	m.keys = m.keys[:0]
	clear(m.keySet)
	for k, v := range attrs.All() {
		// Keys used for a field count too: a second user.id must not
		// vanish behind the first.
		if m.seen(k) {
			m.field = "attributes." + k
			return nil, fmt.Errorf("a duplicate attribute key: %w", stele.ErrInvalid)
		}
		m.keys = append(m.keys, k)
		if f.isUsed(k) {
			continue
		}
		if len(b) > start {
			b = append(b, ',')
		}
		if b, err = m.appendKeyValue(b, k, v, 2); err != nil {
			return nil, err
		}
	}
	extra := func(key string, add func([]byte) ([]byte, error)) error {
		if m.seen(key) {
			return nil
		}
		if len(b) > start {
			b = append(b, ',')
		}
		b = jcs.AppendQuoted(b, key)
		b = append(b, ':')
		b, err = add(b)
		return err
	}
	str := func(s string) func([]byte) ([]byte, error) {
		return func(b []byte) ([]byte, error) {
			if !utf8.ValidString(s) {
				return b, fmt.Errorf("invalid UTF-8: %w", stele.ErrInvalid)
			}
			return jcs.AppendQuoted(b, s), nil
		}
	}
	if s := lr.SeverityText(); s != "" {
		m.field = keySeverityText
		if err := extra(keySeverityText, str(s)); err != nil {
			return nil, err
		}
	}
	if sn := lr.SeverityNumber(); sn != plog.SeverityNumberUnspecified {
		extra(keySeverityNumber, func(b []byte) ([]byte, error) { return strconv.AppendInt(b, int64(sn), 10), nil })
	}
	if s := scope.Name(); s != "" {
		m.field = keyScopeName
		if err := extra(keyScopeName, str(s)); err != nil {
			return nil, err
		}
	}
	if s := scope.Version(); s != "" {
		m.field = keyScopeVersion
		if err := extra(keyScopeVersion, str(s)); err != nil {
			return nil, err
		}
	}
	if sid := lr.SpanID(); !sid.IsEmpty() {
		extra(keySpanID, func(b []byte) ([]byte, error) {
			b = append(b, '"')
			b = hex.AppendEncode(b, sid[:])
			return append(b, '"'), nil
		})
	}
	if body.Type() != pcommon.ValueTypeStr && body.Type() != pcommon.ValueTypeEmpty {
		m.field = "body"
		if err := extra(keyBody, func(b []byte) ([]byte, error) { return m.appendValue(b, body, 2) }); err != nil {
			return nil, err
		}
	}
	if len(b) == start {
		b = b[:start-len(`,"attributes":{`)]
	} else {
		b = append(b, '}')
	}
	m.field = ""

	b = append(b, `,"raw":`...)
	if b, err = m.raw.appendRaw(b, lr); err != nil {
		m.field = "raw"
		return nil, err
	}
	b = append(b, '}')
	m.arena = b
	return b[begin:len(b):len(b)], nil
}

// seen reports whether key is among the record's attribute keys so far:
// a linear scan while there are a handful (most records), a set beyond,
// so that a record with very many attributes costs no quadratic time.
func (m *mapper) seen(key string) bool {
	if len(m.keys) <= linearKeys {
		for _, k := range m.keys {
			if k == key {
				return true
			}
		}
		return false
	}
	if m.keySet == nil || len(m.keySet) == 0 {
		m.keySet = make(map[string]bool, 2*len(m.keys))
	}
	for _, k := range m.keys[len(m.keySet):] {
		m.keySet[k] = true
	}
	return m.keySet[key]
}

// linearKeys is how many attribute keys seen checks by scanning.
const linearKeys = 32

// appendKeyValue appends "key":value, for an attribute at depth.
func (m *mapper) appendKeyValue(b []byte, k string, v pcommon.Value, depth int) ([]byte, error) {
	if !utf8.ValidString(k) {
		m.field = "attributes"
		return b, fmt.Errorf("an attribute key is not valid UTF-8: %w", stele.ErrInvalid)
	}
	b = jcs.AppendQuoted(b, k)
	b = append(b, ':')
	b, err := m.appendValue(b, v, depth)
	if err != nil && m.field == "" {
		m.field = "attributes." + k
	}
	return b, err
}

// appendValue appends an AnyValue as JSON without losing it: integers
// beyond ±2^53 (which stele's JSON numbers cannot hold exactly) and
// non-finite doubles become strings, bytes become base64 (as in OTLP
// JSON), an empty value becomes null. depth is the nesting of v's
// container; a map or array deeper than stele allows is refused.
func (m *mapper) appendValue(b []byte, v pcommon.Value, depth int) ([]byte, error) {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return append(b, "null"...), nil
	case pcommon.ValueTypeStr:
		if !utf8.ValidString(v.Str()) {
			return b, fmt.Errorf("invalid UTF-8: %w", stele.ErrInvalid)
		}
		return jcs.AppendQuoted(b, v.Str()), nil
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(b, v.Bool()), nil
	case pcommon.ValueTypeInt:
		i := v.Int()
		if i > 1<<53 || i < -(1<<53) {
			b = append(b, '"')
			b = strconv.AppendInt(b, i, 10)
			return append(b, '"'), nil
		}
		return strconv.AppendInt(b, i, 10), nil
	case pcommon.ValueTypeDouble:
		d := v.Double()
		switch {
		case math.IsNaN(d):
			return append(b, `"NaN"`...), nil
		case math.IsInf(d, 1):
			return append(b, `"Infinity"`...), nil
		case math.IsInf(d, -1):
			return append(b, `"-Infinity"`...), nil
		}
		// Exponent form for large magnitudes, so that no integral
		// double is written as a >2^53 integer literal.
		return strconv.AppendFloat(b, d, 'g', -1, 64), nil
	case pcommon.ValueTypeBytes:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.Bytes().AsRaw())
		return append(b, '"'), nil
	case pcommon.ValueTypeMap:
		if depth > maxDepth {
			return b, fmt.Errorf("nested deeper than %d: %w", maxDepth, stele.ErrInvalid)
		}
		b = append(b, '{')
		mp := v.Map()
		seen := make(map[string]bool, mp.Len())
		first := true
		var err error
		for k, e := range mp.All() {
			if seen[k] {
				return b, fmt.Errorf("a duplicate key %q: %w", k, stele.ErrInvalid)
			}
			seen[k] = true
			if !first {
				b = append(b, ',')
			}
			first = false
			if !utf8.ValidString(k) {
				return b, fmt.Errorf("a key is not valid UTF-8: %w", stele.ErrInvalid)
			}
			b = jcs.AppendQuoted(b, k)
			b = append(b, ':')
			if b, err = m.appendValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case pcommon.ValueTypeSlice:
		if depth > maxDepth {
			return b, fmt.Errorf("nested deeper than %d: %w", maxDepth, stele.ErrInvalid)
		}
		b = append(b, '[')
		s := v.Slice()
		var err error
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = m.appendValue(b, s.At(i), depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	}
	return b, fmt.Errorf("an AnyValue of unknown type %d: %w", v.Type(), stele.ErrInvalid)
}
