package verify

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/checkpoint"
	"github.com/stele-log/stele/tiles"
)

// Test keys. They sign nothing outside these tests.
const (
	testOrigin = "example.com/stele"
	testSkey   = "PRIVATE+KEY+example.com/stele+667bcc98+ATSmwnF0W4JrnPhmde3ni0LgpW8bU127nIzevejqbg4U"
	testVkey   = "example.com/stele+667bcc98+AQp4F/cv1oVLMcZ1+5HYuWTNIeZCD/WEpdh7nlGD8sJu"
)

// testLog is an in-memory tlog-tiles log: it serves exactly what a log
// publishing a checkpoint at each publish call would serve.
type testLog struct {
	t       testing.TB
	signer  *checkpoint.Signer
	entries [][]byte
	b       *tiles.Builder
	files   map[string][]byte
	mu      sync.Mutex // guards fetches and files during Fetch
	fetches map[string]int
	// entry returns the entry for seq; by default canonical
	// {"id":"e<seq>","seq":<seq>}.
	entry func(seq uint64) []byte
}

func newTestLog(t testing.TB) *testLog {
	t.Helper()
	s, err := checkpoint.NewSigner(testSkey)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return &testLog{t: t, signer: s, b: tiles.NewBuilder(), files: map[string][]byte{}, fetches: map[string]int{},
		entry: func(seq uint64) []byte {
			return []byte(`{"id":"e` + strconv.FormatUint(seq, 10) + `","seq":` + strconv.FormatUint(seq, 10) + `}`)
		}}
}

// grow appends entries up to size and publishes a checkpoint for it.
func (l *testLog) grow(size uint64) []byte {
	for seq := uint64(len(l.entries)); seq < size; seq++ {
		e := l.entry(seq)
		l.entries = append(l.entries, e)
		h := LeafHash(e)
		l.b.Append(&h, func(t tiles.Tile, hashes []byte) {
			l.files[t.Path()] = bytes.Clone(hashes)
			if t.Level == 0 {
				l.files[t.EntriesPath()] = l.bundle(t.Index, tiles.Width)
			}
		})
	}
	for level := range 8 {
		if w := tiles.PartialWidth(level, size); w > 0 {
			t := tiles.Tile{Level: level, Index: size >> (8 * uint(level+1)), Width: w}
			l.files[t.Path()], _ = l.b.AppendPartial(nil, level, w)
			if level == 0 {
				l.files[t.EntriesPath()] = l.bundle(t.Index, w)
			}
		}
	}
	signed, err := l.signer.Sign(checkpoint.Checkpoint{Origin: testOrigin, Size: size, Hash: l.b.Root()})
	if err != nil {
		l.t.Fatalf("Sign: %v", err)
	}
	l.files["checkpoint"] = signed
	return signed
}

func (l *testLog) bundle(index uint64, width int) []byte {
	var out []byte
	for _, e := range l.entries[index*tiles.Width : index*tiles.Width+uint64(width)] {
		var err error
		if out, err = tiles.AppendBundleEntry(out, e); err != nil {
			l.t.Fatalf("AppendBundleEntry: %v", err)
		}
	}
	return out
}

func (l *testLog) Fetch(_ context.Context, path string) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fetches[path]++
	data, ok := l.files[path]
	if !ok {
		return nil, fmt.Errorf("%w: %s", stele.ErrNotFound, path)
	}
	return bytes.Clone(data), nil
}

// ReadTile serves the log's tiles to package tiles.
func (l *testLog) ReadTile(ctx context.Context, t tiles.Tile) ([]byte, error) {
	return l.Fetch(ctx, t.Path())
}

// receipt returns a receipt for seq against the current checkpoint.
func (l *testLog) receipt(seq uint64, withEntry bool) *stele.Receipt {
	size := uint64(len(l.entries))
	p, err := tiles.InclusionProof(context.Background(), l, seq, size)
	if err != nil {
		l.t.Fatalf("InclusionProof(%d, %d): %v", seq, size, err)
	}
	var entry []byte
	if withEntry {
		entry = l.entries[seq]
	}
	r := stele.NewReceipt(seq, "e"+strconv.FormatUint(seq, 10), LeafHash(l.entries[seq]), p, l.files["checkpoint"], entry)
	return &r
}
