package e2e

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// firstSegment is the segment file of a log that never rolled over.
var firstSegment = filepath.Join("segments", "00000000000000000000.seg")

// namesFile matches the location part of a stele corruption error,
// "(file F, offset O, seq S)" with offset and seq optional.
var namesFile = regexp.MustCompile(`\(file ([^,)]+)(?:, offset (\d+))?(?:, seq (\d+))?\)`)

// TestTamperIsCaught scripts the README tour with the real CLI: append with
// receipts, verify them, stop, then damage copies of the data directory the
// way an attacker with disk access would and check who notices.
func TestTamperIsCaught(t *testing.T) {
	work := t.TempDir()
	dir := filepath.Join(work, "data")
	srv := startServer(t, dir, "--origin", "e2e.test/tamper")
	gen := &eventGen{rng: rand.New(rand.NewPCG(7, 7)), prefix: "tamper"}
	events := writeEvents(t, filepath.Join(work, "events.ndjson"), gen, 300)
	tail := writeEvents(t, filepath.Join(work, "tail.ndjson"), gen, 6)
	receipts := filepath.Join(work, "receipts.ndjson")
	tailReceipts := filepath.Join(work, "tail-receipts.ndjson")
	// Three requests of 100 (one checkpoint each), then six of one event,
	// each sealed by its own checkpoint frame right behind it.
	mustRun(t, nil, "append", "--url", srv.url, "--batch", "100", "--out", receipts, events)
	mustRun(t, nil, "append", "--url", srv.url, "--batch", "1", "--out", tailReceipts, tail)
	pub := "@" + filepath.Join(dir, "key.pub")
	for file, n := range map[string]int{receipts: 300, tailReceipts: 6} {
		res := mustRun(t, nil, "receipt", "verify", file, "--key", pub)
		if want := fmt.Sprintf("OK: %d receipt(s) verified", n); !strings.Contains(res.stdout, want) {
			t.Errorf("stele receipt verify %s: %q, want %q", filepath.Base(file), res.stdout, want)
		}
	}
	state := filepath.Join(work, "audit.state")
	mustRun(t, nil, "verify", "--url", srv.url, "--key", pub, "--state", state)
	if code, took := srv.stop(30 * time.Second); code != 0 {
		t.Fatalf("stop: exit status %d after %v", code, took)
	}
	vkey := srv.vkey
	mustRun(t, nil, "verify", "--data", dir, "--key", vkey)

	// A careful attacker edits an event and fixes the frame's CRC-32C, so
	// that only the Merkle tree can tell.
	t.Run("edit under a full tile, CRC fixed", func(t *testing.T) {
		editEntry(t, dir, vkey, 100)
	})
	t.Run("edit in the unsealed tail of the tree, CRC fixed", func(t *testing.T) {
		// seq 302 is not covered by a full tile; the checkpoint frame
		// right behind it seals exactly it and its predecessors.
		editEntry(t, dir, vkey, 302)
	})
	// Acknowledged, sealed entries cut off, with ever more of the evidence.
	t.Run("truncate inside a sealed entry", func(t *testing.T) {
		truncateSealed(t, dir, vkey, state, nil, true)
	})
	t.Run("truncate, and delete what format.md calls rebuildable", func(t *testing.T) {
		truncateSealed(t, dir, vkey, state, []string{"tile", "index", "segments/*.idx"}, true)
	})
	t.Run("truncate, and delete every derived file", func(t *testing.T) {
		// Nothing on disk is left to tell a cut-off tail from a torn one:
		// only an auditor who remembers a checkpoint can.
		truncateSealed(t, dir, vkey, state, []string{"tile", "index", "segments/*.idx", "tiles.synced"}, false)
	})
	t.Run("history rewritten under the same key", func(t *testing.T) {
		rewriteHistory(t, gen)
	})
}

// editEntry changes one byte of the entry at seq in a copy of dir, keeping
// it valid canonical JSON and fixing its frame checksum, and checks that
// `stele verify --data` fails naming the segment, an offset and seq, and
// that `stele serve` refuses the copy.
func editEntry(t *testing.T, dir, vkey string, seq uint64) {
	cp := copyDir(t, dir)
	path := filepath.Join(cp, firstSegment)
	data := readFile(t, path)
	_, frames, err := parseSegment(data)
	if err != nil {
		t.Fatalf("%s: %v", firstSegment, err)
	}
	fr, ok := entryFrame(frames, seq)
	if !ok {
		t.Fatalf("%s has no entry %d", firstSegment, seq)
	}
	i := bytes.Index(fr.payload, []byte(`"message":"m-`))
	if i < 0 {
		t.Fatalf("entry %d has no message: %s", seq, fr.payload)
	}
	pos := fr.off + frameHeaderSize + i + len(`"message":"`)
	data[pos] = 'n' // "m-..." becomes "n-...": still a valid, canonical record
	resealFrame(data, fr.off)
	if _, _, err := parseSegment(data); err != nil {
		t.Fatalf("the edit broke the framing, so it tests the CRC, not the Merkle tree: %v", err)
	}
	writeFile(t, path, data)

	res := runStele(t, nil, "verify", "--data", cp, "--key", vkey)
	t.Logf("stele verify --data (entry %d edited at byte %d of %s): exit %d: %s", seq, pos, firstSegment, res.code, strings.TrimSpace(res.stderr))
	if res.code != 1 {
		t.Fatalf("stele verify --data: exit %d, want 1\nstdout: %s", res.code, res.stdout)
	}
	// The location stele appends to the error names the entry's frame.
	all := namesFile.FindAllStringSubmatch(res.stderr, -1)
	if len(all) == 0 {
		t.Fatalf("stele verify --data names no file")
	}
	loc := all[len(all)-1]
	if want := []string{firstSegment, strconv.Itoa(fr.off), strconv.FormatUint(seq, 10)}; !slices.Equal(loc[1:], want) {
		t.Errorf("stele verify --data names (file, offset, seq) = %q, want %q: the edited entry's frame", loc[1:], want)
	}
	if s, err := launchServer(t, cp); err == nil {
		s.kill()
		t.Errorf("stele serve started on a log whose entry %d was edited", seq)
	} else {
		t.Logf("stele serve refused: %s", lastLine(err.Error()))
	}
}

// truncateSealed cuts the newest segment of a copy of dir in the middle of
// entry 150, which the checkpoint frame at size 200 had sealed, so that
// entries the log acknowledged (and that receipts prove) are gone, and
// deletes the files matching the globs in remove. With mustNotice, `stele
// serve` must refuse the copy or `stele verify --data` fail, naming a file.
// If the server starts, an auditor's `stele verify --url --state` must fail.
func truncateSealed(t *testing.T, dir, vkey, state string, remove []string, mustNotice bool) {
	const seq = 150
	cp := copyDir(t, dir)
	path := filepath.Join(cp, firstSegment)
	_, frames, err := parseSegment(readFile(t, path))
	if err != nil {
		t.Fatal(err)
	}
	fr, ok := entryFrame(frames, seq)
	if !ok {
		t.Fatalf("no entry %d", seq)
	}
	cut := int64(fr.off + frameHeaderSize + len(fr.payload)/2)
	if err := os.Truncate(path, cut); err != nil {
		t.Fatal(err)
	}
	for _, glob := range remove {
		matches, _ := filepath.Glob(filepath.Join(cp, glob))
		for _, p := range matches {
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
		}
	}

	// verify first: serve would cut the "torn tail" off the copy.
	res := runStele(t, nil, "verify", "--data", cp, "--key", vkey)
	t.Logf("cut %s at offset %d (inside entry %d, sealed at size 200; the log had 306)", firstSegment, cut, seq)
	t.Logf("stele verify --data: exit %d: %s%s", res.code, strings.TrimSpace(res.stderr), strings.TrimSpace(res.stdout))
	s, serr := launchServer(t, cp, "--listen", "127.0.0.1:0")
	if serr != nil {
		t.Logf("stele serve: refused: %s", lastLine(serr.Error()))
	} else {
		t.Logf("stele serve: started, serving %s", s.url)
	}
	noticed := false
	for who, out := range map[string]string{"stele verify --data": res.stderr, "stele serve": errText(serr)} {
		if out == "" || (who == "stele verify --data" && res.code == 0) {
			continue
		}
		noticed = true
		if !namesFile.MatchString(out) {
			t.Errorf("%s failed without naming the damaged file", who)
		}
	}
	if !noticed && mustNotice {
		t.Errorf("neither stele serve nor stele verify --data noticed that acknowledged entries %d..305 are gone", seq)
	}
	if s == nil {
		return
	}
	// Whatever the server thinks, an auditor who remembers a checkpoint
	// must see that the log no longer extends it.
	st := filepath.Join(t.TempDir(), "audit.state")
	writeFile(t, st, readFile(t, state))
	res = runStele(t, nil, "verify", "--url", s.url, "--key", vkey, "--state", st)
	t.Logf("stele verify --url --state (remembering size 306): exit %d: %s", res.code, strings.TrimSpace(res.stderr))
	if res.code != 1 {
		t.Errorf("stele verify --url --state accepted a log that lost sealed entries: exit %d\n%s", res.code, res.stdout)
	}
	s.kill()
}

// rewriteHistory replaces a log by a different one signed with the same
// key, served at the same address, and checks that an auditor with a
// remembered checkpoint catches it while one without does not.
func rewriteHistory(t *testing.T, gen *eventGen) {
	work := t.TempDir()
	key := filepath.Join(work, "log.key")
	const origin = "e2e.test/rewrite"
	mustRun(t, nil, "keygen", "--origin", origin, "--out", key)
	pub := "@" + key + ".pub"
	dir := filepath.Join(work, "data")
	first := startServer(t, dir, "--key-file", key, "--origin", origin)
	mustRun(t, nil, "append", "--url", first.url, "--out", os.DevNull, writeEvents(t, filepath.Join(work, "a.ndjson"), gen, 20))
	state := filepath.Join(work, "audit.state")
	mustRun(t, nil, "verify", "--url", first.url, "--key", pub, "--state", state)
	remembered := readFile(t, state)
	addr := strings.TrimPrefix(first.url, "http://")
	if code, _ := first.stop(30 * time.Second); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}

	// The forger builds another log with the same key and more events...
	forged := filepath.Join(work, "forged")
	f := startServer(t, forged, "--key-file", key, "--origin", origin)
	mustRun(t, nil, "append", "--url", f.url, "--out", os.DevNull, writeEvents(t, filepath.Join(work, "b.ndjson"), gen, 40))
	if code, _ := f.stop(30 * time.Second); code != 0 {
		t.Fatalf("stop: exit %d", code)
	}
	// ...puts it in place of the real one and serves it at the same address.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(forged, dir); err != nil {
		t.Fatal(err)
	}
	swapped := startServer(t, dir, "--key-file", key, "--origin", origin, "--listen", addr)

	res := runStele(t, nil, "verify", "--url", swapped.url, "--key", pub, "--state", state)
	t.Logf("stele verify --url --state after the swap: exit %d: %s", res.code, strings.TrimSpace(res.stderr))
	if res.code != 1 {
		t.Errorf("stele verify --url --state accepted a rewritten history: exit %d\n%s", res.code, res.stdout)
	}
	if !bytes.Equal(readFile(t, state), remembered) {
		t.Errorf("the failed verification overwrote the state file")
	}
	// Without a remembered checkpoint the forgery is a valid log: the
	// state is what catches it.
	res = runStele(t, nil, "verify", "--url", swapped.url, "--key", pub)
	if res.code != 0 {
		t.Errorf("stele verify --url without --state: exit %d, want 0 (the forged log is self-consistent)\n%s", res.code, res.stderr)
	}
}

// writeEvents writes n events as NDJSON (a third with client ids) and
// returns the file's path.
func writeEvents(t testing.TB, path string, gen *eventGen, n int) string {
	t.Helper()
	var buf bytes.Buffer
	for i := range n {
		ev, _ := gen.next(i%3 == 0)
		buf.Write(ev)
		buf.WriteByte('\n')
	}
	writeFile(t, path, buf.Bytes())
	return path
}

// copyDir copies a data directory (files, modes, subdirectories) to a new
// temporary directory and returns it.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
	return dst
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeFile replaces path's contents, read-only files included.
func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
