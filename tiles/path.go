package tiles

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

const (
	// Height is the number of tree levels one tile spans.
	Height = 8
	// Width is the number of hashes in a full tile (2^Height).
	Width = 256
	// HashSize is the size of one SHA-256 node hash in bytes.
	HashSize = 32
	// MaxLevel is the highest tile level a path may name.
	MaxLevel = 63
	// MaxEntrySize is the largest entry an entry bundle can hold (the uint16
	// length prefix).
	MaxEntrySize = math.MaxUint16
)

// ErrMalformedPath means a string is not a canonical tile or entry-bundle path.
var ErrMalformedPath = errors.New("tiles: malformed path")

// Tile names one tile: a run of Width hashes (or fewer, for the rightmost,
// partial tile) at one tile level. The same coordinates name the entry bundle
// of a level 0 tile.
type Tile struct {
	Level int    // tile level, 0..MaxLevel; level L holds tree nodes of height 8L
	Index uint64 // index of the tile within its level
	Width int    // number of hashes, 1..Width; Width (256) means full
}

// Full reports whether t is a full tile.
func (t Tile) Full() bool { return t.Width == Width }

// Path returns the tile's C2SP path, "tile/<L>/<N>[.p/<W>]". The path of a
// tile with Level or Width out of range is not parseable by ParsePath.
func (t Tile) Path() string {
	buf := make([]byte, 0, 40)
	buf = append(buf, "tile/"...)
	buf = strconv.AppendInt(buf, int64(t.Level), 10)
	return string(t.appendSuffix(buf))
}

// EntriesPath returns the path of the entry bundle for the level 0 tile with
// t's Index and Width, "tile/entries/<N>[.p/<W>]". t.Level is ignored.
func (t Tile) EntriesPath() string {
	buf := make([]byte, 0, 40)
	buf = append(buf, "tile/entries"...)
	return string(t.appendSuffix(buf))
}

// appendSuffix appends "/<N>[.p/<W>]".
func (t Tile) appendSuffix(buf []byte) []byte {
	var groups [7]uint64 // 2^64-1 has 20 digits: at most 7 groups of 3
	k := 0
	for n := t.Index; ; {
		groups[k] = n % 1000
		k++
		n /= 1000
		if n == 0 {
			break
		}
	}
	for i := k - 1; i >= 0; i-- {
		buf = append(buf, '/')
		if i > 0 {
			buf = append(buf, 'x')
		}
		g := groups[i]
		buf = append(buf, byte('0'+g/100), byte('0'+g/10%10), byte('0'+g%10))
	}
	if t.Width != Width {
		buf = append(buf, ".p/"...)
		buf = strconv.AppendInt(buf, int64(t.Width), 10)
	}
	return buf
}

// ParsePath parses a canonical tile path ("tile/<L>/<N>[.p/<W>]") or entry
// bundle path ("tile/entries/<N>[.p/<W>]"). For an entry bundle it returns
// entries = true and a Tile with Level 0. It rejects every non-canonical
// spelling, so for any accepted p, Path (or EntriesPath) of the result is p.
// Errors wrap ErrMalformedPath.
func ParsePath(p string) (t Tile, entries bool, err error) {
	bad := func(why string) (Tile, bool, error) {
		return Tile{}, false, fmt.Errorf("%w: %q: %s", ErrMalformedPath, p, why)
	}
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return bad(`does not start with "tile/"`)
	}
	first, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad("missing tile index")
	}
	if first == "entries" {
		entries = true
	} else {
		level, ok := parseSmall(first, MaxLevel)
		if !ok {
			return bad("level is not a decimal 0..63 without leading zeros")
		}
		t.Level = level
	}

	t.Width = Width
	if idx, w, ok := strings.Cut(rest, ".p/"); ok {
		width, ok := parseSmall(w, Width-1)
		if !ok || width == 0 {
			return bad("partial width is not a decimal 1..255 without leading zeros")
		}
		t.Width, rest = width, idx
	}

	groups := strings.Split(rest, "/")
	if len(groups) > 7 {
		return bad("index has too many groups")
	}
	for i, g := range groups {
		last := i == len(groups)-1
		if !last {
			if !strings.HasPrefix(g, "x") {
				return bad(`index group other than the last lacks the "x" prefix`)
			}
			g = g[1:]
		}
		if len(g) != 3 || !isDigits(g) {
			return bad("index group is not three decimal digits")
		}
		v := uint64(g[0]-'0')*100 + uint64(g[1]-'0')*10 + uint64(g[2]-'0')
		if i == 0 && !last && v == 0 {
			return bad("index has a leading zero group")
		}
		if t.Index > (math.MaxUint64-v)/1000 {
			return bad("index overflows uint64")
		}
		t.Index = t.Index*1000 + v
	}
	return t, entries, nil
}

// parseSmall parses a decimal in 0..max with no sign and no leading zeros.
func parseSmall(s string, max int) (int, bool) {
	if s == "" || len(s) > 3 || !isDigits(s) || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	v, _ := strconv.Atoi(s) // at most 3 digits: cannot fail
	return v, v <= max
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// PartialWidth returns the width of the partial (rightmost, incomplete) tile
// at the given tile level in a tree of size leaves: floor(size/256^level) mod
// 256. Zero means the level has no partial tile for that size.
func PartialWidth(level int, size uint64) int {
	if level < 0 || level >= 8 { // 256^8 = 2^64: no size reaches level 8
		return 0
	}
	return int((size >> (Height * uint(level))) % Width)
}

// TileWidth returns the width of tile index at level in a tree of size
// leaves: Width if the tile is full, its partial width if it is the rightmost
// tile, and 0 if the tile does not exist at that size.
func TileWidth(level int, index, size uint64) int {
	if level < 0 || level >= 8 {
		return 0
	}
	count := size >> (Height * uint(level)) // hashes at this level
	full := count / Width
	switch {
	case index < full:
		return Width
	case index == full:
		return int(count % Width)
	default:
		return 0
	}
}
