package tiles

import "crypto/sha256"

// emptyRoot is the RFC 6962 root of the empty tree, SHA-256("").
var emptyRoot = sha256.Sum256(nil)

// hashChildren returns the RFC 6962 interior node hash
// SHA-256(0x01 || left || right). It works on a stack buffer so that the
// Builder's hot path does not allocate (rfc6962.Hasher.HashChildren allocates
// twice per call).
func hashChildren(left, right []byte) [HashSize]byte {
	var in [1 + 2*HashSize]byte
	in[0] = 1
	copy(in[1:1+HashSize], left)
	copy(in[1+HashSize:], right)
	return sha256.Sum256(in[:])
}

// subtreeHash returns the Merkle tree hash of a perfect subtree whose leaves
// are the concatenated hashes in data. The number of hashes must be a power of
// two no larger than Width; callers only ask for runs that come from the
// binary decomposition of a tile.
func subtreeHash(data []byte) [HashSize]byte {
	n := len(data) / HashSize
	if n == 0 || n > Width || n&(n-1) != 0 || len(data)%HashSize != 0 {
		panic("tiles: subtreeHash of a run that is not a power of two hashes")
	}
	var out [HashSize]byte
	if n == 1 {
		copy(out[:], data)
		return out
	}
	var scratch [Width / 2][HashSize]byte
	for i := 0; i < n/2; i++ {
		scratch[i] = hashChildren(data[2*i*HashSize:(2*i+1)*HashSize], data[(2*i+1)*HashSize:(2*i+2)*HashSize])
	}
	for n /= 2; n > 1; n /= 2 {
		for i := 0; i < n/2; i++ {
			scratch[i] = hashChildren(scratch[2*i][:], scratch[2*i+1][:])
		}
	}
	return scratch[0]
}
