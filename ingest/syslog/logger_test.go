package syslog

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// loggerPath finds util-linux logger(1). CI must have it: there a missing
// binary fails the test instead of skipping it.
func loggerPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("logger")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("util-linux logger is required in CI: %v", err)
		}
		t.Skipf("util-linux logger not installed (%v); install util-linux to run this test", err)
	}
	return path
}

// TestLogger sends with the real util-linux logger over TCP (LF and octet
// counting) and UDP, in RFC 5424 and RFC 3164, into a real log.
func TestLogger(t *testing.T) {
	logger := loggerPath(t)
	l := openLog(t)
	ln := listen(t)
	serveTCP(t, ln, Config{Sink: l, Logger: quiet})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ServeUDP(ctx, pc, Config{Sink: l, Logger: quiet}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Error(err)
		}
	})
	tcpPort := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	udpPort := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)

	cases := []struct {
		args    []string
		message string
		action  string
	}{
		{[]string{"--rfc5424", "--tcp", "--port", tcpPort, "-t", "audit-app", "--msgid", "M1"}, "tcp lf 5424", "syslog.audit-app"},
		{[]string{"--rfc5424", "--tcp", "--octet-count", "--port", tcpPort, "-t", "audit-app",
			"--sd-id", "stele@32473", "--sd-param", `action="user.login"`, "--sd-param", `actor_id="ann"`, "--sd-param", `outcome="denied"`},
			"tcp octet 5424 with sd", "user.login"},
		{[]string{"--rfc3164", "--tcp", "--port", tcpPort, "-t", "old-app"}, "tcp 3164", "syslog.old-app"},
		{[]string{"--rfc5424", "--udp", "--port", udpPort, "-t", "udp-app", "-p", "auth.err"}, "udp 5424", "syslog.udp-app"},
		{[]string{"--rfc3164", "--udp", "--port", udpPort, "-t", "udp-app"}, "udp 3164", "syslog.udp-app"},
	}
	for i, c := range cases {
		args := append([]string{"--server", "127.0.0.1"}, c.args...)
		args = append(args, c.message)
		if out, err := exec.Command(logger, args...).CombinedOutput(); err != nil {
			t.Fatalf("logger %v: %v\n%s", args, err, out)
		}
		// One at a time, so the records come in the order sent.
		waitSize(t, l, uint64(i+1))
	}
	recs := records(t, l)
	for i, c := range cases {
		r := recs[i]
		if r.Action != c.action || r.Message != c.message || r.Source == nil || r.Source.Service == "" || r.Source.IP != "127.0.0.1" {
			t.Errorf("logger case %d: %+v %+v", i, r, r.Source)
		}
		if raw := rawString(t, r); len(raw) < len(c.message) || raw[len(raw)-len(c.message):] != c.message {
			t.Errorf("logger case %d: raw %q", i, raw)
		}
	}
	if a := attrs(t, recs[0]); a["msgid"] != "M1" || a["severity"] != "notice" || a["facility"] != "user" {
		t.Errorf("msgid, severity, facility: %v", a)
	}
	if r := recs[1]; r.Actor == nil || r.Actor.ID != "ann" || r.Outcome != "denied" {
		t.Errorf("stele@32473 from logger: %+v", r)
	}
	if a := attrs(t, recs[3]); a["severity"] != "err" || a["facility"] != "auth" {
		t.Errorf("-p auth.err: %v", a)
	}
	if sd := fmt.Sprint(attrs(t, recs[0])["sd"]); sd == "<nil>" {
		t.Errorf("logger's timeQuality SD element is not kept: %v", attrs(t, recs[0]))
	}
}
