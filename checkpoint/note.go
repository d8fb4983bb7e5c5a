package checkpoint

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// algEd25519 is the signed-note signature type byte of Ed25519 keys.
const algEd25519 = 0x01

// validName reports whether s can be a signed-note key name: non-empty
// UTF-8 with no Unicode spaces and no '+'.
func validName(s string) bool {
	return s != "" && utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsSpace) < 0 && !strings.Contains(s, "+")
}

// DefaultOrigin returns the origin (and key name) stele uses when none is
// configured: "<host>/stele", where host is hostname lowercased, with
// surrounding spaces and trailing dots removed, and every character a key
// name may not contain (Unicode spaces, '+', control characters, invalid
// UTF-8) replaced by '-'; an empty host becomes "localhost". The result is
// always a valid key name. The origin names the log forever (it is in every
// checkpoint and receipt), so operators should set it explicitly rather than
// rely on the machine's name.
func DefaultOrigin(hostname string) string {
	host := strings.TrimRight(strings.TrimSpace(strings.ToLower(hostname)), ".")
	host = strings.Map(func(r rune) rune {
		if r == '+' || r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) {
			return '-'
		}
		return r
	}, strings.ToValidUTF8(host, "-"))
	if host == "" {
		host = "localhost"
	}
	return host + "/stele"
}

// GenerateKey returns a new Ed25519 signed-note key pair whose key name is
// origin, encoded as x/mod/sumdb/note keys: skey is
// "PRIVATE+KEY+<origin>+<key ID hex>+<base64>" and must stay secret; vkey is
// "<origin>+<key ID hex>+<base64>" and is what verifiers are given.
func GenerateKey(origin string) (skey, vkey string, err error) {
	if !validName(origin) {
		return "", "", fmt.Errorf("%w: origin %q is not a valid key name (empty, or has spaces or '+')", ErrKey, origin)
	}
	skey, vkey, err = note.GenerateKey(rand.Reader, origin)
	if err != nil {
		return "", "", fmt.Errorf("checkpoint: generating key: %w", err)
	}
	return skey, vkey, nil
}

// Signer signs the log's checkpoints. It is safe for concurrent use.
type Signer struct {
	signer   note.Signer
	vkey     string
	verifier note.Verifier
}

// NewSigner returns a Signer for an Ed25519 signer key from GenerateKey.
func NewSigner(skey string) (*Signer, error) {
	signer, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("%w: signer key: %v", ErrKey, err)
	}
	// note.Signer does not expose its public key; derive it from the seed
	// (after the algorithm byte) to publish
	// the verifier key. note.NewSigner has already checked the layout
	// PRIVATE+KEY+<name>+<id>+<base64> (base64 may itself contain '+') and
	// that the key ID matches the derived public key.
	fields := strings.SplitN(skey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(fields[len(fields)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != algEd25519 {
		return nil, fmt.Errorf("%w: signer key is not an Ed25519 key", ErrKey)
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(signer.Name(), pub)
	if err != nil {
		return nil, fmt.Errorf("%w: deriving verifier key: %v", ErrKey, err)
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("%w: derived verifier key: %v", ErrKey, err)
	}
	if verifier.KeyHash() != signer.KeyHash() {
		return nil, fmt.Errorf("%w: derived verifier key ID %08x differs from signer's %08x", ErrKey, verifier.KeyHash(), signer.KeyHash())
	}
	return &Signer{signer: signer, vkey: vkey, verifier: verifier}, nil
}

// Name returns the key name, which is the log's origin.
func (s *Signer) Name() string { return s.signer.Name() }

// VerifierKey returns the encoded verifier key to give to clients.
func (s *Signer) VerifierKey() string { return s.vkey }

// Verifier returns the verifier of the Signer's signatures.
func (s *Signer) Verifier() note.Verifier { return s.verifier }

// Sign returns c as a signed note carrying one Ed25519 signature. c.Origin
// must equal the key name (ErrOrigin otherwise): a log signs only its own
// checkpoints, and since key names cannot contain newlines or spaces this
// also keeps the origin a single valid line. The cost is one Ed25519
// signature over ~100 bytes plus formatting (see BenchmarkSign).
func (s *Signer) Sign(c Checkpoint) ([]byte, error) {
	if c.Origin != s.signer.Name() {
		return nil, fmt.Errorf("%w: checkpoint origin %q, signer key name %q", ErrOrigin, c.Origin, s.signer.Name())
	}
	signed, err := note.Sign(&note.Note{Text: string(c.Marshal())}, s.signer)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: signing: %w", err)
	}
	return signed, nil
}

// NewVerifier returns the verifier for an encoded Ed25519 verifier key (as
// from Signer.VerifierKey or GenerateKey).
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("%w: verifier key: %v", ErrKey, err)
	}
	return v, nil
}

// Open verifies that the signed note carries a valid signature by v,
// ignoring signatures by other keys (such as witness cosignatures), then
// parses it strictly and checks that its origin is origin. An empty origin
// means v.Name(), stele's convention. Extension lines are accepted and
// dropped (stele writes none).
//
// Errors wrap ErrSignature (no valid signature by v, or an invalid one),
// ErrMalformed (not a signed note, or not a canonical checkpoint) or
// ErrOrigin.
func Open(signed []byte, origin string, v note.Verifier) (Checkpoint, error) {
	if v == nil {
		return Checkpoint{}, fmt.Errorf("%w: no verifier", ErrKey)
	}
	if origin == "" {
		origin = v.Name()
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return Checkpoint{}, fmt.Errorf("%w: key %s+%08x: %v", ErrSignature, v.Name(), v.KeyHash(), err)
		}
		// With a single known verifier, every other note.Open error is a
		// parse error.
		return Checkpoint{}, fmt.Errorf("%w: signed note: %v", ErrMalformed, err)
	}
	c, _, err := Parse([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != origin {
		return Checkpoint{}, fmt.Errorf("%w: checkpoint is for %q, want %q", ErrOrigin, c.Origin, origin)
	}
	return c, nil
}
