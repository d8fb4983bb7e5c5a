package syslog

import (
	"fmt"
	"strconv"

	"github.com/stele-log/stele/internal/jcs"
)

// encode renders ev as one line of compact JSON. It is written out by hand
// because encoding/json's reflection was the largest cost per message; the
// log canonicalises the event anyway, so key order does not matter here.
// Invalid UTF-8 becomes U+FFFD, as with encoding/json.
func (mp *mapper) encode(ev *event) []byte {
	b := make([]byte, 0, 256+2*len(ev.Message))
	b = append(b, `{"action":`...)
	b = jcs.AppendQuoted(b, ev.Action)
	if a := ev.Actor; a != nil {
		b = append(b, `,"actor":{`...)
		b = appendFields(b, "type", a.Type, "id", a.ID, "name", a.Name, "ip", a.IP)
		b = append(b, '}')
	}
	if r := ev.Resource; r != nil {
		b = append(b, `,"resource":{`...)
		b = appendFields(b, "type", r.Type, "id", r.ID, "name", r.Name)
		b = append(b, '}')
	}
	if s := ev.Source; s != nil {
		b = append(b, `,"source":{`...)
		b = appendFields(b, "service", s.Service, "host", s.Host, "ip", s.IP)
		b = append(b, '}')
	}
	for _, f := range [...]struct{ key, val string }{
		{"outcome", ev.Outcome}, {"time", ev.Time}, {"category", ev.Category},
		{"message", ev.Message}, {"request_id", ev.RequestID}, {"id", ev.ID},
	} {
		if f.val != "" {
			b = append(b, ',')
			b = jcs.AppendQuoted(b, f.key)
			b = append(b, ':')
			b = jcs.AppendQuoted(b, f.val)
		}
	}
	if len(ev.Attributes) > 0 {
		b = append(b, `,"attributes":`...)
		b = appendValue(b, ev.Attributes)
	}
	if ev.Raw != nil {
		b = append(b, `,"raw":`...)
		b = appendValue(b, ev.Raw)
	}
	return append(b, '}')
}

// appendFields appends the non-empty of key, value pairs, comma-separated.
func appendFields(b []byte, kv ...string) []byte {
	first := true
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jcs.AppendQuoted(b, kv[i])
		b = append(b, ':')
		b = jcs.AppendQuoted(b, kv[i+1])
	}
	return b
}

// appendValue appends the JSON of the value kinds events hold.
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return jcs.AppendQuoted(b, v)
	case int64:
		return strconv.AppendInt(b, v, 10)
	case bool:
		return strconv.AppendBool(b, v)
	case map[string]string:
		b = append(b, '{')
		first := true
		for k, s := range v {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = jcs.AppendQuoted(b, k)
			b = append(b, ':')
			b = jcs.AppendQuoted(b, s)
		}
		return append(b, '}')
	case map[string]any:
		b = append(b, '{')
		first := true
		for k, x := range v {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = jcs.AppendQuoted(b, k)
			b = append(b, ':')
			b = appendValue(b, x)
		}
		return append(b, '}')
	default:
		// Mapping puts only the kinds above in events.
		panic(fmt.Sprintf("syslog: cannot encode a %T", v))
	}
}
