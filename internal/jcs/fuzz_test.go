package jcs

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzCanonicalize checks that Canonicalize never panics, that its output is
// valid JSON, means the same as its input (per encoding/json) and is a fixed
// point, and that it agrees with encoding/json on what is JSON: it rejects
// every ungrammatical input, and refuses grammatical input only for the
// reasons RFC 8785 gives (duplicate keys, invalid UTF-8, lone surrogates,
// number range, depth), which it reports with Syntax false.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{
		`{"b":[1,2.5,-0,1e21,"x"],"a":{"\u00e9":null,"z":true}}`,
		`{"a":1,"a":2}`,
		`"\ud83d\ude00\u0000\/"`,
		`[9007199254740993]`,
		`12345678901234567000`,
		`1e400`,
		"\"\xff\"",
		`{"\ue000":1,"😀":2}`,
		` [ ] `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonicalize(nil, in)
		valid := json.Valid(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not a *Error wrapping ErrInvalid", err)
			}
			if e.Offset < 0 || e.Offset > len(in) {
				t.Fatalf("error offset %d outside input of %d bytes", e.Offset, len(in))
			}
			// A non-syntax error may come first in input that is also
			// ungrammatical further on, so only this direction is exact.
			if e.Syntax && valid {
				t.Fatalf("syntax error %v on input encoding/json accepts: %q", err, in)
			}
			return
		}
		if !valid {
			t.Fatalf("accepted input encoding/json rejects: %q -> %q", in, out)
		}
		if !json.Valid(out) {
			t.Fatalf("output is not JSON: %q -> %q", in, out)
		}
		again, err := Canonicalize(nil, out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		// Success implies no duplicate keys and valid UTF-8, so encoding/json
		// decodes both to the same value (numbers compare as doubles, and
		// -0 == 0).
		var vin, vout any
		if err := json.Unmarshal(in, &vin); err != nil {
			t.Fatalf("encoding/json cannot decode accepted input %q: %v", in, err)
		}
		if err := json.Unmarshal(out, &vout); err != nil {
			t.Fatalf("encoding/json cannot decode output %q: %v", out, err)
		}
		if !reflect.DeepEqual(vin, vout) {
			t.Fatalf("meaning changed: %q (%v) -> %q (%v)", in, vin, out, vout)
		}
	})
}
