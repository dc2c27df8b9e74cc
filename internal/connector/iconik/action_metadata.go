package iconik

import (
	"context"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// viewsTTL is how long the list of metadata views is cached.
const viewsTTL = 5 * time.Minute

// resolveView finds a view by id or name (default: the connection's
// metadata_view). An empty result (ID "") means no view.
func (c *Conn) resolveView(ctx context.Context, nameOrID string) (iconikapi.View, error) {
	if nameOrID == "" {
		nameOrID = c.set.metadataView
	}
	if nameOrID == "" {
		return iconikapi.View{}, nil
	}
	for attempt := 0; attempt < 2; attempt++ {
		views, err := c.viewList(ctx, attempt > 0)
		if err != nil {
			return iconikapi.View{}, err
		}
		for _, v := range views {
			if v.ID == nameOrID || v.Name == nameOrID {
				return v, nil
			}
		}
		for _, v := range views {
			if strings.EqualFold(v.Name, nameOrID) {
				return v, nil
			}
		}
	}
	return iconikapi.View{}, invalid("no metadata view named %q", nameOrID)
}

func (c *Conn) viewList(ctx context.Context, refresh bool) ([]iconikapi.View, error) {
	c.mu.Lock()
	if !refresh && c.views != nil && c.now().Sub(c.viewsAt) < viewsTTL {
		v := c.views
		c.mu.Unlock()
		return v, nil
	}
	c.mu.Unlock()
	views, err := c.api.Views(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.views, c.viewsAt = views, c.now()
	c.mu.Unlock()
	return views, nil
}

// readValues reads an object's metadata as lists per field. iconik answers
// 404 both for a missing object and for an object without values; when
// the object is not known to exist, a 404 is told apart by reading it.
func (c *Conn) readValues(ctx context.Context, objectType, id, versionID, viewID string, objectExists bool) (map[string][]any, error) {
	if versionID != "" && viewID == "" {
		return nil, invalid("reading the metadata of a given version needs a metadata view (view or the connection's metadata_view)")
	}
	m, err := c.api.GetValues(ctx, objectType, id, versionID, viewID)
	if err == nil {
		return m.Lists(), nil
	}
	if !fault.Is(err, fault.NotFound) {
		return nil, err
	}
	if !objectExists {
		if err := c.objectExists(ctx, objectType, id); err != nil {
			return nil, err
		}
	}
	return map[string][]any{}, nil
}

func (c *Conn) objectExists(ctx context.Context, objectType, id string) error {
	switch objectType {
	case "assets":
		_, err := c.api.GetAsset(ctx, id, false)
		return err
	case "collections":
		_, err := c.api.GetCollection(ctx, id)
		return err
	}
	return nil
}

var objectTypeField = connector.Field{Name: "object_type", Type: str, Default: "assets", Enum: []any{"assets", "collections"},
	Doc: "assets or collections."}

// ---- get_metadata ----

var actGetMetadata = action{
	spec: connector.ActionSpec{
		Name: "get_metadata", Title: "Read metadata", Idempotent: true,
		Doc: "Reads the metadata of an asset (its current or a given version) or collection through a view.",
		Input: []connector.Field{
			{Name: "object_id", Type: str, Required: true, Doc: "The asset's or collection's id."},
			objectTypeField,
			{Name: "view", Type: str, Doc: "Metadata view (name or id); default the connection's metadata_view (none: every field, admins only)."},
			{Name: "version_id", Type: str, Doc: "Read this version of the asset (needs a view)."},
			{Name: "fields", Type: connector.List, Items: &connector.Field{Type: str}, Doc: "Only these fields."},
		},
		Output: []connector.Field{
			{Name: "values", Type: connector.Object, Open: true, Doc: "Field → value (nil when empty, a list when several)."},
			{Name: "metadata_values", Type: connector.Object, Open: true, Doc: "Field → list of values."},
			{Name: "view_id", Type: str},
			{Name: "object", Type: str},
		},
		Examples: []connector.Example{{
			Title: "Rights fields", Input: map[string]any{"object_id": "9f0c…", "view": "Rights"},
			Output: map[string]any{"values": map[string]any{"rights_status": "Cleared", "territories": []any{"US", "CA"}}, "view_id": "77aa…"},
		}},
	},
	run: (*Conn).getMetadata,
}

func (c *Conn) getMetadata(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	ot, id := inStr(in, "object_type"), inStr(in, "object_id")
	view, err := c.resolveView(ctx, inStr(in, "view"))
	if err != nil {
		return nil, err
	}
	vals, err := c.readValues(ctx, ot, id, inStr(in, "version_id"), view.ID, false)
	if err != nil {
		return nil, err
	}
	if only := stringList(in["fields"]); len(only) > 0 {
		kept := make(map[string][]any, len(only))
		for _, f := range only {
			kept[f] = vals[f]
		}
		vals = kept
	}
	return &connector.Result{Output: map[string]any{"values": flatten(vals), "metadata_values": listsOut(vals),
		"view_id": nilIfEmpty(view.ID), "object": objectRef(ot, id)}}, nil
}

// ---- set_metadata ----

var actSetMetadata = action{
	spec: connector.ActionSpec{
		Name: "set_metadata", Title: "Write metadata", Writes: true, Idempotent: true,
		Doc: "Writes metadata of an asset (its current version) or collection through a view. mode merge sets the given " +
			"fields and leaves the others; replace also clears every other field of the view; append adds values to " +
			"(multi-value) fields; remove takes values out. Values are compared first: only fields that change are " +
			"written, and nothing when none do, so a re-executed step writes nothing twice. The write's hash equals " +
			"the hash of iconik's metadata webhook for the same change.",
		Input: []connector.Field{
			{Name: "object_id", Type: str, Required: true, Doc: "The asset's or collection's id."},
			objectTypeField,
			{Name: "fields", Type: connector.Object, Open: true, Required: true, Doc: "Field → value, list of values, or null (clears)."},
			{Name: "mode", Type: str, Default: "merge", Enum: []any{"merge", "replace", "append", "remove"}, Doc: "How the values combine with the stored ones."},
			{Name: "view", Type: str, Doc: "Metadata view (name or id); default the connection's metadata_view (none: admins only, no validation)."},
		},
		Output: []connector.Field{
			{Name: "changed", Type: connector.List, Doc: "Names of the fields that changed."},
			{Name: "values", Type: connector.Object, Open: true, Doc: "The changed fields' values as stored (flattened)."},
			{Name: "version_id", Type: str},
			{Name: "written", Type: connector.Bool, Doc: "False when nothing needed writing."},
			{Name: "object", Type: str},
		},
		Examples: []connector.Example{{
			Title: "Release after approval", Input: map[string]any{"object_id": "${{ event.object_id }}", "fields": map[string]any{"review_status": "Released"}},
			Output: map[string]any{"changed": []any{"review_status"}, "written": true, "values": map[string]any{"review_status": "Released"}},
		}, {
			Title: "Add a placement", Input: map[string]any{"object_id": "9f0c…", "fields": map[string]any{"used_on": "https://example.com/spring"}, "mode": "append"},
		}},
	},
	run: (*Conn).setMetadata,
}

type metadataWrite struct {
	changed   []string
	after     map[string][]any
	versionID string
	write     *connector.Write
}

func (c *Conn) setMetadata(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	fields, _ := in["fields"].(map[string]any)
	if len(fields) == 0 {
		return nil, invalid("fields: name at least one field")
	}
	ot, id := inStr(in, "object_type"), inStr(in, "object_id")
	mw, err := c.writeMetadata(ctx, ot, id, inStr(in, "view"), fields, inStr(in, "mode"))
	if err != nil {
		return nil, err
	}
	res := &connector.Result{Output: map[string]any{"changed": stringsAny(mw.changed), "values": flatten(mw.after),
		"version_id": nilIfEmpty(mw.versionID), "written": mw.write != nil, "object": objectRef(ot, id)}}
	if mw.write != nil {
		res.Writes = []connector.Write{*mw.write}
	}
	return res, nil
}

// writeMetadata reads the current values, works out what mode asks for,
// and writes only the fields that change.
func (c *Conn) writeMetadata(ctx context.Context, objectType, id, viewName string, fields map[string]any, mode string) (*metadataWrite, error) {
	if mode == "" {
		mode = "merge"
	}
	view, err := c.resolveView(ctx, viewName)
	if err != nil {
		return nil, err
	}
	before, err := c.readValues(ctx, objectType, id, "", view.ID, false)
	if err != nil {
		return nil, err
	}
	desired := make(map[string][]any, len(fields))
	for name, v := range fields {
		vals := toList(v)
		switch mode {
		case "merge", "replace":
			desired[name] = vals
		case "append":
			next := append([]any{}, before[name]...)
			for _, x := range vals {
				if !containsValue(next, x) {
					next = append(next, x)
				}
			}
			desired[name] = next
		case "remove":
			next := []any{}
			for _, x := range before[name] {
				if !containsValue(vals, x) {
					next = append(next, x)
				}
			}
			desired[name] = next
		default:
			return nil, invalid("mode %q: want merge, replace, append or remove", mode)
		}
	}
	if mode == "replace" {
		others := sortedKeys(before)
		if view.ID != "" {
			others = others[:0]
			for _, f := range view.ViewFields {
				others = append(others, f.Name)
			}
		}
		for _, f := range others {
			if _, given := fields[f]; !given {
				desired[f] = []any{}
			}
		}
	}
	changes := map[string][]any{}
	for name, vals := range desired {
		if !sameValues(before[name], vals) {
			changes[name] = vals
		}
	}
	mw := &metadataWrite{changed: sortedKeys(changes), after: map[string][]any{}}
	if len(changes) == 0 {
		return mw, nil
	}
	stored, err := c.api.PutValues(ctx, objectType, id, view.ID, iconikapi.Envelope(changes))
	if err != nil {
		return nil, err
	}
	got := stored.Lists()
	for name := range changes {
		mw.after[name] = append([]any{}, got[name]...)
	}
	mw.versionID = stored.VersionID
	ref := objectRef(objectType, id)
	mw.write = &connector.Write{Object: ref, Op: "set_metadata",
		Hash:    metadataHash(ref, mw.after),
		Summary: map[string]any{"fields": stringsAny(mw.changed), "mode": mode, "view": nilIfEmpty(view.Name)}}
	return mw, nil
}

func containsValue(list []any, v any) bool {
	cv := canonValue(v)
	for _, x := range list {
		if canonValue(x) == cv {
			return true
		}
	}
	return false
}
