package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/client"
	"github.com/stele-log/stele/gen"
)

// TestGenNDJSON runs `stele gen --out` and checks that its output is
// deterministic, is exactly the default workload of package gen, and that
// every line is an event the server would accept.
func TestGenNDJSON(t *testing.T) {
	const events = 2000
	first := mustRun(t, nil, "gen", "--events", "2000", "--out", "-")
	second := mustRun(t, nil, "gen", "--events", "2000", "--out", "-")
	if first.stdout != second.stdout {
		t.Fatalf("two runs of stele gen --events 2000 differ (%d and %d bytes)", len(first.stdout), len(second.stdout))
	}
	if !strings.Contains(first.stderr, "wrote 2000 events") {
		t.Errorf("summary line: %q", first.stderr)
	}

	out := []byte(first.stdout)
	if !bytes.HasSuffix(out, []byte("\n")) {
		t.Fatalf("output does not end in a newline")
	}
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	if len(lines) != events {
		t.Fatalf("%d lines, want %d", len(lines), events)
	}
	received := time.Now()
	for i, line := range lines {
		b, err := stele.ParseEvents(line, false, received)
		if err != nil {
			t.Fatalf("line %d: %v\n%s", i+1, err, line)
		}
		if n := b.Len(); n != 1 {
			t.Fatalf("line %d holds %d events, want 1", i+1, n)
		}
	}

	// The CLI's defaults are the model's defaults: same bytes as the library.
	want := gen.New(gen.Options{Events: events}).AppendNDJSON(nil, events)
	if !bytes.Equal(out, want) {
		t.Errorf("stele gen --events 2000 is not gen.New(Options{Events: 2000}) (%d and %d bytes)", len(out), len(want))
	}

	// --out FILE writes the same bytes; the flags reach the model.
	path := filepath.Join(t.TempDir(), "sample.ndjson")
	mustRun(t, nil, "gen", "--events", "2000", "--out", path)
	if got := readFile(t, path); !bytes.Equal(got, out) {
		t.Errorf("--out %s holds %d bytes that differ from standard output", path, len(got))
	}
	seeded := mustRun(t, nil, "gen", "--events", "50", "--seed", "7", "--ids", "--days", "2", "--end", "2025-01-01T00:00:00Z")
	end := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	wantSeeded := gen.New(gen.Options{Events: 50, Seed: 7, IDs: true, Days: 2, End: end}).AppendNDJSON(nil, 50)
	if seeded.stdout != string(wantSeeded) {
		t.Errorf("stele gen --seed 7 --ids --days 2 --end ... does not match gen.New with those options")
	}
}

// TestGenErrors checks that bad flags exit 2 and a missing or refusing
// server exits 1, each with a message that names the problem.
func TestGenErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String()
	ln.Close() // nothing listens there now

	cases := []struct {
		name string
		args []string
		code int
		msg  string // part of standard error
	}{
		{"no --events", []string{"gen"}, 2, "--events is required"},
		{"zero events", []string{"gen", "--events", "0"}, 2, "--events must be at least 1"},
		{"unknown flag", []string{"gen", "--events", "5", "--bogus"}, 2, "-bogus"},
		{"bad --end", []string{"gen", "--events", "5", "--end", "yesterday"}, 2, "not an RFC 3339 time"},
		{"too many days", []string{"gen", "--events", "5", "--days", "4000"}, 2, "--days must be between"},
		{"--out with --url", []string{"gen", "--events", "5", "--out", "x", "--url", deadURL}, 2, "exclusive"},
		{"--batch without --url", []string{"gen", "--events", "5", "--batch", "10"}, 2, "only apply with --url"},
		{"not a URL", []string{"gen", "--events", "5", "--url", "ftp://x"}, 2, "not an http(s) URL"},
		{"no server", []string{"gen", "--events", "5", "--url", deadURL}, 1, "no stele server at " + deadURL},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := runStele(t, nil, tc.args...)
			if res.code != tc.code || !strings.Contains(res.stderr, tc.msg) {
				t.Errorf("stele %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tc.args, " "), res.code, res.stderr, tc.code, tc.msg)
			}
			if res.stdout != "" {
				t.Errorf("stele %s wrote to standard output: %q", strings.Join(tc.args, " "), res.stdout)
			}
		})
	}

	// A server that refuses the bodies: exit 1, naming the refusal.
	srv := startServer(t, filepath.Join(t.TempDir(), "data"), "--max-body", "20000")
	res := runStele(t, nil, "gen", "--events", "500", "--url", srv.url)
	if res.code != 1 || !strings.Contains(res.stderr, "HTTP 413") || !strings.Contains(res.stderr, "--batch") {
		t.Errorf("stele gen against a server with --max-body 20000: exit %d, stderr %q; want exit 1 naming HTTP 413 and --batch", res.code, res.stderr)
	}
}

// TestGenSendIdempotent sends a workload with client ids to a real server
// twice: the first run appends every event, the second appends nothing.
func TestGenSendIdempotent(t *testing.T) {
	const events = 5000
	srv := startServer(t, filepath.Join(t.TempDir(), "data"), "--origin", "e2e.test/gen")
	c, err := client.New(srv.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	logSize := func() uint64 {
		t.Helper()
		info, err := c.Log(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.Size
	}
	args := []string{"gen", "--events", "5000", "--ids", "--url", srv.url, "--batch", "500", "--concurrency", "4"}

	res := mustRun(t, nil, args...)
	if size := logSize(); size != events {
		t.Fatalf("log size %d after the first run, want %d", size, events)
	}
	if !strings.Contains(res.stderr, "5000 appended, 0 already in the log; log size 5000") {
		t.Errorf("first run's summary: %q", res.stderr)
	}

	// The server holds exactly the generated events, found by their ids.
	g := gen.New(gen.Options{Events: events, IDs: true})
	for i := range events {
		ev := g.Next(nil)
		if i%997 != 0 {
			continue
		}
		var sent struct {
			ID     string `json:"id"`
			Action string `json:"action"`
		}
		if err := json.Unmarshal(ev, &sent); err != nil || sent.ID == "" {
			t.Fatalf("generated event %d has no id (%v): %s", i, err, ev)
		}
		rec, err := c.EntryByID(ctx, sent.ID)
		if err != nil {
			t.Fatalf("event %d (id %s): %v", i, sent.ID, err)
		}
		r, err := stele.ParseRecord(rec)
		if err != nil {
			t.Fatalf("event %d (id %s): %v", i, sent.ID, err)
		}
		if r.Action != sent.Action {
			t.Errorf("event %d (id %s): stored action %q, generated %q", i, sent.ID, r.Action, sent.Action)
		}
	}

	res = mustRun(t, nil, args...)
	if size := logSize(); size != events {
		t.Fatalf("log size %d after sending the same workload again, want %d", size, events)
	}
	if !strings.Contains(res.stderr, "0 appended, 5000 already in the log; log size 5000") {
		t.Errorf("second run's summary: %q", res.stderr)
	}
}
