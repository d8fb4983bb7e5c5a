package checkpoint

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
)

// Test keys. They sign nothing outside these tests.
const (
	testSkey        = "PRIVATE+KEY+example.com/stele+667bcc98+ATSmwnF0W4JrnPhmde3ni0LgpW8bU127nIzevejqbg4U"
	testVkey        = "example.com/stele+667bcc98+AQp4F/cv1oVLMcZ1+5HYuWTNIeZCD/WEpdh7nlGD8sJu"
	testWitnessSkey = "PRIVATE+KEY+witness.example+ef2b99f7+ATAotGe98FisvLqs7+HON793fRax5kNHWJMSXwOSWFDW"
	testOrigin      = "example.com/stele"
)

func testSigner(t testing.TB) *Signer {
	t.Helper()
	s, err := NewSigner(testSkey)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

func TestSignOpen(t *testing.T) {
	s := testSigner(t)
	if s.Name() != testOrigin || s.VerifierKey() != testVkey || s.Verifier().Name() != testOrigin {
		t.Fatalf("Signer: name %q vkey %q", s.Name(), s.VerifierKey())
	}
	c := Checkpoint{Origin: testOrigin, Size: 70000, Hash: sha256.Sum256([]byte("root"))}
	signed, err := s.Sign(c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if !bytes.HasPrefix(signed, append(c.Marshal(), "\n— example.com/stele "...)) {
		t.Fatalf("signed note has an unexpected layout:\n%s", signed)
	}

	v, err := NewVerifier(testVkey)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	for _, origin := range []string{testOrigin, ""} {
		got, err := Open(signed, origin, v)
		if err != nil || got != c {
			t.Fatalf("Open(origin %q) = %+v, %v; want %+v", origin, got, err, c)
		}
	}

	// Independent readers accept it too.
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil || n.Text != string(c.Marshal()) {
		t.Fatalf("note.Open = %v", err)
	}
	fc, rest, _, err := log.ParseCheckpoint(signed, testOrigin, v)
	if err != nil {
		t.Fatalf("formats/log.ParseCheckpoint: %v", err)
	}
	if fc.Origin != c.Origin || fc.Size != c.Size || !bytes.Equal(fc.Hash, c.Hash[:]) || len(rest) != 0 {
		t.Fatalf("formats/log.ParseCheckpoint = %+v, rest %q", fc, rest)
	}
}

func TestGeneratedKeys(t *testing.T) {
	// Enough keys that some have '+' in their base64 part, which a naive
	// split of the key string on '+' gets wrong.
	sawPlus := false
	for range 64 {
		skey, vkey, err := GenerateKey("log.example/a")
		if err != nil {
			t.Fatalf("GenerateKey: %v", err)
		}
		sawPlus = sawPlus || strings.Count(skey, "+") > 4
		s, err := NewSigner(skey)
		if err != nil {
			t.Fatalf("NewSigner(%q): %v", skey, err)
		}
		if s.VerifierKey() != vkey {
			t.Fatalf("derived verifier key %q, GenerateKey said %q", s.VerifierKey(), vkey)
		}
		v, err := NewVerifier(vkey)
		if err != nil {
			t.Fatalf("NewVerifier: %v", err)
		}
		signed, err := s.Sign(Checkpoint{Origin: "log.example/a", Size: 1})
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		if _, err := Open(signed, "log.example/a", v); err != nil {
			t.Fatalf("Open: %v", err)
		}
	}
	if !sawPlus {
		t.Log("no generated key had '+' in its base64 part")
	}
}

func TestOpenIgnoresOtherSignatures(t *testing.T) {
	s := testSigner(t)
	c := Checkpoint{Origin: testOrigin, Size: 3}
	signed, err := s.Sign(c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	// A witness cosigns: the log's verifier must ignore that signature.
	witness, err := note.NewSigner(testWitnessSkey)
	if err != nil {
		t.Fatalf("note.NewSigner: %v", err)
	}
	n, err := note.Open(signed, note.VerifierList(s.Verifier()))
	if err != nil {
		t.Fatalf("note.Open: %v", err)
	}
	cosigned, err := note.Sign(n, witness)
	if err != nil {
		t.Fatalf("note.Sign: %v", err)
	}
	if got, err := Open(cosigned, testOrigin, s.Verifier()); err != nil || got != c {
		t.Fatalf("Open(cosigned) = %+v, %v", got, err)
	}
}

func TestOpenErrors(t *testing.T) {
	s := testSigner(t)
	c := Checkpoint{Origin: testOrigin, Size: 9, Hash: sha256.Sum256([]byte("x"))}
	signed, err := s.Sign(c)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	_, otherVkey, err := GenerateKey(testOrigin) // same name, different key
	if err != nil {
		t.Fatalf("GenerateKey: %v", err)
	}
	other, _ := NewVerifier(otherVkey)
	witness, _ := note.NewSigner(testWitnessSkey)
	onlyWitness, _ := note.Sign(&note.Note{Text: string(c.Marshal())}, witness)
	// A validly signed note whose text is not a canonical checkpoint.
	signer, _ := note.NewSigner(testSkey)
	badText, _ := note.Sign(&note.Note{Text: testOrigin + "\n09\n" + strings.Repeat("A", 43) + "=\n"}, signer)
	sigAt := bytes.LastIndex(signed, []byte(" ")) + 1

	tests := []struct {
		name   string
		signed []byte
		origin string
		v      note.Verifier
		want   error
	}{
		{"wrong key", signed, testOrigin, other, ErrSignature},
		{"only a witness signature", onlyWitness, testOrigin, s.Verifier(), ErrSignature},
		{"tampered size", bytes.Replace(signed, []byte("\n9\n"), []byte("\n8\n"), 1), testOrigin, s.Verifier(), ErrSignature},
		{"tampered signature", flipBase64(signed, sigAt+10), testOrigin, s.Verifier(), ErrSignature},
		{"wrong origin", signed, "example.com/other", s.Verifier(), ErrOrigin},
		{"no blank line", bytes.Replace(signed, []byte("\n\n"), []byte("\n"), 1), testOrigin, s.Verifier(), ErrMalformed},
		{"empty", nil, testOrigin, s.Verifier(), ErrMalformed},
		{"invalid UTF-8", append([]byte{0xff}, signed...), testOrigin, s.Verifier(), ErrMalformed},
		{"signature line without dash", bytes.Replace(signed, []byte("— "), []byte("- "), 1), testOrigin, s.Verifier(), ErrMalformed},
		{"signed non-canonical checkpoint", badText, testOrigin, s.Verifier(), ErrMalformed},
		{"no verifier", signed, testOrigin, nil, ErrKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Open(tt.signed, tt.origin, tt.v)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %+v, %v; want %v", got, err, tt.want)
			}
			for _, e := range []error{ErrSignature, ErrOrigin, ErrMalformed, ErrKey} {
				if e != tt.want && errors.Is(err, e) {
					t.Fatalf("Open error %v also wraps %v", err, e)
				}
			}
		})
	}
}

// flipBase64 changes the base64 character at i to another valid one.
func flipBase64(b []byte, i int) []byte {
	out := bytes.Clone(b)
	if out[i] == 'A' {
		out[i] = 'B'
	} else {
		out[i] = 'A'
	}
	return out
}

func TestSignWrongOrigin(t *testing.T) {
	s := testSigner(t)
	for _, origin := range []string{"example.com/other", "", testOrigin + "\n1\nAAAA"} {
		if _, err := s.Sign(Checkpoint{Origin: origin}); !errors.Is(err, ErrOrigin) {
			t.Errorf("Sign(origin %q) error = %v, want ErrOrigin", origin, err)
		}
	}
}

func TestKeyErrors(t *testing.T) {
	for _, origin := range []string{"", "a b", "a+b", "a\tb", "a\u00a0b", "\xff"} {
		if _, _, err := GenerateKey(origin); !errors.Is(err, ErrKey) {
			t.Errorf("GenerateKey(%q) error = %v, want ErrKey", origin, err)
		}
	}
	for _, skey := range []string{"", "garbage", testVkey, strings.Replace(testSkey, "667bcc98", "667bcc99", 1), testSkey + "A"} {
		if _, err := NewSigner(skey); !errors.Is(err, ErrKey) {
			t.Errorf("NewSigner(%q) error = %v, want ErrKey", skey, err)
		}
	}
	for _, vkey := range []string{"", "garbage", testSkey, strings.Replace(testVkey, "667bcc98", "667bcc99", 1)} {
		if _, err := NewVerifier(vkey); !errors.Is(err, ErrKey) {
			t.Errorf("NewVerifier(%q) error = %v, want ErrKey", vkey, err)
		}
	}
}

func TestDefaultOrigin(t *testing.T) {
	tests := []struct {
		name, hostname, want string
	}{
		{"plain", "logs01", "logs01/stele"},
		{"fqdn", "Logs01.Example.COM.", "logs01.example.com/stele"},
		{"empty", "", "localhost/stele"},
		{"spaces", "  my host  ", "my-host/stele"},
		{"plus", "a+b", "a-b/stele"},
		{"control", "a\x00b", "a-b/stele"},
		{"invalid UTF-8", "a\xffb", "a-b/stele"},
		{"dots only", "...", "localhost/stele"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DefaultOrigin(tt.hostname)
			if got != tt.want {
				t.Fatalf("DefaultOrigin(%q) = %q, want %q", tt.hostname, got, tt.want)
			}
			if _, _, err := GenerateKey(got); err != nil {
				t.Fatalf("DefaultOrigin(%q) = %q is not a valid key name: %v", tt.hostname, got, err)
			}
		})
	}
}

func FuzzOpen(f *testing.F) {
	s := testSigner(f)
	v := s.Verifier()
	f.Fuzz(func(t *testing.T, signed []byte) {
		c, err := Open(signed, testOrigin, v)
		if err != nil {
			if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrOrigin) {
				t.Fatalf("Open error %v wraps no sentinel", err)
			}
			return
		}
		// Anything that opens was signed by the test key over exactly the
		// canonical text, so re-signing reproduces the signature.
		again, err := s.Sign(c)
		if err != nil {
			t.Fatalf("Sign(%+v): %v", c, err)
		}
		if !bytes.Contains(signed, again[bytes.LastIndex(again, []byte("— ")):]) {
			t.Fatalf("opened note does not carry the signature of its checkpoint")
		}
	})
}

func BenchmarkSign(b *testing.B) {
	s := testSigner(b)
	c := Checkpoint{Origin: testOrigin, Size: 123456789, Hash: sha256.Sum256(nil)}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.Size++
		if _, err := s.Sign(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen(b *testing.B) {
	s := testSigner(b)
	signed, err := s.Sign(Checkpoint{Origin: testOrigin, Size: 123456789, Hash: sha256.Sum256(nil)})
	if err != nil {
		b.Fatal(err)
	}
	v := s.Verifier()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Open(signed, testOrigin, v); err != nil {
			b.Fatal(err)
		}
	}
}
