package search

import (
	"context"
	"errors"
	"fmt"
)

// Source is the log an Index is derived from: storage/local.Log, or any
// driver that reads sealed entries in seq order.
type Source interface {
	// Size is the number of sealed entries.
	Size() uint64
	// Entries calls fn for up to limit sealed entries from seq from, in
	// order; the entry is valid only during the call.
	Entries(ctx context.Context, from uint64, limit int, fn func(seq uint64, entry []byte) error) error
	// Wait blocks until the log holds more than size entries, and returns
	// the new size.
	Wait(ctx context.Context, size uint64) (uint64, error)
}

// followBatch is how many entries one read of the log hands to Add.
const followBatch = 4096

// CatchUp indexes src from Covered() up to the size src has when it is
// called, and returns. progress, if not nil, is called after each batch with
// Covered() and the target size.
func (x *Index) CatchUp(ctx context.Context, src Source, progress func(covered, target uint64)) error {
	target := src.Size()
	return x.addRange(ctx, src, target, progress)
}

// Follow keeps the index caught up with src until ctx is done (it then
// returns ctx's error) or indexing fails. Queries stay correct while the
// index lags, since the engine scans past Covered(); Follow only keeps that
// scan short.
func (x *Index) Follow(ctx context.Context, src Source) error {
	for {
		size := src.Size()
		if err := x.addRange(ctx, src, size, nil); err != nil {
			return err
		}
		if _, err := src.Wait(ctx, size); err != nil {
			return err
		}
	}
}

// addRange indexes [Covered(), target).
func (x *Index) addRange(ctx context.Context, src Source, target uint64, progress func(covered, target uint64)) error {
	for {
		from := x.Covered()
		if from >= target {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		n := int(min(target-from, followBatch))
		err := src.Entries(ctx, from, n, func(seq uint64, entry []byte) error {
			if err := x.Add(seq, entry); err != nil {
				if errors.Is(err, ErrInvalid) {
					return fmt.Errorf("search: indexing seq %d: %w", seq, err)
				}
				return err
			}
			return nil
		})
		if err != nil {
			return err
		}
		if progress != nil {
			progress(x.Covered(), target)
		}
	}
}
