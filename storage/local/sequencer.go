package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/segment"
)

// An append passes through three steps:
//
//  1. Reserve (under seqMu, short): resolve duplicates, assign seqs and
//     server ids, enqueue a slot in seq order.
//  2. Render (concurrently with other appends): write each entry straight
//     into its frame in the slot's buffer and hash it.
//  3. Commit (the committer goroutine, see committer.go): write and fsync
//     every ready slot at the head of the queue as one group, seal, ack.
//
// Only step 1 and 3 are serial, and both are lean.

// slot is one append's share of a group commit.
type slot struct {
	epoch uint64
	first uint64 // seq of the slot's first new event
	rb    *renderBuf
	ready atomic.Bool   // set when rendered (then the committer is woken)
	done  chan struct{} // closed when committed or failed
	err   error         // set before done is closed
}

// renderBuf holds an append's working memory; pooled.
type renderBuf struct {
	fates      []fate
	ids        []byte   // ids of the new events, concatenated
	idEnds     []uint32 // end offset of each new event's id in ids
	frames     []byte   // framed entries, ready to write
	leaves     [][32]byte
	tileStarts []tileStart
	cands      []uint64
}

// tileStart records where, inside frames, an anchor entry (seq%anchorEvery == 0) begins.
type tileStart struct {
	seq uint64
	rel int
}

// fate says what happens to one event of a batch.
type fate struct {
	kind fateKind
	seq  uint64 // original seq for duplicates, own seq for new events
	j    int    // index among the slot's new events (fateNew)
	of   *slot  // the slot that appends the original (fateDupInflight)
}

type fateKind uint8

const (
	fateNew          fateKind = iota
	fateDupCommitted          // id already sealed in the log
	fateDupInflight           // id being appended by this or another append
)

// inflightID is a client id reserved by a slot that has not committed yet.
type inflightID struct {
	of  *slot
	seq uint64
}

var renderPool = sync.Pool{New: func() any { return new(renderBuf) }}

func (rb *renderBuf) reset() {
	rb.fates, rb.ids, rb.idEnds = rb.fates[:0], rb.ids[:0], rb.idEnds[:0]
	rb.frames, rb.leaves, rb.tileStarts = rb.frames[:0], rb.leaves[:0], rb.tileStarts[:0]
}

func (rb *renderBuf) id(j int) []byte {
	start := uint32(0)
	if j > 0 {
		start = rb.idEnds[j-1]
	}
	return rb.ids[start:rb.idEnds[j]]
}

// Append seals a batch: it returns after every new event of b is durable and
// covered by a signed checkpoint, and fills out with each event's seq, id
// and leaf hash (out is Reset first). Events whose id is already in the log
// are not appended again: they report their original seq with Duplicate set.
// A failed Append appended nothing.
func (l *Log) Append(ctx context.Context, b *stele.Batch, out *stele.Sealed) error {
	out.Reset()
	if err := ctx.Err(); err != nil {
		return err
	}
	l.m.appends.Inc()
	l.m.batch.Observe(float64(b.Len()))
	rb := renderPool.Get().(*renderBuf)
	rb.reset()
	defer renderPool.Put(rb)

	s, err := l.reserve(b, rb)
	if err != nil {
		return err
	}
	if s != nil {
		l.render(b, s)
		s.ready.Store(true)
		l.wakeCommitter()
		// Wait even if ctx is cancelled: the committer owns the slot's memory
		// until done, and the append completes in one fsync anyway.
		<-s.done
		if s.err != nil {
			return s.err
		}
	}
	return l.fill(b, s, rb, out)
}

// reserve runs step 1. It returns a nil slot when every event is a duplicate.
func (l *Log) reserve(b *stele.Batch, rb *renderBuf) (*slot, error) {
	n := b.Len()
	l.seqMu.Lock()
	defer l.seqMu.Unlock()
	if l.stopped != nil {
		return nil, l.stopped
	}
	s := &slot{epoch: l.epoch, first: l.next}
	now := l.opts.Now()
	newCount := 0
	for i := range n {
		cid := b.ClientID(i)
		if cid == nil {
			rb.ids = l.idgen.Next(rb.ids, now)
		} else {
			if in, ok := l.inflight[string(cid)]; ok {
				rb.fates = append(rb.fates, fate{kind: fateDupInflight, seq: in.seq, of: in.of})
				continue
			}
			seq, found, err := l.lookupCommitted(cid, rb)
			if err != nil {
				l.rollbackInflight(s, rb)
				return nil, err
			}
			if found {
				rb.fates = append(rb.fates, fate{kind: fateDupCommitted, seq: seq})
				continue
			}
			l.inflight[string(cid)] = inflightID{of: s, seq: s.first + uint64(newCount)}
			rb.ids = append(rb.ids, cid...)
		}
		rb.idEnds = append(rb.idEnds, uint32(len(rb.ids)))
		rb.fates = append(rb.fates, fate{kind: fateNew, seq: s.first + uint64(newCount), j: newCount})
		newCount++
	}
	if newCount == 0 {
		return nil, nil
	}
	l.next += uint64(newCount)
	s.rb = rb
	s.done = make(chan struct{})
	l.qMu.Lock()
	l.queue = append(l.queue, s)
	l.qMu.Unlock()
	return s, nil
}

// rollbackInflight forgets the client ids s reserved (reserve failed midway).
func (l *Log) rollbackInflight(s *slot, rb *renderBuf) {
	for j := range rb.idEnds {
		if in, ok := l.inflight[string(rb.id(j))]; ok && in.of == s {
			delete(l.inflight, string(rb.id(j)))
		}
	}
}

// lookupCommitted finds a client id among sealed entries. Called under seqMu.
func (l *Log) lookupCommitted(id []byte, rb *renderBuf) (uint64, bool, error) {
	cands, err := l.ids.Lookup(rb.cands[:0], id)
	rb.cands = cands
	if err != nil {
		return 0, false, fmt.Errorf("local: id index: %w", err)
	}
	for _, seq := range cands {
		var match bool
		err := l.segs.readEntries(seq, 1, func(_ uint64, entry []byte) error {
			got, err := entryID(entry)
			match = bytes.Equal(got, id)
			return err
		})
		if err != nil {
			return 0, false, err
		}
		if match {
			return seq, true, nil
		}
	}
	return 0, false, nil
}

// render runs step 2: frames, entries and leaf hashes for the slot's events.
func (l *Log) render(b *stele.Batch, s *slot) {
	rb := s.rb
	// Frame header, id, seq and their keys add under 100 bytes an event.
	rb.frames = slices.Grow(rb.frames, b.Bytes()+100*len(rb.fates))
	for i, f := range rb.fates {
		if f.kind != fateNew {
			continue
		}
		var start int
		rb.frames, start = segment.BeginFrame(rb.frames)
		rb.frames = b.AppendEntry(rb.frames, i, rb.id(f.j), f.seq)
		// The frame header's type byte is still zero and sits right before
		// the entry: hashing from it gives SHA-256(0x00 || entry), the RFC
		// 6962 leaf hash, without a copy.
		rb.leaves = append(rb.leaves, sha256.Sum256(rb.frames[start+segment.FrameHeaderSize-1:]))
		segment.EndFrame(rb.frames, start, segment.TypeEntry)
		if f.seq%anchorEvery == 0 {
			rb.tileStarts = append(rb.tileStarts, tileStart{seq: f.seq, rel: start})
		}
	}
}

// fill builds the acknowledgement once the slot (if any) has committed.
func (l *Log) fill(b *stele.Batch, s *slot, rb *renderBuf, out *stele.Sealed) error {
	for i, f := range rb.fates {
		switch f.kind {
		case fateNew:
			out.AddEvent(f.seq, rb.id(f.j), rb.leaves[f.j], false)
		case fateDupInflight:
			if f.of == s {
				out.AddEvent(f.seq, b.ClientID(i), rb.leaves[f.seq-s.first], true)
				continue
			}
			<-f.of.done
			if f.of.err != nil {
				return fmt.Errorf("local: the first append of id %q failed, so this one did too (%w); retry", b.ClientID(i), stele.ErrUnavailable)
			}
			fallthrough
		case fateDupCommitted:
			leaf, err := l.leafAt(f.seq)
			if err != nil {
				return err
			}
			out.AddEvent(f.seq, b.ClientID(i), leaf, true)
		}
	}
	if dups := len(rb.fates) - len(rb.leaves); dups > 0 {
		l.m.dups.Add(float64(dups))
	}
	st := l.sealed.Load()
	out.Size, out.Root, out.Checkpoint = st.size, st.root, st.note
	return nil
}

// leafAt reads the entry at seq and returns its leaf hash.
func (l *Log) leafAt(seq uint64) ([32]byte, error) {
	var leaf [32]byte
	err := l.segs.readEntries(seq, 1, func(_ uint64, entry []byte) error {
		h := sha256.New()
		h.Write([]byte{0})
		h.Write(entry)
		h.Sum(leaf[:0])
		return nil
	})
	return leaf, err
}

// entryID extracts the id of a canonical entry.
func entryID(entry []byte) ([]byte, error) {
	rec, err := stele.ParseRecord(entry)
	if err != nil {
		return nil, err
	}
	return []byte(rec.ID), nil
}

func (l *Log) wakeCommitter() {
	select {
	case l.qWake <- struct{}{}:
	default:
	}
}
