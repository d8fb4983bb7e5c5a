package k8saudit_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/ingest"
	"github.com/stele-log/stele/ingest/k8saudit"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/storage/local"
)

// TestMountedOnAPI mounts the intake on stele's API server, as cmd/stele
// does, posts the sample and reads an event back by its auditID through the
// ordinary read endpoint, raw included.
func TestMountedOnAPI(t *testing.T) {
	l, err := local.Open(context.Background(), "/d", local.Options{Origin: "k8s.test/log", FS: fsx.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	h, err := k8saudit.New(k8saudit.Config{HTTPConfig: ingest.HTTPConfig{Sink: l}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Log: l, Intakes: h.Routes()}))
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/v1/ingest/k8s", "application/json", bytes.NewReader(sample(t)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("post: %d", resp.StatusCode)
	}
	resp, err = http.Get(srv.URL + "/v1/events?after_seq=&limit=100")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"k8s.secrets.get"`) {
		t.Fatalf("read back: %d %s", resp.StatusCode, body)
	}
	// The response status's reason is only in raw (attributes has it as response_reason).
	if !bytes.Contains(body, []byte(`"reason":"Forbidden"`)) {
		t.Fatalf("raw not returned: %s", body)
	}
}
