package tiles

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestBundleRoundTrip(t *testing.T) {
	entries := [][]byte{{}, []byte("a"), bytes.Repeat([]byte("x"), 300), bytes.Repeat([]byte{0xff}, MaxEntrySize)}
	var bundle []byte
	for _, e := range entries {
		var err error
		if bundle, err = AppendBundleEntry(bundle, e); err != nil {
			t.Fatalf("AppendBundleEntry(%d bytes): %v", len(e), err)
		}
	}
	if want := 2*len(entries) + 1 + 300 + MaxEntrySize; len(bundle) != want {
		t.Fatalf("bundle is %d bytes, want %d", len(bundle), want)
	}
	if !bytes.HasPrefix(bundle, []byte{0, 0, 0, 1, 'a', 0x01, 0x2c, 'x'}) {
		t.Fatalf("bundle starts % x, want big-endian uint16 length prefixes", bundle[:8])
	}
	got, err := ParseBundle(bundle)
	if err != nil {
		t.Fatalf("ParseBundle: %v", err)
	}
	if len(got) != len(entries) {
		t.Fatalf("ParseBundle returned %d entries, want %d", len(got), len(entries))
	}
	for i := range got {
		if !bytes.Equal(got[i], entries[i]) {
			t.Errorf("entry %d differs", i)
		}
	}
}

func TestBundleFull(t *testing.T) {
	var bundle []byte
	for i := range Width {
		bundle, _ = AppendBundleEntry(bundle, []byte{byte(i)})
	}
	got, err := ParseBundle(bundle)
	if err != nil || len(got) != Width {
		t.Fatalf("ParseBundle(256 entries) = %d entries, %v", len(got), err)
	}
	// Entries must not be able to grow into their neighbours.
	got[0] = append(got[0], 'z')
	if bundle[3] != 0 || bundle[4] != 1 {
		t.Fatalf("appending to entry 0 overwrote entry 1's length prefix")
	}
}

func TestAppendBundleEntryTooLarge(t *testing.T) {
	dst := []byte("keep")
	got, err := AppendBundleEntry(dst, make([]byte, MaxEntrySize+1))
	if !errors.Is(err, ErrEntryTooLarge) {
		t.Fatalf("AppendBundleEntry(65536 bytes) error = %v, want ErrEntryTooLarge", err)
	}
	if string(got) != "keep" {
		t.Fatalf("AppendBundleEntry changed dst on error: %q", got)
	}
}

func TestParseBundleErrors(t *testing.T) {
	var full []byte
	for range Width {
		full, _ = AppendBundleEntry(full, nil)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0}},
		{"truncated entry", []byte{0, 3, 'a', 'b'}},
		{"truncated second prefix", []byte{0, 1, 'a', 0}},
		{"length beyond data", []byte{0xff, 0xff, 'a'}},
		{"trailing byte", []byte{0, 1, 'a', 'b'}},
		{"257 entries", append(bytes.Clone(full), 0, 0)},
		{"text", []byte(strings.Repeat("hello", 3))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBundle(tt.data)
			if !errors.Is(err, ErrMalformedBundle) {
				t.Fatalf("ParseBundle(% x) = %d entries, %v; want ErrMalformedBundle", tt.data, len(got), err)
			}
		})
	}
}

func FuzzParseBundle(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseBundle(data)
		if err != nil {
			if !errors.Is(err, ErrMalformedBundle) {
				t.Fatalf("error %v does not wrap ErrMalformedBundle", err)
			}
			return
		}
		if len(entries) == 0 || len(entries) > Width {
			t.Fatalf("ParseBundle accepted %d entries", len(entries))
		}
		var again []byte
		for _, e := range entries {
			if again, err = AppendBundleEntry(again, e); err != nil {
				t.Fatalf("AppendBundleEntry of a parsed entry: %v", err)
			}
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("re-encoding the parsed bundle gives different bytes")
		}
	})
}
