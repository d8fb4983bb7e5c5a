package otlp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/ingest/otlp"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/storage/local"
)

var receivedAt = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func openLog(t testing.TB) *local.Log {
	t.Helper()
	l, err := local.Open(context.Background(), "/d", local.Options{Origin: "otlp.test/log", FS: fsx.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// serve mounts the intake's routes on a ServeMux behind a real HTTP server.
func serve(t testing.TB, sink ingest.Sink, m *ingest.Metrics) string {
	t.Helper()
	h, err := otlp.New(otlp.Config{HTTPConfig: ingest.HTTPConfig{Sink: sink, Metrics: m, Now: func() time.Time { return receivedAt }}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, r := range h.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + otlp.Path
}

type reply struct {
	status      int
	contentType string
	retryAfter  string
	body        []byte
}

func post(t testing.TB, url, contentType string, body []byte, gz bool) reply {
	t.Helper()
	if !gz {
		return postRaw(t, url, contentType, "", body)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(body)
	zw.Close()
	return postRaw(t, url, contentType, "gzip", buf.Bytes())
}

func postRaw(t testing.TB, url, contentType, contentEncoding string, body []byte) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if contentEncoding != "" {
		req.Header.Set("Content-Encoding", contentEncoding)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), out}
}

// encode marshals logs as an ExportLogsServiceRequest in one encoding.
func encode(t testing.TB, logs plog.Logs, contentType string) []byte {
	t.Helper()
	req := plogotlp.NewExportRequestFromLogs(logs)
	var b []byte
	var err error
	if contentType == "application/json" {
		b, err = req.MarshalJSON()
	} else {
		b, err = req.MarshalProto()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	traceID = pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	spanID  = pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}
	logTime = time.Date(2026, 11, 23, 11, 59, 58, 123456789, time.UTC)
)

// sampleLogs is two resources: a login with every mapped attribute, and
// a record that names its stele fields directly and has a map body.
func sampleLogs() plog.Logs {
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "sso")
	rl.Resource().Attributes().PutStr("host.name", "sso-1")
	rl.Resource().Attributes().PutStr("deployment.environment.name", "prod")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("auth/login")
	sl.Scope().SetVersion("1.2.3")
	lr := sl.LogRecords().AppendEmpty()
	lr.SetTimestamp(pcommon.NewTimestampFromTime(logTime))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(logTime.Add(time.Second)))
	lr.SetSeverityNumber(plog.SeverityNumberWarn)
	lr.SetSeverityText("WARN")
	lr.SetTraceID(traceID)
	lr.SetSpanID(spanID)
	lr.Body().SetStr("login failed: \"bad password\"\n")
	a := lr.Attributes()
	a.PutStr("event.name", "User Login")
	a.PutStr("user.id", "u-42")
	a.PutStr("user.name", "ann@example.com")
	a.PutStr("client.address", "2001:DB8::7")
	a.PutStr("user_agent.original", "Mozilla/5.0")
	a.PutStr("session.id", "s-9")
	a.PutStr("event.outcome", "failure")
	a.PutInt("big", math.MaxInt64)
	a.PutInt("small", -7)
	a.PutDouble("ratio", 0.25)
	a.PutDouble("nan", math.NaN())
	a.PutBool("mfa", true)
	a.PutEmptyBytes("blob").FromRaw([]byte{0, 1, 0xfe})
	nested := a.PutEmptyMap("geo")
	nested.PutStr("country", "NZ")
	nested.PutEmptySlice("tags").FromRaw([]any{"a", int64(1), nil})
	a.PutEmpty("nothing")

	rl2 := logs.ResourceLogs().AppendEmpty()
	rl2.Resource().Attributes().PutStr("service.name", "iam")
	lr2 := rl2.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr2.SetObservedTimestamp(pcommon.NewTimestampFromTime(logTime))
	lr2.Attributes().PutStr("stele.action", "iam.policy.update")
	lr2.Attributes().PutStr("stele.id", "policy-update-1")
	lr2.Attributes().PutStr("stele.outcome", "denied")
	lr2.Attributes().PutStr("event.name", "ignored.for.stele.action")
	lr2.Attributes().PutInt("enduser.id", 1001)
	lr2.Attributes().PutStr("client.address", "not-an-ip")
	lr2.Body().SetEmptyMap().PutStr("policy", "admins")
	lr2.SetEventName("also.ignored")
	return logs
}

func entries(t testing.TB, l *local.Log) []*stele.Record {
	t.Helper()
	var recs []*stele.Record
	for seq := uint64(0); seq < l.Size(); seq++ {
		e, err := l.Entry(context.Background(), seq)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := stele.ParseRecord(e)
		if err != nil {
			t.Fatalf("entry %d: %v", seq, err)
		}
		recs = append(recs, rec)
	}
	return recs
}

func jsonEqual(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: %v: %s", what, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("%s:\n got %s\nwant %s", what, gb, wb)
	}
}

func TestMapping(t *testing.T) {
	for _, c := range []struct {
		name, contentType string
		gzip              bool
	}{
		{"protobuf", "application/x-protobuf", false},
		{"protobuf gzip", "application/x-protobuf", true},
		{"json", "application/json", false},
		{"json gzip with charset", "application/json; charset=utf-8", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := openLog(t)
			url := serve(t, l, nil)
			enc := "application/x-protobuf"
			if strings.HasPrefix(c.contentType, "application/json") {
				enc = "application/json"
			}
			rep := post(t, url, c.contentType, encode(t, sampleLogs(), enc), c.gzip)
			if rep.status != http.StatusOK || rep.contentType != enc {
				t.Fatalf("status %d, Content-Type %q: %s", rep.status, rep.contentType, rep.body)
			}
			resp := plogotlp.NewExportResponse()
			if enc == "application/json" {
				err := resp.UnmarshalJSON(rep.body)
				if err != nil {
					t.Fatal(err)
				}
			} else if err := resp.UnmarshalProto(rep.body); err != nil {
				t.Fatal(err)
			}
			if resp.PartialSuccess().RejectedLogRecords() != 0 || resp.PartialSuccess().ErrorMessage() != "" {
				t.Fatalf("partial success set: %s", rep.body)
			}

			recs := entries(t, l)
			if len(recs) != 2 {
				t.Fatalf("%d records, want 2", len(recs))
			}
			r := recs[0]
			if r.Action != "user_login" {
				t.Errorf("action %q", r.Action)
			}
			if r.Actor == nil || *r.Actor != (stele.Actor{ID: "u-42", Name: "ann@example.com", IP: "2001:db8::7", UserAgent: "Mozilla/5.0", SessionID: "s-9"}) {
				t.Errorf("actor %+v", r.Actor)
			}
			if r.Source == nil || *r.Source != (stele.Source{Service: "sso", Host: "sso-1"}) {
				t.Errorf("source %+v", r.Source)
			}
			if r.Outcome != "failure" || r.Message != "login failed: \"bad password\"\n" {
				t.Errorf("outcome %q message %q", r.Outcome, r.Message)
			}
			if r.RequestID != "5b8efff798038103d269b633813fc60c" {
				t.Errorf("request_id %q", r.RequestID)
			}
			if !r.Time.Equal(logTime) || !r.ReceivedAt.Equal(receivedAt) {
				t.Errorf("time %v received_at %v", r.Time, r.ReceivedAt)
			}
			// event.name stays because "User Login" is not the action
			// verbatim; every value type comes through without loss.
			jsonEqual(t, "attributes", r.Attributes, `{
				"event.name":"User Login","big":"9223372036854775807","small":-7,"ratio":0.25,"nan":"NaN","mfa":true,
				"blob":"AAH+","geo":{"country":"NZ","tags":["a",1,null]},"nothing":null,
				"otel.severity_text":"WARN","otel.severity_number":13,"otel.scope.name":"auth/login",
				"otel.scope.version":"1.2.3","otel.span_id":"eee19b7ec3c1b174"}`)

			// raw is the record with its resource and scope as OTLP JSON,
			// which pdata reads back to the same record.
			back, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(r.Raw)
			if err != nil {
				t.Fatalf("raw: %v: %s", err, r.Raw)
			}
			want := plog.NewLogs()
			sampleLogs().ResourceLogs().At(0).CopyTo(want.ResourceLogs().AppendEmpty())
			wantJSON, _ := (&plog.JSONMarshaler{}).MarshalLogs(want)
			gotJSON, _ := (&plog.JSONMarshaler{}).MarshalLogs(back)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("raw:\n got %s\nwant %s", gotJSON, wantJSON)
			}

			r = recs[1]
			if r.Action != "iam.policy.update" || r.ID != "policy-update-1" || r.Outcome != "denied" {
				t.Errorf("stele.* attributes: %q %q %q", r.Action, r.ID, r.Outcome)
			}
			if r.Actor == nil || *r.Actor != (stele.Actor{ID: "1001"}) {
				t.Errorf("actor %+v", r.Actor)
			}
			if r.Source == nil || *r.Source != (stele.Source{Service: "iam"}) || r.Message != "" || r.RequestID != "" {
				t.Errorf("source %+v message %q request_id %q", r.Source, r.Message, r.RequestID)
			}
			if !r.Time.Equal(logTime) {
				t.Errorf("time from ObservedTimestamp: %v", r.Time)
			}
			jsonEqual(t, "attributes", r.Attributes, `{"event.name":"ignored.for.stele.action","client.address":"not-an-ip","otel.body":{"policy":"admins"}}`)
		})
	}
}

func TestActionAndDefaults(t *testing.T) {
	for _, c := range []struct {
		name      string
		set       func(lr plog.LogRecord)
		action    string
		attrs     string // "" for none
		noTime    bool
		wantError bool
	}{
		{"nothing", func(plog.LogRecord) {}, "otel.log", "", true, false},
		{"EventName field", func(lr plog.LogRecord) { lr.SetEventName("browser.page_view") }, "browser.page_view", "", true, false},
		{"event.name verbatim is consumed", func(lr plog.LogRecord) { lr.Attributes().PutStr("event.name", "app.user.login") },
			"app.user.login", "", true, false},
		{"digits first", func(lr plog.LogRecord) { lr.Attributes().PutStr("event.name", "..404 Not/Found..") },
			"otel.404_not_found", `{"event.name":"..404 Not/Found.."}`, true, false},
		{"non-string event.name", func(lr plog.LogRecord) { lr.Attributes().PutInt("event.name", 7) },
			"otel.log", `{"event.name":7}`, true, false},
		{"unknown event.outcome stays", func(lr plog.LogRecord) { lr.Attributes().PutStr("event.outcome", "meh") },
			"otel.log", `{"event.outcome":"meh"}`, true, false},
		{"an attribute named like a derived one wins", func(lr plog.LogRecord) {
			lr.SetSeverityText("INFO")
			lr.Attributes().PutStr("otel.severity_text", "mine")
		}, "otel.log", `{"otel.severity_text":"mine"}`, true, false},
		{"bad stele.action", func(lr plog.LogRecord) { lr.Attributes().PutStr("stele.action", "Bad Action") }, "", "", true, true},
		{"stele.id not a string", func(lr plog.LogRecord) { lr.Attributes().PutInt("stele.id", 5) }, "", "", true, true},
		{"bad stele.outcome", func(lr plog.LogRecord) { lr.Attributes().PutStr("stele.outcome", "great") }, "", "", true, true},
		{"event.name too long", func(lr plog.LogRecord) { lr.SetEventName(strings.Repeat("a", 129)) }, "", "", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs := plog.NewLogs()
			lr := logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			c.set(lr)
			events, _, err := otlp.Map(logs)
			if c.wantError {
				var re *otlp.RecordError
				if err == nil {
					_, err = ingest.Seal(context.Background(), openLog(t), events, receivedAt)
					if !errors.Is(err, stele.ErrInvalid) {
						t.Fatalf("sealed: %v", err)
					}
					return
				}
				if !errors.As(err, &re) || !errors.Is(err, stele.ErrInvalid) {
					t.Fatalf("error %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			l := openLog(t)
			if _, err := ingest.Seal(context.Background(), l, events, receivedAt); err != nil {
				t.Fatal(err)
			}
			r := entries(t, l)[0]
			if r.Action != c.action || r.Outcome != "unknown" {
				t.Errorf("action %q outcome %q", r.Action, r.Outcome)
			}
			if c.noTime && !r.Time.Equal(receivedAt) {
				t.Errorf("time %v, want the receive time", r.Time)
			}
			if c.attrs == "" && r.Attributes != nil {
				t.Errorf("attributes %s", r.Attributes)
			} else if c.attrs != "" {
				jsonEqual(t, "attributes", r.Attributes, c.attrs)
			}
		})
	}
}

// status decodes a google.rpc.Status body in the request's encoding.
func status(t *testing.T, rep reply, contentType string) *spb.Status {
	t.Helper()
	if rep.contentType != contentType {
		t.Fatalf("Content-Type %q, want %q", rep.contentType, contentType)
	}
	st := &spb.Status{}
	var err error
	if contentType == "application/json" {
		err = protojson.Unmarshal(rep.body, st)
	} else {
		err = proto.Unmarshal(rep.body, st)
	}
	if err != nil {
		t.Fatalf("status body: %v: %q", err, rep.body)
	}
	return st
}

func TestRefusals(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics := ingest.NewMetrics(reg)
	src := metrics.Source("otlp")
	l := openLog(t)
	url := serve(t, l, metrics)

	// An all-or-nothing batch: the third record cannot be mapped (a
	// duplicate attribute key), so the two good ones are not sealed.
	bad := sampleLogs()
	lr := bad.ResourceLogs().At(1).ScopeLogs().At(0).LogRecords().AppendEmpty()
	lr.Attributes().PutStr("k", "v")
	lr.Attributes().PutStr("k2", "v")
	// pdata's Put will not make a duplicate key, but a sender can send
	// one: rename k2 in the JSON form, then encode that as protobuf.
	dupJSON := bytes.Replace(encode(t, bad, "application/json"), []byte(`"key":"k2"`), []byte(`"key":"k"`), 1)
	dupReq := plogotlp.NewExportRequest()
	if err := dupReq.UnmarshalJSON(dupJSON); err != nil {
		t.Fatal(err)
	}
	withDup, err := dupReq.MarshalProto()
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, contentType string
		body              []byte
		status            int
		field             string // expected BadRequest field violation prefix
	}{
		{"not protobuf", "application/x-protobuf", []byte("this is not protobuf \xff\xff\xff"), 400, ""},
		{"not json", "application/json", []byte(`{"resourceLogs":[`), 400, ""},
		{"duplicate attribute key", "application/x-protobuf", withDup, 400, "resourceLogs[1].scopeLogs[0].logRecords[1]"},
		{"duplicate key of a mapped attribute", "application/json", bytes.Replace(encode(t, sampleLogs(), "application/json"),
			[]byte(`{"key":"user.name",`), []byte(`{"key":"user.id",`), 1), 400, "resourceLogs[0].scopeLogs[0].logRecords[0] (attributes.user.id)"},
		{"bad stele.outcome (refused by Seal)", "application/json", func() []byte {
			logs := sampleLogs()
			logs.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutStr("stele.outcome", "great")
			return encode(t, logs, "application/json")
		}(), 400, "resourceLogs[0].scopeLogs[0].logRecords[0] (outcome)"},
		{"record over the entry limit", "application/x-protobuf", func() []byte {
			logs := sampleLogs()
			logs.ResourceLogs().At(1).ScopeLogs().At(0).LogRecords().At(0).Body().SetStr(strings.Repeat("x", 70000))
			return encode(t, logs, "application/x-protobuf")
		}(), 413, "resourceLogs[1].scopeLogs[0].logRecords[0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep := post(t, url, c.contentType, c.body, false)
			if rep.status != c.status {
				t.Fatalf("status %d, want %d: %q", rep.status, c.status, rep.body)
			}
			ct, _, _ := strings.Cut(c.contentType, ";")
			st := status(t, rep, ct)
			if st.Code != 3 || st.Message == "" {
				t.Errorf("status %v", st)
			}
			if c.field != "" {
				if len(st.Details) != 1 {
					t.Fatalf("details %v", st.Details)
				}
				var br errdetails.BadRequest
				if err := st.Details[0].UnmarshalTo(&br); err != nil {
					t.Fatal(err)
				}
				if len(br.FieldViolations) != 1 || !strings.HasPrefix(br.FieldViolations[0].Field, c.field) {
					t.Errorf("violations %v, want field %q", br.FieldViolations, c.field)
				}
			}
			if l.Size() != 0 {
				t.Fatalf("a refused request appended: size %d", l.Size())
			}
		})
	}
	if got := count(src.Rejected); got != 1+1+3+2+2+2 {
		t.Errorf("rejected %v", got)
	}

	rep := post(t, url, "text/plain", []byte("hello"), false)
	if rep.status != http.StatusUnsupportedMediaType {
		t.Errorf("text/plain: %d %s", rep.status, rep.body)
	}
	rep = postRaw(t, url, "application/x-protobuf", "gzip", []byte("not gzip"))
	if st := status(t, rep, "application/x-protobuf"); rep.status != 400 || st.Code != 3 {
		t.Errorf("a body that is not gzip: %d %v", rep.status, st)
	}

	// A good request is then accepted and counted.
	before := count(src.Received)
	rep = post(t, url, "application/x-protobuf", encode(t, sampleLogs(), "application/x-protobuf"), true)
	if rep.status != 200 {
		t.Fatalf("good request: %d %s", rep.status, rep.body)
	}
	if got := count(src.Accepted); got != 2 {
		t.Errorf("accepted %v", got)
	}
	if got := count(src.Received) - before; got != 2 {
		t.Errorf("received %v", got)
	}
	if count(src.Bytes) == 0 {
		t.Errorf("no bytes counted")
	}
	if l.Size() != 2 {
		t.Errorf("size %d", l.Size())
	}

	// An empty request is a success (OTLP: SHOULD) and appends nothing.
	rep = post(t, url, "application/json", []byte(`{}`), false)
	if rep.status != 200 || l.Size() != 2 {
		t.Errorf("empty request: %d %s, size %d", rep.status, rep.body, l.Size())
	}
}

// sinkFunc adapts a function to ingest.Sink.
type sinkFunc func(context.Context, *stele.Batch, *stele.Sealed) error

func (f sinkFunc) Append(ctx context.Context, b *stele.Batch, out *stele.Sealed) error {
	return f(ctx, b, out)
}

func TestUnavailableIsRetryable(t *testing.T) {
	for _, sentinel := range []error{stele.ErrUnavailable, stele.ErrDiskFull, stele.ErrClosed} {
		url := serve(t, sinkFunc(func(context.Context, *stele.Batch, *stele.Sealed) error {
			return errors.Join(errors.New("test"), sentinel)
		}), nil)
		rep := post(t, url, "application/json", encode(t, sampleLogs(), "application/json"), false)
		if rep.status != http.StatusServiceUnavailable || rep.retryAfter == "" {
			t.Fatalf("%v: status %d Retry-After %q", sentinel, rep.status, rep.retryAfter)
		}
		if st := status(t, rep, "application/json"); st.Code != 14 {
			t.Errorf("%v: %v", sentinel, st)
		}
	}
}

func count(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func TestBearerToken(t *testing.T) {
	if _, err := otlp.New(otlp.Config{HTTPConfig: ingest.HTTPConfig{Sink: openLog(t), Tokens: []string{""}}}); !errors.Is(err, stele.ErrInvalid) {
		t.Fatalf("an empty token: %v", err)
	}
	l := openLog(t)
	h, err := otlp.New(otlp.Config{HTTPConfig: ingest.HTTPConfig{Sink: l, Tokens: []string{"t0ken", "other"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	body := encode(t, sampleLogs(), "application/json")
	for _, c := range []struct {
		name, auth string
		status     int
	}{
		{"none", "", 401},
		{"wrong scheme", "Basic t0ken", 401},
		{"wrong token", "Bearer t0ke", 401},
		{"good", "Bearer t0ken", 200},
		{"the other, lowercase scheme", "bearer other", 200},
	} {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+otlp.Path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d: %s", c.name, resp.StatusCode, out)
		}
		if c.status == 401 {
			if st := status(t, reply{resp.StatusCode, resp.Header.Get("Content-Type"), "", out}, "application/json"); st.Code != 16 {
				t.Errorf("%s: %v", c.name, st)
			}
		}
	}
	// Two good requests of two records, whose second record has a
	// stele.id: sent twice, it is appended once.
	if l.Size() != 3 {
		t.Errorf("size %d, want 3", l.Size())
	}
}

// TestNesting: raw (OTLP JSON) nests four JSON levels per kvlist level
// under the request envelope, so stele's depth limit of 32 admits bodies
// and attributes six kvlist levels deep; deeper ones are refused whole.
func TestNesting(t *testing.T) {
	for depth := 1; depth <= 8; depth++ {
		logs := plog.NewLogs()
		lr := logs.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		m := lr.Body().SetEmptyMap()
		for range depth - 1 {
			m = m.PutEmptyMap("d")
		}
		m.PutStr("leaf", "x")
		l := openLog(t)
		events, _, err := otlp.Map(logs)
		if err == nil {
			_, err = ingest.Seal(context.Background(), l, events, receivedAt)
		}
		if depth <= 6 && err != nil {
			t.Errorf("a body %d levels deep: %v", depth, err)
		}
		if depth > 6 && !errors.Is(err, stele.ErrInvalid) {
			t.Errorf("a body %d levels deep: %v, want ErrInvalid", depth, err)
		}
	}
}
