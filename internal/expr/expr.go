// Package expr compiles and evaluates the small, safe, side-effect-free
// expression language of flow files: the ${{ … }} parts, built on
// expr-lang/expr. Programs are compiled once per flow version and evaluated
// many times against an environment of plain maps.
//
// Limits: an expression is at most MaxLen bytes and MaxNodes syntax nodes, and
// one evaluation may allocate at most MemoryBudget units (expr-lang's
// accounting), so no expression can run away with a worker. Member access is
// forgiving: a.b.c where a or b is missing yields nil instead of an error, so
// mappings over optional provider fields read naturally; use ?? for defaults.
package expr

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/patchbay/patchbay/internal/fault"
)

// Limits on one expression.
const (
	MaxLen       = 4096
	MaxNodes     = 2000
	MemoryBudget = 200_000
)

// Error is a compile error with the byte offset in the expression source.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

// Program is a compiled expression.
type Program struct {
	src  string
	prog *vm.Program
	refs [][]string
}

var options = []expr.Option{
	expr.AllowUndefinedVariables(),
	expr.MaxNodes(MaxNodes),
	expr.Patch(lenientMembers{}),
	expr.Function("sha256", fnSHA256, new(func(string) string)),
	expr.Function("hash", fnHash),
	expr.Function("coalesce", fnCoalesce),
	expr.Function("get", fnGet),
}

// Compile compiles one expression (the text between ${{ and }}).
func Compile(src string) (*Program, error) {
	if len(src) > MaxLen {
		return nil, &Error{Offset: MaxLen, Msg: fmt.Sprintf("expression is %d bytes, over the limit of %d", len(src), MaxLen)}
	}
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Msg: "empty expression"}
	}
	prog, err := expr.Compile(src, options...)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) {
			off := fe.Column
			if fe.Line > 1 {
				off = lineOffset(src, fe.Line) + fe.Column
			}
			return nil, &Error{Offset: off, Msg: fe.Message}
		}
		return nil, &Error{Msg: err.Error()}
	}
	p := &Program{src: src, prog: prog}
	p.refs = collectRefs(prog.Node())
	return p, nil
}

func lineOffset(src string, line int) int {
	off := 0
	for i := 1; i < line; i++ {
		j := strings.IndexByte(src[off:], '\n')
		if j < 0 {
			return off
		}
		off += j + 1
	}
	return off
}

// Source returns the expression text.
func (p *Program) Source() string { return p.src }

// Refs lists the member chains the expression reads from its environment,
// each starting at a root variable: ["steps" "asset" "output" "title"].
// A chain stops at the first computed (non-constant) member.
func (p *Program) Refs() [][]string { return p.refs }

// Eval runs the program against env. Errors have kind fault.Invalid: an
// expression that fails on this data will fail the same way when retried.
func (p *Program) Eval(env map[string]any) (any, error) {
	machine := vm.VM{MemoryBudget: MemoryBudget}
	out, err := machine.Run(p.prog, env)
	if err != nil {
		return nil, fault.E(fault.Invalid, "evaluating ${{ "+abbrev(p.src)+" }}", cleanRuntimeError(err))
	}
	return normalize(out), nil
}

func abbrev(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func cleanRuntimeError(err error) error {
	var fe *file.Error
	if errors.As(err, &fe) {
		return errors.New(fe.Message)
	}
	return err
}

// normalize turns the numeric types expr-lang produces into the ones JSON
// decoding produces (int stays int, other ints become int, floats float64),
// so values compare and marshal the same whatever their origin.
func normalize(v any) any {
	switch n := v.(type) {
	case int32:
		return int(n)
	case int64:
		return int(n)
	case uint:
		return int(n)
	case uint32:
		return int(n)
	case uint64:
		return int(n)
	case float32:
		return float64(n)
	case []any:
		for i := range n {
			n[i] = normalize(n[i])
		}
		return n
	case map[string]any:
		for k := range n {
			n[k] = normalize(n[k])
		}
		return n
	case map[any]any: // fromPairs builds these
		m := make(map[string]any, len(n))
		for k, x := range n {
			m[fmt.Sprint(k)] = normalize(x)
		}
		return m
	}
	return v
}

// lenientMembers makes every member access optional (a?.b), so a missing
// intermediate value yields nil instead of a runtime error.
type lenientMembers struct{}

func (lenientMembers) Visit(node *ast.Node) {
	if m, ok := (*node).(*ast.MemberNode); ok && !m.Optional {
		m.Optional = true
		// Optional members need an enclosing chain to jump to.
		chain := &ast.ChainNode{Node: m}
		ast.Patch(node, chain)
	}
}

func collectRefs(root ast.Node) [][]string {
	var refs [][]string
	// A called function's name (get, coalesce…) is not something read from
	// the environment.
	callees := map[ast.Node]bool{}
	ast.Walk(&root, visitorFunc(func(n *ast.Node) {
		if c, ok := (*n).(*ast.CallNode); ok {
			callees[c.Callee] = true
		}
	}))
	ast.Walk(&root, visitorFunc(func(n *ast.Node) {
		switch m := (*n).(type) {
		case *ast.MemberNode:
			if chain, ok := memberChain(m); ok {
				refs = append(refs, chain)
			}
		case *ast.IdentifierNode:
			if !callees[m] {
				refs = append(refs, []string{m.Value})
			}
		}
	}))
	// The walk is post-order, so a.b.c also yields a and a.b: keep only
	// chains that are not a prefix of another.
	keys := make(map[string]bool, len(refs))
	for _, r := range refs {
		keys[strings.Join(r, "\x00")] = true
	}
	var out [][]string
	done := map[string]bool{}
	for _, r := range refs {
		key := strings.Join(r, "\x00")
		if done[key] {
			continue
		}
		done[key] = true
		prefix := false
		for other := range keys {
			if len(other) > len(key) && strings.HasPrefix(other, key+"\x00") {
				prefix = true
				break
			}
		}
		if !prefix {
			out = append(out, r)
		}
	}
	return out
}

// memberChain flattens a.b["c"].d into [a b c d].
func memberChain(m *ast.MemberNode) ([]string, bool) {
	var rev []string
	n := ast.Node(m)
	for {
		switch x := n.(type) {
		case *ast.MemberNode:
			if s, ok := x.Property.(*ast.StringNode); ok {
				rev = append(rev, s.Value)
			} else {
				rev = rev[:0] // computed member: keep only the part before it
			}
			n = x.Node
			continue
		case *ast.ChainNode:
			n = x.Node
			continue
		case *ast.IdentifierNode:
			rev = append(rev, x.Value)
			out := make([]string, len(rev))
			for i := range rev {
				out[i] = rev[len(rev)-1-i]
			}
			return out, true
		}
		return nil, false
	}
}

type visitorFunc func(*ast.Node)

func (f visitorFunc) Visit(n *ast.Node) { f(n) }

func fnSHA256(params ...any) (any, error) {
	s, ok := params[0].(string)
	if !ok {
		return nil, fmt.Errorf("sha256: want a string, got %T", params[0])
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:]), nil
}

// fnHash returns the hex SHA-256 of the canonical JSON of its argument.
func fnHash(params ...any) (any, error) {
	if len(params) != 1 {
		return nil, errors.New("hash: want one argument")
	}
	b, err := json.Marshal(params[0])
	if err != nil {
		return nil, fmt.Errorf("hash: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func fnCoalesce(params ...any) (any, error) {
	for _, p := range params {
		if p == nil {
			continue
		}
		if s, ok := p.(string); ok && s == "" {
			continue
		}
		return p, nil
	}
	return nil, nil
}

// fnGet reads a dotted path from a map: get(obj, "a.b.c") or get(obj, "a.b", default).
func fnGet(params ...any) (any, error) {
	if len(params) < 2 || len(params) > 3 {
		return nil, errors.New("get: want get(object, \"path\") or get(object, \"path\", default)")
	}
	path, ok := params[1].(string)
	if !ok {
		return nil, fmt.Errorf("get: path must be a string, got %T", params[1])
	}
	cur := params[0]
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			cur = nil
			break
		}
		cur = m[part]
	}
	if cur == nil && len(params) == 3 {
		return params[2], nil
	}
	return cur, nil
}
