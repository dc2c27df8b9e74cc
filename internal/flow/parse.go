package flow

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/expr"
	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"
)

// Load parses, validates and compiles a flow file. On any problem it returns
// a Problems error holding every problem found, sorted by position. reg nil
// means connector.Default.
func Load(file string, src []byte, reg *connector.Registry) (*Flow, error) {
	f, probs := Parse(file, src)
	if f != nil {
		probs = append(probs, Validate(f, reg)...)
	}
	if len(probs) > 0 {
		probs.Sort()
		return nil, probs
	}
	return f, nil
}

// Parse reads a flow file's YAML into the model, checking its shape: keys,
// names, literal values, durations, cron and that every expression compiles.
// It needs no connector registry; Validate does the rest. The flow is nil
// only when the file is not a YAML mapping; otherwise it is returned
// (possibly incomplete) together with the problems found.
func Parse(file string, src []byte) (*Flow, Problems) {
	p := &parser{file: file, src: src, lines: strings.Split(string(src), "\n")}
	sum := sha256.Sum256(src)
	root, ok := p.document()
	if !ok {
		p.probs.Sort()
		return nil, p.probs
	}
	f := &Flow{File: file, Source: src, Hash: hex.EncodeToString(sum[:]), Connections: map[string]ConnRef{}}
	p.flow(f, root)
	p.probs.Sort()
	return f, p.probs
}

type parser struct {
	file  string
	src   []byte
	lines []string
	probs Problems
	nodes int // values and steps built, against maxNodes
	depth int // nesting of the value or step list being built
	deep  bool
}

// maxDepth bounds how deep values and step blocks nest (a recursive alias
// would nest forever).
const maxDepth = 100

// enter counts one level of nesting and reports, once, when it is too deep;
// the caller calls leave when done.
func (p *parser) enter(n *yaml.Node) bool {
	p.depth++
	if p.depth > maxDepth && !p.deep {
		p.deep = true
		p.add(CodeBadValue, pos(n), "a value that contains itself (through an alias) nests forever", "values or steps nest more than %d levels deep", maxDepth)
	}
	return p.depth <= maxDepth
}

func (p *parser) leave() { p.depth-- }

// maxNodes bounds the values and steps one file may build. Aliases can make
// a small file expand exponentially ("billion laughs"); past the bound the
// rest is not built.
const maxNodes = 100_000

// spend counts one node and reports, once, when the budget is gone.
func (p *parser) spend(n *yaml.Node) bool {
	p.nodes++
	if p.nodes == maxNodes+1 {
		p.add(CodeBadValue, pos(n), "use fewer aliases (*name)", "the file expands to more than %d values", maxNodes)
	}
	return p.nodes <= maxNodes
}

func (p *parser) add(code string, pos Pos, hint, format string, args ...any) {
	p.probs = append(p.probs, Problem{
		File: p.file, Line: pos.Line, Col: pos.Col, Code: code,
		Message: fmt.Sprintf(format, args...), Hint: hint,
	})
}

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

// document decodes the file into its root mapping.
func (p *parser) document() (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(p.src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			p.add(CodeMissingKey, Pos{1, 1}, "a flow file has name, trigger and steps", "the file is empty")
			return nil, false
		}
		p.probs = append(p.probs, p.syntaxProblem(err))
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		p.add(CodeYAMLSyntax, pos(&next), "put one flow in each file", "the file holds more than one YAML document")
	case !errors.Is(err, io.EOF):
		p.probs = append(p.probs, p.syntaxProblem(err))
	}
	root := resolve(&doc)
	if root.Kind != yaml.MappingNode {
		p.add(CodeBadValue, pos(root), "a flow file has name, trigger and steps", "a flow file must be a mapping, not %s", describe(root))
		return nil, false
	}
	return root, true
}

// resolve follows aliases and document nodes.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch {
		case n.Kind == yaml.DocumentNode && len(n.Content) > 0:
			n = n.Content[0]
		case n.Kind == yaml.AliasNode && n.Alias != nil:
			n = n.Alias
		default:
			return n
		}
	}
	return n
}

// describe names a node's shape for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int":
			return "a number (" + n.Value + ")"
		case "!!float":
			return "a number (" + n.Value + ")"
		case "!!bool":
			return "a bool (" + n.Value + ")"
		}
		return fmt.Sprintf("a string (%q)", abbrev(n.Value))
	}
	return "nothing"
}

// describeValue names a decoded value's shape for messages.
func describeValue(x any) string {
	switch v := x.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("a string (%q)", abbrev(v))
	case bool:
		return fmt.Sprintf("a bool (%v)", v)
	case int, float64:
		return fmt.Sprintf("a number (%v)", v)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", x)
}

func abbrev(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// entry is one key and value of a mapping.
type entry struct {
	name     string
	key, val *yaml.Node
}

func (e entry) at() keyPos { return keyPos{Key: pos(e.key), Val: pos(resolve(e.val))} }

// entries lists a mapping's entries in order, resolving merge keys (<<) and
// reporting duplicate and non-scalar keys.
func (p *parser) entries(n *yaml.Node) []entry {
	var out []entry
	seen := map[string]*yaml.Node{}
	var merged []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(CodeBadValue, pos(k), "keys are plain names", "a key must be a string, not %s", describe(resolve(k)))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merged = append(merged, p.mergeEntries(v)...)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.add(CodeYAMLSyntax, pos(k), "remove one of them", "key %q is already defined at line %d", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, entry{name: k.Value, key: k, val: v})
	}
	for _, e := range merged {
		if _, dup := seen[e.name]; !dup {
			seen[e.name] = e.key
			out = append(out, e)
		}
	}
	return out
}

func (p *parser) mergeEntries(v *yaml.Node) []entry {
	v = resolve(v)
	switch v.Kind {
	case yaml.MappingNode:
		return p.entries(v)
	case yaml.SequenceNode:
		var out []entry
		for _, it := range v.Content {
			out = append(out, p.mergeEntries(it)...)
		}
		return out
	}
	p.add(CodeBadValue, pos(v), "merge (<<) a mapping or list of mappings", "cannot merge %s", describe(v))
	return nil
}

// mapping resolves n and checks that it is a mapping.
func (p *parser) mapping(n *yaml.Node, what string) (*yaml.Node, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		p.add(CodeBadValue, pos(n), "", "%s must be a mapping, not %s", what, describe(n))
		return n, false
	}
	return n, true
}

// known reports keys outside known as unknown-key problems and returns the
// entries by name.
func (p *parser) known(es []entry, where string, known ...string) map[string]entry {
	out := make(map[string]entry, len(es))
	for _, e := range es {
		if !slices.Contains(known, e.name) {
			p.add(CodeUnknownKey, pos(e.key), suggest(e.name, known, "known keys"), "unknown key %q in %s", e.name, where)
			continue
		}
		out[e.name] = e
	}
	return out
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// str reads a scalar as a string.
func (p *parser) str(n *yaml.Node, what string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		p.add(CodeBadValue, pos(n), "", "%s must be a string, not %s", what, describe(n))
		return "", false
	}
	return n.Value, true
}

// lit reads a scalar that must not hold an expression.
func (p *parser) lit(n *yaml.Node, what string) (string, bool) {
	s, ok := p.str(n, what)
	if ok && expr.HasExpr(s) {
		p.add(CodeBadValue, pos(resolve(n)), "write the value itself", "%s cannot be an expression", what)
		return "", false
	}
	return s, ok
}

// name reads a literal string that must match re.
func (p *parser) name(n *yaml.Node, what string, re *regexp.Regexp, form string) (string, bool) {
	s, ok := p.lit(n, what)
	if !ok {
		return "", false
	}
	if !re.MatchString(s) {
		p.add(CodeBadName, pos(resolve(n)), what+"s are "+form, "%s %q has the wrong form", what, s)
		return s, false
	}
	return s, true
}

func (p *parser) boolean(n *yaml.Node, what string) (bool, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		p.add(CodeBadValue, pos(n), "write true or false", "%s must be true or false, not %s", what, describe(n))
		return false, false
	}
	var b bool
	return b, n.Decode(&b) == nil
}

func (p *parser) integer(n *yaml.Node, what string) (int, bool) {
	n = resolve(n)
	var i int
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&i) != nil {
		p.add(CodeBadValue, pos(n), "", "%s must be a whole number, not %s", what, describe(n))
		return 0, false
	}
	return i, true
}

// duration reads a literal duration ("90s", "7d").
func (p *parser) duration(n *yaml.Node, what string) (time.Duration, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		hint := "durations are written like 90s, 15m, 2h30m, 7d"
		if n.ShortTag() == "!!int" {
			hint = fmt.Sprintf("add a unit: %ss", n.Value)
		}
		p.add(CodeBadDuration, pos(n), hint, "%s must be a duration, not %s", what, describe(n))
		return 0, false
	}
	if expr.HasExpr(n.Value) {
		p.add(CodeBadValue, pos(n), "write the duration itself", "%s cannot be an expression", what)
		return 0, false
	}
	d, err := connector.ParseDuration(n.Value)
	if err != nil {
		p.add(CodeBadDuration, pos(n), "durations are written like 90s, 15m, 2h30m, 7d", "%s: %v", what, err)
		return 0, false
	}
	return d, true
}

// value converts a node into a Value, compiling every ${{ }}.
func (p *parser) value(n *yaml.Node) *Value {
	n = resolve(n)
	at := pos(n)
	if !p.spend(n) {
		return Literal(nil, at)
	}
	defer p.leave()
	if !p.enter(n) {
		return Literal(nil, at)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return Literal(nil, at)
		case "!!bool":
			var b bool
			_ = n.Decode(&b)
			return Literal(b, at)
		case "!!int":
			var i int
			if n.Decode(&i) == nil {
				return Literal(i, at)
			}
			var f float64
			_ = n.Decode(&f)
			return Literal(f, at)
		case "!!float":
			var f float64
			_ = n.Decode(&f)
			return Literal(f, at)
		}
		return p.template(n)
	case yaml.MappingNode:
		es := p.entries(n)
		keys := make([]string, 0, len(es))
		kp := make([]Pos, 0, len(es))
		m := make(map[string]*Value, len(es))
		for _, e := range es {
			keys = append(keys, e.name)
			kp = append(kp, pos(e.key))
			m[e.name] = p.value(e.val)
		}
		v := MapValue(keys, m, at)
		v.keyPos = kp
		return v
	case yaml.SequenceNode:
		items := make([]*Value, len(n.Content))
		for i, it := range n.Content {
			items[i] = p.value(it)
		}
		return ListValue(items, at)
	}
	return Literal(nil, at)
}

// template compiles a string scalar. A compile error is reported with the
// position inside the expression, and the string kept as a literal.
func (p *parser) template(n *yaml.Node) *Value {
	v, err := String(n.Value, pos(n))
	if err != nil {
		var ee *expr.Error
		off := 0
		msg := err.Error()
		if errors.As(err, &ee) {
			off, msg = ee.Offset, ee.Msg
		}
		p.add(CodeBadExpression, p.locate(n).at(off), p.exprHint(n, msg), "%s", msg)
		return &Value{Pos: pos(n), lit: n.Value, kind: valLiteral, exprs: true, broken: true}
	}
	if v.kind == valTemplate {
		loc := p.locate(n)
		v.segPos = make([]Pos, len(v.segs))
		for i, s := range v.segs {
			v.segPos[i] = loc.at(s.Offset)
		}
	}
	return v
}

var hyphenRefRE = regexp.MustCompile(`steps\.[a-z][a-z0-9_]*-`)

// exprHint explains the usual causes of an expression that does not compile.
func (p *parser) exprHint(n *yaml.Node, msg string) string {
	comment := false
	if n.Style == 0 && n.Line >= 1 && n.Line <= len(p.lines) {
		line := p.lines[n.Line-1]
		comment = strings.Contains(line[byteIndex(line, n.Column-1):], " #")
	}
	switch {
	case strings.HasPrefix(msg, "unclosed") && comment:
		return `YAML read " #" as the start of a comment: quote the value ("${{ … }}")`
	case strings.HasPrefix(msg, "unclosed"):
		return "close the expression with }}"
	case hyphenRefRE.MatchString(n.Value):
		return `read ids with "-" as steps["the-id"]: in an expression "-" subtracts`
	}
	return "expressions use expr-lang syntax (docs/flows.md, Expressions)"
}

// Name forms.
var (
	flowNameRE   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	stepIDRE     = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	identRE      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
	roleRE       = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)
	connectionRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,63}$`)
	envRE        = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// ValidConnectionName reports whether name is a valid connection name
// (lower-case letters, digits, - and _, starting with a letter).
func ValidConnectionName(name string) bool { return connectionRE.MatchString(name) }

const (
	formFlowName = "lower-case letters, digits, - and _, starting with a letter (at most 64)"
	formIdent    = "letters, digits and _, not starting with a digit (at most 64)"
	formRole     = "lower-case letters, digits and _, starting with a letter"
)

// flow reads the top-level mapping.
func (p *parser) flow(f *Flow, root *yaml.Node) {
	es := p.known(p.entries(root), "the flow", "name", "version", "description", "params", "connections", "trigger", "steps", "output")
	if e, ok := es["name"]; ok {
		f.Name, _ = p.name(e.val, "flow name", flowNameRE, formFlowName)
	} else {
		p.add(CodeMissingKey, pos(root), "add name: my-flow (lower-case letters, digits, - and _)", "the flow has no name")
	}
	if e, ok := es["version"]; ok && !isNull(e.val) {
		if v, ok := p.integer(e.val, "version"); ok {
			if v < 1 {
				p.add(CodeBadValue, pos(resolve(e.val)), "leave version out to have apply number versions", "version must be 1 or more, not %d", v)
			}
			f.Version = v
		}
	}
	if e, ok := es["description"]; ok && !isNull(e.val) {
		f.Description, _ = p.str(e.val, "description")
	}
	if e, ok := es["params"]; ok && !isNull(e.val) {
		p.params(f, e.val)
	}
	if e, ok := es["connections"]; ok && !isNull(e.val) {
		p.connections(f, e.val)
	}
	if e, ok := es["trigger"]; ok {
		p.trigger(&f.Trigger, e)
	} else {
		p.add(CodeMissingKey, pos(root), "add trigger: { on: manual } or another trigger", "the flow has no trigger")
	}
	if e, ok := es["steps"]; ok {
		n := resolve(e.val)
		f.Steps = p.steps(n, "", "steps")
		if isNull(n) || n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
			p.add(CodeEmptyBlock, pos(e.key), "add at least one step", "the flow has no steps")
		}
	} else {
		p.add(CodeMissingKey, pos(root), "add steps: [ … ]", "the flow has no steps")
	}
	if e, ok := es["output"]; ok {
		f.Output = p.value(e.val)
	}
}

// Parameter types.
var paramTypes = []string{"string", "int", "number", "bool", "list", "object", "duration"}

func (p *parser) params(f *Flow, n *yaml.Node) {
	n, ok := p.mapping(n, "params")
	if !ok {
		return
	}
	for _, e := range p.entries(n) {
		prm := &Param{Name: e.name, Pos: pos(e.key)}
		if !identRE.MatchString(e.name) {
			p.add(CodeBadName, pos(e.key), "parameter names are "+formIdent, "parameter name %q has the wrong form", e.name)
		}
		f.Params = append(f.Params, prm)
		body, ok := p.mapping(e.val, "parameter "+e.name)
		if !ok {
			continue
		}
		fs := p.known(p.entries(body), "parameter "+e.name, "type", "default", "required", "enum", "doc")
		if t, ok := fs["type"]; ok {
			if s, ok := p.lit(t.val, "type"); ok {
				if !slices.Contains(paramTypes, s) {
					p.add(CodeBadParam, pos(resolve(t.val)), suggest(s, paramTypes, "types"), "parameter %s: unknown type %q", e.name, s)
				} else {
					prm.Type = s
				}
			}
		} else {
			p.add(CodeMissingKey, pos(e.key), "add type: "+strings.Join(paramTypes, " | "), "parameter %s has no type", e.name)
		}
		if r, ok := fs["required"]; ok {
			prm.Required, _ = p.boolean(r.val, "required")
		}
		if d, ok := fs["doc"]; ok && !isNull(d.val) {
			prm.Doc, _ = p.str(d.val, "doc")
		}
		field := connector.Field{Name: e.name, Type: connector.Type(prm.Type)}
		if en, ok := fs["enum"]; ok {
			prm.Enum = p.paramValues(en.val, e.name, "enum")
			for i, x := range prm.Enum {
				if err := connector.CheckValue(field, x); prm.Type != "" && err != nil {
					p.add(CodeBadParam, pos(resolve(en.val).Content[i]), "enum values are of the parameter's type, "+prm.Type, "parameter %s: enum value: %v", e.name, err)
				}
			}
			field.Enum = prm.Enum
		}
		if d, ok := fs["default"]; ok {
			v := p.paramValues(d.val, e.name, "default")
			if len(v) == 1 && v[0] != nil {
				prm.Default = v[0]
				if err := connector.CheckValue(field, prm.Default); prm.Type != "" && err != nil {
					hint := "the default is of the parameter's type, " + prm.Type
					if len(prm.Enum) > 0 {
						hint = fmt.Sprintf("the default is one of the enum values %v", prm.Enum)
					}
					p.add(CodeBadParam, pos(resolve(d.val)), hint, "parameter %s: default: %v", e.name, err)
				}
				if prm.Required {
					p.add(CodeBadParam, pos(d.key), "drop required or the default", "parameter %s is required and has a default", e.name)
				}
			}
		}
	}
}

// paramValues reads a parameter's default (one value) or enum (a list of
// values); neither may hold expressions.
func (p *parser) paramValues(n *yaml.Node, param, what string) []any {
	v := p.value(n)
	if v.HasExpr() {
		p.add(CodeBadParam, v.Pos, "parameters are set when the flow is applied or installed", "parameter %s: %s cannot be an expression", param, what)
		return nil
	}
	x, _ := v.Static()
	if what == "default" {
		return []any{x}
	}
	list, ok := x.([]any)
	if !ok {
		p.add(CodeBadParam, v.Pos, "write enum: [a, b]", "parameter %s: enum must be a list", param)
		return nil
	}
	return list
}

func (p *parser) connections(f *Flow, n *yaml.Node) {
	n, ok := p.mapping(n, "connections")
	if !ok {
		return
	}
	for _, e := range p.entries(n) {
		if !roleRE.MatchString(e.name) {
			p.add(CodeBadName, pos(e.key), "roles are "+formRole, "role %q has the wrong form", e.name)
		}
		ref := ConnRef{Pos: pos(e.key)}
		v := resolve(e.val)
		switch v.Kind {
		case yaml.ScalarNode:
			ref.Connector, _ = p.lit(v, "connector")
			ref.connPos = pos(v)
		case yaml.MappingNode:
			fs := p.known(p.entries(v), "connection "+e.name, "connector", "connection")
			if c, ok := fs["connector"]; ok {
				ref.Connector, _ = p.lit(c.val, "connector")
				ref.connPos = pos(resolve(c.val))
			} else {
				p.add(CodeMissingKey, pos(v), "add connector: <name>", "role %s names no connector", e.name)
			}
			if c, ok := fs["connection"]; ok {
				ref.Connection, _ = p.name(c.val, "connection name", connectionRE, formFlowName)
			}
		default:
			p.add(CodeBadValue, pos(v), "write role: connector or role: { connector: …, connection: … }", "role %s: want a connector name, not %s", e.name, describe(v))
		}
		if ref.Connection == "" {
			ref.Connection = ref.Connector
		}
		f.Connections[e.name] = ref
	}
}

// Built-in trigger names.
var builtinTriggers = []string{"webhook", "schedule", "manual"}

func (p *parser) trigger(t *Trigger, te entry) {
	n := resolve(te.val)
	t.Pos = pos(n)
	if n.Kind != yaml.MappingNode {
		hint := "trigger: { on: <role>.<trigger> }"
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
			hint = fmt.Sprintf("trigger: { on: %s }", n.Value)
		}
		p.add(CodeBadValue, pos(n), hint, "trigger must be a mapping, not %s", describe(n))
		return
	}
	es := p.entries(n)
	fs := p.known(es, "trigger", "on", "config", "filter", "dedupe", "cron", "echoes")
	t.at = map[string]keyPos{}
	for _, e := range fs {
		t.at[e.name] = e.at()
	}
	on, ok := fs["on"]
	if !ok {
		p.add(CodeMissingKey, pos(n), "add on: <role>.<trigger>, webhook, schedule or manual", "the trigger has no on:")
		return
	}
	s, ok := p.lit(on.val, "trigger.on")
	if !ok {
		return
	}
	onPos := pos(resolve(on.val))
	switch {
	case s == "webhook":
		t.Kind = TriggerWebhook
	case s == "schedule":
		t.Kind = TriggerSchedule
	case s == "manual":
		t.Kind = TriggerManual
	case strings.Count(s, ".") == 1 && !strings.HasPrefix(s, ".") && !strings.HasSuffix(s, "."):
		t.Kind = TriggerConnector
		t.Role, t.Name, _ = strings.Cut(s, ".")
	default:
		p.add(CodeUnknownTrigger, onPos, suggest(s, builtinTriggers, "on: takes <role>.<trigger> or one of"), "unknown trigger %q", s)
	}
	if c, ok := fs["config"]; ok && !isNull(c.val) {
		if _, isMap := p.mapping(c.val, "trigger.config"); isMap {
			t.config = p.value(c.val)
			if t.config.HasExpr() {
				at := t.config.Pos
				if ex := t.config.Exprs(); len(ex) > 0 {
					at = ex[0].Pos
				}
				p.add(CodeBadValue, at, "trigger options are fixed when the flow is applied", "trigger.config cannot hold expressions")
			}
			x, _ := t.config.Static()
			t.Config, _ = x.(map[string]any)
		}
	}
	if t.Config == nil {
		t.Config = map[string]any{}
	}
	if c, ok := fs["cron"]; ok {
		if t.Kind != TriggerSchedule {
			p.add(CodeUnknownKey, pos(c.key), "cron applies to on: schedule", "cron has no meaning for on: %s", s)
		} else if spec, ok := p.lit(c.val, "cron"); ok {
			t.Cron = spec
			if _, err := cron.ParseStandard(spec); err != nil {
				p.add(CodeBadCron, pos(resolve(c.val)), `five fields (minute hour day-of-month month day-of-week), or @every 10m, @hourly, @daily`, "bad schedule %q: %v", spec, err)
			}
		}
	} else if t.Kind == TriggerSchedule {
		p.add(CodeMissingKey, onPos, `add cron: "*/5 * * * *" next to on: schedule`, "a schedule trigger needs cron")
	}
	switch t.Kind {
	case TriggerWebhook:
		p.webhookConfig(t, onPos)
	case TriggerSchedule, TriggerManual:
		for _, k := range t.config.Keys() {
			hint := fmt.Sprintf("on: %s takes no config", s)
			if k == "cron" {
				hint = "cron goes next to on:, not under config"
			}
			p.add(CodeUnknownKey, t.config.KeyPos(k), hint, "unknown key %q in trigger.config", k)
		}
	}
	if e, ok := fs["filter"]; ok {
		t.Filter = p.value(e.val)
		p.wantBool(t.Filter, "trigger.filter")
	}
	if e, ok := fs["dedupe"]; ok {
		t.Dedupe = p.value(e.val)
	}
	if e, ok := fs["echoes"]; ok {
		v := resolve(e.val)
		switch {
		case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool":
			t.Echoes = strings.EqualFold(v.Value, "true")
		default:
			p.add(CodeBadValue, pos(v), "echoes: true (start runs on patchbay's own writes coming back) or false", "trigger.echoes must be true or false, not %s", describe(v))
		}
	}
}

// webhookConfig checks and completes the options of on: webhook.
func (p *parser) webhookConfig(t *Trigger, onPos Pos) {
	keys := []string{"verify", "secret_env", "header"}
	for _, k := range t.config.Keys() {
		if !slices.Contains(keys, k) {
			p.add(CodeUnknownKey, t.config.KeyPos(k), suggest(k, keys, "webhook options"), "unknown key %q in trigger.config", k)
		}
	}
	verify, ok := t.Config["verify"]
	if !ok || verify == nil {
		verify = "token"
	}
	vs, _ := verify.(string)
	if vs != "none" && vs != "token" && vs != "hmac" {
		p.add(CodeBadValue, t.config.m["verify"].Pos, "verify: none | token | hmac", "verify must be none, token or hmac, not %s", describeValue(verify))
	}
	t.Config["verify"] = vs
	if env, ok := t.Config["secret_env"]; ok && env != nil {
		if s, _ := env.(string); !envRE.MatchString(s) {
			p.add(CodeBadValue, t.config.m["secret_env"].Pos, "name the environment variable that holds the secret, e.g. HOOK_SECRET", "secret_env must be an environment variable name, not %s", describeValue(env))
		}
	} else if vs != "none" {
		at := onPos
		if t.config != nil {
			at = t.at["config"].Key
		}
		p.add(CodeMissingKey, at, "add config: { secret_env: HOOK_SECRET }, or verify: none", "a webhook with verify: %s needs secret_env", vs)
	}
	if h, ok := t.Config["header"]; !ok || h == nil {
		if vs == "hmac" {
			t.Config["header"] = "X-Patchbay-Signature"
		} else if vs == "token" {
			t.Config["header"] = "X-Patchbay-Token"
		}
	} else if s, ok := h.(string); !ok || s == "" {
		p.add(CodeBadValue, t.config.m["header"].Pos, "", "header must be an HTTP header name")
	}
}

// wantBool reports a literal condition that is not a bool.
func (p *parser) wantBool(v *Value, what string) {
	if x, ok := v.Static(); ok {
		if _, isBool := x.(bool); !isBool {
			p.add(CodeBadValue, v.Pos, "write an expression such as ${{ event.type == \"x\" }}, or true/false", "%s must be true or false, not %s", what, describeValue(x))
		}
	}
}
