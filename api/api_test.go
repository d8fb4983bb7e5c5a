package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/query"
	"github.com/stele-log/stele/storage/local"
	"github.com/stele-log/stele/tiles"
	"github.com/stele-log/stele/verify"
)

const origin = "api.test/stele"

func newServer(t *testing.T, maxBody int64) (*httptest.Server, *local.Log) {
	t.Helper()
	reg := prometheus.NewRegistry()
	l, err := local.Open(context.Background(), "/data", local.Options{Origin: origin, FS: fsx.NewMem(), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Log: l, Registry: reg, MaxBodyBytes: maxBody, Search: query.NewEngine(l, nil)}))
	t.Cleanup(func() { srv.Close(); l.Close() })
	return srv, l
}

func do(t *testing.T, method, url, contentType string, body []byte, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, raw
}

func ev(action, id string) string {
	if id != "" {
		return fmt.Sprintf(`{"action":%q,"id":%q,"actor":{"id":"alice"}}`, action, id)
	}
	return fmt.Sprintf(`{"action":%q,"actor":{"id":"alice"}}`, action)
}

func TestAppendFormats(t *testing.T) {
	srv, _ := newServer(t, 0)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(ev("a.gz", "") + "\n" + ev("b.gz", "")))
	zw.Close()
	tests := []struct {
		name        string
		contentType string
		body        []byte
		headers     []string
		wantEvents  int
	}{
		{name: "one object", contentType: "application/json", body: []byte(ev("user.login", "")), wantEvents: 1},
		{name: "array", contentType: "application/json", body: []byte("[" + ev("a.b", "") + "," + ev("c.d", "") + "]"), wantEvents: 2},
		{name: "ndjson", contentType: "application/x-ndjson", body: []byte(ev("a.b", "") + "\n\n" + ev("c.d", "") + "\n" + ev("e.f", "") + "\n"), wantEvents: 3},
		{name: "ndjson charset", contentType: "application/x-ndjson; charset=utf-8", body: []byte(ev("a.b", "") + "\n" + ev("c.d", "")), wantEvents: 2},
		{name: "gzip ndjson", contentType: "application/x-ndjson", body: gz.Bytes(), headers: []string{"Content-Encoding", "gzip"}, wantEvents: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, raw := do(t, "POST", srv.URL+"/v1/events", tc.contentType, tc.body, tc.headers...)
			if status != 200 || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("status %d %s: %s", status, hdr.Get("Content-Type"), raw)
			}
			var resp api.AppendResponse
			if err := json.Unmarshal(raw, &resp); err != nil {
				t.Fatalf("response is not JSON: %v: %s", err, raw)
			}
			if len(resp.Events) != tc.wantEvents {
				t.Fatalf("%d events acknowledged, want %d", len(resp.Events), tc.wantEvents)
			}
			if _, _, err := checkpoint.Parse([]byte(resp.Checkpoint[:strings.Index(resp.Checkpoint, "\n\n")+1])); err != nil {
				t.Fatalf("checkpoint in response: %v", err)
			}
		})
	}
}

func TestAppendErrors(t *testing.T) {
	srv, l := newServer(t, 4096)
	tests := []struct {
		name        string
		contentType string
		body        string
		headers     []string
		wantStatus  int
		wantInError string
	}{
		{name: "bad event in batch", contentType: "application/x-ndjson", body: ev("ok.one", "") + "\n" + `{"action":"BAD"}`, wantStatus: 400, wantInError: "line 2"},
		{name: "unknown field", contentType: "application/json", body: `{"action":"a.b","acter":{}}`, wantStatus: 400, wantInError: "acter"},
		{name: "not json", contentType: "application/json", body: `hello`, wantStatus: 400},
		{name: "empty", contentType: "application/json", body: ``, wantStatus: 400, wantInError: "no events"},
		{name: "body too large", contentType: "application/x-ndjson", body: strings.Repeat(ev("a.b", "")+"\n", 200), wantStatus: 413, wantInError: "4096"},
		{name: "bad encoding", contentType: "application/json", body: ev("a.b", ""), headers: []string{"Content-Encoding", "br"}, wantStatus: 400, wantInError: "Content-Encoding"},
		{name: "bad proof param", contentType: "application/json", body: ev("a.b", ""), wantStatus: 400, wantInError: "proof"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := srv.URL + "/v1/events"
			if tc.name == "bad proof param" {
				url += "?proof=maybe"
			}
			before := l.Size()
			status, hdr, raw := do(t, "POST", url, tc.contentType, []byte(tc.body), tc.headers...)
			if status != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tc.wantStatus, raw)
			}
			var eb api.ErrorBody
			if err := json.Unmarshal(raw, &eb); err != nil || eb.Error == "" || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("error body %q is not {\"error\": ...}", raw)
			}
			if !strings.Contains(eb.Error, tc.wantInError) {
				t.Fatalf("error %q does not mention %q", eb.Error, tc.wantInError)
			}
			if l.Size() != before {
				t.Fatalf("a rejected batch appended %d events", l.Size()-before)
			}
		})
	}
}

func TestEntryTooLarge(t *testing.T) {
	srv, _ := newServer(t, 0)
	big := fmt.Sprintf(`{"action":"a.b","message":%q}`, strings.Repeat("x", 70000))
	status, _, raw := do(t, "POST", srv.URL+"/v1/events", "application/json", []byte(big))
	if status != 413 || !strings.Contains(string(raw), "65535") {
		t.Fatalf("status %d: %s", status, raw)
	}
}

func TestReadsAndProofs(t *testing.T) {
	srv, _ := newServer(t, 0)
	var lines []string
	for i := range 600 {
		lines = append(lines, ev("user.login", fmt.Sprintf("id-%d", i)))
	}
	status, _, raw := do(t, "POST", srv.URL+"/v1/events?proof=1", "application/x-ndjson", []byte(strings.Join(lines, "\n")))
	if status != 200 {
		t.Fatalf("append: %d %s", status, raw)
	}
	var resp api.AppendResponse
	json.Unmarshal(raw, &resp)
	_, vkey := info(t, srv)
	v, _ := checkpoint.NewVerifier(vkey)
	cp, err := checkpoint.Open([]byte(resp.Checkpoint), origin, v)
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	// Every acknowledged event carries a proof that verifies offline.
	for _, e := range resp.Events {
		leaf := mustHash(t, e.LeafHash)
		var proof [][32]byte
		for _, p := range e.InclusionProof {
			proof = append(proof, mustHash(t, p))
		}
		if err := verify.Inclusion(e.Seq, cp.Size, leaf, proof, cp.Hash); err != nil {
			t.Fatalf("event %d: %v", e.Seq, err)
		}
	}

	// GET by seq and by id return the sealed bytes.
	status, hdr, entry := do(t, "GET", srv.URL+"/v1/events/17", "", nil)
	if status != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("GET seq: %d", status)
	}
	if verify.LeafHash(bytes.TrimSuffix(entry, []byte("\n"))) != mustHash(t, resp.Events[17].LeafHash) {
		t.Fatalf("GET /v1/events/17 is not the sealed entry")
	}
	status, _, byID := do(t, "GET", srv.URL+"/v1/events/id/id-17", "", nil)
	if status != 200 || !bytes.Equal(byID, entry) {
		t.Fatalf("GET by id: %d %s", status, byID)
	}

	// Range reads for followers.
	status, _, raw = do(t, "GET", srv.URL+"/v1/events?after_seq=589&limit=100", "", nil)
	var page api.EventsPage
	if err := json.Unmarshal(raw, &page); err != nil || status != 200 || len(page.Events) != 10 || *page.LastSeq != 599 || page.Size != 600 {
		t.Fatalf("range read: %d %v %s", status, err, raw)
	}
	status, _, raw = do(t, "GET", srv.URL+"/v1/events?limit=3&after_seq=", "", nil)
	json.Unmarshal(raw, &page)
	if status != 200 || len(page.Events) != 3 || *page.LastSeq != 2 {
		t.Fatalf("first page: %s", raw)
	}

	// Inclusion and consistency proofs from the JSON API.
	status, _, raw = do(t, "GET", srv.URL+"/v1/proof/inclusion?seq=300&size=450", "", nil)
	var ip api.InclusionProof
	if err := json.Unmarshal(raw, &ip); err != nil || status != 200 {
		t.Fatalf("inclusion: %d %s", status, raw)
	}
	if err := verify.Inclusion(300, 450, mustHash(t, ip.LeafHash), hashes(t, ip.Proof), mustHash(t, ip.RootHash)); err != nil {
		t.Fatal(err)
	}
	status, _, raw = do(t, "GET", srv.URL+"/v1/proof/consistency?old=123", "", nil)
	var cpf api.ConsistencyProof
	if err := json.Unmarshal(raw, &cpf); err != nil || status != 200 || cpf.New != 600 || cpf.Checkpoint == "" {
		t.Fatalf("consistency: %d %s", status, raw)
	}
	if err := verify.Consistency(123, 600, hashes(t, cpf.Proof), mustHash(t, cpf.OldRoot), cp.Hash); err != nil {
		t.Fatal(err)
	}

	// tlog-tiles resources.
	status, hdr, note := do(t, "GET", srv.URL+"/checkpoint", "", nil)
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") || string(note) != resp.Checkpoint {
		t.Fatalf("/checkpoint: %d %q", status, note)
	}
	status, hdr, tile := do(t, "GET", srv.URL+"/tile/0/001", "", nil)
	if status != 200 || len(tile) != 8192 || !strings.Contains(hdr.Get("Cache-Control"), "immutable") {
		t.Fatalf("full tile: %d %d", status, len(tile))
	}
	status, _, tile = do(t, "GET", srv.URL+"/tile/0/002.p/88", "", nil)
	if status != 200 || len(tile) != 88*32 {
		t.Fatalf("partial tile: %d %d", status, len(tile))
	}
	status, _, bundle := do(t, "GET", srv.URL+"/tile/entries/002.p/88", "", nil)
	entries, err := tiles.ParseBundle(bundle)
	if status != 200 || err != nil || len(entries) != 88 {
		t.Fatalf("entry bundle: %d %v %d", status, err, len(entries))
	}
	for i, e := range entries {
		if verify.LeafHash(e) != [32]byte(tile[i*32:i*32+32]) {
			t.Fatalf("bundle entry %d does not hash to tile hash %d", i, i)
		}
	}
}

func TestReadErrors(t *testing.T) {
	srv, _ := newServer(t, 0)
	do(t, "POST", srv.URL+"/v1/events", "application/json", []byte(ev("a.b", "")))
	tests := []struct {
		path string
		want int
	}{
		{"/v1/events/1", 404},
		{"/v1/events/abc", 400},
		{"/v1/events/01", 400},
		{"/v1/events/id/nope", 404},
		{"/v1/events?limit=0", 400},
		{"/v1/events?after_seq=-1", 400},
		{"/v1/proof/inclusion?seq=5", 404},
		{"/v1/proof/inclusion", 400},
		{"/v1/proof/consistency?old=2", 400},
		{"/tile/0/000", 404},     // only a partial tile exists
		{"/tile/0/000.p/2", 404}, // wider than the checkpoint
		{"/tile/0/0000", 404},    // malformed path
		{"/tile/entries/x", 404}, // malformed path
		{"/nothing/here", 404},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			status, hdr, raw := do(t, "GET", srv.URL+tc.path, "", nil)
			if status != tc.want {
				t.Fatalf("status %d, want %d: %s", status, tc.want, raw)
			}
			var eb api.ErrorBody
			if json.Unmarshal(raw, &eb) != nil || eb.Error == "" || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("not a JSON error: %s", raw)
			}
		})
	}
}

func TestHealthAndMetrics(t *testing.T) {
	srv, _ := newServer(t, 0)
	do(t, "POST", srv.URL+"/v1/events", "application/json", []byte(ev("a.b", "")))
	status, _, raw := do(t, "GET", srv.URL+"/healthz", "", nil)
	if status != 200 || !strings.Contains(string(raw), `"status":"ok"`) {
		t.Fatalf("healthz: %d %s", status, raw)
	}
	status, _, raw = do(t, "GET", srv.URL+"/metrics", "", nil)
	for _, want := range []string{"stele_appended_events_total 1", "stele_fsync_seconds_bucket", "stele_checkpoint_seconds", "stele_commit_group_events", "stele_append_batch_events", "stele_log_size 1", `stele_http_requests_total{code="200",route="append"} 1`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if status != 200 {
		t.Fatalf("metrics: %d", status)
	}
}

func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 200},
		{fmt.Errorf("x: %w", stele.ErrInvalid), 400},
		{stele.ErrTooLarge, 413},
		{stele.ErrNotFound, 404},
		{stele.ErrDiskFull, 507},
		{stele.ErrUnavailable, 503},
		{stele.ErrClosed, 503},
		{stele.ErrFailed, 503},
		{&stele.CorruptionError{File: "f", Offset: 1, Seq: 2, Reason: "r"}, 500},
		{context.Canceled, 503},
		{errors.New("anything else"), 500},
	}
	for _, tc := range tests {
		if got := api.StatusOf(tc.err); got != tc.want {
			t.Errorf("StatusOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func info(t *testing.T, srv *httptest.Server) (api.LogInfo, string) {
	t.Helper()
	_, _, raw := do(t, "GET", srv.URL+"/v1/log", "", nil)
	var li api.LogInfo
	if err := json.Unmarshal(raw, &li); err != nil || li.Origin != origin {
		t.Fatalf("/v1/log: %s", raw)
	}
	return li, li.VerifierKey
}

func mustHash(t *testing.T, s string) [32]byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad hash %q", s)
	}
	return [32]byte(b)
}

func hashes(t *testing.T, ss []string) [][32]byte {
	var out [][32]byte
	for _, s := range ss {
		out = append(out, mustHash(t, s))
	}
	return out
}
