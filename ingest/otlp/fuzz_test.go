package otlp_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/ingest/otlp"
)

// FuzzOTLPRequest posts arbitrary bodies, protobuf or JSON, to the intake.
// It must never panic, answer only 200, 400 or 413, and on 200 have sealed
// exactly one event per log record of the request, each valid in stele's
// schema (the sink parses what it is given, as the log does).
func FuzzOTLPRequest(f *testing.F) {
	var batchLen int
	sink := sinkFunc(func(_ context.Context, b *stele.Batch, _ *stele.Sealed) error {
		batchLen = b.Len()
		return nil
	})
	h, err := otlp.New(otlp.Config{HTTPConfig: ingest.HTTPConfig{Sink: sink}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		contentType := "application/x-protobuf"
		if asJSON {
			contentType = "application/json"
		}
		batchLen = 0
		req := httptest.NewRequest(http.MethodPost, otlp.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
			parsed := plogotlp.NewExportRequest()
			if asJSON {
				err = parsed.UnmarshalJSON(body)
			} else {
				err = parsed.UnmarshalProto(body)
			}
			if err != nil {
				t.Fatalf("200 for a body pdata cannot decode: %v", err)
			}
			if n := parsed.Logs().LogRecordCount(); n != batchLen {
				t.Fatalf("200 with %d events sealed for %d records", batchLen, n)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if rec.Header().Get("Content-Type") != contentType {
				t.Fatalf("%d with Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}

// TestWriteFuzzSeeds regenerates testdata/fuzz/FuzzOTLPRequest from
// sampleLogs and a few edge cases when OTLP_WRITE_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("OTLP_WRITE_SEEDS") == "" {
		t.Skip("set OTLP_WRITE_SEEDS=1 to regenerate testdata/fuzz/FuzzOTLPRequest")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzOTLPRequest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	empty := plog.NewLogs()
	deep := plog.NewLogs()
	lr := deep.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	m := lr.Body().SetEmptyMap()
	for range 10 {
		m = m.PutEmptyMap("d")
	}
	lr.Attributes().PutEmptyBytes("b").FromRaw([]byte{0xff})
	seeds := map[string]plog.Logs{"sample": sampleLogs(), "empty": empty, "deep": deep}
	for name, logs := range seeds {
		for _, ct := range []string{"application/x-protobuf", "application/json"} {
			asJSON := ct == "application/json"
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nbool(%v)\n", strconv.Quote(string(encode(t, logs, ct))), asJSON)
			file := filepath.Join(dir, fmt.Sprintf("%s-%s", name, map[bool]string{false: "proto", true: "json"}[asJSON]))
			if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, c := range map[string]struct {
		body   string
		asJSON bool
	}{
		"garbage-proto":    {"\xff\xff\xff\x0f", false},
		"truncated-json":   {`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"x"`, true},
		"bad-trace-json":   {`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"zz"}]}]}]}`, true},
		"dup-attrs-json":   {`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"a","value":{"intValue":"1"}},{"key":"a","value":{}}]}]}]}]}`, true},
		"bad-utf8-json":    {"{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"body\":{\"stringValue\":\"\xff\"}}]}]}]}", true},
		"stele-attrs-json": {`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"stele.action","value":{"stringValue":"a.b"}},{"key":"stele.id","value":{"stringValue":"x y"}}]}]}]}]}`, true},
	} {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nbool(%v)\n", strconv.Quote(c.body), c.asJSON)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
