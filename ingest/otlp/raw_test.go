package otlp_test

import (
	"bytes"
	"errors"
	"math"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest/otlp"
	"github.com/stele-log/stele/internal/jcs"
)

// checkRaw checks the raw form of every record of logs against the
// reference: pdata's own JSON of the single-record request, canonicalised.
// appendRecord writes canonical JSON directly, so the two must be equal
// byte for byte.
func checkRaw(t *testing.T, logs plog.Logs) {
	t.Helper()
	raws, spliced, err := otlp.RawForms(logs)
	if err != nil {
		t.Fatal(err)
	}
	if !spliced && logs.LogRecordCount() > 0 {
		t.Fatal("pdata's JSON did not have the shape the encoder splices into")
	}
	var ref plog.JSONMarshaler
	n := 0
	rls := logs.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		for j := range rl.ScopeLogs().Len() {
			sl := rl.ScopeLogs().At(j)
			for k := range sl.LogRecords().Len() {
				single := plog.NewLogs()
				srl := single.ResourceLogs().AppendEmpty()
				rl.Resource().CopyTo(srl.Resource())
				srl.SetSchemaUrl(rl.SchemaUrl())
				ssl := srl.ScopeLogs().AppendEmpty()
				sl.Scope().CopyTo(ssl.Scope())
				ssl.SetSchemaUrl(sl.SchemaUrl())
				sl.LogRecords().At(k).CopyTo(ssl.LogRecords().AppendEmpty())
				pj, err := ref.MarshalLogs(single)
				if err != nil {
					t.Fatal(err)
				}
				want, err := jcs.Canonicalize(nil, pj)
				if err != nil {
					t.Fatalf("canonicalising pdata's JSON: %v", err)
				}
				if !bytes.Equal(raws[n], want) {
					t.Fatalf("record %d/%d/%d:\n got %s\nwant %s", i, j, k, raws[n], want)
				}
				n++
			}
		}
	}
}

func TestRawIsCanonicalPdataJSON(t *testing.T) {
	checkRaw(t, sampleLogs())

	// Every field and value type, empty containers, special doubles, and
	// strings that need escaping or are not UTF-8.
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.30.0")
	rl.Resource().Attributes().PutStr("service.name", "logRecords")
	rl.Resource().Attributes().PutStr(`"logRecords":[{"body":{}}]`, "a key that looks like the splice point")
	rl.Resource().SetDroppedAttributesCount(3)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.SetSchemaUrl("s")
	sl.Scope().SetName("scope")
	sl.Scope().Attributes().PutInt("n", 1)
	sl.LogRecords().AppendEmpty() // nothing set
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(1)
	lr.SetObservedTimestamp(math.MaxUint64)
	lr.SetSeverityNumber(plog.SeverityNumberFatal4)
	lr.SetSeverityText("<&>\u2028\x7f")
	lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	lr.SetDroppedAttributesCount(math.MaxUint32)
	lr.SetEventName("é\U0001F600")
	lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	lr.SetSpanID(pcommon.SpanID{0xff, 0, 0, 0, 0, 0, 0, 1})
	a := lr.Attributes()
	for name, d := range map[string]float64{"nan": math.NaN(), "inf": math.Inf(1), "-inf": math.Inf(-1), "negzero": math.Copysign(0, -1),
		"tiny": 5e-324, "huge": 1.7976931348623157e308, "int": 1e21, "frac": 0.1} {
		a.PutDouble(name, d)
	}
	a.PutInt("min", math.MinInt64)
	a.PutStr("ctl", "\x00\x1f\"\\/")
	a.PutEmptyBytes("nobytes")
	a.PutEmptySlice("noslice")
	a.PutEmptyMap("nomap")
	a.PutEmpty("empty")
	a.PutStr("dup", "1")
	deep := a.PutEmptyMap("deep")
	for range 6 {
		deep = deep.PutEmptySlice("s").AppendEmpty().SetEmptyMap()
	}
	lr.Body().SetEmptySlice().FromRaw([]any{"x", int64(-1), 2.5, true, nil, []byte{1}, map[string]any{"k": "v"}, []any{}})
	checkRaw(t, logs)

	// A string that is not UTF-8 is refused, not repaired: raw keeps what
	// was sent or nothing.
	for _, put := range []func(plog.LogRecord){
		func(lr plog.LogRecord) { lr.Attributes().PutStr("k", "a\xffb") },
		func(lr plog.LogRecord) { lr.Attributes().PutStr("\xc0", "v") },
		func(lr plog.LogRecord) { lr.Body().SetStr("\xff") },
		func(lr plog.LogRecord) { lr.SetSeverityText("\xff") },
		func(lr plog.LogRecord) { lr.SetEventName("\xff") },
	} {
		bad := plog.NewLogs()
		put(bad.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
		if _, _, err := otlp.RawForms(bad); !errors.Is(err, stele.ErrInvalid) {
			t.Errorf("invalid UTF-8: %v", err)
		}
	}
}

// FuzzRawRecord checks the raw form of every record of any request pdata
// decodes against pdata's own JSON, canonicalised.
func FuzzRawRecord(f *testing.F) {
	for _, logs := range []plog.Logs{sampleLogs(), plog.NewLogs()} {
		b, err := plogotlp.NewExportRequestFromLogs(logs).MarshalProto()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(strindexRequest())
	f.Fuzz(func(t *testing.T, body []byte) {
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return
		}
		logs := req.Logs()
		// Values nested beyond appendAnyValue's bound are refused, not
		// compared.
		if _, _, err := otlp.Map(logs); err != nil {
			return
		}
		checkRaw(t, logs)
	})
}

// strindexRequest is an ExportLogsServiceRequest whose record has a body
// that is a string-table index (AnyValue.string_value_strindex) and an
// attribute whose key is one (KeyValue.key_strindex): pcommon shows them
// as empty, pdata's JSON writes them.
func strindexRequest() []byte {
	msg := func(fields ...[]byte) []byte { return bytes.Join(fields, nil) }
	field := func(num protowire.Number, b []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), b)
	}
	varint := func(num protowire.Number, v uint64) []byte {
		return protowire.AppendVarint(protowire.AppendTag(nil, num, protowire.VarintType), v)
	}
	body := varint(8, 5)                                       // AnyValue{string_value_strindex: 5}
	attr := msg(varint(3, 7), field(2, field(1, []byte("v")))) // KeyValue{key_strindex: 7, value: {string_value: "v"}}
	time := protowire.AppendFixed64(protowire.AppendTag(nil, 1, protowire.Fixed64Type), 1795000000000000000)
	record := msg(time, field(5, body), field(6, attr))
	return field(1, field(2, field(2, record))) // resource_logs { scope_logs { log_records } }
}

func TestRawStrindex(t *testing.T) {
	req := plogotlp.NewExportRequest()
	if err := req.UnmarshalProto(strindexRequest()); err != nil {
		t.Fatal(err)
	}
	checkRaw(t, req.Logs())
	raws, _, err := otlp.RawForms(req.Logs())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raws[0], []byte(`"stringValueStrindex":5`)) || !bytes.Contains(raws[0], []byte(`"keyStrindex":7`)) {
		t.Fatalf("raw lost a string-table index: %s", raws[0])
	}
}
