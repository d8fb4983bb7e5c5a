package k8saudit_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/ingest/k8saudit"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/storage/local"
)

const bearer = "audit-webhook-secret"

type fixture struct {
	log *local.Log
	srv *httptest.Server
	reg *prometheus.Registry
}

func newFixture(t *testing.T, mutate func(*k8saudit.Config)) *fixture {
	t.Helper()
	l, err := local.Open(context.Background(), "/d", local.Options{Origin: "k8s.test/log", FS: fsx.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	reg := prometheus.NewRegistry()
	cfg := k8saudit.Config{HTTPConfig: ingest.HTTPConfig{
		Sink:    l,
		Tokens:  []string{bearer},
		Metrics: ingest.NewMetrics(reg),
		Logger:  slog.New(slog.DiscardHandler),
		Now:     func() time.Time { return time.Date(2025, 6, 1, 12, 32, 0, 0, time.UTC) },
	}}
	if mutate != nil {
		mutate(&cfg)
	}
	h, err := k8saudit.New(cfg)
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

type status struct {
	Kind, Status, Reason, Message string
	Code                          int
}

func (f *fixture) post(t *testing.T, body []byte, header map[string]string) (int, status) {
	t.Helper()
	req, err := http.NewRequest("POST", f.srv.URL+"/v1/ingest/k8s", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
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
	var st status
	if err := json.Unmarshal(raw, &st); err != nil || st.Kind != "Status" || st.Code != resp.StatusCode {
		t.Fatalf("response %q is not a Status: %v", raw, err)
	}
	return resp.StatusCode, st
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

func sample(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/eventlist.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// items returns the sample's items, compacted, for comparing raw.
func items(t *testing.T) []string {
	var list struct{ Items []json.RawMessage }
	if err := json.Unmarshal(sample(t), &list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range list.Items {
		var v any
		json.Unmarshal(it, &v)
		// Sorted keys and no HTML escaping, as canonical JSON has them here.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.Encode(v)
		out = append(out, strings.TrimSuffix(buf.String(), "\n"))
	}
	return out
}

func TestMapping(t *testing.T) {
	f := newFixture(t, nil)
	code, st := f.post(t, sample(t), nil)
	if code != 200 || st.Status != "Success" {
		t.Fatalf("%d %+v", code, st)
	}
	// Seven items, two of them earlier stages of requests that completed.
	if f.log.Size() != 5 {
		t.Fatalf("size %d, want 5", f.log.Size())
	}
	raws := items(t)
	ts := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		seq        uint64
		item       int
		action     string
		actor      stele.Actor
		resource   *stele.Resource
		outcome    stele.Outcome
		time       string
		id         string
		message    string
		attributes string
	}{
		{0, 1, "k8s.pods.create",
			stele.Actor{Type: "user", ID: "kubernetes-admin", IP: "172.18.0.1", UserAgent: "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"},
			&stele.Resource{Type: "pods", ID: "default/nginx", Name: "nginx"},
			stele.OutcomeSuccess, "2025-06-01T12:29:59.530112Z", "6c8b2b27-1b5e-4f4a-9d0b-3f3f0e0f6b6a",
			"create /api/v1/namespaces/default/pods?fieldManager=kubectl-client-side-apply&fieldValidation=Strict",
			`{"annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"","pod-security.kubernetes.io/enforce-policy":"privileged:latest"},"api_version":"v1","groups":["system:masters","system:authenticated"],"level":"Metadata","namespace":"default","response_code":201,"stage":"ResponseComplete"}`},
		{1, 2, "k8s.secrets.get",
			stele.Actor{Type: "service", ID: "system:serviceaccount:ci:deployer", IP: "10.244.1.17", UserAgent: "argocd-application-controller/v0.0.0 (linux/amd64) kubernetes/$Format"},
			&stele.Resource{Type: "secrets", ID: "kube-system/bootstrap-token-abcdef", Name: "bootstrap-token-abcdef"},
			stele.OutcomeDenied, "2025-06-01T12:30:00.10125Z", "0b8f8a4e-5d7c-4c1e-8e8e-9a2f4c6d1e20",
			"get /api/v1/namespaces/kube-system/secrets/bootstrap-token-abcdef",
			`{"annotations":{"authorization.k8s.io/decision":"forbid","authorization.k8s.io/reason":""},"api_version":"v1","groups":["system:serviceaccounts","system:serviceaccounts:ci","system:authenticated"],"level":"Metadata","namespace":"kube-system","response_code":403,"response_reason":"Forbidden","stage":"ResponseComplete","user_uid":"0d2c6b5e-33a1-4a9c-b7b5-51c1d3f0a6c2"}`},
		{2, 4, "k8s.pods.exec.create",
			stele.Actor{Type: "user", ID: "ann@example.com", IP: "2001:db8::7", UserAgent: "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"},
			&stele.Resource{Type: "pods", ID: "default/nginx", Name: "nginx"},
			stele.OutcomeSuccess, "2025-06-01T12:31:15.25Z", "e4a1f0c2-8b3d-4f6e-a1c9-2d5b7e9f0a13",
			"create /api/v1/namespaces/default/pods/nginx/exec?command=sh&container=nginx&stdin=true&stdout=true&tty=true",
			`{"api_version":"v1","groups":["developers","system:authenticated"],"impersonated_user":{"groups":["system:masters"],"username":"system:admin"},"level":"Request","namespace":"default","response_code":101,"source_ips":["2001:DB8::7","10.0.0.5"],"stage":"ResponseComplete","subresource":"exec"}`},
		{3, 5, "k8s.nonresource.get",
			stele.Actor{Type: "user", ID: "system:anonymous", IP: "192.168.49.1", UserAgent: "kube-probe/1.30"},
			nil,
			stele.OutcomeSuccess, "2025-06-01T12:30:02.000412Z", "9f1d3c5b-7a2e-4b8c-9d0e-1f2a3b4c5d6e",
			"get /livez",
			`{"groups":["system:unauthenticated"],"level":"Metadata","response_code":200,"stage":"ResponseComplete"}`},
		{4, 6, "k8s.deployments.patch",
			stele.Actor{Type: "service", ID: "system:serviceaccount:argocd:argocd-application-controller", IP: "10.244.0.9", UserAgent: "argocd-application-controller/v2.11.0"},
			&stele.Resource{Type: "deployments", ID: "prod/api", Name: "api"},
			stele.OutcomeFailure, "2025-06-01T12:30:03.004Z", "3a7c9e1b-2d4f-4a6b-8c0d-e1f2a3b4c5d7",
			"patch /apis/apps/v1/namespaces/prod/deployments/api",
			`{"api_group":"apps","api_version":"v1","groups":["system:serviceaccounts","system:serviceaccounts:argocd","system:authenticated"],"level":"Metadata","namespace":"prod","response_code":409,"response_reason":"Conflict","stage":"ResponseComplete"}`},
	} {
		r := f.record(t, c.seq)
		if r.Action != c.action || r.Outcome != c.outcome || !r.Time.Equal(ts(c.time)) || !strings.HasPrefix(r.ID, "k8s-") || len(r.ID) != 36 || r.RequestID != c.id || r.Message != c.message {
			t.Errorf("seq %d: action %q outcome %q time %v id %q request_id %q message %q", c.seq, r.Action, r.Outcome, r.Time, r.ID, r.RequestID, r.Message)
		}
		if r.Category != "kubernetes" || r.Source == nil || *r.Source != (stele.Source{Service: "kube-apiserver"}) {
			t.Errorf("seq %d: category %q source %+v", c.seq, r.Category, r.Source)
		}
		if r.Actor == nil || *r.Actor != c.actor {
			t.Errorf("seq %d: actor %+v, want %+v", c.seq, r.Actor, c.actor)
		}
		if (r.Resource == nil) != (c.resource == nil) || r.Resource != nil && *r.Resource != *c.resource {
			t.Errorf("seq %d: resource %+v, want %+v", c.seq, r.Resource, c.resource)
		}
		if string(r.Attributes) != c.attributes {
			t.Errorf("seq %d: attributes\n got %s\nwant %s", c.seq, r.Attributes, c.attributes)
		}
		if string(r.Raw) != raws[c.item] {
			t.Errorf("seq %d: raw\n got %s\nwant %s", c.seq, r.Raw, raws[c.item])
		}
		if !r.ReceivedAt.Equal(time.Date(2025, 6, 1, 12, 32, 0, 0, time.UTC)) {
			t.Errorf("seq %d: received_at %v", c.seq, r.ReceivedAt)
		}
	}
}

func TestIdempotentRedelivery(t *testing.T) {
	f := newFixture(t, nil)
	for i := range 2 {
		if code, st := f.post(t, sample(t), nil); code != 200 {
			t.Fatalf("delivery %d: %d %+v", i, code, st)
		}
		if f.log.Size() != 5 {
			t.Fatalf("after delivery %d: size %d, want 5", i, f.log.Size())
		}
	}
}

func TestAllStages(t *testing.T) {
	f := newFixture(t, func(c *k8saudit.Config) { c.AllStages = true })
	if code, st := f.post(t, sample(t), nil); code != 200 {
		t.Fatalf("%d %+v", code, st)
	}
	if f.log.Size() != 7 {
		t.Fatalf("size %d, want 7", f.log.Size())
	}
	r := f.record(t, 0)
	if r.Outcome != stele.OutcomeUnknown || r.RequestID != "6c8b2b27-1b5e-4f4a-9d0b-3f3f0e0f6b6a" {
		t.Fatalf("first stage: %+v", r)
	}
	if last := f.record(t, 1); last.RequestID != r.RequestID || last.ID == r.ID {
		t.Fatalf("the two stages of one request: ids %q and %q", r.ID, last.ID)
	}
}

// TestClientChosenAuditIDs: the auditID comes from the client's Audit-ID
// header, so two different requests may share one, and one may be longer
// than a stele id. Neither may hide an event or refuse a list; only an
// identical redelivery is a duplicate.
func TestClientChosenAuditIDs(t *testing.T) {
	f := newFixture(t, nil)
	ev := func(auditID, verb, user string) string {
		return `{"auditID":"` + auditID + `","stage":"ResponseComplete","verb":"` + verb + `","level":"Metadata","requestURI":"/api/v1/x",` +
			`"user":{"username":"` + user + `"},"responseStatus":{"code":200},"stageTimestamp":"2025-06-01T12:00:00Z"}`
	}
	list := func(items ...string) []byte {
		return []byte(`{"apiVersion":"audit.k8s.io/v1","kind":"EventList","items":[` + strings.Join(items, ",") + `]}`)
	}
	shared := "11111111-2222-3333-4444-555555555555"
	for _, body := range [][]byte{
		list(ev(shared, "get", "alice")),
		list(ev(shared, "delete", "mallory")), // same auditID, another request
		list(ev("a1", "get", "bob"), ev(strings.Repeat("a", 200), "get", "eve"), ev("c1", "get", "carol")), // a 200-character auditID
		list(ev(shared, "delete", "mallory")), // a true redelivery
	} {
		if code, st := f.post(t, body, nil); code != 200 {
			t.Fatalf("%d %+v for %s", code, st, body)
		}
	}
	if f.log.Size() != 5 {
		t.Fatalf("size %d, want 5: alice, mallory, bob, eve, carol", f.log.Size())
	}
	if r := f.record(t, 1); r.Actor == nil || r.Actor.ID != "mallory" || r.RequestID != shared {
		t.Fatalf("mallory's delete: %+v", r)
	}
}

// mutateItem returns the sample with item i replaced by edit(item).
func mutateItem(t *testing.T, i int, edit func(map[string]any)) []byte {
	var list map[string]any
	if err := json.Unmarshal(sample(t), &list); err != nil {
		t.Fatal(err)
	}
	edit(list["items"].([]any)[i].(map[string]any))
	b, _ := json.Marshal(list)
	return b
}

func TestAllOrNothing(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"no auditID", mutateItem(t, 6, func(m map[string]any) { delete(m, "auditID") })},
		{"no verb", mutateItem(t, 2, func(m map[string]any) { m["verb"] = "" })},
		{"a bad timestamp", mutateItem(t, 6, func(m map[string]any) { m["stageTimestamp"] = "2025-06-01 12:30:03" })},
		{"user of the wrong type", mutateItem(t, 1, func(m map[string]any) { m["user"] = "bob" })},
		{"an item not an object", mutateItem(t, 0, func(m map[string]any) {})[:0]},
		{"not an EventList", []byte(`{"kind":"Event","apiVersion":"audit.k8s.io/v1"}`)},
		{"v1beta1", []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1beta1","items":[]}`)},
		{"trailing data", append(sample(t), []byte(" {}")...)},
		{"a trailing brace", append(sample(t), '}')},
		{"truncated", sample(t)[:200]},
	} {
		code, st := f.post(t, c.body, nil)
		if code != 400 || st.Reason != "BadRequest" || st.Status != "Failure" {
			t.Errorf("%s: %d %+v", c.name, code, st)
		}
	}
	if f.log.Size() != 0 {
		t.Fatalf("a refused list appended: size %d", f.log.Size())
	}
	// A refusal from stele's own checks names the item in the list, not the
	// mapped event (two earlier stages were dropped before it).
	if _, st := f.post(t, mutateItem(t, 6, func(m map[string]any) { m["stageTimestamp"] = "yesterday" }), nil); !strings.Contains(st.Message, "item 6: mapped time: ") {
		t.Errorf("message %q does not name item 6", st.Message)
	}
	// An empty list and a list of only early stages are fine and append nothing.
	if code, _ := f.post(t, []byte(`{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[]}`), nil); code != 200 || f.log.Size() != 0 {
		t.Fatalf("empty list: %d size %d", code, f.log.Size())
	}
}

func TestAuth(t *testing.T) {
	f := newFixture(t, nil)
	for _, auth := range []string{"", "Bearer nope", "Basic " + bearer, "Bearer " + bearer[:5]} {
		if code, st := f.post(t, sample(t), map[string]string{"Authorization": auth}); code != 401 || st.Reason != "Unauthorized" {
			t.Errorf("Authorization %q: %d %+v", auth, code, st)
		}
	}
	if f.log.Size() != 0 {
		t.Fatal("an unauthorised list appended")
	}
	open := newFixture(t, func(c *k8saudit.Config) { c.Tokens = nil })
	if code, _ := open.post(t, sample(t), map[string]string{"Authorization": ""}); code != 200 || open.log.Size() != 5 {
		t.Fatalf("no tokens configured: %d size %d", code, open.log.Size())
	}
}

func TestGzip(t *testing.T) {
	f := newFixture(t, func(c *k8saudit.Config) { c.MaxBody = int64(len(sample(t))) })
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(sample(t))
	zw.Close()
	if code, st := f.post(t, gz.Bytes(), map[string]string{"Content-Encoding": "gzip"}); code != 200 || f.log.Size() != 5 {
		t.Fatalf("gzip: %d %+v size %d", code, st, f.log.Size())
	}
	big := append(sample(t), ' ')
	gz.Reset()
	zw = gzip.NewWriter(&gz)
	zw.Write(big)
	zw.Close()
	if code, st := f.post(t, gz.Bytes(), map[string]string{"Content-Encoding": "gzip"}); code != 413 || st.Reason != "RequestEntityTooLarge" {
		t.Fatalf("over the limit once inflated: %d %+v", code, st)
	}
}

func TestUnavailable(t *testing.T) {
	f := newFixture(t, nil)
	f.log.Close()
	req, _ := http.NewRequest("POST", f.srv.URL+"/v1/ingest/k8s", bytes.NewReader(sample(t)))
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("closed log: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, nil)
	f.post(t, sample(t), nil)
	f.post(t, []byte(`{"kind":"EventList"`), nil)
	got := map[string]float64{}
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == "k8s_audit" {
				got[mf.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	// 7 items + 1 unreadable body received; 5 sealed; 1 refused; 2 dropped stages.
	want := map[string]float64{
		"stele_ingest_received_total": 8, "stele_ingest_accepted_total": 5, "stele_ingest_rejected_total": 1,
		"stele_ingest_bytes_total": float64(len(sample(t)) + len(`{"kind":"EventList"`)),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

func TestAction(t *testing.T) {
	for _, c := range []struct {
		ev   k8saudit.Event
		want string
	}{
		{k8saudit.Event{Verb: "deletecollection", ObjectRef: &k8saudit.ObjectReference{Resource: "pods"}}, "k8s.pods.deletecollection"},
		{k8saudit.Event{Verb: "get", ObjectRef: &k8saudit.ObjectReference{Resource: "deployments", Subresource: "scale"}}, "k8s.deployments.scale.get"},
		{k8saudit.Event{Verb: "Weird Verb", ObjectRef: &k8saudit.ObjectReference{Resource: "Foo.Bar"}}, "k8s.foo_bar.weird_verb"},
		{k8saudit.Event{Verb: "get", ObjectRef: &k8saudit.ObjectReference{}}, "k8s.nonresource.get"},
		{k8saudit.Event{Verb: "get", ObjectRef: &k8saudit.ObjectReference{Resource: strings.Repeat("r", 200)}}, "k8s." + strings.Repeat("r", 124)},
	} {
		if got := k8saudit.Action(&c.ev); got != c.want {
			t.Errorf("%+v: %q, want %q", c.ev, got, c.want)
		}
	}
}
