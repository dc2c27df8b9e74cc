package flow

import (
	"fmt"

	"github.com/patchbay/patchbay/internal/expr"
)

// Value is a value from a flow file with its ${{ }} expressions compiled:
// a literal, a template string, a map or a list of Values.
type Value struct {
	Pos Pos

	lit   any // for literals (no expressions anywhere below)
	segs  []expr.Segment
	keys  []string // map keys in file order
	m     map[string]*Value
	list  []*Value
	kind  valueKind
	exprs bool // whether any expression is below

	// Positions recorded by the parser: of each map key (parallel to keys)
	// and of each template segment (parallel to segs). Nil when unknown.
	keyPos []Pos
	segPos []Pos
	// broken marks a string whose expression did not compile (already
	// reported): it is neither static nor checked further.
	broken bool
}

// Expr is one compiled expression of a value and where it starts in the file.
type Expr struct {
	Prog *expr.Program
	Pos  Pos
}

type valueKind uint8

const (
	valLiteral valueKind = iota
	valTemplate
	valMap
	valList
)

// Literal returns a Value holding v, which must contain no expressions
// (numbers, bools, nil, strings without ${{).
func Literal(v any, pos Pos) *Value { return &Value{Pos: pos, lit: v, kind: valLiteral} }

// String compiles s. A string without ${{ is a literal. A compile error is an
// *expr.Error whose Offset is relative to s.
func String(s string, pos Pos) (*Value, error) {
	if !expr.HasExpr(s) {
		return Literal(s, pos), nil
	}
	segs, err := expr.ParseTemplate(s)
	if err != nil {
		return nil, err
	}
	return &Value{Pos: pos, segs: segs, kind: valTemplate, exprs: true}, nil
}

// MapValue builds a map Value; keys gives the file order.
func MapValue(keys []string, m map[string]*Value, pos Pos) *Value {
	v := &Value{Pos: pos, keys: keys, m: m, kind: valMap}
	for _, k := range keys {
		if m[k].exprs {
			v.exprs = true
		}
	}
	return v
}

// ListValue builds a list Value.
func ListValue(items []*Value, pos Pos) *Value {
	v := &Value{Pos: pos, list: items, kind: valList}
	for _, it := range items {
		if it.exprs {
			v.exprs = true
		}
	}
	return v
}

// MustString is String for values known to be well-formed (tests, generated flows).
func MustString(s string) *Value {
	v, err := String(s, Pos{})
	if err != nil {
		panic(fmt.Sprintf("flow.MustString(%q): %v", s, err))
	}
	return v
}

// singleExpr reports whether the value is a string that is exactly one
// expression (and so takes the expression's type).
func (v *Value) singleExpr() bool {
	return v != nil && v.kind == valTemplate && len(v.segs) == 1 && v.segs[0].Prog != nil
}

// HasExpr reports whether the value contains any expression.
func (v *Value) HasExpr() bool { return v != nil && v.exprs }

// Static returns the value when it contains no expression.
func (v *Value) Static() (any, bool) {
	if v == nil {
		return nil, true
	}
	if v.exprs {
		return nil, false
	}
	out, _ := v.Eval(nil)
	return out, true
}

// Keys returns a map value's keys in file order (nil for other kinds).
func (v *Value) Keys() []string {
	if v == nil {
		return nil
	}
	return v.keys
}

// Get returns a map value's entry.
func (v *Value) Get(key string) (*Value, bool) {
	if v == nil || v.kind != valMap {
		return nil, false
	}
	e, ok := v.m[key]
	return e, ok
}

// IsMap reports whether the value is a map.
func (v *Value) IsMap() bool { return v != nil && v.kind == valMap }

// IsList reports whether the value is a list.
func (v *Value) IsList() bool { return v != nil && v.kind == valList }

// Items returns a list value's items.
func (v *Value) Items() []*Value {
	if v == nil {
		return nil
	}
	return v.list
}

// KeyPos returns where a map value's key is written in the file (the entry's
// value position when the parser did not record it).
func (v *Value) KeyPos(key string) Pos {
	if v == nil || v.kind != valMap {
		return Pos{}
	}
	for i, k := range v.keys {
		if k == key {
			if i < len(v.keyPos) {
				return v.keyPos[i]
			}
			return v.m[k].Pos
		}
	}
	return v.Pos
}

// Exprs returns every compiled expression below the value with its position:
// where its text starts inside ${{ }} when the parser recorded it, else the
// position of the string holding it.
func (v *Value) Exprs() []Expr {
	if v == nil || !v.exprs {
		return nil
	}
	var out []Expr
	switch v.kind {
	case valTemplate:
		for i, s := range v.segs {
			if s.Prog == nil {
				continue
			}
			pos := v.Pos
			if i < len(v.segPos) {
				pos = v.segPos[i]
			}
			out = append(out, Expr{Prog: s.Prog, Pos: pos})
		}
	case valMap:
		for _, k := range v.keys {
			out = append(out, v.m[k].Exprs()...)
		}
	case valList:
		for _, it := range v.list {
			out = append(out, it.Exprs()...)
		}
	}
	return out
}

// Programs returns every compiled expression below the value, for validation.
func (v *Value) Programs() []*expr.Program {
	if v == nil || !v.exprs {
		return nil
	}
	var out []*expr.Program
	switch v.kind {
	case valTemplate:
		for _, s := range v.segs {
			if s.Prog != nil {
				out = append(out, s.Prog)
			}
		}
	case valMap:
		for _, k := range v.keys {
			out = append(out, v.m[k].Programs()...)
		}
	case valList:
		for _, it := range v.list {
			out = append(out, it.Programs()...)
		}
	}
	return out
}

// Eval resolves the value against env. Literals come back as they are (maps
// and lists freshly built, so callers may keep them); templates evaluate as
// expr.Render does.
func (v *Value) Eval(env map[string]any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch v.kind {
	case valTemplate:
		return expr.Render(v.segs, env)
	case valMap:
		out := make(map[string]any, len(v.keys))
		for _, k := range v.keys {
			x, err := v.m[k].Eval(env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = x
		}
		return out, nil
	case valList:
		out := make([]any, len(v.list))
		for i, it := range v.list {
			x, err := it.Eval(env)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = x
		}
		return out, nil
	}
	return v.lit, nil
}

// EvalBool evaluates the value and requires a bool (nil counts as false).
func (v *Value) EvalBool(env map[string]any) (bool, error) {
	x, err := v.Eval(env)
	if err != nil {
		return false, err
	}
	switch b := x.(type) {
	case bool:
		return b, nil
	case nil:
		return false, nil
	}
	return false, fmt.Errorf("condition at %d:%d gave %T %v, want true or false", v.Pos.Line, v.Pos.Col, x, x)
}
