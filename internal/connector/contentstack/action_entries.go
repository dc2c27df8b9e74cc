package contentstack

import (
	"context"
	"fmt"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/contentstack/contentstackapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// input reads action inputs (already checked against the spec).
type input map[string]any

func (in input) str(k string) string {
	s, _ := in[k].(string)
	return strings.TrimSpace(s)
}

func (in input) integer(k string) int {
	switch n := in[k].(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	}
	return 0
}

func (in input) boolean(k string) bool { b, _ := in[k].(bool); return b }

func (in input) list(k string) []string {
	var out []string
	switch l := in[k].(type) {
	case []any:
		for _, x := range l {
			if s, ok := x.(string); ok && strings.TrimSpace(s) != "" {
				out = append(out, strings.TrimSpace(s))
			}
		}
	case []string:
		out = append(out, l...)
	case string:
		if l != "" {
			out = []string{l}
		}
	}
	return out
}

func (in input) object(k string) map[string]any { m, _ := in[k].(map[string]any); return m }

// target resolves the entry an action addresses: entry (uid or reference)
// and content_type.
func target(in input) (ct, uid string, err error) {
	ref := in.str("entry")
	ct = in.str("content_type")
	if rct, ruid, ok := ParseRef(ref); ok {
		if ct != "" && ct != rct {
			return "", "", fault.Errorf(fault.Invalid, "contentstack: entry %s is of content type %s, not %s", ref, rct, ct)
		}
		return rct, ruid, nil
	}
	if strings.Contains(ref, "/") || strings.Contains(ref, ":") {
		return "", "", fault.Errorf(fault.Invalid, "contentstack: entry %q is neither a uid nor a reference contentstack:entry/<content_type>/<uid>", ref)
	}
	if ref == "" {
		return "", "", fault.Errorf(fault.Invalid, "contentstack: entry is required")
	}
	if ct == "" {
		return "", "", fault.Errorf(fault.Invalid, "contentstack: content_type is required when entry is a bare uid")
	}
	return ct, ref, nil
}

// summary is the common output for an entry.
func summary(ct string, e contentstackapi.Entry) map[string]any {
	return map[string]any{
		"uid": e.UID(), "object": Ref(ct, e.UID()), "content_type": ct, "locale": e.Locale(),
		"version": e.Version(), "title": e.Title(), "entry": map[string]any(e),
	}
}

// contentWrite is the Write of a create or update: the hash is of the
// entry as the CMA answered, which is what its webhook carries.
func contentWrite(op, ct string, e contentstackapi.Entry, fields []string) connector.Write {
	return connector.Write{Object: Ref(ct, e.UID()), Op: op, Version: fmt.Sprint(e.Version()), Hash: ContentHash(e),
		Summary: map[string]any{"content_type": ct, "uid": e.UID(), "locale": e.Locale(), "version": e.Version(), "fields": toAny(fields)}}
}

func (c *Conn) getEntry(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := input(req.Input)
	ct, uid, err := target(in)
	if err != nil {
		return nil, err
	}
	e, err := c.api.Entry(ctx, ct, uid, contentstackapi.GetOptions{Locale: in.str("locale"), Version: in.integer("version"),
		IncludeWorkflow: true, IncludePublishDetails: true})
	if err != nil {
		return nil, fmt.Errorf("getting entry %s: %w", Ref(ct, uid), err)
	}
	out := summary(ct, e)
	vals := map[string]any{}
	for _, p := range in.list("fields") {
		v, _ := getPath(map[string]any(e), splitPath(p))
		vals[p] = v
	}
	out["values"] = vals
	if st := e.WorkflowStage(); st != "" {
		out["stage"] = c.stageInfo(ctx, ct, st)
	}
	var pubs []any
	for _, p := range e.PublishDetails() {
		pubs = append(pubs, map[string]any{"environment": p.Environment, "environment_name": c.envName(ctx, p.Environment),
			"locale": p.Locale, "version": p.Version})
	}
	out["published"] = pubs
	return &connector.Result{Output: out}, nil
}

// stageInfo names a stage uid ({uid, name}); the name is "" when unknown.
func (c *Conn) stageInfo(ctx context.Context, ct, stageUID string) map[string]any {
	info := map[string]any{"uid": stageUID, "name": ""}
	wfs, err := c.workflows(ctx, false)
	if err != nil {
		return info
	}
	for _, w := range wfs {
		for _, s := range w.Stages {
			if s.UID == stageUID {
				info["name"] = s.Name
				info["workflow"] = map[string]any{"uid": w.UID, "name": w.Name}
				return info
			}
		}
	}
	return info
}

// maxQuery caps query_entries' limit.
const maxQuery = 10000

func (c *Conn) queryEntries(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := input(req.Input)
	ct := in.str("content_type")
	q := contentstackapi.Query(in.object("query"))
	if w := in.object("where"); len(w) > 0 {
		var parts []contentstackapi.Query
		for _, k := range sortedKeys(w) {
			parts = append(parts, contentstackapi.Eq(k, w[k]))
		}
		q = contentstackapi.And(append([]contentstackapi.Query{q}, parts...)...)
	}
	limit := in.integer("limit")
	if limit <= 0 {
		limit = 100
	}
	if limit > maxQuery {
		return nil, fault.Errorf(fault.Invalid, "contentstack: limit %d is over %d; narrow the query or page with skip", limit, maxQuery)
	}
	opts := contentstackapi.ListOptions{Query: q, Locale: in.str("locale"), Skip: in.integer("skip"),
		Asc: in.str("asc"), Desc: in.str("desc"), Only: in.list("only"), IncludeWorkflow: in.boolean("include_workflow")}
	entries := []any{}
	stats, err := c.api.EachEntry(ctx, ct, opts, limit, func(e contentstackapi.Entry) error {
		entries = append(entries, map[string]any(e))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("querying %s entries: %w", ct, err)
	}
	count := stats.Total
	if count < len(entries) {
		count = len(entries) + in.integer("skip")
	}
	return &connector.Result{Output: map[string]any{"entries": entries, "count": count, "returned": len(entries),
		"pages": stats.Pages, "more": stats.More}}, nil
}

func (c *Conn) createEntry(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := input(req.Input)
	ct := in.str("content_type")
	if ref, ok := c.idem.get(req.IdempotencyKey); ok {
		// This step already created its entry: answer with it.
		if rct, uid, _ := ParseRef(ref); rct == ct {
			e, err := c.api.Entry(ctx, ct, uid, contentstackapi.GetOptions{Locale: in.str("locale")})
			if err == nil {
				out := summary(ct, e)
				out["created"] = true
				return &connector.Result{Output: out}, nil
			}
			if fault.KindOf(err) != fault.NotFound {
				return nil, err
			}
		}
	}
	schema, err := c.contentType(ctx, ct, false)
	if err != nil {
		return nil, fmt.Errorf("reading content type %s: %w", ct, err)
	}
	e, fields, err := c.create(ctx, schema, in.str("locale"), in.object("fields"), req.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	out := summary(ct, e)
	out["created"] = true
	return &connector.Result{Output: out, Writes: []connector.Write{contentWrite("create", ct, e, fields)}}, nil
}

// create builds the entry document from fields (paths allowed) and creates it.
func (c *Conn) create(ctx context.Context, schema *contentstackapi.ContentType, locale string, fields map[string]any, idemKey string) (contentstackapi.Entry, []string, error) {
	plan, err := planFields(schema, nil, fields)
	if err != nil {
		return nil, nil, err
	}
	e, err := c.api.CreateEntry(ctx, schema.UID, locale, plan.send)
	if err != nil {
		return nil, nil, fmt.Errorf("creating %s entry: %w", schema.UID, err)
	}
	c.idem.put(idemKey, Ref(schema.UID, e.UID()))
	return e, plan.touched, nil
}

// update merges fields into current and writes the top-level fields that
// change. It returns the stored entry (current when nothing changed).
func (c *Conn) update(ctx context.Context, schema *contentstackapi.ContentType, current contentstackapi.Entry, locale string, fields map[string]any) (contentstackapi.Entry, []string, bool, error) {
	plan, err := planFields(schema, current, fields)
	if err != nil {
		return nil, nil, false, err
	}
	localize := locale != "" && current.Locale() != locale
	if len(plan.send) == 0 && !localize {
		return current, nil, false, nil
	}
	send := plan.send
	if localize && len(send) == 0 {
		send = map[string]any{}
		for _, k := range plan.touched {
			if f, ok := schema.FieldNamed(k); ok {
				send[k] = writable(f, clone(current[k]))
			}
		}
	}
	e, err := c.api.UpdateEntry(ctx, schema.UID, current.UID(), locale, send)
	if err != nil {
		return nil, nil, false, fmt.Errorf("updating entry %s: %w", Ref(schema.UID, current.UID()), err)
	}
	return e, sortedKeys(send), true, nil
}

func (c *Conn) updateEntry(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := input(req.Input)
	ct, uid, err := target(in)
	if err != nil {
		return nil, err
	}
	schema, err := c.contentType(ctx, ct, false)
	if err != nil {
		return nil, fmt.Errorf("reading content type %s: %w", ct, err)
	}
	locale := in.str("locale")
	current, err := c.api.Entry(ctx, ct, uid, contentstackapi.GetOptions{Locale: locale})
	if err != nil {
		return nil, fmt.Errorf("reading entry %s: %w", Ref(ct, uid), err)
	}
	if want := in.integer("version"); want > 0 && current.Version() != want {
		return nil, fault.Errorf(fault.Conflict, "contentstack: entry %s is at version %d, not the expected %d (changed since it was read)",
			Ref(ct, uid), current.Version(), want)
	}
	e, written, changed, err := c.update(ctx, schema, current, locale, in.object("fields"))
	if err != nil {
		return nil, err
	}
	out := summary(ct, e)
	out["changed"] = changed
	out["fields_written"] = toAny(written)
	res := &connector.Result{Output: out}
	if changed {
		res.Writes = []connector.Write{contentWrite("update", ct, e, written)}
	}
	return res, nil
}

func (c *Conn) deleteEntry(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := input(req.Input)
	ct, uid, err := target(in)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"uid": uid, "object": Ref(ct, uid), "deleted": true}
	err = c.api.DeleteEntry(ctx, ct, uid, in.str("locale"), in.boolean("all_locales"))
	ae, _ := contentstackapi.AsAPIError(err)
	switch {
	case fault.KindOf(err) == fault.NotFound && (ae == nil || ae.Code != 118):
		// Already gone: deleting is done (a re-executed step lands here).
		out["deleted"] = false
		return &connector.Result{Output: out}, nil
	case err != nil:
		return nil, fmt.Errorf("deleting entry %s: %w", Ref(ct, uid), err)
	}
	return &connector.Result{Output: out, Writes: []connector.Write{{Object: Ref(ct, uid), Op: "delete", Hash: deleteHash(),
		Summary: map[string]any{"content_type": ct, "uid": uid, "locale": in.str("locale"), "all_locales": in.boolean("all_locales")}}}}, nil
}
