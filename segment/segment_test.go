package segment

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// build returns a segment file with the given payloads as entry frames.
func build(first uint64, payloads ...[]byte) []byte {
	h := EncodeHeader(first)
	b := append([]byte(nil), h[:]...)
	for _, p := range payloads {
		b = AppendFrame(b, TypeEntry, p)
	}
	return b
}

type scanned struct {
	types    []Type
	payloads [][]byte
	end      int64
	err      error
}

func scan(t *testing.T, file []byte) scanned {
	t.Helper()
	s, err := NewScanner(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		return scanned{err: err}
	}
	var out scanned
	for s.Next() {
		out.types = append(out.types, s.Type())
		out.payloads = append(out.payloads, append([]byte(nil), s.Payload()...))
	}
	out.end, out.err = s.End(), s.Err()
	return out
}

func TestScanRoundTrip(t *testing.T) {
	var payloads [][]byte
	for i := range 3000 { // crosses the 1 MiB read window several times
		payloads = append(payloads, bytes.Repeat([]byte{byte('a' + i%26)}, 1+i%1500))
	}
	payloads = append(payloads, bytes.Repeat([]byte{'z'}, 65535))
	file := build(4096, payloads...)
	file = AppendFrame(file, TypeCheckpoint, []byte("origin\n1\nhash\n"))
	got := scan(t, file)
	if got.err != nil {
		t.Fatalf("scan: %v", got.err)
	}
	if len(got.payloads) != len(payloads)+1 {
		t.Fatalf("got %d frames, want %d", len(got.payloads), len(payloads)+1)
	}
	for i, p := range payloads {
		if got.types[i] != TypeEntry || !bytes.Equal(got.payloads[i], p) {
			t.Fatalf("frame %d differs", i)
		}
	}
	if got.types[len(payloads)] != TypeCheckpoint {
		t.Fatalf("last frame type %v, want checkpoint", got.types[len(payloads)])
	}
	if got.end != int64(len(file)) {
		t.Fatalf("end %d, want %d", got.end, len(file))
	}
	s, _ := NewScanner(bytes.NewReader(file), int64(len(file)))
	if s.First() != 4096 {
		t.Fatalf("first = %d", s.First())
	}
}

func TestScanDamage(t *testing.T) {
	good := build(0, []byte("one"), []byte("two"), bytes.Repeat([]byte("x"), 2000))
	frame2 := int64(HeaderSize + FrameHeaderSize + 3) // offset of "two"
	frame3 := frame2 + FrameHeaderSize + 3            // offset of the 2000-byte frame
	withZeroSector := func() []byte {                 // last frame's first whole sector zeroed, nothing after
		b := append([]byte(nil), good...)
		start := (frame3 + FrameHeaderSize + 511) / 512 * 512
		for i := start; i < start+512; i++ {
			b[i] = 0
		}
		return b
	}
	tests := []struct {
		name    string
		file    []byte
		frames  int
		torn    bool // else corrupt
		errAt   int64
		noError bool
	}{
		{name: "clean", file: good, frames: 3, noError: true},
		{name: "header only", file: good[:HeaderSize], frames: 0, noError: true},
		{name: "torn frame header", file: good[:frame3+4], frames: 2, torn: true, errAt: frame3},
		{name: "torn payload", file: good[:len(good)-1], frames: 2, torn: true, errAt: frame3},
		{name: "preallocated zero tail", file: append(append([]byte(nil), good...), make([]byte, 4096)...), frames: 3, noError: true},
		{name: "short zero tail", file: append(append([]byte(nil), good...), make([]byte, 5)...), frames: 3, noError: true},
		{name: "write cut at a sector boundary in preallocated space", file: cutInPrealloc(good, frame3), frames: 2, torn: true, errAt: frame3},
		{name: "small frame cut at a sector boundary", file: cutSmallFrame(), frames: 1, torn: true, errAt: smallFrameAt},
		{name: "unwritten sector at end", file: withZeroSector(), frames: 2, torn: true, errAt: frame3},
		{name: "bit flip mid-file", file: flip(good, frame2+FrameHeaderSize), frames: 1, errAt: frame2},
		{name: "bit flip in last frame", file: flip(good, int64(len(good))-10), frames: 2, errAt: frame3},
		{name: "bit flip in length", file: flip(good, frame2), frames: 1, errAt: frame2},
		{name: "length out of range", file: setLen(good, frame2, MaxPayload+1), frames: 1, errAt: frame2},
		{name: "zero header then data", file: zeroRange(good, frame2, frame2+FrameHeaderSize), frames: 1, errAt: frame2},
		{name: "garbage after good frames", file: append(append([]byte(nil), good...), []byte("garbage!!!!")...), frames: 3, errAt: int64(len(good))},
		{name: "unknown type", file: retype(good, frame2, 9), frames: 1, errAt: frame2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := scan(t, tc.file)
			if len(got.payloads) != tc.frames {
				t.Errorf("got %d good frames, want %d (err %v)", len(got.payloads), tc.frames, got.err)
			}
			if tc.noError {
				if got.err != nil {
					t.Fatalf("unexpected error %v", got.err)
				}
				return
			}
			var torn *TornError
			var corrupt *CorruptError
			switch {
			case tc.torn && !errors.As(got.err, &torn):
				t.Fatalf("got %v, want a torn tail", got.err)
			case !tc.torn && !errors.As(got.err, &corrupt):
				t.Fatalf("got %v, want corruption", got.err)
			}
			at := int64(-1)
			if torn != nil {
				at = torn.Offset
			} else {
				at = corrupt.Offset
			}
			if at != tc.errAt {
				t.Errorf("error at offset %d, want %d (%v)", at, tc.errAt, got.err)
			}
			if got.end != tc.errAt {
				t.Errorf("End() = %d, want %d", got.end, tc.errAt)
			}
		})
	}
}

func TestHeaderDamage(t *testing.T) {
	good := build(7, []byte("one"))
	tests := []struct {
		name string
		file []byte
		torn bool
	}{
		{name: "empty file", file: nil, torn: true},
		{name: "short header", file: good[:10], torn: true},
		{name: "bad magic", file: flip(good, 0)},
		{name: "bad first seq", file: flip(good, 16)},
		{name: "bad crc", file: flip(good, 24)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewScanner(bytes.NewReader(tc.file), int64(len(tc.file)))
			if tc.torn && !errors.Is(err, ErrTorn) {
				t.Fatalf("got %v, want torn", err)
			}
			if !tc.torn && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want corrupt", err)
			}
		})
	}
}

func TestReadFrame(t *testing.T) {
	file := build(0, []byte("one"), bytes.Repeat([]byte("y"), 10000), []byte("three"))
	off := int64(HeaderSize)
	var want = []string{"one", string(bytes.Repeat([]byte("y"), 10000)), "three"}
	for i, w := range want {
		typ, p, next, err := ReadFrame(bytes.NewReader(file), int64(len(file)), off, nil)
		if err != nil || typ != TypeEntry || string(p) != w {
			t.Fatalf("frame %d: %v %v %q", i, err, typ, p)
		}
		off = next
	}
	if _, _, _, err := ReadFrame(bytes.NewReader(file), int64(len(file)), off, nil); err == nil {
		t.Fatalf("read past end succeeded")
	}
}

// cutInPrealloc keeps the first sector boundary's worth of the frame at
// frame3 and zeros the rest of the file after it, padded with preallocated
// zeros: a crash in the middle of writing into preallocated space.
func cutInPrealloc(good []byte, frame3 int64) []byte {
	b := append(append([]byte(nil), good...), make([]byte, 8192)...)
	cut := (frame3 + 700 + 511) / 512 * 512
	for i := cut; i < int64(len(b)); i++ {
		b[i] = 0
	}
	return b
}

// smallFrameAt is where cutSmallFrame's second frame starts: 40 bytes
// before a sector boundary, so a cut at the boundary leaves no whole zero
// sector inside the frame.
const smallFrameAt = 512 - 40

func cutSmallFrame() []byte {
	first := bytes.Repeat([]byte("a"), smallFrameAt-HeaderSize-FrameHeaderSize)
	b := build(0, first, bytes.Repeat([]byte("b"), 100))
	b = append(b, make([]byte, 2048)...)
	for i := 512; i < len(b); i++ {
		b[i] = 0
	}
	return b
}

func flip(b []byte, off int64) []byte {
	c := append([]byte(nil), b...)
	c[off] ^= 0x40
	return c
}

func zeroRange(b []byte, from, to int64) []byte {
	c := append([]byte(nil), b...)
	for i := from; i < to; i++ {
		c[i] = 0
	}
	return c
}

func setLen(b []byte, off int64, n uint32) []byte {
	c := append([]byte(nil), b...)
	c[off], c[off+1], c[off+2], c[off+3] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
	return c
}

func retype(b []byte, off int64, typ byte) []byte {
	c := append([]byte(nil), b...)
	c[off+8] = typ
	// Re-seal the frame so only the type is wrong.
	n := int64(c[off]) | int64(c[off+1])<<8
	payload := append([]byte(nil), c[off+FrameHeaderSize:off+FrameHeaderSize+n]...)
	fixed := AppendFrame(nil, Type(typ), payload)
	copy(c[off:], fixed)
	return c
}

func FuzzScan(f *testing.F) {
	f.Add(build(0, []byte("one"), []byte("two")))
	f.Add(build(1<<40, bytes.Repeat([]byte("q"), 700)))
	f.Add(append(build(3, []byte("x")), 0, 0, 0))
	f.Fuzz(func(t *testing.T, file []byte) {
		s, err := NewScanner(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			return
		}
		// Re-encode every good frame: the result must be a byte-exact prefix of the input.
		h := EncodeHeader(s.First())
		re := append([]byte(nil), h[:]...)
		for s.Next() {
			re = AppendFrame(re, s.Type(), s.Payload())
		}
		if !bytes.Equal(re, file[:s.End()]) {
			t.Fatalf("re-encoded frames differ from the scanned prefix")
		}
		if s.Err() == nil && s.End()+s.ZeroTail() != int64(len(file)) {
			t.Fatalf("clean scan stopped at %d (+%d zero bytes) of %d", s.End(), s.ZeroTail(), len(file))
		}
		if s.Err() != nil && !errors.Is(s.Err(), ErrTorn) && !errors.Is(s.Err(), ErrCorrupt) {
			t.Fatalf("unexpected error kind: %v", s.Err())
		}
	})
}

func ExampleAppendFrame() {
	h := EncodeHeader(0)
	file := AppendFrame(h[:], TypeEntry, []byte(`{"action":"user.login"}`))
	s, _ := NewScanner(bytes.NewReader(file), int64(len(file)))
	for s.Next() {
		fmt.Printf("%s at %d: %s\n", s.Type(), s.Offset(), s.Payload())
	}
	// Output: entry at 32: {"action":"user.login"}
}
