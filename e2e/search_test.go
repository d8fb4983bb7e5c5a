package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/client"
	"github.com/stele-log/stele/query"
	"github.com/stele-log/stele/verify"
)

// searchQueries are checked against a brute-force match of every record.
var searchQueries = []string{
	`outcome:failure action:user.login`,
	`actor.type:admin action:iam.*`,
	`ip:203.0.113.0/24`,
	`"permission denied"`,
	`-outcome:success category:secret`,
	`seq:60000..70000 outcome:denied`,
}

// TestSearchEndToEnd fills a real server with the gen workload (more than
// one index chunk), and checks the CLI's answers against matching every
// record, proofs against the signed checkpoint, and that the answers stay
// the same across a clean restart, a kill -9 while the index catches up,
// a damaged index file and `stele reindex`.
func TestSearchEndToEnd(t *testing.T) {
	const events = 70000
	dir := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, dir)
	mustRun(t, nil, "gen", "--events", strconv.Itoa(events), "--ids", "--url", srv.url)

	// The truth: every record, matched by the query package's Matcher.
	records := exportAll(t, srv.url)
	if len(records) != events {
		t.Fatalf("export gave %d records, want %d", len(records), events)
	}
	want := map[string][]uint64{}
	for _, text := range searchQueries {
		want[text] = bruteForce(t, records, text)
		if len(want[text]) == 0 {
			t.Fatalf("%q matches nothing in the workload: a useless check", text)
		}
	}
	check := func(t *testing.T, url string) {
		t.Helper()
		for _, text := range searchQueries {
			res := mustRun(t, nil, "query", "--url", url, "--format", "ndjson", "--limit", "0", text)
			got := seqsOf(t, []byte(res.stdout))
			w := slices.Clone(want[text])
			slices.Reverse(w) // newest first
			if !slices.Equal(got, w) {
				t.Errorf("stele query %q: %d events, want %d (first %v, want %v)", text, len(got), len(w), got[:min(5, len(got))], w[:min(5, len(w))])
			}
		}
		// stats: the facet adds up, and matches the brute force.
		res := mustRun(t, nil, "stats", "--url", url, "--by", "outcome", "action:user.login")
		failures := len(bruteForce(t, records, "action:user.login outcome:failure"))
		if !regexp.MustCompile(`(?m)^\s*failure\s+` + strconv.Itoa(failures) + `\b`).MatchString(res.stdout) {
			t.Errorf("stele stats --by outcome action:user.login: want failure %d in:\n%s", failures, res.stdout)
		}
	}

	waitIndexed(t, srv.url, events)
	t.Run("indexed", func(t *testing.T) { check(t, srv.url) })
	t.Run("proofs", func(t *testing.T) { checkSearchProofs(t, srv, "outcome:failure") })
	t.Run("live tail", func(t *testing.T) { checkTail(t, srv.url) })

	stop := func() {
		t.Helper()
		if code, _ := srv.stop(30 * time.Second); code != 0 {
			t.Fatalf("stop: exit %d", code)
		}
	}
	stop()
	if _, err := os.Stat(filepath.Join(dir, "index", "search")); err != nil {
		t.Fatalf("no search index directory: %v", err)
	}

	t.Run("restart", func(t *testing.T) {
		srv = startServer(t, dir)
		check(t, srv.url)
		stop()
	})
	t.Run("kill -9 during catch-up", func(t *testing.T) {
		if err := os.RemoveAll(filepath.Join(dir, "index", "search")); err != nil {
			t.Fatal(err)
		}
		s := startServer(t, dir)
		time.Sleep(150 * time.Millisecond)
		s.kill()
		srv = startServer(t, dir)
		check(t, srv.url) // right whether or not it has caught up
		waitIndexed(t, srv.url, events)
		check(t, srv.url)
		stop()
	})
	t.Run("damaged chunk file", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(dir, "index", "search", "*"))
		var chunk string
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && fi.Size() > 4096 {
				chunk = f
			}
		}
		if chunk == "" {
			t.Fatalf("no chunk file among %v", files)
		}
		os.Chmod(chunk, 0o644)
		data := readFile(t, chunk)
		data[len(data)/2] ^= 0x40
		writeFile(t, chunk, data)
		srv = startServer(t, dir)
		check(t, srv.url)
		waitIndexed(t, srv.url, events)
		check(t, srv.url)
		if log := srv.out.String(); !strings.Contains(log, "damaged chunk") || !strings.Contains(log, filepath.Base(chunk)) {
			t.Errorf("the server did not report the damaged index file %s:\n%s", filepath.Base(chunk), log)
		}
		stop()
	})
	t.Run("index of another log", func(t *testing.T) {
		// A restored or copied index directory from a log of the same
		// size: its chunks would answer with the wrong events.
		other := filepath.Join(t.TempDir(), "other")
		s := startServer(t, other)
		mustRun(t, nil, "gen", "--events", strconv.Itoa(events), "--seed", "2", "--url", s.url)
		waitIndexed(t, s.url, events)
		if code, _ := s.stop(30 * time.Second); code != 0 {
			t.Fatalf("stop: exit %d", code)
		}
		mine := filepath.Join(dir, "index", "search")
		if err := os.RemoveAll(mine); err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(mine, os.DirFS(filepath.Join(other, "index", "search"))); err != nil {
			t.Fatal(err)
		}
		srv = startServer(t, dir)
		if log := srv.out.String(); !strings.Contains(log, "built from another log") {
			t.Errorf("the server did not notice the foreign index:\n%s", log)
		}
		check(t, srv.url)
		stop()
	})
	t.Run("reindex", func(t *testing.T) {
		res := mustRun(t, nil, "reindex", "--data", dir)
		if !strings.Contains(res.stdout, fmt.Sprintf("indexed %d events", events+6)) { // gen's, and the tail's 6
			t.Errorf("stele reindex: %q", res.stdout)
		}
		srv = startServer(t, dir)
		if got := indexedEvents(t, srv.url); got < events-events%65536 {
			t.Errorf("after reindex the server reports %d events indexed at start, want at least the sealed chunks", got)
		}
		check(t, srv.url)
		stop()
	})
}

// exportAll returns every record of the log, in seq order.
func exportAll(t *testing.T, url string) [][]byte {
	t.Helper()
	res := mustRun(t, nil, "export", "--url", url, "")
	var out [][]byte
	for line := range strings.Lines(res.stdout) {
		out = append(out, []byte(strings.TrimSuffix(line, "\n")))
	}
	return out
}

// bruteForce returns the seqs of the records matching text, ascending.
func bruteForce(t *testing.T, records [][]byte, text string) []uint64 {
	t.Helper()
	q, err := query.Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	m := query.Compile(q)
	var out []uint64
	for seq, rec := range records {
		ok, err := m.Match(rec)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			out = append(out, uint64(seq))
		}
	}
	return out
}

// seqsOf returns the seq of each NDJSON record.
func seqsOf(t *testing.T, ndjson []byte) []uint64 {
	t.Helper()
	var out []uint64
	sc := bufio.NewScanner(bytes.NewReader(ndjson))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec struct{ Seq uint64 }
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%v: %s", err, sc.Bytes())
		}
		out = append(out, rec.Seq)
	}
	return out
}

// indexedEvents reads stele_search_indexed_events from /metrics.
func indexedEvents(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^stele_search_indexed_events (\S+)$`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("/metrics has no stele_search_indexed_events")
	}
	f, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return int(f)
}

// waitIndexed waits (bounded) until the server's index covers n events.
func waitIndexed(t *testing.T, url string, n int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for indexedEvents(t, url) < n {
		if time.Now().After(deadline) {
			t.Fatalf("the index covers %d of %d events after 2 minutes", indexedEvents(t, url), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkSearchProofs runs `stele query --format json --proof` and verifies
// every hit's inclusion proof against the page's checkpoint, opened with the
// log's public key: a search answer an auditor can check.
func checkSearchProofs(t *testing.T, srv *server, text string) {
	res := mustRun(t, nil, "query", "--url", srv.url, "--format", "json", "--proof", "--limit", "20", text)
	var page api.SearchPage
	if err := json.Unmarshal([]byte(res.stdout), &page); err != nil {
		t.Fatalf("%v\n%s", err, res.stdout)
	}
	if len(page.Events) != 20 || len(page.Proofs) != 20 {
		t.Fatalf("%d events and %d proofs, want 20 each", len(page.Events), len(page.Proofs))
	}
	v, err := checkpoint.NewVerifier(srv.vkey)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := checkpoint.Open([]byte(page.Checkpoint), v.Name(), v)
	if err != nil {
		t.Fatalf("page checkpoint: %v", err)
	}
	if cp.Size != page.Size {
		t.Fatalf("checkpoint size %d, page size %d", cp.Size, page.Size)
	}
	for i, ev := range page.Events {
		p := page.Proofs[i]
		leaf := verify.LeafHash(ev)
		if base64.StdEncoding.EncodeToString(leaf[:]) != p.LeafHash {
			t.Fatalf("hit %d: leaf hash of the record differs from the proof's", i)
		}
		var path [][32]byte
		for _, h := range p.InclusionProof {
			b, err := base64.StdEncoding.DecodeString(h)
			if err != nil || len(b) != 32 {
				t.Fatalf("hit %d: bad proof hash %q", i, h)
			}
			path = append(path, [32]byte(b))
		}
		if err := verify.Inclusion(p.Seq, cp.Size, leaf, path, cp.Hash); err != nil {
			t.Fatalf("hit %d (seq %d): %v", i, p.Seq, err)
		}
		// A hit with one byte changed no longer verifies.
		bad := bytes.Clone(ev)
		bad[len(bad)/2] ^= 1
		if verify.Inclusion(p.Seq, cp.Size, verify.LeafHash(bad), path, cp.Hash) == nil {
			t.Fatalf("hit %d: a changed record still verifies", i)
		}
	}
}

// checkTail follows the live stream with a query, appends events, and
// expects exactly the matching ones.
func checkTail(t *testing.T, url string) {
	c, err := client.New(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan string, 10)
	go c.Tail(ctx, "action:e2e.tail outcome:failure", -1, func(_ uint64, entry []byte) error {
		var rec struct{ Message string }
		json.Unmarshal(entry, &rec)
		got <- rec.Message
		return nil
	})
	time.Sleep(300 * time.Millisecond) // let the stream connect
	var body bytes.Buffer
	for i := range 6 {
		outcome := "success"
		if i%2 == 1 {
			outcome = "failure"
		}
		fmt.Fprintf(&body, `{"action":"e2e.tail","outcome":%q,"message":"tail %d"}`+"\n", outcome, i)
	}
	mustRun(t, body.Bytes(), "append", "--url", url)
	for _, w := range []string{"tail 1", "tail 3", "tail 5"} {
		select {
		case m := <-got:
			if m != w {
				t.Fatalf("tail: got %q, want %q", m, w)
			}
		case <-ctx.Done():
			t.Fatalf("tail: %q never arrived", w)
		}
	}
}
