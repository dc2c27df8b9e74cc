package contentstack

import (
	"context"
	"fmt"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/contentstack/contentstackapi"
	"github.com/patchbay/patchbay/internal/fault"
)

func (c *Conn) setWorkflowStage(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := input(req.Input)
	ct, uid, err := target(in)
	if err != nil {
		return nil, err
	}
	wf, st, err := c.resolveStage(ctx, ct, in.str("stage"))
	if err != nil {
		return nil, err
	}
	err = c.api.SetWorkflowStage(ctx, ct, uid, in.str("locale"), contentstackapi.StageChange{UID: st.UID,
		Comment: in.str("comment"), DueDate: in.str("due_date"), Notify: in.boolean("notify")})
	if fault.KindOf(err) == fault.Forbidden {
		return nil, fmt.Errorf("setting stage %q of entry %s (a management token may change stages only where the transition rule allows all users): %w",
			st.Name, Ref(ct, uid), err)
	}
	if err != nil {
		return nil, fmt.Errorf("setting stage %q of entry %s: %w", st.Name, Ref(ct, uid), err)
	}
	stage := map[string]any{"uid": st.UID, "name": st.Name}
	w := connector.Write{Object: Ref(ct, uid), Op: "workflow_stage", Hash: stageHash(st.UID),
		Summary: map[string]any{"content_type": ct, "uid": uid, "stage": st.Name, "locale": in.str("locale")}}
	out := map[string]any{"uid": uid, "object": Ref(ct, uid), "stage": stage, "workflow": map[string]any{"uid": wf.UID, "name": wf.Name}}
	// The entry's version (a stage change keeps it) goes with the write, so
	// the links still know the content patchbay last wrote.
	if e, err := c.api.Entry(ctx, ct, uid, contentstackapi.GetOptions{Locale: in.str("locale")}); err == nil {
		w.Version = fmt.Sprint(e.Version())
		out["version"] = e.Version()
	}
	return &connector.Result{Output: out, Writes: []connector.Write{w}}, nil
}

// resolveStage finds a stage by name or uid in the workflow applying to
// the content type, reading the workflows again once when not found.
func (c *Conn) resolveStage(ctx context.Context, ct, stage string) (contentstackapi.Workflow, contentstackapi.Stage, error) {
	for attempt := 0; ; attempt++ {
		wfs, err := c.workflows(ctx, attempt > 0)
		if err != nil {
			return contentstackapi.Workflow{}, contentstackapi.Stage{}, fmt.Errorf("reading workflows: %w", err)
		}
		wf, st, names, ok := stageByName(wfs, ct, c.set.branch, stage)
		if ok {
			return wf, st, nil
		}
		if attempt > 0 {
			if len(names) == 0 {
				return wf, st, fault.Errorf(fault.Invalid, "contentstack: no enabled workflow applies to content type %s", ct)
			}
			return wf, st, fault.Errorf(fault.Invalid, "contentstack: the workflow of %s has no stage %q (stages: %s)", ct, stage, strings.Join(names, ", "))
		}
	}
}

func (c *Conn) getContentType(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	ct := input(req.Input).str("content_type")
	t, err := c.contentType(ctx, ct, true)
	if err != nil {
		return nil, fmt.Errorf("reading content type %s: %w", ct, err)
	}
	fields := []any{}
	for _, f := range schemaPaths("", t.Schema) {
		fields = append(fields, f)
	}
	return &connector.Result{Output: map[string]any{"uid": t.UID, "title": t.Title, "fields": fields, "schema": t.Schema, "options": t.Options}}, nil
}

func (c *Conn) listContentTypes(ctx context.Context, _ *connector.Request) (*connector.Result, error) {
	cts, err := c.api.ContentTypes(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing content types: %w", err)
	}
	out := []any{}
	for _, t := range cts {
		out = append(out, map[string]any{"uid": t.UID, "title": t.Title})
	}
	return &connector.Result{Output: map[string]any{"content_types": out}}, nil
}

func workflowView(w contentstackapi.Workflow) map[string]any {
	stages := []any{}
	for _, s := range w.Stages {
		stages = append(stages, map[string]any{"uid": s.UID, "name": s.Name, "color": s.Color})
	}
	return map[string]any{"uid": w.UID, "name": w.Name, "enabled": bool(w.Enabled), "content_types": toAny(w.ContentTypes), "stages": stages}
}

func (c *Conn) listWorkflows(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	ct := input(req.Input).str("content_type")
	wfs, err := c.workflows(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("listing workflows: %w", err)
	}
	out := []any{}
	for _, w := range wfs {
		if ct != "" && !w.Applies(ct, c.set.branch) {
			continue
		}
		out = append(out, workflowView(w))
	}
	return &connector.Result{Output: map[string]any{"workflows": out}}, nil
}

func (c *Conn) listEnvironments(ctx context.Context, _ *connector.Request) (*connector.Result, error) {
	envs, err := c.environments(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("listing environments: %w", err)
	}
	out := []any{}
	for _, e := range envs {
		urls := []any{}
		for _, u := range e.URLs {
			urls = append(urls, map[string]any{"locale": u.Locale, "url": u.URL})
		}
		out = append(out, map[string]any{"uid": e.UID, "name": e.Name, "urls": urls})
	}
	return &connector.Result{Output: map[string]any{"environments": out}}, nil
}

func (c *Conn) listLocales(ctx context.Context, _ *connector.Request) (*connector.Result, error) {
	ls, err := c.locales(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing locales: %w", err)
	}
	out := []any{}
	for _, l := range ls {
		out = append(out, map[string]any{"code": l.Code, "name": l.Name, "fallback_locale": l.FallbackLocale})
	}
	return &connector.Result{Output: map[string]any{"locales": out}}, nil
}
