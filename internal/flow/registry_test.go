package flow

import (
	"context"
	"errors"

	"github.com/patchbay/patchbay/internal/connector"
)

// fakeConnector is a connector with a spec and nothing behind it.
type fakeConnector struct{ spec *connector.Spec }

func (c fakeConnector) Spec() *connector.Spec { return c.spec }

func (c fakeConnector) Open(context.Context, connector.Config) (connector.Conn, error) {
	return nil, errors.New("opening a fake connector")
}

// testRegistry holds small fake connectors shaped like the real ones: two
// with connections (iconik, contentstack), one polled (opentext), and two
// builtins (http, core).
func testRegistry() *connector.Registry {
	reg := connector.NewRegistry()
	str := func(name string, required bool) connector.Field {
		return connector.Field{Name: name, Type: connector.String, Required: required, Doc: "The " + name + "."}
	}
	reg.Register(fakeConnector{&connector.Spec{
		Name: "iconik", Title: "iconik",
		Connection: []connector.Field{str("app_id", true), {Name: "token", Type: connector.String, Required: true, Secret: true}},
		Triggers: []connector.TriggerSpec{{
			Name: "asset_events", Doc: "Asset changes.", Kind: connector.Webhook,
			Config: []connector.Field{
				{Name: "realms", Type: connector.List, Items: &connector.Field{Type: connector.String}, Doc: "Realms to receive."},
				{Name: "batch", Type: connector.Int, Default: 1},
			},
		}},
		Actions: []connector.ActionSpec{
			{Name: "get_asset", Doc: "Reads an asset.", Idempotent: true, Input: []connector.Field{
				str("asset_id", true),
				{Name: "include", Type: connector.List, Items: &connector.Field{Type: connector.String, Enum: []any{"metadata", "proxies", "files"}}},
			}},
			{Name: "update_metadata", Doc: "Writes metadata fields.", Writes: true, Input: []connector.Field{
				str("asset_id", true),
				{Name: "view_id", Type: connector.String},
				{Name: "fields", Type: connector.Object, Required: true, Open: true},
				{Name: "count", Type: connector.Int},
				{Name: "mode", Type: connector.String, Enum: []any{"merge", "replace"}},
				{Name: "wait", Type: connector.Duration},
				{Name: "options", Type: connector.Object, Fields: []connector.Field{
					{Name: "dry_run", Type: connector.Bool},
					{Name: "tags", Type: connector.List, Items: &connector.Field{Type: connector.String}},
					{Name: "limit", Type: connector.Number, Required: true},
				}},
			}},
		},
	}})
	reg.Register(fakeConnector{&connector.Spec{
		Name: "contentstack",
		Triggers: []connector.TriggerSpec{{
			Name: "entry_events", Doc: "Entry changes.", Kind: connector.Webhook,
			Config: []connector.Field{{Name: "content_type", Type: connector.String, Required: true}},
		}},
		Actions: []connector.ActionSpec{
			{Name: "upsert_entry", Doc: "Creates or updates an entry.", Writes: true, Input: []connector.Field{
				str("content_type", true),
				{Name: "fields", Type: connector.Object, Required: true, Open: true},
				{Name: "locale", Type: connector.String, Default: "en-us"},
			}},
			{Name: "publish_entry", Doc: "Publishes an entry.", Writes: true, Input: []connector.Field{
				str("entry_uid", true),
				{Name: "environments", Type: connector.List, Required: true, Items: &connector.Field{Type: connector.String}},
			}},
		},
	}})
	reg.Register(fakeConnector{&connector.Spec{
		Name: "opentext",
		Triggers: []connector.TriggerSpec{{
			Name: "process_events", Doc: "Workflow process changes.", Kind: connector.Poll,
		}},
		Actions: []connector.ActionSpec{
			{Name: "start_process", Doc: "Starts a workflow.", Writes: true, Input: []connector.Field{str("workflow", true), {Name: "vars", Type: connector.Object, Open: true}}},
		},
	}})
	reg.Register(fakeConnector{&connector.Spec{
		Name: "http", Builtin: true,
		Actions: []connector.ActionSpec{{Name: "request", Doc: "Sends an HTTP request.", Input: []connector.Field{
			{Name: "method", Type: connector.String, Default: "GET", Enum: []any{"GET", "POST", "PUT", "PATCH", "DELETE"}},
			str("url", true),
			{Name: "headers", Type: connector.Object, Open: true},
			{Name: "body", Type: connector.Any},
			{Name: "timeout", Type: connector.Duration},
		}}},
	}})
	reg.Register(fakeConnector{&connector.Spec{
		Name: "core", Builtin: true,
		Actions: []connector.ActionSpec{{Name: "log", Doc: "Writes a line to the run's log.", Idempotent: true, Input: []connector.Field{
			str("message", true),
			{Name: "level", Type: connector.String, Default: "info", Enum: []any{"debug", "info", "warn", "error"}},
		}}},
	}})
	return reg
}
