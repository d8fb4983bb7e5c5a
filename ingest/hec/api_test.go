package hec_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/ingest/hec"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/storage/local"
)

// TestMountedOnAPI mounts the intake on stele's API server, as cmd/stele
// does, posts an event and reads it back through the ordinary read
// endpoint, raw included.
func TestMountedOnAPI(t *testing.T) {
	l, err := local.Open(context.Background(), "/d", local.Options{Origin: "hec.test/log", FS: fsx.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h, err := hec.New(hec.Config{HTTPConfig: ingest.HTTPConfig{Sink: l, Tokens: []string{token}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Log: l, Intakes: h.Routes()}))
	defer srv.Close()

	req, _ := http.NewRequest("POST", srv.URL+"/services/collector/event", strings.NewReader(`{"event":"hello","sourcetype":"app","fields":{"k":"v"}}`))
	req.Header.Set("Authorization", "Splunk "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rep, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.TrimSpace(string(rep)) != `{"text":"Success","code":0}` {
		t.Fatalf("post: %d %s", resp.StatusCode, rep)
	}
	resp, err = http.Get(srv.URL + "/v1/events/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"action":"hec.app"`) || !strings.Contains(string(body), `"raw":{"event":"hello","fields":{"k":"v"},"sourcetype":"app"}`) {
		t.Fatalf("read back: %d %s", resp.StatusCode, body)
	}
}
