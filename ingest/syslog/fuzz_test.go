package syslog

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/jcs"
)

// FuzzSyslogFrames splits a stream into frames, maps every frame and checks
// that it never panics, that every mapped event is one line of JSON the
// schema accepts after at most the fallbacks seal() uses, and that every
// frame keeps its bytes in raw. Seeds are in testdata/fuzz.
func FuzzSyslogFrames(f *testing.F) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, stream []byte) {
		const max = 512
		// The hand-written string encoder agrees with encoding/json.
		std, _ := json.Marshal(string(stream))
		var want, got string
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(jcs.AppendQuoted(nil, string(stream)), &got); err != nil || got != want {
			t.Fatalf("jcs.AppendQuoted: %q, %v; encoding/json: %q", got, err, want)
		}
		fr := newFrameReader(bytes.NewReader(stream), max)
		mp := newMapper(func() time.Time { return now })
		for range 1000 {
			f, err := fr.next()
			if len(f.data) > max+2 {
				t.Fatalf("frame of %d bytes kept, limit %d", len(f.data), max)
			}
			if f.size > 0 || f.problem != "" {
				var b pending
				b.add(mp, item{fr: f})
				ev := b.events[0]
				if bytes.IndexByte(ev, '\n') >= 0 {
					t.Fatalf("event with a raw newline: %s", ev)
				}
				for attempt := b.attempts[0]; ; attempt++ {
					_, perr := stele.ParseEvents(ev, true, now)
					if perr == nil {
						break
					}
					if attempt >= 3 {
						t.Fatalf("no fallback of %q is a valid event: %v", f.data, perr)
					}
					ev = mp.encode(mp.remap(f.data, attempt, perr.Error()))
				}
			}
			if err != nil {
				if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, errDesync) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
		}
	})
}
