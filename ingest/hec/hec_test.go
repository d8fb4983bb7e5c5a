package hec_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/ingest/hec"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/storage/local"
)

const token = "6f1e1b6c-6f0e-4d2e-9c31-0d6c1f0e0a11"

type fixture struct {
	log *local.Log
	srv *httptest.Server
	reg *prometheus.Registry
}

func newFixture(t *testing.T, mutate func(*hec.Config)) *fixture {
	t.Helper()
	l, err := local.Open(context.Background(), "/d", local.Options{Origin: "hec.test/log", FS: fsx.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	reg := prometheus.NewRegistry()
	cfg := hec.Config{HTTPConfig: ingest.HTTPConfig{
		Sink:    l,
		Tokens:  []string{"another-token", token},
		Metrics: ingest.NewMetrics(reg),
		Now:     func() time.Time { return time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC) },
	}}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := hec.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, r := range h.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &fixture{log: l, srv: srv, reg: reg}
}

type reply struct {
	Text               string `json:"text"`
	Code               int    `json:"code"`
	InvalidEventNumber *int   `json:"invalid-event-number"`
}

func (f *fixture) post(t *testing.T, path string, body []byte, header map[string]string) (int, reply, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", f.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Splunk "+token)
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var rep reply
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatalf("%s: response %q is not HEC JSON: %v", path, raw, err)
	}
	return resp.StatusCode, rep, resp.Header
}

func (f *fixture) record(t *testing.T, seq uint64) *stele.Record {
	t.Helper()
	entry, err := f.log.Entry(context.Background(), seq)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := stele.ParseRecord(entry)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func canonical(t *testing.T, s string) string {
	t.Helper()
	// Re-encode through a map so that key order does not matter.
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestEventMapping(t *testing.T) {
	f := newFixture(t, nil)
	first := `{"time": 1748781000.250, "host": "web-1", "source": "nginx", "sourcetype": "access_combined", "index": "web", "fields": {"region": "eu-west-1", "status": 403}, "event": "GET /admin 403"}`
	second := `{"time":"1748781001","sourcetype":"aws:cloudtrail","event":{"eventName":"ConsoleLogin","userIdentity":{"arn":"arn:aws:iam::1:user/ann"}}}`
	third := `{"event":{"action":"user.login","actor":{"id":"u-42"},"outcome":"success"},"time":1748781002,"host":"sso-1"}`
	// Concatenated without separators, as HEC allows.
	body := first + second + "\n\n" + third
	status, rep, _ := f.post(t, "/services/collector/event", []byte(body), nil)
	if status != 200 || rep.Code != 0 || rep.Text != "Success" {
		t.Fatalf("status %d %+v", status, rep)
	}
	if f.log.Size() != 3 {
		t.Fatalf("size %d", f.log.Size())
	}

	r0 := f.record(t, 0)
	if r0.Action != "hec.access_combined" || r0.Message != "GET /admin 403" || r0.Outcome != stele.OutcomeUnknown {
		t.Errorf("record 0: %+v", r0)
	}
	if !r0.Time.Equal(time.Date(2025, 6, 1, 12, 30, 0, 250e6, time.UTC)) {
		t.Errorf("record 0 time %v", r0.Time)
	}
	if r0.Source == nil || r0.Source.Host != "web-1" || r0.Source.Service != "nginx" {
		t.Errorf("record 0 source %+v", r0.Source)
	}
	if got, want := string(r0.Attributes), `{"index":"web","region":"eu-west-1","sourcetype":"access_combined","status":403}`; got != want {
		t.Errorf("record 0 attributes %s, want %s", got, want)
	}
	if got, want := string(r0.Raw), canonical(t, first); got != want {
		t.Errorf("record 0 raw %s, want %s", got, want)
	}
	if !r0.ReceivedAt.Equal(time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)) {
		t.Errorf("record 0 received_at %v", r0.ReceivedAt)
	}

	r1 := f.record(t, 1)
	if r1.Action != "hec.aws.cloudtrail" || r1.Message != "" || !r1.Time.Equal(time.Unix(1748781001, 0)) {
		t.Errorf("record 1: %+v", r1)
	}
	if got, want := string(r1.Attributes), `{"event":{"eventName":"ConsoleLogin","userIdentity":{"arn":"arn:aws:iam::1:user/ann"}},"sourcetype":"aws:cloudtrail"}`; got != want {
		t.Errorf("record 1 attributes %s, want %s", got, want)
	}

	r2 := f.record(t, 2)
	if r2.Action != "user.login" || r2.Actor == nil || r2.Actor.ID != "u-42" || r2.Outcome != stele.OutcomeSuccess || !r2.Time.Equal(time.Unix(1748781002, 0)) {
		t.Errorf("record 2: %+v", r2)
	}
	if got, want := string(r2.Raw), canonical(t, third); got != want {
		t.Errorf("record 2 raw %s, want %s", got, want)
	}
	if r2.Source != nil {
		t.Errorf("a stele-shaped event took the envelope's host: %+v", r2.Source)
	}
}

func TestRawEndpoint(t *testing.T) {
	f := newFixture(t, func(c *hec.Config) { c.Action = "app.log" })
	body := "first line\r\n\nsecond \"quoted\" line\n"
	status, rep, _ := f.post(t, "/services/collector/raw?host=h1&sourcetype=syslog&source=app", []byte(body), nil)
	if status != 200 || rep.Code != 0 {
		t.Fatalf("status %d %+v", status, rep)
	}
	if f.log.Size() != 2 {
		t.Fatalf("size %d", f.log.Size())
	}
	r1 := f.record(t, 1)
	if r1.Action != "app.log" || r1.Message != `second "quoted" line` || string(r1.Raw) != `"second \"quoted\" line"` {
		t.Errorf("record 1: %+v raw %s", r1, r1.Raw)
	}
	if r1.Source == nil || r1.Source.Host != "h1" || r1.Source.Service != "app" || string(r1.Attributes) != `{"sourcetype":"syslog"}` {
		t.Errorf("record 1 source %+v attributes %s", r1.Source, r1.Attributes)
	}
}

func TestAllOrNothing(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range []struct {
		name, body string
		code, num  int
	}{
		{"not JSON", `{"event":"a"}{"event":`, 6, 1},
		{"no event field", `{"event":"a"}{"event":"b"}{"host":"x"}`, 12, 2},
		{"blank event", `{"event":""}`, 13, 0},
		{"bad time", `{"event":"a"}{"event":"b","time":"yesterday"}`, 6, 1},
		{"fields not an object", `{"event":"a","fields":[1]}`, 6, 0},
		{"stele-shaped but invalid", `{"event":"a"}{"event":{"action":"Bad Action"}}`, 6, 1},
		{"a duplicate key", `{"event":"a"}{"event":"b","host":"x","host":"y"}`, 6, 1},
		{"an array", `[{"event":"a"}]`, 6, 0},
	} {
		status, rep, _ := f.post(t, "/services/collector/event", []byte(c.body), nil)
		if status != 400 || rep.Code != c.code || rep.InvalidEventNumber == nil || *rep.InvalidEventNumber != c.num {
			t.Errorf("%s: status %d %+v, want code %d event %d", c.name, status, rep, c.code, c.num)
		}
	}
	if f.log.Size() != 0 {
		t.Fatalf("a refused request appended: size %d", f.log.Size())
	}
	status, rep, _ := f.post(t, "/services/collector/event", nil, nil)
	if status != 400 || rep.Code != 5 {
		t.Errorf("empty body: %d %+v", status, rep)
	}
	status, rep, _ = f.post(t, "/services/collector/raw", []byte("ok\n\xff\xfe\n"), nil)
	if status != 400 || rep.Code != 6 || f.log.Size() != 0 {
		t.Errorf("raw with invalid UTF-8: %d %+v size %d", status, rep, f.log.Size())
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t, nil)
	body := []byte(`{"event":"x"}`)
	for _, c := range []struct {
		name, path, auth string
		status, code     int
	}{
		{"no token", "/services/collector/event", "", 401, 2},
		{"not the Splunk scheme", "/services/collector/event", "Bearer " + token, 401, 3},
		{"scheme only", "/services/collector/event", "Splunk ", 401, 3},
		{"unknown token", "/services/collector/event", "Splunk nope", 403, 4},
		{"token prefix", "/services/collector/event", "Splunk " + token[:10], 403, 4},
		{"query token when off", "/services/collector/event?token=" + token, "", 400, 16},
		{"raw endpoint", "/services/collector/raw", "Splunk nope", 403, 4},
	} {
		hdr := map[string]string{"Authorization": c.auth}
		status, rep, _ := f.post(t, c.path, body, hdr)
		if status != c.status || rep.Code != c.code {
			t.Errorf("%s: %d %+v, want %d code %d", c.name, status, rep, c.status, c.code)
		}
	}
	if f.log.Size() != 0 {
		t.Fatalf("an unauthorised request appended")
	}
	// Every route, including the aliases, takes the token.
	for _, path := range []string{"/services/collector", "/services/collector/event/1.0"} {
		if status, rep, _ := f.post(t, path, body, nil); status != 200 || rep.Code != 0 {
			t.Errorf("%s: %d %+v", path, status, rep)
		}
	}

	q := newFixture(t, func(c *hec.Config) { c.AllowQueryToken = true })
	if status, rep, _ := q.post(t, "/services/collector/event?token="+token, body, map[string]string{"Authorization": ""}); status != 200 || rep.Code != 0 {
		t.Errorf("query token when on: %d %+v", status, rep)
	}
	if status, rep, _ := q.post(t, "/services/collector/event?token=nope", body, map[string]string{"Authorization": ""}); status != 403 || rep.Code != 4 {
		t.Errorf("a wrong query token: %d %+v", status, rep)
	}
}

func TestHealth(t *testing.T) {
	f := newFixture(t, nil)
	resp, err := http.Get(f.srv.URL + "/services/collector/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep reply
	json.NewDecoder(resp.Body).Decode(&rep)
	if resp.StatusCode != 200 || rep.Code != 17 || rep.Text != "HEC is healthy" {
		t.Fatalf("%d %+v", resp.StatusCode, rep)
	}
}

func TestGzipAndLimit(t *testing.T) {
	f := newFixture(t, func(c *hec.Config) { c.MaxBody = 2000 })
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat(`{"event":"compressed"}`, 50)))
	zw.Close()
	status, rep, _ := f.post(t, "/services/collector/event", gz.Bytes(), map[string]string{"Content-Encoding": "gzip"})
	if status != 200 || rep.Code != 0 || f.log.Size() != 50 {
		t.Fatalf("gzip: %d %+v size %d", status, rep, f.log.Size())
	}
	gz.Reset()
	zw = gzip.NewWriter(&gz)
	zw.Write([]byte(strings.Repeat(`{"event":"compressed"}`, 100))) // 2200 bytes inflated
	zw.Close()
	status, rep, _ = f.post(t, "/services/collector/event", gz.Bytes(), map[string]string{"Content-Encoding": "gzip"})
	if status != 413 || f.log.Size() != 50 {
		t.Fatalf("over the limit once inflated: %d %+v size %d", status, rep, f.log.Size())
	}
	status, rep, _ = f.post(t, "/services/collector/event", []byte("not gzip"), map[string]string{"Content-Encoding": "gzip"})
	if status != 400 || rep.Code != 6 {
		t.Fatalf("bad gzip: %d %+v", status, rep)
	}
}

func TestUnavailable(t *testing.T) {
	f := newFixture(t, nil)
	f.log.Close()
	status, rep, hdr := f.post(t, "/services/collector/event", []byte(`{"event":"x"}`), nil)
	if status != 503 || rep.Code != 9 || hdr.Get("Retry-After") == "" {
		t.Fatalf("closed log: %d %+v Retry-After %q", status, rep, hdr.Get("Retry-After"))
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, nil)
	f.post(t, "/services/collector/event", []byte(`{"event":"a"}{"event":"b"}`), nil)
	f.post(t, "/services/collector/event", []byte(`{"event":"a"}{"event":"b"}{"event":""}{"event":"d"}`), nil)
	got := map[string]float64{}
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == "hec" {
				got[mf.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	// The second request is refused at its third event: three received, three rejected.
	if got["stele_ingest_received_total"] != 5 || got["stele_ingest_accepted_total"] != 2 || got["stele_ingest_rejected_total"] != 3 || got["stele_ingest_bytes_total"] != 26+51 {
		t.Fatalf("counters %v", got)
	}
}

func TestNew(t *testing.T) {
	l, err := local.Open(context.Background(), "/d", local.Options{Origin: "hec.test/log", FS: fsx.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, c := range []hec.Config{
		{HTTPConfig: ingest.HTTPConfig{Tokens: []string{"t"}}},
		{HTTPConfig: ingest.HTTPConfig{Sink: l}},
		{HTTPConfig: ingest.HTTPConfig{Sink: l, Tokens: []string{""}}},
		{HTTPConfig: ingest.HTTPConfig{Sink: l, Tokens: []string{"t"}}, Action: "Not An Action"},
	} {
		if _, err := hec.New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}
