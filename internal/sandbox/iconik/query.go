package iconik

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// ---- webhook filter expressions ----
//
// A webhook definition's "query" filters events: `field op value` with
// = != < > <= >=, values that are numbers, "strings", true/false, null or
// /regex/, combined with AND / OR (adjacent terms are ANDed, as in the spec's
// own example) and parentheses; fields are dotted paths into the event JSON
// (data.status, operation...).

type filterExpr struct {
	op          string // "and", "or", "not", "cmp"
	left, right *filterExpr
	path        string
	cmp         string
	value       any // string, float64, bool, nil, *regexp.Regexp
}

type fToken struct {
	kind string // "(", ")", "op", "word", "string", "regex", "eof"
	text string
}

func lexFilter(q string) ([]fToken, error) {
	var out []fToken
	i := 0
	expectValue := false
	for i < len(q) {
		ch := q[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			i++
		case ch == '(' || ch == ')':
			out = append(out, fToken{kind: string(ch)})
			i++
			expectValue = false
		case ch == '=' || ch == '!' || ch == '<' || ch == '>':
			j := i + 1
			if j < len(q) && q[j] == '=' {
				j++
			}
			op := q[i:j]
			if op == "!" {
				return nil, fmt.Errorf("unexpected %q at %d", op, i)
			}
			out = append(out, fToken{kind: "op", text: op})
			i = j
			expectValue = true
		case ch == '"' || ch == '\'':
			j := i + 1
			var sb strings.Builder
			for j < len(q) && q[j] != ch {
				if q[j] == '\\' && j+1 < len(q) {
					j++
				}
				sb.WriteByte(q[j])
				j++
			}
			if j >= len(q) {
				return nil, fmt.Errorf("unterminated string at %d", i)
			}
			out = append(out, fToken{kind: "string", text: sb.String()})
			i = j + 1
			expectValue = false
		case ch == '/' && expectValue:
			j := i + 1
			var sb strings.Builder
			for j < len(q) && q[j] != '/' {
				if q[j] == '\\' && j+1 < len(q) && q[j+1] == '/' {
					j++
				}
				sb.WriteByte(q[j])
				j++
			}
			if j >= len(q) {
				return nil, fmt.Errorf("unterminated regex at %d", i)
			}
			out = append(out, fToken{kind: "regex", text: sb.String()})
			i = j + 1
			expectValue = false
		default:
			j := i
			for j < len(q) && !strings.ContainsRune(" \t\r\n()=!<>\"'", rune(q[j])) {
				j++
			}
			out = append(out, fToken{kind: "word", text: q[i:j]})
			i = j
			expectValue = false
		}
	}
	return append(out, fToken{kind: "eof"}), nil
}

type filterParser struct {
	toks []fToken
	pos  int
}

func (p *filterParser) peek() fToken { return p.toks[p.pos] }

func (p *filterParser) next() fToken {
	t := p.toks[p.pos]
	if p.pos < len(p.toks)-1 {
		p.pos++
	}
	return t
}

func parseFilter(q string) (*filterExpr, error) {
	toks, err := lexFilter(q)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != "eof" {
		return nil, fmt.Errorf("unexpected %q", t.text+t.kind)
	}
	return e, nil
}

func isKeyword(t fToken, kw string) bool { return t.kind == "word" && strings.EqualFold(t.text, kw) }

func (p *filterParser) or() (*filterExpr, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for isKeyword(p.peek(), "OR") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &filterExpr{op: "or", left: l, right: r}
	}
	return l, nil
}

func (p *filterParser) and() (*filterExpr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if isKeyword(t, "AND") {
			p.next()
		} else if t.kind == "eof" || t.kind == ")" || isKeyword(t, "OR") {
			return l, nil
		}
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &filterExpr{op: "and", left: l, right: r}
	}
}

func (p *filterParser) unary() (*filterExpr, error) {
	t := p.next()
	switch {
	case isKeyword(t, "NOT"):
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &filterExpr{op: "not", left: e}, nil
	case t.kind == "(":
		e, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next().kind != ")" {
			return nil, errors.New("missing )")
		}
		return e, nil
	case t.kind == "word":
		op := p.next()
		if op.kind != "op" {
			return nil, fmt.Errorf("expected an operator after %q", t.text)
		}
		v := p.next()
		e := &filterExpr{op: "cmp", path: t.text, cmp: op.text}
		switch v.kind {
		case "string":
			e.value = v.text
		case "regex":
			re, err := regexp.Compile(v.text)
			if err != nil {
				return nil, fmt.Errorf("bad regex: %w", err)
			}
			if op.text != "=" && op.text != "!=" {
				return nil, errors.New("a regex needs = or !=")
			}
			e.value = re
		case "word":
			switch strings.ToLower(v.text) {
			case "true":
				e.value = true
			case "false":
				e.value = false
			case "null":
				e.value = nil
			default:
				if f, err := strconv.ParseFloat(v.text, 64); err == nil {
					e.value = f
				} else {
					e.value = v.text
				}
			}
		default:
			return nil, fmt.Errorf("expected a value after %s%s", t.text, op.text)
		}
		return e, nil
	}
	return nil, fmt.Errorf("unexpected %q", t.text+t.kind)
}

func (e *filterExpr) eval(doc map[string]any) bool {
	switch e.op {
	case "and":
		return e.left.eval(doc) && e.right.eval(doc)
	case "or":
		return e.left.eval(doc) || e.right.eval(doc)
	case "not":
		return !e.left.eval(doc)
	}
	actual, found := lookup(doc, e.path)
	if e.value == nil {
		isNull := !found || actual == nil
		if e.cmp == "!=" {
			return !isNull
		}
		return e.cmp == "=" && isNull
	}
	if list, ok := actual.([]any); ok {
		for _, it := range list {
			if compareFilter(it, e) {
				return e.cmp != "!="
			}
		}
		return e.cmp == "!="
	}
	return compareFilter(actual, e)
}

func compareFilter(actual any, e *filterExpr) bool {
	if actual == nil {
		return e.cmp == "!="
	}
	switch want := e.value.(type) {
	case *regexp.Regexp:
		m := want.MatchString(fmt.Sprint(actual))
		return m == (e.cmp == "=")
	case bool:
		b, ok := actual.(bool)
		eq := ok && b == want
		return cmpResult(e.cmp, eq, 0, false)
	case float64:
		var f float64
		switch a := actual.(type) {
		case float64:
			f = a
		case string:
			v, err := strconv.ParseFloat(a, 64)
			if err != nil {
				return e.cmp == "!="
			}
			f = v
		default:
			return e.cmp == "!="
		}
		c := 0
		if f < want {
			c = -1
		} else if f > want {
			c = 1
		}
		return cmpResult(e.cmp, c == 0, c, true)
	case string:
		a := fmt.Sprint(actual)
		c := strings.Compare(a, want)
		return cmpResult(e.cmp, c == 0, c, true)
	}
	return false
}

func cmpResult(op string, eq bool, c int, ordered bool) bool {
	switch op {
	case "=":
		return eq
	case "!=":
		return !eq
	}
	if !ordered {
		return false
	}
	switch op {
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	case ">=":
		return c >= 0
	}
	return false
}

// lookup resolves a dotted path in decoded JSON.
func lookup(doc map[string]any, p string) (any, bool) {
	var cur any = doc
	for _, part := range strings.Split(p, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[part]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

// ---- search query strings ----
//
// The "query" of a search body is iconik's query-string language (Lucene
// style): words, "quoted phrases", field:value, field:[a TO b], wildcards
// (*, ?), AND / OR / NOT, a leading - or +, and parentheses. Adjacent clauses
// are ANDed (UNCONFIRMED default operator).

type searchDoc struct {
	fields map[string][]string // field name -> values (metadata fields as "metadata.<name>")
	text   []string            // field names searched by bare words
}

func (d *searchDoc) values(field string) []string {
	if v, ok := d.fields[field]; ok {
		return v
	}
	if v, ok := d.fields["metadata."+field]; ok {
		return v
	}
	return nil
}

type queryNode struct {
	op          string // "and", "or", "not", "term"
	left, right *queryNode
	field       string
	word        string
	phrase      bool
	lo, hi      string
	loIncl      bool
	hiIncl      bool
	isRange     bool
}

type qToken struct {
	kind  string // "word", "phrase", "(", ")", "range", "eof"
	text  string
	field string
	lo    string
	hi    string
	li    bool
	hi2   bool
	neg   bool
	req   bool
}

func lexQuery(q string) ([]qToken, error) {
	var out []qToken
	rs := []rune(q)
	i := 0
	for i < len(rs) {
		ch := rs[i]
		if unicode.IsSpace(ch) {
			i++
			continue
		}
		if ch == '(' || ch == ')' {
			out = append(out, qToken{kind: string(ch)})
			i++
			continue
		}
		neg, req := false, false
		if ch == '-' || ch == '+' {
			neg, req = ch == '-', ch == '+'
			i++
			if i >= len(rs) {
				break
			}
			ch = rs[i]
			if ch == '(' {
				out = append(out, qToken{kind: "word", text: "NOT"})
				continue
			}
		}
		if ch == '"' {
			j := i + 1
			for j < len(rs) && rs[j] != '"' {
				j++
			}
			if j >= len(rs) {
				return nil, errors.New("unterminated phrase")
			}
			out = append(out, qToken{kind: "phrase", text: string(rs[i+1 : j]), neg: neg, req: req})
			i = j + 1
			continue
		}
		j := i
		for j < len(rs) && !unicode.IsSpace(rs[j]) && rs[j] != '(' && rs[j] != ')' && rs[j] != ':' {
			j++
		}
		word := string(rs[i:j])
		if j < len(rs) && rs[j] == ':' {
			field := word
			j++
			if j < len(rs) && rs[j] == '"' {
				k := j + 1
				for k < len(rs) && rs[k] != '"' {
					k++
				}
				if k >= len(rs) {
					return nil, errors.New("unterminated phrase")
				}
				out = append(out, qToken{kind: "phrase", text: string(rs[j+1 : k]), field: field, neg: neg, req: req})
				i = k + 1
				continue
			}
			if j < len(rs) && (rs[j] == '[' || rs[j] == '{') {
				k := j + 1
				for k < len(rs) && rs[k] != ']' && rs[k] != '}' {
					k++
				}
				if k >= len(rs) {
					return nil, errors.New("unterminated range")
				}
				inner := strings.Fields(string(rs[j+1 : k]))
				if len(inner) != 3 || !strings.EqualFold(inner[1], "TO") {
					return nil, fmt.Errorf("bad range for %s", field)
				}
				out = append(out, qToken{kind: "range", field: field, lo: inner[0], hi: inner[2], li: rs[j] == '[', hi2: rs[k] == ']', neg: neg})
				i = k + 1
				continue
			}
			k := j
			for k < len(rs) && !unicode.IsSpace(rs[k]) && rs[k] != ')' {
				k++
			}
			out = append(out, qToken{kind: "word", text: string(rs[j:k]), field: field, neg: neg, req: req})
			i = k
			continue
		}
		out = append(out, qToken{kind: "word", text: word, neg: neg, req: req})
		i = j
	}
	return append(out, qToken{kind: "eof"}), nil
}

type queryParser struct {
	toks []qToken
	pos  int
}

func parseQuery(q string) (*queryNode, error) {
	if strings.TrimSpace(q) == "" || strings.TrimSpace(q) == "*" {
		return nil, nil
	}
	toks, err := lexQuery(q)
	if err != nil {
		return nil, err
	}
	p := &queryParser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.toks[p.pos].kind != "eof" {
		return nil, errors.New("unbalanced parentheses")
	}
	return n, nil
}

func (p *queryParser) peek() qToken { return p.toks[p.pos] }

func (p *queryParser) next() qToken {
	t := p.toks[p.pos]
	if p.pos < len(p.toks)-1 {
		p.pos++
	}
	return t
}

func qKeyword(t qToken, kw string) bool {
	return t.kind == "word" && t.field == "" && !t.neg && t.text == kw
}

func (p *queryParser) or() (*queryNode, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for qKeyword(p.peek(), "OR") || qKeyword(p.peek(), "||") {
		p.next()
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = &queryNode{op: "or", left: l, right: r}
	}
	return l, nil
}

func (p *queryParser) and() (*queryNode, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if qKeyword(t, "AND") || qKeyword(t, "&&") {
			p.next()
		} else if t.kind == "eof" || t.kind == ")" || qKeyword(t, "OR") || qKeyword(t, "||") {
			return l, nil
		}
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &queryNode{op: "and", left: l, right: r}
	}
}

func (p *queryParser) unary() (*queryNode, error) {
	t := p.next()
	switch {
	case qKeyword(t, "NOT") || qKeyword(t, "!"):
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &queryNode{op: "not", left: n}, nil
	case t.kind == "(":
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next().kind != ")" {
			return nil, errors.New("missing )")
		}
		return n, nil
	case t.kind == "word" || t.kind == "phrase":
		n := &queryNode{op: "term", field: t.field, word: strings.ToLower(t.text), phrase: t.kind == "phrase"}
		if t.neg {
			return &queryNode{op: "not", left: n}, nil
		}
		return n, nil
	case t.kind == "range":
		n := &queryNode{op: "term", field: t.field, isRange: true, lo: t.lo, hi: t.hi, loIncl: t.li, hiIncl: t.hi2}
		if t.neg {
			return &queryNode{op: "not", left: n}, nil
		}
		return n, nil
	}
	return nil, fmt.Errorf("unexpected %s", t.kind)
}

func (n *queryNode) match(d *searchDoc) bool {
	switch n.op {
	case "and":
		return n.left.match(d) && n.right.match(d)
	case "or":
		return n.left.match(d) || n.right.match(d)
	case "not":
		return !n.left.match(d)
	}
	var vals []string
	if n.field != "" && n.field != "_all" {
		vals = d.values(n.field)
	} else {
		for _, f := range d.text {
			vals = append(vals, d.values(f)...)
		}
	}
	for _, v := range vals {
		if n.isRange {
			if inRange(v, n.lo, n.hi, n.loIncl, n.hiIncl) {
				return true
			}
			continue
		}
		if textMatch(v, n.word, n.phrase) {
			return true
		}
	}
	return false
}

// textMatch compares like an analysed text field: whole value, any word of
// it, or (for phrases) a substring; * and ? are wildcards.
func textMatch(value, word string, phrase bool) bool {
	lv := strings.ToLower(value)
	if phrase {
		return strings.Contains(normalizeSpace(lv), normalizeSpace(word))
	}
	if word == "*" {
		return value != ""
	}
	wild := strings.ContainsAny(word, "*?")
	if lv == word || (wild && globMatch(word, lv)) {
		return true
	}
	for _, tok := range tokenize(lv) {
		if tok == word || (wild && globMatch(word, tok)) {
			return true
		}
	}
	return false
}

func globMatch(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

func normalizeSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func tokenize(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// inRange compares as dates, then numbers, then strings; "*" is an open bound.
func inRange(v, lo, hi string, loIncl, hiIncl bool) bool {
	c := func(a, b string) (int, bool) {
		if ta, tb := parseTime(a), parseTime(b); !ta.IsZero() && !tb.IsZero() {
			return ta.Compare(tb), true
		}
		fa, ea := strconv.ParseFloat(a, 64)
		fb, eb := strconv.ParseFloat(b, 64)
		if ea == nil && eb == nil {
			switch {
			case fa < fb:
				return -1, true
			case fa > fb:
				return 1, true
			}
			return 0, true
		}
		return strings.Compare(strings.ToLower(a), strings.ToLower(b)), true
	}
	if lo != "" && lo != "*" {
		r, _ := c(v, lo)
		if r < 0 || (r == 0 && !loIncl) {
			return false
		}
	}
	if hi != "" && hi != "*" {
		r, _ := c(v, hi)
		if r > 0 || (r == 0 && !hiIncl) {
			return false
		}
	}
	return true
}

// rangeWithZone parses a filter range bound, applying a "+01:00" style zone to bare dates.
func rangeBound(v, tz string) string {
	if v == "" || tz == "" {
		return v
	}
	t := parseTime(v)
	if t.IsZero() || strings.ContainsAny(v[min(len(v), 10):], "Z+") {
		return v
	}
	loc, err := time.Parse("-07:00", tz)
	if err != nil {
		return v
	}
	_, off := loc.Zone()
	return fmtTime(t.Add(-time.Duration(off) * time.Second))
}
