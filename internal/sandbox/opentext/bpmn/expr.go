package bpmn

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file is a small, safe evaluator for the JUEL-style expressions
// (${...}) that process models use in conditions, names, assignments, HTTP
// task templates and listeners. It supports literals, variables, property and
// index access on JSON values, the arithmetic, comparison, logical, empty and
// ternary operators, a few String/Map/List methods, execution.getVariable /
// setVariable and the vars:/variables: functions. It never reflects into Go
// values and has no way to reach the host.

// Template is a parsed string that may hold ${...} expressions.
type Template struct {
	src    string
	parts  []tmplPart
	single bool // the whole template is one expression: evaluate to its typed value
}

type tmplPart struct {
	lit  string
	expr node
	src  string
}

// ParseTemplate parses s.
func ParseTemplate(s string) (*Template, error) {
	t := &Template{src: s}
	i := 0
	var lit strings.Builder
	for i < len(s) {
		if (s[i] == '$' || s[i] == '#') && i+1 < len(s) && s[i+1] == '{' {
			if i > 0 && s[i-1] == '\\' {
				// escaped: \${ is a literal ${
				str := lit.String()
				lit.Reset()
				lit.WriteString(str[:len(str)-1])
				lit.WriteString(s[i : i+2])
				i += 2
				continue
			}
			p := &parser{lx: newLexer(s, i+2)}
			p.next()
			n, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			if p.tok.kind != tPunct || p.tok.text != "}" {
				return nil, fmt.Errorf("at offset %d: expected } to close the expression, found %q", p.tok.pos, p.tok.text)
			}
			end := p.tok.pos + 1
			if lit.Len() > 0 {
				t.parts = append(t.parts, tmplPart{lit: lit.String()})
				lit.Reset()
			}
			t.parts = append(t.parts, tmplPart{expr: n, src: s[i:end]})
			i = end
			continue
		}
		lit.WriteByte(s[i])
		i++
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, tmplPart{lit: lit.String()})
	}
	t.single = len(t.parts) == 1 && t.parts[0].expr != nil
	return t, nil
}

// HasExpression reports whether the template contains an expression.
func (t *Template) HasExpression() bool {
	for _, p := range t.parts {
		if p.expr != nil {
			return true
		}
	}
	return false
}

// Eval evaluates the template: a template that is exactly one expression
// yields the expression's value; anything else yields a string.
func (t *Template) Eval(sc Scope) (any, error) {
	if t.single {
		v, err := t.parts[0].expr.eval(sc)
		if err != nil {
			return nil, wrapEval(err, t.parts[0].src)
		}
		return v, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.expr == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := p.expr.eval(sc)
		if err != nil {
			return nil, wrapEval(err, p.src)
		}
		b.WriteString(ToString(v))
	}
	return b.String(), nil
}

// EvalString evaluates the template and renders the result as a string.
func (t *Template) EvalString(sc Scope) (string, error) {
	v, err := t.Eval(sc)
	if err != nil {
		return "", err
	}
	return ToString(v), nil
}

// EvalExpr parses and evaluates s in one go.
func EvalExpr(s string, sc Scope) (any, error) {
	t, err := ParseTemplate(s)
	if err != nil {
		return nil, fmt.Errorf("parsing expression %q: %w", s, err)
	}
	return t.Eval(sc)
}

// EvalString parses s and evaluates it to a string.
func EvalString(s string, sc Scope) (string, error) {
	t, err := ParseTemplate(s)
	if err != nil {
		return "", fmt.Errorf("parsing expression %q: %w", s, err)
	}
	return t.EvalString(sc)
}

// EvalBool evaluates a condition.
func EvalBool(s string, sc Scope) (bool, error) {
	v, err := EvalExpr(s, sc)
	if err != nil {
		return false, err
	}
	b, ok := toBool(v)
	if !ok {
		return false, fmt.Errorf("condition expression returns non-Boolean: %s (value %v)", s, v)
	}
	return b, nil
}

// EvalError is an error raised while evaluating an expression.
type EvalError struct {
	Expr string
	Err  error
}

func (e *EvalError) Error() string {
	var up *unknownProperty
	if errors.As(e.Err, &up) {
		return "Unknown property used in expression: " + e.Expr
	}
	return fmt.Sprintf("Error while evaluating expression: %s: %v", e.Expr, e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }

func wrapEval(err error, src string) error {
	var ee *EvalError
	if errors.As(err, &ee) {
		return err
	}
	return &EvalError{Expr: src, Err: err}
}

type unknownProperty struct{ name string }

func (u *unknownProperty) Error() string { return "unknown property " + u.name }

// Scope resolves identifiers for the evaluator.
type Scope interface {
	// Lookup returns the value of a variable or built-in object.
	Lookup(name string) (any, bool)
}

// Object is a value with members and methods (execution, task, JSON).
type Object interface {
	Member(name string) (any, error)
	Call(method string, args []any) (any, error)
}

// MapScope is a Scope over a plain map, for tests and templates.
type MapScope map[string]any

// Lookup implements Scope.
func (m MapScope) Lookup(name string) (any, bool) { v, ok := m[name]; return v, ok }

// ---- lexer ----

type tokKind int

const (
	tEOF tokKind = iota
	tNum
	tStr
	tIdent
	tPunct
)

type token struct {
	kind tokKind
	text string
	val  any
	pos  int
	nl   bool // a newline precedes the token
}

type lexer struct {
	s   string
	pos int
}

func newLexer(s string, pos int) *lexer { return &lexer{s: s, pos: pos} }

var puncts = []string{"===", "!==", "==", "!=", "<=", ">=", "&&", "||", "=>", "+=", "-=", "++", "--",
	"(", ")", "[", "]", "{", "}", ".", ",", "?", ":", ";", "+", "-", "*", "/", "%", "<", ">", "!", "="}

func (l *lexer) next() (token, error) {
	nl := false
	for l.pos < len(l.s) {
		c := l.s[l.pos]
		if c == '\n' {
			nl = true
		}
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			l.pos++
			continue
		}
		if c == '/' && l.pos+1 < len(l.s) && l.s[l.pos+1] == '/' {
			for l.pos < len(l.s) && l.s[l.pos] != '\n' {
				l.pos++
			}
			continue
		}
		break
	}
	start := l.pos
	if l.pos >= len(l.s) {
		return token{kind: tEOF, pos: start, nl: nl}, nil
	}
	c := l.s[l.pos]
	switch {
	case c >= '0' && c <= '9':
		for l.pos < len(l.s) && (isDigit(l.s[l.pos]) || l.s[l.pos] == '.' || l.s[l.pos] == 'e' || l.s[l.pos] == 'E' ||
			((l.s[l.pos] == '+' || l.s[l.pos] == '-') && (l.s[l.pos-1] == 'e' || l.s[l.pos-1] == 'E'))) {
			if l.s[l.pos] == '.' && (l.pos+1 >= len(l.s) || !isDigit(l.s[l.pos+1])) {
				break
			}
			l.pos++
		}
		text := l.s[start:l.pos]
		if strings.ContainsAny(text, ".eE") {
			f, err := strconv.ParseFloat(text, 64)
			if err != nil {
				return token{}, fmt.Errorf("at offset %d: bad number %q", start, text)
			}
			return token{kind: tNum, text: text, val: f, pos: start, nl: nl}, nil
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return token{}, fmt.Errorf("at offset %d: bad number %q", start, text)
		}
		return token{kind: tNum, text: text, val: n, pos: start, nl: nl}, nil
	case c == '\'' || c == '"':
		q := c
		l.pos++
		var b strings.Builder
		for {
			if l.pos >= len(l.s) {
				return token{}, fmt.Errorf("at offset %d: unterminated string", start)
			}
			ch := l.s[l.pos]
			if ch == '\\' && l.pos+1 < len(l.s) {
				nx := l.s[l.pos+1]
				switch nx {
				case '\\', '\'', '"':
					b.WriteByte(nx)
				case 'n':
					b.WriteByte('\n')
				case 't':
					b.WriteByte('\t')
				case 'r':
					b.WriteByte('\r')
				default:
					b.WriteByte('\\')
					b.WriteByte(nx)
				}
				l.pos += 2
				continue
			}
			if ch == q {
				l.pos++
				break
			}
			b.WriteByte(ch)
			l.pos++
		}
		return token{kind: tStr, text: l.s[start:l.pos], val: b.String(), pos: start, nl: nl}, nil
	case isIdentStart(c):
		for l.pos < len(l.s) && isIdentPart(l.s[l.pos]) {
			l.pos++
		}
		return token{kind: tIdent, text: l.s[start:l.pos], pos: start, nl: nl}, nil
	}
	for _, p := range puncts {
		if strings.HasPrefix(l.s[l.pos:], p) {
			l.pos += len(p)
			return token{kind: tPunct, text: p, pos: start, nl: nl}, nil
		}
	}
	return token{}, fmt.Errorf("at offset %d: unexpected character %q", start, c)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
func isIdentPart(c byte) bool { return isIdentStart(c) || isDigit(c) }

// ---- parser ----

type parser struct {
	lx  *lexer
	tok token
	err error
	js  bool // script mode: object literals, JS keywords
}

func (p *parser) next() {
	if p.err != nil {
		return
	}
	t, err := p.lx.next()
	if err != nil {
		p.err = err
		p.tok = token{kind: tEOF, pos: p.lx.pos}
		return
	}
	p.tok = t
}

func (p *parser) isPunct(s string) bool { return p.tok.kind == tPunct && p.tok.text == s }
func (p *parser) isWord(s string) bool  { return p.tok.kind == tIdent && p.tok.text == s }

func (p *parser) expect(s string) error {
	if p.err != nil {
		return p.err
	}
	if !p.isPunct(s) {
		return p.errf("expected %q, found %q", s, p.tok.text)
	}
	p.next()
	return p.err
}

func (p *parser) errf(format string, args ...any) error {
	if p.err != nil {
		return p.err
	}
	return fmt.Errorf("at offset %d: %s", p.tok.pos, fmt.Sprintf(format, args...))
}

func (p *parser) parseExpr() (node, error) {
	n, err := p.parseTernary()
	if err == nil && p.err != nil {
		err = p.err
	}
	return n, err
}

func (p *parser) parseTernary() (node, error) {
	c, err := p.parseBinary(0)
	if err != nil {
		return nil, err
	}
	if !p.isPunct("?") {
		return c, nil
	}
	p.next()
	a, err := p.parseTernary()
	if err != nil {
		return nil, err
	}
	if err := p.expect(":"); err != nil {
		return nil, err
	}
	b, err := p.parseTernary()
	if err != nil {
		return nil, err
	}
	return &condNode{c, a, b}, nil
}

var binPrec = map[string]int{
	"||": 1, "or": 1,
	"&&": 2, "and": 2,
	"==": 3, "!=": 3, "===": 3, "!==": 3, "eq": 3, "ne": 3,
	"<": 4, ">": 4, "<=": 4, ">=": 4, "lt": 4, "gt": 4, "le": 4, "ge": 4,
	"+": 5, "-": 5,
	"*": 6, "/": 6, "%": 6, "div": 6, "mod": 6,
}

var opAlias = map[string]string{"or": "||", "and": "&&", "eq": "==", "ne": "!=", "===": "==", "!==": "!=",
	"lt": "<", "gt": ">", "le": "<=", "ge": ">=", "div": "/", "mod": "%"}

func (p *parser) binOp() (string, int) {
	if p.tok.kind != tPunct && p.tok.kind != tIdent {
		return "", 0
	}
	prec, ok := binPrec[p.tok.text]
	if !ok {
		return "", 0
	}
	op := p.tok.text
	if a, ok := opAlias[op]; ok {
		op = a
	}
	return op, prec
}

func (p *parser) parseBinary(minPrec int) (node, error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		op, prec := p.binOp()
		if prec == 0 || prec <= minPrec {
			return left, nil
		}
		p.next()
		right, err := p.parseBinary(prec)
		if err != nil {
			return nil, err
		}
		left = &binNode{op, left, right}
	}
}

func (p *parser) parseUnary() (node, error) {
	switch {
	case p.isPunct("!") || p.isWord("not"):
		p.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &unaryNode{"!", x}, nil
	case p.isPunct("-"):
		p.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &unaryNode{"-", x}, nil
	case p.isWord("empty"):
		p.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &unaryNode{"empty", x}, nil
	}
	return p.parsePostfix()
}

func (p *parser) parsePostfix() (node, error) {
	x, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for {
		switch {
		case p.isPunct("."):
			p.next()
			if p.tok.kind != tIdent {
				return nil, p.errf("expected a property name after '.', found %q", p.tok.text)
			}
			name := p.tok.text
			p.next()
			x = &memberNode{x, name}
		case p.isPunct("["):
			p.next()
			idx, err := p.parseTernary()
			if err != nil {
				return nil, err
			}
			if err := p.expect("]"); err != nil {
				return nil, err
			}
			x = &indexNode{x, idx}
		case p.isPunct("("):
			p.next()
			args, err := p.parseArgs(")")
			if err != nil {
				return nil, err
			}
			x = &callNode{x, args}
		default:
			return x, p.err
		}
	}
}

func (p *parser) parseArgs(closer string) ([]node, error) {
	var args []node
	if p.isPunct(closer) {
		p.next()
		return args, p.err
	}
	for {
		a, err := p.parseTernary()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		if p.isPunct(",") {
			p.next()
			continue
		}
		if err := p.expect(closer); err != nil {
			return nil, err
		}
		return args, nil
	}
}

var jsReserved = map[string]bool{"function": true, "if": true, "else": true, "for": true, "while": true,
	"switch": true, "case": true, "return": true, "new": true, "class": true, "do": true, "try": true,
	"catch": true, "throw": true, "typeof": true, "delete": true, "in": true, "of": true}

func (p *parser) parsePrimary() (node, error) {
	if p.err != nil {
		return nil, p.err
	}
	t := p.tok
	switch t.kind {
	case tNum, tStr:
		p.next()
		return &litNode{t.val}, nil
	case tIdent:
		switch t.text {
		case "true":
			p.next()
			return &litNode{true}, nil
		case "false":
			p.next()
			return &litNode{false}, nil
		case "null", "undefined":
			p.next()
			return &litNode{nil}, nil
		}
		if jsReserved[t.text] {
			return nil, p.errf("unsupported keyword %q", t.text)
		}
		p.next()
		// JUEL function with a namespace prefix: vars:get(x)
		if p.isPunct(":") && !p.js {
			save := *p.lx
			saveTok := p.tok
			p.next()
			if p.tok.kind == tIdent {
				fn := p.tok.text
				p.next()
				if p.isPunct("(") {
					p.next()
					args, err := p.parseArgs(")")
					if err != nil {
						return nil, err
					}
					return &funcNode{ns: t.text, name: fn, args: args}, nil
				}
			}
			*p.lx = save
			p.tok = saveTok
		}
		if p.isPunct("=>") {
			return nil, p.errf("arrow functions are not supported")
		}
		return &identNode{t.text}, nil
	case tPunct:
		switch t.text {
		case "(":
			p.next()
			x, err := p.parseTernary()
			if err != nil {
				return nil, err
			}
			if err := p.expect(")"); err != nil {
				return nil, err
			}
			if p.isPunct("=>") {
				return nil, p.errf("arrow functions are not supported")
			}
			return x, nil
		case "[":
			p.next()
			items, err := p.parseArgs("]")
			if err != nil {
				return nil, err
			}
			return &listNode{items}, nil
		case "{":
			if !p.js {
				break
			}
			p.next()
			obj := &objNode{}
			for !p.isPunct("}") {
				var key string
				switch p.tok.kind {
				case tIdent:
					key = p.tok.text
				case tStr:
					key = p.tok.val.(string)
				default:
					return nil, p.errf("expected an object key, found %q", p.tok.text)
				}
				p.next()
				if err := p.expect(":"); err != nil {
					return nil, err
				}
				v, err := p.parseTernary()
				if err != nil {
					return nil, err
				}
				obj.keys = append(obj.keys, key)
				obj.vals = append(obj.vals, v)
				if p.isPunct(",") {
					p.next()
					continue
				}
				if !p.isPunct("}") {
					return nil, p.errf("expected ',' or '}' in object literal, found %q", p.tok.text)
				}
			}
			p.next()
			return obj, p.err
		}
	case tEOF:
		return nil, p.errf("unexpected end of expression")
	}
	return nil, p.errf("unexpected %q", t.text)
}

// ---- AST and evaluation ----

type node interface {
	eval(sc Scope) (any, error)
}

type litNode struct{ v any }

func (n *litNode) eval(Scope) (any, error) { return n.v, nil }

type identNode struct{ name string }

func (n *identNode) eval(sc Scope) (any, error) {
	if v, ok := sc.Lookup(n.name); ok {
		return v, nil
	}
	switch n.name {
	case "JSON":
		return jsonObject{}, nil
	case "Math":
		return mathObject{}, nil
	}
	return nil, &unknownProperty{n.name}
}

type memberNode struct {
	x    node
	name string
}

func (n *memberNode) eval(sc Scope) (any, error) {
	base, err := n.x.eval(sc)
	if err != nil {
		return nil, err
	}
	return getMember(base, n.name)
}

func getMember(base any, name string) (any, error) {
	switch b := base.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return b[name], nil
	case Object:
		return b.Member(name)
	case string:
		if name == "length" {
			return int64(len([]rune(b))), nil
		}
	case []any:
		if name == "length" {
			return int64(len(b)), nil
		}
	}
	return nil, fmt.Errorf("property %q not found on %s", name, typeName(base))
}

type indexNode struct{ x, idx node }

func (n *indexNode) eval(sc Scope) (any, error) {
	base, err := n.x.eval(sc)
	if err != nil {
		return nil, err
	}
	i, err := n.idx.eval(sc)
	if err != nil {
		return nil, err
	}
	switch b := base.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return b[ToString(i)], nil
	case []any:
		k, ok := toInt(i)
		if !ok || k < 0 || k >= int64(len(b)) {
			return nil, nil
		}
		return b[k], nil
	case Object:
		return b.Member(ToString(i))
	}
	return nil, fmt.Errorf("cannot index %s", typeName(base))
}

type callNode struct {
	fn   node
	args []node
}

func (n *callNode) eval(sc Scope) (any, error) {
	args := make([]any, len(n.args))
	for i, a := range n.args {
		v, err := a.eval(sc)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	m, ok := n.fn.(*memberNode)
	if !ok {
		if id, ok := n.fn.(*identNode); ok {
			return callGlobal(id.name, args)
		}
		return nil, fmt.Errorf("expression is not callable")
	}
	recv, err := m.x.eval(sc)
	if err != nil {
		return nil, err
	}
	return callMethod(recv, m.name, args)
}

func callGlobal(name string, args []any) (any, error) {
	switch name {
	case "String":
		if len(args) == 1 {
			return ToString(args[0]), nil
		}
	case "Number", "parseFloat":
		if len(args) == 1 {
			f, ok := toFloat(args[0])
			if !ok {
				return math.NaN(), nil
			}
			return normNumber(f), nil
		}
	case "parseInt":
		if len(args) >= 1 {
			f, ok := toFloat(args[0])
			if !ok {
				return math.NaN(), nil
			}
			return int64(f), nil
		}
	case "Boolean":
		if len(args) == 1 {
			return truthy(args[0]), nil
		}
	}
	return nil, fmt.Errorf("unknown function %s", name)
}

func callMethod(recv any, name string, args []any) (any, error) {
	switch r := recv.(type) {
	case Object:
		return r.Call(name, args)
	case string:
		return stringMethod(r, name, args)
	case map[string]any:
		switch name {
		case "get":
			if len(args) == 1 {
				return r[ToString(args[0])], nil
			}
		case "containsKey", "has", "hasOwnProperty":
			if len(args) == 1 {
				_, ok := r[ToString(args[0])]
				return ok, nil
			}
		case "size":
			return int64(len(r)), nil
		case "isEmpty":
			return len(r) == 0, nil
		}
	case []any:
		switch name {
		case "get":
			if len(args) == 1 {
				k, ok := toInt(args[0])
				if ok && k >= 0 && k < int64(len(r)) {
					return r[k], nil
				}
				return nil, fmt.Errorf("index %v out of range", args[0])
			}
		case "size":
			return int64(len(r)), nil
		case "isEmpty":
			return len(r) == 0, nil
		case "contains", "includes":
			if len(args) == 1 {
				for _, x := range r {
					if equal(x, args[0]) {
						return true, nil
					}
				}
				return false, nil
			}
		case "join":
			sep := ","
			if len(args) == 1 {
				sep = ToString(args[0])
			}
			parts := make([]string, len(r))
			for i, x := range r {
				parts[i] = ToString(x)
			}
			return strings.Join(parts, sep), nil
		}
	case nil:
		return nil, fmt.Errorf("cannot call %s() on null", name)
	}
	return nil, fmt.Errorf("method %s(%d args) not found on %s", name, len(args), typeName(recv))
}

func stringMethod(s, name string, args []any) (any, error) {
	arg := func(i int) string { return ToString(args[i]) }
	switch {
	case name == "replace" && len(args) == 2:
		return strings.ReplaceAll(s, arg(0), arg(1)), nil
	case name == "replaceAll" && len(args) == 2:
		re, err := regexp.Compile(arg(0))
		if err != nil {
			return nil, fmt.Errorf("replaceAll: %w", err)
		}
		return re.ReplaceAllString(s, javaReplacement(arg(1))), nil
	case name == "trim" && len(args) == 0:
		return strings.TrimSpace(s), nil
	case (name == "toLowerCase") && len(args) == 0:
		return strings.ToLower(s), nil
	case (name == "toUpperCase") && len(args) == 0:
		return strings.ToUpper(s), nil
	case name == "length" && len(args) == 0:
		return int64(len([]rune(s))), nil
	case name == "isEmpty" && len(args) == 0:
		return s == "", nil
	case (name == "contains" || name == "includes") && len(args) == 1:
		return strings.Contains(s, arg(0)), nil
	case name == "startsWith" && len(args) == 1:
		return strings.HasPrefix(s, arg(0)), nil
	case name == "endsWith" && len(args) == 1:
		return strings.HasSuffix(s, arg(0)), nil
	case name == "equals" && len(args) == 1:
		return s == ToString(args[0]) && args[0] != nil, nil
	case name == "equalsIgnoreCase" && len(args) == 1:
		return strings.EqualFold(s, arg(0)), nil
	case name == "indexOf" && len(args) == 1:
		return int64(strings.Index(s, arg(0))), nil
	case name == "concat" && len(args) == 1:
		return s + arg(0), nil
	case name == "substring" && (len(args) == 1 || len(args) == 2):
		rs := []rune(s)
		a, _ := toInt(args[0])
		b := int64(len(rs))
		if len(args) == 2 {
			b, _ = toInt(args[1])
		}
		if a < 0 || b > int64(len(rs)) || a > b {
			return nil, fmt.Errorf("substring(%d, %d) out of range for length %d", a, b, len(rs))
		}
		return string(rs[a:b]), nil
	case name == "split" && len(args) == 1:
		parts := strings.Split(s, arg(0))
		out := make([]any, len(parts))
		for i, p := range parts {
			out[i] = p
		}
		return out, nil
	}
	return nil, fmt.Errorf("method %s(%d args) not found on String", name, len(args))
}

// javaReplacement turns Java's $1 group references into Go's ${1}.
func javaReplacement(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			if s[i+1] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(s[i+1])
			}
			i++
			continue
		}
		if s[i] == '$' && i+1 < len(s) && isDigit(s[i+1]) {
			j := i + 1
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			b.WriteString("${" + s[i+1:j] + "}")
			i = j - 1
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

type funcNode struct {
	ns, name string
	args     []node
}

// Scopes that expose variables implement VarReader for the vars: functions.
type VarReader interface {
	Variable(name string) (any, bool)
}

func (n *funcNode) eval(sc Scope) (any, error) {
	args := make([]any, 0, len(n.args))
	// The first argument of the variable functions is a variable *name*
	// written as a bare identifier: vars:get(amount).
	var varName string
	for i, a := range n.args {
		if i == 0 {
			if id, ok := a.(*identNode); ok {
				varName = id.name
				args = append(args, nil)
				continue
			}
		}
		v, err := a.eval(sc)
		if err != nil {
			return nil, err
		}
		args = append(args, v)
	}
	switch n.ns {
	case "vars", "variables", "var":
	default:
		return nil, fmt.Errorf("unknown function %s:%s", n.ns, n.name)
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("%s:%s needs a variable name", n.ns, n.name)
	}
	if varName == "" {
		varName = ToString(args[0])
	}
	vr, _ := sc.(VarReader)
	get := func() (any, bool) {
		if vr == nil {
			return sc.Lookup(varName)
		}
		return vr.Variable(varName)
	}
	v, ok := get()
	switch n.name {
	case "get", "getOrDefault":
		if !ok && len(args) > 1 {
			return args[1], nil
		}
		return v, nil
	case "exists":
		return ok, nil
	case "isEmpty":
		return !ok || isEmpty(v), nil
	case "isNotEmpty":
		return ok && !isEmpty(v), nil
	case "equals", "eq":
		if len(args) == 2 {
			return ok && equal(v, args[1]), nil
		}
	case "notEquals", "ne":
		if len(args) == 2 {
			return !ok || !equal(v, args[1]), nil
		}
	case "contains":
		if len(args) >= 2 {
			for _, want := range args[1:] {
				found := false
				switch c := v.(type) {
				case string:
					found = strings.Contains(c, ToString(want))
				case []any:
					for _, x := range c {
						if equal(x, want) {
							found = true
						}
					}
				}
				if !found {
					return false, nil
				}
			}
			return ok, nil
		}
	}
	return nil, fmt.Errorf("unknown function %s:%s/%d", n.ns, n.name, len(args))
}

type unaryNode struct {
	op string
	x  node
}

func (n *unaryNode) eval(sc Scope) (any, error) {
	v, err := n.x.eval(sc)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "!":
		return !truthy(v), nil
	case "-":
		if i, ok := v.(int64); ok {
			return -i, nil
		}
		f, ok := toFloat(v)
		if !ok {
			return nil, fmt.Errorf("cannot negate %s", typeName(v))
		}
		return -f, nil
	case "empty":
		return isEmpty(v), nil
	}
	return nil, fmt.Errorf("unknown operator %s", n.op)
}

type binNode struct {
	op   string
	l, r node
}

func (n *binNode) eval(sc Scope) (any, error) {
	l, err := n.l.eval(sc)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "&&":
		if !truthy(l) {
			return false, nil
		}
		r, err := n.r.eval(sc)
		if err != nil {
			return nil, err
		}
		return truthy(r), nil
	case "||":
		if truthy(l) {
			return true, nil
		}
		r, err := n.r.eval(sc)
		if err != nil {
			return nil, err
		}
		return truthy(r), nil
	}
	r, err := n.r.eval(sc)
	if err != nil {
		return nil, err
	}
	switch n.op {
	case "==":
		return equal(l, r), nil
	case "!=":
		return !equal(l, r), nil
	case "<", ">", "<=", ">=":
		c, err := compare(l, r)
		if err != nil {
			return nil, err
		}
		switch n.op {
		case "<":
			return c < 0, nil
		case ">":
			return c > 0, nil
		case "<=":
			return c <= 0, nil
		default:
			return c >= 0, nil
		}
	case "+":
		if ls, ok := l.(string); ok {
			if _, numeric := toFloat(l); !numeric {
				return ls + ToString(r), nil
			}
		}
		if rs, ok := r.(string); ok {
			if _, numeric := toFloat(r); !numeric {
				return ToString(l) + rs, nil
			}
		}
		return arith(n.op, l, r)
	default:
		return arith(n.op, l, r)
	}
}

func arith(op string, l, r any) (any, error) {
	li, lok := l.(int64)
	ri, rok := r.(int64)
	if lok && rok && op != "/" {
		switch op {
		case "+":
			return li + ri, nil
		case "-":
			return li - ri, nil
		case "*":
			return li * ri, nil
		case "%":
			if ri == 0 {
				return nil, fmt.Errorf("division by zero")
			}
			return li % ri, nil
		}
	}
	lf, ok1 := toFloat(l)
	rf, ok2 := toFloat(r)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("cannot apply %s to %s and %s", op, typeName(l), typeName(r))
	}
	switch op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	case "/":
		if rf == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		return lf / rf, nil
	case "%":
		if rf == 0 {
			return nil, fmt.Errorf("division by zero")
		}
		return math.Mod(lf, rf), nil
	}
	return nil, fmt.Errorf("unknown operator %s", op)
}

type condNode struct{ c, a, b node }

func (n *condNode) eval(sc Scope) (any, error) {
	c, err := n.c.eval(sc)
	if err != nil {
		return nil, err
	}
	if truthy(c) {
		return n.a.eval(sc)
	}
	return n.b.eval(sc)
}

type listNode struct{ items []node }

func (n *listNode) eval(sc Scope) (any, error) {
	out := make([]any, len(n.items))
	for i, it := range n.items {
		v, err := it.eval(sc)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

type objNode struct {
	keys []string
	vals []node
}

func (n *objNode) eval(sc Scope) (any, error) {
	out := make(map[string]any, len(n.keys))
	for i, k := range n.keys {
		v, err := n.vals[i].eval(sc)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

// ---- built-in objects ----

type jsonObject struct{}

func (jsonObject) Member(name string) (any, error) {
	return nil, fmt.Errorf("property %q not found on JSON", name)
}

func (jsonObject) Call(method string, args []any) (any, error) {
	switch method {
	case "parse":
		if len(args) != 1 {
			return nil, fmt.Errorf("JSON.parse takes one argument")
		}
		s, ok := args[0].(string)
		if !ok {
			// Already structured (a variable saved as JSON).
			return args[0], nil
		}
		v, err := DecodeJSON([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("JSON.parse: %w", err)
		}
		return v, nil
	case "stringify":
		if len(args) < 1 {
			return nil, fmt.Errorf("JSON.stringify takes one argument")
		}
		b, err := json.Marshal(args[0])
		if err != nil {
			return nil, fmt.Errorf("JSON.stringify: %w", err)
		}
		return string(b), nil
	}
	return nil, fmt.Errorf("method %s not found on JSON", method)
}

type mathObject struct{}

func (mathObject) Member(name string) (any, error) {
	if name == "PI" {
		return math.Pi, nil
	}
	return nil, fmt.Errorf("property %q not found on Math", name)
}

func (mathObject) Call(method string, args []any) (any, error) {
	fs := make([]float64, len(args))
	for i, a := range args {
		f, ok := toFloat(a)
		if !ok {
			return nil, fmt.Errorf("argument %d of Math.%s is not a number", i+1, method)
		}
		fs[i] = f
	}
	switch {
	case method == "round" && len(fs) == 1:
		return int64(math.Floor(fs[0] + 0.5)), nil
	case method == "floor" && len(fs) == 1:
		return int64(math.Floor(fs[0])), nil
	case method == "ceil" && len(fs) == 1:
		return int64(math.Ceil(fs[0])), nil
	case method == "abs" && len(fs) == 1:
		return normNumber(math.Abs(fs[0])), nil
	case (method == "min" || method == "max") && len(fs) > 0:
		r := fs[0]
		for _, f := range fs[1:] {
			if method == "min" {
				r = math.Min(r, f)
			} else {
				r = math.Max(r, f)
			}
		}
		return normNumber(r), nil
	}
	return nil, fmt.Errorf("method %s not found on Math", method)
}

// ---- value helpers ----

// DecodeJSON decodes JSON with whole numbers as int64 and others as float64.
func DecodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return NormalizeJSON(v), nil
}

// NormalizeJSON converts json.Number and float64 whole numbers to int64, recursively.
func NormalizeJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case float64:
		return normNumber(x)
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case map[string]any:
		for k, e := range x {
			x[k] = NormalizeJSON(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = NormalizeJSON(e)
		}
		return x
	}
	return v
}

func normNumber(f float64) any {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return int64(f)
	}
	return f
}

// ToString renders a value the way an expression inside text renders it.
func ToString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case float64:
		s := strconv.FormatFloat(x, 'f', -1, 64)
		if !strings.ContainsAny(s, ".eEN") {
			s += ".0"
		}
		return s
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z")
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		return string(b)
	case Object:
		if s, ok := x.(fmt.Stringer); ok {
			return s.String()
		}
		return "[object]"
	}
	return fmt.Sprint(v)
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "String"
	case bool:
		return "Boolean"
	case int64, int:
		return "Long"
	case float64:
		return "Double"
	case map[string]any:
		return "Object"
	case []any:
		return "List"
	}
	return fmt.Sprintf("%T", v)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case float64:
		return x, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int:
		return int64(x), true
	case float64:
		return int64(x), true
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		return i, err == nil
	}
	return 0, false
}

func toBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true":
			return true, true
		case "false", "":
			return false, true
		}
	case nil:
		return false, true
	}
	return false, false
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != "" && !strings.EqualFold(x, "false")
	case int64:
		return x != 0
	case float64:
		return x != 0 && !math.IsNaN(x)
	}
	return true
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func equal(l, r any) bool {
	if l == nil || r == nil {
		return l == nil && r == nil
	}
	_, lnum := l.(int64)
	_, lf := l.(float64)
	_, rnum := r.(int64)
	_, rf := r.(float64)
	if lnum || lf || rnum || rf {
		a, ok1 := toFloat(l)
		b, ok2 := toFloat(r)
		return ok1 && ok2 && a == b
	}
	if lb, ok := l.(bool); ok {
		rb, ok := toBool(r)
		return ok && lb == rb
	}
	if rb, ok := r.(bool); ok {
		lb, ok := toBool(l)
		return ok && lb == rb
	}
	switch l.(type) {
	case map[string]any, []any:
		a, _ := json.Marshal(l)
		b, _ := json.Marshal(r)
		return string(a) == string(b)
	}
	return ToString(l) == ToString(r)
}

func compare(l, r any) (int, error) {
	if l == nil || r == nil {
		return 0, fmt.Errorf("cannot compare null")
	}
	_, ls := l.(string)
	_, rs := r.(string)
	if ls && rs {
		return strings.Compare(l.(string), r.(string)), nil
	}
	a, ok1 := toFloat(l)
	b, ok2 := toFloat(r)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("cannot compare %s with %s", typeName(l), typeName(r))
	}
	switch {
	case a < b:
		return -1, nil
	case a > b:
		return 1, nil
	}
	return 0, nil
}

// DeepCopy copies JSON-like values.
func DeepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = DeepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = DeepCopy(e)
		}
		return out
	}
	return v
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
