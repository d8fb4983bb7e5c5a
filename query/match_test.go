package query

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stele-log/stele"
)

var testRecv = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

const testServerID = "0197a3c2-6f1e-7b40-8a1d-3c5e7f9b2d41"

// canonicalEntry renders one event as the log stores it, with the given seq
// and the test server id when the event has no id of its own.
func canonicalEntry(t testing.TB, event string, seq uint64) []byte {
	t.Helper()
	b, err := stele.ParseEvents([]byte(event), false, testRecv)
	if err != nil {
		t.Fatalf("ParseEvents(%s): %v", event, err)
	}
	id := b.ClientID(0)
	if id == nil {
		id = []byte(testServerID)
	}
	e := b.AppendEntry(nil, 0, id, seq)
	if _, err := stele.ParseRecord(e); err != nil {
		t.Fatalf("ParseRecord(%s): %v", e, err)
	}
	return e
}

// testEntries are the records of the truth tables, by name.
var testEvents = []struct {
	name  string
	seq   uint64
	event string
}{
	{"login", 7, `{"id":"Login-7","action":"user.login","actor":{"type":"user","id":"alice","name":"Alice Smith","ip":"10.0.0.7","user_agent":"Mozilla/5.0","session_id":"s-1"},"outcome":"success","time":"2026-11-01T10:00:00Z","category":"authentication","source":{"service":"sso","host":"sso-1","ip":"192.168.1.5"},"message":"Login OK for Alice","request_id":"req-1"}`},
	{"failed", 8, `{"action":"user.login","actor":{"type":"user","id":"mallory","ip":"2001:DB8::9"},"outcome":"failure","time":"2026-11-01T23:59:59.999999999Z","source":{"service":"sso","ip":"203.0.113.9"},"message":"connection refused by upstream"}`},
	{"iam", 9, `{"action":"iam.policy.update","actor":{"type":"user","id":"bob","name":"Bob"},"resource":{"type":"policy","id":"p-1","name":"Admins"},"outcome":"denied","time":"2026-11-02T00:00:00Z","category":"configuration","attributes":{"region":"EU-West","tags":["prod","Critical",7],"db":{"name":"orders"},"n":1.50,"big":1E21,"ok":true,"nil":null,"empty":"","a":"connection","b":"refused","ip":"10.9.9.9"}}`},
	{"unicode", 10, `{"action":"doc.edit","actor":{"id":"jürgen","name":"Jürgen STRAßE","ip":"::ffff:10.0.0.1"},"message":"Ünïcode Déjà vu","attributes":{"note":"line1\nline2 \"Quoted\" \u00e9t\u00e9","ÄKey":"x","ctl":"a\u0001b"},"time":"2026-10-31T23:59:59+00:00"}`},
	{"minimal", 0, `{"action":"db.read"}`},
}

func testEntries(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	for _, e := range testEvents {
		out[e.name] = canonicalEntry(t, e.event, e.seq)
	}
	return out
}

const all = "login failed iam unicode minimal"

func TestMatch(t *testing.T) {
	entries := testEntries(t)
	tests := []struct {
		name  string
		query string
		want  string // names of the matching entries, in testEvents order
	}{
		{"empty query", "", all},
		{"field", "action:user.login", "login failed"},
		{"field case-insensitive", "action:USER.Login", "login failed"},
		{"prefix", "action:user.*", "login failed"},
		{"prefix is not a word", "action:user", ""},
		{"or", "action:db.read,doc.edit", "unicode minimal"},
		{"negated", "-action:user.login", "iam unicode minimal"},
		{"outcome or", "outcome:failure,denied", "failed iam"},
		{"default outcome", "outcome:unknown", "unicode minimal"},
		{"actor alias", "actor:alice", "login"},
		{"quoted value", `actor.name:"alice smith"`, "login"},
		{"whole value only", "actor.name:alice", ""},
		{"prefix on name", "actor.name:alice*", "login"},
		{"unicode case folding", `actor.name:"jürgen straße"`, "unicode"},
		{"unicode prefix", "actor.name:JÜRGEN*", "unicode"},
		{"negation matches absent field", "-actor.name:bob", "login failed unicode minimal"},
		{"present", "actor.session_id:*", "login"},
		{"absent", "-resource.id:*", "login failed unicode minimal"},
		{"id is case-sensitive", "id:login-7", ""},
		{"id as written", "id:Login-7", "login"},
		{"id prefix as written", "id:Log*", "login"},
		{"no words in ids and times", "login-7 2026", ""},
		{"server id", "id:" + testServerID, "failed iam unicode minimal"},
		{"request_id", "request_id:REQ-1", "login"},
		{"category", "category:authentication", "login"},
		{"message whole", `message:"login ok for alice"`, "login"},
		{"source alias", "source:sso", "login failed"},
		{"source.host", "source.host:sso-1", "login"},
		{"resource fields", "resource:p-1 resource.type:policy resource.name:admins", "iam"},
		{"attribute", "attributes.region:eu-west", "iam"},
		{"attribute array element", "attributes.tags:prod", "iam"},
		{"attribute array other element", "attributes.tags:CRITICAL", "iam"},
		{"attribute array number", "attributes.tags:7", "iam"},
		{"attribute array negated", "-attributes.tags:critical", "login failed unicode minimal"},
		{"nested attribute", "attributes.db.name:orders", "iam"},
		{"attribute path is exact", "attributes.db:orders", ""},
		{"object is not a value", "attributes.db:*", ""},
		{"number canonical", "attributes.n:1.5", "iam"},
		{"number as written", "attributes.n:1.50", ""},
		{"number exponent", "attributes.big:1E+21", "iam"},
		{"bool", "attributes.ok:true", "iam"},
		{"null", "attributes.nil:null", "iam"},
		{"empty string", `attributes.empty:""`, "iam"},
		{"prefix on escaped value", "attributes.note:line1*", "unicode"},
		{"attribute key case-sensitive", "attributes.ÄKey:x", "unicode"},
		{"attribute key other case", "attributes.äkey:x", ""},

		{"ip cidr", "ip:10.0.0.0/8", "login"},
		{"ip not in attributes", "ip:10.9.9.9", ""},
		{"ip negated", "-ip:10.0.0.0/8", "failed iam unicode minimal"},
		{"ip source", "ip:192.168.1.5", "login"},
		{"ip v6 cidr", "ip:2001:db8::/32", "failed"},
		{"ip v6 any spelling", "ip:2001:DB8:0:0::9", "failed"},
		{"ip v4-mapped is v6", "ip:::ffff:10.0.0.0/104", "unicode"},
		{"actor.ip only", "actor.ip:203.0.113.0/24", ""},
		{"source.ip only", "source.ip:203.0.113.0/24", "failed"},
		{"incident: failed logins from outside", "action:user.login outcome:failure -ip:10.0.0.0/8", "failed"},

		{"seq", "seq:7", "login"},
		{"seq >", "seq:>8", "iam unicode"},
		{"seq >=", "seq:>=8", "failed iam unicode"},
		{"seq <", "seq:<7", "minimal"},
		{"seq <=", "seq:<=7", "login minimal"},
		{"seq range", "seq:7..9", "login failed iam"},
		{"seq empty", "seq:<0", ""},
		{"seq empty negated", "-seq:<0", all},
		{"seq list", "seq:0,10", "unicode minimal"},

		{"time day", "time:2026-11-01", "login failed minimal"},
		{"time next day starts at midnight", "time:2026-11-02", "iam"},
		{"time after day", "time:>2026-11-01", "iam"},
		{"time at edge inclusive", "time:>=2026-11-02T00:00:00Z", "iam"},
		{"time before edge exclusive", "time:<2026-11-02T00:00:00Z", "login failed unicode minimal"},
		{"time last nanosecond inclusive", "time:<=2026-11-01T23:59:59.999999999Z", "login failed unicode minimal"},
		{"time last nanosecond exclusive", "time:<2026-11-01T23:59:59.999999999Z", "login unicode minimal"},
		{"time instant", "time:2026-11-01T10:00:00Z", "login"},
		{"time instant with offset", "time:2026-11-01T11:00:00+01:00", "login"},
		{"time day range", "time:2026-10-31..2026-11-01", "login failed unicode minimal"},
		{"time open range", "time:2026-11-01T12:00:00Z..*", "failed iam minimal"},
		{"time before day", "time:<2026-11-01", "unicode"},
		{"time negated", "-time:2026-11-01", "iam unicode"},

		{"word", "refused", "failed iam"},
		{"word absent", "timeout", ""},
		{"phrase", `"connection refused"`, "failed"},
		{"phrase across values does not match", `"connection refused" attributes.a:connection`, ""},
		{"phrase order", `"refused connection"`, ""},
		{"word in several fields", "alice", "login"},
		{"word case-insensitive", "ALICE", "login"},
		{"phrase in name", `"alice smith"`, "login"},
		{"word negated", "-alice", "failed iam unicode minimal"},
		{"dotted word is a phrase", "user.login", "login failed"},
		{"ip as text", "10.0.0.7", "login"},
		{"array string", "prod", "iam"},
		{"unicode word", "STRAßE", "unicode"},
		{"unicode word folded", "déjà", "unicode"},
		{"escaped quote", "quoted", "unicode"},
		{"newline separates", `"line2 quoted"`, "unicode"},
		{"newline is not a letter", `"line1line2"`, ""},
		{"control escape separates", `"a b"`, "unicode"},
		{"keys are not text", "region", ""},
		{"numbers are not text", "1e21", ""},
		{"bools are not text", "true", ""},
		{"words and fields", `actor:alice "login ok"`, "login"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Parse(tc.query)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.query, err)
			}
			m := Compile(q)
			if m.Query() != q {
				t.Errorf("Query() is not the compiled query")
			}
			var got []string
			for _, e := range testEvents {
				ok, err := m.Match(entries[e.name])
				if err != nil {
					t.Fatalf("Match(%s): %v", e.name, err)
				}
				ref, err := refMatch(q, entries[e.name])
				if err != nil {
					t.Fatalf("refMatch(%s): %v", e.name, err)
				}
				if ok != ref {
					t.Errorf("%s: Match = %v, reference matcher says %v", e.name, ok, ref)
				}
				if ok {
					got = append(got, e.name)
				}
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("%q matches [%s], want [%s]", tc.query, strings.Join(got, " "), tc.want)
			}
		})
	}
}

func TestMatchMalformed(t *testing.T) {
	m := Compile(mustParse(t, "action:a"))
	// Match stops reading once the answer is known, so only damage before
	// that point is seen.
	for _, in := range []string{``, `[]`, `{"action":"b"`, `{"action":}`, `{"action":"b"}x`, `{"action":"b","x":tru}`} {
		if ok, err := m.Match([]byte(in)); ok || !errors.Is(err, stele.ErrInvalid) {
			t.Errorf("Match(%q) = %v, %v; want ErrInvalid", in, ok, err)
		}
	}
	// The empty query does not read the entry.
	if ok, err := Compile(&Query{}).Match([]byte("not json")); !ok || err != nil {
		t.Errorf("empty query: Match = %v, %v; want true", ok, err)
	}
	if ok, err := Compile(nil).Match(nil); !ok || err != nil {
		t.Errorf("nil query: Match = %v, %v; want true", ok, err)
	}
}

// TestMatchNonCanonicalValues feeds values stele never writes (escapes it
// does not use, odd numbers and shapes): Match must not fail or panic, and
// agrees with the reference where JSON allows a comparison.
func TestMatchNonCanonicalValues(t *testing.T) {
	tests := []struct {
		name, entry, query string
		want               bool
	}{
		{"unicode escape", `{"message":"\u0041lice"}`, "alice", true},
		{"surrogate pair", `{"message":"x \ud83d\ude00 y"}`, `"x y"`, true},
		{"slash escape", `{"attributes":{"p":"a\/b"}}`, "attributes.p:a/b", true},
		{"upper-case field value", `{"action":"USER.LOGIN"}`, "action:user.login", true},
		{"seq not an integer", `{"seq":1.5}`, "seq:>=0", false},
		{"seq negative", `{"seq":-1}`, "seq:<10", false},
		{"time not a time", `{"time":"yesterday"}`, "time:>=2026-01-01", false},
		{"time a number", `{"time":5}`, "time:>=2026-01-01", false},
		{"ip not an ip", `{"actor":{"ip":"host"}}`, "-ip:10.0.0.0/8", true},
		{"ip a number", `{"actor":{"ip":10}}`, "ip:10.0.0.0/8", false},
		{"ip with zone", `{"actor":{"ip":"fe80::1%eth0"}}`, "ip:fe80::/10", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := mustParse(t, tc.query)
			got, err := Compile(q).Match([]byte(tc.entry))
			if err != nil || got != tc.want {
				t.Errorf("Match = %v, %v; want %v", got, err, tc.want)
			}
			if ref, err := refMatch(q, []byte(tc.entry)); err != nil || ref != got {
				t.Errorf("reference = %v, %v; Match = %v", ref, err, got)
			}
		})
	}
}

// TestMatchHandBuilt covers ASTs that Parse does not produce.
func TestMatchHandBuilt(t *testing.T) {
	e := canonicalEntry(t, testEvents[0].event, 7)
	tests := []struct {
		name string
		c    Clause
		want bool
	}{
		{"text without tokens", Clause{Kind: KindText, Text: "..."}, false},
		{"several tokens without Phrase", Clause{Kind: KindText, Text: "alice smith", Tokens: []string{"alice", "smith"}}, true},
		{"several tokens not adjacent", Clause{Kind: KindText, Text: "alice login", Tokens: []string{"alice", "login"}}, false},
		{"field without values", Clause{Kind: KindField, Field: "action"}, false},
		{"ip on one field", Clause{Kind: KindIP, Field: "source.ip", IPs: nil}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Compile(&Query{Clauses: []Clause{tc.c}}).Match(e)
			if err != nil || got != tc.want {
				t.Errorf("Match = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// TestMatchReuse checks that scratch state does not leak between calls: the
// same Matcher gives each entry the answer a fresh one gives.
func TestMatchReuse(t *testing.T) {
	entries := testEntries(t)
	for _, text := range []string{"-ip:10.0.0.0/8 refused", `actor.name:"jürgen straße" -seq:<0`, `"connection refused" -alice`, "user action:user.*"} {
		shared := Compile(mustParse(t, text))
		for range 2 {
			for _, e := range testEvents {
				want, _ := Compile(mustParse(t, text)).Match(entries[e.name])
				if got, _ := shared.Match(entries[e.name]); got != want {
					t.Errorf("%q on %s: reused Matcher says %v, fresh says %v", text, e.name, got, want)
				}
			}
		}
	}
}

// TestMatchClone runs clones on several goroutines (meaningful with -race).
func TestMatchClone(t *testing.T) {
	entries := testEntries(t)
	m := Compile(mustParse(t, "action:user.login -ip:10.0.0.0/8 refused"))
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for range 4 {
		c := m.Clone()
		if c.Query() != m.Query() {
			t.Fatal("Clone has another query")
		}
		wg.Go(func() {
			for range 200 {
				for _, e := range testEvents {
					ok, err := c.Match(entries[e.name])
					if err != nil || ok != (e.name == "failed") {
						errs <- e.name
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for name := range errs {
		t.Errorf("clone gave a wrong answer on %s", name)
	}
}

// TestMatchAllocs checks that Match allocates nothing beyond what
// stele.RecordFields itself does, for every kind of clause.
func TestMatchAllocs(t *testing.T) {
	entries := testEntries(t)
	walk := testing.AllocsPerRun(100, func() {
		for _, e := range testEvents {
			_ = stele.RecordFields(entries[e.name], func(path, value []byte) error { return nil })
		}
	})
	m := Compile(mustParse(t, `action:user.* actor.name:"jürgen straße" -ip:10.0.0.0/8 seq:<100 time:>=2026-01-01 "connection refused" STRAßE`))
	for _, e := range testEvents { // grow the scratch space first
		if _, err := m.Match(entries[e.name]); err != nil {
			t.Fatal(err)
		}
	}
	got := testing.AllocsPerRun(100, func() {
		for _, e := range testEvents {
			_, _ = m.Match(entries[e.name])
		}
	})
	if got > walk {
		t.Errorf("Match allocates %v times per %d entries; RecordFields alone %v", got, len(testEvents), walk)
	}
}

func TestParseAddr(t *testing.T) {
	for _, s := range []string{"0.0.0.0", "10.0.0.7", "255.255.255.255", "::", "::1", "1::", "2001:db8::9", "2001:DB8:0:0:0:0:0:9",
		"::ffff:10.0.0.1", "1:2:3:4:5:6:1.2.3.4", "::1.2.3.4", "1:2:3:4:5:6:7:8", "1::8", "fe80::1:2"} {
		got, ok := parseAddr([]byte(s))
		if want, err := netip.ParseAddr(s); !ok || err != nil || got != want {
			t.Errorf("parseAddr(%q) = %v, %v; netip says %v, %v", s, got, ok, want, err)
		}
	}
	for _, s := range []string{"", "1.2.3", "1.2.3.4.5", "01.2.3.4", "256.0.0.0", "1..2.3", "1.2.3.4.", ":", ":::", "1:::2", "1::2::3",
		"1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "12345::", "1:2:3:4:5:6:7", "fe80::1%eth0", "::1.2.3", "1.2.3.4::", "g::", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:1.2.3.04"} {
		if got, ok := parseAddr([]byte(s)); ok {
			t.Errorf("parseAddr(%q) = %v, want a refusal", s, got)
		}
	}
}

func mustParse(t testing.TB, text string) *Query {
	t.Helper()
	q, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(%q): %v", text, err)
	}
	return q
}

// benchEvent is a typical login record, about 420 bytes canonical.
const benchEvent = `{"action":"user.login","actor":{"type":"user","id":"u-48213","name":"ann.lee@example.com","ip":"10.20.30.40","user_agent":"curl/8.5"},"outcome":"failure","category":"authentication","source":{"service":"sso","host":"sso-3","ip":"10.0.1.5"},"message":"login failed: invalid password","request_id":"req-7f3a9c21"}`

func BenchmarkMatch(b *testing.B) {
	e := canonicalEntry(b, benchEvent, 1041)
	if len(e) < 400 || len(e) > 440 {
		b.Fatalf("bench entry is %d bytes, want about 420", len(e))
	}
	for _, bc := range []struct{ name, query string }{
		{"fields", "action:user.login outcome:failure -ip:192.168.0.0/16"},
		{"fields-decided-early", "action:user.login outcome:failure -ip:10.0.0.0/8"},
		{"text", `actor:u-48213 "invalid password" time:>=2026-11-01`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := Compile(mustParse(b, bc.query))
			b.SetBytes(int64(len(e)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Match(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
