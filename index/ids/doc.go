// Package ids is the whole-log event-id index: it maps an event's id (the
// client's idempotency key) to the seqs whose ids hash the same, so that the
// sequencer can refuse a resent event and GET /v1/events/id/{id} can find it.
//
// The index is derived data. The log's segment files are the authority; the
// index MUST NOT be treated as one. It is never fsynced on the append path,
// it may lose its tail in a crash (Covered then reports less, and the caller
// re-Adds from the log), and if Open reports ErrCorrupt the caller deletes the
// directory and rebuilds the index from the log.
//
// # Design
//
// Ids are reduced to 64-bit hashes (XXH64 with a per-index random seed, see
// below). Recent hashes live in a memtable (an open-addressing table, about
// 16 bytes per id); a full memtable is written by a background goroutine to
// an immutable run file of sorted (hash, seq) pairs. Adjacent runs of the same
// size tier are merged in the background (size-tiered, fanout 4), so a 10 M-id
// index has a handful of runs. Each open run keeps in memory its fences (the
// first hash of every 4 KiB block, 8 bytes per 341 ids) and a split-block bloom
// filter (16–20 bits per id), both rebuilt when the run is opened, so that a
// lookup of an absent id is a few cache misses and reads no disk unless a
// filter gives a false positive; a candidate is read with one pread of one
// block. No file is memory-mapped, because mapped pages count against RSS.
//
// # Files
//
// An index directory holds:
//
//	LOCK                       exclusive lock held while open
//	run-<first>-<end>.ids      run files; first and end are 16 lowercase hex digits
//	*.tmp                      unfinished writes; removed by Open
//
// A run file holds one entry for every seq in [first, end). The live runs
// are the chain that tiles [0, Covered()) starting at seq 0, choosing at each
// step the run that reaches furthest; runs the chain skips are leftovers of a
// merge (or of a crash) and Open removes them. There is no manifest: the
// file names are the manifest. Every run is written to a temporary name,
// synced, renamed and the directory synced before it becomes live, and a
// merge retires its inputs only after its output is durable, so a crash at
// any point leaves a chain that is correct, possibly shorter.
//
// # Run file format, version 1
//
// All integers are little endian. A run file is a sequence of 4096-byte
// blocks. The last 4 bytes of every block are the CRC32C (Castagnoli) of its
// first 4092 bytes. Block 0 is the header:
//
//	offset  size  field
//	0       8     magic "STLIDRUN"
//	8       4     version, 1
//	12      4     block size, 4096
//	16      8     seed: the index's hash seed
//	24      8     first: the first seq in the run
//	32      8     end: one past the last seq; first < end and end-first ≤ 2^32
//	40      4052  zero
//	4092    4     CRC32C of bytes 0..4091
//
// Blocks 1..n are data blocks, n = ceil((end-first)/341). Each holds 341
// entries, which fill bytes 0..4091; the last block holds the rest, followed
// by zero padding up to byte 4092. Then comes the block's CRC32C. An entry is
// 12 bytes:
//
//	offset  size  field
//	0       8     hash: XXH64(id) with the header's seed
//	8       4     seq - first
//
// Entries are in strictly increasing (hash, seq) order across the whole file,
// and every seq in [first, end) occurs exactly once, so the file size is
// exactly 4096·(n+1) and each set of entries has exactly one valid encoding.
// Open checks all of this for every live run, the header range against the
// file name and the seed against the other runs; any failure is a
// *CorruptionError naming the file and byte offset. Lookups check each block's
// CRC32C again when they read it.
//
// # Hash
//
// hash = XXH64(seed, id), with XXH64 as specified at
// https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md. The seed is
// drawn from crypto/rand when an index is created (Open on a directory with no
// runs) and is stored in every run header, so every process computes the same
// hashes for the same directory. A random rather than a fixed seed keeps ids
// chosen by clients from being crafted to collide: every collision costs the
// caller an entry read while it holds the sequencer's lock.
package ids
