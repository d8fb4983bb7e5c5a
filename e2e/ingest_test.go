package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// needTool finds a sender binary; CI must have it (.ci/run installs what
// the tests need), elsewhere the test skips, saying so.
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed, and CI must run this test (.ci/run installs it)", name)
		}
		t.Skipf("%s is not installed: skipping the test with a real %s sender", name, name)
	}
	return path
}

// TestIngestRealSenders starts the real server with every intake and sends
// with real clients: util-linux logger over syslog TCP and UDP,
// OpenTelemetry's telemetrygen over OTLP/HTTP, a Splunk HEC request as
// Splunk documents it, and a Kubernetes audit EventList as
// kube-apiserver's webhook sends it (twice: the auditIDs make the second
// delivery append nothing). Every event must be sealed, searchable, and
// keep its original payload in raw.
func TestIngestRealSenders(t *testing.T) {
	logger := needTool(t, "logger")
	telemetrygen := needTool(t, "telemetrygen")
	tcpPort, udpPort := freePort(t, "tcp"), freePort(t, "udp")
	dir := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, dir, "--hec-token", "e2e-hec-token",
		"--syslog-tcp", "127.0.0.1:"+strconv.Itoa(tcpPort), "--syslog-udp", "127.0.0.1:"+strconv.Itoa(udpPort))

	run := func(name string, args ...string) {
		t.Helper()
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run(logger, "--rfc5424", "--tcp", "--server", "127.0.0.1", "--port", strconv.Itoa(tcpPort), "-t", "sshd",
		"--sd-id", "stele@32473", "--sd-param", `action="user.login"`, "--sd-param", `outcome="failure"`, "--sd-param", `actor_id="root"`,
		"Failed password for root from 203.0.113.5 port 22")
	run(logger, "--udp", "--server", "127.0.0.1", "--port", strconv.Itoa(udpPort), "-t", "cron", "session opened for user backup")

	post := func(path, auth string, body []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.url+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	hecBody := []byte(`{"time":1764000000.5,"host":"web-1","source":"nginx","sourcetype":"access","event":"GET /admin 403","fields":{"env":"prod"}}`)
	if code, body := post("/services/collector/event", "Splunk wrong", hecBody); code != 403 || !strings.Contains(body, `"code":4`) {
		t.Errorf("HEC with a bad token: %d %s", code, body)
	}
	if code, body := post("/services/collector/event", "Splunk e2e-hec-token", hecBody); code != 200 || !strings.Contains(body, `"code":0`) {
		t.Fatalf("HEC: %d %s", code, body)
	}
	list := readFile(t, filepath.Join("..", "ingest", "k8saudit", "testdata", "eventlist.json"))
	for range 2 {
		if code, body := post("/v1/ingest/k8s", "", list); code != 200 {
			t.Fatalf("k8s audit webhook: %d %s", code, body)
		}
	}

	host := strings.TrimPrefix(srv.url, "http://")
	run(telemetrygen, "logs", "--otlp-http", "--otlp-insecure", "--otlp-endpoint", host, "--logs", "50", "--rate", "0",
		"--workers", "1", "--body", "audit me", "--otlp-attributes", `service.name="billing"`, "--telemetry-attributes", `event.name="invoice.approve"`)

	// Syslog is batched per connection: wait (bounded) for the log to hold
	// everything.
	deadline := time.Now().Add(20 * time.Second)
	var records []map[string]any
	for {
		res := mustRun(t, nil, "export", "--url", srv.url, "")
		records = records[:0]
		for line := range strings.Lines(res.stdout) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			records = append(records, rec)
		}
		// HEC and the webhook answered after sealing; syslog is the last.
		syslogs := 0
		for _, r := range records {
			if a := r["action"]; a == "user.login" || a == "syslog.cron" {
				syslogs++
			}
		}
		if syslogs == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	byAction := map[string][]map[string]any{}
	for _, r := range records {
		byAction[r["action"].(string)] = append(byAction[r["action"].(string)], r)
		if r["raw"] == nil {
			t.Errorf("seq %v (%v) has no raw payload", r["seq"], r["action"])
		}
	}
	login := byAction["user.login"]
	if len(login) != 1 || login[0]["outcome"] != "failure" || login[0]["actor"].(map[string]any)["id"] != "root" ||
		!strings.Contains(login[0]["raw"].(string), "Failed password for root") {
		t.Errorf("the RFC 5424 syslog login from logger: %v", login)
	}
	if len(byAction["syslog.cron"]) != 1 {
		t.Errorf("the UDP syslog message from logger: %v", byAction)
	}
	if hecEvents := byAction["hec.access"]; len(hecEvents) != 1 || hecEvents[0]["message"] != "GET /admin 403" {
		t.Errorf("the HEC event: %v", byAction)
	}
	k8s := 0
	for action, rs := range byAction {
		if strings.HasPrefix(action, "k8s.") {
			k8s += len(rs)
		}
	}
	if otel := byAction["invoice.approve"]; len(otel) != 50 || otel[0]["source"].(map[string]any)["service"] != "billing" || otel[0]["message"] != "audit me" {
		t.Errorf("telemetrygen's 50 OTLP records: %d, first %v", len(otel), otel[:min(1, len(otel))])
	}
	if k8s == 0 || len(records) != 3+50+k8s {
		t.Errorf("%d records: 3 from syslog and HEC, 50 from OTLP and %d from the EventList sent twice (once appended)", len(records), k8s)
	}
	// Searchable through the mapped fields, proven like any event.
	res := mustRun(t, nil, "query", "--url", srv.url, "--format", "ndjson", "outcome:failure actor:root")
	if strings.Count(res.stdout, "\n") != 1 {
		t.Errorf("search for the syslog login: %q", res.stdout)
	}
	// Per-source counters.
	resp, err := http.Get(srv.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	var m bytes.Buffer
	m.ReadFrom(resp.Body)
	resp.Body.Close()
	for _, src := range []string{"syslog_tcp", "syslog_udp", "hec", "k8s_audit", "otlp"} {
		if !strings.Contains(m.String(), `stele_ingest_accepted_total{source="`+src+`"}`) {
			t.Errorf("/metrics has no accepted counter for %s", src)
		}
	}
}

// TestIngestRsyslogForwarding runs a real rsyslogd from a private config:
// it receives with imtcp and forwards everything to stele with omfwd,
// octet-counted RFC 5424 — the one-line config of docs/ingest/syslog.md.
func TestIngestRsyslogForwarding(t *testing.T) {
	rsyslogd := needTool(t, "rsyslogd")
	logger := needTool(t, "logger")
	stelePort, inPort := freePort(t, "tcp"), freePort(t, "tcp")
	work := t.TempDir()
	srv := startServer(t, filepath.Join(work, "data"), "--syslog-tcp", "127.0.0.1:"+strconv.Itoa(stelePort))

	conf := filepath.Join(work, "rsyslog.conf")
	writeFile(t, conf, []byte(`global(workDirectory="`+work+`")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="`+strconv.Itoa(inPort)+`")
*.* action(type="omfwd" target="127.0.0.1" port="`+strconv.Itoa(stelePort)+`" protocol="tcp"
           TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
`))
	cmd := exec.Command(rsyslogd, "-n", "-f", conf, "-i", filepath.Join(work, "rsyslogd.pid"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", out.String())
		}
	})
	// Wait (bounded) until rsyslogd listens, then send through it.
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(inPort))
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd does not listen on %d: %v", inPort, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	const n = 20
	for i := range n {
		if msg, err := exec.Command(logger, "--tcp", "--server", "127.0.0.1", "--port", strconv.Itoa(inPort), "-t", "sudo",
			fmt.Sprintf("pam_unix(sudo:auth): authentication failure %d; user=alice", i)).CombinedOutput(); err != nil {
			t.Fatalf("logger: %v %s", err, msg)
		}
	}
	var got []map[string]any
	for deadline := time.Now().Add(20 * time.Second); len(got) < n && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		res := mustRun(t, nil, "export", "--url", srv.url, "source.service:sudo")
		got = got[:0]
		for line := range strings.Lines(res.stdout) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			got = append(got, rec)
		}
	}
	if len(got) != n {
		t.Fatalf("%d of %d messages forwarded by rsyslog arrived", len(got), n)
	}
	for i, rec := range got {
		raw, _ := rec["raw"].(string)
		if !strings.HasPrefix(raw, "<") || !strings.Contains(raw, fmt.Sprintf("authentication failure %d;", i)) || rec["action"] != "syslog.sudo" {
			t.Fatalf("message %d: action %v raw %q", i, rec["action"], raw)
		}
	}
}

// TestBenchIngestModes runs the intake load generators briefly against the
// real server: 'stele bench syslog' must see every message it wrote sealed,
// and 'stele bench --intake otlp' must get every request acknowledged.
func TestBenchIngestModes(t *testing.T) {
	tcpPort := freePort(t, "tcp")
	srv := startServer(t, filepath.Join(t.TempDir(), "data"), "--syslog-tcp", "127.0.0.1:"+strconv.Itoa(tcpPort))
	res := mustRun(t, nil, "bench", "syslog", "--addr", "127.0.0.1:"+strconv.Itoa(tcpPort), "--url", srv.url,
		"--conns", "2", "--duration", "1s", "--warmup", "0s", "--messages", "20000")
	if !strings.Contains(res.stdout, "all 20000 messages written were sealed") {
		t.Fatalf("bench syslog:\n%s", res.stdout)
	}
	res = mustRun(t, nil, "bench", "--intake", "otlp", "--url", srv.url, "--batch", "100", "--concurrency", "2",
		"--duration", "1s", "--warmup", "0s", "--json")
	var reports []struct {
		Events, Errors int64
	}
	if err := json.Unmarshal([]byte(res.stdout), &reports); err != nil || len(reports) != 1 || reports[0].Events == 0 || reports[0].Errors != 0 {
		t.Fatalf("bench --intake otlp: %v\n%s", err, res.stdout)
	}
	// Everything acknowledged or counted as sealed is in the log.
	if size := logSize(t, srv.url); size < 20000+uint64(reports[0].Events) {
		t.Fatalf("log size %d, want at least %d", size, 20000+reports[0].Events)
	}
}

// TestSyslogConnectionFlags checks --syslog-max-conns and
// --syslog-idle-timeout on the real server: with one connection allowed, a
// second sender waits in the backlog, unread, until the first one has been
// silent for the idle timeout and is closed; then its message is sealed.
func TestSyslogConnectionFlags(t *testing.T) {
	port := freePort(t, "tcp")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	srv := startServer(t, filepath.Join(t.TempDir(), "data"), "--syslog-tcp", addr,
		"--syslog-max-conns", "1", "--syslog-idle-timeout", "700ms")
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	time.Sleep(100 * time.Millisecond)   // accepted: the one slot is taken
	second, err := net.Dial("tcp", addr) // completes in the kernel's backlog
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	opened := time.Now()
	msg := "<86>1 2026-11-23T10:00:00Z gw sshd 1 - - waited for a slot"
	fmt.Fprintf(second, "%d %s", len(msg), msg)

	size := func() uint64 { return logSize(t, srv.url) }
	time.Sleep(300 * time.Millisecond)
	if n := size(); n != 0 {
		t.Fatalf("the second connection was served while the first held the only slot (log size %d)", n)
	}
	// The silent first connection is closed by the server.
	first.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := first.Read(make([]byte, 1)); err == nil {
		t.Fatal("the idle connection was not closed")
	}
	deadline := time.Now().Add(5 * time.Second)
	for size() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the waiting sender's message was not sealed after the slot freed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if waited := time.Since(opened); waited < 500*time.Millisecond {
		t.Fatalf("sealed after %v, before the first connection's idle timeout", waited)
	}
}

// TestK8sAuditAllStages checks --k8s-audit-all-stages on the real server:
// the sample list's two non-final stages are sealed too.
func TestK8sAuditAllStages(t *testing.T) {
	list := readFile(t, filepath.Join("..", "ingest", "k8saudit", "testdata", "eventlist.json"))
	for _, c := range []struct {
		flags []string
		want  uint64
	}{{nil, 5}, {[]string{"--k8s-audit-all-stages"}, 7}} {
		srv := startServer(t, filepath.Join(t.TempDir(), "data"), c.flags...)
		resp, err := http.Post(srv.url+"/v1/ingest/k8s", "application/json", bytes.NewReader(list))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%v: status %d", c.flags, resp.StatusCode)
		}
		if size := logSize(t, srv.url); size != c.want {
			t.Errorf("%v: %d events sealed, want %d", c.flags, size, c.want)
		}
	}
}

// logSize is the size of the server's current signed checkpoint.
func logSize(t *testing.T, url string) uint64 {
	t.Helper()
	resp, err := http.Get(url + "/checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var note bytes.Buffer
	note.ReadFrom(resp.Body)
	size, err := strconv.ParseUint(strings.Split(note.String(), "\n")[1], 10, 64)
	if err != nil {
		t.Fatalf("checkpoint %q: %v", note.String(), err)
	}
	return size
}
