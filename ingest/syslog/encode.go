package syslog

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// encode renders ev as one line of compact JSON. It is written out by hand
// because encoding/json's reflection was the largest cost per message; the
// log canonicalises the event anyway, so key order does not matter here.
// Invalid UTF-8 becomes U+FFFD, as with encoding/json.
func (mp *mapper) encode(ev *event) []byte {
	b := make([]byte, 0, 256+2*len(ev.Message))
	b = append(b, `{"action":`...)
	b = appendString(b, ev.Action)
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
			b = appendString(b, f.key)
			b = append(b, ':')
			b = appendString(b, f.val)
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
		b = appendString(b, kv[i])
		b = append(b, ':')
		b = appendString(b, kv[i+1])
	}
	return b
}

// appendValue appends the JSON of the value kinds events hold.
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendString(b, v)
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
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, s)
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
			b = appendString(b, k)
			b = append(b, ':')
			b = appendValue(b, x)
		}
		return append(b, '}')
	default:
		// Mapping puts only the kinds above in events.
		panic(fmt.Sprintf("syslog: cannot encode a %T", v))
	}
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
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
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
