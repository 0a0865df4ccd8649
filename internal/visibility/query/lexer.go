package query

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error is a query that cannot be parsed or does not type-check. Pos is
// the 1-based byte offset in the query where the problem starts.
type Error struct {
	Pos int
	Msg string
	// Undefined is the name of the search attribute the query uses but
	// the namespace does not define, when that is the problem.
	Undefined string
}

func (e *Error) Error() string {
	return fmt.Sprintf("invalid query: %s (at position %d)", e.Msg, e.Pos)
}

func errorf(pos int, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokIdent
	tokQuotedIdent // `backquoted`
	tokString
	tokNumber
	tokOp // = != <> < <= > >=
	tokLParen
	tokRParen
	tokComma
)

type token struct {
	kind tokenKind
	text string // identifier or operator as written; string literal unquoted
	pos  int    // 1-based byte offset
}

// describe names a token for "expected X, found Y" messages.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of query"
	case tokString:
		return fmt.Sprintf("string '%s'", t.text)
	case tokQuotedIdent:
		return "`" + t.text + "`"
	}
	return "'" + t.text + "'"
}

// keyword reports whether t is the (case-insensitive, unquoted) keyword kw.
func (t token) keyword(kw string) bool {
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

// maxQueryLength bounds the input so a hostile query cannot make the
// parser or the database work hard.
const maxQueryLength = 32 << 10

// lex splits a query into tokens, ending with tokEOF.
func lex(src string) ([]token, error) {
	if len(src) > maxQueryLength {
		return nil, errorf(maxQueryLength, "query is longer than %d bytes", maxQueryLength)
	}
	if !utf8.ValidString(src) {
		return nil, errorf(1, "query is not valid UTF-8")
	}
	var toks []token
	for i := 0; ; {
		for i < len(src) && isSpace(src[i]) {
			i++
		}
		if i == len(src) {
			return append(toks, token{kind: tokEOF, pos: i + 1}), nil
		}
		tok, next, err := lexOne(src, i)
		if err != nil {
			return nil, err
		}
		toks = append(toks, tok)
		i = next
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isIdentRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// lexOne reads the token starting at src[i] and returns it with the offset
// after it.
func lexOne(src string, i int) (token, int, error) {
	pos := i + 1
	c := src[i]
	switch {
	case c == '(':
		return token{tokLParen, "(", pos}, i + 1, nil
	case c == ')':
		return token{tokRParen, ")", pos}, i + 1, nil
	case c == ',':
		return token{tokComma, ",", pos}, i + 1, nil
	case c == '\'' || c == '"':
		s, next, err := lexQuoted(src, i)
		return token{tokString, s, pos}, next, err
	case c == '`':
		end := strings.IndexByte(src[i+1:], '`')
		if end < 0 {
			return token{}, 0, errorf(pos, "unterminated backquoted name")
		}
		if end == 0 {
			return token{}, 0, errorf(pos, "empty backquoted name")
		}
		return token{tokQuotedIdent, src[i+1 : i+1+end], pos}, i + end + 2, nil
	case c == '=' || c == '<' || c == '>' || c == '!':
		for _, op := range []string{"<=", ">=", "!=", "<>", "=", "<", ">"} {
			if strings.HasPrefix(src[i:], op) {
				return token{tokOp, op, pos}, i + len(op), nil
			}
		}
		return token{}, 0, errorf(pos, "unexpected character '!'")
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		return lexNumber(src, i)
	}
	r, size := utf8.DecodeRuneInString(src[i:])
	if !isIdentRune(r) {
		return token{}, 0, errorf(pos, "unexpected character %q", r)
	}
	j := i + size
	for j < len(src) {
		r, size := utf8.DecodeRuneInString(src[j:])
		if !isIdentRune(r) {
			break
		}
		j += size
	}
	return token{tokIdent, src[i:j], pos}, j, nil
}

// lexQuoted reads a string literal in single or double quotes. Inside, a
// doubled quote or a backslash escapes the next character.
func lexQuoted(src string, i int) (string, int, error) {
	quote := src[i]
	var b strings.Builder
	for j := i + 1; j < len(src); j++ {
		c := src[j]
		switch {
		case c == '\\' && j+1 < len(src):
			j++
			b.WriteByte(src[j])
		case c == quote && j+1 < len(src) && src[j+1] == quote:
			j++
			b.WriteByte(quote)
		case c == quote:
			return b.String(), j + 1, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errorf(i+1, "unterminated string")
}

func lexNumber(src string, i int) (token, int, error) {
	j := i
	if src[j] == '-' || src[j] == '+' {
		j++
	}
	start := j
	for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.' || src[j] == 'e' || src[j] == 'E' ||
		((src[j] == '-' || src[j] == '+') && (src[j-1] == 'e' || src[j-1] == 'E'))) {
		j++
	}
	if j == start {
		return token{}, 0, errorf(i+1, "unexpected character %q", src[i])
	}
	return token{tokNumber, src[i:j], i + 1}, j, nil
}
