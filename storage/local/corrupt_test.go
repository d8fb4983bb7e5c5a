package local

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/fsx"
	"github.com/stele-log/stele/segment"
)

// buildLog writes a closed log with several segments and tiles into dir.
func buildLog(t *testing.T, dir string) {
	t.Helper()
	opts := testOptions(fsx.OS())
	opts.SegmentSize = 64 << 10
	l := mustOpen(t, dir, opts)
	appendN(t, l, 0, 1500, 50, true)
	appendN(t, l, 1500, 37, 37, false) // the newest segment always holds entries
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	segs, _ := filepath.Glob(filepath.Join(dir, "segments", "*.seg"))
	sort.Strings(segs)
	if len(segs) < 3 {
		t.Fatalf("want at least 3 segments, have %d", len(segs))
	}
	return segs
}

// frameAt returns the offset of the n-th frame of the given type in a segment.
func frameAt(t *testing.T, path string, typ segment.Type, n int) (off int64, payloadLen int) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := segment.NewScanner(bytesReaderAt(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	for sc.Next() {
		if sc.Type() == typ {
			if n == 0 {
				return sc.Offset(), len(sc.Payload())
			}
			n--
		}
	}
	t.Fatalf("no such frame in %s", path)
	return 0, 0
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, errors.New("EOF")
	}
	return copy(p, b[off:]), nil
}

func modify(t *testing.T, path string, fn func([]byte) []byte) {
	t.Helper()
	os.Chmod(path, 0o644)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(raw), 0o644); err != nil {
		t.Fatal(err)
	}
}

// reseal recomputes the CRC of the frame at off, as a careful attacker would.
func reseal(b []byte, off int64) {
	n := binary.LittleEndian.Uint32(b[off:])
	c := crc32.MakeTable(crc32.Castagnoli)
	crc := crc32.Update(0, c, b[off:off+4])
	crc = crc32.Update(crc, c, b[off+8:off+9])
	crc = crc32.Update(crc, c, b[off+9:off+9+int64(n)])
	binary.LittleEndian.PutUint32(b[off+4:], crc)
}

func rel(dir, path string) string {
	r, _ := filepath.Rel(dir, path)
	return r
}

// TestCorruptionIsNamed damages a closed log in one way per case and checks
// what startup and the offline verifier say: never a silent repair, always
// the file (and where it applies the offset and seq).
func TestCorruptionIsNamed(t *testing.T) {
	type outcome int
	const (
		opens    outcome = iota // Open succeeds (damage outside what startup reads)
		refuses                 // Open fails with a CorruptionError
		cutsTail                // Open succeeds after cutting a torn tail
	)
	tests := []struct {
		name string
		// damage returns the file the errors must name, relative to dir.
		damage      func(t *testing.T, dir string, segs []string) string
		open        outcome
		openFile    string // what Open names, if not the same file as Verify
		verifyFails bool
		wantSeq     bool // the verifier's error names a seq
	}{
		{
			name: "bit flip in a sealed segment",
			damage: func(t *testing.T, dir string, segs []string) string {
				off, _ := frameAt(t, segs[1], segment.TypeEntry, 5)
				modify(t, segs[1], func(b []byte) []byte { b[off+40] ^= 1; return b })
				return rel(dir, segs[1])
			},
			open: opens, verifyFails: true, wantSeq: true,
		},
		{
			name: "edited entry with its CRC recomputed (careful attacker)",
			damage: func(t *testing.T, dir string, segs []string) string {
				off, _ := frameAt(t, segs[0], segment.TypeEntry, 7)
				modify(t, segs[0], func(b []byte) []byte {
					i := strings.Index(string(b[off:]), "user-") + int(off)
					b[i] = 'U'
					reseal(b, off)
					return b
				})
				return rel(dir, segs[0]) // its next checkpoint no longer matches
			},
			open: opens, verifyFails: true, wantSeq: true,
		},
		{
			name: "edited entry in the newest segment with its CRC recomputed",
			damage: func(t *testing.T, dir string, segs []string) string {
				last := segs[len(segs)-1]
				off, _ := frameAt(t, last, segment.TypeEntry, 3)
				modify(t, last, func(b []byte) []byte {
					i := strings.Index(string(b[off:]), "event number") + int(off)
					b[i] = 'E'
					reseal(b, off)
					return b
				})
				return rel(dir, last)
			},
			open: refuses, verifyFails: true, wantSeq: true,
		},
		{
			name: "bit flip in the newest segment",
			damage: func(t *testing.T, dir string, segs []string) string {
				last := segs[len(segs)-1]
				off, _ := frameAt(t, last, segment.TypeEntry, 2)
				modify(t, last, func(b []byte) []byte { b[off+30] ^= 0x10; return b })
				return rel(dir, last)
			},
			open: refuses, verifyFails: true, wantSeq: true,
		},
		{
			name: "sealed segment truncated",
			damage: func(t *testing.T, dir string, segs []string) string {
				modify(t, segs[1], func(b []byte) []byte { return b[:len(b)-100] })
				return rel(dir, segs[1])
			},
			open: refuses, verifyFails: true, wantSeq: true,
		},
		{
			name: "sealed segment deleted",
			damage: func(t *testing.T, dir string, segs []string) string {
				os.Remove(segs[1])
				return rel(dir, segs[2])
			},
			open: refuses, verifyFails: true, wantSeq: true,
		},
		{
			name: "first segment deleted",
			damage: func(t *testing.T, dir string, segs []string) string {
				os.Remove(segs[0])
				return "segments"
			},
			open: refuses, verifyFails: true,
		},
		{
			name: "full tile edited",
			damage: func(t *testing.T, dir string, segs []string) string {
				p := filepath.Join(dir, "tile/0/002")
				modify(t, p, func(b []byte) []byte { b[100] ^= 1; return b })
				return "tile/0/002"
			},
			open: refuses, openFile: "segments/", verifyFails: true, wantSeq: true,
		},
		{
			name: "full tile deleted",
			damage: func(t *testing.T, dir string, segs []string) string {
				os.Remove(filepath.Join(dir, "tile/0/001"))
				return "tile/0/001"
			},
			open: opens, verifyFails: true, wantSeq: true,
		},
		{
			name: "checkpoint signature forged (CRC recomputed)",
			damage: func(t *testing.T, dir string, segs []string) string {
				last := segs[len(segs)-1]
				off, n := frameAt(t, last, segment.TypeCheckpoint, 0)
				modify(t, last, func(b []byte) []byte {
					b[off+9+int64(n)-5] ^= 1 // inside the base64 signature
					reseal(b, off)
					return b
				})
				return rel(dir, last)
			},
			open: refuses, verifyFails: true,
		},
		{
			name: "torn tail in the newest segment",
			damage: func(t *testing.T, dir string, segs []string) string {
				last := segs[len(segs)-1]
				modify(t, last, func(b []byte) []byte { return b[:len(b)-7] }) // into the last checkpoint frame
				return rel(dir, last)
			},
			open: cutsTail, verifyFails: false,
		},
		{
			name: "garbage appended to the newest segment",
			damage: func(t *testing.T, dir string, segs []string) string {
				last := segs[len(segs)-1]
				modify(t, last, func(b []byte) []byte { return append(b, "not a frame at all"...) })
				return rel(dir, last)
			},
			open: refuses, verifyFails: true,
		},
		{
			name: "tail of the log deleted behind the tiles' back",
			damage: func(t *testing.T, dir string, segs []string) string {
				os.Remove(segs[len(segs)-1])
				os.Remove(segs[len(segs)-1][:len(segs[len(segs)-1])-4] + ".idx")
				os.Remove(segs[len(segs)-2][:len(segs[len(segs)-2])-4] + ".idx")
				os.Chmod(segs[len(segs)-2], 0o644)
				return "tiles.synced"
			},
			open: refuses, verifyFails: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			buildLog(t, dir)
			file := tc.damage(t, dir, segmentFiles(t, dir))

			rep, verr := Verify(context.Background(), dir, VerifyOptions{})
			if tc.verifyFails {
				var ce *stele.CorruptionError
				if !errors.As(verr, &ce) {
					t.Fatalf("Verify = %v (report %+v), want a CorruptionError", verr, rep)
				}
				if !strings.Contains(ce.File, file) && !strings.Contains(ce.Reason, file) {
					t.Errorf("Verify named %q (%v), want %q", ce.File, verr, file)
				}
				if tc.wantSeq && ce.Seq < 0 {
					t.Errorf("Verify did not name a seq: %v", verr)
				}
			} else if verr != nil {
				t.Fatalf("Verify = %v, want success", verr)
			}

			l, oerr := Open(context.Background(), dir, testOptions(fsx.OS()))
			switch tc.open {
			case refuses:
				var ce *stele.CorruptionError
				if !errors.As(oerr, &ce) {
					if oerr == nil {
						l.Close()
					}
					t.Fatalf("Open = %v, want a CorruptionError", oerr)
				}
				want := file
				if tc.openFile != "" {
					want = tc.openFile
				}
				if !strings.Contains(ce.File, want) && !strings.Contains(ce.Reason, want) {
					t.Errorf("Open named %q (%v), want %q", ce.File, oerr, want)
				}
			case opens, cutsTail:
				if oerr != nil {
					t.Fatalf("Open = %v, want success", oerr)
				}
				if tc.open == cutsTail {
					checkInvariants(t, l)
				}
				l.Close()
			}
		})
	}
}

// TestCorruptReadIsAnError checks that a damaged sealed entry is reported on
// read, never served.
func TestCorruptReadIsAnError(t *testing.T) {
	dir := t.TempDir()
	buildLog(t, dir)
	segs := segmentFiles(t, dir)
	off, _ := frameAt(t, segs[1], segment.TypeEntry, 5)
	modify(t, segs[1], func(b []byte) []byte { b[off+40] ^= 1; return b })
	l := mustOpen(t, dir, testOptions(fsx.OS()))
	defer l.Close()
	var first uint64
	for seq := uint64(0); seq < l.Size(); seq++ {
		if _, err := l.Entry(context.Background(), seq); err != nil {
			if !errors.Is(err, stele.ErrCorrupt) {
				t.Fatalf("Entry(%d) = %v, want ErrCorrupt", seq, err)
			}
			first = seq
			break
		}
	}
	if first == 0 {
		t.Fatalf("no read failed")
	}
}
