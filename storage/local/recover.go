package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/index/ids"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/segment"
	"github.com/stele-log/stele/tiles"
)

// recover brings the in-memory state in line with the disk after any kind of
// shutdown. It trusts nothing derived that might not have been durable, and
// refuses to start on damage it must not repair.
func (l *Log) recover(ctx context.Context) error {
	l.tiles = newTileStore(l.fs, l.dir, l.logger)
	last, err := l.openSegments()
	if err != nil {
		return err
	}
	size := last.first + last.entries

	// The newest persisted checkpoint must verify and match the entries.
	cpNote, cpFile, cpOff, err := l.lastCheckpoint()
	if err != nil {
		return err
	}
	var cp checkpoint.Checkpoint
	if cpNote != nil {
		if cp, err = checkpoint.Open(cpNote, l.origin, l.signer.Verifier()); err != nil {
			return &stele.CorruptionError{File: cpFile, Offset: cpOff, Seq: -1, Reason: fmt.Sprintf("stored checkpoint does not verify with the log's key: %v", err)}
		}
		if cp.Size > size {
			return &stele.CorruptionError{File: last.name, Offset: last.end, Seq: int64(size), Reason: fmt.Sprintf("checkpoint in %s at offset %d seals %d entries but only %d are on disk: sealed entries are missing", cpFile, cpOff, cp.Size, size)}
		}
	}

	if err := l.recoverTiles(ctx, size); err != nil {
		return err
	}
	if cpNote != nil {
		root, err := tiles.RootHash(ctx, l.tiles, cp.Size)
		if err != nil {
			return fmt.Errorf("local: recompute root at size %d: %w", cp.Size, err)
		}
		if root != cp.Hash {
			return &stele.CorruptionError{File: cpFile, Offset: cpOff, Seq: -1, Reason: fmt.Sprintf("checkpoint at size %d does not match the tree rebuilt from the entries and tile files (root %x, recomputed %x): the log or its tiles were altered; run 'stele verify --data' to locate the damage", cp.Size, cp.Hash, root)}
		}
	}

	// Seal durable entries that no persisted checkpoint covers (they were
	// never acknowledged, or their checkpoint frame was lost in a crash), or
	// the empty log.
	st := &sealedState{size: cp.Size, root: cp.Hash, note: cpNote}
	if cpNote == nil || cp.Size < size {
		root := l.tiles.root()
		note, err := l.signer.Sign(checkpoint.Checkpoint{Origin: l.origin, Size: size, Hash: root})
		if err != nil {
			return err
		}
		frame := segment.AppendFrame(nil, segment.TypeCheckpoint, note)
		if _, err := last.f.WriteAt(frame, last.end); err != nil {
			return fmt.Errorf("local: write checkpoint to %s: %w", last.name, err)
		}
		if err := last.f.Sync(); err != nil {
			return fmt.Errorf("local: sync %s: %w", last.name, err)
		}
		last.lastCP = last.end
		last.end += int64(len(frame))
		st = &sealedState{size: size, root: root, note: note}
		if cpNote != nil {
			l.logger.Info("sealed durable entries left unsealed by a crash", "from", cp.Size, "to", size)
		}
	}
	l.sealed.Store(st)
	l.next = size
	l.writeEnd = last.end
	l.m.size.Set(float64(size))

	return l.recoverIDs(size)
}

// openSegments opens every segment, checks that they form one contiguous run
// of entries from seq 0, cuts a torn tail off the last one and returns it.
func (l *Log) openSegments() (*seg, error) {
	dir := filepath.Join(l.dir, segmentsDir)
	des, err := l.fs.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("local: list %s: %w", dir, err)
	}
	var firsts []uint64
	for _, de := range des {
		name := de.Name()
		if strings.HasSuffix(name, ".tmp") {
			l.fs.Remove(filepath.Join(dir, name))
			continue
		}
		if first, ok := parseSegmentName(name); ok {
			firsts = append(firsts, first)
		}
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })

	if len(firsts) == 0 {
		f, err := createSegment(l.fs, l.dir, 0)
		if err != nil {
			return nil, err
		}
		sg := &seg{first: 0, name: filepath.Join(segmentsDir, segmentName(0)), f: f, end: segment.HeaderSize, lastCP: -1}
		l.segs.segs = []*seg{sg}
		return sg, nil
	}
	if firsts[0] != 0 {
		return nil, &stele.CorruptionError{File: filepath.Join(segmentsDir, segmentName(0)), Offset: -1, Seq: 0, Reason: fmt.Sprintf("segment file missing: the first segment starts at seq %d", firsts[0])}
	}
	// A crash during rollover can leave a last segment with a torn header.
	if n := len(firsts); n > 1 {
		path := filepath.Join(dir, segmentName(firsts[n-1]))
		if fi, err := l.fs.Stat(path); err == nil && fi.Size() < segment.HeaderSize {
			l.logger.Warn("removing a segment whose creation was cut short by a crash", "segment", path)
			if err := l.fs.Remove(path); err != nil {
				return nil, err
			}
			firsts = firsts[:n-1]
		}
	}

	for i, first := range firsts {
		isLast := i == len(firsts)-1
		sg := &seg{first: first, name: filepath.Join(segmentsDir, segmentName(first)), lastCP: -1}
		flag := os.O_RDONLY
		if isLast {
			flag = os.O_RDWR
		}
		if sg.f, err = l.fs.OpenFile(filepath.Join(l.dir, sg.name), flag, 0); err != nil {
			if isLast && errors.Is(err, fs.ErrPermission) {
				// Sealed by a rollover whose successor was removed above.
				l.fs.Chmod(filepath.Join(l.dir, sg.name), 0o644)
				sg.f, err = l.fs.OpenFile(filepath.Join(l.dir, sg.name), flag, 0)
			}
			if err != nil {
				return nil, fmt.Errorf("local: open %s: %w", sg.name, err)
			}
		}
		l.segs.segs = append(l.segs.segs, sg)
		if i > 0 {
			prev := l.segs.segs[i-1]
			if want := prev.first + prev.entries; first != want {
				return nil, &stele.CorruptionError{File: sg.name, Offset: -1, Seq: int64(want), Reason: fmt.Sprintf("segments are not contiguous: %s ends at seq %d but the next segment starts at %d", prev.name, want, first)}
			}
		}
		if !isLast && l.loadSidecar(sg) == nil {
			sg.sealed = true
			continue
		}
		if err := l.scanSegment(sg, isLast); err != nil {
			return nil, err
		}
		if !isLast {
			sg.sealed = true
			if err := writeSidecar(l.fs, l.dir, sg); err != nil {
				l.logger.Warn("could not rewrite segment sidecar", "segment", sg.name, "err", err)
			}
			if fi, err := sg.f.Stat(); err == nil && fi.Mode().Perm()&0o222 != 0 {
				l.fs.Chmod(filepath.Join(l.dir, sg.name), 0o444)
			}
		}
	}
	return l.segs.segs[len(l.segs.segs)-1], nil
}

// loadSidecar fills a sealed segment's index from its .idx file, checking it
// against the segment's size.
func (l *Log) loadSidecar(sg *seg) error {
	raw, err := fsx.ReadFile(l.fs, filepath.Join(l.dir, segmentsDir, sidecarName(sg.first)))
	if err != nil {
		return err
	}
	if err := decodeSidecar(raw, sg); err != nil {
		l.logger.Warn("segment sidecar unusable; rescanning the segment", "segment", sg.name, "err", err)
		return err
	}
	fi, err := sg.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != sg.end {
		err := fmt.Errorf("sidecar says %d bytes, file has %d", sg.end, fi.Size())
		l.logger.Warn("segment sidecar disagrees with the segment; rescanning", "segment", sg.name, "err", err)
		return err
	}
	return nil
}

// scanSegment reads a whole segment, checking every frame. Only the last
// segment may end in a torn tail, which is cut off.
func (l *Log) scanSegment(sg *seg, isLast bool) error {
	fi, err := sg.f.Stat()
	if err != nil {
		return err
	}
	sc, err := segment.NewScanner(sg.f, fi.Size())
	if err != nil {
		return corruptAt(sg.name, 0, int64(sg.first), err)
	}
	if sc.First() != sg.first {
		return &stele.CorruptionError{File: sg.name, Offset: 16, Seq: int64(sg.first), Reason: fmt.Sprintf("header says the first seq is %d but the file name says %d", sc.First(), sg.first)}
	}
	sg.entries, sg.tileStarts, sg.lastCP = 0, nil, -1
	for sc.Next() {
		switch sc.Type() {
		case segment.TypeEntry:
			seq := sg.first + sg.entries
			if sg.entries == 0 || seq%anchorEvery == 0 {
				sg.tileStarts = append(sg.tileStarts, uint32(sc.Offset()))
			}
			sg.entries++
		case segment.TypeCheckpoint:
			sg.lastCP = sc.Offset()
		}
	}
	sg.end = sc.End()
	err = sc.Err()
	if err == nil {
		if zt := sc.ZeroTail(); zt > 0 && !isLast {
			l.logger.Warn("sealed segment ends in zero padding", "segment", sg.name, "bytes", zt)
		}
		return nil
	}
	var torn *segment.TornError
	if !isLast || !errors.As(err, &torn) {
		return corruptAt(sg.name, sc.End(), int64(sg.first+sg.entries), err)
	}
	l.logger.Warn("cutting a torn tail left by a crash (never acknowledged)", "segment", sg.name, "offset", torn.Offset, "bytes", fi.Size()-torn.Offset, "reason", torn.Reason)
	if err := sg.f.Truncate(torn.Offset); err != nil {
		return fmt.Errorf("local: cut torn tail of %s: %w", sg.name, err)
	}
	if err := sg.f.Sync(); err != nil {
		return fmt.Errorf("local: sync %s: %w", sg.name, err)
	}
	return nil
}

// lastCheckpoint returns the newest checkpoint frame on disk, if any.
func (l *Log) lastCheckpoint() (note []byte, file string, off int64, err error) {
	for i := len(l.segs.segs) - 1; i >= 0; i-- {
		sg := l.segs.segs[i]
		if sg.lastCP < 0 {
			continue
		}
		typ, payload, _, err := segment.ReadFrame(sg.f, sg.end, sg.lastCP, nil)
		if err != nil || typ != segment.TypeCheckpoint {
			return nil, sg.name, sg.lastCP, &stele.CorruptionError{File: sg.name, Offset: sg.lastCP, Seq: -1, Reason: fmt.Sprintf("cannot read checkpoint frame: %v", err)}
		}
		return bytes.Clone(payload), sg.name, sg.lastCP, nil
	}
	return nil, "", -1, nil
}

// recoverTiles rebuilds the right edge of the tree. Full tiles below the
// durable watermark are trusted to resume from, but never past the start of
// the newest segment: its entries are re-hashed, so tampering with the part
// of the log that startup reads anyway is caught here, not only by 'stele
// verify'. Tiles beyond the watermark (possibly not durable at a crash) are
// recomputed and rewritten if they did not survive intact.
func (l *Log) recoverTiles(ctx context.Context, size uint64) error {
	mark, err := readWatermark(l.fs, l.dir)
	if err != nil {
		return err
	}
	if mark > size {
		return &stele.CorruptionError{File: watermarkF, Offset: -1, Seq: int64(size), Reason: fmt.Sprintf("tiles were durable for %d entries but only %d entries are on disk: sealed entries are missing", mark, size)}
	}
	active := l.segs.segs[len(l.segs.segs)-1]
	resume := min(mark, active.first) / tiles.Width * tiles.Width
	b, err := tiles.ResumeBuilder(ctx, tiles.HashReaderFunc(l.tiles.readDiskTile), resume)
	if errors.Is(err, stele.ErrNotFound) {
		// Tiles are derived: someone deleted some. Recompute all of them
		// from the segments, which are the authority.
		l.logger.Warn("tile files are missing; recomputing every tile from the segments", "err", err)
		mark, resume = 0, 0
		b, err = tiles.NewBuilder(), nil
	}
	if err != nil {
		return fmt.Errorf("local: rebuild tree at size %d from tiles: %w", resume, err)
	}
	var werr error
	onFull := func(t tiles.Tile, hashes []byte) {
		if werr != nil {
			return
		}
		end := (t.Index + 1) << (8 * uint(t.Level+1))
		if end > mark {
			_, werr = l.tiles.writeTile(tileKey{t.Level, t.Index}, hashes)
			return
		}
		// A durable tile: it must match the entries.
		disk, err := l.tiles.readDiskTile(ctx, t)
		switch {
		case errors.Is(err, stele.ErrNotFound):
			_, werr = l.tiles.writeTile(tileKey{t.Level, t.Index}, hashes)
		case err != nil:
			werr = err
		case !bytes.Equal(disk, hashes):
			seq := int64(-1)
			for i := 0; i+tiles.HashSize <= len(hashes); i += tiles.HashSize {
				if !bytes.Equal(disk[i:i+tiles.HashSize], hashes[i:i+tiles.HashSize]) {
					if t.Level == 0 {
						seq = int64(t.Index*tiles.Width) + int64(i/tiles.HashSize)
					}
					break
				}
			}
			werr = &stele.CorruptionError{File: t.Path(), Offset: -1, Seq: seq, Reason: fmt.Sprintf("durable tile does not match the entries in %s: an entry or the tile was altered", active.name)}
		}
	}
	if size > resume {
		h := sha256.New()
		var leaf [32]byte
		err = l.segs.readEntries(resume, int(size-resume), func(_ uint64, entry []byte) error {
			h.Reset()
			h.Write([]byte{0})
			h.Write(entry)
			h.Sum(leaf[:0])
			b.Append(&leaf, onFull)
			return werr
		})
		if err != nil {
			return err
		}
	}
	l.tiles.builder = b
	l.tiles.synced = mark
	if size > mark {
		l.logger.Info("recomputed tiles beyond the durable watermark", "from", resume, "to", size)
	}
	return nil
}

// recoverIDs opens the id index and feeds it the ids it has not seen.
func (l *Log) recoverIDs(size uint64) error {
	dir := filepath.Join(l.dir, idIndexDir)
	x, err := ids.Open(l.fs, dir, ids.Options{MemtableSize: l.opts.IDMemtableSize, Logger: l.logger})
	if err != nil {
		return fmt.Errorf("local: open id index (it is derived data: delete %s to rebuild it): %w", dir, err)
	}
	l.ids = x
	covered := x.Covered()
	if covered > size {
		return &stele.CorruptionError{File: idIndexDir, Offset: -1, Seq: int64(size), Reason: fmt.Sprintf("the id index has seen %d entries but only %d are on disk: sealed entries are missing (if you restored an older copy of the log on purpose, delete %s)", covered, size, dir)}
	}
	if covered == size {
		return nil
	}
	l.logger.Info("catching up the id index", "from", covered, "to", size)
	return l.segs.readEntries(covered, int(size-covered), func(seq uint64, entry []byte) error {
		id, err := entryID(entry)
		if err != nil {
			return &stele.CorruptionError{File: "", Offset: -1, Seq: int64(seq), Reason: fmt.Sprintf("entry is not a canonical record: %v", err)}
		}
		return x.Add(id, seq)
	})
}
