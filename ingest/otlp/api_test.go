package otlp_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/ingest/otlp"
)

// TestMountedOnAPI mounts the intake on stele's API server, as cmd/stele
// does, posts a protobuf request and reads the records back through the
// ordinary read endpoint, raw included.
func TestMountedOnAPI(t *testing.T) {
	l := openLog(t)
	h, err := otlp.New(otlp.Config{HTTPConfig: ingest.HTTPConfig{Sink: l}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Log: l, Intakes: h.Routes()}))
	defer srv.Close()

	rep := post(t, srv.URL+otlp.Path, "application/x-protobuf", encode(t, sampleLogs(), "application/x-protobuf"), true)
	if rep.status != http.StatusOK {
		t.Fatalf("post: %d %q", rep.status, rep.body)
	}
	resp, err := http.Get(srv.URL + "/v1/events/1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"action":"iam.policy.update"`) ||
		!strings.Contains(string(body), `"raw":{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"iam"}}]}`) {
		t.Fatalf("read back: %d %s", resp.StatusCode, body)
	}
}
