package ingest_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/ingest"
)

func TestTokens(t *testing.T) {
	if _, err := ingest.NewTokens([]string{"a", ""}); !errors.Is(err, stele.ErrInvalid) {
		t.Fatalf("an empty token: %v", err)
	}
	none, _ := ingest.NewTokens(nil)
	two, _ := ingest.NewTokens([]string{"alpha", "beta"})
	if !two.Match("beta") || two.Match("bet") || two.Match("") || none.Match("") {
		t.Fatal("Match")
	}
	for _, c := range []struct {
		tokens ingest.Tokens
		header string
		want   bool
	}{
		{none, "", true}, {two, "", false}, {two, "Bearer alpha", true}, {two, "bearer  beta ", true},
		{two, "Bearer gamma", false}, {two, "Basic alpha", false}, {two, "alpha", false},
	} {
		r, _ := http.NewRequest("POST", "/", nil)
		if c.header != "" {
			r.Header.Set("Authorization", c.header)
		}
		if got := c.tokens.Bearer(r); got != c.want {
			t.Errorf("Bearer(%q) = %v, want %v", c.header, got, c.want)
		}
	}
}
