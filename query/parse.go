// Package query owns stele's search language: parsing it into the AST of
// ast.go, rendering the AST back to canonical text, and evaluating it against
// one canonical entry (Matcher). Planning and execution over an index live in
// the exec files; this part never touches storage.
//
// The language follows the convention SREs know from the GitHub audit log
// search: space-separated clauses, ANDed, `field:value`, `-` to negate,
// commas for OR, `*` for a prefix, and bare words for free text. docs/query.md
// is the user-facing reference; this file's Parse is its definition.
package query

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/stele-log/stele"
	"github.com/stele-log/stele/internal/tokenize"
)

// Limits on a query's text. They bound the work one request can ask for
// (each clause is evaluated per candidate record) and keep error messages
// and canonical forms short.
const (
	MaxQueryLen = 4096 // bytes
	MaxClauses  = 64
)

// SyntaxError says where and why a query was refused. Pos is a byte offset
// into the query text. It wraps stele.ErrInvalid, so the API answers 400.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("query: at %d: %s", e.Pos, e.Msg) }

// Unwrap makes errors.Is(err, stele.ErrInvalid) hold.
func (e *SyntaxError) Unwrap() error { return stele.ErrInvalid }

func syntaxErr(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Parse parses a query. The empty query (or only spaces) has no clauses and
// matches every event. Every refusal is a *SyntaxError.
func Parse(text string) (*Query, error) {
	if len(text) > MaxQueryLen {
		return nil, syntaxErr(MaxQueryLen, "query is %d bytes long; the limit is %d", len(text), MaxQueryLen)
	}
	if err := checkChars(text); err != nil {
		return nil, err
	}
	p := parser{text: text}
	q := &Query{Text: text}
	for {
		for p.pos < len(text) && text[p.pos] == ' ' {
			p.pos++
		}
		if p.pos == len(text) {
			return q, nil
		}
		if len(q.Clauses) == MaxClauses {
			return nil, syntaxErr(p.pos, "more than %d clauses", MaxClauses)
		}
		c, err := p.clause()
		if err != nil {
			return nil, err
		}
		q.Clauses = append(q.Clauses, c)
	}
}

// checkChars refuses invalid UTF-8 and control characters (C0, DEL and C1)
// anywhere, quoted or not: they cannot be typed on purpose, and they would
// make error messages and canonical forms ambiguous. Tabs and newlines are
// refused too: clauses are separated by spaces only.
func checkChars(text string) error {
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return syntaxErr(i, "control character %#02x; separate clauses with spaces", c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && n == 1 {
			return syntaxErr(i, "invalid UTF-8")
		}
		if r >= 0x80 && r <= 0x9f {
			return syntaxErr(i, "control character U+%04X", r)
		}
		i += n
	}
	return nil
}

// parser is Parse's cursor over the text.
type parser struct {
	text string
	pos  int
}

// clause parses one clause starting at p.pos (not a space) and leaves p.pos
// after it.
func (p *parser) clause() (Clause, error) {
	text := p.text
	start := p.pos
	c := Clause{Pos: start}
	if text[p.pos] == '-' {
		c.Neg = true
		p.pos++
		if p.pos == len(text) || text[p.pos] == ' ' {
			return c, syntaxErr(start, "'-' with nothing to negate; write -field:value or -word without a space")
		}
		if text[p.pos] == '-' {
			return c, syntaxErr(p.pos, "double '-'; one negates")
		}
	}
	if text[p.pos] == '"' {
		return p.phrase(c)
	}
	// A word runs to a space; a ':' in it makes it a field clause.
	bodyStart := p.pos
	end := bodyStart
	for end < len(text) && text[end] != ' ' && text[end] != ':' && text[end] != '"' {
		end++
	}
	if end < len(text) && text[end] == ':' {
		if end == bodyStart {
			return c, syntaxErr(end, "':' with no field name before it")
		}
		return p.fieldClause(c, bodyStart, end)
	}
	if end < len(text) && text[end] == '"' {
		return c, syntaxErr(end, "quote inside a word; a quoted phrase starts with '\"'")
	}
	word := text[bodyStart:end]
	if i := strings.IndexAny(word, `*\`); i >= 0 {
		if word[i] == '*' {
			return c, syntaxErr(bodyStart+i, "wildcard '*' works only on field values (field:value*)")
		}
		return c, syntaxErr(bodyStart+i, "backslash outside quotes; quote the word")
	}
	p.pos = end
	return textClause(c, bodyStart, word, false)
}

// phrase parses a quoted phrase at p.pos.
func (p *parser) phrase(c Clause) (Clause, error) {
	open := p.pos
	s, end, err := unquote(p.text, open)
	if err != nil {
		return c, err
	}
	if end < len(p.text) && p.text[end] != ' ' {
		if p.text[end] == '*' {
			return c, syntaxErr(end, "wildcard '*' works only on unquoted field values (field:value*)")
		}
		return c, syntaxErr(end, "%q right after the closing quote; separate clauses with a space", p.text[end])
	}
	p.pos = end
	return textClause(c, open, s, true)
}

// textClause completes a free-text clause. A bare word of several tokens
// (10.0.0.7, user.login) is a phrase of them: the user typed one thing.
func textClause(c Clause, pos int, s string, quoted bool) (Clause, error) {
	c.Kind = KindText
	c.Text = s
	c.Tokens = tokenize.Strings(s)
	if len(c.Tokens) == 0 {
		return c, syntaxErr(pos, "%q has no searchable words (letters or digits)", s)
	}
	c.Phrase = quoted || len(c.Tokens) > 1
	return c, nil
}

// unquote reads the quoted string whose opening quote is at text[open]. It
// returns the content and the offset after the closing quote. Only \" and \\
// are escapes.
func unquote(text string, open int) (string, int, error) {
	var b strings.Builder
	plain := true // no escape seen: the content is a substring
	for i := open + 1; i < len(text); i++ {
		switch text[i] {
		case '"':
			if plain {
				return text[open+1 : i], i + 1, nil
			}
			return b.String(), i + 1, nil
		case '\\':
			if i+1 == len(text) {
				return "", 0, syntaxErr(open, "unterminated quote")
			}
			if e := text[i+1]; e != '"' && e != '\\' {
				return "", 0, syntaxErr(i, "unknown escape '\\%c'; only \\\" and \\\\ are escapes", e)
			}
			if plain {
				plain = false
				b.WriteString(text[open+1 : i])
			}
			i++
			b.WriteByte(text[i])
		default:
			if !plain {
				b.WriteByte(text[i])
			}
		}
	}
	return "", 0, syntaxErr(open, "unterminated quote")
}

// rawValue is one value of a field clause before its field interprets it.
type rawValue struct {
	s      string // content (unescaped when quoted)
	pos    int    // offset of its first byte (the quote when quoted)
	quoted bool
}

// fieldClause parses `name:v1,v2,...` where text[nameEnd] is the ':'.
func (p *parser) fieldClause(c Clause, nameStart, nameEnd int) (Clause, error) {
	f, err := resolveField(p.text[nameStart:nameEnd], nameStart)
	if err != nil {
		return c, err
	}
	c.Kind, c.Field = f.kind, f.path
	var values []rawValue
	text := p.text
	pos := nameEnd + 1
	for {
		if pos == len(text) || text[pos] == ' ' || text[pos] == ',' {
			switch {
			case len(values) == 0:
				return c, syntaxErr(pos, "empty value for %s", f.name)
			case pos < len(text) && text[pos] == ' ':
				return c, syntaxErr(pos, "empty value after ','; write values as a,b without spaces")
			}
			return c, syntaxErr(pos, "empty value in the list of %s", f.name)
		}
		var v rawValue
		if text[pos] == '"' {
			s, end, err := unquote(text, pos)
			if err != nil {
				return c, err
			}
			if end < len(text) && text[end] == '*' {
				return c, syntaxErr(end, "wildcard '*' on a quoted value; only unquoted values take a trailing '*'")
			}
			v, pos = rawValue{s: s, pos: pos, quoted: true}, end
		} else {
			end := pos
			for end < len(text) && text[end] != ' ' && text[end] != ',' {
				switch text[end] {
				case '"':
					return c, syntaxErr(end, "quote inside a value; quote the whole value")
				case '\\':
					return c, syntaxErr(end, "backslash outside quotes; quote the value")
				}
				end++
			}
			v, pos = rawValue{s: text[pos:end], pos: pos}, end
		}
		values = append(values, v)
		if pos == len(text) || text[pos] == ' ' {
			break
		}
		if text[pos] != ',' {
			return c, syntaxErr(pos, "%q right after the closing quote; separate values with ',' and clauses with a space", text[pos])
		}
		pos++
	}
	p.pos = pos
	return c, f.values(&c, values)
}
