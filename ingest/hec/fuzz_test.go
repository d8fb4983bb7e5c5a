package hec_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/ingest/hec"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/storage/local"
)

// FuzzHECEvents feeds arbitrary bodies to the event and raw parsers and
// seals what they accept: they must never panic, a refusal must be an
// *hec.EventError wrapping stele.ErrInvalid, and a batch that Seal refuses
// must append nothing. Seeds: testdata/fuzz/FuzzHECEvents.
func FuzzHECEvents(f *testing.F) {
	f.Add([]byte(`{"event":"hello","time":1700000000.5,"host":"h","sourcetype":"a:b","fields":{"k":1}}{"event":{"action":"user.login"}}`), false)
	f.Add([]byte("line one\r\nline two\n"), true)
	l, err := local.Open(context.Background(), "/d", local.Options{Origin: "hec.fuzz/log", FS: fsx.NewMem()})
	if err != nil {
		f.Fatal(err)
	}
	defer l.Close()
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, raw bool) {
		parse := hec.ParseEvents
		if raw {
			parse = hec.ParseRaw
		}
		events, err := parse(body, "", hec.Defaults{Sourcetype: "fuzz"})
		if err != nil {
			var ee *hec.EventError
			if !errors.As(err, &ee) || !errors.Is(err, stele.ErrInvalid) || ee.Index < 0 {
				t.Fatalf("refusal %v is not an EventError wrapping ErrInvalid", err)
			}
			return
		}
		for i, e := range events {
			if bytes.IndexByte(e, '\n') >= 0 {
				t.Fatalf("event %d holds a raw newline: %q", i, e)
			}
		}
		before := l.Size()
		sealed, err := ingest.Seal(context.Background(), l, events, now)
		if err != nil {
			if !errors.Is(err, stele.ErrInvalid) && !errors.Is(err, stele.ErrTooLarge) {
				t.Fatalf("seal: %v", err)
			}
			if l.Size() != before {
				t.Fatalf("a refused batch appended: %d -> %d", before, l.Size())
			}
			return
		}
		if len(sealed.Events) != len(events) {
			t.Fatalf("sealed %d of %d", len(sealed.Events), len(events))
		}
	})
}
