package query

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stele-log/stele"
)

// Builders for expected clauses.

func fieldC(pos int, field string, values ...Value) Clause {
	return Clause{Kind: KindField, Pos: pos, Field: field, Values: values}
}

func exact(s string) Value  { return Value{Value: strings.ToLower(s), Raw: s} }
func prefix(s string) Value { return Value{Value: strings.ToLower(s), Raw: s, Prefix: true} }

func ipC(pos int, field string, prefixes ...string) Clause {
	c := Clause{Kind: KindIP, Pos: pos, Field: field}
	for _, p := range prefixes {
		c.IPs = append(c.IPs, netip.MustParsePrefix(p))
	}
	return c
}

func seqC(pos int, ranges ...SeqRange) Clause {
	return Clause{Kind: KindSeq, Pos: pos, Field: "seq", Seqs: ranges}
}

func timeC(pos int, ranges ...TimeRange) Clause {
	return Clause{Kind: KindTime, Pos: pos, Field: "time", Times: ranges}
}

func textC(pos int, text string, phrase bool, tokens ...string) Clause {
	return Clause{Kind: KindText, Pos: pos, Text: text, Tokens: tokens, Phrase: phrase}
}

func neg(c Clause) Clause { c.Neg = true; return c }

// ts parses an RFC 3339 time for expectations; day returns a UTC midnight.
func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func day(s string) time.Time { return ts(s + "T00:00:00Z") }

const maxU = math.MaxUint64

// diffClauses describes how got differs from want ("" when equal). withPos
// also compares Pos.
func diffClauses(got, want []Clause, withPos bool) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d clauses, want %d:\n got %s\nwant %s", len(got), len(want), dump(got), dump(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !withPos {
			g.Pos, w.Pos = 0, 0
		}
		if !sameClause(g, w) {
			return fmt.Sprintf("clause %d:\n got %s\nwant %s", i, dump(got[i:i+1]), dump(want[i:i+1]))
		}
	}
	return ""
}

func sameClause(a, b Clause) bool {
	if a.Kind != b.Kind || a.Neg != b.Neg || a.Pos != b.Pos || a.Field != b.Field || a.Text != b.Text || a.Phrase != b.Phrase ||
		!slices.Equal(a.Values, b.Values) || !slices.Equal(a.IPs, b.IPs) || !slices.Equal(a.Seqs, b.Seqs) || !slices.Equal(a.Tokens, b.Tokens) ||
		len(a.Times) != len(b.Times) {
		return false
	}
	for i := range a.Times {
		if !a.Times[i].From.Equal(b.Times[i].From) || !a.Times[i].To.Equal(b.Times[i].To) {
			return false
		}
	}
	return true
}

func dump(cs []Clause) string {
	var parts []string
	for _, c := range cs {
		s := fmt.Sprintf("{kind %d neg %v pos %d field %q values %+v ips %v seqs %v text %q tokens %q phrase %v times [",
			c.Kind, c.Neg, c.Pos, c.Field, c.Values, c.IPs, c.Seqs, c.Text, c.Tokens, c.Phrase)
		for _, r := range c.Times {
			s += fmt.Sprintf("%s/%s ", r.From.Format(time.RFC3339Nano), r.To.Format(time.RFC3339Nano))
		}
		parts = append(parts, s+"]}")
	}
	return strings.Join(parts, " ")
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Clause
	}{
		{"empty", "", nil},
		{"only spaces", "   ", nil},
		{"field", "action:db.read", []Clause{fieldC(0, "action", exact("db.read"))}},
		{"spaces around", "  action:db.read  ", []Clause{fieldC(2, "action", exact("db.read"))}},
		{"negated", "-action:db.read", []Clause{neg(fieldC(0, "action", exact("db.read")))}},
		{"or list", "outcome:failure,denied", []Clause{fieldC(0, "outcome", exact("failure"), exact("denied"))}},
		{"quoted", `actor.name:"Alice Smith"`, []Clause{fieldC(0, "actor.name", exact("Alice Smith"))}},
		{"quoted escapes", `actor.name:"say \"hi\" \\o/"`, []Clause{fieldC(0, "actor.name", exact(`say "hi" \o/`))}},
		{"quoted star is literal", `message:"a*b"`, []Clause{fieldC(0, "message", exact("a*b"))}},
		{"quoted empty", `attributes.note:""`, []Clause{fieldC(0, "attributes.note", exact(""))}},
		{"quoted in list", `actor.name:bob,"Alice Smith",carol`, []Clause{fieldC(0, "actor.name", exact("bob"), exact("Alice Smith"), exact("carol"))}},
		{"prefix", "action:db.*", []Clause{fieldC(0, "action", prefix("db."))}},
		{"prefix alone means present", "attributes.region:*", []Clause{fieldC(0, "attributes.region", prefix(""))}},
		{"prefix on outcome", "outcome:fail*", []Clause{fieldC(0, "outcome", prefix("fail"))}},
		{"case folded", "action:User.LOGIN actor.name:ÉLODIE", []Clause{fieldC(0, "action", exact("User.LOGIN")), fieldC(18, "actor.name", exact("ÉLODIE"))}},
		{"colon in value", "attributes.url:http://x/y?a=b", []Clause{fieldC(0, "attributes.url", exact("http://x/y?a=b"))}},
		{"attributes path", "attributes.db.name:orders attributes.k8s-ns_1:prod", []Clause{fieldC(0, "attributes.db.name", exact("orders")), fieldC(26, "attributes.k8s-ns_1", exact("prod"))}},
		{"aliases", "actor:alice resource:db-1 source:sso", []Clause{fieldC(0, "actor.id", exact("alice")), fieldC(12, "resource.id", exact("db-1")), fieldC(26, "source.service", exact("sso"))}},
		{"every plain field", "category:a id:b request_id:c message:d actor.type:e actor.id:f actor.name:g actor.user_agent:h actor.session_id:i resource.type:j resource.id:k resource.name:l source.service:m source.host:n",
			[]Clause{fieldC(0, "category", exact("a")), fieldC(11, "id", exact("b")), fieldC(16, "request_id", exact("c")), fieldC(29, "message", exact("d")),
				fieldC(39, "actor.type", exact("e")), fieldC(52, "actor.id", exact("f")), fieldC(63, "actor.name", exact("g")), fieldC(76, "actor.user_agent", exact("h")),
				fieldC(95, "actor.session_id", exact("i")), fieldC(114, "resource.type", exact("j")), fieldC(130, "resource.id", exact("k")), fieldC(144, "resource.name", exact("l")),
				fieldC(160, "source.service", exact("m")), fieldC(177, "source.host", exact("n"))}},

		{"ip address", "ip:10.0.0.7", []Clause{ipC(0, "ip", "10.0.0.7/32")}},
		{"ip cidr", "ip:10.0.0.0/8", []Clause{ipC(0, "ip", "10.0.0.0/8")}},
		{"ip cidr masked", "ip:10.1.2.3/8", []Clause{ipC(0, "ip", "10.0.0.0/8")}},
		{"ip v6", "ip:2001:DB8::/32,::1", []Clause{ipC(0, "ip", "2001:db8::/32", "::1/128")}},
		{"ip v4-mapped", "ip:::ffff:10.0.0.1", []Clause{ipC(0, "ip", "::ffff:10.0.0.1/128")}},
		{"actor.ip", "actor.ip:10.0.0.7 -source.ip:192.168.0.0/16", []Clause{ipC(0, "actor.ip", "10.0.0.7/32"), neg(ipC(18, "source.ip", "192.168.0.0/16"))}},
		{"ip quoted", `ip:"10.0.0.7"`, []Clause{ipC(0, "ip", "10.0.0.7/32")}},

		{"seq exact", "seq:5", []Clause{seqC(0, SeqRange{5, 6})}},
		{"seq >", "seq:>5", []Clause{seqC(0, SeqRange{6, maxU})}},
		{"seq >=", "seq:>=5", []Clause{seqC(0, SeqRange{5, maxU})}},
		{"seq <", "seq:<5", []Clause{seqC(0, SeqRange{0, 5})}},
		{"seq <=", "seq:<=5", []Clause{seqC(0, SeqRange{0, 6})}},
		{"seq <0 is empty", "seq:<0", []Clause{seqC(0, SeqRange{0, 0})}},
		{"seq range", "seq:5..10", []Clause{seqC(0, SeqRange{5, 11})}},
		{"seq range of one", "seq:5..5", []Clause{seqC(0, SeqRange{5, 6})}},
		{"seq open high", "seq:5..*", []Clause{seqC(0, SeqRange{5, maxU})}},
		{"seq open low", "seq:*..10", []Clause{seqC(0, SeqRange{0, 11})}},
		{"seq list", "seq:1,5..7,>100", []Clause{seqC(0, SeqRange{1, 2}, SeqRange{5, 8}, SeqRange{101, maxU})}},
		{"seq largest", "seq:9007199254740991", []Clause{seqC(0, SeqRange{1<<53 - 1, 1 << 53})}},

		{"time date", "time:2026-11-01", []Clause{timeC(0, TimeRange{day("2026-11-01"), day("2026-11-02")})}},
		{"time instant", "time:2026-11-01T10:00:00Z", []Clause{timeC(0, TimeRange{ts("2026-11-01T10:00:00Z"), ts("2026-11-01T10:00:00.000000001Z")})}},
		{"time offset to UTC", "time:2026-11-01T10:00:00.5+02:00", []Clause{timeC(0, TimeRange{ts("2026-11-01T08:00:00.5Z"), ts("2026-11-01T08:00:00.500000001Z")})}},
		{"time lowercase t z", "time:2026-11-01t10:00:00z", []Clause{timeC(0, TimeRange{ts("2026-11-01T10:00:00Z"), ts("2026-11-01T10:00:00.000000001Z")})}},
		{"time > date", "time:>2026-11-01", []Clause{timeC(0, TimeRange{From: day("2026-11-02")})}},
		{"time >= date", "time:>=2026-11-01", []Clause{timeC(0, TimeRange{From: day("2026-11-01")})}},
		{"time < date", "time:<2026-11-01", []Clause{timeC(0, TimeRange{To: day("2026-11-01")})}},
		{"time <= date", "time:<=2026-11-01", []Clause{timeC(0, TimeRange{To: day("2026-11-02")})}},
		{"time > instant", "time:>2026-11-01T10:00:00Z", []Clause{timeC(0, TimeRange{From: ts("2026-11-01T10:00:00.000000001Z")})}},
		{"time <= instant", "time:<=2026-11-01T10:00:00Z", []Clause{timeC(0, TimeRange{To: ts("2026-11-01T10:00:00.000000001Z")})}},
		{"time < instant", "time:<2026-11-01T10:00:00Z", []Clause{timeC(0, TimeRange{To: ts("2026-11-01T10:00:00Z")})}},
		{"time date range", "time:2026-11-01..2026-11-07", []Clause{timeC(0, TimeRange{day("2026-11-01"), day("2026-11-08")})}},
		{"time same-day range", "time:2026-11-01..2026-11-01", []Clause{timeC(0, TimeRange{day("2026-11-01"), day("2026-11-02")})}},
		{"time mixed range", "time:2026-11-01T22:00:00Z..2026-11-02", []Clause{timeC(0, TimeRange{ts("2026-11-01T22:00:00Z"), day("2026-11-03")})}},
		{"time open end", "time:2026-11-01..*", []Clause{timeC(0, TimeRange{From: day("2026-11-01")})}},
		{"time open start", "time:*..2026-11-01", []Clause{timeC(0, TimeRange{To: day("2026-11-02")})}},
		{"time list", "time:2026-11-01,2026-11-03", []Clause{timeC(0, TimeRange{day("2026-11-01"), day("2026-11-02")}, TimeRange{day("2026-11-03"), day("2026-11-04")})}},
		{"time last day", "time:9999-12-31", []Clause{timeC(0, TimeRange{day("9999-12-31"), ts("9999-12-31T23:59:59.999999999Z").Add(1)})}},
		{"time leap day", "time:2028-02-29", []Clause{timeC(0, TimeRange{day("2028-02-29"), day("2028-03-01")})}},

		{"word", "timeout", []Clause{textC(0, "timeout", false, "timeout")}},
		{"word as written", "TimeOut", []Clause{textC(0, "TimeOut", false, "timeout")}},
		{"negated word", "-timeout", []Clause{neg(textC(0, "timeout", false, "timeout"))}},
		{"phrase", `"connection refused"`, []Clause{textC(0, "connection refused", true, "connection", "refused")}},
		{"negated phrase", `-"connection refused"`, []Clause{neg(textC(0, "connection refused", true, "connection", "refused"))}},
		{"phrase of one", `"timeout"`, []Clause{textC(0, "timeout", true, "timeout")}},
		{"phrase escapes", `"say \"hi\""`, []Clause{textC(0, `say "hi"`, true, "say", "hi")}},
		{"word of several tokens", "10.0.0.7", []Clause{textC(0, "10.0.0.7", true, "10", "0", "0", "7")}},
		{"dotted word", "user.login", []Clause{textC(0, "user.login", true, "user", "login")}},
		{"comma word", "foo,", []Clause{textC(0, "foo,", false, "foo")}},
		{"unicode word", "Straße", []Clause{textC(0, "Straße", false, "straße")}},

		{"incident query", "action:user.login outcome:failure -ip:10.0.0.0/8",
			[]Clause{fieldC(0, "action", exact("user.login")), fieldC(18, "outcome", exact("failure")), neg(ipC(34, "ip", "10.0.0.0/8"))}},
		{"mixed", `actor:alice "permission denied" time:2026-11-01 -seq:<10`,
			[]Clause{fieldC(0, "actor.id", exact("alice")), textC(12, "permission denied", true, "permission", "denied"),
				timeC(32, TimeRange{day("2026-11-01"), day("2026-11-02")}), neg(seqC(48, SeqRange{0, 10}))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if q.Text != tc.in {
				t.Errorf("Text = %q, want %q", q.Text, tc.in)
			}
			if d := diffClauses(q.Clauses, tc.want, true); d != "" {
				t.Errorf("Parse(%q): %s", tc.in, d)
			}
			// Every successful parse round-trips through String.
			checkRoundTrip(t, q)
		})
	}
}

// checkRoundTrip checks that q's canonical form parses to the same clauses
// and is a fixed point.
func checkRoundTrip(t *testing.T, q *Query) {
	t.Helper()
	s := q.String()
	again, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(String()) of %q = %q: %v", q.Text, s, err)
	}
	if d := diffClauses(again.Clauses, q.Clauses, false); d != "" {
		t.Fatalf("Parse(%q) (String of %q) differs: %s", s, q.Text, d)
	}
	if s2 := again.String(); s2 != s {
		t.Fatalf("String is not a fixed point: %q then %q", s, s2)
	}
}

func TestParseLimits(t *testing.T) {
	many := strings.TrimSpace(strings.Repeat("a ", MaxClauses))
	q, err := Parse(many)
	if err != nil || len(q.Clauses) != MaxClauses {
		t.Fatalf("Parse(%d clauses) = %v, %v", MaxClauses, q, err)
	}
	long := strings.Repeat("x", MaxQueryLen)
	if _, err := Parse(long); err != nil {
		t.Fatalf("Parse(%d bytes): %v", MaxQueryLen, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		pos  int
		msg  string
	}{
		{"unterminated phrase", `"abc`, 0, "unterminated quote"},
		{"unterminated value", `actor.name:"abc`, 11, "unterminated quote"},
		{"unterminated after escape", `a "x\"`, 2, "unterminated quote"},
		{"unterminated on backslash", `a "x\`, 2, "unterminated quote"},
		{"unknown escape", `"a\nb"`, 2, `unknown escape '\n'; only \" and \\ are escapes`},
		{"empty value", "action:", 7, "empty value for action"},
		{"empty value before space", "action: outcome:failure", 7, "empty value for action"},
		{"empty first in list", "action:,a", 7, "empty value for action"},
		{"empty in list", "outcome:a,,b", 10, "empty value in the list of outcome"},
		{"empty at end of list", "outcome:failure,", 16, "empty value in the list of outcome"},
		{"space after comma", "outcome:failure, denied", 16, "empty value after ','; write values as a,b without spaces"},
		{"star in middle", "action:db*.read", 9, "wildcard '*' only at the end of a value"},
		{"star at start", "action:*db", 7, "wildcard '*' only at the end of a value"},
		{"after the last time", `time:>9999-12-31`, 5, "nothing is after 9999-12-31"},
		{"raw", `raw:x`, 0, "raw (the payload an intake received) is stored and sealed but not searchable; search the fields it was mapped to"},
		{"raw path", `raw.verb:get`, 0, "raw (the payload an intake received) is stored and sealed but not searchable; search the fields it was mapped to"},
		{"after the last seq", `seq:>9007199254740991`, 4, "nothing is after seq 9007199254740991, the largest possible seq"},
		{"star on quoted", `action:"db"*`, 11, "wildcard '*' on a quoted value; only unquoted values take a trailing '*'"},
		{"star on word", "time*", 4, "wildcard '*' works only on field values (field:value*)"},
		{"star on phrase", `"db read"*`, 9, "wildcard '*' works only on unquoted field values (field:value*)"},
		{"quote in value", `action:a"b`, 8, "quote inside a value; quote the whole value"},
		{"text after quoted value", `action:"a"b`, 10, `'b' right after the closing quote; separate values with ',' and clauses with a space`},
		{"text after phrase", `"abc"def`, 5, `'d' right after the closing quote; separate clauses with a space`},
		{"quote in word", `ab"c"`, 2, `quote inside a word; a quoted phrase starts with '"'`},
		{"backslash in value", `attributes.path:C\x`, 17, "backslash outside quotes; quote the value"},
		{"backslash in word", `a\b`, 1, "backslash outside quotes; quote the word"},
		{"bad cidr", "ip:10.0.0.0/33", 3, `"10.0.0.0/33" is not a CIDR (10.0.0.0/8, 2001:db8::/32)`},
		{"bad ip", "ip:10.0.0.256", 3, `"10.0.0.256" is not an IP address or CIDR`},
		{"bad ip in list", "actor.ip:10.0.0.1,host", 18, `"host" is not an IP address or CIDR`},
		{"ip zone", "ip:fe80::1%eth0", 3, `"fe80::1%eth0" has an IPv6 zone; stele stores addresses without zones`},
		{"ip zone in cidr", "ip:fe80::1%eth0/64", 3, `"fe80::1%eth0/64" is not a CIDR (10.0.0.0/8, 2001:db8::/32)`},
		{"ip wildcard", "source.ip:10.0.*", 10, "source.ip takes addresses and CIDRs, not wildcards: write 10.0.0.0/8 for 10.*"},
		{"seq word", "seq:abc", 4, `bad seq "abc"; want N, >N, >=N, <N, <=N or A..B`},
		{"seq = operator", "seq:=5", 4, `bad seq "=5"; want N, >N, >=N, <N, <=N or A..B`},
		{"seq double operator", "seq:>>5", 5, `bad seq ">5"; want N, >N, >=N, <N, <=N or A..B`},
		{"seq negative", "seq:-1", 4, `bad seq "-1"; want N, >N, >=N, <N, <=N or A..B`},
		{"seq operator only", "seq:>=", 6, "missing seq number; want N, >N, >=N, <N, <=N or A..B"},
		{"seq range half", "seq:5..", 7, "missing seq number; want N, >N, >=N, <N, <=N or A..B"},
		{"seq bad range end", "seq:5..x", 7, `bad seq "x"; want N, >N, >=N, <N, <=N or A..B`},
		{"seq reversed", "seq:10..5", 4, `reversed range "10..5": 10 is after 5`},
		{"seq no ends", "seq:*..*", 4, `range "*..*" has no end; leave the seq clause out instead`},
		{"seq too big", "seq:9007199254740992", 4, "seq 9007199254740992 is beyond the largest possible seq 9007199254740991"},
		{"seq overflow", "seq:>99999999999999999999", 5, "seq 99999999999999999999 is beyond the largest possible seq 9007199254740991"},
		{"seq quoted", `seq:"5"`, 4, "seq values are not quoted"},
		{"seq empty", "seq:", 4, "empty value for seq"},
		{"time word", "time:yesterday", 5, `bad time "yesterday": want 2026-11-01, 2026-11-01T10:00:00Z, >X, >=X, <X, <=X or A..B (* for an open end)`},
		{"time bad month", "time:2026-13-01", 5, `bad date "2026-13-01": month out of range`},
		{"time bad day", "time:2026-02-29", 5, `bad date "2026-02-29": day out of range`},
		{"time short date", "time:2026-1-01", 5, `bad time "2026-1-01": want 2026-11-01, 2026-11-01T10:00:00Z, >X, >=X, <X, <=X or A..B (* for an open end)`},
		{"time bad hour", "time:2026-11-01T25:00:00Z", 5, `bad time "2026-11-01T25:00:00Z": hour out of range`},
		{"time leap second", "time:2026-12-31T23:59:60Z", 5, `bad time "2026-12-31T23:59:60Z": leap seconds are not supported`},
		{"time no zone", "time:2026-11-01T10:00:00.5", 5, `bad time "2026-11-01T10:00:00.5": missing time zone (Z or +hh:mm)`},
		{"time bad offset", "time:2026-11-01T10:00:00+2", 5, `bad time "2026-11-01T10:00:00+2": time zone offset must be +hh:mm or -hh:mm`},
		{"time too precise", "time:2026-11-01T10:00:00.1234567891Z", 5, `bad time "2026-11-01T10:00:00.1234567891Z": more than 9 fractional digits`},
		{"time year 0", "time:0000-06-01", 5, `bad date "0000-06-01": year 0000 is before the earliest searchable day 0001-01-01`},
		{"time before year 1", "time:0001-01-01T00:00:00+01:00", 5, `bad time "0001-01-01T00:00:00+01:00": outside the years 0001-9999 in UTC`},
		{"time after 9999", "time:9999-12-31T23:00:00-01:00", 5, `bad time "9999-12-31T23:00:00-01:00": outside the years 0001-9999 in UTC`},
		{"time nothing before", "time:<0001-01-01", 5, "nothing is before 0001-01-01"},
		{"time reversed", "time:2026-11-02..2026-11-01", 5, `reversed range "2026-11-02..2026-11-01": 2026-11-02 is after 2026-11-01`},
		{"time reversed instants", "time:2026-11-01T10:00:00Z..2026-11-01T09:00:00Z", 5, `reversed range "2026-11-01T10:00:00Z..2026-11-01T09:00:00Z": 2026-11-01T10:00:00Z is after 2026-11-01T09:00:00Z`},
		{"time range missing end", "time:2026-11-01..", 17, "missing time; want 2026-11-01, 2026-11-01T10:00:00Z, >X, >=X, <X, <=X or A..B (* for an open end)"},
		{"time bad range end", "time:2026-11-01..2026-11-31", 17, `bad date "2026-11-31": day out of range`},
		{"time no ends", "time:*..*", 5, `range "*..*" has no end; leave the time clause out instead`},
		{"time quoted", `time:"2026-11-01"`, 5, "time values are not quoted"},
		{"unknown field", "acton:x", 0, `unknown field "acton"; did you mean action? Custom data is searched as attributes.<key>`},
		{"unknown field negated", "x -actr.id:x", 3, `unknown field "actr.id"; did you mean actor.id? Custom data is searched as attributes.<key>`},
		{"unknown custom field", "region:eu", 0, `unknown field "region"; did you mean action? Custom data is searched as attributes.<key>`},
		{"field names are lowercase", "Outcome:failure", 0, `unknown field "Outcome"; did you mean outcome? Custom data is searched as attributes.<key>`},
		{"received_at", "received_at:x", 0, "received_at is not searchable; time: searches the event's time"},
		{"attributes alone", "attributes:x", 0, "attributes needs a key: attributes.<key>, e.g. attributes.region"},
		{"attributes empty key", "attributes.:x", 11, "attributes needs a key: attributes.<key>, e.g. attributes.region"},
		{"attributes empty segment", "attributes.a..b:x", 13, "empty key in attributes path"},
		{"attributes trailing dot", "attributes.a.:x", 12, "empty key in attributes path"},
		{"attributes comma", "attributes.a,b:x", 12, "',' in a field name"},
		{"lone dash", "-", 0, "'-' with nothing to negate; write -field:value or -word without a space"},
		{"dash then space", "a - b", 2, "'-' with nothing to negate; write -field:value or -word without a space"},
		{"double dash", "--a", 1, "double '-'; one negates"},
		{"colon first", ":foo", 0, "':' with no field name before it"},
		{"negated colon first", "-:foo", 1, "':' with no field name before it"},
		{"colon after quote", `"a":b`, 3, `':' right after the closing quote; separate clauses with a space`},
		{"no tokens word", "...", 0, `"..." has no searchable words (letters or digits)`},
		{"no tokens phrase", `a "- -"`, 2, `"- -" has no searchable words (letters or digits)`},
		{"empty phrase", `""`, 0, `"" has no searchable words (letters or digits)`},
		{"bad outcome", "outcome:failed", 8, `outcome is success, failure, denied or unknown, not "failed"`},
		{"tab", "a\tb", 1, "control character 0x09; separate clauses with spaces"},
		{"newline", "a\nb", 1, "control character 0x0a; separate clauses with spaces"},
		{"nul in quotes", "\"a\x00\"", 2, "control character 0x00; separate clauses with spaces"},
		{"del", "a\x7f", 1, "control character 0x7f; separate clauses with spaces"},
		{"c1 control", "a\u0085b", 1, "control character U+0085"},
		{"invalid utf-8", "ab\xff", 2, "invalid UTF-8"},
		{"too long", strings.Repeat("a ", MaxQueryLen/2) + "b", MaxQueryLen, "query is 4097 bytes long; the limit is 4096"},
		{"too many clauses", strings.Repeat("ab ", MaxClauses) + "cd", 3 * MaxClauses, "more than 64 clauses"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want an error", tc.in, dump(q.Clauses))
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T %v, want *SyntaxError", tc.in, err, err)
			}
			if se.Pos != tc.pos || se.Msg != tc.msg {
				t.Errorf("Parse(%q) = at %d: %s\nwant at %d: %s", tc.in, se.Pos, se.Msg, tc.pos, tc.msg)
			}
			if !errors.Is(err, stele.ErrInvalid) {
				t.Errorf("Parse(%q) error does not wrap stele.ErrInvalid", tc.in)
			}
			if want := fmt.Sprintf("query: at %d: %s", tc.pos, tc.msg); err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "  ", ""},
		{"spacing", "  action:db.read   outcome:failure ", "action:db.read outcome:failure"},
		{"aliases", "actor:alice resource:db-1 source:sso", "actor.id:alice resource.id:db-1 source.service:sso"},
		{"case kept as written", "actor.name:Alice action:DB.*", "actor.name:Alice action:DB.*"},
		{"needless quotes dropped", `actor.name:"alice"`, "actor.name:alice"},
		{"needed quotes kept", `actor.name:"Alice Smith",bob`, `actor.name:"Alice Smith",bob`},
		{"escapes", `message:"say \"hi\" C:\\x"`, `message:"say \"hi\" C:\\x"`},
		{"literal star quoted", `message:"a*"`, `message:"a*"`},
		{"comma quoted", `message:"a,b"`, `message:"a,b"`},
		{"empty value", `attributes.x:""`, `attributes.x:""`},
		{"present", "-attributes.x:*", "-attributes.x:*"},
		{"ip address", "ip:10.0.0.7", "ip:10.0.0.7"},
		{"ip masked", "ip:10.1.2.3/8", "ip:10.0.0.0/8"},
		{"ip v6 canonical", `ip:2001:DB8:0:0::1,"::FFFF:10.0.0.1"`, "ip:2001:db8::1,::ffff:10.0.0.1"},
		{"seq >", "seq:>5", "seq:>=6"},
		{"seq <", "seq:<5", "seq:<=4"},
		{"seq <0", "seq:<0", "seq:<0"},
		{"seq <1", "seq:<1", "seq:<=0"},
		{"seq one", "seq:5..5", "seq:5"},
		{"seq open", "seq:*..10,3..*", "seq:<=10,>=3"},
		{"seq range", "seq:5..10", "seq:5..10"},
		{"time date", "time:2026-11-01", "time:2026-11-01"},
		{"time > date", "time:>2026-11-01", "time:>=2026-11-02"},
		{"time < date", "time:<2026-11-01", "time:<=2026-10-31"},
		{"time date range", "time:2026-11-01..2026-11-07", "time:2026-11-01..2026-11-07"},
		{"time open range", "time:2026-11-01..*", "time:>=2026-11-01"},
		{"time instant in UTC", "time:2026-11-01T10:00:00+02:00", "time:2026-11-01T08:00:00Z"},
		{"time > instant", "time:>2026-11-01T10:00:00Z", "time:>=2026-11-01T10:00:00.000000001Z"},
		{"time < instant", "time:<2026-11-01T10:00:00Z", "time:<=2026-11-01T09:59:59.999999999Z"},
		{"time whole day as instants", "time:2026-11-01T00:00:00Z..2026-11-01T23:59:59.999999999Z", "time:2026-11-01"},
		{"time mixed", "time:2026-11-01T22:00:00Z..2026-11-02", "time:2026-11-01T22:00:00Z..2026-11-02T23:59:59.999999999Z"},
		{"time from year 1", "time:>=0001-01-01", "time:>=0001-01-01"},
		{"time first day", "time:0001-01-01", "time:<=0001-01-01"},
		{"time last day", "time:<=9999-12-31", "time:<=9999-12-31"},
		{"word", "TimeOut", "TimeOut"},
		{"dotted word becomes phrase", "user.login", `"user.login"`},
		{"phrase", `-"connection \"refused\""`, `-"connection \"refused\""`},
		{"comma word", "foo,", "foo,"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := q.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			checkRoundTrip(t, q)
		})
	}
}

func TestStringHandBuilt(t *testing.T) {
	tests := []struct {
		name string
		c    Clause
		want string
	}{
		{"value without Raw", fieldC(0, "action", Value{Value: "db.read"}), "action:db.read"},
		{"Raw that disagrees", fieldC(0, "action", Value{Value: "a", Raw: "b"}), "action:a"},
		{"empty seq range", seqC(0, SeqRange{5, 5}), "seq:<0"},
		{"open time range", timeC(0, TimeRange{}), "time:>=0001-01-01"},
		{"non-UTC time", timeC(0, TimeRange{From: time.Date(2026, 11, 1, 2, 0, 0, 0, time.FixedZone("x", 2*3600))}), "time:>=2026-11-01"},
		{"text not a word", textC(0, "a b", false, "a", "b"), `"a b"`},
		{"text starting with dash", textC(0, "-a", false, "a"), `"-a"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (&Query{Clauses: []Clause{tc.c}}).String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAndTime(t *testing.T) {
	q, err := Parse("action:user.login")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 11, 23, 9, 0, 0, 5, time.FixedZone("CET", 3600))
	out := q.AndTime(TimeRange{From: from})
	if len(q.Clauses) != 1 || q.Text != "action:user.login" {
		t.Fatalf("AndTime modified its receiver: %q %d clauses", q.Text, len(q.Clauses))
	}
	want := "action:user.login time:>=2026-11-23T08:00:00.000000005Z"
	if out.Text != want || out.String() != want {
		t.Errorf("AndTime: Text %q, String %q, want %q", out.Text, out.String(), want)
	}
	c := out.Clauses[1]
	if c.Kind != KindTime || c.Field != "time" || c.Pos != len("action:user.login ") || !c.Times[0].From.Equal(from) || !c.Times[0].To.IsZero() {
		t.Errorf("AndTime clause = %s", dump(out.Clauses[1:]))
	}
	again, err := Parse(out.Text)
	if err != nil {
		t.Fatalf("Parse(AndTime Text): %v", err)
	}
	if d := diffClauses(again.Clauses, out.Clauses, true); d != "" {
		t.Errorf("Text does not parse to the clauses: %s", d)
	}

	both := (&Query{}).AndTime(TimeRange{From: day("2026-11-01"), To: day("2026-11-03")})
	if both.Text != "time:2026-11-01..2026-11-02" || len(both.Clauses) != 1 || both.Clauses[0].Pos != 0 {
		t.Errorf("AndTime on empty query = %q, %s", both.Text, dump(both.Clauses))
	}
	until := (&Query{}).AndTime(TimeRange{To: ts("2026-11-01T10:00:00Z")})
	if until.Text != "time:<=2026-11-01T09:59:59.999999999Z" {
		t.Errorf("AndTime until = %q", until.Text)
	}
	if open := q.AndTime(TimeRange{}); open.Text != q.Text || len(open.Clauses) != 1 {
		t.Errorf("AndTime(open) = %q with %d clauses, want the query unchanged", open.Text, len(open.Clauses))
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		in   string
		want time.Time
	}{
		{"24h", ts("2026-11-22T11:00:00Z")},
		{"90m", ts("2026-11-23T09:30:00Z")},
		{"1h30m", ts("2026-11-23T09:30:00Z")},
		{"7d", ts("2026-11-16T11:00:00Z")},
		{"2w", ts("2026-11-09T11:00:00Z")},
		{"1d12h", ts("2026-11-21T23:00:00Z")},
		{"1w2d", ts("2026-11-14T11:00:00Z")},
		{"0s", ts("2026-11-23T11:00:00Z")},
		{"2026-11-01", day("2026-11-01")},
		{"2026-11-01T10:00:00+02:00", ts("2026-11-01T08:00:00Z")},
	}
	for _, tc := range tests {
		got, err := ParseSince(tc.in, now)
		if err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("ParseSince(%q) = %v, %v; want %v in UTC", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "-24h", "+1h", "1.5d", "7x", "d", "24", "12h1d", "99999999999999999999d", "300000w", "2026-13-01", "2026-11-01T10:00:00", "yesterday"} {
		if got, err := ParseSince(in, now); !errors.Is(err, stele.ErrInvalid) {
			t.Errorf("ParseSince(%q) = %v, %v; want ErrInvalid", in, got, err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	const text = `action:user.login outcome:failure,denied -ip:10.0.0.0/8 time:>=2026-11-01 "connection refused"`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}
