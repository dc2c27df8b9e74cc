package connector

import (
	"fmt"
	"regexp"
	"time"
)

// Type is the type of a declared field.
type Type string

// Field types. Any accepts every JSON value; Object and List may describe their
// contents with Fields and Items.
const (
	String   Type = "string"
	Int      Type = "int"
	Number   Type = "number"
	Bool     Type = "bool"
	Object   Type = "object"
	List     Type = "list"
	Duration Type = "duration" // a Go duration string ("90s", "1h30m") or days ("7d")
	Any      Type = "any"
)

// Field declares one connection setting, trigger option, action input or output.
// Validation, docs, UI forms and the flow JSON Schema are generated from it.
type Field struct {
	Name     string  `json:"name"`
	Type     Type    `json:"type"`
	Doc      string  `json:"doc,omitempty"`
	Required bool    `json:"required,omitempty"`
	Default  any     `json:"default,omitempty"`
	Secret   bool    `json:"secret,omitempty"`
	Enum     []any   `json:"enum,omitempty"`
	Example  any     `json:"example,omitempty"`
	Fields   []Field `json:"fields,omitempty"` // for Object: the known keys
	Items    *Field  `json:"items,omitempty"`  // for List: the element
	// Open, for Object, allows keys beyond Fields.
	Open bool `json:"open,omitempty"`
}

// ActionSpec declares an action a connector offers.
type ActionSpec struct {
	Name   string  `json:"name"`
	Title  string  `json:"title,omitempty"`
	Doc    string  `json:"doc,omitempty"`
	Input  []Field `json:"input"`
	Output []Field `json:"output,omitempty"`
	// Idempotent means running the action twice with the same input has the
	// effect of running it once, so the engine may retry it after an ambiguous
	// failure such as a timeout. Non-idempotent actions are retried only on
	// errors that prove nothing was written (connection refused, 429, 503
	// before the request was read) unless the step's retry policy says otherwise.
	Idempotent bool `json:"idempotent"`
	// Writes is true when the action changes the external system; such
	// actions report their writes (Result.Writes) for the audit trail and links.
	Writes   bool      `json:"writes"`
	Examples []Example `json:"examples,omitempty"`
}

// Example is one documented use of an action or trigger.
type Example struct {
	Title  string         `json:"title,omitempty"`
	Input  map[string]any `json:"input,omitempty"`
	Output any            `json:"output,omitempty"`
}

// TriggerKind says how a trigger delivers events.
type TriggerKind string

// Trigger kinds.
const (
	Webhook TriggerKind = "webhook" // the provider posts to /hooks/{connection}/{trigger}
	Poll    TriggerKind = "poll"    // patchbay asks the provider on an interval, from a cursor
)

// TriggerSpec declares a trigger a connector offers.
type TriggerSpec struct {
	Name  string      `json:"name"`
	Title string      `json:"title,omitempty"`
	Doc   string      `json:"doc,omitempty"`
	Kind  TriggerKind `json:"kind"`
	// Config lists per-flow trigger options (trigger.config in a flow file).
	Config []Field `json:"config,omitempty"`
	// EventTypes lists the normalized event types the trigger emits.
	EventTypes []string `json:"event_types,omitempty"`
	// Data describes event.data of the emitted events.
	Data []Field `json:"data,omitempty"`
	// Interval is the default poll interval for Poll triggers.
	Interval time.Duration `json:"interval,omitempty"`
	Examples []Example     `json:"examples,omitempty"`
}

// Spec declares a connector: its connection settings, triggers and actions.
type Spec struct {
	Name       string        `json:"name"`
	Title      string        `json:"title,omitempty"`
	Doc        string        `json:"doc,omitempty"`
	Connection []Field       `json:"connection,omitempty"`
	Triggers   []TriggerSpec `json:"triggers"`
	Actions    []ActionSpec  `json:"actions"`
	// Builtin connectors (core, http) need no configured connection: a flow can
	// use them without declaring a role.
	Builtin bool `json:"builtin,omitempty"`
}

// Action returns the named action spec.
func (s *Spec) Action(name string) (*ActionSpec, bool) {
	for i := range s.Actions {
		if s.Actions[i].Name == name {
			return &s.Actions[i], true
		}
	}
	return nil, false
}

// Trigger returns the named trigger spec.
func (s *Spec) Trigger(name string) (*TriggerSpec, bool) {
	for i := range s.Triggers {
		if s.Triggers[i].Name == name {
			return &s.Triggers[i], true
		}
	}
	return nil, false
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Check reports the first problem with the spec's own shape: names, types,
// duplicates, defaults that do not fit their type. Registration panics on it.
func (s *Spec) Check() error {
	if !nameRE.MatchString(s.Name) {
		return fmt.Errorf("connector name %q: want lower_snake_case", s.Name)
	}
	if err := checkFields("connection", s.Connection); err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	seen := map[string]bool{}
	for _, a := range s.Actions {
		if !nameRE.MatchString(a.Name) {
			return fmt.Errorf("%s: action name %q: want lower_snake_case", s.Name, a.Name)
		}
		if seen["a:"+a.Name] {
			return fmt.Errorf("%s: duplicate action %q", s.Name, a.Name)
		}
		seen["a:"+a.Name] = true
		if a.Doc == "" {
			return fmt.Errorf("%s.%s: action has no doc", s.Name, a.Name)
		}
		if err := checkFields(a.Name+".input", a.Input); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
		if err := checkFields(a.Name+".output", a.Output); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	for _, t := range s.Triggers {
		if !nameRE.MatchString(t.Name) {
			return fmt.Errorf("%s: trigger name %q: want lower_snake_case", s.Name, t.Name)
		}
		if seen["t:"+t.Name] {
			return fmt.Errorf("%s: duplicate trigger %q", s.Name, t.Name)
		}
		seen["t:"+t.Name] = true
		if t.Kind != Webhook && t.Kind != Poll {
			return fmt.Errorf("%s.%s: trigger kind %q: want webhook or poll", s.Name, t.Name, t.Kind)
		}
		if t.Doc == "" {
			return fmt.Errorf("%s.%s: trigger has no doc", s.Name, t.Name)
		}
		if err := checkFields(t.Name+".config", t.Config); err != nil {
			return fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	return nil
}

func checkFields(where string, fields []Field) error {
	seen := map[string]bool{}
	for _, f := range fields {
		if f.Name == "" {
			return fmt.Errorf("%s: field without a name", where)
		}
		if seen[f.Name] {
			return fmt.Errorf("%s: duplicate field %q", where, f.Name)
		}
		seen[f.Name] = true
		switch f.Type {
		case String, Int, Number, Bool, Object, List, Duration, Any:
		default:
			return fmt.Errorf("%s.%s: unknown type %q", where, f.Name, f.Type)
		}
		if f.Default != nil {
			if err := CheckValue(f, f.Default); err != nil {
				return fmt.Errorf("%s.%s: default: %w", where, f.Name, err)
			}
		}
		if f.Required && f.Default != nil {
			return fmt.Errorf("%s.%s: required field with a default", where, f.Name)
		}
		if f.Items != nil && f.Type != List {
			return fmt.Errorf("%s.%s: items on a %s field", where, f.Name, f.Type)
		}
		if len(f.Fields) > 0 && f.Type != Object {
			return fmt.Errorf("%s.%s: fields on a %s field", where, f.Name, f.Type)
		}
		if err := checkFields(where+"."+f.Name, f.Fields); err != nil {
			return err
		}
		if f.Items != nil {
			it := *f.Items
			if it.Name == "" {
				it.Name = "items"
			}
			if err := checkFields(where+"."+f.Name, []Field{it}); err != nil {
				return err
			}
		}
	}
	return nil
}

// CheckValue reports whether v (a decoded JSON/YAML value) fits the field's
// type and enum. It checks one level deep for lists and objects.
func CheckValue(f Field, v any) error {
	if v == nil {
		return nil
	}
	ok := true
	switch f.Type {
	case String:
		_, ok = v.(string)
	case Int:
		switch n := v.(type) {
		case int, int64, int32, uint64, uint32, uint:
		case float64:
			ok = n == float64(int64(n))
		default:
			ok = false
		}
	case Number:
		switch v.(type) {
		case int, int64, int32, uint64, uint32, uint, float64, float32:
		default:
			ok = false
		}
	case Bool:
		_, ok = v.(bool)
	case Object:
		_, ok = v.(map[string]any)
	case List:
		_, ok = v.([]any)
	case Duration:
		s, isStr := v.(string)
		ok = isStr
		if isStr {
			if _, err := ParseDuration(s); err != nil {
				return err
			}
		}
	}
	if !ok {
		return fmt.Errorf("want %s, got %s", f.Type, TypeOf(v))
	}
	if len(f.Enum) > 0 {
		for _, e := range f.Enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				return nil
			}
		}
		return fmt.Errorf("%v is not one of %v", v, f.Enum)
	}
	return nil
}

// TypeOf names the type of a decoded JSON/YAML value.
func TypeOf(v any) Type {
	switch n := v.(type) {
	case nil:
		return "null"
	case string:
		return String
	case bool:
		return Bool
	case int, int64, int32, uint64, uint32, uint:
		return Int
	case float64:
		if n == float64(int64(n)) {
			return Int
		}
		return Number
	case float32:
		return Number
	case map[string]any:
		return Object
	case []any:
		return List
	}
	return Any
}

// ParseDuration parses a Go duration, also accepting whole days ("7d", "1d12h").
func ParseDuration(s string) (time.Duration, error) {
	var days int64
	rest := s
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if c >= '0' && c <= '9' {
			continue
		}
		if c == 'd' {
			n := int64(0)
			for _, d := range rest[:i] {
				n = n*10 + int64(d-'0')
			}
			if i == 0 {
				return 0, fmt.Errorf("bad duration %q", s)
			}
			days = n
			rest = rest[i+1:]
		}
		break
	}
	var d time.Duration
	if rest != "" {
		var err error
		d, err = time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("bad duration %q: want e.g. 30s, 5m, 2h, 7d", s)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("bad duration %q: negative", s)
	}
	return time.Duration(days)*24*time.Hour + d, nil
}
