package stele

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// IDLen is the length of an id from IDGen: a UUID in its 36-character
// 8-4-4-4-12 lowercase hex form.
const IDLen = 36

// IDGen generates the ids the server assigns to events that arrive without
// one: UUIDv7 (RFC 9562 §5.7), so ids sort by time and index well.
//
// Layout, most significant bit first:
//
//	48 bits  unix_ts_ms   milliseconds since the Unix epoch
//	 4 bits  ver          0b0111
//	12 bits  rand_a       sub-millisecond fraction of the clock, in 1/4096 ms
//	 2 bits  var          0b10
//	62 bits  rand_b       random, from crypto/rand
//
// Ids from one IDGen strictly increase (RFC 9562 §6.2, method 3): the 60 bits
// unix_ts_ms‖rand_a act as one counter that takes the clock's value when the
// clock has moved past the last id, and otherwise the last id's value plus
// one, carrying from rand_a into the timestamp. So a stalled clock, a burst
// of more than one id per 1/4096 ms, or a clock stepped back yields ids that
// keep increasing and run slightly ahead of the clock until it catches up.
//
// The zero value is ready to use. An IDGen is not safe for concurrent use;
// the sequencer calls it under its lock, which is also what makes the ids of
// one log increase with seq.
type IDGen struct {
	last  uint64    // unix_ts_ms<<12 | rand_a of the last id
	pool  [512]byte // random bytes drawn from crypto/rand in one call
	avail int       // unused bytes at the end of pool
}

// Next appends a new id to dst, using now as the clock reading.
func (g *IDGen) Next(dst []byte, now time.Time) []byte {
	ms := now.UnixMilli()
	if ms < 0 {
		ms = 0 // before 1970: UUIDv7 cannot say so; the counter still increases
	}
	frac := uint64(now.Nanosecond()%int(time.Millisecond)) << 12 / uint64(time.Millisecond)
	ts := (uint64(ms)<<12 | frac) & (1<<60 - 1)
	if ts <= g.last {
		ts = g.last + 1
	}
	g.last = ts

	if g.avail < 8 {
		// One getrandom call serves 64 ids. crypto/rand.Read never fails
		// (Go 1.24+ crashes the program instead of returning bad bytes).
		_, _ = rand.Read(g.pool[:])
		g.avail = len(g.pool)
	}
	randB := binary.BigEndian.Uint64(g.pool[len(g.pool)-g.avail:])
	g.avail -= 8

	var u [16]byte
	binary.BigEndian.PutUint64(u[0:8], ts>>12<<16|0x7000|ts&0xfff)
	binary.BigEndian.PutUint64(u[8:16], randB&(1<<62-1)|1<<63)
	return appendUUID(dst, &u)
}

// appendUUID appends u in 8-4-4-4-12 lowercase hex.
func appendUUID(dst []byte, u *[16]byte) []byte {
	const hex = "0123456789abcdef"
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[b>>4], hex[b&15])
	}
	return dst
}
