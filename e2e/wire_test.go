package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/verify"
)

// newHTTPClient returns a client that keeps up to conns connections to one
// server alive. It talks only to the URLs the tests give it (127.0.0.1).
func newHTTPClient(t testing.TB, conns int) *http.Client {
	tr := &http.Transport{
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
		IdleConnTimeout:     30 * time.Second,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 2 * time.Minute}
}

// reply is a complete HTTP response.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request and reads the whole response. A transport error
// (refused, reset, cut short) is returned as err.
func do(ctx context.Context, hc *http.Client, method, url, contentType string, body []byte) (reply, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return reply{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("reading the response: %w", err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// getJSON GETs url, requires 200 and decodes the JSON body into v.
func getJSON(t testing.TB, hc *http.Client, url string, v any) {
	t.Helper()
	rep, err := do(context.Background(), hc, http.MethodGet, url, "", nil)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if rep.status != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d: %s", url, rep.status, rep.body)
	}
	if err := json.Unmarshal(rep.body, v); err != nil {
		t.Fatalf("GET %s: %v in %q", url, err, rep.body)
	}
}

// checkErrorReply checks the shape of an error response: a JSON object with
// a non-empty "error" string.
func checkErrorReply(rep reply) error {
	var eb api.ErrorBody
	if ct := rep.header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("HTTP %d error has Content-Type %q, want application/json", rep.status, ct)
	}
	if err := json.Unmarshal(rep.body, &eb); err != nil || eb.Error == "" {
		return fmt.Errorf("HTTP %d error body %q is not {\"error\": \"...\"}", rep.status, rep.body)
	}
	return nil
}

// eventGen makes valid, varied events. Client ids are unique per prefix.
type eventGen struct {
	rng    *rand.Rand
	prefix string
	n      int
}

var (
	genActions  = []string{"user.login", "user.logout", "iam.policy.update", "deploy.start", "db.read", "api.call"}
	genOutcomes = []string{"success", "failure", "denied", "unknown"}
)

// next returns one event as a JSON object, and its client id when withID.
func (g *eventGen) next(withID bool) (event []byte, id string) {
	g.n++
	msg := make([]byte, g.rng.IntN(160))
	for i := range msg {
		msg[i] = 'a' + byte(g.rng.IntN(26))
	}
	b := fmt.Appendf(make([]byte, 0, 400),
		`{"action":%q,"actor":{"type":"user","id":"u-%d","ip":"10.%d.%d.%d"},"outcome":%q,"source":{"service":"e2e","host":"h-%d"},"message":"m-%s","attributes":{"n":%d,"gen":%q}`,
		genActions[g.rng.IntN(len(genActions))], g.rng.IntN(1000), g.rng.IntN(256), g.rng.IntN(256), g.rng.IntN(256),
		genOutcomes[g.rng.IntN(len(genOutcomes))], g.rng.IntN(10), msg, g.n, g.prefix)
	if withID {
		id = g.prefix + "-" + strconv.Itoa(g.n)
		b = fmt.Appendf(b, `,"id":%q`, id)
	}
	return append(b, '}'), id
}

// bodyKind is how a batch of events travels in POST /v1/events.
type bodyKind int

const (
	kindObject bodyKind = iota // one JSON object
	kindArray                  // a JSON array of objects
	kindNDJSON                 // one object per line, application/x-ndjson
)

// encodeBody renders events as a request body of the given kind.
func encodeBody(kind bodyKind, events [][]byte) (body []byte, contentType string) {
	switch kind {
	case kindObject:
		if len(events) != 1 {
			panic("kindObject takes exactly one event")
		}
		return events[0], "application/json"
	case kindArray:
		body = append([]byte{'['}, bytes.Join(events, []byte{','})...)
		return append(body, ']'), "application/json"
	default:
		return append(bytes.Join(events, []byte{'\n'}), '\n'), "application/x-ndjson"
	}
}

// postEvents appends events. A non-200 answer is returned in rep with a nil
// response; err is a transport error (the outcome is then unknown).
func postEvents(ctx context.Context, hc *http.Client, base string, kind bodyKind, events [][]byte, proof bool) (*api.AppendResponse, reply, error) {
	body, ct := encodeBody(kind, events)
	url := base + "/v1/events"
	if proof {
		url += "?proof=1"
	}
	rep, err := do(ctx, hc, http.MethodPost, url, ct, body)
	if err != nil || rep.status != http.StatusOK {
		return nil, rep, err
	}
	var resp api.AppendResponse
	if err := json.Unmarshal(rep.body, &resp); err != nil {
		return nil, rep, fmt.Errorf("decode append response: %w", err)
	}
	if len(resp.Events) != len(events) {
		return nil, rep, fmt.Errorf("%d events acknowledged for %d sent", len(resp.Events), len(events))
	}
	return &resp, rep, nil
}

// acked is one acknowledged event.
type acked struct {
	seq   uint64
	id    string
	leaf  [32]byte
	event []byte // the event as sent, kept when it has a client id
}

// ackedEvents checks an append response against what was sent (ids
// echoed, nothing a duplicate, seqs inside the checkpoint) and returns its
// events.
func ackedEvents(resp *api.AppendResponse, events [][]byte, ids []string) ([]acked, error) {
	out := make([]acked, len(events))
	for i, ev := range resp.Events {
		leaf, err := decodeHash(ev.LeafHash)
		if err != nil {
			return nil, fmt.Errorf("event %d: leaf_hash: %v", i, err)
		}
		if ev.Duplicate {
			return nil, fmt.Errorf("event %d (id %q) acknowledged as a duplicate, but its id was never sent before", i, ids[i])
		}
		if ids[i] != "" && ev.ID != ids[i] {
			return nil, fmt.Errorf("event %d sent with id %q acknowledged with id %q", i, ids[i], ev.ID)
		}
		if ev.Seq >= resp.Size {
			return nil, fmt.Errorf("event %d acknowledged at seq %d, outside its checkpoint of size %d", i, ev.Seq, resp.Size)
		}
		out[i] = acked{seq: ev.Seq, id: ev.ID, leaf: leaf}
		if ids[i] != "" {
			out[i].event = events[i]
		}
	}
	return out, nil
}

func decodeHash(s string) ([32]byte, error) {
	var h [32]byte
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("%q is not a base64 SHA-256 hash", s)
	}
	copy(h[:], b)
	return h, nil
}

func decodeHashes(t testing.TB, ss []string) [][32]byte {
	t.Helper()
	out := make([][32]byte, len(ss))
	for i, s := range ss {
		h, err := decodeHash(s)
		if err != nil {
			t.Fatalf("proof hash %d: %v", i, err)
		}
		out[i] = h
	}
	return out
}

// readLeaves pages through GET /v1/events from seq from on and returns the
// leaf hash of every entry in seq order. It checks that each page continues
// the last and that every record carries its own seq.
func readLeaves(t testing.TB, hc *http.Client, base string, from uint64) [][32]byte {
	t.Helper()
	var leaves [][32]byte
	for {
		next := from + uint64(len(leaves))
		url := base + "/v1/events?limit=10000&after_seq="
		if next > 0 {
			url += strconv.FormatUint(next-1, 10)
		}
		var page api.EventsPage
		getJSON(t, hc, url, &page)
		if len(page.Events) == 0 {
			return leaves
		}
		for i, rec := range page.Events {
			seq := next + uint64(i)
			// Canonical key order puts "seq" before "source" or "time",
			// and "time" is always present, so a comma follows it.
			if !bytes.Contains(rec, fmt.Appendf(nil, `"seq":%d,`, seq)) {
				t.Fatalf("GET %s: record %d does not carry seq %d: %s", url, i, seq, rec)
			}
			leaves = append(leaves, verify.LeafHash(rec))
		}
		if last := next + uint64(len(page.Events)) - 1; page.LastSeq == nil || *page.LastSeq != last {
			t.Fatalf("GET %s: last_seq %v, want %d", url, page.LastSeq, last)
		}
	}
}

// merkleRoot is the RFC 6962 tree hash of leaves, computed from scratch.
func merkleRoot(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	left, right := merkleRoot(leaves[:k]), merkleRoot(leaves[k:])
	var buf [65]byte
	buf[0] = 1
	copy(buf[1:], left[:])
	copy(buf[33:], right[:])
	return sha256.Sum256(buf[:])
}

// fetchCheckpoint GETs /checkpoint and opens it with the log's key.
func fetchCheckpoint(t testing.TB, hc *http.Client, base string, v note.Verifier) checkpoint.Checkpoint {
	t.Helper()
	rep, err := do(context.Background(), hc, http.MethodGet, base+"/checkpoint", "", nil)
	if err != nil || rep.status != http.StatusOK {
		t.Fatalf("GET /checkpoint: %v (HTTP %d)", err, rep.status)
	}
	cp, err := checkpoint.Open(rep.body, "", v)
	if err != nil {
		t.Fatalf("GET /checkpoint: %v\n%s", err, rep.body)
	}
	return cp
}

// checkpointNote GETs /checkpoint and returns the signed note as is.
func checkpointNote(t testing.TB, hc *http.Client, base string) string {
	t.Helper()
	rep, err := do(context.Background(), hc, http.MethodGet, base+"/checkpoint", "", nil)
	if err != nil || rep.status != http.StatusOK {
		t.Fatalf("GET /checkpoint: %v (HTTP %d)", err, rep.status)
	}
	return string(rep.body)
}

// checkAcked checks that every acknowledged event is in leaves at its seq
// with its acknowledged leaf hash, and reads a sample of them back one by
// one through GET /v1/events/{seq}.
func checkAcked(t testing.TB, hc *http.Client, base string, leaves [][32]byte, acks []acked, rng *rand.Rand) {
	t.Helper()
	bad := 0
	for _, a := range acks {
		switch {
		case a.seq >= uint64(len(leaves)):
			t.Errorf("acknowledged event seq %d (id %s) is gone: the log has %d entries", a.seq, a.id, len(leaves))
		case leaves[a.seq] != a.leaf:
			t.Errorf("acknowledged event seq %d (id %s): leaf hash %x, acknowledged %x", a.seq, a.id, leaves[a.seq], a.leaf)
		default:
			continue
		}
		if bad++; bad >= 10 {
			t.Fatalf("giving up after %d lost or altered events (of %d acknowledged)", bad, len(acks))
		}
	}
	for i := 0; i < 50 && len(acks) > 0; i++ {
		a := acks[rng.IntN(len(acks))]
		url := base + "/v1/events/" + strconv.FormatUint(a.seq, 10)
		rep, err := do(context.Background(), hc, http.MethodGet, url, "", nil)
		if err != nil || rep.status != http.StatusOK {
			t.Fatalf("GET %s: %v (HTTP %d %s)", url, err, rep.status, rep.body)
		}
		if got := verify.LeafHash(bytes.TrimSuffix(rep.body, []byte("\n"))); got != a.leaf {
			t.Errorf("GET %s: entry hashes to %x, acknowledged %x", url, got, a.leaf)
		}
	}
}

// checkCheckpoints checks that every checkpoint a client was handed verifies
// with the log's key and that the log now at cur is consistent with it: the
// server's consistency proof from its size to cur.Size verifies.
func checkCheckpoints(t testing.TB, hc *http.Client, base string, v note.Verifier, notes map[string]bool, cur checkpoint.Checkpoint) {
	t.Helper()
	bySize := make(map[uint64]checkpoint.Checkpoint)
	for n := range notes {
		cp, err := checkpoint.Open([]byte(n), "", v)
		if err != nil {
			t.Errorf("a checkpoint handed to a client does not verify: %v\n%s", err, n)
			continue
		}
		if old, ok := bySize[cp.Size]; ok && old.Hash != cp.Hash {
			t.Errorf("two signed checkpoints of size %d with different roots: %x and %x", cp.Size, old.Hash, cp.Hash)
		}
		if cp.Size > cur.Size {
			t.Errorf("a client was handed a checkpoint of size %d; the restarted log has only %d entries", cp.Size, cur.Size)
			continue
		}
		bySize[cp.Size] = cp
	}
	work := make(chan checkpoint.Checkpoint)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failures := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for cp := range work {
				err := checkConsistency(hc, base, cp, cur)
				if err != nil {
					mu.Lock()
					if failures++; failures <= 10 {
						t.Errorf("checkpoint of size %d: %v", cp.Size, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, cp := range bySize {
		work <- cp
	}
	close(work)
	wg.Wait()
}

// checkConsistency fetches the proof that old is a prefix of cur and
// verifies it.
func checkConsistency(hc *http.Client, base string, old, cur checkpoint.Checkpoint) error {
	url := fmt.Sprintf("%s/v1/proof/consistency?old=%d&new=%d", base, old.Size, cur.Size)
	rep, err := do(context.Background(), hc, http.MethodGet, url, "", nil)
	if err != nil {
		return err
	}
	if rep.status != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d: %s", url, rep.status, rep.body)
	}
	var p api.ConsistencyProof
	if err := json.Unmarshal(rep.body, &p); err != nil {
		return err
	}
	hashes := make([][32]byte, len(p.Proof))
	for i, s := range p.Proof {
		if hashes[i], err = decodeHash(s); err != nil {
			return err
		}
	}
	return verify.Consistency(old.Size, cur.Size, hashes, old.Hash, cur.Hash)
}

// resendDuplicates re-sends every acknowledged event that carried a client
// id and checks that each comes back as a duplicate at its original seq,
// and that the log did not grow.
func resendDuplicates(t testing.TB, hc *http.Client, base string, v note.Verifier, acks []acked) {
	t.Helper()
	before := fetchCheckpoint(t, hc, base, v)
	var batch [][]byte
	var want []acked
	resent := 0
	flush := func() {
		if len(batch) == 0 {
			return
		}
		resp, rep, err := postEvents(context.Background(), hc, base, kindNDJSON, batch, false)
		if err != nil || resp == nil {
			t.Fatalf("re-sending %d events: %v (HTTP %d %s)", len(batch), err, rep.status, rep.body)
		}
		for i, ev := range resp.Events {
			if !ev.Duplicate || ev.Seq != want[i].seq || ev.ID != want[i].id {
				t.Errorf("re-sent id %s (acknowledged at seq %d): got seq %d id %s duplicate=%v", want[i].id, want[i].seq, ev.Seq, ev.ID, ev.Duplicate)
			}
		}
		resent += len(batch)
		batch, want = batch[:0], want[:0]
	}
	for _, a := range acks {
		if a.event == nil {
			continue
		}
		batch, want = append(batch, a.event), append(want, a)
		if len(batch) == 200 {
			flush()
		}
	}
	flush()
	if after := fetchCheckpoint(t, hc, base, v); after.Size != before.Size {
		t.Errorf("re-sending %d duplicates grew the log from %d to %d entries", resent, before.Size, after.Size)
	}
}

// checkLog reads the whole log and checks it against the signed checkpoint
// and the acknowledged events.
func checkLog(t testing.TB, hc *http.Client, base string, v note.Verifier, acks []acked, rng *rand.Rand) {
	t.Helper()
	cp := fetchCheckpoint(t, hc, base, v)
	leaves := readLeaves(t, hc, base, 0)
	if uint64(len(leaves)) != cp.Size {
		t.Fatalf("GET /v1/events has %d entries, the checkpoint %d", len(leaves), cp.Size)
	}
	if root := merkleRoot(leaves); root != cp.Hash {
		t.Fatalf("the entries hash to %x, the signed checkpoint says %x", root, cp.Hash)
	}
	checkAcked(t, hc, base, leaves, acks, rng)
}
