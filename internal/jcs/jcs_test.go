package jcs

import (
	"errors"
	"strings"
	"testing"
)

// TestCanonicalizeRFC8785 checks the worked examples of RFC 8785: §3.2.2
// (values, numbers and string escaping) and §3.2.3 (UTF-16 key order).
func TestCanonicalizeRFC8785(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "section 3.2.2",
			in: `{
  "numbers": [333333333.33333329, 1E30, 4.50,
              2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`,
			want: `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
		},
		{
			name: "section 3.2.3",
			in: `{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`,
			want: "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize(nil, []byte(tt.in))
			if err != nil {
				t.Fatalf("Canonicalize: %v", err)
			}
			if string(got) != tt.want {
				t.Errorf("Canonicalize =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestCanonicalizeValid(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"scalar true", ` true `, `true`},
		{"scalar null", `null`, `null`},
		{"scalar string", `"a"`, `"a"`},
		{"empty object", `{ }`, `{}`},
		{"empty array", `[ ]`, `[]`},
		{"whitespace everywhere", " {\t\"b\" :\r\n[ 1 , 2 ] , \"a\" : { } } ", `{"a":{},"b":[1,2]}`},
		{"nested sort", `{"z":{"b":1,"a":2},"a":[{"y":0,"x":0}]}`, `{"a":[{"x":0,"y":0}],"z":{"a":2,"b":1}}`},
		{"prefix keys", `{"ab":1,"a":2,"":3}`, `{"":3,"a":2,"ab":1}`},
		{"many keys reversed", `{"j":0,"i":0,"h":0,"g":0,"f":0,"e":0,"d":0,"c":0,"b":0,"a":0,"9":0,"8":0,"7":0,"6":0,"5":0,"4":0,"3":0,"2":0,"1":0,"0":0}`,
			`{"0":0,"1":0,"2":0,"3":0,"4":0,"5":0,"6":0,"7":0,"8":0,"9":0,"a":0,"b":0,"c":0,"d":0,"e":0,"f":0,"g":0,"h":0,"i":0,"j":0}`},
		{"supplementary before U+E000", "{\"\ue000\":1,\"😀\":2,\"a\":3}", "{\"a\":3,\"😀\":2,\"\ue000\":1}"},
		{"same high surrogate", `{"\ud83d\ude01":1,"\ud83d\ude00":2}`, "{\"😀\":2,\"😁\":1}"},
		{"escaped key equals sort", `{"b":1,"\u0061":2}`, `{"a":2,"b":1}`},
		{"short escapes", `"\b\f\n\r\t"`, `"\b\f\n\r\t"`},
		{"other controls", `"\u0000\u0001\u001f\u000B"`, `"\u0000\u0001\u001f\u000b"`},
		{"solidus unescaped", `"\/a/"`, `"/a/"`},
		{"del and line separator raw", `"\u007f\u2028\u2029"`, "\"\x7f\u2028\u2029\""},
		{"uppercase hex escape", `"\u00E9"`, `"é"`},
		{"raw utf8 kept", `"日本語"`, `"日本語"`},
		{"surrogate pair escape", `"\uD83D\uDE00"`, `"😀"`},
		{"quote and backslash", `"\"\\"`, `"\"\\"`},
		{"integer", `42`, `42`},
		{"minus zero integer", `-0`, `0`},
		{"minus zero float", `-0.0`, `0`},
		{"fraction trailing zeros", `1.500`, `1.5`},
		{"integral float", `1.0`, `1`},
		{"exponent", `1E2`, `100`},
		{"negative exponent", `100e-2`, `1`},
		{"exponent plus", `1e+2`, `100`},
		{"2^53", `9007199254740992`, `9007199254740992`},
		{"-2^53", `-9007199254740992`, `-9007199254740992`},
		{"big with fraction", `12345678901234567890.0`, `12345678901234567000`},
		{"big with exponent", `1e300`, `1e+300`},
		{"big canonical integer", `12345678901234567000`, `12345678901234567000`},
		{"big negative canonical integer", `-295147905179352830000`, `-295147905179352830000`},
		{"1e21 as float", `1000000000000000000000.0`, `1e+21`},
		{"underflow to zero", `1e-400`, `0`},
		{"negative underflow", `-1e-400`, `0`},
		{"tiny", `0.0000001`, `1e-7`},
		{"array of mixed", `[1,"a",true,null,{"k":[]}]`, `[1,"a",true,null,{"k":[]}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Canonicalize([]byte("prefix:"), []byte(tt.in))
			if err != nil {
				t.Fatalf("Canonicalize(%q): %v", tt.in, err)
			}
			if string(got) != "prefix:"+tt.want {
				t.Errorf("Canonicalize(%q) = %q, want %q", tt.in, got, "prefix:"+tt.want)
			}
			again, err := Canonicalize(nil, got[len("prefix:"):])
			if err != nil || string(again) != tt.want {
				t.Errorf("not a fixed point: %q, %v", again, err)
			}
		})
	}
}

func TestCanonicalizeInvalid(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		offset int
		path   string
		syntax bool
		reason string // substring of the reason
	}{
		{"empty", ``, 0, "", true, "empty input"},
		{"only space", "  \n", 3, "", true, "empty input"},
		{"trailing garbage", `{} x`, 3, "", true, "after the JSON value"},
		{"two values", `1 2`, 2, "", true, "after the JSON value"},
		{"bom", "\xef\xbb\xbf{}", 0, "", true, "expected a value"},
		{"single quotes", `{'a':1}`, 1, "", true, "expected a string key"},
		{"bare key", `{a:1}`, 1, "", true, "expected a string key"},
		{"missing colon", `{"a" 1}`, 5, "", true, "expected ':'"},
		{"missing value", `{"a":}`, 5, "a", true, "expected a value"},
		{"trailing comma object", `{"a":1,}`, 7, "", true, "expected a string key"},
		{"trailing comma array", `[1,]`, 3, "[1]", true, "expected a value"},
		{"missing comma", `[1 2]`, 3, "", true, "expected ',' or ']'"},
		{"unclosed object", `{"a":1`, 6, "", true, "end of input in object"},
		{"unclosed array", `[1`, 2, "", true, "end of input in array"},
		{"bad literal", `tru`, 0, "", true, "expected true"},
		{"capital literal", `True`, 0, "", true, "expected a value"},
		{"nan", `NaN`, 0, "", true, "expected a value"},
		{"infinity", `-Infinity`, 1, "", true, "expected a digit"},
		{"leading zero", `01`, 1, "", true, "after the JSON value"},
		{"leading plus", `+1`, 0, "", true, "expected a value"},
		{"dot first", `.5`, 0, "", true, "expected a value"},
		{"dot last", `1.`, 2, "", true, "after '.'"},
		{"empty exponent", `1e`, 2, "", true, "exponent"},
		{"hex number", `0x10`, 1, "", true, "after the JSON value"},
		{"unterminated string", `"abc`, 4, "", true, "unterminated string"},
		{"raw newline in string", "\"a\nb\"", 2, "", true, "must be escaped"},
		{"raw tab in string", "\"a\tb\"", 2, "", true, "must be escaped"},
		{"bad escape", `"\x"`, 1, "", true, "invalid escape"},
		{"short unicode escape", `"\u12"`, 1, "", true, `invalid \u escape`},
		{"non hex unicode escape", `"\u12g4"`, 1, "", true, `invalid \u escape`},
		{"duplicate adjacent", `{"a":1,"a":2}`, 7, "a", false, "duplicate key"},
		{"duplicate apart", `{"b":1,"a":2,"b":3}`, 13, "b", false, "duplicate key"},
		{"duplicate after unescape", `{"a":1,"\u0061":2}`, 7, "a", false, "duplicate key"},
		{"duplicate nested", `{"x":[{"k":1,"j":0,"k":2}]}`, 19, "x[0].k", false, "duplicate key"},
		{"duplicate odd key", `{"a.b":1,"a.b":2}`, 9, `"a.b"`, false, "duplicate key"},
		{"invalid utf8", "\"a\xffb\"", 2, "", false, "invalid UTF-8"},
		{"truncated utf8", "\"\xe2\x82\"", 1, "", false, "invalid UTF-8"},
		{"overlong utf8", "\"\xc0\xaf\"", 1, "", false, "invalid UTF-8"},
		{"utf8 surrogate", "\"\xed\xa0\x80\"", 1, "", false, "invalid UTF-8"},
		{"invalid utf8 in key", "{\"\xff\":1}", 2, "", false, "invalid UTF-8"},
		{"lone high surrogate", `"\ud800"`, 1, "", false, "lone high surrogate"},
		{"lone high then char", `"\ud800\u0041"`, 1, "", false, "lone high surrogate"},
		{"lone low surrogate", `"\udc00"`, 1, "", false, "lone low surrogate"},
		{"swapped surrogates", `"\ude00\ud83d"`, 1, "", false, "lone low surrogate"},
		{"big integer", `9007199254740993`, 0, "", false, "exceeds 2^53"},
		{"big negative integer", `[-9007199254740993]`, 1, "[0]", false, "exceeds 2^53"},
		{"huge integer", `{"n":123456789012345678901234567890}`, 5, "n", false, "send it as a string"},
		{"big integer not canonical", `12345678901234567890`, 0, "", false, "exceeds 2^53"},
		{"1e21 as integer", `1000000000000000000000`, 0, "", false, "exceeds 2^53"},
		{"overflow", `1e400`, 0, "", false, "overflows"},
		{"integer overflow", `1` + strings.Repeat("0", 400), 0, "", false, "overflows"},
		{"negative overflow", `-1.8e308`, 0, "", false, "overflows"},
		{"too deep", strings.Repeat("[", DefaultMaxDepth+1) + strings.Repeat("]", DefaultMaxDepth+1), DefaultMaxDepth, strings.Repeat("[0]", DefaultMaxDepth), false, "nesting too deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Canonicalize([]byte("keep"), []byte(tt.in))
			if err == nil {
				t.Fatalf("Canonicalize(%q) = %q, want error", tt.in, out)
			}
			if string(out) != "keep" {
				t.Errorf("dst = %q after error, want it unchanged", out)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
			if e.Offset != tt.offset || e.Path != tt.path || e.Syntax != tt.syntax || !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("error = {Offset:%d Path:%q Syntax:%v Reason:%q}, want {Offset:%d Path:%q Syntax:%v Reason:~%q}",
					e.Offset, e.Path, e.Syntax, e.Reason, tt.offset, tt.path, tt.syntax, tt.reason)
			}
		})
	}
}

func TestMaxDepth(t *testing.T) {
	c := Canonicalizer{MaxDepth: 2}
	if _, err := c.Canonicalize(nil, []byte(`{"a":[1]}`)); err != nil {
		t.Errorf("depth 2 with MaxDepth 2: %v", err)
	}
	if _, err := c.Canonicalize(nil, []byte(`{"a":[[1]]}`)); err == nil {
		t.Errorf("depth 3 with MaxDepth 2: no error")
	}
	deep := strings.Repeat("[", DefaultMaxDepth) + strings.Repeat("]", DefaultMaxDepth)
	if _, err := Canonicalize(nil, []byte(deep)); err != nil {
		t.Errorf("depth %d with the default limit: %v", DefaultMaxDepth, err)
	}
}

func TestAppendValueStopsAfterValue(t *testing.T) {
	var c Canonicalizer
	src := []byte(`xx  {"b":2,"a":1} , rest`)
	out, end, err := c.AppendValue(nil, src, 2)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"a":1,"b":2}` || end != 17 {
		t.Errorf("AppendValue = %q, %d; want %q, 17", out, end, `{"a":1,"b":2}`)
	}
}

func TestAppendStringAndUnquoted(t *testing.T) {
	src := []byte(`  "a\"b\u00e9\n\ud83d\ude00\/" tail`)
	got, end, err := AppendString([]byte("x"), src, 2)
	if err != nil || string(got) != "x\"a\\\"bé\\n😀/\"" || src[end] != ' ' {
		t.Errorf("AppendString = %q, %d, %v", got, end, err)
	}
	got, end2, err := AppendUnquoted(nil, src, 2)
	if err != nil || string(got) != "a\"bé\n😀/" || end2 != end {
		t.Errorf("AppendUnquoted = %q, %d, %v", got, end2, err)
	}
	if _, _, err := AppendString(nil, src, 0); err == nil {
		t.Errorf("AppendString at a non-quote: no error")
	}
}

func TestCompareKeys(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "a", -1},
		{"a", "", 1},
		{"a", "b", -1},
		{"ab", "a", 1},
		{"\r", "1", -1},
		{"\u0080", "\u00f6", -1},
		{"\u20ac", "😀", -1},
		{"😀", "\ufb33", -1},   // UTF-16 0xD83D < 0xFB33, though U+1F600 > U+FB33
		{"\uffff", "𐀀", 1},    // U+10000 is D800 DC00 in UTF-16
		{"😀", "😁", -1},        // same high surrogate
		{"a😀", "a\ue000", -1}, // difference after a shared prefix
		{"é", "e", 1},
	}
	for _, tt := range tests {
		if got := compareKeys([]byte(tt.a), []byte(tt.b)); got != tt.want {
			t.Errorf("compareKeys(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestCanonicalizerNoAllocs guards the property the event parser relies on:
// a reused Canonicalizer with a large enough dst does not allocate.
func TestCanonicalizerNoAllocs(t *testing.T) {
	src := []byte(`{"zone":"eu-west-1","tags":["a","b"],"count":3,"ratio":0.25,"nested":{"y":true,"x":null},"big":1e300}`)
	var c Canonicalizer
	dst := make([]byte, 0, 1024)
	if _, err := c.Canonicalize(dst, src); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := c.Canonicalize(dst, src); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Canonicalize allocates %v times per call, want 0", allocs)
	}
}

func BenchmarkCanonicalize(b *testing.B) {
	src := []byte(`{"region":"eu-west-1","latency_ms":183,"retries":2,"tags":["prod","blue"],"user_agent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36","ratio":0.25}`)
	var c Canonicalizer
	dst := make([]byte, 0, 1024)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = c.Canonicalize(dst[:0], src); err != nil {
			b.Fatal(err)
		}
	}
}
