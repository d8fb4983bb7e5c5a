package search

import (
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/stele-log/stele/internal/fsx"
)

// IdentityFile names the file in an index directory that records which log
// the index was built from. Chunk files hold positions, not records: an
// index of another log (a directory copied or restored by mistake) would
// answer with the wrong events, so the caller compares the identity with
// the log's before trusting the chunks, and rebuilds on a mismatch.
const IdentityFile = "LOG"

// ReadIdentity returns the identity recorded in the index directory dir, or
// nil when there is none.
func ReadIdentity(fsys fsx.FS, dir string) ([]byte, error) {
	b, err := fsx.ReadFile(fsys, filepath.Join(dir, IdentityFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// WriteIdentity durably records id as the identity of the log the index in
// dir is built from.
func WriteIdentity(fsys fsx.FS, dir string, id []byte) error {
	return fsx.WriteFileAtomic(fsys, filepath.Join(dir, IdentityFile), id, 0o644)
}
