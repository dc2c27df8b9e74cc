package flow

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// What expressions can read, by where they are.
var (
	stepRoots    = []string{"trigger", "event", "steps", "vars", "params", "run"}
	triggerRoots = []string{"event", "trigger", "params"}
	stepMembers  = []string{"output", "status", "error"}
)

// scope is where an expression is evaluated.
type scope struct {
	site    *Step    // the step holding the expression; nil for the trigger and the flow output
	collect bool     // the expression is site's collect (site is a foreach)
	loop    []string // names enclosing foreach bodies define (as names, index)
	trigger string   // "filter" or "dedupe" for the trigger's expressions
}

// references checks every name every expression reads.
func (v *validator) references() {
	t := v.f.Trigger
	v.exprs(t.Filter, scope{trigger: "filter"})
	v.exprs(t.Dedupe, scope{trigger: "dedupe"})
	v.stepRefs(v.f.Steps, nil)
	v.exprs(v.f.Output, scope{})
}

func (v *validator) stepRefs(steps []*Step, loop []string) {
	for _, s := range steps {
		sc := scope{site: s, loop: loop}
		for _, val := range s.values() {
			v.exprs(val, sc)
		}
		inner := loop
		if s.Kind == KindForeach {
			inner = append(slices.Clone(loop), s.As, "index")
			v.exprs(s.Collect, scope{site: s, loop: inner, collect: true})
		}
		for _, b := range s.Blocks() {
			v.stepRefs(b, inner)
		}
	}
}

// values lists the step's own values, evaluated when the step starts (or, for
// a wait, when an event arrives): all but a foreach's collect.
func (s *Step) values() []*Value {
	vals := []*Value{s.When, s.Input, s.Link, s.Cond, s.Switch, s.Items, s.Sleep, s.Until, s.CallInput, s.Fail}
	for _, c := range s.Cases {
		vals = append(vals, c.Value, c.When)
	}
	for _, a := range s.Set {
		vals = append(vals, a.Value)
	}
	if w := s.Wait; w != nil {
		vals = append(vals, w.Key, w.EventKey, w.Match, w.TimeoutExpr)
	}
	return vals
}

// letRE finds names an expression declares itself (let x = …; …).
var letRE = regexp.MustCompile(`\blet\s+([A-Za-z_$][A-Za-z0-9_$]*)\s*=`)

func (v *validator) exprs(val *Value, sc scope) {
	for _, e := range val.Exprs() {
		src := e.Prog.Source()
		var locals []string
		for _, m := range letRE.FindAllStringSubmatch(src, -1) {
			locals = append(locals, m[1])
		}
		for _, ref := range e.Prog.Refs() {
			if len(ref) == 0 || slices.Contains(locals, ref[0]) || slices.Contains(sc.loop, ref[0]) {
				continue
			}
			v.ref(ref, e, sc)
		}
	}
}

func (v *validator) ref(ref []string, e Expr, sc scope) {
	root := ref[0]
	roots := stepRoots
	if sc.trigger != "" {
		roots = triggerRoots
	}
	if !slices.Contains(roots, root) {
		v.unknownName(root, e, sc, roots)
		return
	}
	switch {
	case root == "params" && len(ref) > 1:
		if _, ok := v.f.Param(ref[1]); !ok {
			var names []string
			for _, p := range v.f.Params {
				names = append(names, p.Name)
			}
			hint := suggest(ref[1], names, "declared parameters")
			if hint == "" {
				hint = fmt.Sprintf("declare it: params: { %s: { type: string } }", ref[1])
			}
			v.add(CodeUnknownParam, refPos(e, ref, 1), hint, "params.%s is not declared", ref[1])
		}
	case root == "steps" && len(ref) > 1:
		v.stepRef(ref, e, sc)
	}
}

func (v *validator) unknownName(root string, e Expr, sc scope, roots []string) {
	at := refPos(e, []string{root}, 0)
	switch {
	case sc.trigger != "" && slices.Contains(stepRoots, root):
		v.add(CodeBadExpression, at, "filter and dedupe are evaluated before a run exists; they can read event, trigger and params",
			"%s is not available in trigger.%s", root, sc.trigger)
	case root == "item" || root == "index" || slices.Contains(v.loopNames, root):
		hint := "use it in the foreach's do steps or collect"
		if len(sc.loop) >= 2 {
			hint = fmt.Sprintf("here the foreach's element is %s", sc.loop[len(sc.loop)-2])
		}
		v.add(CodeBadExpression, at, hint, "%s is only defined inside a foreach", root)
	default:
		var hint string
		if _, ok := v.f.Param(root); ok {
			hint = fmt.Sprintf("parameters are read as params.%s", root)
		} else if _, ok := v.byID[root]; ok && sc.trigger == "" {
			hint = fmt.Sprintf("step outputs are read as steps.%s.output", root)
		} else {
			names := append(slices.Clone(roots), sc.loop...)
			hint = "expressions can read " + strings.Join(names, ", ")
			if c, ok := closest(root, names); ok {
				hint = fmt.Sprintf("did you mean %q? %s", c, hint)
			}
		}
		v.add(CodeBadExpression, at, hint, "unknown name %q", root)
	}
}

func (v *validator) stepRef(ref []string, e Expr, sc scope) {
	id := ref[1]
	at := refPos(e, ref, 1)
	t, ok := v.byID[id]
	if !ok {
		if g, ok := v.generated[id]; ok {
			v.add(CodeUnknownStepRef, at, fmt.Sprintf("give the step at line %d an id: and read steps.<id>", g.Pos.Line),
				"step %q has no id of its own: only steps with an id can be read", id)
			return
		}
		ids := slices.Sorted(maps.Keys(v.byID))
		hint := suggest(id, ids, "step ids")
		for _, other := range ids {
			if strings.HasPrefix(other, id+"-") {
				hint = fmt.Sprintf(`write steps[%q]: in an expression "-" subtracts`, other)
				break
			}
		}
		if hint == "" {
			hint = "only steps with an id: can be read; this flow has none"
		}
		v.add(CodeUnknownStepRef, at, hint, "no step has id %q", id)
		return
	}
	if len(ref) > 2 && !slices.Contains(stepMembers, ref[2]) {
		v.add(CodeBadExpression, refPos(e, ref, 2), fmt.Sprintf("did you mean steps.%s.output.%s?", id, ref[2]),
			"steps.%s has no %q: a step has output, status and error", id, ref[2])
	}
	s := sc.site
	if s == nil || sc.collect && v.isAncestor(s, t) {
		return
	}
	switch {
	case t == s:
		v.add(CodeLaterStepRef, at, "a step's own fields are evaluated before it runs; read its output in a later step",
			"step %q reads its own output", s.ID)
	case v.isAncestor(t, s):
		v.add(CodeLaterStepRef, at, fmt.Sprintf("step %q runs inside %q, whose output exists only when all of it has finished", s.ID, t.ID),
			"step %q reads steps.%s before it has finished", s.ID, id)
	case v.order[t] > v.order[s]:
		v.add(CodeLaterStepRef, at, fmt.Sprintf("move step %q (line %d) before it, or read it in a later step", id, t.Pos.Line),
			"step %q reads steps.%s, which runs after it", s.ID, id)
	}
}

// isAncestor reports whether a contains b (at any depth).
func (v *validator) isAncestor(a, b *Step) bool {
	for p := v.parent[b]; p != nil; p = v.parent[p] {
		if p == a {
			return true
		}
	}
	return false
}

// refPos locates ref[k] in the expression's text: the first occurrence of the
// chain's root as a word, then of each following member up to k. It falls
// back to the expression's start when the text spans lines before it.
func refPos(e Expr, ref []string, k int) Pos {
	src := e.Prog.Source()
	off := wordIndex(src, ref[0], 0)
	if off < 0 {
		return e.Pos
	}
	for i := 1; i <= k && i < len(ref); i++ {
		j := strings.Index(src[off:], ref[i])
		if j < 0 {
			break
		}
		off += j
	}
	if strings.Contains(src[:off], "\n") {
		return e.Pos
	}
	return Pos{Line: e.Pos.Line, Col: e.Pos.Col + utf8.RuneCountInString(src[:off])}
}

// wordIndex finds word in s at or after from, not as part of a longer name
// or after a dot.
func wordIndex(s, word string, from int) int {
	for from <= len(s) {
		i := strings.Index(s[from:], word)
		if i < 0 {
			return -1
		}
		i += from
		before := i == 0 || !isNameByte(s[i-1]) && s[i-1] != '.'
		after := i+len(word) == len(s) || !isNameByte(s[i+len(word)])
		if before && after {
			return i
		}
		from = i + 1
	}
	return -1
}

func isNameByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
