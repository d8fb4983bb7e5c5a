package stele

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fullEntry is a canonical entry with every field present.
const fullEntry = `{"action":"user.login","actor":{"id":"u-1","ip":"10.0.0.1","name":"Ann \"A\"","session_id":"s-1","type":"user","user_agent":"curl/8"},` +
	`"attributes":{"geo":{"region":"eu","zones":["a","b"]},"n":1.5,"ok":true,"tags":[],"x":null},"category":"authentication",` +
	`"id":"0197a3c2-6f1e-7b40-8a1d-3c5e7f9b2d41","message":"line1\nline2","outcome":"success","raw":{"a":[1,"<b>"]},"received_at":"2025-06-01T12:30:00.5Z",` +
	`"request_id":"req-9","resource":{"id":"t-1","name":"Orders","type":"table"},"seq":42,` +
	`"source":{"host":"web-1","ip":"2001:db8::1","service":"billing"},"time":"2025-06-01T12:00:00Z"}`

func TestParseRecord(t *testing.T) {
	r, err := ParseRecord([]byte(fullEntry))
	if err != nil {
		t.Fatal(err)
	}
	want := &Record{
		Seq: 42, ID: "0197a3c2-6f1e-7b40-8a1d-3c5e7f9b2d41",
		ReceivedAt: time.Date(2025, 6, 1, 12, 30, 0, 5e8, time.UTC),
		Action:     "user.login",
		Actor:      &Actor{Type: "user", ID: "u-1", Name: `Ann "A"`, IP: "10.0.0.1", UserAgent: "curl/8", SessionID: "s-1"},
		Resource:   &Resource{Type: "table", ID: "t-1", Name: "Orders"},
		Outcome:    OutcomeSuccess,
		Time:       time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC),
		Category:   "authentication",
		Source:     &Source{Service: "billing", Host: "web-1", IP: "2001:db8::1"},
		Message:    "line1\nline2",
		RequestID:  "req-9",
		Attributes: json.RawMessage(`{"geo":{"region":"eu","zones":["a","b"]},"n":1.5,"ok":true,"tags":[],"x":null}`),
		Raw:        json.RawMessage(`{"a":[1,"<b>"]}`),
	}
	gotJSON, _ := json.Marshal(r)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("ParseRecord =\n%s\nwant\n%s", gotJSON, wantJSON)
	}
	if !r.Time.Equal(want.Time) || !r.ReceivedAt.Equal(want.ReceivedAt) {
		t.Errorf("times %v %v, want %v %v", r.Time, r.ReceivedAt, want.Time, want.ReceivedAt)
	}

	minimal := `{"action":"a","id":"x","outcome":"unknown","received_at":"2025-06-01T12:30:00Z","seq":0,"time":"2025-06-01T12:30:00Z"}`
	r, err = ParseRecord([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if r.Actor != nil || r.Resource != nil || r.Source != nil || r.Attributes != nil || r.Outcome != OutcomeUnknown {
		t.Errorf("minimal record = %+v", r)
	}
	got, _ := json.Marshal(r)
	if want := `{"seq":0,"id":"x","received_at":"2025-06-01T12:30:00Z","action":"a","outcome":"unknown","time":"2025-06-01T12:30:00Z"}`; string(got) != want {
		t.Errorf("json.Marshal(record) = %s, want %s", got, want)
	}
}

// TestParseRecordNotCanonical takes the canonical fullEntry and breaks it in
// one way per case; each must be refused.
func TestParseRecordNotCanonical(t *testing.T) {
	tests := []struct {
		name, old, new string
		reason         string // substring of the error
	}{
		{"whitespace", `"seq":42,`, `"seq": 42,`, "not canonical"},
		{"keys out of order", `"category":"authentication","id"`, `"id"`, "not canonical"}, // moved below
		{"sub-object keys out of order", `{"id":"t-1","name":"Orders","type":"table"}`, `{"name":"Orders","id":"t-1","type":"table"}`, "not canonical"},
		{"attributes out of order", `"n":1.5,"ok":true`, `"ok":true,"n":1.5`, "not canonical"},
		{"number not canonical", `"n":1.5`, `"n":1.50`, "not canonical"},
		{"needless escape", `"Orders"`, `"\u004frders"`, "not canonical"},
		{"escape form", `line1\nline2`, `line1\u000aline2`, "not canonical"},
		{"time with offset", `"time":"2025-06-01T12:00:00Z"`, `"time":"2025-06-01T14:00:00+02:00"`, "not canonical"},
		{"time trailing zero", `"received_at":"2025-06-01T12:30:00.5Z"`, `"received_at":"2025-06-01T12:30:00.50Z"`, "not canonical"},
		{"ip not canonical", `"2001:db8::1"`, `"2001:DB8::1"`, "not canonical"},
		{"empty message", `"message":"line1\nline2"`, `"message":""`, "not canonical"},
		{"empty attributes", `"attributes":{"geo":{"region":"eu","zones":["a","b"]},"n":1.5,"ok":true,"tags":[],"x":null}`, `"attributes":{}`, "not canonical"},
		{"empty sub-object", `"resource":{"id":"t-1","name":"Orders","type":"table"}`, `"resource":{}`, "not canonical"},
		{"null field", `"request_id":"req-9"`, `"request_id":null`, "not canonical"},
		{"missing id", `"id":"0197a3c2-6f1e-7b40-8a1d-3c5e7f9b2d41",`, ``, "id: missing"},
		{"missing seq", `"seq":42,`, ``, "seq: missing"},
		{"missing outcome", `"outcome":"success",`, ``, "outcome: missing"},
		{"missing time", `,"time":"2025-06-01T12:00:00Z"`, ``, "time: missing"},
		{"missing received_at", `"received_at":"2025-06-01T12:30:00.5Z",`, ``, "received_at: missing"},
		{"seq leading zero", `"seq":42`, `"seq":042`, "leading zero"},
		{"seq negative", `"seq":42`, `"seq":-1`, "non-negative integer"},
		{"seq fraction", `"seq":42`, `"seq":42.0`, "expected ',' or '}'"},
		{"seq string", `"seq":42`, `"seq":"42"`, "non-negative integer"},
		{"seq beyond 2^53", `"seq":42`, `"seq":9007199254740993`, "exceeds 2^53"},
		{"seq beyond uint64", `"seq":42`, `"seq":99999999999999999999`, "exceeds 2^53"},
		{"unknown field", `"seq":42,`, `"seq":42,"shard":1,`, "unknown field"},
		{"duplicate field", `"seq":42,`, `"seq":42,"seq":43,`, "duplicate key"},
		{"duplicate attribute", `"n":1.5`, `"n":1.5,"n":1.5`, "duplicate key"},
		{"bad action", `"action":"user.login"`, `"action":"User.Login"`, "is not an action"},
		{"trailing data", `"time":"2025-06-01T12:00:00Z"}`, `"time":"2025-06-01T12:00:00Z"} `, "unexpected data after"},
		{"leading space", `{"action"`, ` {"action"`, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(fullEntry, tt.old) {
				t.Fatalf("test case does not apply: %q not in the entry", tt.old)
			}
			bad := strings.Replace(fullEntry, tt.old, tt.new, 1)
			if tt.name == "keys out of order" {
				bad = strings.Replace(bad, `"message"`, `"category":"authentication","message"`, 1)
			}
			_, err := ParseRecord([]byte(bad))
			if err == nil {
				t.Fatalf("ParseRecord accepted %s", bad)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %v, want ErrInvalid mentioning %q", err, tt.reason)
			}
		})
	}
	if _, err := ParseRecord([]byte(`{"action":"a","message":"` + strings.Repeat("m", MaxEntrySize) + `"}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("entry beyond MaxEntrySize: %v, want ErrInvalid", err)
	}
	if _, err := ParseRecord(nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty entry: %v, want ErrInvalid", err)
	}
}

func TestRecordFields(t *testing.T) {
	var got []string
	err := RecordFields([]byte(fullEntry), func(path, value []byte) error {
		got = append(got, string(path)+"="+string(value))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`action="user.login"`,
		`actor.id="u-1"`, `actor.ip="10.0.0.1"`, `actor.name="Ann \"A\""`, `actor.session_id="s-1"`, `actor.type="user"`, `actor.user_agent="curl/8"`,
		`attributes.geo.region="eu"`, `attributes.geo.zones="a"`, `attributes.geo.zones="b"`, `attributes.n=1.5`, `attributes.ok=true`, `attributes.x=null`,
		`category="authentication"`, `id="0197a3c2-6f1e-7b40-8a1d-3c5e7f9b2d41"`, `message="line1\nline2"`, `outcome="success"`,
		`raw.a=1`, `raw.a="<b>"`, `received_at="2025-06-01T12:30:00.5Z"`, `request_id="req-9"`, `resource.id="t-1"`, `resource.name="Orders"`, `resource.type="table"`,
		`seq=42`, `source.host="web-1"`, `source.ip="2001:db8::1"`, `source.service="billing"`, `time="2025-06-01T12:00:00Z"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("RecordFields =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRecordFieldsNested(t *testing.T) {
	e := `{"attributes":{"a":[[1,{"b":"x"}],{}],"c.d":{"e":[]}}}`
	var got []string
	if err := RecordFields([]byte(e), func(path, value []byte) error {
		got = append(got, string(path)+"="+string(value))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if want := `attributes.a=1 attributes.a.b="x"`; strings.Join(got, " ") != want {
		t.Errorf("RecordFields = %s, want %s", strings.Join(got, " "), want)
	}
}

func TestRecordFieldsStops(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := RecordFields([]byte(fullEntry), func(path, value []byte) error {
		calls++
		if string(path) == "actor.ip" {
			return stop
		}
		return nil
	})
	if err != stop || calls != 3 {
		t.Errorf("RecordFields = %v after %d calls, want stop after 3", err, calls)
	}
}

func TestRecordFieldsMalformed(t *testing.T) {
	for _, in := range []string{``, `[]`, `{`, `{"a"}`, `{"a":}`, `{"a":1`, `{"a":"x}`, `{"a":[1,}`, `{"a":1}x`, `{"a":tru}`, `{"a":{"b":1]}`,
		strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)} {
		err := RecordFields([]byte(in), func(path, value []byte) error { return nil })
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("RecordFields(%q) = %v, want ErrInvalid", in, err)
		}
	}
}

// TestRecordFieldsAllocs checks that the walk's allocations do not grow with
// the number of fields.
func TestRecordFieldsAllocs(t *testing.T) {
	small := []byte(`{"action":"a","id":"x"}`)
	var attrs []string
	for i := range 200 {
		attrs = append(attrs, fmt.Sprintf(`"k%03d":%d`, i, i))
	}
	large := []byte(`{"action":"a","attributes":{` + strings.Join(attrs, ",") + `},"id":"x"}`)
	count := func(e []byte) float64 {
		return testing.AllocsPerRun(50, func() {
			if err := RecordFields(e, func(path, value []byte) error { return nil }); err != nil {
				t.Fatal(err)
			}
		})
	}
	if a, b := count(small), count(large); b > a {
		t.Errorf("RecordFields allocates %v times for 2 fields but %v for 202", a, b)
	}
}

func BenchmarkParseRecord(b *testing.B) {
	e := []byte(fullEntry)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRecord(e); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecordFields(b *testing.B) {
	e := []byte(fullEntry)
	fields := 0
	fn := func(path, value []byte) error { fields++; return nil }
	b.ReportAllocs()
	for b.Loop() {
		if err := RecordFields(e, fn); err != nil {
			b.Fatal(err)
		}
	}
}

// leaves lists what walk visits, as "path=value".
func leaves(t testing.TB, walk func([]byte, func(path, value []byte) error) error, entry []byte) ([]string, error) {
	var got []string
	err := walk(entry, func(path, value []byte) error {
		got = append(got, string(path)+"="+string(value))
		return nil
	})
	return got, err
}

// checkSearchable checks that SearchableFields visits exactly the leaves
// of RecordFields outside raw, whenever RecordFields can walk the entry.
func checkSearchable(t testing.TB, entry []byte) {
	all, err := leaves(t, RecordFields, entry)
	if err != nil {
		return
	}
	var want []string
	for _, l := range all {
		if !(l == "raw" || strings.HasPrefix(l, "raw=") || strings.HasPrefix(l, "raw.")) {
			want = append(want, l)
		}
	}
	got, err := leaves(t, SearchableFields, entry)
	if err != nil || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("SearchableFields(%s) = %q, %v\nwant %q", entry, got, err, want)
	}
}

func TestSearchableFieldsSkipsRaw(t *testing.T) {
	for _, raw := range []string{`"text"`, `"a\"}],{["`, `12.5`, `true`, `null`, `[]`, `{}`,
		`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a]}\\"}"}}]}}]}`,
		`[[["x"]],{"raw":{"raw":1}}]`} {
		for _, entry := range []string{
			`{"action":"a","raw":` + raw + `,"seq":1,"time":"2025-06-01T12:30:00Z"}`,
			`{"raw":` + raw + `}`,
			`{"action":"a","attributes":{"raw":{"x":"y"}},"raw":` + raw + `}`,
		} {
			checkSearchable(t, []byte(entry))
		}
	}
	// The raw it skips must still end where JSON says.
	for _, bad := range []string{`{"raw":"unterminated}`, `{"raw":{"a":1}`, `{"raw":[1,2}`} {
		if err := SearchableFields([]byte(bad), func(path, value []byte) error { return nil }); err == nil {
			t.Errorf("SearchableFields(%s): no error", bad)
		}
	}
}

// FuzzSearchableFields checks SearchableFields against RecordFields on any
// input: it never panics, and wherever RecordFields walks, it visits the
// same leaves less raw's.
func FuzzSearchableFields(f *testing.F) {
	f.Add([]byte(fullEntry))
	f.Add([]byte(`{"action":"a","raw":{"k":["v",{"w":"}"}]},"seq":1}`))
	f.Add([]byte(`{"raw":"x\\"y"}`))
	f.Fuzz(func(t *testing.T, entry []byte) {
		SearchableFields(entry, func(path, value []byte) error { return nil })
		checkSearchable(t, entry)
	})
}
