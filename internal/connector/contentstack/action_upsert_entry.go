package contentstack

import (
	"context"
	"fmt"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/contentstack/contentstackapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// upsertEntry finds the entry to update (by the step's link, by match
// fields, by the step's idempotency key) or creates it. Every path is
// safe to re-execute: a re-run finds what the first run created (through
// the link once the engine recorded it, the match fields, or the
// idempotency key within this process) and writes only what differs.
func (c *Conn) upsertEntry(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := input(req.Input)
	ct := in.str("content_type")
	locale := in.str("locale")
	fields := in.object("fields")
	schema, err := c.contentType(ctx, ct, false)
	if err != nil {
		return nil, fmt.Errorf("reading content type %s: %w", ct, err)
	}
	current, by, err := c.findForUpsert(ctx, req, schema, locale, fields, in["match"])
	if err != nil {
		return nil, err
	}
	if current == nil {
		e, written, err := c.create(ctx, schema, locale, fields, req.IdempotencyKey)
		if err == nil {
			out := summary(ct, e)
			out["created"], out["changed"], out["matched_by"] = true, true, "none"
			return &connector.Result{Output: out, Writes: []connector.Write{contentWrite("create", ct, e, written)}}, nil
		}
		if fault.KindOf(err) != fault.Conflict || in["match"] == nil {
			return nil, err
		}
		// Created concurrently (a unique field clashed): update that one.
		found, foundBy, ferr := c.findForUpsert(ctx, &connector.Request{Input: req.Input}, schema, locale, fields, in["match"])
		if ferr != nil {
			return nil, ferr
		}
		if found == nil {
			return nil, err
		}
		current, by = found, foundBy
	}
	e, written, changed, err := c.update(ctx, schema, current, locale, fields)
	if err != nil {
		return nil, err
	}
	out := summary(ct, e)
	out["created"], out["changed"], out["matched_by"] = false, changed, by
	w := contentWrite("update", ct, e, written)
	if !changed {
		// Nothing written; reported so the step's link learns the entry.
		w.Op = "unchanged"
	}
	return &connector.Result{Output: out, Writes: []connector.Write{w}}, nil
}

// findForUpsert returns the entry an upsert updates, or nil to create one.
func (c *Conn) findForUpsert(ctx context.Context, req *connector.Request, schema *contentstackapi.ContentType, locale string, fields map[string]any, match any) (contentstackapi.Entry, string, error) {
	ct := schema.UID
	get := func(uid string) (contentstackapi.Entry, error) {
		e, err := c.api.Entry(ctx, ct, uid, contentstackapi.GetOptions{Locale: locale})
		if fault.KindOf(err) == fault.NotFound {
			return nil, nil // deleted in the CMS: fall through to match or create
		}
		return e, err
	}
	if side, ok := req.Link.Side(RefPrefix + ct + "/"); ok {
		if _, uid, ok := ParseRef(side.Object); ok {
			e, err := get(uid)
			if err != nil {
				return nil, "", fmt.Errorf("reading linked entry %s: %w", side.Object, err)
			}
			if e != nil {
				return e, "link", nil
			}
		}
	}
	if match != nil {
		q, err := matchQuery(schema, fields, match)
		if err != nil {
			return nil, "", err
		}
		page, err := c.api.Entries(ctx, ct, contentstackapi.ListOptions{Query: q, Locale: locale, Limit: 2, Asc: "created_at"})
		if err != nil {
			return nil, "", fmt.Errorf("finding the %s entry to upsert: %w", ct, err)
		}
		switch len(page.Entries) {
		case 0:
		case 1:
			// Re-read it: a listing may project or differ from the single read.
			e, err := get(page.Entries[0].UID())
			if err != nil || e != nil {
				return e, "match", err
			}
		default:
			return nil, "", fault.Errorf(fault.Conflict, "contentstack: %d %s entries match %v; make the match fields unique", len(page.Entries), ct, q)
		}
	}
	if ref, ok := c.idem.get(req.IdempotencyKey); ok {
		if rct, uid, _ := ParseRef(ref); rct == ct {
			e, err := get(uid)
			if err != nil || e != nil {
				return e, "idempotency_key", err
			}
		}
	}
	return nil, "none", nil
}

// matchQuery builds the equality query of an upsert's match: a path, a
// list of paths (values from fields) or an object path → value.
func matchQuery(schema *contentstackapi.ContentType, fields map[string]any, match any) (contentstackapi.Query, error) {
	vals := map[string]any{}
	var paths []string
	switch m := match.(type) {
	case string:
		paths = []string{m}
	case []any:
		for _, x := range m {
			s, ok := x.(string)
			if !ok {
				return nil, fault.Errorf(fault.Invalid, "contentstack: match lists field paths; got %v", x)
			}
			paths = append(paths, s)
		}
	case map[string]any:
		for k, v := range m {
			vals[k] = v
		}
	default:
		return nil, fault.Errorf(fault.Invalid, "contentstack: match is a field path, a list of paths or an object; got %T", match)
	}
	if len(paths) > 0 {
		// Values come from the document the fields describe (paths or nested objects).
		plan, err := planFields(schema, nil, fields)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			p = strings.TrimSpace(p)
			v, ok := getPath(plan.send, splitPath(p))
			if !ok || v == nil || v == "" {
				return nil, fault.Errorf(fault.Invalid, "contentstack: match field %s has no value in fields", p)
			}
			vals[p] = v
		}
	}
	if len(vals) == 0 {
		return nil, fault.Errorf(fault.Invalid, "contentstack: match names no field")
	}
	var parts []contentstackapi.Query
	for _, k := range sortedKeys(vals) {
		parts = append(parts, contentstackapi.Eq(k, vals[k]))
	}
	return contentstackapi.And(parts...), nil
}
