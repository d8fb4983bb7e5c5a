package tokenize

import (
	"reflect"
	"strings"
	"testing"
)

func TestStrings(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Connection refused", []string{"connection", "refused"}},
		{"user.login failed: 10.0.0.7", []string{"user", "login", "failed", "10", "0", "0", "7"}},
		{"Ünïcode ÉTÉ straße", []string{"ünïcode", "été", "straße"}},
		{"a_b-c", []string{"a", "b", "c"}},
		{"日本語 テキスト", []string{"日本語", "テキスト"}},
		{strings.Repeat("x", 100), []string{strings.Repeat("x", MaxToken)}},
		{strings.Repeat("é", 40), []string{strings.Repeat("é", MaxToken/2)}},
	}
	for _, tc := range tests {
		if got := Strings(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Strings(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzEach(f *testing.F) {
	f.Add("Hello, World 42")
	f.Add("\xff\xfe bad utf8 ÄÖ")
	f.Fuzz(func(t *testing.T, s string) {
		Each([]byte(s), nil, func(tok []byte) {
			if len(tok) == 0 || len(tok) > MaxToken {
				t.Fatalf("bad token %q", tok)
			}
			// Tokenizing a token yields itself: the matcher relies on it.
			if again := Strings(string(tok)); len(again) != 1 || again[0] != string(tok) {
				t.Fatalf("token %q re-tokenizes to %q", tok, again)
			}
		})
	})
}

// TestCutIsAPrefix: a long token is cut to a prefix, never to a prefix with
// a later rune spliced on (a rune that did not fit ends the token's bytes).
func TestCutIsAPrefix(t *testing.T) {
	in := strings.Repeat("a", 63) + "éb"
	got := Strings(in)
	if want := strings.Repeat("a", 63); len(got) != 1 || got[0] != want {
		t.Fatalf("Strings(63×a + éb) = %q, want [%q]", got, want)
	}
	long := strings.Repeat("é", 40) + " next"
	got = Strings(long)
	if len(got) != 2 || got[0] != strings.Repeat("é", 32) || got[1] != "next" {
		t.Fatalf("Strings(40×é next) = %q", got)
	}
}
