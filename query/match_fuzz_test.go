package query

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stele-log/stele"
)

// FuzzMatch matches a random query against a random valid event, rendered
// as the log stores it. Match must not panic or fail on a canonical entry,
// and must agree with the reference matcher (refMatch). A Clone must agree
// too, and so must the same Matcher asked twice (scratch reuse).
// Seeds: testdata/fuzz/FuzzMatch.
func FuzzMatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, text, event string, seq uint64) {
		q, err := Parse(text)
		if err != nil {
			return
		}
		b, err := stele.ParseEvents([]byte(event), true, testRecv)
		if err != nil {
			return
		}
		m := Compile(q)
		seq %= 1 << 53
		for i := range b.Len() {
			id := b.ClientID(i)
			if id == nil {
				id = []byte(testServerID)
			}
			entry := b.AppendEntry(nil, i, id, seq+uint64(i))
			got, err := m.Match(entry)
			if err != nil {
				t.Fatalf("Match(%q, %s): %v", text, entry, err)
			}
			want, err := refMatch(q, entry)
			if err != nil {
				t.Fatalf("refMatch(%s): %v", entry, err)
			}
			if got != want {
				t.Fatalf("Match(%q, %s) = %v, reference says %v", text, entry, got, want)
			}
			if again, _ := m.Match(entry); again != got {
				t.Fatalf("Match(%q, %s) changed on the second call", text, entry)
			}
			if clone, _ := m.Clone().Match(entry); clone != got {
				t.Fatalf("Clone().Match(%q, %s) = %v, want %v", text, entry, clone, got)
			}
		}
	})
}

// FuzzParseAddr checks the matcher's allocation-free address parser
// against net/netip. Seeds: testdata/fuzz/FuzzParseAddr.
func FuzzParseAddr(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseAddr([]byte(s))
		want, err := netip.ParseAddr(s)
		if err == nil && want.Zone() != "" {
			if ok {
				t.Fatalf("parseAddr(%q) accepted an address with a zone", s)
			}
			return
		}
		if ok != (err == nil) || ok && got != want {
			t.Fatalf("parseAddr(%q) = %v, %v; netip.ParseAddr = %v, %v", s, got, ok, want, err)
		}
	})
}

// FuzzUnescape checks that the matcher decodes JSON string content as
// encoding/json does, and lowercases it as strings.ToLower does.
// Seeds: testdata/fuzz/FuzzUnescape.
func FuzzUnescape(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		quoted, err := json.Marshal(s) // escapes <, >, &, U+2028 and controls as \u
		if err != nil {
			t.Fatal(err)
		}
		content := quoted[1 : len(quoted)-1]
		want := s
		if !utf8.ValidString(s) { // json.Marshal made each bad byte U+FFFD
			if err := json.Unmarshal(quoted, &want); err != nil {
				t.Fatal(err)
			}
		}
		if got := string(appendUnescaped(nil, content, false)); got != want {
			t.Fatalf("appendUnescaped(%s) = %q, want %q", content, got, want)
		}
		if got := string(appendUnescaped(nil, content, true)); got != strings.ToLower(want) {
			t.Fatalf("appendUnescaped(%s, lower) = %q, want %q", content, got, strings.ToLower(want))
		}
	})
}
