package stele

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/transparency-dev/formats/proof"
)

// testSignedCheckpoint is a checkpoint signed by the example key of package
// checkpoint. Receipt parsing does not verify it.
const testSignedCheckpoint = "example.com/stele\n3\nCwrq+Vhkv2cxFgzCYCi/5bVYmrb0QFOO91My4GwHIC4=\n\n" +
	"— example.com/stele ZnvMmCxdaB2ejJXS6Jodlh7Cs1ODuZ1hygbTPcsl68loppgqJ78ilcO2RHKEIy+NdlRit3FcaX9rwXheR8mQcoRqZgk=\n"

func testReceipt() Receipt {
	hashes := [][32]byte{sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))}
	return NewReceipt(2, "01J0000000000000000000TEST", sha256.Sum256([]byte("leaf")), hashes,
		[]byte(testSignedCheckpoint), []byte(`{"id":"01J0000000000000000000TEST","seq":2}`))
}

func TestNewReceiptTLogProof(t *testing.T) {
	r := testReceipt()
	wantText := "c2sp.org/tlog-proof@v1\nindex 2\n" +
		"ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs=\n" +
		"PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0=\n\n" + testSignedCheckpoint
	if string(r.Proof) != wantText {
		t.Fatalf("Proof =\n%s\nwant\n%s", r.Proof, wantText)
	}
	index, hashes, cp, err := r.TLogProof()
	if err != nil || index != 2 || len(hashes) != 2 || hashes[1] != sha256.Sum256([]byte("b")) || string(cp) != testSignedCheckpoint {
		t.Fatalf("TLogProof = %d, %d hashes, %q, %v", index, len(hashes), cp, err)
	}
	// The reference parser reads the same thing.
	var p proof.TLogProof
	if err := p.Unmarshal(r.Proof); err != nil {
		t.Fatalf("formats/proof Unmarshal: %v", err)
	}
	if p.Index != index || len(p.Hashes) != 2 || p.Hashes[0] != hashes[0] || string(p.Checkpoint) != testSignedCheckpoint || p.ExtraData != nil {
		t.Fatalf("formats/proof read %+v", p)
	}
}

func TestReceiptJSONRoundTrip(t *testing.T) {
	for _, r := range []Receipt{testReceipt(), NewReceipt(0, "x", [32]byte{}, nil, []byte(testSignedCheckpoint), nil)} {
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		var got Receipt
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("Unmarshal(%s): %v", data, err)
		}
		if !receiptsEqual(got, r) {
			t.Fatalf("round trip:\n%+v\nwant\n%+v", got, r)
		}
	}
	data, _ := json.Marshal(testReceipt())
	want := `{"seq":2,"id":"01J0000000000000000000TEST","leaf_hash":"` +
		`n5EWH0NDPkmm3m22gNefYBWfLkrJFyYhoShGQoFYRAs=","proof":"c2sp.org/tlog-proof@v1\nindex 2\n`
	if !strings.HasPrefix(string(data), want) || !strings.HasSuffix(string(data), `,"entry":{"id":"01J0000000000000000000TEST","seq":2}}`) {
		t.Fatalf("JSON form:\n%s", data)
	}
}

// TestReceiptInsideJSON checks that a receipt survives being a member of a
// larger document, where encoding/json re-escapes the entry (e.g. "<" as
// \u003c): it must still decode, to an equivalent entry.
func TestReceiptInsideJSON(t *testing.T) {
	r := NewReceipt(1, "id-1", [32]byte{1}, nil, []byte(testSignedCheckpoint), []byte(`{"m":"<a&b>"}`))
	doc, err := json.Marshal(map[string]any{"receipt": r})
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var back struct{ Receipt Receipt }
	if err := json.Unmarshal(doc, &back); err != nil {
		t.Fatalf("Unmarshal(%s): %v", doc, err)
	}
	var m struct{ M string }
	if err := json.Unmarshal(back.Receipt.Entry, &m); err != nil || m.M != "<a&b>" || !bytes.Equal(back.Receipt.Proof, r.Proof) {
		t.Fatalf("entry came back as %s (%v)", back.Receipt.Entry, err)
	}
}

func receiptsEqual(a, b Receipt) bool {
	return a.Seq == b.Seq && a.ID == b.ID && a.LeafHash == b.LeafHash && bytes.Equal(a.Proof, b.Proof) && bytes.Equal(a.Entry, b.Entry)
}

func TestReceiptMarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		r    Receipt
	}{
		{"proof not UTF-8", Receipt{ID: "x", Proof: []byte("c2sp\xff")}},
		{"id not UTF-8", Receipt{ID: "\xff", Proof: []byte("p")}},
		{"entry not JSON", Receipt{ID: "x", Proof: []byte("p"), Entry: json.RawMessage(`{"a":`)}},
		{"entry an array", Receipt{ID: "x", Proof: []byte("p"), Entry: json.RawMessage(`[1]`)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.r.MarshalJSON(); !errors.Is(err, ErrInvalid) {
				t.Fatalf("MarshalJSON error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestReceiptUnmarshalErrors(t *testing.T) {
	good, err := json.Marshal(testReceipt())
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	// with returns the good receipt's JSON with member key set to value
	// (removed when value is "").
	with := func(key, value string) string {
		var b strings.Builder
		b.WriteString("{")
		first := true
		for _, k := range []string{"seq", "id", "leaf_hash", "proof", "entry"} {
			v := string(m[k])
			if k == key {
				v = value
			}
			if v == "" {
				continue
			}
			if !first {
				b.WriteString(",")
			}
			first = false
			b.WriteString(`"` + k + `":` + v)
		}
		b.WriteString("}")
		return b.String()
	}
	proofWith := func(old, new string) string {
		p, _ := json.Marshal(strings.Replace(string(testReceipt().Proof), old, new, 1))
		return string(p)
	}
	tests := []struct {
		name string
		data string
	}{
		{"not an object", `[]`},
		{"not JSON", `{`},
		{"empty", ``},
		{"trailing data", string(good) + `{}`},
		{"invalid UTF-8", strings.Replace(string(good), "TEST", "TES\xff", 1)},
		{"unknown member", strings.Replace(string(good), `"seq"`, `"sequence"`, 1)},
		{"duplicate member", strings.Replace(string(good), `{"seq":2,`, `{"seq":2,"seq":2,`, 1)},
		{"missing seq", with("seq", "")},
		{"missing id", with("id", "")},
		{"missing leaf_hash", with("leaf_hash", "")},
		{"missing proof", with("proof", "")},
		{"null seq", with("seq", "null")},
		{"null entry", with("entry", "null")},
		{"negative seq", with("seq", "-1")},
		{"fractional seq", with("seq", "2.0")},
		{"exponent seq", with("seq", "2e0")},
		{"string seq", with("seq", `"2"`)},
		{"seq overflow", with("seq", "18446744073709551616")},
		{"empty id", with("id", `""`)},
		{"numeric id", with("id", `7`)},
		{"leaf_hash hex", with("leaf_hash", `"`+strings.Repeat("ab", 32)+`"`)},
		{"leaf_hash unpadded", with("leaf_hash", `"n5EWH0NDPkmm3m22gNefYBWfLkrJFyYhoShGQoFYRAs"`)},
		{"leaf_hash non-zero padding bits", with("leaf_hash", `"n5EWH0NDPkmm3m22gNefYBWfLkrJFyYhoShGQoFYRAt="`)},
		{"leaf_hash 31 bytes", with("leaf_hash", `"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="`)},
		{"leaf_hash array", with("leaf_hash", `[1,2]`)},
		{"proof not a string", with("proof", `{}`)},
		{"proof bad header", with("proof", proofWith("tlog-proof@v1", "tlog-proof@v2"))},
		{"entry array", with("entry", `[1]`)},
		{"entry string", with("entry", `"{}"`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Receipt
			err := json.Unmarshal([]byte(tt.data), &r)
			if err == nil {
				t.Fatalf("Unmarshal(%s) succeeded", tt.data)
			}
			// encoding/json reports syntax errors itself before calling
			// UnmarshalJSON; everything else must be ours.
			var syntax *json.SyntaxError
			if !errors.As(err, &syntax) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Unmarshal error = %v, want ErrInvalid", err)
			}
			if err := r.UnmarshalJSON([]byte(tt.data)); !errors.Is(err, ErrInvalid) {
				t.Fatalf("UnmarshalJSON error = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestTLogProofErrors(t *testing.T) {
	const h = "ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs=\n"
	const head = "c2sp.org/tlog-proof@v1\n"
	tests := []struct {
		name  string
		proof string
	}{
		{"empty", ""},
		{"header only", head},
		{"wrong header", "c2sp.org/tlog-proof@v2\nindex 0\n\n" + testSignedCheckpoint},
		{"header without newline", "c2sp.org/tlog-proof@v1"},
		{"header CRLF", "c2sp.org/tlog-proof@v1\r\nindex 0\n\n" + testSignedCheckpoint},
		{"extra line", head + "extra AAAA\nindex 0\n\n" + testSignedCheckpoint},
		{"missing index", head + h + "\n" + testSignedCheckpoint},
		{"index leading zero", head + "index 02\n\n" + testSignedCheckpoint},
		{"index plus", head + "index +2\n\n" + testSignedCheckpoint},
		{"index empty", head + "index \n\n" + testSignedCheckpoint},
		{"index two spaces", head + "index  2\n\n" + testSignedCheckpoint},
		{"index overflow", head + "index 18446744073709551616\n\n" + testSignedCheckpoint},
		{"index trailing space", head + "index 2 \n\n" + testSignedCheckpoint},
		{"hash not base64", head + "index 2\n" + strings.Repeat("!", 44) + "\n\n" + testSignedCheckpoint},
		{"hash short", head + "index 2\nAAAA\n\n" + testSignedCheckpoint},
		{"hash non-canonical padding", head + "index 2\nypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLt=\n\n" + testSignedCheckpoint},
		{"hash without padding", head + "index 2\nypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs\n\n" + testSignedCheckpoint},
		{"hash trailing CR", head + "index 2\n" + strings.TrimSuffix(h, "\n") + "\r\n\n" + testSignedCheckpoint},
		{"65 hashes", head + "index 2\n" + strings.Repeat(h, 65) + "\n" + testSignedCheckpoint},
		{"no empty line", head + "index 2\n" + h},
		{"no checkpoint", head + "index 2\n" + h + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Receipt{Proof: []byte(tt.proof)}
			if index, hashes, cp, err := r.TLogProof(); !errors.Is(err, ErrInvalid) {
				t.Fatalf("TLogProof = %d, %d hashes, %q, %v; want ErrInvalid", index, len(hashes), cp, err)
			}
		})
	}
	// 64 hashes is the most a real proof can have and parses.
	r := Receipt{Proof: []byte(head + "index 2\n" + strings.Repeat(h, 64) + "\n" + testSignedCheckpoint)}
	if _, hashes, _, err := r.TLogProof(); err != nil || len(hashes) != 64 {
		t.Fatalf("TLogProof(64 hashes) = %d, %v", len(hashes), err)
	}
}

func FuzzReceipt(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Receipt
		if err := r.UnmarshalJSON(data); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("UnmarshalJSON error %v does not wrap ErrInvalid", err)
			}
			// TLogProof must not panic on arbitrary proof text either.
			_, _, _, _ = Receipt{Proof: data}.TLogProof()
			return
		}
		index, hashes, cp, err := r.TLogProof()
		if err != nil {
			t.Fatalf("accepted receipt has an unparseable proof: %v", err)
		}
		// The proof text is canonical: re-marshalling its parts reproduces it.
		if again := NewReceipt(index, r.ID, r.LeafHash, hashes, cp, nil); !bytes.Equal(again.Proof, r.Proof) {
			t.Fatalf("proof %q re-marshals as %q", r.Proof, again.Proof)
		}
		out, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON of an accepted receipt: %v", err)
		}
		var back Receipt
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("UnmarshalJSON(MarshalJSON(r)) = %v\n%s", err, out)
		}
		if !receiptsEqual(back, r) {
			t.Fatalf("round trip changed the receipt:\n%+v\n%+v", r, back)
		}
	})
}
