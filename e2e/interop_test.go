package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// This file is an independent tlog-tiles client. Its verifying side uses
// golang.org/x/mod/sumdb/tlog and golang.org/x/mod/sumdb/note over plain
// net/http, and parses checkpoints and entry bundles by hand: nothing of
// stele's code checks stele here.

// sumdbHeight is the tile height of C2SP tlog-tiles, and of sumdb.
const sumdbHeight = 8

// sumdbToC2SP maps a sumdb tile path to the C2SP tlog-tiles path of the same
// tile: "tile/8/<L>/<N>[.p/<W>]" is "tile/<L>/<N>[.p/<W>]", and the data
// tile "tile/8/data/<N>[.p/<W>]" is the entry bundle
// "tile/entries/<N>[.p/<W>]". The <N>[.p/<W>] part is spelled the same way
// in both. Only height 8 has a C2SP equivalent.
func sumdbToC2SP(path string) (string, error) {
	rest, ok := strings.CutPrefix(path, "tile/8/")
	if !ok {
		return "", fmt.Errorf("%q is not a height-8 sumdb tile path", path)
	}
	level, coords, ok := strings.Cut(rest, "/")
	if !ok || coords == "" {
		return "", fmt.Errorf("%q has no tile coordinates", path)
	}
	if level == "data" {
		return "tile/entries/" + coords, nil
	}
	if l, err := strconv.Atoi(level); err != nil || l < 0 || strconv.Itoa(l) != level {
		return "", fmt.Errorf("%q: level %q is not a decimal number", path, level)
	}
	return "tile/" + rest, nil
}

// parseBundle splits a C2SP entry bundle: entries, each prefixed with its
// length as a big-endian uint16, filling the data exactly.
func parseBundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, errors.New("bundle ends inside a length prefix")
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data)-2 < n {
			return nil, fmt.Errorf("entry %d needs %d bytes, %d left", len(entries), n, len(data)-2)
		}
		entries = append(entries, data[2:2+n])
		data = data[2+n:]
	}
	return entries, nil
}

// parseCheckpointBody parses the text of a C2SP checkpoint (the body of the
// signed note): origin, decimal size without leading zeros, canonical
// base64 root hash, optional non-empty extension lines, every line ending
// in a newline.
func parseCheckpointBody(text string) (origin string, tree tlog.Tree, err error) {
	if !strings.HasSuffix(text, "\n") {
		return "", tlog.Tree{}, errors.New("checkpoint does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 || lines[0] == "" {
		return "", tlog.Tree{}, fmt.Errorf("checkpoint has %d lines or an empty origin", len(lines))
	}
	size := lines[1]
	if size == "" || size[0] == '+' || size[0] == '-' || (len(size) > 1 && size[0] == '0') {
		return "", tlog.Tree{}, fmt.Errorf("size %q is not canonical decimal", size)
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil {
		return "", tlog.Tree{}, fmt.Errorf("size %q: %v", size, err)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize || base64.StdEncoding.EncodeToString(raw) != lines[2] {
		return "", tlog.Tree{}, fmt.Errorf("root %q is not canonical base64 of %d bytes", lines[2], tlog.HashSize)
	}
	for i, ext := range lines[3:] {
		if ext == "" {
			return "", tlog.Tree{}, fmt.Errorf("extension line %d is empty", i+1)
		}
	}
	tree.N = n
	copy(tree.Hash[:], raw)
	return lines[0], tree, nil
}

// httpTiles is a tlog.TileReader over a tlog-tiles server.
type httpTiles struct {
	hc   *http.Client
	base string

	mu      sync.Mutex
	fetched map[string]bool // C2SP paths read
	saved   int             // tiles that tlog authenticated
}

func (h *httpTiles) Height() int { return sumdbHeight }

func (h *httpTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, tile := range tiles {
		var err error
		if data[i], err = h.get(tile); err != nil {
			return nil, err
		}
	}
	return data, nil
}

func (h *httpTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	h.mu.Lock()
	h.saved += len(tiles)
	h.mu.Unlock()
}

// get fetches one tile (or, for level -1, one entry bundle).
func (h *httpTiles) get(tile tlog.Tile) ([]byte, error) {
	path, err := sumdbToC2SP(tile.Path())
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodGet, h.base+"/"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := h.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /%s (sumdb %s): HTTP %d: %s", path, tile.Path(), resp.StatusCode, body.Bytes())
	}
	h.mu.Lock()
	h.fetched[path] = true
	h.mu.Unlock()
	return body.Bytes(), nil
}

// memHashes is a tlog.HashReader over every stored hash of a tree, in
// storage order, as tlog.StoredHashes produces them.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("stored hash %d not computed (have %d)", x, len(m))
		}
		out[i] = m[x]
	}
	return out, nil
}

// TestInteropWithSumdbTlog appends ~70,000 events in a few large batches,
// so that the tree has full level 0 tiles, a full level 1 tile and partial
// tiles at levels 0, 1 and 2, and then verifies the log as an independent
// tlog-tiles client would: the signed checkpoint with note.Open, every
// entry bundle and hash tile against tlog's own tree, record and tree
// proofs built by tlog.TileHashReader from served tiles, and stele's own
// proof endpoints against tlog's proofs.
func TestInteropWithSumdbTlog(t *testing.T) {
	batches, oldAfter, samples := []int{25000, 25000, 12345, 5000, 2655}, 3, 300
	if testing.Short() {
		batches, samples = []int{1000, 1000, 345, 500, 155}, 60
	}
	total := 0
	for _, n := range batches {
		total += n
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	srv := startServer(t, filepath.Join(t.TempDir(), "data"), "--origin", "e2e.test/interop", "--segment-size", "4194304")
	hc := newHTTPClient(t, 4)

	// Append, remembering the checkpoint from before the last batches.
	gen := &eventGen{rng: rng, prefix: "interop"}
	var oldNote []byte
	appendStart := time.Now()
	for i, n := range batches {
		if i == oldAfter {
			oldNote = []byte(checkpointNote(t, hc, srv.url))
		}
		events, ids := make([][]byte, n), make([]string, n)
		for j := range events {
			events[j], ids[j] = gen.next(j%7 == 0)
		}
		resp, rep, err := postEvents(context.Background(), hc, srv.url, kindNDJSON, events, false)
		if err != nil || resp == nil {
			t.Fatalf("append batch %d of %d events: %v (HTTP %d %.300s)", i, n, err, rep.status, rep.body)
		}
		if _, err := ackedEvents(resp, events, ids); err != nil {
			t.Fatalf("append batch %d: %v", i, err)
		}
	}
	t.Logf("appended %d events in %d requests in %v", total, len(batches), time.Since(appendStart).Round(time.Millisecond))

	// The checkpoints, opened with nothing but the published verifier key.
	var info struct {
		Origin      string `json:"origin"`
		VerifierKey string `json:"verifier_key"`
	}
	getJSON(t, hc, srv.url+"/v1/log", &info)
	verifier, err := note.NewVerifier(info.VerifierKey)
	if err != nil {
		t.Fatalf("GET /v1/log verifier_key %q: %v", info.VerifierKey, err)
	}
	openTree := func(what string, signed []byte) tlog.Tree {
		t.Helper()
		n, err := note.Open(signed, note.VerifierList(verifier))
		if err != nil {
			t.Fatalf("%s: note.Open: %v\n%s", what, err, signed)
		}
		origin, tree, err := parseCheckpointBody(n.Text)
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, n.Text)
		}
		if origin != info.Origin || origin != verifier.Name() {
			t.Fatalf("%s: origin %q; /v1/log says %q, the key is named %q", what, origin, info.Origin, verifier.Name())
		}
		return tree
	}
	newTree := openTree("GET /checkpoint", []byte(checkpointNote(t, hc, srv.url)))
	oldTree := openTree("the checkpoint saved before the last batches", oldNote)
	if want := sumInts(batches[:oldAfter]); newTree.N != int64(total) || oldTree.N != int64(want) {
		t.Fatalf("tree sizes %d and %d, want %d and %d", oldTree.N, newTree.N, want, total)
	}

	tr := &httpTiles{hc: hc, base: srv.url, fetched: make(map[string]bool)}
	entries, stored := recomputeTree(t, tr, newTree)
	checkServedTiles(t, tr, newTree, stored, total >= 1<<16)

	hr := tlog.TileHashReader(newTree, tr)
	checkRecordProofs(t, hc, srv.url, hr, entries, newTree, oldTree, samples, rng)
	checkTreeProofs(t, hc, srv.url, hr, newTree, oldTree, rng)
	if tr.saved == 0 {
		t.Errorf("tlog.TileHashReader authenticated no tile")
	}
	t.Logf("tlog verified %d entries and %d served tiles; TileHashReader authenticated %d tile reads", len(entries), len(tr.fetched), tr.saved)
}

func sumInts(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// recomputeTree downloads every entry bundle of tree, rebuilds the tree
// from the entries with tlog, and checks its root against the signed one.
// It returns the entries and every stored hash.
func recomputeTree(t *testing.T, tr *httpTiles, tree tlog.Tree) ([][]byte, memHashes) {
	t.Helper()
	var entries [][]byte
	var stored memHashes
	for k := int64(0); k*256 < tree.N; k++ {
		width := int(min(256, tree.N-k*256))
		tile := tlog.Tile{H: sumdbHeight, L: -1, N: k, W: width}
		data, err := tr.get(tile)
		if err != nil {
			t.Fatalf("entry bundle: %v", err)
		}
		bundle, err := parseBundle(data)
		if err != nil || len(bundle) != width {
			t.Fatalf("entry bundle %s: %d entries, want %d (%v)", tile.Path(), len(bundle), width, err)
		}
		for _, entry := range bundle {
			n := int64(len(entries))
			var rec struct{ Seq *int64 }
			if err := json.Unmarshal(entry, &rec); err != nil || rec.Seq == nil || *rec.Seq != n {
				t.Fatalf("entry %d in %s is not a record with seq %d: %v %.200s", n, tile.Path(), n, err, entry)
			}
			hs, err := tlog.StoredHashes(n, entry, stored)
			if err != nil {
				t.Fatalf("tlog.StoredHashes(%d): %v", n, err)
			}
			stored = append(stored, hs...)
			entries = append(entries, entry)
		}
	}
	root, err := tlog.TreeHash(tree.N, stored)
	if err != nil {
		t.Fatalf("tlog.TreeHash: %v", err)
	}
	if root != tree.Hash {
		t.Fatalf("tlog computes root %v from the %d served entries; the signed checkpoint says %v", root, tree.N, tree.Hash)
	}
	return entries, stored
}

// checkServedTiles compares every hash tile of tree, full and partial, with
// tlog's tile of the recomputed tree. With wantLevels it also checks that
// the tree has the shapes this test is about.
func checkServedTiles(t *testing.T, tr *httpTiles, tree tlog.Tree, stored memHashes, wantLevels bool) {
	t.Helper()
	full, partial := map[int]int{}, map[int]int{}
	for _, tile := range tlog.NewTiles(sumdbHeight, 0, tree.N) {
		want, err := tlog.ReadTileData(tile, stored)
		if err != nil {
			t.Fatalf("tlog.ReadTileData(%s): %v", tile.Path(), err)
		}
		got, err := tr.get(tile)
		if err != nil {
			t.Fatalf("hash tile: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("served %s differs from tlog's tile of the same tree", tile.Path())
		}
		if tile.W == 1<<sumdbHeight {
			full[tile.L]++
		} else {
			partial[tile.L]++
		}
	}
	t.Logf("hash tiles: full per level %v, partial per level %v", full, partial)
	if wantLevels && (full[0] == 0 || full[1] == 0 || partial[0] != 1 || partial[1] != 1 || partial[2] != 1) {
		t.Errorf("tree of size %d lacks full level 0 and 1 tiles or partial tiles at levels 0, 1 and 2", tree.N)
	}
}

// checkRecordProofs proves random entries (and the edges of the tiles) with
// tlog.ProveRecord over served tiles, checks the proofs with
// tlog.CheckRecord, and compares them with stele's /v1/proof/inclusion.
func checkRecordProofs(t *testing.T, hc *http.Client, base string, hr tlog.HashReader, entries [][]byte, newTree, oldTree tlog.Tree, samples int, rng *rand.Rand) {
	t.Helper()
	idx := []int64{0, 255, 256, oldTree.N - 1, newTree.N - 1}
	if newTree.N > 1<<16 {
		idx = append(idx, 1<<16-1, 1<<16)
	}
	for range samples {
		idx = append(idx, rng.Int64N(newTree.N))
	}
	for _, n := range idx {
		for _, tree := range []tlog.Tree{newTree, oldTree} {
			if n >= tree.N {
				continue
			}
			leaf := tlog.RecordHash(entries[n])
			proof, err := tlog.ProveRecord(tree.N, n, hr)
			if err != nil {
				t.Fatalf("tlog.ProveRecord(%d, %d): %v", tree.N, n, err)
			}
			if err := tlog.CheckRecord(proof, tree.N, tree.Hash, n, leaf); err != nil {
				t.Fatalf("tlog.CheckRecord(entry %d in tree %d): %v", n, tree.N, err)
			}
			var sp struct {
				LeafHash string   `json:"leaf_hash"`
				Proof    []string `json:"proof"`
				RootHash string   `json:"root_hash"`
			}
			getJSON(t, hc, fmt.Sprintf("%s/v1/proof/inclusion?seq=%d&size=%d", base, n, tree.N), &sp)
			if sp.LeafHash != leaf.String() || sp.RootHash != tree.Hash.String() {
				t.Errorf("/v1/proof/inclusion seq %d size %d: leaf %s root %s, tlog says leaf %v root %v", n, tree.N, sp.LeafHash, sp.RootHash, leaf, tree.Hash)
			}
			if got, want := strings.Join(sp.Proof, " "), joinHashes(proof); got != want {
				t.Errorf("/v1/proof/inclusion seq %d size %d:\n got  %s\n tlog %s", n, tree.N, got, want)
			}
		}
	}
}

// checkTreeProofs proves the old checkpoint a prefix of the new one with
// tlog.ProveTree, and compares stele's /v1/proof/consistency with tlog's
// proofs and tree hashes for that pair and some random pairs.
func checkTreeProofs(t *testing.T, hc *http.Client, base string, hr tlog.HashReader, newTree, oldTree tlog.Tree, rng *rand.Rand) {
	t.Helper()
	type pair struct{ old, new int64 }
	pairs := []pair{{oldTree.N, newTree.N}, {1, newTree.N}, {newTree.N, newTree.N}}
	for range 20 {
		b := 1 + rng.Int64N(newTree.N)
		pairs = append(pairs, pair{1 + rng.Int64N(b), b})
	}
	for _, p := range pairs {
		oldHash, err := tlog.TreeHash(p.old, hr)
		if err != nil {
			t.Fatalf("tlog.TreeHash(%d): %v", p.old, err)
		}
		newHash, err := tlog.TreeHash(p.new, hr)
		if err != nil {
			t.Fatalf("tlog.TreeHash(%d): %v", p.new, err)
		}
		if p.old == oldTree.N && oldHash != oldTree.Hash {
			t.Fatalf("tlog computes root %v for size %d from the new tree's tiles; the old signed checkpoint says %v", oldHash, p.old, oldTree.Hash)
		}
		proof, err := tlog.ProveTree(p.new, p.old, hr)
		if err != nil {
			t.Fatalf("tlog.ProveTree(%d, %d): %v", p.new, p.old, err)
		}
		if err := tlog.CheckTree(proof, p.new, newHash, p.old, oldHash); err != nil {
			t.Fatalf("tlog.CheckTree(%d, %d): %v", p.new, p.old, err)
		}
		var sp struct {
			Proof   []string `json:"proof"`
			OldRoot string   `json:"old_root"`
			NewRoot string   `json:"new_root"`
		}
		getJSON(t, hc, fmt.Sprintf("%s/v1/proof/consistency?old=%d&new=%d", base, p.old, p.new), &sp)
		if sp.OldRoot != oldHash.String() || sp.NewRoot != newHash.String() {
			t.Errorf("/v1/proof/consistency %d→%d: roots %s %s, tlog says %v %v", p.old, p.new, sp.OldRoot, sp.NewRoot, oldHash, newHash)
		}
		if got, want := strings.Join(sp.Proof, " "), joinHashes(proof); got != want {
			t.Errorf("/v1/proof/consistency %d→%d:\n got  %s\n tlog %s", p.old, p.new, got, want)
		}
	}
}

func joinHashes(hs []tlog.Hash) string {
	s := make([]string, len(hs))
	for i, h := range hs {
		s[i] = h.String()
	}
	return strings.Join(s, " ")
}
