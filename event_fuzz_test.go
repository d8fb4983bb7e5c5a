package stele

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stele-log/stele/internal/jcs"
)

// FuzzParseEvents checks that ParseEvents never panics, fails only with a
// well-formed *EventError, and that on success every rendered entry passes
// ParseRecord, is a fixed point of jcs.Canonicalize, is valid JSON, agrees
// with encoding/json's reading of the input, and comes out the same from a
// reused Batch.
func FuzzParseEvents(f *testing.F) {
	for _, s := range []string{
		`{"action":"user.login"}`,
		`[{"action":"a","id":"k-1","actor":{"id":"u","ip":"2001:DB8::1"},"time":"2025-01-01T01:00:00.10+01:00"},{"action":"b.c","attributes":{"z":[1.0,-0,"\u00e9"],"a":null}}]`,
		"{\"action\":\"a\"}\r\n\n{\"action\":\"b\",\"outcome\":\"denied\",\"source\":{\"host\":\"h\"}}\n",
		`{"action":"a","message":"\ud83d\ude00\u0000","category":"auth","request_id":"r","resource":{"type":"t","id":"i","name":"n"}}`,
		`{"action":"a","seq":1}`,
		`{"action":"a","attributes":{"n":9007199254740993}}`,
	} {
		f.Add([]byte(s), s[0] != '[' && bytes.IndexByte([]byte(s), '\n') >= 0)
	}
	recv := time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)
	var reused Batch
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		b, err := ParseEvents(body, ndjson, recv)
		reusedErr := ParseEventsInto(&reused, body, ndjson, recv)
		if (err == nil) != (reusedErr == nil) {
			t.Fatalf("fresh Batch: %v, reused Batch: %v", err, reusedErr)
		}
		if err != nil {
			var e *EventError
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *EventError", err)
			}
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v wraps neither ErrInvalid nor ErrTooLarge", err)
			}
			if e.Index < -1 || e.Line < 1 || e.Offset < 0 || e.Offset > len(body) || e.Reason == "" {
				t.Fatalf("malformed error %+v", e)
			}
			return
		}
		if b.Len() == 0 || b.Len() != reused.Len() {
			t.Fatalf("Len = %d, reused Len = %d", b.Len(), reused.Len())
		}
		var g IDGen
		for i := range b.Len() {
			id := b.ClientID(i)
			if id == nil {
				id = g.Next(nil, recv)
			}
			seq := uint64(i) * 1234567
			e := b.AppendEntry(nil, i, id, seq)
			if len(e) > MaxEntrySize || len(e) != b.EntrySize(i, len(id), seq) {
				t.Fatalf("entry of %d bytes, EntrySize %d", len(e), b.EntrySize(i, len(id), seq))
			}
			if r := reused.AppendEntry(nil, i, id, seq); !bytes.Equal(r, e) {
				t.Fatalf("reused Batch renders %s, fresh %s", r, e)
			}
			rec, err := ParseRecord(e)
			if err != nil {
				t.Fatalf("ParseRecord(%s): %v", e, err)
			}
			if rec.Seq != seq || rec.ID != string(id) {
				t.Fatalf("record seq %d id %q, want %d %q", rec.Seq, rec.ID, seq, id)
			}
			if c, err := jcs.Canonicalize(nil, e); err != nil || !bytes.Equal(c, e) {
				t.Fatalf("entry is not a jcs fixed point: %s -> %s, %v", e, c, err)
			}
			if !json.Valid(e) {
				t.Fatalf("entry is not valid JSON: %s", e)
			}
		}
		if !ndjson && bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
			// One object: encoding/json must read the same values.
			var ev Event
			if err := json.Unmarshal(body, &ev); err != nil {
				t.Fatalf("accepted body encoding/json rejects: %v", err)
			}
			rec, _ := ParseRecord(b.AppendEntry(nil, 0, []byte("x"), 0))
			if rec.Action != ev.Action || rec.Message != ev.Message || rec.Category != ev.Category || rec.RequestID != ev.RequestID {
				t.Fatalf("record %+v disagrees with encoding/json's %+v", rec, ev)
			}
			if !ev.Time.IsZero() && !rec.Time.Equal(ev.Time) {
				t.Fatalf("time %v, encoding/json reads %v", rec.Time, ev.Time)
			}
			if ev.Outcome != "" && rec.Outcome != ev.Outcome {
				t.Fatalf("outcome %q, encoding/json reads %q", rec.Outcome, ev.Outcome)
			}
		}
	})
}

// FuzzParseRecord checks that ParseRecord never panics, and that whatever it
// accepts is canonical JSON that RecordFields can walk and that the event
// parser reproduces byte for byte from the decoded Record.
func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(fullEntry))
	f.Add([]byte(`{"action":"a","id":"x","outcome":"unknown","received_at":"2025-06-01T12:30:00Z","seq":0,"time":"2025-06-01T12:30:00Z"}`))
	f.Add([]byte(`{"action":"a","attributes":{"k":[1e+21,"\u001f"]},"id":"x","outcome":"denied","received_at":"2025-06-01T12:30:00Z","seq":9007199254740992,"time":"0001-01-01T00:00:00Z"}`))
	f.Fuzz(func(t *testing.T, entry []byte) {
		rec, err := ParseRecord(entry)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if c, err := jcs.Canonicalize(nil, entry); err != nil || !bytes.Equal(c, entry) {
			t.Fatalf("accepted entry is not a jcs fixed point: %s -> %s, %v", entry, c, err)
		}
		if err := RecordFields(entry, func(path, value []byte) error { return nil }); err != nil {
			t.Fatalf("RecordFields on an accepted entry: %v", err)
		}
		if rec.Time.IsZero() {
			return // Event.Time cannot say "year 1" (zero means the receive time)
		}
		ev := Event{ID: rec.ID, Action: rec.Action, Actor: rec.Actor, Resource: rec.Resource, Outcome: rec.Outcome, Time: rec.Time,
			Category: rec.Category, Source: rec.Source, Message: rec.Message, RequestID: rec.RequestID, Attributes: rec.Attributes, Raw: rec.Raw}
		body, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ParseEvents(body, false, rec.ReceivedAt)
		if err != nil {
			t.Fatalf("the Record of an accepted entry does not parse as an event: %v\n%s", err, body)
		}
		if again := b.AppendEntry(nil, 0, []byte(rec.ID), rec.Seq); !bytes.Equal(again, entry) {
			t.Fatalf("round trip through Record changed the entry:\n%s\n%s", entry, again)
		}
	})
}
