package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestMarshalParseRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		c    Checkpoint
		text string
	}{
		{"empty tree", Checkpoint{"example.com/log", 0, sha256.Sum256(nil)}, "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"},
		{"max size", Checkpoint{"o", math.MaxUint64, [32]byte{1}}, "o\n18446744073709551615\nAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"},
		{"unicode origin", Checkpoint{"пример.рф/журнал", 42, [32]byte{31: 0xff}}, "пример.рф/журнал\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAP8=\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.c.Marshal()); got != tt.text {
				t.Fatalf("Marshal = %q, want %q", got, tt.text)
			}
			c, ext, err := Parse([]byte(tt.text))
			if err != nil || c != tt.c || ext != nil {
				t.Fatalf("Parse = %+v, %q, %v; want %+v", c, ext, err, tt.c)
			}
		})
	}
}

func TestParseExtensions(t *testing.T) {
	text := "example.com/log\n7\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nfirst ext\nsecond\n"
	c, ext, err := Parse([]byte(text))
	if err != nil || c.Size != 7 || len(ext) != 2 || ext[0] != "first ext" || ext[1] != "second" {
		t.Fatalf("Parse = %+v, %q, %v", c, ext, err)
	}
}

func TestParseErrors(t *testing.T) {
	const origin = "example.com/log\n"
	const hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
	tests := []struct {
		name string
		text string
	}{
		{"empty", ""},
		{"only newline", "\n"},
		{"two lines", origin + "1\n"},
		{"missing final newline", origin + "1\n" + strings.TrimSuffix(hash, "\n")},
		{"empty origin", "\n1\n" + hash},
		{"empty size", origin + "\n" + hash},
		{"size leading zero", origin + "01\n" + hash},
		{"size zero zero", origin + "00\n" + hash},
		{"size plus", origin + "+1\n" + hash},
		{"size minus", origin + "-1\n" + hash},
		{"size leading space", origin + " 1\n" + hash},
		{"size trailing space", origin + "1 \n" + hash},
		{"size hex", origin + "0x10\n" + hash},
		{"size underscore", origin + "1_000\n" + hash},
		{"size overflow", origin + "18446744073709551616\n" + hash},
		{"size CR", origin + "1\r\n" + hash},
		{"hash empty", origin + "1\n\n"},
		{"hash not base64", origin + "1\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!=\n"},
		{"hash url alphabet", origin + "1\n47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=\n"},
		{"hash without padding", origin + "1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n"},
		{"hash non-zero padding bits", origin + "1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFV=\n"},
		{"hash 31 bytes", origin + "1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n"},
		{"hash 33 bytes", origin + "1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"},
		{"hash 48 bytes", origin + "1\n" + strings.Repeat("A", 64) + "\n"},
		{"hash trailing space", origin + "1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU= \n"},
		{"hash with CR", origin + "1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF\rU=\n"},
		{"empty extension line", origin + "1\n" + hash + "\n"},
		{"empty extension line between", origin + "1\n" + hash + "a\n\nb\n"},
		{"origin with CR", "example.com/log\r\n1\n" + hash},
		{"origin with NUL", "example\x00.com\n1\n" + hash},
		{"origin with tab", "example\t.com\n1\n" + hash},
		{"invalid UTF-8", "example\xff.com\n1\n" + hash},
		{"signature block", origin + "1\n" + hash + "\n— example.com/log AAAA\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ext, err := Parse([]byte(tt.text))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse(%q) = %+v, %q, %v; want ErrMalformed", tt.text, c, ext, err)
			}
		})
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Fuzz(func(t *testing.T, text []byte) {
		c, ext, err := Parse(text)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Canonical: exactly one spelling parses to this value.
		again := c.Marshal()
		for _, line := range ext {
			again = append(append(again, line...), '\n')
		}
		if !bytes.Equal(again, text) {
			t.Fatalf("Parse(%q) = %+v, %q; re-marshalled as %q", text, c, ext, again)
		}
	})
}
