package flow

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/patchbay/patchbay/internal/connector"
)

// obj is a JSON Schema object under construction; encoding/json writes its
// keys sorted, so the output is stable.
type obj = map[string]any

// Schema returns a JSON Schema (draft 2020-12) for flow files, generated from
// the connectors in reg (nil means connector.Default), for editor completion
// and checks. It knows every key of a flow file; the inputs of each action
// and the config of each trigger come from the connector specs.
//
// A schema cannot know which connector a role names, so actions and triggers
// are matched by name: "dam.get_asset" gets the inputs of every connector's
// get_asset (any of them when several connectors have an action of that
// name). Builtin connectors' actions ("http.request") match exactly.
// Validate remains the full check.
func Schema(reg *connector.Registry) ([]byte, error) {
	if reg == nil {
		reg = connector.Default
	}
	specs := reg.Specs()
	defs := obj{
		"expr": obj{
			"type": "string", "pattern": `\$\{\{`,
			"description": "An expression: ${{ … }}.",
		},
		"duration": obj{
			"type": "string", "pattern": `^([0-9]+d)?([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))*$`,
			"description": "A duration: 90s, 15m, 2h30m, 7d.",
		},
		"bool":   anyOf(obj{"type": "boolean"}, ref("expr")),
		"steps":  obj{"type": "array", "items": ref("step")},
		"param":  paramSchema(),
		"retry":  retrySchema(),
		"wait":   waitSchema(),
		"case":   caseSchema(),
		"source": obj{"type": "string", "pattern": roleDot(`[a-z][a-z0-9_]*`), "description": "<role>.<trigger>"},
	}
	var connectors []any
	actions := map[string][]string{} // action name -> input defs
	optional := map[string]bool{}    // action names some connector takes without input
	triggers := map[string][]string{}
	var builtinActions []any
	for _, s := range specs {
		connectors = append(connectors, s.Name)
		for _, a := range s.Actions {
			def := "input." + s.Name + "." + a.Name
			defs[def] = inputSchema(a)
			actions[a.Name] = append(actions[a.Name], def)
			if !slices.ContainsFunc(a.Input, func(f connector.Field) bool { return f.Required }) {
				optional[a.Name] = true
			}
			if s.Builtin {
				builtinActions = append(builtinActions, s.Name+"."+a.Name)
			}
		}
		for _, t := range s.Triggers {
			def := "config." + s.Name + "." + t.Name
			defs[def] = objectSchema(t.Config, false, titleDoc(t.Title, t.Doc))
			triggers[t.Name] = append(triggers[t.Name], def)
		}
	}
	defs["step"] = stepSchema(actions, optional, builtinActions)
	defs["trigger"] = triggerSchema(triggers)

	conn := obj{"type": "string"}
	if len(connectors) > 0 {
		conn = obj{"enum": connectors}
	}
	schema := obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"title":                "patchbay flow",
		"description":          "A patchbay flow file: a trigger, an optional filter, and steps (docs/flows.md).",
		"type":                 "object",
		"required":             []string{"name", "trigger", "steps"},
		"additionalProperties": false,
		"properties": obj{
			"name":        obj{"type": "string", "pattern": flowNameRE.String(), "description": "The flow's name: " + formFlowName + "."},
			"version":     obj{"type": "integer", "minimum": 1, "description": "The version; apply numbers versions itself when absent."},
			"description": obj{"type": "string"},
			"params": obj{
				"type": "object", "propertyNames": obj{"pattern": identRE.String()},
				"additionalProperties": ref("param"),
				"description":          "Typed parameters, read as params.<name>.",
			},
			"connections": obj{
				"type": "object", "propertyNames": obj{"pattern": roleRE.String()},
				"description": "role: connector, or role: { connector, connection }.",
				"additionalProperties": anyOf(conn, obj{
					"type": "object", "required": []string{"connector"}, "additionalProperties": false,
					"properties": obj{"connector": conn, "connection": obj{"type": "string", "pattern": connectionRE.String()}},
				}),
			},
			"trigger": ref("trigger"),
			"steps":   obj{"type": "array", "minItems": 1, "items": ref("step")},
			"output":  obj{"description": "The run's output, evaluated when it ends; what a calling flow's call step receives."},
		},
		"$defs": defs,
	}
	b, err := json.MarshalIndent(schema, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding flow schema: %w", err)
	}
	return append(b, '\n'), nil
}

func ref(def string) obj { return obj{"$ref": "#/$defs/" + def} }

func anyOf(schemas ...any) obj { return obj{"anyOf": schemas} }

// roleDot is a pattern for "<role>.<name>" where name matches namePattern.
func roleDot(namePattern string) string { return `^[a-z][a-z0-9_]*\.` + namePattern + `$` }

func titleDoc(title, doc string) string {
	switch {
	case title != "" && doc != "":
		return title + ": " + doc
	case title != "":
		return title
	}
	return doc
}

func paramSchema() obj {
	return obj{
		"type": "object", "required": []string{"type"}, "additionalProperties": false,
		"properties": obj{
			"type":     obj{"enum": toAny(paramTypes)},
			"default":  obj{},
			"required": obj{"type": "boolean"},
			"enum":     obj{"type": "array"},
			"doc":      obj{"type": "string"},
		},
	}
}

func retrySchema() obj {
	return obj{
		"type": "object", "additionalProperties": false,
		"properties": obj{
			"attempts": obj{"type": "integer", "minimum": 1, "description": "Tries in all, the first included."},
			"backoff":  obj{"enum": toAny(backoffs)},
			"delay":    ref("duration"),
			"max":      ref("duration"),
			"unsafe":   obj{"type": "boolean", "description": "Retry a non-idempotent action after an ambiguous failure."},
		},
	}
}

func waitSchema() obj {
	return obj{
		"type": "object", "required": []string{"for", "key"}, "additionalProperties": false,
		"properties": obj{
			"for":        anyOf(ref("source"), obj{"type": "array", "minItems": 1, "items": ref("source")}),
			"key":        obj{"description": "This run's correlation value."},
			"event_key":  obj{"description": "An incoming event's correlation value (default event.object)."},
			"match":      ref("bool"),
			"timeout":    anyOf(ref("duration"), ref("expr")),
			"on_timeout": obj{"enum": []any{"fail", "continue"}},
		},
	}
}

func caseSchema() obj {
	return obj{
		"type": "object", "required": []string{"steps"}, "additionalProperties": false,
		"properties": obj{"value": obj{}, "when": ref("bool"), "steps": ref("steps")},
		"oneOf":      []any{obj{"required": []string{"value"}}, obj{"required": []string{"when"}}},
	}
}

func stepSchema(actions map[string][]string, optional map[string]bool, builtinActions []any) obj {
	actionName := obj{"type": "string", "pattern": roleDot(`[a-z][a-z0-9_]*`), "description": "<role>.<action>, or <connector>.<action> for a builtin connector."}
	if len(builtinActions) > 0 {
		actionName = anyOf(obj{"enum": builtinActions}, actionName)
	}
	props := obj{
		"id":                obj{"type": "string", "pattern": stepIDRE.String()},
		"name":              obj{"type": "string"},
		"when":              ref("bool"),
		"timeout":           ref("duration"),
		"retry":             ref("retry"),
		"continue_on_error": obj{"type": "boolean"},
		"action":            actionName,
		"input":             anyOf(obj{"type": "object"}, ref("expr")),
		"link":              obj{},
		"if":                ref("bool"),
		"then":              obj{"type": "array", "minItems": 1, "items": ref("step")},
		"else":              ref("steps"),
		"switch":            obj{},
		"cases":             obj{"type": "array", "minItems": 1, "items": ref("case")},
		"default":           ref("steps"),
		"foreach":           anyOf(obj{"type": "array"}, ref("expr")),
		"as":                obj{"type": "string", "pattern": identRE.String()},
		"concurrency":       obj{"type": "integer", "minimum": 1, "maximum": maxConcurrency},
		"do":                obj{"type": "array", "minItems": 1, "items": ref("step")},
		"collect":           obj{},
		"set":               obj{"type": "object", "minProperties": 1, "propertyNames": obj{"pattern": identRE.String()}},
		"wait":              ref("wait"),
		"sleep": anyOf(ref("duration"), ref("expr"), obj{"type": "number", "exclusiveMinimum": 0}, obj{
			"type": "object", "required": []string{"until"}, "additionalProperties": false,
			"properties": obj{"until": obj{"type": "string"}},
		}),
		"call": obj{"type": "string", "pattern": flowNameRE.String()},
		"fail": obj{},
	}
	var kinds []any
	for _, k := range kindKeys {
		kinds = append(kinds, obj{"required": []string{k}})
	}
	// A block belongs to its kind, and a kind needs its block.
	deps := obj{"if": []string{"then"}, "switch": []string{"cases"}, "foreach": []string{"do"}}
	for _, k := range kindKeys {
		for _, extra := range kindExtraKeys[Kind(k)] {
			if extra != "input" {
				deps[extra] = []string{k}
			}
		}
	}
	var conds []any
	for _, name := range sortedKeys(actions) {
		defs := actions[name]
		in := ref(defs[0])
		if len(defs) > 1 {
			var alts []any
			for _, d := range defs {
				alts = append(alts, ref(d))
			}
			in = anyOf(alts...)
		}
		then := obj{"properties": obj{"input": in}}
		if !optional[name] {
			then["required"] = []string{"input"}
		}
		conds = append(conds, obj{
			"if":   obj{"required": []string{"action"}, "properties": obj{"action": obj{"pattern": roleDot(regexp.QuoteMeta(name))}}},
			"then": then,
		})
	}
	s := obj{
		"type": "object", "additionalProperties": false,
		"properties":        props,
		"oneOf":             kinds,
		"dependentRequired": deps,
		"dependentSchemas": obj{
			"input": anyOf(obj{"required": []string{"action"}}, obj{"required": []string{"call"}}),
		},
	}
	if len(conds) > 0 {
		s["allOf"] = conds
	}
	return s
}

func triggerSchema(triggers map[string][]string) obj {
	on := func(pattern string) obj {
		return obj{"required": []string{"on"}, "properties": obj{"on": obj{"pattern": pattern}}}
	}
	conds := []any{
		obj{"if": on(`^webhook$`), "then": obj{
			"required": []string{"config"},
			"properties": obj{"config": obj{
				"type": "object", "additionalProperties": false,
				"properties": obj{
					"verify":     obj{"enum": []any{"none", "token", "hmac"}, "default": "token"},
					"secret_env": obj{"type": "string", "pattern": envRE.String(), "description": "The environment variable holding the secret."},
					"header":     obj{"type": "string"},
				},
				"if":   obj{"required": []string{"verify"}, "properties": obj{"verify": obj{"const": "none"}}},
				"else": obj{"required": []string{"secret_env"}},
			}},
		}},
		obj{"if": on(`^schedule$`), "then": obj{"required": []string{"cron"}, "properties": obj{"config": obj{"maxProperties": 0}}}},
		obj{"if": on(`^manual$`), "then": obj{"properties": obj{"config": obj{"maxProperties": 0}}}},
	}
	for _, name := range sortedKeys(triggers) {
		defs := triggers[name]
		cfg := ref(defs[0])
		if len(defs) > 1 {
			var alts []any
			for _, d := range defs {
				alts = append(alts, ref(d))
			}
			cfg = anyOf(alts...)
		}
		conds = append(conds, obj{"if": on(roleDot(regexp.QuoteMeta(name))), "then": obj{"properties": obj{"config": cfg}}})
	}
	return obj{
		"type": "object", "required": []string{"on"}, "additionalProperties": false,
		"properties": obj{
			"on":     anyOf(obj{"enum": toAny(builtinTriggers)}, obj{"type": "string", "pattern": roleDot(`[a-z][a-z0-9_]*`)}),
			"config": obj{"type": "object"},
			"filter": ref("bool"),
			"dedupe": obj{},
			"echoes": obj{"type": "boolean", "description": "Start runs on patchbay's own writes coming back (echoes); off by default so bi-directional sync cannot loop."},
			"cron":   obj{"type": "string", "description": `For on: schedule: five cron fields, or @every 10m, @hourly, @daily.`},
		},
		"allOf": conds,
	}
}

// inputSchema describes an action's input: a mapping of its fields, or one
// expression.
func inputSchema(a connector.ActionSpec) obj {
	s := anyOf(objectSchema(a.Input, false, ""), ref("expr"))
	if d := titleDoc(a.Title, a.Doc); d != "" {
		s["description"] = d
	}
	return s
}

// objectSchema describes a mapping of declared fields.
func objectSchema(fields []connector.Field, open bool, doc string) obj {
	props := obj{}
	var required []string
	for _, f := range fields {
		props[f.Name] = fieldSchema(f)
		if f.Required {
			required = append(required, f.Name)
		}
	}
	s := obj{"type": "object", "properties": props, "additionalProperties": open}
	if len(required) > 0 {
		s["required"] = required
	}
	if doc != "" {
		s["description"] = doc
	}
	return s
}

// fieldSchema describes one declared field. Every field but a plain string
// also accepts an expression (a string), whose type is known only at run time.
func fieldSchema(f connector.Field) obj {
	var s obj
	switch f.Type {
	case connector.String:
		s = obj{"type": "string"}
		if len(f.Enum) > 0 {
			s = anyOf(obj{"enum": f.Enum}, ref("expr"))
		}
	case connector.Int:
		s = anyOf(withEnum(obj{"type": "integer"}, f.Enum), ref("expr"))
	case connector.Number:
		s = anyOf(withEnum(obj{"type": "number"}, f.Enum), ref("expr"))
	case connector.Bool:
		s = ref("bool")
	case connector.Duration:
		s = anyOf(ref("duration"), ref("expr"))
	case connector.Object:
		s = anyOf(objectSchema(f.Fields, f.Open || len(f.Fields) == 0, ""), ref("expr"))
	case connector.List:
		list := obj{"type": "array"}
		if f.Items != nil {
			list["items"] = fieldSchema(*f.Items)
		}
		s = anyOf(list, ref("expr"))
	default:
		s = obj{}
	}
	if f.Doc != "" {
		s["description"] = f.Doc
	}
	if f.Default != nil {
		s["default"] = f.Default
	}
	if f.Example != nil {
		s["examples"] = []any{f.Example}
	}
	return s
}

func withEnum(s obj, enum []any) obj {
	if len(enum) > 0 {
		s["enum"] = enum
	}
	return s
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
