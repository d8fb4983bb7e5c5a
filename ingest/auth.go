package ingest

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/stele-log/stele"
)

// Route is one HTTP endpoint of an intake, for api.Config.Intakes.
type Route struct {
	Pattern string // a ServeMux pattern
	Name    string // the route label in HTTP metrics
	Handler http.Handler
}

// Tokens are the shared secrets a sender must present to an intake.
type Tokens struct{ set [][]byte }

// NewTokens returns the set; an empty token is refused (it would match a
// sender that sends none).
func NewTokens(tokens []string) (Tokens, error) {
	var t Tokens
	for _, s := range tokens {
		if s == "" {
			return Tokens{}, fmt.Errorf("ingest: an empty token: %w", stele.ErrInvalid)
		}
		t.set = append(t.set, []byte(s))
	}
	return t, nil
}

// Empty reports whether no token is configured.
func (t Tokens) Empty() bool { return len(t.set) == 0 }

// Match reports whether token is one of the set. It compares with every
// token, in constant time, so that the time taken says nothing about which
// one (if any) matched.
func (t Tokens) Match(token string) bool {
	known := 0
	for _, s := range t.set {
		known |= subtle.ConstantTimeCompare(s, []byte(token))
	}
	return known == 1
}

// Bearer checks "Authorization: Bearer <token>". With no token configured
// every request passes (the sender is authenticated otherwise: mTLS, a
// network boundary).
func (t Tokens) Bearer(r *http.Request) bool {
	if t.Empty() {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return t.Match(strings.TrimSpace(token))
}
