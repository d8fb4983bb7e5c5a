package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/storage/local"
)

func openLog(t *testing.T) *local.Log {
	t.Helper()
	l, err := local.Open(context.Background(), "/d", local.Options{Origin: "ingest.test/log", FS: fsx.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestSealIsAllOrNothing(t *testing.T) {
	l := openLog(t)
	now := time.Now()
	sealed, err := ingest.Seal(context.Background(), l, [][]byte{
		[]byte(`{"action":"syslog.message","raw":"<13>1 - - - - - - hi"}`),
		[]byte(`{"action":"k8s.pods.get","raw":{"verb":"get"}}`),
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed.Events) != 2 || sealed.Size != 2 || len(sealed.Checkpoint) == 0 {
		t.Fatalf("sealed %+v", sealed)
	}
	entry, err := l.Entry(context.Background(), 1)
	if err != nil || !bytes.Contains(entry, []byte(`"raw":{"verb":"get"}`)) {
		t.Fatalf("entry 1: %s %v", entry, err)
	}
	_, err = ingest.Seal(context.Background(), l, [][]byte{[]byte(`{"action":"ok"}`), []byte(`{"action":"Bad Action"}`)}, now)
	var ee *stele.EventError
	if !errors.As(err, &ee) || ee.Index != 1 || !errors.Is(err, stele.ErrInvalid) {
		t.Fatalf("a bad second event: %v", err)
	}
	if l.Size() != 2 {
		t.Fatalf("a refused batch appended something: size %d", l.Size())
	}
	if _, err := ingest.Seal(context.Background(), l, [][]byte{[]byte("{\"action\":\"a\",\n\"message\":\"x\"}")}, now); !errors.Is(err, stele.ErrInvalid) {
		t.Fatalf("an event with a raw newline: %v", err)
	}
}

func TestReadBody(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat("a", 5000)))
	zw.Close()
	for _, c := range []struct {
		name, encoding string
		body           []byte
		limit          int64
		want           int
		err            error
	}{
		{"plain", "", []byte("hello"), 10, 5, nil},
		{"plain too large", "", []byte("hello world"), 10, 0, stele.ErrTooLarge},
		{"gzip", "gzip", gz.Bytes(), 5000, 5000, nil},
		{"gzip over the limit once inflated", "gzip", gz.Bytes(), 4999, 0, stele.ErrTooLarge},
		{"not gzip", "gzip", []byte("hello"), 10, 0, stele.ErrInvalid},
		{"truncated gzip", "gzip", gz.Bytes()[:len(gz.Bytes())/2], 5000, 0, stele.ErrInvalid},
		{"brotli", "br", []byte("x"), 10, 0, stele.ErrInvalid},
	} {
		r := httptest.NewRequest("POST", "/", bytes.NewReader(c.body))
		if c.encoding != "" {
			r.Header.Set("Content-Encoding", c.encoding)
		}
		body, err := ingest.ReadBody(r, c.limit)
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("%s: err %v, want %v", c.name, err, c.err)
			}
			continue
		}
		if err != nil || len(body) != c.want {
			t.Errorf("%s: %d bytes, %v", c.name, len(body), err)
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := ingest.NewMetrics(reg)
	src := m.Source("hec")
	src.Received.Add(3)
	src.Accepted.Add(2)
	src.Rejected.Inc()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == "hec" {
				got[mf.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	if got["stele_ingest_received_total"] != 3 || got["stele_ingest_accepted_total"] != 2 || got["stele_ingest_rejected_total"] != 1 || got["stele_ingest_bytes_total"] != 0 {
		t.Fatalf("counters %v", got)
	}
	var none *ingest.Metrics
	none.Source("x").Received.Inc() // a nil Metrics counts into the void
}
