package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/segment"
	"github.com/stele-log/stele/tiles"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	FS fsx.FS
	// VerifierKey pins the log's public key (note verifier-key text). Empty
	// means trusting the data directory's own key.pub, which an attacker with
	// disk access could have replaced too; Verify says so in the report.
	VerifierKey string
	// Deep also parses every entry strictly and checks its seq field.
	Deep bool
	// Progress, if set, is called with bytes done and total bytes.
	Progress func(done, total int64)
}

// VerifyReport summarises a successful Verify.
type VerifyReport struct {
	Origin      string
	Entries     uint64
	Segments    int
	Checkpoints int      // signed checkpoints checked
	Tiles       int      // full tiles compared
	Size        uint64   // size of the newest checkpoint
	Root        [32]byte // its root hash
	Warnings    []string
}

// Verify checks a data directory offline, trusting nothing in it but the
// key: it re-reads every segment frame (CRC-32C), recomputes every leaf and
// every full tile and compares them with the tile files, and checks every
// stored checkpoint's signature and root against the recomputed tree. It
// stops at the first problem with a *stele.CorruptionError naming the file,
// offset and seq. It takes no lock, so it can run beside a live server (the
// tail it sees may be mid-write; that is reported as a warning).
func Verify(ctx context.Context, dir string, opts VerifyOptions) (*VerifyReport, error) {
	fsys := opts.FS
	if fsys == nil {
		fsys = fsx.OS()
	}
	rep := &VerifyReport{}
	raw, err := fsx.ReadFile(fsys, filepath.Join(dir, metaFile))
	if err != nil {
		return nil, fmt.Errorf("verify: %s is not a stele data directory: %w", dir, err)
	}
	var m meta
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, &stele.CorruptionError{File: metaFile, Offset: -1, Seq: -1, Reason: err.Error()}
	}
	rep.Origin = m.Origin
	vkey := opts.VerifierKey
	if vkey == "" {
		pub, err := fsx.ReadFile(fsys, filepath.Join(dir, pubKeyFile))
		if err != nil {
			return nil, fmt.Errorf("verify: no --key given and cannot read %s: %w", pubKeyFile, err)
		}
		vkey = strings.TrimSpace(string(pub))
		rep.Warnings = append(rep.Warnings, "trusting the data directory's own key.pub; pass --key to pin the log's key")
	}
	verifier, err := checkpoint.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("verify: verifier key: %w", err)
	}
	mark, err := readWatermark(fsys, dir)
	if err != nil {
		return nil, err
	}

	des, err := fsys.ReadDir(filepath.Join(dir, segmentsDir))
	if err != nil {
		return nil, fmt.Errorf("verify: list segments: %w", err)
	}
	var firsts []uint64
	var total int64
	for _, de := range des {
		if first, ok := parseSegmentName(de.Name()); ok {
			firsts = append(firsts, first)
			if fi, err := de.Info(); err == nil {
				total += fi.Size()
			}
		}
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })

	v := &fsck{fs: fsys, dir: dir, origin: m.Origin, verifier: verifier, mark: mark, rep: rep, deep: opts.Deep, builder: tiles.NewBuilder()}
	var done int64
	for i, first := range firsts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := filepath.Join(segmentsDir, segmentName(first))
		if first != v.builder.Size() {
			return nil, &stele.CorruptionError{File: name, Offset: -1, Seq: int64(v.builder.Size()), Reason: fmt.Sprintf("segments are not contiguous: expected a segment starting at seq %d, found %d", v.builder.Size(), first)}
		}
		size, err := v.segment(name, i == len(firsts)-1, func(n int64) {
			if opts.Progress != nil {
				opts.Progress(done+n, total)
			}
		})
		if err != nil {
			return nil, err
		}
		done += size
		rep.Segments++
	}
	if len(firsts) == 0 || rep.Checkpoints == 0 {
		return nil, &stele.CorruptionError{File: segmentsDir, Offset: -1, Seq: -1, Reason: "no signed checkpoint found: not a stele log, or its segments were deleted"}
	}
	if mark > v.builder.Size() {
		return nil, &stele.CorruptionError{File: watermarkF, Offset: -1, Seq: int64(v.builder.Size()), Reason: fmt.Sprintf("tiles were durable for %d entries but only %d entries are on disk: entries were removed", mark, v.builder.Size())}
	}
	rep.Entries = v.builder.Size()
	return rep, nil
}

type fsck struct {
	fs       fsx.FS
	dir      string
	origin   string
	verifier note.Verifier
	mark     uint64
	rep      *VerifyReport
	deep     bool
	builder  *tiles.Builder
	tileErr  error
	curSeg   string // segment being scanned

	// Leaves since the last checkpoint that verified, to locate an altered
	// entry when the next checkpoint does not match.
	goodSize uint64
	since    []leafAt
}

type leafAt struct {
	leaf [32]byte
	seg  string
	off  int64
}

// maxSince bounds the leaves kept to locate damage (about 50 MB).
const maxSince = 1 << 20

// segment checks one segment file and returns its size in bytes.
func (v *fsck) segment(name string, isLast bool, progress func(int64)) (int64, error) {
	f, err := fsx.Open(v.fs, filepath.Join(v.dir, name))
	if err != nil {
		return 0, fmt.Errorf("verify: open %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if !isLast && fi.Mode().Perm()&0o222 != 0 {
		v.rep.Warnings = append(v.rep.Warnings, fmt.Sprintf("%s is sealed but writable (mode %v)", name, fi.Mode().Perm()))
	}
	sc, err := segment.NewScanner(f, fi.Size())
	if err != nil {
		if isLast && errors.Is(err, segment.ErrTorn) {
			v.rep.Warnings = append(v.rep.Warnings, fmt.Sprintf("%s: torn header (a crash while creating it); stele serve removes it on start", name))
			return fi.Size(), nil
		}
		return 0, corruptAt(name, 0, int64(v.builder.Size()), err)
	}
	if sc.First() != v.builder.Size() {
		return 0, &stele.CorruptionError{File: name, Offset: 16, Seq: int64(v.builder.Size()), Reason: fmt.Sprintf("header says the first seq is %d", sc.First())}
	}
	v.curSeg = name
	onFull := func(t tiles.Tile, hashes []byte) {
		if v.tileErr == nil {
			v.tileErr = v.checkTile(t, hashes)
		}
	}
	var leaf [32]byte
	h := sha256.New()
	frames := 0
	for sc.Next() {
		if frames++; frames%4096 == 0 {
			progress(sc.Offset())
		}
		seq := v.builder.Size()
		switch sc.Type() {
		case segment.TypeEntry:
			entry := sc.Payload()
			if v.deep {
				rec, err := stele.ParseRecord(entry)
				if err != nil {
					return 0, &stele.CorruptionError{File: name, Offset: sc.Offset(), Seq: int64(seq), Reason: fmt.Sprintf("entry is not a canonical record: %v", err)}
				}
				if rec.Seq != seq {
					return 0, &stele.CorruptionError{File: name, Offset: sc.Offset(), Seq: int64(seq), Reason: fmt.Sprintf("entry says seq %d", rec.Seq)}
				}
			}
			h.Reset()
			h.Write([]byte{0})
			h.Write(entry)
			h.Sum(leaf[:0])
			if len(v.since) < maxSince {
				v.since = append(v.since, leafAt{leaf: leaf, seg: name, off: sc.Offset()})
			}
			v.builder.Append(&leaf, onFull)
			if v.tileErr != nil {
				return 0, v.tileErr
			}
		case segment.TypeCheckpoint:
			cp, err := checkpoint.Open(sc.Payload(), v.origin, v.verifier)
			if err != nil {
				return 0, &stele.CorruptionError{File: name, Offset: sc.Offset(), Seq: int64(seq), Reason: fmt.Sprintf("checkpoint does not verify: %v", err)}
			}
			if cp.Size != seq {
				return 0, &stele.CorruptionError{File: name, Offset: sc.Offset(), Seq: int64(seq), Reason: fmt.Sprintf("checkpoint seals %d entries but %d precede it", cp.Size, seq)}
			}
			if root := v.builder.Root(); root != cp.Hash {
				return 0, v.locate(name, sc.Offset(), cp)
			}
			v.goodSize, v.since = cp.Size, v.since[:0]
			v.rep.Checkpoints++
			v.rep.Size, v.rep.Root = cp.Size, cp.Hash
		}
	}
	progress(sc.End())
	if zt := sc.ZeroTail(); zt > 0 && !isLast {
		v.rep.Warnings = append(v.rep.Warnings, fmt.Sprintf("%s is sealed but ends in %d bytes of zero padding", name, zt))
	}
	if err := sc.Err(); err != nil {
		var torn *segment.TornError
		if isLast && errors.As(err, &torn) {
			v.rep.Warnings = append(v.rep.Warnings, fmt.Sprintf("%s: torn tail at offset %d (%s): never acknowledged; stele serve cuts it on start", name, torn.Offset, torn.Reason))
		} else {
			return 0, corruptAt(name, sc.End(), int64(v.builder.Size()), err)
		}
	}
	return fi.Size(), nil
}

// checkTile compares a recomputed full tile with the file on disk.
func (v *fsck) checkTile(t tiles.Tile, hashes []byte) error {
	end := uint64(t.Index+1) << (8 * uint(t.Level+1)) // entries the tile covers
	durable := end <= v.mark
	got, err := fsx.ReadFile(v.fs, filepath.Join(v.dir, t.Path()))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if durable {
			return &stele.CorruptionError{File: t.Path(), Offset: -1, Seq: int64(end - 1), Reason: "tile file missing"}
		}
		v.rep.Warnings = append(v.rep.Warnings, fmt.Sprintf("%s not written yet (beyond the durable watermark)", t.Path()))
		return nil
	case err != nil:
		return fmt.Errorf("verify: read %s: %w", t.Path(), err)
	}
	if !bytes.Equal(got, hashes) {
		if !durable {
			v.rep.Warnings = append(v.rep.Warnings, fmt.Sprintf("%s differs from the entries but is beyond the durable watermark (crash leftover; stele serve rewrites it)", t.Path()))
			return nil
		}
		off := int64(-1)
		for i := 0; i+32 <= len(hashes) && i+32 <= len(got); i += 32 {
			if !bytes.Equal(got[i:i+32], hashes[i:i+32]) {
				off = int64(i)
				break
			}
		}
		seq := int64(-1)
		if t.Level == 0 && off >= 0 {
			seq = int64(t.Index*tiles.Width) + off/32
		}
		return &stele.CorruptionError{File: t.Path(), Offset: off, Seq: seq, Reason: fmt.Sprintf("tile does not match the entries it covers (read from %s): an entry or the tile was altered", v.curSeg)}
	}
	v.rep.Tiles++
	return nil
}

// locate explains a checkpoint that does not match the recomputed tree: one
// of the entries since the last checkpoint that did match was altered (or
// the checkpoint itself was forged with the log's key). It names that entry
// when it can tell which: when only one entry is in question, or when a
// durable tile still holds the original leaf hashes.
func (v *fsck) locate(cpFile string, cpOff int64, cp checkpoint.Checkpoint) error {
	first := v.goodSize
	n := uint64(len(v.since))
	if n != cp.Size-first { // not all leaves kept: cannot narrow down
		return &stele.CorruptionError{File: cpFile, Offset: cpOff, Seq: int64(first), Reason: fmt.Sprintf("checkpoint at size %d does not match the entries: an entry in seq range [%d, %d) was altered", cp.Size, first, cp.Size)}
	}
	altered := func(i uint64, how string) error {
		la := v.since[i]
		return &stele.CorruptionError{File: la.seg, Offset: la.off, Seq: int64(first + i), Reason: fmt.Sprintf("entry was altered: %s", how)}
	}
	if n == 1 {
		return altered(0, fmt.Sprintf("the checkpoint at size %d (%s, offset %d) does not match it, and the one before it did", cp.Size, cpFile, cpOff))
	}
	for tile := first / tiles.Width; tile*tiles.Width < cp.Size; tile++ {
		tpath := tiles.Tile{Level: 0, Index: tile, Width: tiles.Width}.Path()
		stored, err := fsx.ReadFile(v.fs, filepath.Join(v.dir, tpath))
		if err != nil || len(stored) != tiles.Width*tiles.HashSize {
			continue
		}
		for seq := max(first, tile*tiles.Width); seq < min(cp.Size, (tile+1)*tiles.Width); seq++ {
			k := (seq - tile*tiles.Width) * tiles.HashSize
			if !bytes.Equal(stored[k:k+tiles.HashSize], v.since[seq-first].leaf[:]) {
				return altered(seq-first, fmt.Sprintf("its hash differs from the one in %s and the checkpoint at size %d does not match", tpath, cp.Size))
			}
		}
	}
	return &stele.CorruptionError{File: cpFile, Offset: cpOff, Seq: int64(first), Reason: fmt.Sprintf("checkpoint at size %d does not match the entries: an entry in seq range [%d, %d) was altered (no durable tile covers them to tell which)", cp.Size, first, cp.Size)}
}
