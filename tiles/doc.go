// Package tiles owns the C2SP tlog-tiles representation of the log's Merkle
// tree (https://c2sp.org/tlog-tiles): tile and entry-bundle paths, the entry
// bundle byte format, the incremental tile Builder, and root hashes and
// proofs computed from tiles.
//
// It is a leaf package: it imports nothing from this module, performs no I/O
// of its own (tiles come in through a HashReader) and never decides whether
// a hash is trustworthy; callers compare against signed checkpoints.
//
// # Tree and hashes
//
// The tree is the RFC 6962 Merkle tree over SHA-256. A leaf hash is
// SHA-256(0x00 || entry); an interior node is SHA-256(0x01 || left || right).
// The root of the empty tree is SHA-256("").
//
// # Tiles
//
// A tile is a run of at most 256 consecutive 32-byte node hashes at one
// "tile level" L (0..63). Entry i of tile N at level L is the Merkle tree
// hash of leaves [(N*256+i)*256^L, (N*256+i+1)*256^L); so level 0 tiles hold
// leaf hashes and level L tiles hold the roots of full level L-1 tiles. A
// full tile is exactly 256 hashes (8192 bytes). The rightmost tile of a level
// for a tree of size s is partial, with floor(s/256^L) mod 256 hashes (see
// PartialWidth); a partial tile of width 0 does not exist. A tile's bytes are
// the plain concatenation of its hashes, with no header.
//
// Paths (no leading slash):
//
//	tile/<L>/<N>[.p/<W>]        hash tile, level L, index N, width W (1..255)
//	tile/entries/<N>[.p/<W>]    entry bundle matching level 0 tile N
//
// <L> and <W> are decimal without leading zeros. <N> is written in groups of
// three decimal digits separated by "/", every group but the last prefixed
// with "x", and the first group not "x000": 0 is "000", 1234067 is
// "x001/x234/067". The .p/<W> suffix appears only on partial tiles.
//
// # Entry bundles
//
// An entry bundle is the concatenation, for each entry of the matching level
// 0 tile in order, of a big-endian uint16 length followed by that many bytes
// of entry. Entries are therefore at most 65535 bytes.
package tiles
