package contentstack

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/contentstack/contentstackapi"
	"github.com/patchbay/patchbay/internal/fault"
)

func (c *Conn) publishEntry(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	return c.publish(ctx, req, "publish")
}

func (c *Conn) unpublishEntry(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	return c.publish(ctx, req, "unpublish")
}

func (c *Conn) waitFor(in input) time.Duration {
	if s := in.str("wait"); s != "" {
		if d, err := connector.ParseDuration(s); err == nil {
			return d
		}
	}
	return c.set.publishWait
}

// publish queues a publish or unpublish and follows it: publish_details
// of the copy published are read (with a growing pause) until every
// environment and locale shows the change or the wait runs out.
// Re-publishing what is live is harmless, so the action is idempotent.
func (c *Conn) publish(ctx context.Context, req *connector.Request, action string) (*connector.Result, error) {
	in := input(req.Input)
	ct, uid, err := target(in)
	if err != nil {
		return nil, err
	}
	locale := in.str("locale")
	envs, err := c.resolveEnvironments(ctx, in.list("environments"))
	if err != nil {
		return nil, err
	}
	current, err := c.api.Entry(ctx, ct, uid, contentstackapi.GetOptions{Locale: locale, IncludePublishDetails: true})
	if err != nil {
		return nil, fmt.Errorf("reading entry %s: %w", Ref(ct, uid), err)
	}
	locales := in.list("locales")
	if len(locales) == 0 {
		l := locale
		if l == "" {
			l = current.Locale()
		}
		locales = []string{l}
	}
	version := in.integer("version")
	if version <= 0 || action == "unpublish" {
		version = current.Version()
	}
	names := make([]string, len(envs))
	for i, e := range envs {
		names[i] = e.Name
	}
	p := contentstackapi.PublishRequest{Environments: names, Locales: locales, Locale: locale, ScheduledAt: in.str("scheduled_at")}
	if action == "publish" && in.integer("version") > 0 {
		p.Version = version
	}
	call := c.api.Publish
	if action == "unpublish" {
		call = c.api.Unpublish
	}
	if err := call(ctx, ct, uid, p); err != nil {
		return nil, fmt.Errorf("%sing entry %s: %w", action, Ref(ct, uid), err)
	}
	out := map[string]any{"uid": uid, "object": Ref(ct, uid), "content_type": ct, "locale": current.Locale(), "version": version,
		"environments": toAny(names), "locales": toAny(locales)}
	var writes []connector.Write
	for _, e := range envs {
		for _, l := range locales {
			writes = append(writes, connector.Write{Object: Ref(ct, uid), Op: action, Version: fmt.Sprint(version),
				Hash:    publishHash(action, e.UID, l, version),
				Summary: map[string]any{"content_type": ct, "uid": uid, "environment": e.Name, "locale": l, "version": version}})
		}
	}
	res := &connector.Result{Output: out, Writes: writes}
	if p.ScheduledAt != "" {
		out["status"], out["pending"] = "scheduled", []any{}
		return res, nil
	}
	pending, err := c.followPublish(ctx, ct, uid, locale, action, envs, locales, version, c.waitFor(in))
	if err != nil {
		return nil, err
	}
	out["pending"] = pending
	switch {
	case len(pending) > 0:
		out["status"] = "queued"
	case action == "publish":
		out["status"] = "published"
	default:
		out["status"] = "unpublished"
	}
	return res, nil
}

// followPublish polls publish_details until the change is visible for
// every environment and locale, or wait is over; it returns what is not
// confirmed yet as "environment/locale".
func (c *Conn) followPublish(ctx context.Context, ct, uid, locale, action string, envs []contentstackapi.Environment, locales []string, version int, wait time.Duration) ([]any, error) {
	deadline := c.now().Add(wait)
	pause := 150 * time.Millisecond
	for {
		e, err := c.api.Entry(ctx, ct, uid, contentstackapi.GetOptions{Locale: locale, IncludePublishDetails: true})
		if err != nil {
			if fault.KindOf(err) == fault.Canceled {
				return nil, err
			}
			// The publish is queued; failing to watch it is not failing it.
			c.log.Debug("following publish", "entry", Ref(ct, uid), "error", err)
		}
		pending := []any{}
		for _, env := range envs {
			for _, l := range locales {
				live := -1
				for _, pd := range e.PublishDetails() {
					if pd.Environment == env.UID && pd.Locale == l {
						live = pd.Version
					}
				}
				done := live >= version
				if action == "unpublish" {
					done = err == nil && live < 0
				}
				if !done || err != nil {
					pending = append(pending, env.Name+"/"+l)
				}
			}
		}
		if len(pending) == 0 || !c.now().Add(pause).Before(deadline) {
			return pending, nil
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fault.E(fault.Canceled, "contentstack: following publish", ctx.Err())
		}
		pause = min(pause*2, 2*time.Second)
	}
}

// bulkItem is one entry of bulk_publish.
type bulkItem struct {
	ct, uid, locale string
	version         int
}

// maxBulkCalls bounds one bulk_publish (each call waits for the 1/s budget).
const maxBulkCalls = 40

func (c *Conn) bulkPublish(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := input(req.Input)
	action := in.str("action")
	if action == "" {
		action = "publish"
	}
	var items []bulkItem
	raw, _ := in["entries"].([]any)
	for i, x := range raw {
		var it bulkItem
		switch v := x.(type) {
		case string:
			ct, uid, ok := ParseRef(v)
			if !ok {
				return nil, fault.Errorf(fault.Invalid, "contentstack: entries[%d]: %q is not a reference contentstack:entry/<content_type>/<uid>", i, v)
			}
			it = bulkItem{ct: ct, uid: uid}
		case map[string]any:
			ct, uid, err := target(input(v))
			if err != nil {
				return nil, fault.Errorf(fault.Invalid, "contentstack: entries[%d]: %v", i, err)
			}
			it = bulkItem{ct: ct, uid: uid, locale: input(v).str("locale"), version: input(v).integer("version")}
		default:
			return nil, fault.Errorf(fault.Invalid, "contentstack: entries[%d]: want a reference or an object", i)
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return nil, fault.Errorf(fault.Invalid, "contentstack: entries is empty")
	}
	envs, err := c.resolveEnvironments(ctx, in.list("environments"))
	if err != nil {
		return nil, err
	}
	locales := in.list("locales")
	envChunks := chunk(len(envs), contentstackapi.BulkMaxEnvironments)
	locChunks := chunk(max(len(locales), 1), contentstackapi.BulkMaxLocales)
	itemChunks := chunk(len(items), contentstackapi.BulkMaxEntries)
	if calls := len(envChunks) * len(locChunks) * len(itemChunks); calls > maxBulkCalls {
		return nil, fault.Errorf(fault.Invalid, "contentstack: %d entries × %d environments × %d locales need %d bulk calls, over %d; split the list",
			len(items), len(envs), len(locales), calls, maxBulkCalls)
	}
	// Pin each entry's version (the version published is then the one the
	// writes report, which the publish webhooks carry).
	if action == "publish" {
		for i := range items {
			if items[i].version > 0 {
				continue
			}
			e, err := c.api.Entry(ctx, items[i].ct, items[i].uid, contentstackapi.GetOptions{Locale: items[i].locale})
			if err != nil {
				return nil, fmt.Errorf("reading entry %s: %w", Ref(items[i].ct, items[i].uid), err)
			}
			items[i].version = e.Version()
			if items[i].locale == "" {
				items[i].locale = e.Locale()
			}
		}
	}
	var jobIDs []string
	for _, ec := range envChunks {
		names := make([]string, 0, ec[1]-ec[0])
		for _, e := range envs[ec[0]:ec[1]] {
			names = append(names, e.Name)
		}
		for _, lc := range locChunks {
			var locs []string
			if len(locales) > 0 {
				locs = locales[lc[0]:lc[1]]
			}
			for _, ic := range itemChunks {
				var entries []contentstackapi.BulkItem
				for _, it := range items[ic[0]:ic[1]] {
					entries = append(entries, contentstackapi.BulkItem{UID: it.uid, ContentType: it.ct, Locale: it.locale, Version: it.version})
				}
				id, err := c.api.BulkPublish(ctx, action == "unpublish", contentstackapi.BulkRequest{Entries: entries, Environments: names,
					Locales: locs, PublishWithReference: in.boolean("publish_with_reference"), SkipWorkflowStageCheck: in.boolean("skip_workflow_stage_check")})
				if err != nil {
					return nil, fmt.Errorf("bulk %s (call %d): %w", action, len(jobIDs)+1, err)
				}
				jobIDs = append(jobIDs, id)
			}
		}
	}
	jobs, failed, done, err := c.followJobs(ctx, jobIDs, c.waitFor(in))
	if err != nil {
		return nil, err
	}
	status := "queued"
	if done {
		status = "done"
	}
	var writes []connector.Write
	for _, it := range items {
		for _, e := range envs {
			locs := locales
			if len(locs) == 0 {
				locs = []string{it.locale}
			}
			for _, l := range locs {
				w := connector.Write{Object: Ref(it.ct, it.uid), Op: action,
					Summary: map[string]any{"content_type": it.ct, "uid": it.uid, "environment": e.Name, "locale": l, "bulk": true}}
				if it.version > 0 {
					w.Version = fmt.Sprint(it.version)
					w.Hash = publishHash(action, e.UID, l, it.version)
					w.Summary["version"] = it.version
				}
				writes = append(writes, w)
			}
		}
	}
	return &connector.Result{Output: map[string]any{"status": status, "jobs": jobs, "failed": failed, "calls": len(jobIDs)}, Writes: writes}, nil
}

// chunk splits n items into [start, end) ranges of at most size.
func chunk(n, size int) [][2]int {
	var out [][2]int
	for i := 0; i < n; i += size {
		out = append(out, [2]int{i, min(i+size, n)})
	}
	return out
}

// followJobs polls bulk jobs until all are done or wait is over, then lists
// the failed items of the finished ones.
func (c *Conn) followJobs(ctx context.Context, ids []string, wait time.Duration) ([]any, []any, bool, error) {
	deadline := c.now().Add(wait)
	pause := 200 * time.Millisecond
	state := map[string]*contentstackapi.BulkJob{}
	for {
		all := true
		for _, id := range ids {
			if j := state[id]; j != nil && j.Done() {
				continue
			}
			j, err := c.api.BulkJob(ctx, id)
			if err != nil {
				if fault.KindOf(err) == fault.Canceled {
					return nil, nil, false, err
				}
				c.log.Debug("following bulk job", "job_id", id, "error", err)
				all = false
				continue
			}
			state[id] = j
			if !j.Done() {
				all = false
			}
		}
		if all || !c.now().Add(pause).Before(deadline) {
			break
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, nil, false, fault.E(fault.Canceled, "contentstack: following bulk jobs", ctx.Err())
		}
		pause = min(pause*2, 2*time.Second)
	}
	jobs := []any{}
	failed := []any{}
	done := true
	for _, id := range ids {
		j := state[id]
		if j == nil || !j.Done() {
			done = false
			st := "in_progress"
			if j != nil {
				st = j.Status
			}
			jobs = append(jobs, map[string]any{"job_id": id, "status": st})
			continue
		}
		jobs = append(jobs, map[string]any{"job_id": id, "status": j.Status, "success": j.Summary.Success, "failed": j.Summary.Unsuccess})
		if j.Summary.Unsuccess == 0 {
			continue
		}
		items, err := c.api.BulkJobItems(ctx, id, "failed")
		if err != nil {
			return nil, nil, false, fmt.Errorf("listing failed items of bulk job %s: %w", id, err)
		}
		for _, it := range items {
			f := map[string]any{"job_id": id, "uid": it["uid"], "locale": it["publish_locale"], "environment": it["environment"]}
			if ctm, ok := it["content_type"].(map[string]any); ok {
				f["content_type"] = ctm["uid"]
			}
			if pd, ok := it["publish_details"].(map[string]any); ok {
				f["reason"] = pd["failure_reason"]
			}
			failed = append(failed, f)
		}
	}
	return jobs, failed, done, nil
}

// stageByName finds a stage of the workflow applying to ct.
func stageByName(wfs []contentstackapi.Workflow, ct, branch, stage string) (contentstackapi.Workflow, contentstackapi.Stage, []string, bool) {
	var names []string
	for _, w := range wfs {
		if !bool(w.Enabled) || !w.Applies(ct, branch) {
			continue
		}
		for _, s := range w.Stages {
			names = append(names, s.Name)
			if s.UID == stage || strings.EqualFold(strings.TrimSpace(s.Name), strings.TrimSpace(stage)) {
				return w, s, nil, true
			}
		}
	}
	return contentstackapi.Workflow{}, contentstackapi.Stage{}, names, false
}
