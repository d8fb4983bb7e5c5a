package query

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// docPath is the user-facing reference of the language (relative to this
// package's directory, where go test runs).
const docPath = "../docs/query.md"

// The extraction rules, which docs/query.md states in its introduction:
//
//   - Every line of a ```query block is a query that must parse. Blank lines
//     are skipped; a line starting with '#' is a comment (a valid query
//     cannot start with "# ": '#' alone has no searchable words).
//   - Every line of a ```query-error block is a query that must be refused.
//     A comment "# at N: MESSAGE" directly after a query is its exact error
//     (the SyntaxError text without the "query: " prefix).
//   - In a ```sh block (lines ending in '\' continue), the first argument
//     that is not a flag of `stele query|tail|stats|export` is a query
//     (flags may come before or after it), and the values of --since, --until, --by and --interval must be accepted. In a
//     `curl` command, q=, since=, until=, by= and interval= in the URL or in
//     -d/--data-urlencode arguments are checked the same way.

// docExample is one query found in the reference.
type docExample struct {
	line    int    // 1-based line in the document
	text    string // the query
	wantErr string // query-error blocks: the expected "at N: message", or ""
}

// docExamples is what extractDocExamples found.
type docExamples struct {
	valid   []docExample // must parse
	invalid []docExample // must be refused
	// params are since/until/by/interval values from shell examples, with
	// the parameter name, to check with the functions the API uses.
	params []docParam
}

type docParam struct {
	line        int
	name, value string
}

// booleanCLIFlags are the flags of the search commands that take no value
// (cmd/stele/search.go); every other flag takes the next argument.
var booleanCLIFlags = map[string]bool{"asc": true, "proof": true, "json": true}

// searchCommands are the stele subcommands whose argument is a query.
var searchCommands = map[string]bool{"query": true, "tail": true, "stats": true, "export": true}

// extractDocExamples reads the examples of a markdown document. Problems
// are mistakes in the document's use of the rules (an unclosed fence, a
// flag after a CLI query), reported with their line.
func extractDocExamples(doc string) (docExamples, []string) {
	var ex docExamples
	var problems []string
	lines := strings.Split(doc, "\n")
	fence, fenceLine := "", 0 // the open block's info string, "" outside
	inFence := false
	afterQuery := false // in a query-error block, the previous line was a query
	var shell strings.Builder
	shellStart := 0
	for i, line := range lines {
		n := i + 1
		if strings.HasPrefix(line, "```") {
			if !inFence {
				inFence, fence, fenceLine = true, strings.TrimSpace(line[3:]), n
				afterQuery = false
				continue
			}
			if strings.TrimSpace(line) != "```" {
				problems = append(problems, fmt.Sprintf("line %d: a fence opens inside the block of line %d", n, fenceLine))
				continue
			}
			inFence = false
			continue
		}
		if !inFence {
			continue
		}
		switch fence {
		case "query", "query-error":
			if strings.TrimSpace(line) == "" {
				afterQuery = false
				continue
			}
			if strings.HasPrefix(line, "#") {
				if want, ok := strings.CutPrefix(line, "# at "); ok {
					if fence != "query-error" || !afterQuery || ex.invalid[len(ex.invalid)-1].wantErr != "" {
						problems = append(problems, fmt.Sprintf("line %d: an expected error must directly follow a query in a query-error block", n))
					} else {
						ex.invalid[len(ex.invalid)-1].wantErr = "at " + want
					}
				}
				afterQuery = false
				continue
			}
			e := docExample{line: n, text: line}
			if fence == "query" {
				ex.valid = append(ex.valid, e)
			} else {
				ex.invalid = append(ex.invalid, e)
				afterQuery = true
			}
		case "sh":
			if shell.Len() == 0 {
				shellStart = n
			}
			if cont, ok := strings.CutSuffix(line, `\`); ok {
				shell.WriteString(cont)
				shell.WriteByte(' ')
				continue
			}
			shell.WriteString(line)
			queries, params, probs := shellExamples(shellStart, shell.String())
			ex.valid = append(ex.valid, queries...)
			ex.params = append(ex.params, params...)
			problems = append(problems, probs...)
			shell.Reset()
		}
	}
	if inFence {
		problems = append(problems, fmt.Sprintf("line %d: the block opened here is never closed", fenceLine))
	}
	return ex, problems
}

// shellExamples returns the queries and parameters of one shell command line.
func shellExamples(line int, cmd string) ([]docExample, []docParam, []string) {
	words, err := shellWords(cmd)
	if err != nil {
		return nil, nil, []string{fmt.Sprintf("line %d: %v", line, err)}
	}
	var queries []docExample
	var params []docParam
	var problems []string
	add := func(name, value string) {
		switch name {
		case "q":
			queries = append(queries, docExample{line: line, text: value})
		case "since", "until", "by", "interval":
			params = append(params, docParam{line, name, value})
		}
	}
	switch {
	case len(words) >= 2 && words[0] == "stele" && searchCommands[words[1]]:
		haveQuery := false
		for i := 2; i < len(words); i++ {
			w := words[i]
			if strings.HasPrefix(w, ">") || strings.HasPrefix(w, "|") || w == "2>" {
				break // redirection: the command's arguments end here
			}
			if len(w) > 1 && w[0] == '-' {
				name, value, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
				if !hasValue && !booleanCLIFlags[name] {
					if i+1 == len(words) {
						problems = append(problems, fmt.Sprintf("line %d: flag %s has no value", line, w))
						break
					}
					i++
					value = words[i]
				}
				add(name, value)
				continue
			}
			if haveQuery {
				problems = append(problems, fmt.Sprintf("line %d: a second argument %q; the query is one quoted argument", line, w))
				continue
			}
			haveQuery = true
			add("q", w)
		}
	case len(words) >= 1 && words[0] == "curl":
		for i := 1; i < len(words); i++ {
			w := words[i]
			switch {
			case (w == "-d" || w == "--data" || w == "--data-urlencode") && i+1 < len(words):
				i++
				name, value, _ := strings.Cut(words[i], "=")
				add(name, value)
			case strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://"):
				u, err := url.Parse(w)
				if err != nil {
					problems = append(problems, fmt.Sprintf("line %d: %v", line, err))
					continue
				}
				for name, values := range u.Query() {
					for _, v := range values {
						add(name, v)
					}
				}
			}
		}
	}
	return queries, params, problems
}

// shellWords splits a command line as a POSIX shell would for the quoting
// the document uses: '...' literally, "..." with \" \\ \$ \` escapes, and \
// outside quotes. A '#' starting a word begins a comment.
func shellWords(cmd string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(cmd); i++ {
		switch c := cmd[i]; {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '#' && !inWord:
			i = len(cmd)
		case c == '\'':
			end := strings.IndexByte(cmd[i+1:], '\'')
			if end < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(cmd[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(cmd) && cmd[i] != '"'; i++ {
				if cmd[i] == '\\' && i+1 < len(cmd) && strings.IndexByte("\"\\$`", cmd[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(cmd[i])
			}
			if i == len(cmd) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case c == '\\' && i+1 < len(cmd):
			i++
			cur.WriteByte(cmd[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// TestDocExamples keeps docs/query.md honest: every example query in it
// parses (and survives the canonical round trip), every example marked as an
// error is refused with the stated message, the CLI and curl examples are
// well-formed, and every field name the parser knows has an example.
func TestDocExamples(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatalf("the language reference: %v", err)
	}
	ex, problems := extractDocExamples(string(raw))
	for _, p := range problems {
		t.Errorf("%s: %s", docPath, p)
	}
	if len(ex.valid) == 0 || len(ex.invalid) == 0 {
		t.Fatalf("%s has %d example queries and %d error examples; it must have both (```query and ```query-error blocks)", docPath, len(ex.valid), len(ex.invalid))
	}

	t.Logf("%s: %d example queries, %d error examples, %d CLI/HTTP parameters", docPath, len(ex.valid), len(ex.invalid), len(ex.params))

	fieldsUsed := map[string]bool{}
	for _, e := range ex.valid {
		q, err := Parse(e.text)
		if err != nil {
			t.Errorf("%s:%d: example %q does not parse: %v", docPath, e.line, e.text, err)
			continue
		}
		checkRoundTrip(t, q)
		for _, c := range q.Clauses {
			if c.Kind == KindText {
				continue
			}
			start := c.Pos
			if c.Neg {
				start++
			}
			name, _, _ := strings.Cut(e.text[start:], ":")
			fieldsUsed[name] = true
		}
	}
	for _, e := range ex.invalid {
		q, err := Parse(e.text)
		if err == nil {
			t.Errorf("%s:%d: error example %q parses (as %q); it must be refused", docPath, e.line, e.text, q.String())
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s:%d: error example %q: %v is not a *SyntaxError", docPath, e.line, e.text, err)
			continue
		}
		if got := strings.TrimPrefix(err.Error(), "query: "); e.wantErr != "" && got != e.wantErr {
			t.Errorf("%s:%d: error example %q:\n got # %s\nwant # %s", docPath, e.line, e.text, got, e.wantErr)
		}
	}

	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, p := range ex.params {
		var err error
		switch p.name {
		case "since", "until":
			_, err = ParseSince(p.value, now)
		case "by":
			_, err = FacetField(p.value)
		case "interval":
			var d time.Duration
			if d, err = ParseDuration(p.value); err == nil && d < time.Second {
				err = fmt.Errorf("%v is under the API's minimum of 1s", d)
			}
		}
		if err != nil {
			t.Errorf("%s:%d: %s %q is refused: %v", docPath, p.line, p.name, p.value, err)
		}
	}

	// Every field name the parser accepts has an example, so a new field
	// cannot go undocumented.
	for _, name := range knownFields {
		if _, err := resolveField(name, 0); err != nil {
			t.Errorf("knownFields has %q, which the parser refuses: %v", name, err)
		}
		if !fieldsUsed[name] {
			t.Errorf("%s has no example using the field %q", docPath, name)
		}
	}
	attributes := false
	for name := range fieldsUsed {
		attributes = attributes || strings.HasPrefix(name, "attributes.")
	}
	if !attributes {
		t.Errorf("%s has no example of an attributes.<key> field", docPath)
	}
}

// TestDocExtraction checks the extraction rules themselves, so that a
// document breaking them is caught rather than silently yielding fewer
// examples.
func TestDocExtraction(t *testing.T) {
	doc := strings.Join([]string{
		"Prose with `action:x` is not an example.",
		"```query",
		"# a comment",
		"action:user.login",
		"",
		`"two words"`,
		"```",
		"```query-error",
		"action:",
		"# at 7: empty value for action",
		"--x",
		"```",
		"```sh",
		`stele query --since 24h 'actor:alice "a b"' > out.txt`,
		"stele stats --by actor \\",
		"  --interval 1h 'outcome:failure'",
		"stele export 'x' --format csv",
		"stele tail",
		"curl -sG 'http://h/v1/stats?by=action&q=seq%3A1' --data-urlencode 'q=ip:10.0.0.0/8' -d since=7d -H 'A: b'",
		"```",
		"```go",
		"action:not-checked",
		"```",
		"```query",
		"# at 0: misplaced",
		"```",
		"```query",
		"unclosed",
	}, "\n")
	ex, problems := extractDocExamples(doc)
	var valid []string
	for _, e := range ex.valid {
		valid = append(valid, fmt.Sprintf("%d:%s", e.line, e.text))
	}
	wantValid := []string{"4:action:user.login", `6:"two words"`, `14:actor:alice "a b"`, "15:outcome:failure", "17:x",
		"19:seq:1", "19:ip:10.0.0.0/8", "28:unclosed"}
	if strings.Join(valid, "|") != strings.Join(wantValid, "|") {
		t.Errorf("valid examples:\n got %q\nwant %q", valid, wantValid)
	}
	if len(ex.invalid) != 2 || ex.invalid[0].text != "action:" || ex.invalid[0].wantErr != "at 7: empty value for action" ||
		ex.invalid[1].text != "--x" || ex.invalid[1].wantErr != "" {
		t.Errorf("error examples: %+v", ex.invalid)
	}
	var params []string
	for _, p := range ex.params {
		params = append(params, fmt.Sprintf("%d:%s=%s", p.line, p.name, p.value))
	}
	wantParams := []string{"14:since=24h", "15:by=actor", "15:interval=1h", "19:by=action", "19:since=7d"}
	if strings.Join(params, "|") != strings.Join(wantParams, "|") {
		t.Errorf("params:\n got %q\nwant %q", params, wantParams)
	}
	wantProblems := []string{
		"line 25: an expected error must directly follow a query in a query-error block",
		"line 27: the block opened here is never closed",
	}
	if strings.Join(problems, "|") != strings.Join(wantProblems, "|") {
		t.Errorf("problems:\n got %q\nwant %q", problems, wantProblems)
	}

	if ex, _ := extractDocExamples("no examples at all\n"); len(ex.valid)+len(ex.invalid) != 0 {
		t.Errorf("a document without blocks yields examples: %+v", ex)
	}
	if _, probs := extractDocExamples("```sh\nstele query 'unterminated\n```\n"); len(probs) != 1 || !strings.Contains(probs[0], "unterminated single quote") {
		t.Errorf("bad shell quoting: problems %q", probs)
	}
}

func TestShellWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  a  b ", []string{"a", "b"}},
		{`stele query 'actor:alice "x y"'`, []string{"stele", "query", `actor:alice "x y"`}},
		{`a "b \"c\" \\ \x" d`, []string{"a", `b "c" \ \x`, "d"}},
		{`a\ b 'c'"d"e`, []string{"a b", "cde"}},
		{"a # comment 'x", []string{"a"}},
		{"a#b", []string{"a#b"}},
	}
	for _, tc := range tests {
		got, err := shellWords(tc.in)
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"'a", `"a`, `"a\"`} {
		if got, err := shellWords(in); err == nil {
			t.Errorf("shellWords(%q) = %q, want an error", in, got)
		}
	}
}
