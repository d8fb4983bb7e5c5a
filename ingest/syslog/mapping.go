package syslog

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"
	"time"
	"unicode/utf8"

	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/common"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"
)

// SteleSDID is the RFC 5424 SD-ID a sender uses to fill stele's own fields
// (action, outcome, actor, resource, ...). 32473 is the private enterprise
// number RFC 5612 reserves for documentation, so the ID never collides with
// a vendor's.
const SteleSDID = "stele@32473"

// Actions of events that record a message which could not be mapped. Their
// raw holds what was received, so nothing is lost.
const (
	ActionUnparsed  = "syslog.unparsed"  // not RFC 5424 nor RFC 3164, or not a valid stele event once mapped
	ActionOversized = "syslog.oversized" // larger than Config.MaxMessage or than an entry can hold
)

// inlineMessage is the longest MSG also copied into the event's message.
// A longer one lives in raw only, so that message plus raw still fits in
// one entry (stele.MaxEntrySize).
const inlineMessage = 16 << 10

// oversizedKeep is how much of an oversized message its event keeps in raw.
const oversizedKeep = 8 << 10

// event is one mapped event in stele's input schema (docs/schema.md).
type event struct {
	Action     string         `json:"action"`
	Actor      *actor         `json:"actor,omitempty"`
	Resource   *resource      `json:"resource,omitempty"`
	Outcome    string         `json:"outcome,omitempty"`
	Time       string         `json:"time,omitempty"`
	Category   string         `json:"category,omitempty"`
	Source     *source        `json:"source,omitempty"`
	Message    string         `json:"message,omitempty"`
	RequestID  string         `json:"request_id,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
	Raw        any            `json:"raw,omitempty"`
	ID         string         `json:"id,omitempty"`
}

type actor struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	IP   string `json:"ip,omitempty"`
}

type resource struct {
	Type string `json:"type,omitempty"`
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

type source struct {
	Service string `json:"service,omitempty"`
	Host    string `json:"host,omitempty"`
	IP      string `json:"ip,omitempty"`
}

// mapper parses and maps messages. It holds parser state, so each
// connection (or UDP worker) has its own.
type mapper struct {
	now      func() time.Time
	peerAddr netip.Addr
	peer     string // peerAddr, canonical, or ""
	m5424    gosyslog.Machine
	m3164    gosyslog.Machine
}

// yearOf is the RFC 3164 year strategy: the receive clock's year.
type yearOf struct{ now func() time.Time }

func (y yearOf) Apply() int { return y.now().Year() }

func newMapper(now func() time.Time) *mapper {
	return &mapper{
		now: now,
		// RFC 5424 is precise, so its machine is strict: a message that
		// claims version 1 and breaks the grammar is recorded as unparsed
		// rather than half-mapped.
		m5424: rfc5424.NewMachine(),
		// RFC 3164 is a description of practice, not a grammar: best effort,
		// with the common deviations (RFC 3339 stamps, "Feb 05", fractions).
		m3164: rfc3164.NewMachine(rfc3164.WithBestEffort(), rfc3164.WithYear(yearOf{now}),
			rfc3164.WithTimezone(time.UTC), rfc3164.WithRFC3339(), rfc3164.WithLenientDay(),
			rfc3164.WithSecondFractions(), rfc3164.WithEmbeddedNewlines()),
	}
}

// parsePRI reads "<PRI>" at the start of msg: PRI is 1-3 digits, at most
// 191, without leading zeros other than "<0>". n is its length.
func parsePRI(msg []byte) (pri uint8, n int, ok bool) {
	if len(msg) < 3 || msg[0] != '<' {
		return 0, 0, false
	}
	v := 0
	i := 1
	for ; i < len(msg) && i <= 4 && msg[i] >= '0' && msg[i] <= '9'; i++ {
		v = v*10 + int(msg[i]-'0')
	}
	digits := i - 1
	if digits == 0 || digits > 3 || i >= len(msg) || msg[i] != '>' || v > 191 || (digits > 1 && msg[1] == '0') {
		return 0, 0, false
	}
	return uint8(v), i + 1, true
}

// mapMessage maps one syslog message (without framing) to an event. ok is
// false when it had to be recorded as syslog.unparsed or syslog.oversized.
func (mp *mapper) mapMessage(msg []byte) (ev *event, ok bool) {
	pri, n, valid := parsePRI(msg)
	if !valid {
		return mp.unparsed(msg, "no valid <PRI> (RFC 5424 §6.2.1, RFC 3164 §4.1.1)"), false
	}
	if bytes.HasPrefix(msg[n:], []byte("1 ")) {
		parsed, err := mp.m5424.Parse(msg)
		if err != nil {
			return mp.unparsed(msg, "RFC 5424: "+err.Error()), false
		}
		return mp.from5424(msg, parsed.(*rfc5424.SyslogMessage), true), true
	}
	parsed, err := mp.m3164.Parse(msg)
	if err != nil || parsed == nil {
		// RFC 3164 §4.3.3: what follows a valid PRI without a valid
		// header is the message's CONTENT.
		ev := mp.base(msg)
		ev.Action = "syslog.message"
		setPriority(ev, pri)
		mp.setMessage(ev, msg, string(msg[n:]))
		return ev, true
	}
	m := parsed.(*rfc3164.SyslogMessage)
	ev = mp.fromBase(msg, &m.Base)
	return ev, true
}

// base is an event with raw and source.ip set.
func (mp *mapper) base(msg []byte) *event {
	ev := &event{Raw: rawValue(msg)}
	if mp.peer != "" {
		ev.Source = &source{IP: mp.peer}
	}
	return ev
}

// rawValue is the message as a JSON string, or, when it is not valid UTF-8
// (which a JSON string cannot hold byte for byte), {"base64": ...}.
func rawValue(msg []byte) any {
	if utf8.Valid(msg) {
		return string(msg)
	}
	return map[string]string{"base64": base64.StdEncoding.EncodeToString(msg)}
}

func (mp *mapper) unparsed(msg []byte, reason string) *event {
	ev := mp.base(msg)
	ev.Action = ActionUnparsed
	mp.setMessage(ev, msg, string(msg))
	ev.Attributes = map[string]any{"error": reason}
	return ev
}

// oversized records the first oversizedKeep bytes of a message of size
// bytes.
func (mp *mapper) oversized(prefix []byte, size int64, reason string) *event {
	if len(prefix) > oversizedKeep {
		prefix = prefix[:oversizedKeep]
	}
	ev := mp.base(prefix)
	ev.Action = ActionOversized
	ev.Attributes = map[string]any{"error": reason, "size": size, "truncated": true}
	return ev
}

// setMessage copies MSG into message unless raw alone has to carry it.
func (mp *mapper) setMessage(ev *event, msg []byte, text string) {
	if len(msg) <= inlineMessage {
		ev.Message = text
	}
}

func setPriority(ev *event, pri uint8) {
	if ev.Attributes == nil {
		ev.Attributes = map[string]any{}
	}
	fac, sev := pri/8, pri%8
	ev.Attributes["facility"] = keyword(common.FacilityKeywords, fac)
	ev.Attributes["severity"] = keyword(common.SeverityLevelsShort, sev)
}

func keyword(names map[uint8]string, v uint8) string {
	if s, ok := names[v]; ok {
		return s
	}
	return fmt.Sprint(v)
}

func (mp *mapper) fromBase(msg []byte, b *gosyslog.Base) *event {
	ev := mp.base(msg)
	ev.Action = "syslog.message"
	if b.Appname != nil {
		ev.Action = appAction(*b.Appname)
		if ev.Source == nil {
			ev.Source = &source{}
		}
		ev.Source.Service = *b.Appname
	}
	if b.Hostname != nil {
		if ev.Source == nil {
			ev.Source = &source{}
		}
		ev.Source.Host = *b.Hostname
	}
	if b.Priority != nil {
		setPriority(ev, *b.Priority)
	}
	if ev.Attributes == nil {
		ev.Attributes = map[string]any{}
	}
	if b.ProcID != nil {
		ev.Attributes["procid"] = *b.ProcID
	}
	if b.MsgID != nil {
		ev.Attributes["msgid"] = *b.MsgID
	}
	if b.Timestamp != nil {
		ev.Time = mp.eventTime(*b.Timestamp, b.MsgID == nil && isYearless(msg))
	}
	if b.Message != nil {
		mp.setMessage(ev, msg, *b.Message)
	}
	return ev
}

// isYearless tells an RFC 3164 "Mmm dd hh:mm:ss" stamp from an RFC 3339 one.
func isYearless(msg []byte) bool {
	_, n, _ := parsePRI(msg)
	rest := msg[n:]
	return len(rest) > 0 && (rest[0] < '0' || rest[0] > '9')
}

// eventTime renders t for the time field, or "" (the receive time) when
// stele cannot store it. A year-less RFC 3164 stamp took the receive year;
// one that lands more than a day ahead was sent last year (a December
// message received in January).
func (mp *mapper) eventTime(t time.Time, yearless bool) string {
	if yearless && t.After(mp.now().Add(24*time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	t = t.UTC()
	if t.Year() < 1 || t.Year() > 9999 {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func (mp *mapper) from5424(msg []byte, m *rfc5424.SyslogMessage, useStele bool) *event {
	ev := mp.fromBase(msg, &m.Base)
	if m.StructuredData == nil {
		return ev
	}
	sd := map[string]any{}
	for id, params := range *m.StructuredData {
		if id == SteleSDID && useStele {
			params = applyStele(ev, params)
			if len(params) == 0 {
				continue
			}
		}
		ps := make(map[string]any, len(params))
		for k, v := range params {
			ps[k] = v
		}
		sd[id] = ps
	}
	if len(sd) > 0 {
		ev.Attributes["sd"] = sd
	}
	return ev
}

// applyStele maps the stele@32473 params onto ev and returns the params it
// did not know, which stay under attributes.sd.
func applyStele(ev *event, params map[string]string) map[string]string {
	rest := map[string]string{}
	act := func() *actor {
		if ev.Actor == nil {
			ev.Actor = &actor{}
		}
		return ev.Actor
	}
	res := func() *resource {
		if ev.Resource == nil {
			ev.Resource = &resource{}
		}
		return ev.Resource
	}
	for k, v := range params {
		switch k {
		case "action":
			ev.Action = v
		case "outcome":
			ev.Outcome = v
		case "actor_id":
			act().ID = v
		case "actor_type":
			act().Type = v
		case "actor_name":
			act().Name = v
		case "actor_ip":
			act().IP = v
		case "resource_type":
			res().Type = v
		case "resource_id":
			res().ID = v
		case "resource_name":
			res().Name = v
		case "category":
			ev.Category = v
		case "request_id":
			ev.RequestID = v
		case "id":
			ev.ID = v
		default:
			rest[k] = v
		}
	}
	return rest
}

// appAction is syslog.<app-name normalised>: ASCII lowercased, every byte
// outside [a-z0-9_-] replaced by "_", at most 120 bytes.
func appAction(app string) string {
	var sb strings.Builder
	sb.WriteString("syslog.")
	for i := 0; i < len(app) && i < 120; i++ {
		c := app[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			c = '_'
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// remap maps msg again after its first mapping was refused by stele's
// validation (reason): without the stele@32473 fields (kept under
// attributes.sd), then as syslog.unparsed, then as syslog.oversized. The
// caller tries each in turn.
func (mp *mapper) remap(msg []byte, attempt int, reason string) *event {
	switch attempt {
	case 0:
		if _, n, ok := parsePRI(msg); ok && bytes.HasPrefix(msg[n:], []byte("1 ")) {
			if parsed, err := mp.m5424.Parse(msg); err == nil {
				ev := mp.from5424(msg, parsed.(*rfc5424.SyslogMessage), false)
				ev.Attributes["error"] = reason
				return ev
			}
		}
		return mp.unparsed(msg, reason)
	case 1:
		return mp.unparsed(msg, reason)
	default:
		return mp.oversized(msg, int64(len(msg)), reason)
	}
}
