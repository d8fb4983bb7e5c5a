package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/segment"
	"github.com/stele-log/stele/tiles"
)

// commitLoop is the committer: the only goroutine that writes segments or
// grows the tree. It exits when Close has been called and the queue is empty.
func (l *Log) commitLoop() {
	for {
		group := l.nextGroup()
		if group == nil {
			return
		}
		l.commitGroup(group)
	}
}

// nextGroup waits for the slot at the head of the queue to be rendered and
// takes it together with every rendered slot behind it, up to MaxGroupBytes.
// While a group is being fsynced, the next one accumulates: that is the
// group commit.
func (l *Log) nextGroup() []*slot {
	for {
		l.qMu.Lock()
		if len(l.queue) == 0 {
			closing := l.closing
			l.qMu.Unlock()
			if closing {
				return nil
			}
			<-l.qWake
			continue
		}
		head := l.queue[0]
		l.qMu.Unlock()
		if !head.ready.Load() {
			<-l.qWake // its renderer wakes us after setting ready
			continue
		}

		l.qMu.Lock()
		n, bytes := 0, 0
		for _, s := range l.queue {
			if !s.ready.Load() || (n > 0 && bytes+len(s.rb.frames) > l.opts.MaxGroupBytes) {
				break
			}
			bytes += len(s.rb.frames)
			n++
		}
		group := make([]*slot, n)
		copy(group, l.queue[:n])
		l.queue = l.queue[n:]
		l.qMu.Unlock()
		return group
	}
}

// commitGroup writes, syncs and seals one group, then acknowledges it.
func (l *Log) commitGroup(group []*slot) {
	start := time.Now()
	sg := l.segs.active()
	base := l.writeEnd
	st := l.sealed.Load()
	if group[0].epoch != l.currentEpoch() || group[0].first != st.size {
		// Reserved before a rollback: its seqs are gone.
		l.fail(group, fmt.Errorf("local: append aborted by an earlier write failure: %w", stele.ErrUnavailable))
		return
	}

	// 1. Write every slot's frames, coalescing small ones into one write.
	off := base
	l.groupBuf = l.groupBuf[:0]
	flush := func() error {
		if len(l.groupBuf) == 0 {
			return nil
		}
		_, err := sg.f.WriteAt(l.groupBuf, off)
		off += int64(len(l.groupBuf))
		l.groupBuf = l.groupBuf[:0]
		return err
	}
	var err error
	for _, s := range group {
		if len(s.rb.frames) < 256<<10 {
			l.groupBuf = append(l.groupBuf, s.rb.frames...)
			continue
		}
		if err = flush(); err != nil {
			break
		}
		if _, err = sg.f.WriteAt(s.rb.frames, off); err != nil {
			break
		}
		off += int64(len(s.rb.frames))
	}
	if err == nil {
		err = flush()
	}
	// 2. Make it durable.
	if err == nil {
		fsyncStart := time.Now()
		err = sg.f.Sync()
		l.m.fsync.Observe(time.Since(fsyncStart).Seconds())
	}
	if err != nil {
		l.rollback(group, sg, base, err)
		return
	}
	l.writeEnd = off

	// 3. Index the new frames for readers, grow the tree, sign.
	size := st.size
	var anchors []uint32
	rel := base
	for _, s := range group {
		if size == sg.first && sg.entries == 0 {
			anchors = append(anchors, uint32(rel))
		}
		for _, ts := range s.rb.tileStarts {
			if ts.seq != sg.first {
				anchors = append(anchors, uint32(rel+int64(ts.rel)))
			}
		}
		rel += int64(len(s.rb.frames))
		size += uint64(len(s.rb.leaves))
	}
	for _, s := range group {
		l.tiles.appendLeaves(s.rb.leaves)
	}
	signStart := time.Now()
	root := l.tiles.root()
	note, err := l.signer.Sign(checkpoint.Checkpoint{Origin: l.origin, Size: size, Hash: root})
	l.m.sign.Observe(time.Since(signStart).Seconds())
	if err != nil {
		// Cannot happen with an in-memory Ed25519 key; treat as fatal.
		l.setFailed(fmt.Errorf("local: sign checkpoint: %v: %w", err, stele.ErrFailed))
		l.fail(group, l.Health())
		return
	}

	// 4. Persist the checkpoint next to the entries it seals. It becomes
	// durable with the next group's fsync (or at Close); if it is lost in a
	// crash, recovery signs the identical checkpoint again (Ed25519 is
	// deterministic) because the entries it seals are already durable.
	cpOff := l.writeEnd
	frame := segment.AppendFrame(l.groupBuf[:0], segment.TypeCheckpoint, note)
	if _, werr := sg.f.WriteAt(frame, cpOff); werr != nil {
		l.logger.Warn("could not persist checkpoint frame; it will be re-signed on restart", "err", werr)
		if terr := sg.f.Truncate(cpOff); terr != nil {
			l.setFailed(fmt.Errorf("local: cannot undo a partial checkpoint write in %s (%v): %w", sg.name, terr, stele.ErrFailed))
		}
		cpOff = -1
	} else {
		l.writeEnd += int64(len(frame))
	}

	// 5. Publish: readers see the new entries, then the new checkpoint.
	l.segs.mu.Lock()
	sg.tileStarts = append(sg.tileStarts, anchors...)
	sg.entries += size - st.size
	sg.end = l.writeEnd
	if cpOff >= 0 {
		sg.lastCP = cpOff
	}
	l.segs.mu.Unlock()
	l.sealed.Store(&sealedState{size: size, root: root, note: note})
	l.notifyGrowth()

	// 6. Index ids (after publishing, so an id found in the index is always
	// readable and sealed), acknowledge, release the reserved client ids.
	for _, s := range group {
		for j := range s.rb.idEnds {
			if err := l.ids.Add(s.rb.id(j), s.first+uint64(j)); err != nil {
				l.logger.Error("id index add failed", "err", err)
			}
		}
	}
	l.seqMu.Lock()
	for _, s := range group {
		for j := range s.rb.idEnds {
			id := s.rb.id(j)
			if in, ok := l.inflight[string(id)]; ok && in.of == s {
				delete(l.inflight, string(id))
			}
		}
	}
	l.seqMu.Unlock()
	events := size - st.size
	// Acknowledge last: after done is closed the slot's memory belongs to
	// its appender again.
	for _, s := range group {
		close(s.done)
	}

	l.m.groups.Observe(float64(events))
	l.m.appended.Add(float64(events))
	l.m.size.Set(float64(size))
	l.m.commit.Observe(time.Since(start).Seconds())

	if l.writeEnd >= l.opts.SegmentSize {
		if err := l.rollover(size); err != nil {
			l.logger.Error("segment rollover failed; continuing in the current segment", "err", err)
		}
	}
}

func (l *Log) currentEpoch() uint64 {
	l.seqMu.Lock()
	defer l.seqMu.Unlock()
	return l.epoch
}

// rollback undoes a failed group write: it cuts the active segment back to
// base, fails the group and every append queued behind it (their seqs are
// given back), and keeps the log open for new appends if the cut worked.
func (l *Log) rollback(group []*slot, sg *seg, base int64, cause error) {
	kind := stele.ErrUnavailable
	if errors.Is(cause, syscall.ENOSPC) || errors.Is(cause, syscall.EDQUOT) {
		kind = stele.ErrDiskFull
	}
	l.m.errors.WithLabelValues(errorLabel(kind)).Inc()
	// Clients see this message: name the segment relative to the data
	// directory, not the absolute path inside the I/O error.
	reason := cause
	var pe *fs.PathError
	if errors.As(cause, &pe) {
		reason = pe.Err
	}
	err := fmt.Errorf("local: write %s: %v: %w", sg.name, reason, kind)
	if terr := sg.f.Truncate(base); terr != nil {
		l.setFailed(fmt.Errorf("local: cannot undo a failed write to %s (write: %v; truncate: %v): %w", sg.name, cause, terr, stele.ErrFailed))
	} else if serr := sg.f.Sync(); serr != nil {
		l.setFailed(fmt.Errorf("local: cannot undo a failed write to %s (write: %v; sync: %v): %w", sg.name, cause, serr, stele.ErrFailed))
	}
	l.logger.Error("append failed; rolled back", "segment", sg.name, "err", cause)

	l.seqMu.Lock()
	l.qMu.Lock()
	queued := l.queue
	l.queue = nil
	l.qMu.Unlock()
	l.epoch++
	l.next = l.sealed.Load().size
	clear(l.inflight)
	l.seqMu.Unlock()

	l.fail(group, err)
	l.fail(queued, err)
}

// fail completes slots with err.
func (l *Log) fail(slots []*slot, err error) {
	for _, s := range slots {
		s.err = err
		close(s.done)
	}
}

// setFailed stops appends for good (until restart).
func (l *Log) setFailed(err error) {
	l.logger.Error("log failed: appends are stopped until restart", "err", err)
	l.seqMu.Lock()
	if l.stopped == nil || errors.Is(l.stopped, stele.ErrClosed) {
		l.stopped = err
	}
	l.seqMu.Unlock()
}

// rollover seals the active segment and starts a new one whose first entry
// will have seq next. On failure the active segment stays active.
func (l *Log) rollover(next uint64) error {
	old := l.segs.active()
	name := filepath.Join(segmentsDir, segmentName(next))
	// The old segment must be complete on disk before its successor exists:
	// only the newest segment may end in a torn tail.
	if err := old.f.Sync(); err != nil { // its last checkpoint frame
		return err
	}
	f, err := createSegment(l.fs, l.dir, next)
	if err != nil {
		return err
	}
	l.segs.mu.Lock()
	old.sealed = true
	l.segs.segs = append(l.segs.segs, &seg{first: next, name: name, f: f, end: segment.HeaderSize, lastCP: -1})
	l.segs.mu.Unlock()
	l.writeEnd = segment.HeaderSize
	if err := l.fs.Chmod(filepath.Join(l.dir, old.name), 0o444); err != nil {
		l.logger.Warn("could not make sealed segment read-only", "segment", old.name, "err", err)
	}
	l.segs.mu.RLock()
	err = writeSidecar(l.fs, l.dir, old)
	l.segs.mu.RUnlock()
	if err != nil {
		l.logger.Warn("could not write segment sidecar; it will be rebuilt at startup", "segment", old.name, "err", err)
	}
	l.m.segments.Inc()
	return nil
}

// createSegment durably creates an empty segment file (header only).
func createSegment(fsys fsx.FS, dir string, first uint64) (fsx.File, error) {
	path := filepath.Join(dir, segmentsDir, segmentName(first))
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("local: create segment: %w", err)
	}
	h := segment.EncodeHeader(first)
	_, err = f.WriteAt(h[:], 0)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = fsys.SyncDir(filepath.Join(dir, segmentsDir))
	}
	if err != nil {
		f.Close()
		fsys.Remove(path)
		return nil, fmt.Errorf("local: create segment %s: %w", path, err)
	}
	return f, nil
}

var _ = tiles.Width
