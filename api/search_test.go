package api_test

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/query"
	"github.com/stele-log/stele/verify"
)

func seed(t *testing.T, url string, n int) {
	t.Helper()
	var lines []string
	for i := range n {
		outcome := "success"
		if i%4 == 0 {
			outcome = "failure"
		}
		lines = append(lines, fmt.Sprintf(`{"action":"user.login","actor":{"id":"u%d","ip":"10.0.0.%d"},"outcome":%q,"time":"2026-11-0%dT10:00:00Z","message":"login <number> & %d"}`, i%3, i%250, outcome, 1+i%5, i))
	}
	if status, _, raw := do(t, "POST", url+"/v1/events", "application/x-ndjson", []byte(strings.Join(lines, "\n"))); status != 200 {
		t.Fatalf("seed: %d %s", status, raw)
	}
}

func TestSearchAPI(t *testing.T) {
	srv, _ := newServer(t, 0)
	seed(t, srv.URL, 120)
	// Page through outcome:failure newest first with proofs.
	var seqs []uint64
	cursor := ""
	_, vkey := info(t, srv)
	v, _ := checkpoint.NewVerifier(vkey)
	for {
		url := srv.URL + "/v1/events?q=outcome:failure&limit=7&proof=1"
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		status, _, raw := do(t, "GET", url, "", nil)
		if status != 200 {
			t.Fatalf("search: %d %s", status, raw)
		}
		var page api.SearchPage
		if err := json.Unmarshal(raw, &page); err != nil {
			t.Fatal(err)
		}
		cp, err := checkpoint.Open([]byte(page.Checkpoint), origin, v)
		if err != nil || cp.Size != page.Size {
			t.Fatalf("page checkpoint: %v", err)
		}
		if len(page.Proofs) != len(page.Events) {
			t.Fatalf("%d proofs for %d events", len(page.Proofs), len(page.Events))
		}
		for i, ev := range page.Events {
			p := page.Proofs[i]
			if verify.LeafHash(ev) != mustHash(t, p.LeafHash) {
				t.Fatalf("proof %d is not for its event", i)
			}
			if err := verify.Inclusion(p.Seq, cp.Size, mustHash(t, p.LeafHash), hashes(t, p.InclusionProof), cp.Hash); err != nil {
				t.Fatalf("hit %d: %v", p.Seq, err)
			}
			seqs = append(seqs, p.Seq)
		}
		if page.NextCursor == "" {
			break
		}
		cursor = page.NextCursor
	}
	if len(seqs) != 30 || seqs[0] != 116 || seqs[29] != 0 {
		t.Fatalf("paged %d failures: first %d last %d", len(seqs), seqs[0], seqs[len(seqs)-1])
	}

	// since/until and order.
	status, _, raw := do(t, "GET", srv.URL+"/v1/events?q=actor:u1&since=2026-11-03&until=2026-11-04&order=asc", "", nil)
	var page api.SearchPage
	json.Unmarshal(raw, &page)
	if status != 200 || len(page.Events) != 8 {
		t.Fatalf("time-bounded search: %d, %d events: %s", status, len(page.Events), raw)
	}

	// Streamed exports.
	status, hdr, raw := do(t, "GET", srv.URL+"/v1/events?q=outcome:failure&format=ndjson", "", nil)
	if lines := strings.Split(strings.TrimSpace(string(raw)), "\n"); status != 200 || len(lines) != 30 || hdr.Get("Content-Type") != "application/x-ndjson" {
		t.Fatalf("ndjson export: %d, %d lines", status, len(lines))
	}
	status, _, raw = do(t, "GET", srv.URL+"/v1/events?q=outcome:failure&format=csv&order=asc", "", nil)
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if status != 200 || err != nil || len(rows) != 31 || rows[0][0] != "seq" || rows[1][0] != "0" || rows[1][5] != "failure" {
		t.Fatalf("csv export: %d %v rows %d: %v", status, err, len(rows), rows[:min(2, len(rows))])
	}

	// Stats.
	status, _, raw = do(t, "GET", srv.URL+"/v1/stats?q=action:user.login&by=outcome&interval=1d", "", nil)
	var st query.Stats
	if err := json.Unmarshal(raw, &st); err != nil || status != 200 {
		t.Fatalf("stats: %d %s", status, raw)
	}
	if st.Total != 120 || st.Values[0].Value != "success" || st.Values[0].Count != 90 || len(st.Buckets) != 5 || st.Buckets[0].Count != 24 {
		t.Fatalf("stats: %+v", st)
	}

	// Errors.
	for path, want := range map[string]int{
		"/v1/events?q=actor:%22unterminated":           400,
		"/v1/events?q=bogus:field":                     400,
		"/v1/events?order=sideways":                    400,
		"/v1/events?format=xml":                        400,
		"/v1/events?since=yesterday":                   400,
		"/v1/events?since=2026-11-04&until=2026-11-03": 400,
		"/v1/stats?q=x":                                400,
		"/v1/stats?by=time":                            400,
		"/v1/stats?interval=1ms":                       400,
	} {
		if status, _, raw := do(t, "GET", srv.URL+path, "", nil); status != want {
			t.Errorf("%s: %d, want %d: %s", path, status, want, raw)
		}
	}
}

func TestStreamAPI(t *testing.T) {
	srv, _ := newServer(t, 0)
	seed(t, srv.URL, 10)
	req, _ := http.NewRequest("GET", srv.URL+"/v1/events/stream?q=outcome:failure", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		seed(t, srv.URL, 8) // seqs 10..17; failures at 10 and 14 (i%4 == 0 for i = 0, 4)
	}()
	sc := bufio.NewScanner(resp.Body)
	var ids []string
	deadline := time.After(5 * time.Second)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for len(ids) < 2 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stream ended early")
			}
			if id, found := strings.CutPrefix(l, "id: "); found {
				ids = append(ids, id)
			}
		case <-deadline:
			t.Fatalf("stream delivered %v", ids)
		}
	}
	if ids[0] != "10" || ids[1] != "14" {
		t.Fatalf("stream ids %v, want [10 14]", ids)
	}
}

// TestExportErrors: an export that fails before its first row gets a real
// status and a JSON error, and one with no match is a valid empty file.
func TestExportErrors(t *testing.T) {
	srv, _ := newServer(t, 0)
	seed(t, srv.URL, 20)
	for _, format := range []string{"csv", "ndjson"} {
		status, hdr, raw := do(t, "GET", srv.URL+"/v1/events?q=outcome:failure&format="+format+"&cursor=garbage", "", nil)
		if status != 400 || !strings.Contains(string(raw), `"error"`) || hdr.Get("Content-Disposition") != "" {
			t.Errorf("%s export with a bad cursor: %d %q %s", format, status, hdr.Get("Content-Disposition"), raw)
		}
	}
	status, _, raw := do(t, "GET", srv.URL+"/v1/events?q=action:nothing.here&format=csv", "", nil)
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if status != 200 || err != nil || len(rows) != 1 || rows[0][0] != "seq" {
		t.Errorf("csv export of no match: %d %v %q", status, err, raw)
	}
	if status, _, raw := do(t, "GET", srv.URL+"/v1/events?format=ndjson&limit=0", "", nil); status != 400 || !strings.Contains(string(raw), "exports have no maximum") {
		t.Errorf("export limit=0: %d %s", status, raw)
	}
	if status, _, raw := do(t, "GET", srv.URL+"/v1/events/stream", "", nil, "Last-Event-ID", "18446744073709551615"); status != 400 {
		t.Errorf("Last-Event-ID at the largest uint64: %d %s", status, raw)
	}
}
