// Package core is the built-in connector of small helpers: log a message,
// assert a condition, name a computed value, and pick a row of a routing
// table (first match wins), recorded like any action so the decision shows
// in the run's timeline and audit trail.
package core

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/fault"
)

func init() { connector.Register(Connector{}) }

// Connector is the core connector.
type Connector struct{}

var spec = &connector.Spec{
	Name:    "core",
	Title:   "Core helpers",
	Doc:     "Built-in helpers that need no connection: log, assert, transform, route.",
	Builtin: true,
	Actions: []connector.ActionSpec{
		{
			Name: "log", Title: "Log a message", Idempotent: true,
			Doc: "Writes a message to patchbay's log with the run's attributes.",
			Input: []connector.Field{
				{Name: "message", Type: connector.String, Required: true},
				{Name: "level", Type: connector.String, Default: "info", Enum: []any{"debug", "info", "warn", "error"}},
				{Name: "fields", Type: connector.Object, Open: true, Doc: "Extra attributes."},
			},
			Output: []connector.Field{{Name: "logged", Type: connector.Bool}},
		},
		{
			Name: "assert", Title: "Assert a condition", Idempotent: true,
			Doc: "Fails the step (permanently, no retry) with message when that is false.",
			Input: []connector.Field{
				{Name: "that", Type: connector.Bool, Required: true},
				{Name: "message", Type: connector.String, Default: "assertion failed"},
			},
			Output: []connector.Field{{Name: "ok", Type: connector.Bool}},
		},
		{
			Name: "transform", Title: "Name a value", Idempotent: true,
			Doc:    "Returns value unchanged, so a mapped object gets a step id to reference.",
			Input:  []connector.Field{{Name: "value", Type: connector.Any, Required: true}},
			Output: []connector.Field{{Name: "value", Type: connector.Any}},
		},
		{
			Name: "route", Title: "Pick a routing row", Idempotent: true,
			Doc: "Returns the first row of rows whose match fits facts. A row's match maps fact names to a value, a list of " +
				"accepted values, or \"*\"; a row without match (or with an empty one) matches everything, so put the default row last. " +
				"Fails when no row matches.",
			Input: []connector.Field{
				{Name: "rows", Type: connector.List, Required: true, Items: &connector.Field{Type: connector.Object, Open: true}},
				{Name: "facts", Type: connector.Object, Required: true, Open: true},
			},
			Output: []connector.Field{
				{Name: "index", Type: connector.Int, Doc: "Position of the chosen row (0-based)."},
				{Name: "row", Type: connector.Object, Doc: "The chosen row."},
				{Name: "default", Type: connector.Bool, Doc: "Whether the chosen row matches everything."},
			},
			Examples: []connector.Example{{
				Title: "Route by asset type and region",
				Input: map[string]any{"facts": map[string]any{"asset_type": "trailer", "region": "EU"}, "rows": []any{
					map[string]any{"match": map[string]any{"asset_type": "trailer", "region": []any{"EU", "UK"}}, "process": "legal_review"},
					map[string]any{"process": "media_review"},
				}},
				Output: map[string]any{"index": 0, "default": false},
			}},
		},
	},
}

// Spec implements connector.Connector.
func (Connector) Spec() *connector.Spec { return spec }

// Open implements connector.Connector.
func (Connector) Open(_ context.Context, cfg connector.Config) (connector.Conn, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return conn{log: log}, nil
}

type conn struct{ log *slog.Logger }

func (conn) Close() error { return nil }

func (c conn) Do(ctx context.Context, action string, req *connector.Request) (*connector.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, fault.E(fault.Canceled, "core."+action, err)
	}
	in := req.Input
	switch action {
	case "log":
		log := c.log
		if req.Logger != nil {
			log = req.Logger
		}
		var attrs []any
		if f, ok := in["fields"].(map[string]any); ok {
			for k, v := range f {
				attrs = append(attrs, k, v)
			}
		}
		msg, _ := in["message"].(string)
		switch in["level"] {
		case "debug":
			log.Debug(msg, attrs...)
		case "warn":
			log.Warn(msg, attrs...)
		case "error":
			log.Error(msg, attrs...)
		default:
			log.Info(msg, attrs...)
		}
		return &connector.Result{Output: map[string]any{"logged": true}}, nil
	case "assert":
		if ok, _ := in["that"].(bool); !ok {
			msg, _ := in["message"].(string)
			return nil, fault.E(fault.Permanent, "core.assert", msg)
		}
		return &connector.Result{Output: map[string]any{"ok": true}}, nil
	case "transform":
		return &connector.Result{Output: map[string]any{"value": in["value"]}}, nil
	case "route":
		rows, _ := in["rows"].([]any)
		facts, _ := in["facts"].(map[string]any)
		for i, r := range rows {
			row, ok := r.(map[string]any)
			if !ok {
				return nil, fault.Errorf(fault.Invalid, "core.route: row %d is %T, want an object", i, r)
			}
			match, _ := row["match"].(map[string]any)
			if Matches(match, facts) {
				return &connector.Result{Output: map[string]any{"index": i, "row": row, "default": len(match) == 0}}, nil
			}
		}
		return nil, fault.Errorf(fault.Invalid, "core.route: no row matches %v; add a default row without match", facts)
	}
	return nil, fault.Errorf(fault.Invalid, "core: unknown action %q", action)
}

// Matches reports whether every key of match fits facts: equal values
// (compared as text), any of a list, or "*".
func Matches(match, facts map[string]any) bool {
	for k, want := range match {
		got := facts[k]
		switch w := want.(type) {
		case string:
			if w == "*" {
				continue
			}
			if fmt.Sprint(got) != w {
				return false
			}
		case []any:
			found := false
			for _, x := range w {
				if fmt.Sprint(x) == fmt.Sprint(got) || x == "*" {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		case nil:
			if got != nil {
				return false
			}
		default:
			if fmt.Sprint(got) != fmt.Sprint(w) {
				return false
			}
		}
	}
	return true
}
