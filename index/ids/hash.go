package ids

import (
	"crypto/rand"
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// hashID is the index's id hash: XXH64 with the index's seed. The seed is
// chosen at random when an index directory is created and stored in every run
// header, so the hashes on disk stay valid across processes, while a client
// that picks ids cannot predict them and flood one hash with colliding ids
// (each candidate costs the caller an entry read in the sequencer's critical
// section).
func hashID(seed uint64, id []byte) uint64 {
	var d xxhash.Digest
	d.ResetWithSeed(seed)
	d.Write(id)
	return d.Sum64()
}

// newSeed returns a random hash seed for a new index.
func newSeed() (uint64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}
