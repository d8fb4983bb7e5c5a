package verify

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stele-log/stele"
)

func TestStateJSON(t *testing.T) {
	l := newTestLog(t)
	l.grow(70000)
	st := verified(t, l)
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if !strings.HasPrefix(string(data), `{"origin":"example.com/stele","size":70000,"root":"`) {
		t.Fatalf("JSON form: %s", data)
	}
	var back State
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	if back.Origin != st.Origin || back.Size != st.Size || back.Root != st.Root || !equalRanges(back.Range, st.Range) || back.Checkpoint != st.Checkpoint {
		t.Fatalf("round trip: %+v\nwant %+v", back, st)
	}
	empty, _ := json.Marshal(State{Origin: "o", Root: emptyRoot})
	if err := json.Unmarshal(empty, &back); err != nil || back.Size != 0 {
		t.Fatalf("Unmarshal(%s) = %v", empty, err)
	}
}

func TestStateUnmarshalErrors(t *testing.T) {
	l := newTestLog(t)
	l.grow(3) // two subtrees in the compact range
	st := verified(t, l)
	good, _ := json.Marshal(st)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	with := func(key, value string) string {
		var parts []string
		for _, k := range []string{"origin", "size", "root", "range", "checkpoint"} {
			v := string(m[k])
			if k == key {
				v = value
			}
			if v != "" {
				parts = append(parts, `"`+k+`":`+v)
			}
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	rng := m["range"]
	tests := []struct {
		name string
		data string
	}{
		{"not an object", `[]`},
		{"trailing data", string(good) + `1`},
		{"invalid UTF-8", strings.Replace(string(good), "example", "ex\xffample", 1)},
		{"unknown member", strings.Replace(string(good), `"origin"`, `"log"`, 1)},
		{"duplicate member", strings.Replace(string(good), `{"origin":"example.com/stele",`, `{"origin":"example.com/stele","origin":"x",`, 1)},
		{"missing origin", with("origin", "")},
		{"missing size", with("size", "")},
		{"missing root", with("root", "")},
		{"missing range", with("range", "")},
		{"missing checkpoint", with("checkpoint", "")},
		{"null range", with("range", "null")},
		{"empty origin", with("origin", `""`)},
		{"negative size", with("size", "-3")},
		{"fractional size", with("size", "3.0")},
		{"string size", with("size", `"3"`)},
		{"size mismatch", with("size", "4")},
		{"root not base64", with("root", `"xyz"`)},
		{"root wrong", with("root", `"`+strings.Repeat("A", 43)+`="`)},
		{"root 48 characters", with("root", `"`+strings.Repeat("A", 48)+`"`)},
		{"range too short", with("range", "["+strings.Split(strings.Trim(string(rng), "[]"), ",")[0]+"]")},
		{"range hash not a string", with("range", "[1,2]")},
		{"range swapped", with("range", "["+strings.Split(strings.Trim(string(rng), "[]"), ",")[1]+","+strings.Split(strings.Trim(string(rng), "[]"), ",")[0]+"]")},
		{"range too long", with("range", "["+strings.Repeat(`"`+strings.Repeat("A", 43)+`=",`, 65)+`"`+strings.Repeat("A", 43)+`="]`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s State
			if err := s.UnmarshalJSON([]byte(tt.data)); !errors.Is(err, stele.ErrInvalid) {
				t.Fatalf("UnmarshalJSON(%s) = %v, want ErrInvalid", tt.data, err)
			}
		})
	}
}

func FuzzState(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var s State
		if err := s.UnmarshalJSON(data); err != nil {
			if !errors.Is(err, stele.ErrInvalid) {
				t.Fatalf("UnmarshalJSON error %v does not wrap ErrInvalid", err)
			}
			return
		}
		out, err := s.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		var back State
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("UnmarshalJSON(MarshalJSON(s)) = %v\n%s", err, out)
		}
		if back.Origin != s.Origin || back.Size != s.Size || back.Root != s.Root || !equalRanges(back.Range, s.Range) || back.Checkpoint != s.Checkpoint {
			t.Fatalf("round trip changed the state")
		}
	})
}
