package hec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stele-log/stele"
)

// Defaults are the request-wide metadata a sender may put in the query
// string (host, source, sourcetype, index); an event's own envelope keys win.
type Defaults struct {
	Host, Source, Sourcetype, Index string
}

// EventError is a HEC event that cannot be mapped. It wraps stele.ErrInvalid;
// Index is the 0-based event in the request, reported to the sender as
// "invalid-event-number".
type EventError struct {
	Index int
	Code  int // the HEC status code: 6 invalid data format, 12 event field required, 13 event field blank
	Text  string
}

func (e *EventError) Error() string {
	return fmt.Sprintf("hec: event %d: %s", e.Index, e.Text)
}

// Unwrap returns stele.ErrInvalid.
func (e *EventError) Unwrap() error { return stele.ErrInvalid }

// envelope is one HEC event object as sent to /services/collector/event.
type envelope struct {
	Event      json.RawMessage `json:"event"`
	Time       json.RawMessage `json:"time"`
	Host       *string         `json:"host"`
	Source     *string         `json:"source"`
	Sourcetype *string         `json:"sourcetype"`
	Index      *string         `json:"index"`
	Fields     json.RawMessage `json:"fields"`
}

// maxEpoch is 9999-12-31T23:59:59Z, the last second stele's time accepts.
const maxEpoch = 253402300799

// ParseEvents maps the body of /services/collector/event (JSON event
// objects, concatenated with or without whitespace between them) into stele
// input events, one compact JSON object each. action is the action for events
// that are not already in stele's schema ("" derives hec.<sourcetype>). A
// malformed body returns an *EventError naming the first bad event.
func ParseEvents(body []byte, action string, def Defaults) ([][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var out [][]byte
	for index := 0; ; index++ {
		var obj json.RawMessage
		err := dec.Decode(&obj)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &EventError{Index: index, Code: codeInvalidFormat, Text: "invalid JSON: " + err.Error()}
		}
		event, err := mapEnvelope(obj, action, def)
		if err != nil {
			var ee *EventError
			if errors.As(err, &ee) {
				ee.Index = index
				return nil, ee
			}
			return nil, &EventError{Index: index, Code: codeInvalidFormat, Text: err.Error()}
		}
		out = append(out, event)
	}
	return out, nil
}

func mapEnvelope(obj json.RawMessage, action string, def Defaults) ([]byte, error) {
	trimmed := bytes.TrimSpace(obj)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &EventError{Code: codeInvalidFormat, Text: "an event must be a JSON object"}
	}
	var env envelope
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return nil, &EventError{Code: codeInvalidFormat, Text: err.Error()}
	}
	ev := bytes.TrimSpace(env.Event)
	if len(ev) == 0 || string(ev) == "null" {
		return nil, &EventError{Code: codeEventRequired, Text: "Event field is required"}
	}
	if string(ev) == `""` {
		return nil, &EventError{Code: codeEventBlank, Text: "Event field cannot be blank"}
	}
	meta := def
	pick := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	pick(&meta.Host, env.Host)
	pick(&meta.Source, env.Source)
	pick(&meta.Sourcetype, env.Sourcetype)
	pick(&meta.Index, env.Index)
	var when string
	if t := bytes.TrimSpace(env.Time); len(t) > 0 && string(t) != "null" {
		var err error
		if when, err = epochTime(t); err != nil {
			return nil, &EventError{Code: codeInvalidFormat, Text: err.Error()}
		}
	}

	// An event that already speaks stele's schema is taken as it is, with
	// the envelope's time when it has none of its own.
	if ev[0] == '{' {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(ev, &fields); err != nil {
			return nil, &EventError{Code: codeInvalidFormat, Text: err.Error()}
		}
		if _, ok := fields["action"]; ok {
			if _, ok := fields["time"]; !ok && when != "" {
				fields["time"], _ = json.Marshal(when)
			}
			fields["raw"] = json.RawMessage(trimmed)
			return json.Marshal(fields)
		}
	}

	out := map[string]any{
		"action": actionFor(action, meta.Sourcetype),
		"raw":    json.RawMessage(trimmed),
	}
	if when != "" {
		out["time"] = when
	}
	attrs := map[string]any{}
	if f := bytes.TrimSpace(env.Fields); len(f) > 0 && string(f) != "null" {
		var fields map[string]json.RawMessage
		if f[0] != '{' || json.Unmarshal(f, &fields) != nil {
			return nil, &EventError{Code: codeInvalidFormat, Text: "fields must be a JSON object"}
		}
		for k, v := range fields {
			attrs[k] = v
		}
	}
	if ev[0] == '"' {
		var msg string
		if err := json.Unmarshal(ev, &msg); err != nil {
			return nil, &EventError{Code: codeInvalidFormat, Text: err.Error()}
		}
		out["message"] = msg
	} else {
		// An object that is not a stele event, or a number, array or bool.
		attrs["event"] = json.RawMessage(ev)
	}
	if meta.Sourcetype != "" {
		attrs["sourcetype"] = meta.Sourcetype
	}
	if meta.Index != "" {
		attrs["index"] = meta.Index
	}
	if len(attrs) > 0 {
		out["attributes"] = attrs
	}
	src := map[string]string{}
	if meta.Host != "" {
		src["host"] = meta.Host
	}
	if meta.Source != "" {
		src["service"] = meta.Source
	}
	if len(src) > 0 {
		out["source"] = src
	}
	return json.Marshal(out)
}

// ParseRaw maps the body of /services/collector/raw: each non-blank line is
// one event, its message and its raw value the line (CR LF line ends are
// fine). A line that is not valid UTF-8 is refused.
func ParseRaw(body []byte, action string, def Defaults) ([][]byte, error) {
	var out [][]byte
	index := 0
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if !utf8.Valid(line) {
			return nil, &EventError{Index: index, Code: codeInvalidFormat, Text: "a raw line is not valid UTF-8"}
		}
		ev := map[string]any{
			"action":  actionFor(action, def.Sourcetype),
			"message": string(line),
			"raw":     string(line),
		}
		attrs := map[string]string{}
		if def.Sourcetype != "" {
			attrs["sourcetype"] = def.Sourcetype
		}
		if def.Index != "" {
			attrs["index"] = def.Index
		}
		if len(attrs) > 0 {
			ev["attributes"] = attrs
		}
		src := map[string]string{}
		if def.Host != "" {
			src["host"] = def.Host
		}
		if def.Source != "" {
			src["service"] = def.Source
		}
		if len(src) > 0 {
			ev["source"] = src
		}
		b, err := json.Marshal(ev)
		if err != nil {
			return nil, &EventError{Index: index, Code: codeInvalidFormat, Text: err.Error()}
		}
		out = append(out, b)
		index++
	}
	return out, nil
}

// epochTime converts HEC's time (epoch seconds, a JSON number or a string,
// with an optional decimal fraction) to RFC 3339 in UTC, exactly: the
// fraction's digits are kept, not rounded through a float.
func epochTime(t []byte) (string, error) {
	s := string(t)
	if s[0] == '"' {
		if err := json.Unmarshal(t, &s); err != nil {
			return "", err
		}
	}
	whole, frac, _ := strings.Cut(strings.TrimSpace(s), ".")
	if whole == "" || len(frac) > 9 || strings.ContainsAny(whole, "+-eE") || strings.ContainsAny(frac, "+-eE") {
		return "", fmt.Errorf("time %q: want epoch seconds such as 1700000000.123", s)
	}
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec < 0 || sec > maxEpoch {
		return "", fmt.Errorf("time %q: want epoch seconds from 0 to %d", s, maxEpoch)
	}
	var nsec int64
	if frac != "" {
		n, err := strconv.ParseUint(frac, 10, 64)
		if err != nil {
			return "", fmt.Errorf("time %q: bad fraction", s)
		}
		nsec = int64(n)
		for i := len(frac); i < 9; i++ {
			nsec *= 10
		}
	}
	return time.Unix(sec, nsec).UTC().Format(time.RFC3339Nano), nil
}

// actionFor is the configured action, or hec.<sourcetype> in stele's action
// syntax (hec.event without a sourcetype).
func actionFor(action, sourcetype string) string {
	if action != "" {
		return action
	}
	segs := Segments(sourcetype)
	if segs == "" {
		return "hec.event"
	}
	a := "hec." + segs
	if len(a) > 128 {
		a = strings.TrimRight(a[:128], ".")
	}
	return a
}

// Segments normalises free text into dotted action segments: lowercase,
// every run of characters outside [a-z0-9_-] a segment break
// ("aws:cloudtrail" is "aws.cloudtrail", "_json" stays "_json").
func Segments(s string) string {
	var b strings.Builder
	pendingDot := false
	for _, r := range strings.ToLower(s) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-'
		if !ok {
			pendingDot = b.Len() > 0
			continue
		}
		if pendingDot {
			b.WriteByte('.')
			pendingDot = false
		}
		b.WriteRune(r)
	}
	return b.String()
}
