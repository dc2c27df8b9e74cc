package expr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Segment is one part of a template string: literal text, or a compiled
// expression with its byte offset in the template.
type Segment struct {
	Text   string
	Prog   *Program
	Offset int
}

const (
	open  = "${{"
	close = "}}"
)

// HasExpr reports whether s contains a ${{ … }} expression.
func HasExpr(s string) bool { return strings.Contains(s, open) }

// ParseTemplate splits s into text and compiled expressions. An error is an
// *Error whose Offset is relative to s.
func ParseTemplate(s string) ([]Segment, error) {
	var segs []Segment
	i := 0
	for {
		j := strings.Index(s[i:], open)
		if j < 0 {
			if i < len(s) {
				segs = append(segs, Segment{Text: s[i:], Offset: i})
			}
			return segs, nil
		}
		if j > 0 {
			segs = append(segs, Segment{Text: s[i : i+j], Offset: i})
		}
		start := i + j + len(open)
		end := findClose(s, start)
		if end < 0 {
			return nil, &Error{Offset: i + j, Msg: "unclosed ${{: want ${{ expression }}"}
		}
		prog, err := Compile(s[start:end])
		if err != nil {
			e := err.(*Error)
			return nil, &Error{Offset: start + e.Offset, Msg: e.Msg}
		}
		segs = append(segs, Segment{Prog: prog, Offset: start})
		i = end + len(close)
	}
}

// findClose finds the }} ending an expression that starts at from, skipping
// braces and quoted strings inside the expression.
func findClose(s string, from int) int {
	depth := 0
	var quote byte
	for i := from; i < len(s); i++ {
		c := s[i]
		if quote != 0 {
			if c == '\\' {
				i++
				continue
			}
			if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '\'', '`':
			quote = c
		case '{':
			depth++
		case '}':
			if depth > 0 {
				depth--
				continue
			}
			if i+1 < len(s) && s[i+1] == '}' {
				return i
			}
		}
	}
	return -1
}

// Render evaluates a template. A template that is exactly one expression
// yields the expression's value with its type; otherwise the parts are
// joined as a string (nil renders as "", maps and lists as JSON).
func Render(segs []Segment, env map[string]any) (any, error) {
	if len(segs) == 1 && segs[0].Prog != nil {
		return segs[0].Prog.Eval(env)
	}
	var b strings.Builder
	for _, s := range segs {
		if s.Prog == nil {
			b.WriteString(s.Text)
			continue
		}
		v, err := s.Prog.Eval(env)
		if err != nil {
			return nil, err
		}
		b.WriteString(Stringify(v))
	}
	return b.String(), nil
}

// Stringify renders a value inside text.
func Stringify(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case map[string]any, []any:
		b, err := jsonMarshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
	return fmt.Sprint(v)
}
func jsonMarshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
