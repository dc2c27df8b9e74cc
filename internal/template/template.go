// Package template lists, renders and installs the use-case templates
// embedded from the templates/ directory. A template is an ordinary flow
// file whose customer-specific names are parameters and whose connections
// are roles; installing one sets parameter defaults and connection names in
// the file's source and applies it as a flow.
//
// Render edits the source text in place, replacing only the parameter
// declarations and connection entries it changes (each with a one-line JSON
// value, padded with blank lines to its old height), so the header comment
// survives and validation messages keep pointing at the template's lines.
package template

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/flow"
	"github.com/patchbay/patchbay/templates"
)

// Param is a template parameter.
type Param struct {
	Name     string `json:"name"`
	Type     string `json:"type"`
	Doc      string `json:"doc,omitempty"`
	Default  any    `json:"default,omitempty"`
	Required bool   `json:"required,omitempty"`
	Enum     []any  `json:"enum,omitempty"`
}

// Info describes a template.
type Info struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// File is the template's file name in the templates directory.
	File   string  `json:"file"`
	Params []Param `json:"params"`
	// Roles maps each connection role to its connector.
	Roles map[string]string `json:"roles"`
	// Connections maps each role to the connection name the template uses
	// unless told otherwise.
	Connections map[string]string `json:"connections"`
}

type entry struct {
	info Info
	src  []byte
}

// load reads every embedded template, once (they are compiled in).
var load = sync.OnceValues(loadAll)

func loadAll() ([]entry, error) {
	names, err := fs.Glob(templates.Files, "*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []entry
	for _, file := range names {
		src, err := templates.Files.ReadFile(file)
		if err != nil {
			return nil, err
		}
		f, probs := flow.Parse(file, src)
		if f == nil || len(probs) > 0 {
			return nil, fmt.Errorf("template %s does not parse: %w", file, probs)
		}
		info := Info{Name: f.Name, Description: f.Description, File: file, Roles: map[string]string{}, Connections: map[string]string{}}
		for _, p := range f.Params {
			info.Params = append(info.Params, Param{Name: p.Name, Type: p.Type, Doc: p.Doc, Default: p.Default, Required: p.Required, Enum: p.Enum})
		}
		for role, c := range f.Connections {
			info.Roles[role] = c.Connector
			info.Connections[role] = c.Connection // the parser defaults it to the connector
		}
		out = append(out, entry{info: info, src: src})
	}
	return out, nil
}

// List returns every template, by name.
func List() ([]Info, error) {
	es, err := load()
	if err != nil {
		return nil, err
	}
	out := make([]Info, len(es))
	for i, e := range es {
		out[i] = e.info
	}
	return out, nil
}

// Get returns a template and its source. name may also be the file name.
func Get(name string) (*Info, []byte, error) {
	es, err := load()
	if err != nil {
		return nil, nil, err
	}
	var names []string
	for _, e := range es {
		if e.info.Name == name || e.info.File == name || strings.TrimSuffix(e.info.File, ".yaml") == name {
			info := e.info
			return &info, e.src, nil
		}
		names = append(names, e.info.Name)
	}
	return nil, nil, fault.Errorf(fault.NotFound, "no template %q (templates: %s)", name, strings.Join(names, ", "))
}

// Param returns the parameter called name.
func (i *Info) Param(name string) (Param, bool) {
	for _, p := range i.Params {
		if p.Name == name {
			return p, true
		}
	}
	return Param{}, false
}

func (i *Info) paramNames() string {
	var n []string
	for _, p := range i.Params {
		n = append(n, p.Name)
	}
	return strings.Join(n, ", ")
}

func (i *Info) roleNames() string {
	return strings.Join(slices.Sorted(maps.Keys(i.Roles)), ", ")
}

// ParseValue reads a raw parameter value (as given on the command line) as
// the parameter's type: a number for int and number, true/false for bool, a
// duration such as 90s or 7d, and YAML or JSON for list and object (a bare
// "a,b" is the list [a, b]).
func ParseValue(p Param, raw string) (any, error) {
	var v any
	switch p.Type {
	case "string":
		v = raw
	case "int":
		n, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("want a whole number, got %q", raw)
		}
		v = n
	case "number":
		n, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
		if err != nil {
			return nil, fmt.Errorf("want a number, got %q", raw)
		}
		v = n
	case "bool":
		b, err := strconv.ParseBool(strings.TrimSpace(raw))
		if err != nil {
			return nil, fmt.Errorf("want true or false, got %q", raw)
		}
		v = b
	case "duration":
		v = strings.TrimSpace(raw) // checked below
	case "list", "object":
		var x any
		if err := yaml.Unmarshal([]byte(raw), &x); err != nil {
			return nil, fmt.Errorf("want YAML or JSON (%s): %v", p.Type, err)
		}
		x = normalize(x)
		if p.Type == "list" {
			if s, ok := x.(string); ok {
				var items []any
				for _, it := range strings.Split(s, ",") {
					if it = strings.TrimSpace(it); it != "" {
						items = append(items, it)
					}
				}
				x = items
			}
			if x == nil {
				x = []any{}
			}
			if _, ok := x.([]any); !ok {
				return nil, fmt.Errorf("want a list such as [a, b], got %q", raw)
			}
		} else {
			if x == nil {
				x = map[string]any{}
			}
			if _, ok := x.(map[string]any); !ok {
				return nil, fmt.Errorf("want an object such as {a: 1}, got %q", raw)
			}
		}
		v = x
	default:
		return nil, fmt.Errorf("parameter type %q cannot be set", p.Type)
	}
	// The checks every parameter value gets (durations, enums), as the
	// engine makes them on a run's input.
	if err := connector.CheckValue(connector.Field{Name: p.Name, Type: connector.Type(p.Type), Enum: p.Enum}, v); err != nil {
		return nil, fmt.Errorf("%v (got %q)", err, raw)
	}
	return v, nil
}

// normalize turns YAML-decoded maps into map[string]any.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalize(e)
		}
		return m
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}

// Render returns the template's source with params (name → raw value, see
// ParseValue) as the parameters' defaults and conns (role → connection
// name) as the roles' connections. An unknown parameter or role, a value
// of the wrong type or a required parameter left unset is an error naming
// it. The result is validated as a flow.
func Render(name string, params map[string]string, conns map[string]string) ([]byte, error) {
	info, src, err := Get(name)
	if err != nil {
		return nil, err
	}
	out, err := render(info, src, params, conns)
	if err != nil {
		return nil, err
	}
	if _, err := flow.Load(info.File, out, nil); err != nil {
		return nil, fault.E(fault.Invalid, "template "+info.Name+" with these parameters is not a valid flow", err)
	}
	return out, nil
}

// render checks params and conns against the template and edits its source.
func render(info *Info, src []byte, params map[string]string, conns map[string]string) ([]byte, error) {
	values := map[string]any{}
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(params)) {
		p, ok := info.Param(k)
		if !ok {
			problems = append(problems, fmt.Sprintf("unknown parameter %q (parameters of %s: %s)", k, info.Name, info.paramNames()))
			continue
		}
		v, err := ParseValue(p, params[k])
		if err != nil {
			problems = append(problems, fmt.Sprintf("parameter %s (%s): %v", k, p.Type, err))
			continue
		}
		values[k] = v
	}
	for _, p := range info.Params {
		if _, set := values[p.Name]; p.Required && !set {
			problems = append(problems, fmt.Sprintf("parameter %s is required (--param %s=…): %s", p.Name, p.Name, p.Doc))
		}
	}
	for _, role := range slices.Sorted(maps.Keys(conns)) {
		if _, ok := info.Roles[role]; !ok {
			problems = append(problems, fmt.Sprintf("unknown role %q (roles of %s: %s)", role, info.Name, info.roleNames()))
			continue
		}
		if !flow.ValidConnectionName(conns[role]) {
			problems = append(problems, fmt.Sprintf("connection %q for role %s: want lower-case letters, digits, - and _, starting with a letter", conns[role], role))
		}
	}
	if len(problems) > 0 {
		return nil, fault.Errorf(fault.Invalid, "template %s: %s", info.Name, strings.Join(problems, "; "))
	}
	out, err := edit(src, values, conns, info.Roles)
	if err != nil {
		return nil, fmt.Errorf("rendering template %s: %w", info.Name, err)
	}
	return out, nil
}

// Install renders a template and applies it as a flow (its name is the
// template's), by the user by.
func Install(ctx context.Context, a *app.App, name string, params, conns map[string]string, by string) (*app.ApplyResult, error) {
	info, src, err := Get(name)
	if err != nil {
		return nil, err
	}
	out, err := render(info, src, params, conns)
	if err != nil {
		return nil, err
	}
	// ApplyFlow validates the flow and reports problems with positions.
	return a.ApplyFlow(ctx, info.File, out, by)
}

// splice is one replacement of src[from:to].
type splice struct {
	from, to int
	text     string
}

// edit replaces the declarations of the parameters in values and the
// entries of the roles in conns.
func edit(src []byte, values map[string]any, conns map[string]string, roles map[string]string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a mapping")
	}
	root := doc.Content[0]
	lineStart := lineOffsets(src)
	var edits []splice
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		end := len(src) // where the section ends: the next top-level key's line
		if i+2 < len(root.Content) {
			end = lineStart[root.Content[i+2].Line-1]
		}
		switch key.Value {
		case "params":
			s, err := entries(src, lineStart, val, end, func(name string, decl *yaml.Node) (string, bool, error) {
				v, ok := values[name]
				if !ok {
					return "", false, nil
				}
				text, err := paramDecl(decl, v)
				return text, true, err
			})
			if err != nil {
				return nil, err
			}
			edits = append(edits, s...)
		case "connections":
			s, err := entries(src, lineStart, val, end, func(role string, decl *yaml.Node) (string, bool, error) {
				c, ok := conns[role]
				if !ok {
					return "", false, nil
				}
				b, _ := json.Marshal(map[string]string{"connector": roles[role], "connection": c})
				return strings.ReplaceAll(string(b), `","`, `", "`), true, nil
			})
			if err != nil {
				return nil, err
			}
			edits = append(edits, s...)
		}
	}
	sort.Slice(edits, func(i, j int) bool { return edits[i].from > edits[j].from })
	out := append([]byte(nil), src...)
	for _, e := range edits {
		out = append(out[:e.from], append([]byte(e.text), out[e.to:]...)...)
	}
	return out, nil
}

// entries computes the splices of a mapping's values: fn returns the new
// one-line value of an entry (or false to keep it). A value's span runs
// from its first character to the line of the next key (or end); the new
// text is padded with newlines so later lines keep their numbers.
func entries(src []byte, lineStart []int, m *yaml.Node, end int, fn func(key string, val *yaml.Node) (string, bool, error)) ([]splice, error) {
	if m.Kind != yaml.MappingNode {
		return nil, nil
	}
	if m.Style&yaml.FlowStyle != 0 {
		return nil, fmt.Errorf("line %d: rewrite the mapping in block style (one entry per line) to set its values", m.Line)
	}
	var out []splice
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i], m.Content[i+1]
		text, ok, err := fn(key.Value, val)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key.Value, err)
		}
		if !ok {
			continue
		}
		from := offset(src, lineStart, val.Line, val.Column)
		to := end
		if i+2 < len(m.Content) {
			to = lineStart[m.Content[i+2].Line-1]
		}
		old := string(src[from:to])
		// Keep trailing comment lines that introduce the next entry.
		lines := strings.SplitAfter(old, "\n")
		keep := ""
		for len(lines) > 1 {
			l := lines[len(lines)-1]
			if l == "" {
				lines = lines[:len(lines)-1]
				continue
			}
			t := strings.TrimSpace(l)
			if strings.HasPrefix(t, "#") || t == "" {
				keep = l + keep
				lines = lines[:len(lines)-1]
				continue
			}
			break
		}
		body := strings.Join(lines, "")
		repl := text + strings.Repeat("\n", strings.Count(body, "\n"))
		out = append(out, splice{from: from, to: to, text: repl + keep})
	}
	return out, nil
}

// paramDecl renders a parameter declaration as one-line JSON with its
// default set to v (dropping required, since a default satisfies it).
func paramDecl(decl *yaml.Node, v any) (string, error) {
	var b bytes.Buffer
	b.WriteString("{")
	first := true
	put := func(k string, x any) error {
		j, err := json.Marshal(x)
		if err != nil {
			return err
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		kj, _ := json.Marshal(k)
		b.Write(kj)
		b.WriteString(": ")
		b.Write(j)
		return nil
	}
	wrote := false
	if decl.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(decl.Content); i += 2 {
			k := decl.Content[i].Value
			switch k {
			case "required":
				continue
			case "default":
				if err := put(k, v); err != nil {
					return "", err
				}
				wrote = true
				continue
			}
			var x any
			if err := decl.Content[i+1].Decode(&x); err != nil {
				return "", err
			}
			if err := put(k, normalize(x)); err != nil {
				return "", err
			}
		}
	}
	if !wrote {
		if err := put("default", v); err != nil {
			return "", err
		}
	}
	b.WriteString("}")
	return b.String(), nil
}

// lineOffsets returns the byte offset of the start of each line.
func lineOffsets(src []byte) []int {
	out := []int{0}
	for i, c := range src {
		if c == '\n' {
			out = append(out, i+1)
		}
	}
	return out
}

// offset converts a 1-based line and column (in characters) to a byte offset.
func offset(src []byte, lineStart []int, line, col int) int {
	off := lineStart[line-1]
	for c := 1; c < col && off < len(src); c++ {
		_, size := utf8.DecodeRune(src[off:])
		off += size
	}
	return off
}
