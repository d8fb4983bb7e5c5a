package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/tiles"
	"github.com/stele-log/stele/verify"
)

func TestAppendReadReopen(t *testing.T) {
	ctx := context.Background()
	fsys := fsx.NewMem()
	l := mustOpen(t, "/data", testOptions(fsys))
	_, size, _ := l.Checkpoint()
	if size != 0 {
		t.Fatalf("new log has size %d", size)
	}
	acks := appendN(t, l, 0, 1000, 37, false)
	for i, a := range acks {
		if a.seq != uint64(i) {
			t.Fatalf("event %d got seq %d", i, a.seq)
		}
		if len(a.id) != 36 {
			t.Fatalf("server id %q is not a UUID", a.id)
		}
	}
	// Read back by seq, by id, and as a range.
	entry, err := l.Entry(ctx, 500)
	if err != nil {
		t.Fatal(err)
	}
	if verify.LeafHash(entry) != acks[500].leaf {
		t.Fatalf("entry 500 does not hash to its acknowledged leaf")
	}
	seq, byID, err := l.EntryByID(ctx, []byte(acks[777].id))
	if err != nil || seq != 777 || verify.LeafHash(byID) != acks[777].leaf {
		t.Fatalf("EntryByID: seq %d, err %v", seq, err)
	}
	if _, _, err := l.EntryByID(ctx, []byte("no-such-id")); !errors.Is(err, stele.ErrNotFound) {
		t.Fatalf("EntryByID(missing) = %v, want ErrNotFound", err)
	}
	if _, err := l.Entry(ctx, 1000); !errors.Is(err, stele.ErrNotFound) {
		t.Fatalf("Entry(size) = %v, want ErrNotFound", err)
	}
	var got []uint64
	if err := l.Entries(ctx, 990, 50, func(seq uint64, _ []byte) error { got = append(got, seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 || got[0] != 990 || got[9] != 999 {
		t.Fatalf("Entries(990, 50) = %v", got)
	}
	checkInvariants(t, l)
	note, _, root := l.Checkpoint()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	l = mustOpen(t, "/data", testOptions(fsys))
	note2, size2, root2 := l.Checkpoint()
	if size2 != 1000 || root2 != root || !bytes.Equal(note, note2) {
		t.Fatalf("after reopen: size %d root %x, want 1000 %x (and the same note)", size2, root2, root)
	}
	more := appendN(t, l, 1000, 300, 300, false)
	if more[0].seq != 1000 {
		t.Fatalf("first seq after reopen = %d", more[0].seq)
	}
	checkInvariants(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verifyDir(t, fsys, "/data")
	if rep.Entries != 1300 || rep.Size != 1300 || rep.Tiles < 5 {
		t.Fatalf("Verify report %+v", rep)
	}
}

func TestIdempotency(t *testing.T) {
	ctx := context.Background()
	fsys := fsx.NewMem()
	opts := testOptions(fsys)
	opts.IDMemtableSize = 64 // force id index flushes to disk runs
	l := mustOpen(t, "/data", opts)

	first := appendN(t, l, 0, 500, 50, true)

	tests := []struct {
		name      string
		lines     []string
		wantSeqs  []uint64
		wantDup   []bool
		wantGrown uint64
	}{
		{name: "resend one", lines: []string{event(3, "client-3")}, wantSeqs: []uint64{3}, wantDup: []bool{true}},
		{name: "resend old after flushes", lines: []string{event(1, "client-1")}, wantSeqs: []uint64{1}, wantDup: []bool{true}},
		{name: "mixed new and dup", lines: []string{event(900, "new-900"), event(7, "client-7"), event(901, "")},
			wantSeqs: []uint64{500, 7, 501}, wantDup: []bool{false, true, false}, wantGrown: 2},
		{name: "same id twice in a batch", lines: []string{event(902, "twice"), event(903, "twice")},
			wantSeqs: []uint64{502, 502}, wantDup: []bool{false, true}, wantGrown: 1},
		{name: "server id resent as client id", lines: []string{event(5, "")}, wantGrown: 1, wantSeqs: []uint64{503}, wantDup: []bool{false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := l.Size()
			var s stele.Sealed
			if err := l.Append(ctx, batchOf(t, tc.lines...), &s); err != nil {
				t.Fatal(err)
			}
			for i, e := range s.Events {
				if e.Seq != tc.wantSeqs[i] || e.Duplicate != tc.wantDup[i] {
					t.Errorf("event %d: seq %d dup %v, want %d %v", i, e.Seq, e.Duplicate, tc.wantSeqs[i], tc.wantDup[i])
				}
				if e.Duplicate && e.Seq < uint64(len(first)) && e.LeafHash != first[e.Seq].leaf {
					t.Errorf("duplicate %d reports a different leaf hash than the original", i)
				}
			}
			if grown := l.Size() - before; grown != tc.wantGrown {
				t.Errorf("log grew by %d, want %d", grown, tc.wantGrown)
			}
		})
	}
	// A server-generated id sent back by a client is a duplicate too.
	var s stele.Sealed
	if err := l.Append(ctx, batchOf(t, event(0, first[42].id)), &s); err != nil {
		t.Fatal(err)
	}
	if !s.Events[0].Duplicate || s.Events[0].Seq != 42 {
		t.Fatalf("resent server id: %+v", s.Events[0])
	}

	// Concurrent senders of the same id: exactly one append.
	before := l.Size()
	var wg sync.WaitGroup
	seqs := make([]uint64, 16)
	for g := range seqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s stele.Sealed
			if err := l.Append(ctx, batchOf(t, event(g, "contended")), &s); err != nil {
				t.Error(err)
				return
			}
			seqs[g] = s.Events[0].Seq
		}()
	}
	wg.Wait()
	for _, seq := range seqs {
		if seq != seqs[0] {
			t.Fatalf("concurrent duplicates got different seqs: %v", seqs)
		}
	}
	if l.Size() != before+1 {
		t.Fatalf("concurrent duplicates appended %d events", l.Size()-before)
	}

	// Survives a restart (index memtable flushed or replayed).
	l.Close()
	l = mustOpen(t, "/data", opts)
	defer l.Close()
	if err := l.Append(ctx, batchOf(t, event(0, "client-250"), event(0, "contended")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Events[0].Seq != 250 || !s.Events[0].Duplicate || s.Events[1].Seq != seqs[0] || !s.Events[1].Duplicate {
		t.Fatalf("after restart: %+v", s.Events)
	}
	checkInvariants(t, l)
}

func TestRolloverAndSidecars(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := testOptions(fsx.OS())
	opts.SegmentSize = 150 << 10 // ~460 entries per segment: segments start mid-tile, bundles span them
	l := mustOpen(t, dir, opts)
	acks := appendN(t, l, 0, 6000, 23, false)
	checkInvariants(t, l)
	// Entry bundles that cross segment boundaries come back whole.
	for idx := uint64(0); idx < 6000/tiles.Width; idx++ {
		bundle, err := l.ReadEntryBundle(ctx, idx, tiles.Width)
		if err != nil {
			t.Fatalf("bundle %d: %v", idx, err)
		}
		entries, err := tiles.ParseBundle(bundle)
		if err != nil || len(entries) != tiles.Width {
			t.Fatalf("bundle %d: %d entries, %v", idx, len(entries), err)
		}
		for k, e := range entries {
			if verify.LeafHash(e) != acks[idx*tiles.Width+uint64(k)].leaf {
				t.Fatalf("bundle %d entry %d does not match its ack", idx, k)
			}
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "segments", "*.seg"))
	idxs, _ := filepath.Glob(filepath.Join(dir, "segments", "*.idx"))
	if len(segs) < 8 || len(idxs) != len(segs)-1 {
		t.Fatalf("%d segments and %d sidecars", len(segs), len(idxs))
	}
	for _, p := range segs[:len(segs)-1] {
		if fi, _ := os.Stat(p); fi.Mode().Perm()&0o222 != 0 {
			t.Fatalf("sealed segment %s is writable: %v", p, fi.Mode())
		}
	}
	// A lost or damaged sidecar is rebuilt from its segment.
	os.Remove(idxs[3])
	os.Chmod(idxs[5], 0o644)
	os.WriteFile(idxs[5], []byte("garbage"), 0o644)
	l = mustOpen(t, dir, opts)
	checkInvariants(t, l)
	appendN(t, l, 6000, 100, 100, false)
	l.Close()
	verifyDir(t, fsx.OS(), dir)
}

func TestTilesMatchIndependentBuilder(t *testing.T) {
	ctx := context.Background()
	l := mustOpen(t, "/data", testOptions(fsx.NewMem()))
	defer l.Close()
	acks := appendN(t, l, 0, 70000, 5000, false)
	b := tiles.NewBuilder()
	full := map[string][]byte{}
	for i := range acks {
		b.Append(&acks[i].leaf, func(t tiles.Tile, hashes []byte) { full[t.Path()] = bytes.Clone(hashes) })
	}
	for path, want := range full {
		tile, _, err := tiles.ParsePath(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := l.ReadTile(ctx, tile)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("tile %s: err %v, equal %v", path, err, bytes.Equal(got, want))
		}
	}
	if len(full) != 273+1 {
		t.Fatalf("%d full tiles, want 274", len(full))
	}
	for level := 0; level < 3; level++ {
		w := tiles.PartialWidth(level, 70000)
		want, _ := b.AppendPartial(nil, level, w)
		idx := uint64(70000) >> (8 * uint(level+1))
		got, err := l.ReadTile(ctx, tiles.Tile{Level: level, Index: idx, Width: w})
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("partial tile level %d width %d: %v", level, w, err)
		}
	}
	if _, err := l.ReadTile(ctx, tiles.Tile{Level: 0, Index: 273, Width: 113}); !errors.Is(err, stele.ErrNotFound) {
		t.Fatalf("a tile wider than the checkpoint allows: %v", err)
	}
	if b.Root() != l.tiles.root() {
		t.Fatalf("roots differ")
	}
}

func TestOriginAndKey(t *testing.T) {
	fsys := fsx.NewMem()
	l := mustOpen(t, "/data", testOptions(fsys))
	l.Close()
	opts := testOptions(fsys)
	opts.Origin = "other.example/log"
	if _, err := Open(context.Background(), "/data", opts); err == nil {
		t.Fatalf("opened a log under a different origin")
	}
	if fi, err := fsys.Stat("/data/key"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key mode: %v %v", fi, err)
	}
	// A key file from keygen, named after the origin.
	skey, _, _ := checkpoint.GenerateKey("keyed.example/log")
	f, _ := fsys.OpenFile("/k", os.O_RDWR|os.O_CREATE, 0o600)
	fmt.Fprintln(f, skey)
	f.Close()
	opts = Options{Origin: "keyed.example/log", KeyFile: "/k", FS: fsys}
	l = mustOpen(t, "/keyed", opts)
	appendN(t, l, 0, 10, 10, false)
	l.Close()
	if _, err := fsys.Stat("/keyed/key"); err == nil {
		t.Fatalf("a key was generated although --key-file was given")
	}
	opts.Origin = ""
	opts.KeyFile = "/k"
	l = mustOpen(t, "/keyed", opts) // origin comes from the directory
	if l.Origin() != "keyed.example/log" {
		t.Fatalf("origin %q", l.Origin())
	}
	l.Close()
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, dir, testOptions(fsx.OS()))
	defer l.Close()
	if _, err := Open(context.Background(), dir, testOptions(fsx.OS())); !errors.Is(err, stele.ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}

func TestClosedRejectsAppends(t *testing.T) {
	l := mustOpen(t, "/data", testOptions(fsx.NewMem()))
	l.Close()
	var s stele.Sealed
	if err := l.Append(context.Background(), batchOf(t, event(1, "")), &s); !errors.Is(err, stele.ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
}

func TestWaitForGrowth(t *testing.T) {
	l := mustOpen(t, "/data", testOptions(fsx.NewMem()))
	appendN(t, l, 0, 5, 5, false)
	got := make(chan uint64, 1)
	go func() {
		size, err := l.Wait(context.Background(), 5)
		if err != nil {
			t.Error(err)
		}
		got <- size
	}()
	select {
	case s := <-got:
		t.Fatalf("Wait returned %d before the log grew", s)
	case <-time.After(20 * time.Millisecond):
	}
	appendN(t, l, 5, 3, 3, false)
	if s := <-got; s != 8 {
		t.Fatalf("Wait = %d, want 8", s)
	}
	if s, err := l.Wait(context.Background(), 2); err != nil || s != 8 {
		t.Fatalf("Wait below the size = %d, %v", s, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := l.Wait(ctx, 8); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with a deadline = %v", err)
	}
	go func() { time.Sleep(10 * time.Millisecond); l.Close() }()
	if _, err := l.Wait(context.Background(), 8); !errors.Is(err, stele.ErrClosed) {
		t.Fatalf("Wait across Close = %v, want ErrClosed", err)
	}
}
