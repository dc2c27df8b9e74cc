package bpmn

import (
	"fmt"
	"strings"
)

// Script is a parsed "trivial" script: a sequence of statements of the forms
//
//	const|let|var name = <expression>;
//	name = <expression>;
//	<expression>;              // typically execution.setVariable("x", y)
//
// where expressions are the evaluator's (member access, arithmetic,
// comparisons, JSON.parse/stringify, object and array literals,
// execution.getVariable/setVariable). Control flow (if, loops, functions,
// arrow functions, switch) is not supported; such scripts are rejected at
// deploy with the line that failed.
type Script struct {
	Format string
	Source string
	stmts  []stmt
}

type stmt struct {
	decl string // const, let, var, or "" for assignment / expression
	name string // target of a declaration or assignment
	expr node
	line int
}

// ParseScript parses src in the given script format (javascript, groovy or juel).
func ParseScript(format, src string) (*Script, error) {
	f := strings.ToLower(strings.TrimSpace(format))
	switch f {
	case "", "javascript", "js", "ecmascript", "groovy", "juel":
	default:
		return nil, fmt.Errorf("script format %q is not supported (javascript, groovy, juel)", format)
	}
	s := &Script{Format: f, Source: src}
	if f == "juel" {
		t, err := ParseTemplate(src)
		if err != nil {
			return nil, err
		}
		_ = t
		return s, nil
	}
	p := &parser{lx: newLexer(src, 0), js: true}
	p.next()
	for p.err == nil && p.tok.kind != tEOF {
		if p.isPunct(";") {
			p.next()
			continue
		}
		line := 1 + strings.Count(src[:p.tok.pos], "\n")
		var st stmt
		st.line = line
		if p.tok.kind == tIdent && (p.tok.text == "const" || p.tok.text == "let" || p.tok.text == "var" || p.tok.text == "def") {
			st.decl = p.tok.text
			p.next()
			if p.tok.kind != tIdent {
				return nil, fmt.Errorf("line %d: expected a variable name after %s", line, st.decl)
			}
			st.name = p.tok.text
			p.next()
			if err := p.expect("="); err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
		} else if p.tok.kind == tIdent && !jsReserved[p.tok.text] {
			// Look ahead for "name =" (but not "name ==").
			save, saveTok := *p.lx, p.tok
			name := p.tok.text
			p.next()
			if p.isPunct("=") {
				st.name = name
				p.next()
			} else {
				*p.lx, p.tok = save, saveTok
			}
		}
		x, err := p.parseExpr()
		if err != nil {
			return nil, fmt.Errorf("line %d: unsupported script syntax: %w", line, err)
		}
		st.expr = x
		s.stmts = append(s.stmts, st)
		if p.isPunct(";") {
			p.next()
			continue
		}
		if p.tok.kind != tEOF && !p.tok.nl {
			return nil, fmt.Errorf("line %d: unsupported script syntax at %q", line, p.tok.text)
		}
	}
	if p.err != nil {
		return nil, fmt.Errorf("unsupported script syntax: %w", p.err)
	}
	return s, nil
}

// Run executes the script in sc.
func (s *Script) Run(sc Scope) error {
	if s.Format == "juel" {
		_, err := EvalExpr(s.Source, sc)
		return err
	}
	locals := &localScope{base: sc, vars: map[string]any{}}
	for _, st := range s.stmts {
		v, err := st.expr.eval(locals)
		if err != nil {
			return fmt.Errorf("script line %d: %w", st.line, err)
		}
		if st.name != "" {
			locals.vars[st.name] = v
		}
	}
	return nil
}

type localScope struct {
	base Scope
	vars map[string]any
}

func (l *localScope) Lookup(name string) (any, bool) {
	if v, ok := l.vars[name]; ok {
		return v, true
	}
	return l.base.Lookup(name)
}

func (l *localScope) Variable(name string) (any, bool) {
	if vr, ok := l.base.(VarReader); ok {
		return vr.Variable(name)
	}
	return l.base.Lookup(name)
}
