package stele

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stele-log/stele/internal/jcs"
)

var testRecv = time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)

const (
	testRecvJSON = `"2025-06-01T12:30:00Z"`
	testServerID = "0197a3c2-6f1e-7b40-8a1d-3c5e7f9b2d41"
)

// entries parses body and renders every event with seq = its index and the
// test server id where the client sent none. It also checks what every
// rendered entry must satisfy: EntrySize is exact, ParseRecord accepts it, it
// is a fixed point of jcs.Canonicalize and encoding/json reads it.
func entries(t *testing.T, body string, ndjson bool) []string {
	t.Helper()
	b, err := ParseEvents([]byte(body), ndjson, testRecv)
	if err != nil {
		t.Fatalf("ParseEvents: %v", err)
	}
	var out []string
	for i := range b.Len() {
		id := b.ClientID(i)
		if id == nil {
			id = []byte(testServerID)
		}
		e := b.AppendEntry(nil, i, id, uint64(i))
		checkEntry(t, e)
		if n := b.EntrySize(i, len(id), uint64(i)); n != len(e) {
			t.Errorf("EntrySize = %d, entry is %d bytes", n, len(e))
		}
		out = append(out, string(e))
	}
	return out
}

func checkEntry(t *testing.T, e []byte) {
	t.Helper()
	if _, err := ParseRecord(e); err != nil {
		t.Errorf("ParseRecord(%s): %v", e, err)
	}
	if c, err := jcs.Canonicalize(nil, e); err != nil || !bytes.Equal(c, e) {
		t.Errorf("entry is not a jcs fixed point: %s -> %s, %v", e, c, err)
	}
	if !json.Valid(e) {
		t.Errorf("entry is not valid JSON: %s", e)
	}
}

// minimal wraps the canonical members that every entry of the tests below
// has around the given ones.
func entry(head, mid, tail string) string {
	return `{"action":"user.login",` + head + `"id":"` + testServerID + `",` + mid +
		`"received_at":` + testRecvJSON + `,"seq":0,` + tail + `}`
}

func TestParseEventsValid(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "minimal",
			in:   `{"action":"user.login"}`,
			want: entry(``, `"outcome":"unknown",`, `"time":`+testRecvJSON),
		},
		{
			name: "every field, scrambled order and whitespace",
			in: ` {
				"time": "2025-06-01T12:00:00Z",
				"source": {"ip": "192.0.2.1", "service": "billing", "host": "web-1"},
				"resource": {"name": "Orders", "type": "table", "id": "t-1"},
				"request_id": "req-9",
				"outcome": "success",
				"message": "ok",
				"category": "authentication",
				"attributes": {"z": 1, "a": {"y": [true, null], "x": "s"}},
				"actor": {"user_agent": "curl/8", "type": "user", "session_id": "s-1", "name": "Ann", "ip": "10.0.0.1", "id": "u-1"},
				"action": "user.login"
			} `,
			want: `{"action":"user.login","actor":{"id":"u-1","ip":"10.0.0.1","name":"Ann","session_id":"s-1","type":"user","user_agent":"curl/8"},` +
				`"attributes":{"a":{"x":"s","y":[true,null]},"z":1},"category":"authentication","id":"` + testServerID + `",` +
				`"message":"ok","outcome":"success","received_at":` + testRecvJSON + `,"request_id":"req-9",` +
				`"resource":{"id":"t-1","name":"Orders","type":"table"},"seq":0,` +
				`"source":{"host":"web-1","ip":"192.0.2.1","service":"billing"},"time":"2025-06-01T12:00:00Z"}`,
		},
		{
			name: "null fields are absent",
			in:   `{"action":"user.login","actor":null,"resource":null,"source":null,"attributes":null,"message":null,"outcome":null,"time":null,"category":null,"request_id":null,"id":null}`,
			want: entry(``, `"outcome":"unknown",`, `"time":`+testRecvJSON),
		},
		{
			name: "empty strings are absent",
			in:   `{"action":"user.login","message":"","outcome":"","time":"","category":"","request_id":"","id":"","actor":{"id":"","ip":""}}`,
			want: entry(``, `"outcome":"unknown",`, `"time":`+testRecvJSON),
		},
		{
			name: "empty objects are omitted",
			in:   `{"action":"user.login","actor":{},"resource":{"id":null},"source":{"host":""},"attributes":{}}`,
			want: entry(``, `"outcome":"unknown",`, `"time":`+testRecvJSON),
		},
		{
			name: "null inside attributes is data",
			in:   `{"action":"user.login","attributes":{"k":null,"e":""}}`,
			want: entry(`"attributes":{"e":"","k":null},`, `"outcome":"unknown",`, `"time":`+testRecvJSON),
		},
		{
			name: "attribute numbers",
			in:   `{"action":"user.login","attributes":{"a":1.50,"b":-0,"c":1E21,"d":0.0000001,"e":9007199254740992,"f":1e-400}}`,
			want: entry(`"attributes":{"a":1.5,"b":0,"c":1e+21,"d":1e-7,"e":9007199254740992,"f":0},`, `"outcome":"unknown",`, `"time":`+testRecvJSON),
		},
		{
			name: "string escaping",
			in:   `{"action":"user.login","message":"a\u0000\"\\\/\u00e9\t\u2028\ud83d\ude00"}`,
			want: entry(``, `"message":"a\u0000\"\\/é\t`+"\u2028"+`😀","outcome":"unknown",`, `"time":`+testRecvJSON),
		},
		{
			name: "escaped keys",
			in:   `{"\u0061ction":"user.login","actor":{"\u0069d":"u"}}`,
			want: entry(`"actor":{"id":"u"},`, `"outcome":"unknown",`, `"time":`+testRecvJSON),
		},
		{
			name: "escaped value of a checked field",
			in:   `{"action":"user\u002elogin","outcome":"\u0073uccess"}`,
			want: entry(``, `"outcome":"success",`, `"time":`+testRecvJSON),
		},
		{
			name: "time with offset to UTC",
			in:   `{"action":"user.login","time":"2025-06-01T01:30:00.120+02:00"}`,
			want: entry(``, `"outcome":"unknown",`, `"time":"2025-05-31T23:30:00.12Z"`),
		},
		{
			name: "time lowercase and zero fraction",
			in:   `{"action":"user.login","time":"2025-06-01t12:00:00.000z"}`,
			want: entry(``, `"outcome":"unknown",`, `"time":"2025-06-01T12:00:00Z"`),
		},
		{
			name: "time negative offset and nanoseconds",
			in:   `{"action":"user.login","time":"2024-02-29T23:59:59.123456789-00:30"}`,
			want: entry(``, `"outcome":"unknown",`, `"time":"2024-03-01T00:29:59.123456789Z"`),
		},
		{
			name: "time already canonical",
			in:   `{"action":"user.login","time":"0001-01-01T00:00:00.5Z"}`,
			want: entry(``, `"outcome":"unknown",`, `"time":"0001-01-01T00:00:00.5Z"`),
		},
		{
			name: "ip normalisation",
			in:   `{"action":"user.login","actor":{"ip":"2001:DB8:0:0:0:0:0:1"},"source":{"ip":"::ffff:10.0.0.1"}}`,
			want: entry(`"actor":{"ip":"2001:db8::1"},`, `"outcome":"unknown",`, `"source":{"ip":"::ffff:10.0.0.1"},"time":`+testRecvJSON),
		},
		{
			name: "attributes at the depth limit",
			in:   `{"action":"user.login","attributes":` + strings.Repeat(`{"k":`, MaxAttributesDepth) + `1` + strings.Repeat("}", MaxAttributesDepth) + `}`,
			want: entry(`"attributes":`+strings.Repeat(`{"k":`, MaxAttributesDepth)+`1`+strings.Repeat("}", MaxAttributesDepth)+`,`, `"outcome":"unknown",`, `"time":`+testRecvJSON),
		},
		{
			name: "raw string, kept as sent",
			in:   `{"action":"user.login","raw":"<34>1 2026-11-01T10:00:00Z host su - ID47 - 'su root' failed"}`,
			want: entry(``, `"outcome":"unknown","raw":"<34>1 2026-11-01T10:00:00Z host su - ID47 - 'su root' failed",`, `"time":`+testRecvJSON),
		},
		{
			name: "raw object, canonicalised",
			in:   `{"raw":{"verb":"get","auditID":"a-1","user":{"username":"bob"}},"action":"user.login"}`,
			want: entry(``, `"outcome":"unknown","raw":{"auditID":"a-1","user":{"username":"bob"},"verb":"get"},`, `"time":`+testRecvJSON),
		},
		{
			name: "raw null is absent",
			in:   `{"action":"user.login","raw":null}`,
			want: entry(``, `"outcome":"unknown",`, `"time":`+testRecvJSON),
		},
		{
			name: "denied outcome and category with dots",
			in:   `{"action":"user.login","outcome":"denied","category":"iam.access_v2-x"}`,
			want: entry(`"category":"iam.access_v2-x",`, `"outcome":"denied",`, `"time":`+testRecvJSON),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := entries(t, tt.in, false)
			if len(got) != 1 {
				t.Fatalf("got %d events, want 1", len(got))
			}
			if got[0] != tt.want {
				t.Errorf("entry\n got %s\nwant %s", got[0], tt.want)
			}
		})
	}
}

func TestParseEventsActionAndIDRules(t *testing.T) {
	valid := []string{"a", "user.login", "iam.policy.update", "db.read", "a1_b-c.d2", strings.Repeat("a", MaxActionLen)}
	for _, action := range valid {
		if _, err := ParseEvents([]byte(`{"action":"`+action+`"}`), false, testRecv); err != nil {
			t.Errorf("action %q: %v", action, err)
		}
	}
	ids := []string{"x", "!#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~", strings.Repeat("i", MaxClientIDLen)}
	for _, id := range ids {
		b, err := ParseEvents([]byte(`{"action":"a","id":"`+id+`"}`), false, testRecv)
		if err != nil {
			t.Errorf("id %q: %v", id, err)
			continue
		}
		if got := string(b.ClientID(0)); got != id {
			t.Errorf("ClientID = %q, want %q", got, id)
		}
	}
	b, err := ParseEvents([]byte(`{"action":"a"}`), false, testRecv)
	if err != nil || b.ClientID(0) != nil {
		t.Errorf("ClientID of an event without id = %q, %v; want nil", b.ClientID(0), err)
	}
}

func TestParseEventsBodies(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		ndjson  bool
		actions []string
	}{
		{"single object", `{"action":"a"}`, false, []string{"a"}},
		{"array", ` [ {"action":"a"} , {"action":"b"} ] `, false, []string{"a", "b"}},
		{"array one", `[{"action":"a"}]`, false, []string{"a"}},
		{"ndjson", "{\"action\":\"a\"}\n{\"action\":\"b\"}", true, []string{"a", "b"}},
		{"ndjson trailing newline", "{\"action\":\"a\"}\n", true, []string{"a"}},
		{"ndjson crlf and blank lines", "\r\n{\"action\":\"a\"}\r\n\r\n  \t\n{\"action\":\"b\"} \r\n", true, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := entries(t, tt.in, tt.ndjson)
			if len(got) != len(tt.actions) {
				t.Fatalf("got %d events, want %d", len(got), len(tt.actions))
			}
			for i, a := range tt.actions {
				if !strings.HasPrefix(got[i], `{"action":"`+a+`",`) {
					t.Errorf("event %d = %s, want action %q", i, got[i], a)
				}
			}
		})
	}
}

func TestParseEventsErrors(t *testing.T) {
	big := strings.Repeat("x", MaxEntrySize)
	tests := []struct {
		name   string
		in     string
		ndjson bool
		index  int
		line   int
		field  string
		reason string // substring
		err    error
	}{
		// Bodies.
		{"empty body", ``, false, -1, 1, "", "no events", ErrInvalid},
		{"blank body", " \n ", false, -1, 1, "", "no events", ErrInvalid},
		{"empty array", `[ ]`, false, -1, 1, "", "no events", ErrInvalid},
		{"ndjson blank lines only", "\n\r\n \n", true, -1, 1, "", "no events", ErrInvalid},
		{"body is a string", `"x"`, false, -1, 1, "", "JSON object or an array of objects, got a string", ErrInvalid},
		{"trailing garbage", "{\"action\":\"a\"}\n x", false, -1, 2, "", `unexpected 'x' after the event`, ErrInvalid},
		{"two objects without array", `{"action":"a"} {"action":"b"}`, false, -1, 1, "", "as ndjson", ErrInvalid},
		{"array element not object", "[{\"action\":\"a\"},\n\"b\"]", false, 1, 2, "", "must be a JSON object, got a string", ErrInvalid},
		{"array trailing comma", `[{"action":"a"},]`, false, 1, 1, "", "must be a JSON object, got ']'", ErrInvalid},
		{"array unclosed", `[{"action":"a"}`, false, -1, 1, "", "unexpected end of body", ErrInvalid},
		{"array garbage after", `[{"action":"a"}] x`, false, -1, 1, "", "after the array", ErrInvalid},
		{"nested array", `[[{"action":"a"}]]`, false, 0, 1, "", "got an array", ErrInvalid},
		{"ndjson line not object", "{\"action\":\"a\"}\n[1]", true, 1, 2, "", "each line must hold one JSON object", ErrInvalid},
		{"ndjson garbage after object", "{\"action\":\"a\"} {\"action\":\"b\"}", true, 0, 1, "", "exactly one object", ErrInvalid},
		{"ndjson object split over lines", "{\"action\":\n\"a\"}", true, 0, 1, "action", "must be a string, got end of input", ErrInvalid},
		{"ndjson index skips blank lines", "{\"action\":\"a\"}\n\n{\"action\":\"b\",\"actor\":{\"ip\":\"10.0.0.999\"}}", true, 1, 3, "actor.ip", `"10.0.0.999" is not an IP address`, ErrInvalid},
		{"unterminated object", `{"action":"a"`, false, 0, 1, "", "unexpected end", ErrInvalid},
		{"missing colon", `{"action" "a"}`, false, 0, 1, "", "expected ':'", ErrInvalid},
		{"missing comma", `{"action":"a" "message":"m"}`, false, 0, 1, "", "expected ',' or '}'", ErrInvalid},
		{"trailing comma", `{"action":"a",}`, false, 0, 1, "", "expected a string key", ErrInvalid},
		{"bare key", `{action:"a"}`, false, 0, 1, "", "expected a string key", ErrInvalid},

		// Unknown and server-assigned keys.
		{"unknown top-level key", `{"action":"a","user":"bob"}`, false, 0, 1, "user", `put free-form data in "attributes"`, ErrInvalid},
		{"unknown actor key", `{"action":"a","actor":{"email":"x"}}`, false, 0, 1, "actor.email", `unknown field (actor has`, ErrInvalid},
		{"unknown resource key", `{"action":"a","resource":{"owner":"x"}}`, false, 0, 1, "resource.owner", `"attributes"`, ErrInvalid},
		{"unknown source key", `{"action":"a","source":{"region":"x"}}`, false, 0, 1, "source.region", `"attributes"`, ErrInvalid},
		{"odd unknown key is quoted", `{"action":"a","a\nb":1}`, false, 0, 1, `"a\nb"`, "unknown field", ErrInvalid},
		{"seq", `{"action":"a","seq":5}`, false, 0, 1, "seq", "assigned by the server", ErrInvalid},
		{"received_at", `{"action":"a","received_at":"2025-01-01T00:00:00Z"}`, false, 0, 1, "received_at", "assigned by the server", ErrInvalid},

		// Duplicates.
		{"duplicate key", `{"action":"a","message":"x","message":"y"}`, false, 0, 1, "message", "duplicate key", ErrInvalid},
		{"duplicate null key", `{"action":"a","message":null,"message":"y"}`, false, 0, 1, "message", "duplicate key", ErrInvalid},
		{"duplicate escaped key", `{"action":"a","\u0061ction":"b"}`, false, 0, 1, "action", "duplicate key", ErrInvalid},
		{"duplicate object", `{"action":"a","actor":{"id":"1"},"actor":{"name":"n"}}`, false, 0, 1, "actor", "duplicate key", ErrInvalid},
		{"duplicate actor key", `{"action":"a","actor":{"id":"1","id":"2"}}`, false, 0, 1, "actor.id", "duplicate key", ErrInvalid},
		{"duplicate attribute", "{\"action\":\"a\",\n\"attributes\":{\"geo\":{\"region\":1,\"region\":2}}}", false, 0, 2, "attributes.geo.region", "duplicate key", ErrInvalid},

		// Encoding.
		{"invalid utf8", "{\"action\":\"a\",\"message\":\"\xff\"}", false, 0, 1, "message", "invalid UTF-8", ErrInvalid},
		{"invalid utf8 in key", "{\"action\":\"a\",\"\xc3\":1}", false, 0, 1, "", "invalid UTF-8", ErrInvalid},
		{"invalid utf8 in attributes", "{\"action\":\"a\",\"attributes\":{\"k\":[\"\xed\xa0\x80\"]}}", false, 0, 1, "attributes.k[0]", "invalid UTF-8", ErrInvalid},
		{"lone surrogate", `{"action":"a","actor":{"name":"\ud800x"}}`, false, 0, 1, "actor.name", "lone high surrogate", ErrInvalid},
		{"lone low surrogate in attributes", `{"action":"a","attributes":{"k":"\udc00"}}`, false, 0, 1, "attributes.k", "lone low surrogate", ErrInvalid},
		{"raw control character", "{\"action\":\"a\",\"message\":\"a\tb\"}", false, 0, 1, "message", "must be escaped", ErrInvalid},

		// Types.
		{"action number", `{"action":1}`, false, 0, 1, "action", "must be a string, got a number", ErrInvalid},
		{"actor string", `{"action":"a","actor":"bob"}`, false, 0, 1, "actor", "must be an object, got a string", ErrInvalid},
		{"actor field number", `{"action":"a","actor":{"id":7}}`, false, 0, 1, "actor.id", "must be a string, got a number", ErrInvalid},
		{"attributes array", `{"action":"a","attributes":[1]}`, false, 0, 1, "attributes", "must be a JSON object, got an array", ErrInvalid},
		{"attributes string", `{"action":"a","attributes":"{}"}`, false, 0, 1, "attributes", "must be a JSON object, got a string", ErrInvalid},
		{"message object", `{"action":"a","message":{}}`, false, 0, 1, "message", "must be a string, got an object", ErrInvalid},
		{"outcome boolean", `{"action":"a","outcome":true}`, false, 0, 1, "outcome", "must be a string, got a boolean", ErrInvalid},
		{"time number", `{"action":"a","time":1700000000}`, false, 0, 1, "time", "must be a string, got a number", ErrInvalid},
		{"bad null", `{"action":"a","message":nul}`, false, 0, 1, "message", "expected null", ErrInvalid},

		// Required action and its shape.
		{"missing action", "\n{\"message\":\"m\"}", false, 0, 2, "action", "missing", ErrInvalid},
		{"null action", `{"action":null}`, false, 0, 1, "action", "missing", ErrInvalid},
		{"empty action", `[{"action":"a"},{"action":""}]`, false, 1, 1, "action", "missing", ErrInvalid},
		{"empty object", `{}`, false, 0, 1, "action", "missing", ErrInvalid},
		{"action uppercase", `{"action":"User.Login"}`, false, 0, 1, "action", `"User.Login" is not an action`, ErrInvalid},
		{"action empty segment", `{"action":"user..login"}`, false, 0, 1, "action", "is not an action", ErrInvalid},
		{"action leading dot", `{"action":".user"}`, false, 0, 1, "action", "is not an action", ErrInvalid},
		{"action trailing dot", `{"action":"user."}`, false, 0, 1, "action", "is not an action", ErrInvalid},
		{"action leading digit", `{"action":"1user"}`, false, 0, 1, "action", "is not an action", ErrInvalid},
		{"action space", `{"action":"user login"}`, false, 0, 1, "action", "is not an action", ErrInvalid},
		{"action too long", `{"action":"` + strings.Repeat("a", MaxActionLen+1) + `"}`, false, 0, 1, "action", "at most 128 bytes", ErrInvalid},

		// Other checked fields.
		{"category uppercase", `{"action":"a","category":"Auth"}`, false, 0, 1, "category", "is not a category", ErrInvalid},
		{"category space", `{"action":"a","category":"a b"}`, false, 0, 1, "category", "is not a category", ErrInvalid},
		{"category too long", `{"action":"a","category":"` + strings.Repeat("c", MaxCategoryLen+1) + `"}`, false, 0, 1, "category", "at most 64 bytes", ErrInvalid},
		{"outcome unknown value", `{"action":"a","outcome":"ok"}`, false, 0, 1, "outcome", `"ok" is not an outcome`, ErrInvalid},
		{"outcome wrong case", `{"action":"a","outcome":"Success"}`, false, 0, 1, "outcome", "is not an outcome", ErrInvalid},
		{"id too long", `{"action":"a","id":"` + strings.Repeat("i", MaxClientIDLen+1) + `"}`, false, 0, 1, "id", "is not a valid id", ErrInvalid},
		{"id space", `{"action":"a","id":"a b"}`, false, 0, 1, "id", "is not a valid id", ErrInvalid},
		{"id quote", `{"action":"a","id":"a\"b"}`, false, 0, 1, "id", "is not a valid id", ErrInvalid},
		{"id backslash", `{"action":"a","id":"a\\b"}`, false, 0, 1, "id", "is not a valid id", ErrInvalid},
		{"id non-ascii", `{"action":"a","id":"é"}`, false, 0, 1, "id", "is not a valid id", ErrInvalid},
		{"id control", `{"action":"a","id":"a\u0001"}`, false, 0, 1, "id", "is not a valid id", ErrInvalid},
		{"ip bad", `{"action":"a","actor":{"ip":"10.0.0.999"}}`, false, 0, 1, "actor.ip", `"10.0.0.999" is not an IP address`, ErrInvalid},
		{"ip with space", `{"action":"a","source":{"ip":" 10.0.0.1"}}`, false, 0, 1, "source.ip", "is not an IP address", ErrInvalid},
		{"ip with zone", `{"action":"a","actor":{"ip":"fe80::1%eth0"}}`, false, 0, 1, "actor.ip", "zone", ErrInvalid},
		{"ip cidr", `{"action":"a","actor":{"ip":"10.0.0.0/8"}}`, false, 0, 1, "actor.ip", "is not an IP address", ErrInvalid},

		// Times.
		{"time no zone", `{"action":"a","time":"2025-01-01T00:00:00"}`, false, 0, 1, "time", "missing time zone", ErrInvalid},
		{"time space separator", `{"action":"a","time":"2025-01-01 00:00:00Z"}`, false, 0, 1, "time", "layout", ErrInvalid},
		{"time date only", `{"action":"a","time":"2025-01-01"}`, false, 0, 1, "time", "too short", ErrInvalid},
		{"time month 13", `{"action":"a","time":"2025-13-01T00:00:00Z"}`, false, 0, 1, "time", "month out of range", ErrInvalid},
		{"time february 29", `{"action":"a","time":"2025-02-29T00:00:00Z"}`, false, 0, 1, "time", "day out of range", ErrInvalid},
		{"time 1900 not leap", `{"action":"a","time":"1900-02-29T00:00:00Z"}`, false, 0, 1, "time", "day out of range", ErrInvalid},
		{"time hour 24", `{"action":"a","time":"2025-01-01T24:00:00Z"}`, false, 0, 1, "time", "hour out of range", ErrInvalid},
		{"time leap second", `{"action":"a","time":"2016-12-31T23:59:60Z"}`, false, 0, 1, "time", "leap seconds", ErrInvalid},
		{"time ten fraction digits", `{"action":"a","time":"2025-01-01T00:00:00.1234567891Z"}`, false, 0, 1, "time", "more than 9 fractional digits", ErrInvalid},
		{"time empty fraction", `{"action":"a","time":"2025-01-01T00:00:00.Z"}`, false, 0, 1, "time", "no digits after '.'", ErrInvalid},
		{"time offset hour 24", `{"action":"a","time":"2025-01-01T00:00:00+24:00"}`, false, 0, 1, "time", "offset", ErrInvalid},
		{"time offset without colon", `{"action":"a","time":"2025-01-01T00:00:00+0100"}`, false, 0, 1, "time", "offset", ErrInvalid},
		{"time trailing text", `{"action":"a","time":"2025-01-01T00:00:00Zx"}`, false, 0, 1, "time", "after the time zone", ErrInvalid},
		{"time before year 0 in UTC", `{"action":"a","time":"0000-01-01T00:00:00+01:00"}`, false, 0, 1, "time", "outside the years", ErrInvalid},
		{"time in year 0", `{"action":"a","time":"0000-06-01T00:00:00Z"}`, false, 0, 1, "time", "outside the years 0001-9999", ErrInvalid},

		// Attribute values.
		{"attribute integer beyond 2^53", `{"action":"a","attributes":{"n":9007199254740993}}`, false, 0, 1, "attributes.n", "exceeds 2^53; send it as a string to keep every digit", ErrInvalid},
		{"attribute overflow", `{"action":"a","attributes":{"n":[1e999]}}`, false, 0, 1, "attributes.n[0]", "overflows", ErrInvalid},
		{"attribute syntax", `{"action":"a","attributes":{"n":01}}`, false, 0, 1, "attributes", "expected ',' or '}'", ErrInvalid},
		{"attributes too deep", `{"action":"a","attributes":` + strings.Repeat(`{"k":`, MaxAttributesDepth+1) + `1` + strings.Repeat("}", MaxAttributesDepth+1) + `}`, false, 0, 1,
			"attributes" + strings.Repeat(".k", MaxAttributesDepth), "nesting too deep", ErrInvalid},
		{"raw syntax", `{"action":"a","raw":{"n":01}}`, false, 0, 1, "raw", "expected ',' or '}'", ErrInvalid},
		{"raw duplicate", `{"action":"a","raw":"x","raw":"y"}`, false, 0, 1, "raw", "duplicate key", ErrInvalid},
		{"raw too deep", `{"action":"a","raw":` + strings.Repeat(`[`, MaxAttributesDepth+1) + strings.Repeat("]", MaxAttributesDepth+1) + `}`, false, 0, 1,
			"raw" + strings.Repeat("[0]", MaxAttributesDepth), "nesting too deep", ErrInvalid},

		// Size.
		{"too large", `{"action":"a","message":"` + big + `"}`, false, 0, 1, "", "the limit is 65535 bytes", ErrTooLarge},
		{"too large second event", "[{\"action\":\"a\"},\n{\"action\":\"a\",\"attributes\":{\"k\":\"" + big + "\"}}]", false, 1, 2, "", "could be 65729 bytes", ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b Batch
			err := ParseEventsInto(&b, []byte(tt.in), tt.ndjson, testRecv)
			if err == nil {
				t.Fatalf("no error")
			}
			if b.Len() != 0 {
				t.Errorf("Batch has %d events after an error, want 0", b.Len())
			}
			var e *EventError
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not an *EventError", err, err)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v does not wrap %v", err, tt.err)
			}
			if e.Index != tt.index || e.Line != tt.line || e.Field != tt.field || !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("got {Index:%d Line:%d Field:%q Reason:%q}\nwant {Index:%d Line:%d Field:%q Reason:~%q}",
					e.Index, e.Line, e.Field, e.Reason, tt.index, tt.line, tt.field, tt.reason)
			}
			if e.Offset < 0 || e.Offset > len(tt.in) {
				t.Errorf("Offset %d outside the body", e.Offset)
			}
		})
	}
}

func TestEventErrorMessage(t *testing.T) {
	body := "[{\"action\":\"a\"},{\"action\":\"a\"},{\"action\":\"a\"},\n\n\n{\"action\":\"a\",\"actor\":{\"ip\":\"10.0.0.999\"}}]"
	_, err := ParseEvents([]byte(body), false, testRecv)
	const want = `event 3 (line 4): actor.ip: "10.0.0.999" is not an IP address`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	_, err = ParseEvents(nil, false, testRecv)
	if err == nil || err.Error() != "line 1: no events" {
		t.Errorf("error = %v, want line 1: no events", err)
	}
}

// TestParseEventsSizeLimit pins the exact boundary: the largest event whose
// entry fits MaxEntrySize with a 36-byte server id and a 20-digit seq is
// accepted, one byte more is refused, and a long client id counts instead of
// 36.
func TestParseEventsSizeLimit(t *testing.T) {
	frame := len(entry(``, `"message":"","outcome":"unknown",`, `"time":`+testRecvJSON)) - len(`0`) + len(`18446744073709551615`)
	room := MaxEntrySize - frame
	ok := `{"action":"user.login","message":"` + strings.Repeat("m", room) + `"}`
	b, err := ParseEvents([]byte(ok), false, testRecv)
	if err != nil {
		t.Fatalf("event of exactly the limit refused: %v", err)
	}
	e := b.AppendEntry(nil, 0, []byte(testServerID), 1<<64-1)
	if len(e) != MaxEntrySize {
		t.Fatalf("largest entry is %d bytes, want %d", len(e), MaxEntrySize)
	}
	over := `{"action":"user.login","message":"` + strings.Repeat("m", room+1) + `"}`
	if _, err := ParseEvents([]byte(over), false, testRecv); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "65536 bytes") {
		t.Errorf("event one byte over: %v, want ErrTooLarge naming 65536 bytes", err)
	}
	withID := func(idLen int) []byte {
		return []byte(`{"action":"user.login","id":"` + strings.Repeat("i", idLen) + `","message":"` + strings.Repeat("m", room) + `"}`)
	}
	if _, err := ParseEvents(withID(IDLen), false, testRecv); err != nil {
		t.Errorf("event at the limit with a 36-byte client id: %v", err)
	}
	if _, err := ParseEvents(withID(IDLen+1), false, testRecv); !errors.Is(err, ErrTooLarge) {
		t.Errorf("event with a 37-byte client id one byte over: %v, want ErrTooLarge", err)
	}
}

func TestParseEventsIntoReuse(t *testing.T) {
	var b Batch
	first := `[{"action":"a","message":"first","attributes":{"k":[1,2]}},{"action":"b"}]`
	second := "{\"action\":\"c\",\"actor\":{\"id\":\"x\"}}\n"
	if err := ParseEventsInto(&b, []byte(first), false, testRecv); err != nil {
		t.Fatal(err)
	}
	if err := ParseEventsInto(&b, []byte(`{"action":1}`), false, testRecv); err == nil {
		t.Fatal("want an error")
	}
	if err := ParseEventsInto(&b, []byte(second), true, testRecv); err != nil {
		t.Fatal(err)
	}
	want := entries(t, second, true)
	if b.Len() != 1 || string(b.AppendEntry(nil, 0, []byte(testServerID), 0)) != want[0] {
		t.Errorf("reused Batch gives %d events: %s, want %s", b.Len(), b.AppendEntry(nil, 0, []byte(testServerID), 0), want[0])
	}
	b.Reset()
	if b.Len() != 0 {
		t.Errorf("Len after Reset = %d", b.Len())
	}
}

// TestParseEventsNoAllocs guards the hot-path property: a reused Batch
// parses and renders without allocating.
func TestParseEventsNoAllocs(t *testing.T) {
	body := benchBody(50)
	var b Batch
	if err := ParseEventsInto(&b, body, false, testRecv); err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 0, MaxEntrySize)
	allocs := testing.AllocsPerRun(20, func() {
		if err := ParseEventsInto(&b, body, false, testRecv); err != nil {
			t.Fatal(err)
		}
		for i := range b.Len() {
			dst = b.AppendEntry(dst[:0], i, []byte(testServerID), uint64(i))
		}
	})
	if allocs != 0 {
		t.Errorf("ParseEventsInto + AppendEntry of 50 events allocate %v times, want 0", allocs)
	}
}

// TestEventMarshal checks that json.Marshal of an Event is accepted input and
// yields the expected entry.
func TestEventMarshal(t *testing.T) {
	ev := Event{
		ID:         "client-1",
		Action:     "iam.policy.update",
		Actor:      &Actor{Type: "user", ID: "u-1", IP: "2001:DB8::1"},
		Resource:   &Resource{Type: "policy", ID: "p-9"},
		Outcome:    OutcomeSuccess,
		Time:       time.Date(2025, 6, 1, 14, 0, 0, 0, time.FixedZone("CEST", 2*3600)),
		Category:   "configuration",
		Source:     &Source{Service: "iam"},
		Message:    "policy updated",
		RequestID:  "r-1",
		Attributes: json.RawMessage(`{"changes": 2, "by": "console"}`),
	}
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	got := entries(t, string(body), false)
	want := `{"action":"iam.policy.update","actor":{"id":"u-1","ip":"2001:db8::1","type":"user"},"attributes":{"by":"console","changes":2},` +
		`"category":"configuration","id":"client-1","message":"policy updated","outcome":"success","received_at":` + testRecvJSON + `,` +
		`"request_id":"r-1","resource":{"id":"p-9","type":"policy"},"seq":0,"source":{"service":"iam"},"time":"2025-06-01T12:00:00Z"}`
	if got[0] != want {
		t.Errorf("entry\n got %s\nwant %s", got[0], want)
	}
	minimal, _ := json.Marshal(Event{Action: "a"})
	if string(minimal) != `{"action":"a"}` {
		t.Errorf("minimal Event marshals to %s", minimal)
	}
}

func TestAppendEntryNoAllocs(t *testing.T) {
	b, err := ParseEvents(benchBody(1), false, testRecv)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, 0, b.EntrySize(0, IDLen, 1<<64-1))
	id := []byte(testServerID)
	if allocs := testing.AllocsPerRun(100, func() { b.AppendEntry(dst, 0, id, 1<<64-1) }); allocs != 0 {
		t.Errorf("AppendEntry allocates %v times with a large enough dst", allocs)
	}
}
