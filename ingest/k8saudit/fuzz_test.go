package k8saudit_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/ingest/k8saudit"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/storage/local"
)

// FuzzK8sEventList feeds arbitrary bodies to ParseEventList and seals what
// it accepts: it must never panic, a refusal must be an *ItemError wrapping
// stele.ErrInvalid, and a batch that Seal refuses must append nothing.
// Seeds: testdata/fuzz/FuzzK8sEventList and testdata/eventlist.json.
func FuzzK8sEventList(f *testing.F) {
	sample, err := os.ReadFile("testdata/eventlist.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample, false)
	f.Add(sample, true)
	l, err := local.Open(context.Background(), "/d", local.Options{Origin: "k8s.fuzz/log", FS: fsx.NewMem()})
	if err != nil {
		f.Fatal(err)
	}
	defer l.Close()
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, allStages bool) {
		parsed, err := k8saudit.ParseEventList(body, allStages)
		if err != nil {
			var ie *k8saudit.ItemError
			if !errors.As(err, &ie) || !errors.Is(err, stele.ErrInvalid) {
				t.Fatalf("refusal %v is not an ItemError wrapping ErrInvalid", err)
			}
			return
		}
		if len(parsed.Events)+parsed.Dropped != parsed.Items || len(parsed.Item) != len(parsed.Events) {
			t.Fatalf("%d events + %d dropped of %d items, %d item indexes", len(parsed.Events), parsed.Dropped, parsed.Items, len(parsed.Item))
		}
		for i, e := range parsed.Events {
			if bytes.IndexByte(e, '\n') >= 0 {
				t.Fatalf("event %d holds a raw newline: %q", i, e)
			}
		}
		before := l.Size()
		sealed, err := ingest.Seal(context.Background(), l, parsed.Events, now)
		if err != nil {
			if !errors.Is(err, stele.ErrInvalid) && !errors.Is(err, stele.ErrTooLarge) {
				t.Fatalf("seal: %v", err)
			}
			if l.Size() != before {
				t.Fatalf("a refused batch appended: %d -> %d", before, l.Size())
			}
			return
		}
		if len(sealed.Events) != len(parsed.Events) {
			t.Fatalf("sealed %d of %d", len(sealed.Events), len(parsed.Events))
		}
	})
}
