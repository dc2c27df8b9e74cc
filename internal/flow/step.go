package flow

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Step keys: common to every kind, the kind keys (exactly one per step), and
// the keys each kind adds.
var (
	commonStepKeys = []string{"id", "name", "when", "timeout", "retry", "continue_on_error"}
	kindKeys       = []string{"action", "if", "switch", "foreach", "set", "wait", "sleep", "call", "fail"}
	kindExtraKeys  = map[Kind][]string{
		KindAction:  {"input", "link"},
		KindIf:      {"then", "else"},
		KindSwitch:  {"cases", "default"},
		KindForeach: {"as", "concurrency", "do", "collect"},
		KindCall:    {"input"},
	}
	// reservedNames cannot be a foreach's as: they are expression roots.
	reservedNames = []string{"trigger", "event", "steps", "vars", "params", "run", "index"}
)

// Bounds of a foreach's concurrency.
const maxConcurrency = 64

// steps reads a list of steps (what names it for messages). prefix is "" at
// the top level (ids step-N) and "<parent id>.<block>" inside a block (ids
// <prefix>-N).
func (p *parser) steps(n *yaml.Node, prefix, what string) []*Step {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	defer p.leave()
	if !p.enter(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.add(CodeBadValue, pos(n), "write steps as a list: - action: …", "%s must be a list, not %s", what, describe(n))
		return nil
	}
	out := make([]*Step, 0, len(n.Content))
	for i, it := range n.Content {
		id := fmt.Sprintf("step-%d", i+1)
		if prefix != "" {
			id = fmt.Sprintf("%s-%d", prefix, i+1)
		}
		if s := p.step(it, id); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) step(n *yaml.Node, genID string) *Step {
	m, ok := p.mapping(n, "a step")
	if !ok || !p.spend(m) {
		return nil
	}
	es := p.entries(m)
	s := &Step{ID: genID, Pos: pos(m), at: make(map[string]keyPos, len(es))}
	for _, e := range es {
		s.at[e.name] = e.at()
	}
	// The id first: the ids of the step's children derive from it.
	for _, e := range es {
		if e.name == "id" {
			if id, _ := p.name(e.val, "step id", stepIDRE, formFlowName); id != "" {
				s.ID, s.Explicit = id, true
			}
		}
	}
	var kindEntry *entry
	for i, e := range es {
		if !slices.Contains(kindKeys, e.name) {
			continue
		}
		if kindEntry != nil {
			p.add(CodeStepKindConflict, pos(e.key), "a step has exactly one of "+strings.Join(kindKeys, ", ")+"; split it into two steps",
				"step %q has both %s and %s", s.ID, kindEntry.name, e.name)
			continue
		}
		kindEntry = &es[i]
		s.Kind = Kind(e.name)
	}
	allowed := slices.Concat(commonStepKeys, kindKeys, kindExtraKeys[s.Kind])
	extra := map[string]entry{}
	for _, e := range es {
		switch {
		case e.name == "id" || slices.Contains(kindKeys, e.name):
		case slices.Contains(commonStepKeys, e.name):
			p.common(s, e)
		case slices.Contains(kindExtraKeys[s.Kind], e.name):
			extra[e.name] = e
		default:
			owners := extraOwners(e.name)
			switch {
			case len(owners) > 0 && s.Kind == "":
				// Reported with the missing kind below.
			case len(owners) > 0:
				p.add(CodeUnknownKey, pos(e.key), fmt.Sprintf("%s belongs to %s steps", e.name, strings.Join(owners, " and ")),
					"%s has no meaning on %s step %q", e.name, article(string(s.Kind)), s.ID)
			default:
				p.add(CodeUnknownKey, pos(e.key), suggest(e.name, allowed, "step keys"), "unknown key %q in step %q", e.name, s.ID)
			}
		}
	}
	if kindEntry == nil {
		hint := "give the step one of: " + strings.Join(kindKeys, ", ")
		for _, e := range es {
			if owners := extraOwners(e.name); len(owners) == 1 && owners[0] != string(KindCall) {
				hint = fmt.Sprintf("it has %s: did you leave out %s:? (a step has one of %s)", e.name, owners[0], strings.Join(kindKeys, ", "))
				break
			}
		}
		p.add(CodeUnknownStepKind, s.Pos, hint, "step %q has no kind", s.ID)
		return s
	}
	p.kind(s, *kindEntry, extra)
	return s
}

// extraOwners lists the kinds that take key besides the common keys.
func extraOwners(key string) []string {
	var out []string
	for _, k := range kindKeys {
		if slices.Contains(kindExtraKeys[Kind(k)], key) {
			out = append(out, k)
		}
	}
	return out
}

func article(kind string) string {
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

// common reads the keys every step may have.
func (p *parser) common(s *Step, e entry) {
	switch e.name {
	case "name":
		if !isNull(e.val) {
			s.Name, _ = p.lit(e.val, "step name")
		}
	case "when":
		s.When = p.value(e.val)
		p.wantBool(s.When, "when")
	case "timeout":
		if d, ok := p.duration(e.val, "timeout"); ok {
			if d <= 0 {
				p.add(CodeBadDuration, pos(resolve(e.val)), "leave timeout out for the default", "timeout must be more than 0")
			}
			s.Timeout = d
		}
	case "retry":
		s.Retry = p.retry(e.val)
	case "continue_on_error":
		s.ContinueOnError, _ = p.boolean(e.val, "continue_on_error")
	}
}

// Backoff kinds.
var backoffs = []string{"exponential", "linear", "fixed"}

func (p *parser) retry(n *yaml.Node) *Retry {
	m, ok := p.mapping(n, "retry")
	if !ok {
		return nil
	}
	r := &Retry{}
	fs := p.known(p.entries(m), "retry", "attempts", "backoff", "delay", "max", "unsafe")
	if e, ok := fs["attempts"]; ok {
		if a, ok := p.integer(e.val, "retry.attempts"); ok {
			if a < 1 {
				p.add(CodeBadValue, pos(resolve(e.val)), "attempts counts the first try: 1 means no retry", "retry.attempts must be 1 or more, not %d", a)
			}
			r.Attempts = a
		}
	}
	if e, ok := fs["backoff"]; ok {
		if b, ok := p.lit(e.val, "retry.backoff"); ok {
			if !slices.Contains(backoffs, b) {
				p.add(CodeBadValue, pos(resolve(e.val)), suggest(b, backoffs, "backoff is one of"), "unknown backoff %q", b)
			}
			r.Backoff = b
		}
	}
	if e, ok := fs["delay"]; ok {
		r.Delay, _ = p.duration(e.val, "retry.delay")
	}
	if e, ok := fs["max"]; ok {
		r.Max, _ = p.duration(e.val, "retry.max")
		if r.Delay > 0 && r.Max > 0 && r.Delay > r.Max {
			p.add(CodeBadValue, pos(resolve(e.val)), "max caps each delay; make it at least delay", "retry.max (%s) is less than retry.delay (%s)", r.Max, r.Delay)
		}
	}
	if e, ok := fs["unsafe"]; ok {
		r.Unsafe, _ = p.boolean(e.val, "retry.unsafe")
	}
	return r
}

// kind reads the step's kind key and the keys that kind adds.
func (p *parser) kind(s *Step, e entry, extra map[string]entry) {
	switch s.Kind {
	case KindAction:
		if a, ok := p.lit(e.val, "action"); ok {
			role, act, found := strings.Cut(a, ".")
			if !found || !roleRE.MatchString(role) || !roleRE.MatchString(act) {
				p.add(CodeBadValue, pos(resolve(e.val)), "for example dam.get_asset, or http.request for a builtin connector", "action %q: want <role>.<action>", a)
			} else {
				s.Role, s.Action = role, act
			}
		}
		if in, ok := extra["input"]; ok && !isNull(in.val) {
			s.Input = p.mapOrExpr(in.val, "input")
		}
		if l, ok := extra["link"]; ok {
			s.Link = p.value(l.val)
		}
	case KindIf:
		s.Cond = p.value(e.val)
		p.wantBool(s.Cond, "if")
		s.Then = p.block(s, e, extra, "then", true)
		s.Else = p.block(s, e, extra, "else", false)
	case KindSwitch:
		s.Switch = p.value(e.val)
		p.cases(s, e, extra)
		s.Default = p.block(s, e, extra, "default", false)
	case KindForeach:
		s.Items = p.value(e.val)
		if x, ok := s.Items.Static(); ok {
			if _, isList := x.([]any); !isList {
				p.add(CodeBadValue, s.Items.Pos, "foreach takes a list or an expression giving one", "foreach must be a list, not %s", describe(resolve(e.val)))
			}
		}
		s.As, s.Concurrency = "item", 1
		if a, ok := extra["as"]; ok {
			if name, ok := p.name(a.val, "foreach variable", identRE, formIdent); ok {
				if slices.Contains(reservedNames, name) {
					p.add(CodeBadName, pos(resolve(a.val)), "pick another name; "+strings.Join(reservedNames, ", ")+" are taken", "as: %s would hide the expression name %s", name, name)
				}
				s.As = name
			}
		}
		if c, ok := extra["concurrency"]; ok {
			if n, ok := p.integer(c.val, "concurrency"); ok {
				if n < 1 || n > maxConcurrency {
					p.add(CodeBadValue, pos(resolve(c.val)), fmt.Sprintf("concurrency is 1 (one item at a time) to %d", maxConcurrency), "concurrency must be 1 to %d, not %d", maxConcurrency, n)
				} else {
					s.Concurrency = n
				}
			}
		}
		s.Do = p.block(s, e, extra, "do", true)
		if c, ok := extra["collect"]; ok {
			s.Collect = p.value(c.val)
		}
	case KindSet:
		p.set(s, e)
	case KindWait:
		s.Wait = p.wait(e)
	case KindSleep:
		p.sleep(s, e)
	case KindCall:
		s.Call, _ = p.name(e.val, "flow name", flowNameRE, formFlowName)
		if in, ok := extra["input"]; ok && !isNull(in.val) {
			s.CallInput = p.mapOrExpr(in.val, "input")
		}
	case KindFail:
		if isNull(e.val) {
			p.add(CodeBadValue, pos(resolve(e.val)), `fail: "why the run fails"`, "fail needs a message")
		}
		s.Fail = p.value(e.val)
	}
}

// block reads a child step list (then, else, default, do).
func (p *parser) block(s *Step, kindEntry entry, extra map[string]entry, key string, required bool) []*Step {
	e, ok := extra[key]
	if !ok {
		if required {
			p.add(CodeEmptyBlock, pos(kindEntry.key), fmt.Sprintf("add %s: with at least one step", key), "%s step %q has no %s", kindEntry.name, s.ID, key)
		}
		return nil
	}
	steps := p.steps(e.val, s.ID+"."+key, key)
	if n := resolve(e.val); required && (isNull(n) || n.Kind == yaml.SequenceNode && len(n.Content) == 0) {
		p.add(CodeEmptyBlock, pos(e.key), fmt.Sprintf("add at least one step under %s:", key), "%s of step %q is empty", key, s.ID)
	}
	return steps
}

func (p *parser) cases(s *Step, kindEntry entry, extra map[string]entry) {
	e, ok := extra["cases"]
	if !ok {
		p.add(CodeEmptyBlock, pos(kindEntry.key), "add cases: [{value: …, steps: […]}]", "switch step %q has no cases", s.ID)
		return
	}
	n := resolve(e.val)
	if isNull(n) || n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		p.add(CodeEmptyBlock, pos(e.key), "add at least one case: {value: …, steps: […]}", "cases of step %q is empty", s.ID)
		return
	}
	if n.Kind != yaml.SequenceNode {
		p.add(CodeBadValue, pos(n), "write cases as a list", "cases must be a list, not %s", describe(n))
		return
	}
	for k, cn := range n.Content {
		m, ok := p.mapping(cn, "a switch case")
		if !ok {
			continue
		}
		c := &Case{Pos: pos(m)}
		fs := p.known(p.entries(m), "a switch case", "value", "when", "steps")
		v, hasValue := fs["value"]
		w, hasWhen := fs["when"]
		switch {
		case hasValue && hasWhen:
			p.add(CodeBadValue, pos(w.key), "split it into two cases", "a case has value or when, not both")
		case hasValue:
			c.Value = p.value(v.val)
		case hasWhen:
			c.When = p.value(w.val)
			p.wantBool(c.When, "when")
		default:
			p.add(CodeMissingKey, c.Pos, "add value: (compared with the switch value) or when: (a condition)", "the case has neither value nor when")
		}
		if st, ok := fs["steps"]; ok {
			c.Steps = p.steps(st.val, fmt.Sprintf("%s.case-%d", s.ID, k+1), "steps")
		} else {
			p.add(CodeMissingKey, c.Pos, "add steps: [ … ] (an empty list does nothing)", "the case has no steps")
		}
		s.Cases = append(s.Cases, c)
	}
}

func (p *parser) set(s *Step, e entry) {
	m, ok := p.mapping(e.val, "set")
	if !ok {
		return
	}
	es := p.entries(m)
	if len(es) == 0 {
		p.add(CodeBadValue, pos(m), "set: { name: value }", "set assigns no variable")
	}
	for _, a := range es {
		if !identRE.MatchString(a.name) {
			p.add(CodeBadName, pos(a.key), "variable names are "+formIdent, "variable name %q has the wrong form", a.name)
		}
		s.Set = append(s.Set, &Assign{Name: a.name, Value: p.value(a.val), Pos: pos(a.key)})
	}
}

func (p *parser) wait(e entry) *Wait {
	w := &Wait{OnTimeout: "fail"}
	m, ok := p.mapping(e.val, "wait")
	if !ok {
		return w
	}
	fs := p.known(p.entries(m), "wait", "for", "key", "event_key", "match", "timeout", "on_timeout")
	if f, ok := fs["for"]; ok && !isNull(f.val) {
		n := resolve(f.val)
		srcs := []*yaml.Node{n}
		if n.Kind == yaml.SequenceNode {
			srcs = n.Content
			if len(srcs) == 0 {
				p.add(CodeBadValue, pos(n), "for: <role>.<trigger>, or a list of them", "wait.for lists no source")
			}
		}
		for _, sn := range srcs {
			str, ok := p.lit(sn, "wait.for")
			if !ok {
				continue
			}
			role, trig, found := strings.Cut(str, ".")
			if !found || !roleRE.MatchString(role) || !roleRE.MatchString(trig) {
				p.add(CodeBadValue, pos(resolve(sn)), "for example dam.asset_events", "wait source %q: want <role>.<trigger>", str)
				continue
			}
			w.For = append(w.For, WaitSource{Role: role, Trigger: trig, Pos: pos(resolve(sn))})
		}
	} else {
		p.add(CodeMissingKey, pos(m), "add for: <role>.<trigger> (the events to wait for)", "the wait has no for:")
	}
	if k, ok := fs["key"]; ok && !isNull(k.val) {
		w.Key = p.value(k.val)
	} else {
		p.add(CodeMissingKey, pos(m), `add key: ${{ … }}; it is compared with each event's key (event.object unless event_key computes another)`, "the wait has no key")
	}
	if k, ok := fs["event_key"]; ok {
		w.EventKey = p.value(k.val)
	}
	if k, ok := fs["match"]; ok {
		w.Match = p.value(k.val)
		p.wantBool(w.Match, "wait.match")
	}
	if t, ok := fs["timeout"]; ok {
		if n := resolve(t.val); n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && strings.Contains(n.Value, "${{") {
			w.TimeoutExpr = p.value(n)
		} else if d, ok := p.duration(n, "wait.timeout"); ok {
			w.Timeout = d
		}
	}
	if o, ok := fs["on_timeout"]; ok {
		if s, ok := p.lit(o.val, "on_timeout"); ok {
			if s != "fail" && s != "continue" {
				p.add(CodeBadValue, pos(resolve(o.val)), "on_timeout: fail | continue", "on_timeout must be fail or continue, not %q", s)
			} else {
				w.OnTimeout = s
			}
		}
	}
	return w
}

func (p *parser) sleep(s *Step, e entry) {
	n := resolve(e.val)
	switch {
	case n.Kind == yaml.MappingNode:
		fs := p.known(p.entries(n), "sleep", "until")
		u, ok := fs["until"]
		if !ok {
			p.add(CodeMissingKey, pos(n), "sleep: { until: 2030-01-01T00:00:00Z }, or sleep: 10m", "sleep has no until")
			return
		}
		s.Until = p.value(u.val)
		if x, ok := s.Until.Static(); ok {
			str, _ := x.(string)
			if un := resolve(u.val); un.ShortTag() == "!!timestamp" {
				str = un.Value
			}
			if _, err := time.Parse(time.RFC3339, str); err != nil {
				p.add(CodeBadValue, s.Until.Pos, "an RFC 3339 time such as 2030-01-01T09:00:00Z", "sleep.until %v is not an RFC 3339 time", x)
			}
			s.Until = Literal(str, s.Until.Pos)
		}
	case n.Kind == yaml.ScalarNode && (n.ShortTag() == "!!int" || n.ShortTag() == "!!float"):
		s.Sleep = p.value(n)
		if x, _ := s.Sleep.Static(); !positive(x) {
			p.add(CodeBadDuration, pos(n), "a number of seconds, or a duration such as 90s", "sleep must be more than 0")
		}
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && strings.Contains(n.Value, "${{"):
		s.Sleep = p.value(n)
	default:
		if _, ok := p.duration(n, "sleep"); ok {
			s.Sleep = Literal(n.Value, pos(n))
		}
	}
}

// mapOrExpr reads a mapping, or one expression giving a map.
func (p *parser) mapOrExpr(n *yaml.Node, what string) *Value {
	v := p.value(n)
	// A string whose expression did not compile is already reported.
	if !v.IsMap() && !v.singleExpr() && !v.broken {
		p.add(CodeBadValue, v.Pos, "write a mapping of names to values", "%s must be a mapping, not %s", what, describe(resolve(n)))
	}
	return v
}

// positive reports whether x is a number above 0.
func positive(x any) bool {
	switch n := x.(type) {
	case int:
		return n > 0
	case float64:
		return n > 0
	}
	return false
}
