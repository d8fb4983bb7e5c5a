package otlp_test

import (
	"context"
	"encoding/json"
	"go/build"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stele-log/stele/ingest"
)

// telemetrygen finds the OpenTelemetry Collector's load generator on PATH
// or where go install puts it. CI must have it (.ci/run installs it);
// elsewhere the test skips, saying so.
func telemetrygen(t *testing.T) string {
	t.Helper()
	if path, err := exec.LookPath("telemetrygen"); err == nil {
		return path
	}
	for _, dir := range []string{os.Getenv("GOBIN"), filepath.Join(build.Default.GOPATH, "bin")} {
		if dir == "" {
			continue
		}
		if path := filepath.Join(dir, "telemetrygen"); fileExists(path) {
			return path
		}
	}
	const install = "go install github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0"
	if os.Getenv("CI") != "" {
		t.Fatalf("telemetrygen is not installed, and CI must run this test (.ci/run installs it: %s)", install)
	}
	t.Skipf("telemetrygen is not installed: skipping the test with a real OTLP sender (%s)", install)
	return ""
}

func fileExists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// TestTelemetrygen sends 100 log records with the Collector's telemetrygen
// (the OpenTelemetry Go SDK's otlploghttp exporter, protobuf) to the intake
// on a real listener, and reads every one back from the log.
func TestTelemetrygen(t *testing.T) {
	bin := telemetrygen(t)
	l := openLog(t)
	metrics := ingest.NewMetrics(nil)
	url := serve(t, l, metrics)
	host := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/v1/logs")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "logs", "--otlp-http", "--otlp-insecure", "--otlp-endpoint", host,
		"--logs", "100", "--rate", "0", "--workers", "1", "--body", "audit me",
		"--severity-text", "Warn", "--severity-number", "13",
		"--otlp-attributes", `host.name="gen-host"`,
		"--telemetry-attributes", `event.name="app.user.login"`,
		"--telemetry-attributes", `user.id="u-7"`)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("telemetrygen: %v\n%s", err, out)
	}
	if l.Size() != 100 {
		t.Fatalf("the log holds %d records, want 100; telemetrygen said:\n%s", l.Size(), out)
	}
	for i, r := range entries(t, l) {
		if r.Action != "app.user.login" || r.Message != "audit me" || r.Actor == nil || r.Actor.ID != "u-7" ||
			r.Source == nil || r.Source.Service != "telemetrygen" || r.Source.Host != "gen-host" {
			t.Fatalf("record %d: %+v actor %+v source %+v", i, r, r.Actor, r.Source)
		}
		var attrs map[string]any
		if err := json.Unmarshal(r.Attributes, &attrs); err != nil {
			t.Fatal(err)
		}
		if attrs["otel.severity_text"] != "Warn" || attrs["otel.severity_number"] != 13.0 {
			t.Fatalf("record %d attributes: %s", i, r.Attributes)
		}
		if !strings.Contains(string(r.Raw), `"stringValue":"audit me"`) {
			t.Fatalf("record %d raw: %s", i, r.Raw)
		}
	}
	src := metrics.Source("otlp")
	if count(src.Accepted) != 100 || count(src.Rejected) != 0 {
		t.Errorf("accepted %v rejected %v", count(src.Accepted), count(src.Rejected))
	}
}
