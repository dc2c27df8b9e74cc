package flow

import (
	"fmt"
	"maps"
	"slices"

	"github.com/patchbay/patchbay/internal/connector"
)

// Validate checks a parsed flow against the connectors in reg (nil means
// connector.Default) and checks its references: roles, connectors, actions,
// triggers and their inputs and options, step ids, and what every expression
// reads. It fills Step.Connector (and Role, which becomes "" for builtin
// connectors), Trigger.Connector, WaitSource.Connector, and the trigger's
// config defaults. Problems come back sorted; none means the flow is valid.
func Validate(f *Flow, reg *connector.Registry) Problems {
	if reg == nil {
		reg = connector.Default
	}
	v := &validator{
		f: f, reg: reg,
		order: map[*Step]int{}, parent: map[*Step]*Step{},
		byID: map[string]*Step{}, generated: map[string]*Step{},
	}
	v.index()
	v.connections()
	v.trigger()
	Walk(f.Steps, func(s *Step) bool {
		v.step(s)
		return true
	})
	v.references()
	v.probs.Sort()
	return v.probs
}

type validator struct {
	f     *Flow
	reg   *connector.Registry
	probs Problems

	order     map[*Step]int   // pre-order position
	parent    map[*Step]*Step // nil at the top level
	byID      map[string]*Step
	generated map[string]*Step // steps by generated id
	loopNames []string         // every foreach's as
}

func (v *validator) add(code string, at Pos, hint, format string, args ...any) {
	v.probs = append(v.probs, Problem{
		File: v.f.File, Line: at.Line, Col: at.Col, Code: code,
		Message: fmt.Sprintf(format, args...), Hint: hint,
	})
}

// keyAt returns where key's key (val false) or value (val true) is written
// in a step, or the step's position.
func (s *Step) keyAt(key string, val bool) Pos {
	if kp, ok := s.at[key]; ok {
		if val {
			return kp.Val
		}
		return kp.Key
	}
	return s.Pos
}

// index numbers the steps in pre-order, records parents and reports
// duplicate ids.
func (v *validator) index() {
	seen := map[string]*Step{}
	var visit func(steps []*Step, parent *Step)
	visit = func(steps []*Step, parent *Step) {
		for _, s := range steps {
			v.order[s] = len(v.order)
			v.parent[s] = parent
			if s.Kind == KindForeach && s.As != "" && !slices.Contains(v.loopNames, s.As) {
				v.loopNames = append(v.loopNames, s.As)
			}
			if prev, dup := seen[s.ID]; dup {
				v.duplicate(prev, s)
			} else {
				seen[s.ID] = s
				if s.Explicit {
					v.byID[s.ID] = s
				} else {
					v.generated[s.ID] = s
				}
			}
			for _, b := range s.Blocks() {
				visit(b, s)
			}
		}
	}
	visit(v.f.Steps, nil)
}

func (v *validator) duplicate(prev, s *Step) {
	switch {
	case prev.Explicit && s.Explicit:
		v.add(CodeDuplicateStepID, s.keyAt("id", true), "step ids are unique in a flow, nested steps included",
			"step id %q is already used at line %d", s.ID, prev.Pos.Line)
	case prev.Explicit || s.Explicit:
		named, gen := prev, s
		if s.Explicit {
			named, gen = s, prev
		}
		v.add(CodeDuplicateStepID, named.keyAt("id", true), "steps without an id get step-N from their position; choose another id",
			"step id %q is also the id generated for the step at line %d", named.ID, gen.Pos.Line)
	default:
		v.add(CodeDuplicateStepID, s.Pos, "", "step id %q is generated twice (lines %d and %d)", s.ID, prev.Pos.Line, s.Pos.Line)
	}
}

func (v *validator) connectorNames() []string {
	var out []string
	for _, s := range v.reg.Specs() {
		out = append(out, s.Name)
	}
	return out
}

func (v *validator) connections() {
	for _, role := range slices.Sorted(maps.Keys(v.f.Connections)) {
		ref := v.f.Connections[role]
		if ref.Connector == "" {
			continue
		}
		if _, ok := v.reg.Lookup(ref.Connector); !ok {
			at := ref.connPos
			if at.Line == 0 {
				at = ref.Pos
			}
			v.add(CodeUnknownConnector, at, suggest(ref.Connector, v.connectorNames(), "connectors in this binary"),
				"connector %q is not compiled into this binary", ref.Connector)
		}
	}
}

// resolve finds the connector a role names: a role under connections, or a
// builtin connector used by its own name. It returns the spec and the role
// ("" for a builtin). An unknown role is reported; an unknown connector was
// reported with the connections.
func (v *validator) resolve(role, conn string, at Pos) (*connector.Spec, string, bool) {
	if role == "" && conn != "" { // resolved before: a builtin connector
		if c, ok := v.reg.Lookup(conn); ok {
			return c.Spec(), "", true
		}
		return nil, "", false
	}
	if ref, ok := v.f.Connections[role]; ok {
		c, ok := v.reg.Lookup(ref.Connector)
		if !ok {
			return nil, role, false
		}
		return c.Spec(), role, true
	}
	if c, ok := v.reg.Lookup(role); ok {
		if c.Spec().Builtin {
			return c.Spec(), "", true
		}
		v.add(CodeUnknownRole, at, fmt.Sprintf("declare a role for the connector: connections: { %s: %s }", role, role),
			"role %q is not under connections", role)
		return nil, role, false
	}
	roles := slices.Sorted(maps.Keys(v.f.Connections))
	hint := suggest(role, roles, "roles")
	if hint == "" || len(roles) == 0 {
		hint = fmt.Sprintf("declare it: connections: { %s: <connector> }", role)
	}
	v.add(CodeUnknownRole, at, hint, "role %q is not under connections", role)
	return nil, role, false
}

func (v *validator) trigger() {
	t := &v.f.Trigger
	if t.Kind != TriggerConnector || t.Name == "" {
		return
	}
	onPos := t.Pos
	if kp, ok := t.at["on"]; ok {
		onPos = kp.Val
	}
	spec, role, ok := v.resolve(t.Role, t.Connector, onPos)
	if !ok {
		return
	}
	t.Role, t.Connector = role, spec.Name
	ts, ok := spec.Trigger(t.Name)
	if !ok {
		v.add(CodeUnknownTrigger, onPos, suggest(t.Name, triggerNames(spec), "its triggers"),
			"connector %s has no trigger %q", spec.Name, t.Name)
		return
	}
	at := onPos
	if kp, ok := t.at["config"]; ok {
		at = kp.Key
	}
	what := fmt.Sprintf("%s.%s", spec.Name, t.Name)
	v.fields(ts.Config, t.config, at, false, fieldCodes{CodeMissingKey, CodeUnknownKey, "option", what}, "")
	if t.Config == nil {
		t.Config = map[string]any{}
	}
	for _, f := range ts.Config {
		if _, set := t.Config[f.Name]; !set && f.Default != nil {
			t.Config[f.Name] = f.Default
		}
	}
}

func triggerNames(s *connector.Spec) []string {
	var out []string
	for _, t := range s.Triggers {
		out = append(out, t.Name)
	}
	return out
}

func actionNames(s *connector.Spec) []string {
	var out []string
	for _, a := range s.Actions {
		out = append(out, a.Name)
	}
	return out
}

// step checks one step against the connector specs.
func (v *validator) step(s *Step) {
	switch s.Kind {
	case KindAction:
		if s.Action == "" {
			return
		}
		at := s.keyAt("action", true)
		spec, role, ok := v.resolve(s.Role, s.Connector, at)
		if !ok {
			return
		}
		s.Role, s.Connector = role, spec.Name
		as, ok := spec.Action(s.Action)
		if !ok {
			v.add(CodeUnknownAction, at, suggest(s.Action, actionNames(spec), "its actions"),
				"connector %s has no action %q", spec.Name, s.Action)
			return
		}
		inAt := at
		if _, ok := s.at["input"]; ok {
			inAt = s.keyAt("input", false)
		}
		what := spec.Name + "." + as.Name
		v.fields(as.Input, s.Input, inAt, false, fieldCodes{CodeMissingInput, CodeUnknownInput, "input", what}, "")
	case KindWait:
		if s.Wait == nil {
			return
		}
		for i := range s.Wait.For {
			src := &s.Wait.For[i]
			at := src.Pos
			if at.Line == 0 {
				at = s.Pos
			}
			spec, role, ok := v.resolve(src.Role, src.Connector, at)
			if !ok {
				continue
			}
			src.Role, src.Connector = role, spec.Name
			if _, ok := spec.Trigger(src.Trigger); !ok {
				v.add(CodeUnknownTrigger, at, suggest(src.Trigger, triggerNames(spec), "its triggers"),
					"connector %s has no trigger %q", spec.Name, src.Trigger)
			}
		}
	}
}

// fieldCodes says how problems with declared fields are reported: action
// inputs and trigger options use different codes.
type fieldCodes struct {
	missing, unknown string
	noun             string // "input", "option"
	owner            string // "iconik.get_asset"
}

// fields checks a map value against declared fields. at locates the map
// when it is absent; open allows keys beyond the fields.
func (v *validator) fields(fields []connector.Field, val *Value, at Pos, open bool, c fieldCodes, prefix string) {
	if val != nil && !val.IsMap() {
		return // one expression (checked at run time), or reported by Parse
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
		e, present := val.Get(f.Name)
		missingAt := at
		if present {
			if x, static := e.Static(); static && x == nil {
				present, missingAt = false, e.Pos
			}
		}
		if !present {
			if f.Required {
				hint := fmt.Sprintf("%s is %s", f.Name, describeField(f))
				if f.Doc != "" {
					hint += ": " + f.Doc
				}
				v.add(c.missing, missingAt, hint, "%s %q is required by %s", c.noun, prefix+f.Name, c.owner)
			}
			continue
		}
		v.field(f, e, c, prefix+f.Name)
	}
	if open || val == nil {
		return
	}
	for _, k := range val.Keys() {
		if !slices.Contains(names, k) {
			hint := suggest(k, names, c.noun+"s")
			if len(names) == 0 {
				hint = fmt.Sprintf("%s takes no %ss here", c.owner, c.noun)
			}
			v.add(c.unknown, val.KeyPos(k), hint, "%s has no %s %q", c.owner, c.noun, prefix+k)
		}
	}
}

// field checks one value against its declared field: the type of a literal,
// or the shape of a map, list or text that holds expressions. A value that is
// exactly one expression has no known type before the run.
func (v *validator) field(f connector.Field, e *Value, c fieldCodes, path string) {
	if e.singleExpr() || e.broken {
		return
	}
	if x, static := e.Static(); static {
		if err := connector.CheckValue(f, x); err != nil {
			code := CodeTypeMismatch
			if _, isStr := x.(string); isStr && f.Type == connector.Duration {
				code = CodeBadDuration
			}
			v.add(code, e.Pos, fmt.Sprintf("%s declares %s as %s", c.owner, path, describeField(f)), "%s %q: %v", c.noun, path, err)
			return
		}
	} else {
		var shape connector.Type
		switch {
		case e.IsMap():
			shape = connector.Object
		case e.IsList():
			shape = connector.List
		default:
			shape = connector.String // text with expressions in it
		}
		if f.Type != connector.Any && f.Type != shape && (f.Type != connector.Duration || shape != connector.String) {
			v.add(CodeTypeMismatch, e.Pos, fmt.Sprintf("%s declares %s as %s", c.owner, path, describeField(f)),
				"%s %q: want %s, got %s", c.noun, path, f.Type, shape)
			return
		}
	}
	if e.IsMap() && f.Type == connector.Object && len(f.Fields) > 0 {
		v.fields(f.Fields, e, e.Pos, f.Open, c, path+".")
	}
	if e.IsList() && f.Type == connector.List && f.Items != nil {
		for i, it := range e.Items() {
			if x, static := it.Static(); static && x == nil {
				continue
			}
			v.field(*f.Items, it, c, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// describeField names a field's type for hints.
func describeField(f connector.Field) string {
	s := string(f.Type)
	if f.Type == connector.List && f.Items != nil {
		s = "list of " + string(f.Items.Type)
	}
	if len(f.Enum) > 0 {
		s += fmt.Sprintf(" (one of %v)", f.Enum)
	}
	return s
}
