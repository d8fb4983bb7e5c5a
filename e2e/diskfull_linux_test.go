//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stele-log/stele/api"
	"github.com/stele-log/stele/checkpoint"
)

// TestDiskFull runs the server on a real, small file system (a 24 MiB
// tmpfs, mostly taken by a filler file), appends until the disk is full,
// and checks that the server answers 507 with a JSON error and Retry-After,
// loses nothing it acknowledged, keeps serving reads and health, and takes
// appends again once space is freed; and that the log verifies after a
// restart.
func TestDiskFull(t *testing.T) {
	mnt := filepath.Join(t.TempDir(), "fs")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", mnt, "tmpfs", 0, "size=24m"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cannot mount a 24 MiB tmpfs, and CI is set, so this is a failure, not a skip: %v", err)
		}
		t.Skipf("cannot mount a 24 MiB tmpfs (needs root or CAP_SYS_ADMIN): %v", err)
	}
	// Registered before any server starts, so it runs after they are killed.
	t.Cleanup(func() {
		if err := syscall.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v; lazily detaching it", mnt, err)
			syscall.Unmount(mnt, syscall.MNT_DETACH)
		}
	})
	filler := filepath.Join(mnt, "filler")
	writeFiller(t, filler, 16<<20)

	dir := filepath.Join(mnt, "data")
	args := []string{"--origin", "e2e.test/diskfull"}
	srv := startServer(t, dir, args...)
	v, err := checkpoint.NewVerifier(srv.vkey)
	if err != nil {
		t.Fatal(err)
	}
	hc := newHTTPClient(t, 2)
	rng := rand.New(rand.NewPCG(5, 6))
	gen := &eventGen{rng: rng, prefix: "full"}

	// Fill the disk: ~130 KB bodies until one is refused.
	var acks []acked
	var refused reply
	for i := 0; refused.status == 0; i++ {
		if i == 1000 {
			t.Fatalf("1000 appends (%d events) fit on a 24 MiB file system with 16 MiB taken", len(acks))
		}
		got, rep := appendBatch(t, hc, srv.url, gen, 400)
		if got == nil {
			refused = rep
		}
		acks = append(acks, got...)
	}
	t.Logf("disk full after %d acknowledged events: HTTP %d, Retry-After %q, %s", len(acks), refused.status, refused.header.Get("Retry-After"), refused.body)
	checkDiskFullReply(t, refused)
	full := fetchCheckpoint(t, hc, srv.url, v)

	// Still full: refused again, and nothing was appended by the refusals.
	if got, rep := appendBatch(t, hc, srv.url, gen, 400); got != nil {
		t.Logf("an append fitted after the first 507 (%d events); the disk had room for a smaller group", len(got))
		acks = append(acks, got...)
	} else {
		checkDiskFullReply(t, rep)
		if cp := fetchCheckpoint(t, hc, srv.url, v); cp.Size != full.Size {
			t.Errorf("a refused append changed the log size from %d to %d", full.Size, cp.Size)
		}
	}

	// Reads and health keep working on a full disk, and nothing is lost.
	checkHealthy(t, hc, srv.url)
	checkLog(t, hc, srv.url, v, acks, rng)

	// Free space: appends succeed again (the client honours Retry-After).
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var got []acked
	var rep reply
	for attempt := 0; got == nil; attempt++ {
		if got, rep = appendBatch(t, hc, srv.url, gen, 400); got != nil {
			break
		}
		if attempt == 10 {
			t.Fatalf("appends still refused after the filler was deleted: HTTP %d %s", rep.status, rep.body)
		}
		wait, _ := strconv.Atoi(rep.header.Get("Retry-After"))
		time.Sleep(time.Duration(max(wait, 1)) * time.Second)
	}
	acks = append(acks, got...)
	for range 20 {
		got, rep := appendBatch(t, hc, srv.url, gen, 400)
		if got == nil {
			t.Fatalf("append after freeing space: HTTP %d %s", rep.status, rep.body)
		}
		acks = append(acks, got...)
	}
	checkHealthy(t, hc, srv.url)
	checkLog(t, hc, srv.url, v, acks, rng)
	if code, took := srv.stop(30 * time.Second); code != 0 {
		t.Fatalf("stop: exit %d after %v", code, took)
	}

	srv = startServer(t, dir, args...)
	checkLog(t, hc, srv.url, v, acks, rng)
	if code, took := srv.stop(30 * time.Second); code != 0 {
		t.Fatalf("stop after restart: exit %d after %v", code, took)
	}
	res := mustRun(t, nil, "verify", "--data", dir, "--key", srv.vkey)
	t.Logf("%d events acknowledged in all; stele verify --data: %s", len(acks), res.stdout)
}

// writeFiller writes size bytes to path, so they really take space.
func writeFiller(t *testing.T, path string, size int) {
	t.Helper()
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for written := 0; written < size; written += len(chunk) {
		if _, err := f.Write(chunk); err != nil {
			t.Fatalf("write filler: %v", err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// appendBatch posts n events as NDJSON. It returns the acknowledged events,
// or nil and the reply when the server refused the batch.
func appendBatch(t *testing.T, hc *http.Client, base string, gen *eventGen, n int) ([]acked, reply) {
	t.Helper()
	events, ids := make([][]byte, n), make([]string, n)
	for i := range events {
		events[i], ids[i] = gen.next(i%2 == 0)
	}
	resp, rep, err := postEvents(context.Background(), hc, base, kindNDJSON, events, false)
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	if resp == nil {
		return nil, rep
	}
	acks, err := ackedEvents(resp, events, ids)
	if err != nil {
		t.Fatal(err)
	}
	return acks, rep
}

// checkDiskFullReply checks a refusal for a full disk: 507, a JSON error,
// and a Retry-After of whole seconds.
func checkDiskFullReply(t *testing.T, rep reply) {
	t.Helper()
	if rep.status != http.StatusInsufficientStorage {
		t.Fatalf("refused with HTTP %d (%s), want 507", rep.status, rep.body)
	}
	if err := checkErrorReply(rep); err != nil {
		t.Error(err)
	}
	if s, err := strconv.Atoi(rep.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("507 has Retry-After %q, want a number of seconds", rep.header.Get("Retry-After"))
	}
}

// checkHealthy requires GET /healthz to answer 200 "ok".
func checkHealthy(t *testing.T, hc *http.Client, base string) {
	t.Helper()
	rep, err := do(context.Background(), hc, http.MethodGet, base+"/healthz", "", nil)
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	var h api.Health
	if rep.status != http.StatusOK || json.Unmarshal(rep.body, &h) != nil || h.Status != "ok" {
		t.Errorf("GET /healthz: HTTP %d %s, want 200 ok", rep.status, rep.body)
	}
}
