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
func Map(logs plog.Logs) ([][]byte, []Loc, error) {
	n := logs.LogRecordCount()
	events := make([][]byte, 0, n)
	locs := make([]Loc, 0, n)
	var m mapper
	rls := logs.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := resourceFields(rl.Resource())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			// One single-record request per scope, whose record is
			// overwritten for each record: raw is its OTLP JSON.
			single := plog.NewLogs()
			srl := single.ResourceLogs().AppendEmpty()
			rl.Resource().CopyTo(srl.Resource())
			srl.SetSchemaUrl(rl.SchemaUrl())
			ssl := srl.ScopeLogs().AppendEmpty()
			sl.Scope().CopyTo(ssl.Scope())
			ssl.SetSchemaUrl(sl.SchemaUrl())
			slot := ssl.LogRecords().AppendEmpty()
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				loc := Loc{i, j, k}
				lrs.At(k).CopyTo(slot)
				ev, err := m.event(lrs.At(k), res, sl.Scope(), single)
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
	buf   []byte
	field string // the attribute or field an error is about
	json  plog.JSONMarshaler
}

// fields is what a record's attributes map to; used marks the attributes
// consumed by a field (and so left out of "attributes").
type fields struct {
	action, id, outcome                            string
	actorID, actorName, actorIP, userAgent, sessID string
	used                                           map[string]bool
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
	f := fields{used: make(map[string]bool, 8)}
	take := func(key string, dst *string) {
		if *dst != "" {
			return
		}
		if v, ok := attrs.Get(key); ok {
			if s, ok := scalar(v); ok {
				*dst = s
				f.used[key] = true
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
		f.used[key] = true
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
				f.used[key] = true
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
				f.used[keyEventOutcome] = true
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
			f.used[keyClientAddress] = true
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
func (m *mapper) event(lr plog.LogRecord, res resource, scope pcommon.InstrumentationScope, single plog.Logs) ([]byte, error) {
	m.field = ""
	attrs := lr.Attributes()
	f, err := m.readAttributes(attrs, lr.EventName())
	if err != nil {
		return nil, err
	}
	b := m.buf[:0]
	b = append(b, `{"action":`...)
	b = appendString(b, f.action)
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
			b = appendString(b, kv.k)
			b = append(b, ':')
			b = appendString(b, kv.v)
		}
		b = append(b, '}')
	}
	if res.service != "" || res.host != "" {
		b = append(b, `,"source":{`...)
		if res.service != "" {
			b = append(b, `"service":`...)
			b = appendString(b, res.service)
		}
		if res.host != "" {
			if res.service != "" {
				b = append(b, ',')
			}
			b = append(b, `"host":`...)
			b = appendString(b, res.host)
		}
		b = append(b, '}')
	}
	if f.outcome != "" {
		b = append(b, `,"outcome":`...)
		b = appendString(b, f.outcome)
	}
	if f.id != "" {
		b = append(b, `,"id":`...)
		b = appendString(b, f.id)
	}
	body := lr.Body()
	if body.Type() == pcommon.ValueTypeStr && body.Str() != "" {
		if !utf8.ValidString(body.Str()) {
			m.field = "body"
			return nil, fmt.Errorf("invalid UTF-8: %w", stele.ErrInvalid)
		}
		b = append(b, `,"message":`...)
		b = appendString(b, body.Str())
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
	var seen map[string]bool
	if attrs.Len() > 0 {
		seen = make(map[string]bool, attrs.Len())
	}
	for k, v := range attrs.All() {
		if f.used[k] {
			continue
		}
		if seen[k] {
			m.field = "attributes." + k
			return nil, fmt.Errorf("a duplicate attribute key: %w", stele.ErrInvalid)
		}
		seen[k] = true
		if len(b) > start {
			b = append(b, ',')
		}
		if b, err = m.appendKeyValue(b, k, v, 2); err != nil {
			return nil, err
		}
	}
	extra := func(key string, add func([]byte) ([]byte, error)) error {
		if seen[key] {
			return nil
		}
		if len(b) > start {
			b = append(b, ',')
		}
		b = appendString(b, key)
		b = append(b, ':')
		b, err = add(b)
		return err
	}
	str := func(s string) func([]byte) ([]byte, error) {
		return func(b []byte) ([]byte, error) {
			if !utf8.ValidString(s) {
				return b, fmt.Errorf("invalid UTF-8: %w", stele.ErrInvalid)
			}
			return appendString(b, s), nil
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

	raw, err := m.json.MarshalLogs(single)
	if err != nil {
		m.field = "raw"
		return nil, fmt.Errorf("encoding as OTLP JSON: %v: %w", err, stele.ErrInvalid)
	}
	b = append(b, `,"raw":`...)
	b = append(b, raw...)
	b = append(b, '}')
	m.buf = b
	return append([]byte(nil), b...), nil
}

// appendKeyValue appends "key":value, for an attribute at depth.
func (m *mapper) appendKeyValue(b []byte, k string, v pcommon.Value, depth int) ([]byte, error) {
	if !utf8.ValidString(k) {
		m.field = "attributes"
		return b, fmt.Errorf("an attribute key is not valid UTF-8: %w", stele.ErrInvalid)
	}
	b = appendString(b, k)
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
		return appendString(b, v.Str()), nil
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
			b = appendString(b, k)
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

const hexDigits = "0123456789abcdef"

// appendString appends s (valid UTF-8) as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
