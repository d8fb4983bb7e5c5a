package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReceiptsOffline appends events with `stele append` (receipts with
// their canonical entries), stops the server, and checks that `stele
// receipt verify` accepts the receipts with no server running and refuses
// each kind of forged receipt, naming it.
func TestReceiptsOffline(t *testing.T) {
	work := t.TempDir()
	dir := filepath.Join(work, "data")
	srv := startServer(t, dir, "--origin", "e2e.test/receipts")
	gen := &eventGen{rng: rand.New(rand.NewPCG(3, 4)), prefix: "rcpt"}
	events := writeEvents(t, filepath.Join(work, "events.ndjson"), gen, 40)
	receipts := filepath.Join(work, "receipts.ndjson")
	// Batches of 7: receipts carry checkpoints of several sizes and
	// proofs of several lengths.
	mustRun(t, nil, "append", "--url", srv.url, "--batch", "7", "--entry", "--out", receipts, events)
	if code, took := srv.stop(30 * time.Second); code != 0 {
		t.Fatalf("stop: exit %d after %v", code, took)
	}
	pub := "@" + filepath.Join(dir, "key.pub")

	// The server is gone: verification uses only the receipts and the key.
	res := mustRun(t, nil, "receipt", "verify", receipts, "--key", pub)
	if !strings.Contains(res.stdout, "OK: 40 receipt(s) verified") {
		t.Fatalf("stele receipt verify: %q", res.stdout)
	}
	mustRun(t, nil, "receipt", "verify", receipts, "--key", srv.vkey)

	lines := bytes.Split(bytes.TrimSpace(readFile(t, receipts)), []byte("\n"))
	if len(lines) != 40 {
		t.Fatalf("%d receipts, want 40", len(lines))
	}
	const victim = 17 // 0-based; its batch has 7 events, so its proof is not empty
	otherKey := filepath.Join(work, "other.key")
	mustRun(t, nil, "keygen", "--origin", "e2e.test/receipts", "--out", otherKey)

	cases := []struct {
		name   string
		forge  func(t *testing.T, r map[string]any)
		key    string
		reason string // part of the failure message
	}{
		{name: "proof hash flipped", forge: func(t *testing.T, r map[string]any) {
			r["proof"] = editProofLine(t, r["proof"].(string), 2, flipBase64Bit)
		}, reason: "not included"},
		{name: "leaf hash flipped", forge: func(t *testing.T, r map[string]any) {
			r["leaf_hash"] = flipBase64Bit(t, r["leaf_hash"].(string))
		}, reason: "not included"},
		{name: "entry edited", forge: func(t *testing.T, r map[string]any) {
			r["entry"].(map[string]any)["message"] = "m-forged"
		}, reason: "hashes to"},
		{name: "seq changed", forge: func(t *testing.T, r map[string]any) {
			r["seq"] = r["seq"].(float64) + 1
		}, reason: "index"},
		{name: "checkpoint root changed", forge: func(t *testing.T, r map[string]any) {
			r["proof"] = editCheckpointLine(t, r["proof"].(string), 2, flipBase64Bit)
		}, reason: "signed checkpoint"},
		{name: "checkpoint signature changed", forge: func(t *testing.T, r map[string]any) {
			r["proof"] = editCheckpointLine(t, r["proof"].(string), 4, func(t *testing.T, line string) string {
				name, sig, _ := strings.Cut(strings.TrimPrefix(line, "— "), " ")
				return "— " + name + " " + flipBase64Bit(t, sig)
			})
		}, reason: "signed checkpoint"},
		{name: "verified with another key of the same name", forge: func(*testing.T, map[string]any) {}, key: "@" + otherKey + ".pub", reason: "signed checkpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forged := make([][]byte, len(lines))
			copy(forged, lines)
			var r map[string]any
			if err := json.Unmarshal(lines[victim], &r); err != nil {
				t.Fatal(err)
			}
			tc.forge(t, r)
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			forged[victim] = b
			file := filepath.Join(t.TempDir(), "forged.ndjson")
			writeFile(t, file, append(bytes.Join(forged, []byte("\n")), '\n'))
			key := pub
			if tc.key != "" {
				key = tc.key
			}
			res := runStele(t, nil, "receipt", "verify", file, "--key", key)
			t.Logf("exit %d: %s", res.code, strings.TrimSpace(res.stderr))
			if res.code != 1 {
				t.Fatalf("stele receipt verify: exit %d, want 1\n%s", res.code, res.stdout)
			}
			want := fmt.Sprintf("receipt %d ", victim+1)
			if tc.key != "" {
				want = "receipt 1 " // the wrong key fails the first receipt
			}
			if !strings.Contains(res.stderr, want) || !strings.Contains(res.stderr, tc.reason) {
				t.Errorf("stderr %q does not name %q and %q", res.stderr, want, tc.reason)
			}
		})
	}
}

// flipBase64Bit flips the lowest bit of the last byte a base64 string
// encodes (for a signature: inside the Ed25519 signature, not the key ID).
func flipBase64Bit(t *testing.T, s string) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) == 0 {
		t.Fatalf("%q is not base64: %v", s, err)
	}
	raw[len(raw)-1] ^= 1
	return base64.StdEncoding.EncodeToString(raw)
}

// editProofLine rewrites line i (0-based) of a C2SP tlog-proof:
// "c2sp.org/tlog-proof@v1", "index N", the hashes, "", the checkpoint.
func editProofLine(t *testing.T, proof string, i int, edit func(*testing.T, string) string) string {
	t.Helper()
	lines := strings.Split(proof, "\n")
	if i >= len(lines) || lines[i] == "" {
		t.Fatalf("tlog-proof has no line %d to edit:\n%s", i, proof)
	}
	lines[i] = edit(t, lines[i])
	return strings.Join(lines, "\n")
}

// editCheckpointLine rewrites line i of the signed checkpoint inside a
// tlog-proof: origin, size, root, "", signature.
func editCheckpointLine(t *testing.T, proof string, i int, edit func(*testing.T, string) string) string {
	t.Helper()
	head, cp, ok := strings.Cut(proof, "\n\n")
	if !ok {
		t.Fatalf("tlog-proof has no checkpoint:\n%s", proof)
	}
	lines := strings.Split(cp, "\n")
	if i >= len(lines) {
		t.Fatalf("checkpoint has no line %d:\n%s", i, cp)
	}
	lines[i] = edit(t, lines[i])
	return head + "\n\n" + strings.Join(lines, "\n")
}
