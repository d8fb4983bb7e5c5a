package ingest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/ingest/hec"
	"github.com/stele-log/stele/ingest/k8saudit"
	"github.com/stele-log/stele/ingest/otlp"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/storage/local"
)

// TestBusyAnswers mounts every HTTP intake on the API server, as cmd/stele
// does, with one shared gate; while the gate's budget is taken, each answers
// 503 with Retry-After in its protocol's shape without reading the body, and
// once it is free each seals.
func TestBusyAnswers(t *testing.T) {
	l, err := local.Open(context.Background(), "/d", local.Options{Origin: "busy.test/log", FS: fsx.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const budget = 1 << 20
	reg := prometheus.NewRegistry()
	gate := ingest.NewGate(budget, 50*time.Millisecond, reg)
	metrics := ingest.NewMetrics(reg)
	var intakes []api.Intake
	mount := func(routes []ingest.Route) { intakes = append(intakes, routes...) }
	h, err := hec.New(hec.Config{HTTPConfig: ingest.HTTPConfig{Sink: l, Tokens: []string{"tok"}, Gate: gate, Metrics: metrics}})
	if err != nil {
		t.Fatal(err)
	}
	mount(h.Routes())
	k, err := k8saudit.New(k8saudit.Config{HTTPConfig: ingest.HTTPConfig{Sink: l, Gate: gate, Metrics: metrics}})
	if err != nil {
		t.Fatal(err)
	}
	mount(k.Routes())
	o, err := otlp.New(otlp.Config{HTTPConfig: ingest.HTTPConfig{Sink: l, Gate: gate, Metrics: metrics}})
	if err != nil {
		t.Fatal(err)
	}
	mount(o.Routes())
	srv := httptest.NewServer(api.New(api.Config{Log: l, Gate: gate, Intakes: intakes}))
	defer srv.Close()

	k8sList := `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[{"level":"Metadata","auditID":"a1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/x/secrets/s","verb":"get","user":{"username":"alice"},"sourceIPs":["10.0.0.1"],"objectRef":{"resource":"secrets","namespace":"x","name":"s","apiVersion":"v1"},"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-11-23T10:00:00.000000Z","stageTimestamp":"2026-11-23T10:00:00.001000Z"}]}`
	otlpJSON := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"iam"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1795000000000000000","body":{"stringValue":"hello"},"attributes":[{"key":"event.name","value":{"stringValue":"iam.login"}}]}]}]}]}`
	cases := []struct {
		name, path, ctype, body string
		header                  map[string]string
		busyBody                string // a fragment of the busy answer, in the protocol's shape
	}{
		{"hec", "/services/collector/event", "application/json", `{"event":"hello"}`, map[string]string{"Authorization": "Splunk tok"}, `"code":9`},
		{"k8s", "/v1/ingest/k8s", "application/json", k8sList, nil, `"kind":"Status"`},
		{"otlp", "/v1/logs", "application/json", otlpJSON, nil, `"code":14`},
		{"events", "/v1/events", "application/json", `{"action":"a.b"}`, nil, `"error":`},
	}
	do := func(c int) (int, http.Header, string) {
		cs := cases[c]
		req, _ := http.NewRequest("POST", srv.URL+cs.path, strings.NewReader(cs.body))
		req.Header.Set("Content-Type", cs.ctype)
		for k, v := range cs.header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}

	// Take the whole budget, as a large request in progress would.
	big := httptest.NewRequest("POST", "/", nil)
	big.ContentLength = budget // declared: exactly that is reserved
	hold, err := gate.Enter(context.Background(), big, budget)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		status, hdr, body := do(i)
		if status != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" || !strings.Contains(body, c.busyBody) {
			t.Errorf("%s while busy: %d Retry-After %q %s", c.name, status, hdr.Get("Retry-After"), body)
		}
	}
	if size := l.Size(); size != 0 {
		t.Fatalf("%d events sealed while busy", size)
	}
	// Turned away unread: counted as busy, not as received or rejected.
	if got := gauge(t, reg, "stele_ingest_busy_total"); got != float64(len(cases)) {
		t.Errorf("stele_ingest_busy_total = %v, want %d", got, len(cases))
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if name := mf.GetName(); name == "stele_ingest_received_total" || name == "stele_ingest_rejected_total" {
			for _, m := range mf.GetMetric() {
				if v := m.GetCounter().GetValue(); v != 0 {
					t.Errorf("%s%v = %v while every request was turned away", name, m.GetLabel(), v)
				}
			}
		}
	}
	hold.Leave()
	for i, c := range cases {
		if status, _, body := do(i); status != http.StatusOK {
			t.Errorf("%s after the budget was freed: %d %s", c.name, status, body)
		}
	}
	if size := l.Size(); size != 4 {
		t.Fatalf("%d events sealed, want 4", size)
	}
}
