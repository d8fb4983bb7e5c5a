package e2e

import (
	"bytes"
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/segment"
	"github.com/stele-log/stele/tiles"
)

// The parsers of this package are the independent side of the tests, so
// each is fuzzed against stele's own implementation of the same format:
// a disagreement is a bug in one of the two.

// FuzzServingLine checks that the "stele serving" line, as log/slog's text
// handler writes it, gives back its url and verifier_key whatever they
// contain, and that no line makes the parser panic.
func FuzzServingLine(f *testing.F) {
	f.Add("http://127.0.0.1:7600", "e2e.test/log+bdeb70f0+ATrt7zvQtcv/evuZ4AXQqs5fWbdL2y0L15C51+njqSf8", "")
	f.Add("https://[::1]:443", `key with "quotes" and = signs`, "x=1 msg=\"stele serving\"")
	f.Add("", "k", "")
	f.Fuzz(func(t *testing.T, url, vkey, other string) {
		parseLogfmt(url) // any line: no panic
		var buf bytes.Buffer
		slog.New(slog.NewTextHandler(&buf, nil)).Info("stele serving", "url", url, "verifier_key", vkey, "other", other)
		line := strings.TrimSuffix(buf.String(), "\n")
		if strings.Contains(line, "\n") {
			t.Fatalf("slog wrote more than one line: %q", line)
		}
		gotURL, gotKey, ok := parseServingLine(line)
		if ok != (url != "") || (ok && (gotURL != url || gotKey != vkey)) {
			t.Fatalf("parseServingLine(%q) = %q, %q, %v; want %q, %q", line, gotURL, gotKey, ok, url, vkey)
		}
		if _, _, ok := parseServingLine(strings.Replace(line, "stele serving", "log opened", 1)); ok && !strings.Contains(url+vkey+other, "stele serving") {
			t.Fatalf("another message was taken for the serving line: %q", line)
		}
	})
}

// FuzzSumdbPath checks sumdbToC2SP against stele's C2SP path parser: the
// sumdb path of any height-8 tile maps to the C2SP path of the same tile.
func FuzzSumdbPath(f *testing.F) {
	f.Add(0, int64(0), 256, "tile/8/0/000")
	f.Add(-1, int64(273), 112, "tile/8/data/x001/234.p/7")
	f.Add(2, int64(1234567), 1, "tile/8/x/000")
	f.Fuzz(func(t *testing.T, level int, index int64, width int, raw string) {
		if p, err := sumdbToC2SP(raw); err == nil && !strings.HasPrefix(p, "tile/") {
			t.Fatalf("sumdbToC2SP(%q) = %q", raw, p)
		}
		if level < -1 || level > tiles.MaxLevel || index < 0 || width < 1 || width > 256 {
			return
		}
		tile := tlog.Tile{H: sumdbHeight, L: level, N: index, W: width}
		p, err := sumdbToC2SP(tile.Path())
		if err != nil {
			t.Fatalf("sumdbToC2SP(%q): %v", tile.Path(), err)
		}
		got, entries, err := tiles.ParsePath(p)
		if err != nil {
			t.Fatalf("%q maps to %q, which stele does not parse: %v", tile.Path(), p, err)
		}
		if entries != (level == -1) || got.Index != uint64(index) || got.Width != width || (level >= 0 && got.Level != level) {
			t.Fatalf("%q maps to %q = %+v (entries %v)", tile.Path(), p, got, entries)
		}
	})
}

// FuzzParseBundle checks parseBundle against tiles.ParseBundle, which also
// refuses empty bundles and bundles of more than 256 entries.
func FuzzParseBundle(f *testing.F) {
	f.Add([]byte{0, 2, '{', '}', 0, 0})
	f.Add([]byte{0, 5, 'a'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		mine, err := parseBundle(data)
		theirs, terr := tiles.ParseBundle(data)
		if terr == nil && (err != nil || !equalEntries(mine, theirs)) {
			t.Fatalf("stele parses %d entries, parseBundle %d (%v)", len(theirs), len(mine), err)
		}
		if err == nil && len(mine) >= 1 && len(mine) <= 256 && terr != nil {
			t.Fatalf("parseBundle parses %d entries, stele refuses: %v", len(mine), terr)
		}
		if err == nil {
			var re []byte
			for _, e := range mine {
				re = binary.BigEndian.AppendUint16(re, uint16(len(e)))
				re = append(re, e...)
			}
			if !bytes.Equal(re, data) {
				t.Fatalf("re-encoding the parsed entries gives %x, want %x", re, data)
			}
		}
	})
}

func equalEntries(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// FuzzCheckpointBody checks parseCheckpointBody against checkpoint.Parse.
// Sizes beyond int64 (tlog's type) and text no signed note can carry
// (invalid UTF-8, control characters) are where they may differ.
func FuzzCheckpointBody(f *testing.F) {
	f.Add("e2e.test/log\n1\nuBVDkJu3Ctjn5axxjg/30+8UBrLT2bCuchMF/ys2BNU=\n")
	f.Add("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n")
	f.Add("o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	f.Fuzz(func(t *testing.T, text string) {
		origin, tree, err := parseCheckpointBody(text)
		cp, _, terr := checkpoint.Parse([]byte(text))
		if terr == nil && cp.Size <= math.MaxInt64 {
			if err != nil || origin != cp.Origin || tree.N != int64(cp.Size) || tree.Hash != tlog.Hash(cp.Hash) {
				t.Fatalf("stele parses %q as %+v; parseCheckpointBody: %q %+v %v", text, cp, origin, tree, err)
			}
		}
		if err == nil && terr != nil && noteText(text) {
			t.Fatalf("parseCheckpointBody accepts %q, stele refuses: %v", text, terr)
		}
	})
}

// noteText reports whether s could be the text of a signed note.
func noteText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range []byte(s) {
		if c < 0x20 && c != '\n' {
			return false
		}
	}
	return true
}

// FuzzParseSegment checks parseSegment against stele's segment.Scanner on
// whole files: both accept the same files and find the same frames.
func FuzzParseSegment(f *testing.F) {
	hdr := segment.EncodeHeader(5)
	good := segment.AppendFrame(hdr[:], segment.TypeEntry, []byte(`{"seq":5}`))
	good = segment.AppendFrame(good, segment.TypeCheckpoint, []byte("o\n6\nroot\n"))
	f.Add(good)
	f.Add(append(bytes.Clone(good), make([]byte, 100)...))
	f.Add(append(bytes.Clone(good), 1, 0, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, mine, err := parseSegment(data)
		var theirs []segFrame
		sc, terr := segment.NewScanner(bytes.NewReader(data), int64(len(data)))
		if terr == nil {
			for sc.Next() {
				theirs = append(theirs, segFrame{off: int(sc.Offset()), typ: byte(sc.Type()), payload: bytes.Clone(sc.Payload())})
			}
			terr = sc.Err()
		}
		if (err == nil) != (terr == nil) {
			t.Fatalf("parseSegment: %v; segment.Scanner: %v", err, terr)
		}
		if err != nil {
			if errors.Is(terr, segment.ErrTorn) || errors.Is(terr, segment.ErrCorrupt) || strings.HasPrefix(terr.Error(), "segment:") {
				return
			}
			t.Fatalf("segment.Scanner failed without a segment error: %v", terr)
		}
		if len(mine) != len(theirs) {
			t.Fatalf("parseSegment finds %d frames, segment.Scanner %d", len(mine), len(theirs))
		}
		for i := range mine {
			if mine[i].off != theirs[i].off || mine[i].typ != theirs[i].typ || !bytes.Equal(mine[i].payload, theirs[i].payload) {
				t.Fatalf("frame %d: parseSegment %+v, segment.Scanner %+v", i, mine[i], theirs[i])
			}
		}
	})
}
