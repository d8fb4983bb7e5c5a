package query

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/tokenize"
)

// FuzzParse checks that Parse never panics, that every refusal is a
// *SyntaxError inside the text wrapping stele.ErrInvalid, and that every
// accepted query survives the String round trip: Parse(q.String()) yields
// the same clauses and String is a fixed point. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, text string) {
		q, err := Parse(text)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || !errors.Is(err, stele.ErrInvalid) {
				t.Fatalf("Parse(%q) = %v (%T), want a *SyntaxError wrapping ErrInvalid", text, err, err)
			}
			if se.Pos < 0 || se.Pos > len(text) {
				t.Fatalf("Parse(%q): error position %d outside the text", text, se.Pos)
			}
			return
		}
		if len(q.Clauses) > MaxClauses {
			t.Fatalf("Parse(%q): %d clauses", text, len(q.Clauses))
		}
		for i, c := range q.Clauses {
			if c.Pos < 0 || c.Pos >= len(text) || text[c.Pos] == ' ' || (i > 0 && c.Pos <= q.Clauses[i-1].Pos) {
				t.Fatalf("Parse(%q): clause %d at bad position %d", text, i, c.Pos)
			}
			checkClauseInvariants(t, text, c)
		}
		checkRoundTrip(t, q)
	})
}

// checkClauseInvariants checks what the AST promises about a parsed clause.
func checkClauseInvariants(t *testing.T, text string, c Clause) {
	t.Helper()
	switch c.Kind {
	case KindField:
		if len(c.Values) == 0 || c.Field == "" {
			t.Fatalf("Parse(%q): field clause without values or field", text)
		}
		for _, v := range c.Values {
			if strings.ToLower(v.Raw) != v.Value {
				t.Fatalf("Parse(%q): value %q is not the lowercase of Raw %q", text, v.Value, v.Raw)
			}
		}
	case KindIP:
		for _, p := range c.IPs {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" {
				t.Fatalf("Parse(%q): bad prefix %v", text, p)
			}
		}
	case KindSeq:
		for _, r := range c.Seqs {
			if r.Lo > r.Hi {
				t.Fatalf("Parse(%q): reversed seq range %v", text, r)
			}
		}
	case KindTime:
		for _, r := range c.Times {
			if r.From.IsZero() && r.To.IsZero() {
				// Only ">=0001-01-01" and its spellings make an open range.
				continue
			}
			if !r.From.IsZero() && !r.To.IsZero() && !r.From.Before(r.To) {
				t.Fatalf("Parse(%q): empty time range %v", text, r)
			}
		}
	case KindText:
		if len(c.Tokens) == 0 || !slices.Equal(c.Tokens, tokenize.Strings(c.Text)) {
			t.Fatalf("Parse(%q): tokens %q of %q", text, c.Tokens, c.Text)
		}
		if len(c.Tokens) > 1 && !c.Phrase {
			t.Fatalf("Parse(%q): several tokens but not a phrase", text)
		}
	default:
		t.Fatalf("Parse(%q): clause of kind %d", text, c.Kind)
	}
}
