package ids

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/stele-log/stele/internal/fsx"
)

// minBackoff is the first retry delay after a failed background flush or
// merge; each further failure doubles it, up to 100·minBackoff (5 s).
const minBackoff = 50 * time.Millisecond

// mergeFanout is how many adjacent runs of one size tier are merged into
// one. Runs of tier t hold about MemtableSize·mergeFanout^t ids, so at most
// (mergeFanout-1) runs per tier stay live and each id is rewritten about
// log_mergeFanout(ids/MemtableSize) times.
const mergeFanout = 4

// errAborted stops a merge when the index closes.
var errAborted = errors.New("ids: merge aborted by Close")

// flushLoop writes frozen memtables to runs, oldest first, one at a time, so
// that each run is durable before the next one is written. A failed flush
// leaves the memtable queued and is retried with exponential backoff, or at
// once when Flush asks.
func (x *Index) flushLoop() {
	defer x.wg.Done()
	backoff := x.minBackoff
	var retry <-chan time.Time
	for {
		select {
		case <-x.done:
			return
		case <-x.flushCh:
		case <-retry:
		}
		retry = nil
		for {
			x.mu.Lock()
			if len(x.frozen) == 0 || x.closed {
				x.mu.Unlock()
				break
			}
			m := x.frozen[0]
			x.mu.Unlock()

			r, err := x.flushMemtable(m)

			x.mu.Lock()
			if err != nil {
				x.flushFails++
				x.flushErr = err
				x.changed.Broadcast()
				x.mu.Unlock()
				x.log.Error("ids: flush failed; ids stay in memory and the flush is retried", "err", err, "retry_in", backoff)
				retry = time.After(backoff)
				backoff = min(2*backoff, 100*x.minBackoff)
				break
			}
			recovered := x.flushErr != nil
			x.flushErr = nil
			x.frozen = slices.Delete(x.frozen, 0, 1)
			x.runs = append(slices.Clip(x.runs), r)
			x.changed.Broadcast()
			x.mu.Unlock()
			if recovered {
				x.log.Info("ids: flush recovered", "file", r.path)
			}
			backoff = x.minBackoff
			wake(x.mergeCh)

			// No reader can reach m any more: readers find memtables only
			// under x.mu, and m left x.frozen above.
			m.reset(0)
			x.mu.Lock()
			if x.spare == nil {
				x.spare = m
			}
			x.mu.Unlock()
		}
	}
}

// flushMemtable writes m's entries to a new durable run.
func (x *Index) flushMemtable(m *memtable) (*run, error) {
	entries := m.sorted()
	hdr := runHeader{seed: x.seed, first: m.base, end: m.end()}
	return x.writeRun(hdr, func(rw *runWriter) error {
		for _, e := range entries {
			if err := rw.add(e); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeRun creates the run file for hdr durably: fill writes the entries to
// a temporary file, which is synced, renamed into place, and made durable by
// syncing the directory. Then it is reopened read-only for lookups. On error
// nothing is left behind.
func (x *Index) writeRun(hdr runHeader, fill func(*runWriter) error) (*run, error) {
	name := runFileName(hdr.first, hdr.end)
	path := filepath.Join(x.dir, name)
	tmp := path + ".tmp"
	f, err := x.fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ids: writing %s: %w", name, err)
	}
	rw := newRunWriter(f, hdr)
	err = fill(rw)
	if err == nil {
		err = rw.finish()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = x.fs.Rename(tmp, path)
	}
	if err != nil {
		x.fs.Remove(tmp) // best effort; Open removes leftovers
		if errors.Is(err, errAborted) {
			return nil, err
		}
		return nil, fmt.Errorf("ids: writing %s: %w", name, err)
	}
	// Until the directory is synced the rename may not survive a crash, and
	// a run installed now could be followed by durable runs after it.
	if err := x.fs.SyncDir(x.dir); err != nil {
		x.fs.Remove(path)
		return nil, fmt.Errorf("ids: writing %s: sync dir: %w", name, err)
	}
	rf, err := fsx.Open(x.fs, path)
	if err != nil {
		x.fs.Remove(path)
		return nil, fmt.Errorf("ids: reopening %s: %w", name, err)
	}
	return newRun(x.fs, path, x.log, rf, hdr, rw.fences, rw.filter), nil
}

// tier is the size class of a run of count ids: 0 below
// MemtableSize·mergeFanout, then one more for every factor of mergeFanout.
func (x *Index) tier(count uint64) int {
	t := 0
	for c := count / uint64(x.memtableSize); c >= mergeFanout; c /= mergeFanout {
		t++
	}
	return t
}

// pickMergeLocked chooses the oldest mergeFanout adjacent runs of one tier,
// if any. Merging only adjacent runs keeps every run a contiguous seq range.
func (x *Index) pickMergeLocked() (lo, hi int, ok bool) {
	runs := x.runs
	for i := 0; i < len(runs); {
		t := x.tier(runs[i].count())
		j := i + 1
		for j < len(runs) && x.tier(runs[j].count()) == t {
			j++
		}
		if j-i >= mergeFanout && runs[i+mergeFanout-1].hdr.end-runs[i].hdr.first <= maxRunEntries {
			return i, i + mergeFanout, true
		}
		i = j
	}
	return 0, 0, false
}

// mergeLoop merges runs in the background whenever a tier fills up. A merge
// installs its output only once it is durable, then retires the inputs; a
// crash at any point leaves either the inputs or the output live.
func (x *Index) mergeLoop() {
	defer x.wg.Done()
	backoff := x.minBackoff
	var retry <-chan time.Time
	for {
		select {
		case <-x.done:
			return
		case <-x.mergeCh:
		case <-retry:
		}
		retry = nil
		for {
			x.mu.Lock()
			lo, hi, ok := x.pickMergeLocked()
			if !ok || x.closed {
				x.mu.Unlock()
				break
			}
			inputs := slices.Clone(x.runs[lo:hi])
			x.merging = true
			x.mu.Unlock()

			out, err := x.mergeRuns(inputs)

			x.mu.Lock()
			x.merging = false
			if err != nil {
				aborted := errors.Is(err, errAborted)
				if !aborted {
					x.mergeErr = err
				}
				x.changed.Broadcast()
				x.mu.Unlock()
				if aborted {
					return
				}
				x.log.Error("ids: merge failed; its input runs stay live", "err", err, "retry_in", backoff)
				retry = time.After(backoff)
				backoff = min(2*backoff, 100*x.minBackoff)
				break
			}
			// Only this goroutine removes runs, so the inputs are still
			// adjacent in x.runs.
			i := slices.Index(x.runs, inputs[0])
			runs := make([]*run, 0, len(x.runs)-len(inputs)+1)
			runs = append(runs, x.runs[:i]...)
			runs = append(runs, out)
			runs = append(runs, x.runs[i+len(inputs):]...)
			x.runs = runs
			x.mergeErr = nil
			x.changed.Broadcast()
			x.mu.Unlock()
			backoff = x.minBackoff
			for _, in := range inputs {
				in.obsolete.Store(true)
				in.unref()
			}
		}
	}
}

// mergeRuns writes one run holding the entries of adjacent runs inputs.
func (x *Index) mergeRuns(inputs []*run) (*run, error) {
	hdr := runHeader{seed: x.seed, first: inputs[0].hdr.first, end: inputs[len(inputs)-1].hdr.end}
	iters := make([]*runIter, 0, len(inputs))
	for _, in := range inputs {
		it, err := newRunIter(in.f, runFileSize(in.count()), in.path)
		if err != nil {
			return nil, err
		}
		ok, err := it.next()
		if err != nil {
			return nil, err
		}
		if ok {
			iters = append(iters, it)
		}
	}
	return x.writeRun(hdr, func(rw *runWriter) error {
		for n := 0; len(iters) > 0; n++ {
			if n%65536 == 0 {
				select {
				case <-x.done:
					return errAborted
				default:
				}
			}
			best := 0
			for i := 1; i < len(iters); i++ {
				if compareEntries(iters[i].cur, iters[best].cur) < 0 {
					best = i
				}
			}
			if err := rw.add(iters[best].cur); err != nil {
				return err
			}
			ok, err := iters[best].next()
			if err != nil {
				return err
			}
			if !ok {
				iters = slices.Delete(iters, best, best+1)
			}
		}
		return nil
	})
}

// waitIdle blocks until no flush or merge is pending or running, or a
// background error is pending. Tests use it to reach a quiescent state.
func (x *Index) waitIdle() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for {
		if x.closed {
			return ErrClosed
		}
		if x.flushErr != nil {
			return x.flushErr
		}
		if x.mergeErr != nil {
			return x.mergeErr
		}
		_, _, mergeDue := x.pickMergeLocked()
		if len(x.frozen) == 0 && !x.merging && !mergeDue {
			return nil
		}
		x.changed.Wait()
	}
}
