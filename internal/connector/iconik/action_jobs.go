package iconik

import (
	"context"
	"net/url"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
)

// jobKeyField is the job metadata key holding the step's idempotency key.
const jobKeyField = "patchbay_idempotency_key"

var jobStatuses = []any{"READY", "STARTED", "WAITING", "PAUSED", "FINISHED", "FINISHED_WITH_WARNING", "FAILED", "ABORTED", "SKIPPED"}

var jobOutput = []connector.Field{
	{Name: "id", Type: str},
	{Name: "title", Type: str},
	{Name: "status", Type: str},
	{Name: "progress", Type: connector.Int, Doc: "Percent done."},
	{Name: "message", Type: str},
	{Name: "object", Type: str, Doc: "iconik:job/<id>."},
}

func jobOut(j *iconikapi.Job) map[string]any {
	return map[string]any{"id": j.ID, "title": j.Title, "status": j.Status, "progress": j.Progress,
		"message": nilIfEmpty(j.Message), "object": jobRef(j.ID)}
}

// ---- create_job ----

var actCreateJob = action{
	spec: connector.ActionSpec{
		Name: "create_job", Title: "Create a custom job", Writes: true, Idempotent: true,
		Doc: "Creates a CUSTOM job, visible in iconik's job list, usually tied to an asset, to show work patchbay or " +
			"another team does. The step's idempotency key is stored in the job's metadata " + "(" + jobKeyField + "), " +
			"so a re-executed step finds its job instead of creating a second one.",
		Input: []connector.Field{
			{Name: "title", Type: str, Required: true, Doc: "What the job is."},
			{Name: "status", Type: str, Default: "STARTED", Enum: jobStatuses, Doc: "Initial status."},
			{Name: "object_id", Type: str, Doc: "The asset (or collection) the job is about."},
			objectTypeField,
			{Name: "custom_type", Type: str, Default: "patchbay", Doc: "A label grouping jobs of one kind."},
			{Name: "message", Type: str, Doc: "Status message."},
			{Name: "progress_processed", Type: connector.Int, Doc: "Units done."},
			{Name: "progress_total", Type: connector.Int, Doc: "Units in all."},
			{Name: "metadata", Type: connector.Object, Open: true, Doc: "Free data stored with the job."},
		},
		Output: append(append([]connector.Field{}, jobOutput...), connector.Field{Name: "created", Type: connector.Bool}),
		Examples: []connector.Example{{
			Title: "Work for the media team", Input: map[string]any{"title": "Media needed for entry \"Autumn Launch\"", "status": "WAITING",
				"object_id": "c0ll…", "object_type": "collections", "metadata": map[string]any{"entry_uid": "blt0123"}},
			Output: map[string]any{"id": "j0b…", "status": "WAITING", "created": true},
		}},
	},
	run: (*Conn).createJob,
}

func (c *Conn) createJob(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	objectID, ot := inStr(in, "object_id"), inStr(in, "object_type")
	customType := inStr(in, "custom_type")
	if req.IdempotencyKey != "" {
		q := url.Values{"type": {"CUSTOM"}}
		if objectID != "" {
			q.Set("object_id", objectID)
		}
		var found *iconikapi.Job
		err := c.api.EachJob(ctx, q, 5, func(j iconikapi.Job) bool {
			if k, _ := j.Metadata[jobKeyField].(string); k == req.IdempotencyKey {
				found = &j
				return false
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		if found != nil {
			out := jobOut(found)
			out["created"] = false
			return &connector.Result{Output: out}, nil
		}
	}
	j := &iconikapi.Job{Title: inStr(in, "title"), Type: "CUSTOM", Status: inStr(in, "status"), Message: inStr(in, "message")}
	if j.Status == "" {
		j.Status = "STARTED"
	}
	if customType != "" {
		j.CustomType = &customType
	}
	if objectID != "" {
		j.ObjectID, j.ObjectType = &objectID, &ot
		j.RelatedObjects = []iconikapi.RelatedObject{{ObjectType: ot, ObjectID: objectID}}
	}
	if n, ok := inInt(in, "progress_processed"); ok {
		j.ProgressProcessed = n
	}
	if n, ok := inInt(in, "progress_total"); ok {
		j.ProgressTotal = n
	}
	meta := map[string]any{}
	if m, ok := in["metadata"].(map[string]any); ok {
		for k, v := range m {
			meta[k] = v
		}
	}
	if req.IdempotencyKey != "" {
		meta[jobKeyField] = req.IdempotencyKey
	}
	if len(meta) > 0 {
		j.Metadata = meta
	}
	created, err := c.api.CreateJob(ctx, j)
	if err != nil {
		return nil, err
	}
	summary := map[string]any{"title": created.Title, "status": created.Status}
	if objectID != "" {
		summary["about"] = objectRef(ot, objectID)
	}
	out := jobOut(created)
	out["created"] = true
	return &connector.Result{Output: out, Writes: []connector.Write{{Object: jobRef(created.ID), Op: "create",
		Hash: jobHash("create", created), Summary: summary}}}, nil
}

// ---- update_job ----

var actUpdateJob = action{
	spec: connector.ActionSpec{
		Name: "update_job", Title: "Update a custom job", Writes: true, Idempotent: true,
		Doc: "Changes a job's status, progress and messages; metadata is merged into the job's. Nothing is written when nothing changes.",
		Input: []connector.Field{
			{Name: "job_id", Type: str, Required: true, Doc: "The job."},
			{Name: "status", Type: str, Enum: jobStatuses, Doc: "New status."},
			{Name: "message", Type: str, Doc: "Status message."},
			{Name: "error_message", Type: str, Doc: "Why it failed."},
			{Name: "progress_processed", Type: connector.Int, Doc: "Units done."},
			{Name: "progress_total", Type: connector.Int, Doc: "Units in all."},
			{Name: "metadata", Type: connector.Object, Open: true, Doc: "Data merged into the job's metadata."},
		},
		Output: append(append([]connector.Field{}, jobOutput...), connector.Field{Name: "changed", Type: connector.Bool}),
		Examples: []connector.Example{{Title: "Done", Input: map[string]any{"job_id": "j0b…", "status": "FINISHED", "message": "Entry published"},
			Output: map[string]any{"id": "j0b…", "status": "FINISHED", "progress": 100, "changed": true}}},
	},
	run: (*Conn).updateJob,
}

func (c *Conn) updateJob(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	id := inStr(in, "job_id")
	j, err := c.api.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	patch := map[string]any{}
	setStr := func(k, cur string) {
		if v, ok := in[k].(string); ok && v != cur {
			patch[k] = v
		}
	}
	setStr("status", j.Status)
	setStr("message", j.Message)
	setStr("error_message", j.ErrorMessage)
	if n, ok := inInt(in, "progress_processed"); ok && n != j.ProgressProcessed {
		patch["progress_processed"] = n
	}
	if n, ok := inInt(in, "progress_total"); ok && n != j.ProgressTotal {
		patch["progress_total"] = n
	}
	merge := false
	if m, ok := in["metadata"].(map[string]any); ok {
		for k, v := range m {
			if canonValue(j.Metadata[k]) != canonValue(v) || (v == nil) != (j.Metadata[k] == nil) {
				patch["metadata"] = m
				merge = true
				break
			}
		}
	}
	res := &connector.Result{}
	if len(patch) > 0 {
		if j, err = c.api.UpdateJob(ctx, id, patch, merge); err != nil {
			return nil, err
		}
		fields := sortedKeys(patch)
		res.Writes = []connector.Write{{Object: jobRef(id), Op: "update", Hash: jobHash("update", j),
			Summary: map[string]any{"fields": stringsAny(fields), "status": j.Status}}}
	}
	out := jobOut(j)
	out["changed"] = len(patch) > 0
	res.Output = out
	return res, nil
}

// ---- add_history ----

var historyOps = []any{"CUSTOM", "METADATA", "APPROVE", "REJECT", "EXPORT", "TRANSFER", "DOWNLOAD", "ARCHIVE", "DELETE", "RESTORE"}

var actAddHistory = action{
	spec: connector.ActionSpec{
		Name: "add_history", Title: "Add an asset history entry", Writes: true, Idempotent: true,
		Doc: "Adds an entry to an asset's history (what happened to it, shown in iconik). With mark (the default) the " +
			"description ends with a short patchbay reference derived from the step's idempotency key, by which a " +
			"re-executed step finds its entry instead of adding it twice.",
		Input: []connector.Field{
			{Name: "asset_id", Type: str, Required: true, Doc: "The asset's id."},
			{Name: "description", Type: str, Required: true, Doc: "What happened."},
			{Name: "operation_type", Type: str, Default: "CUSTOM", Enum: historyOps, Doc: "iconik's operation type."},
			{Name: "job_id", Type: str, Doc: "A job the entry belongs to."},
			{Name: "mark", Type: connector.Bool, Default: true, Doc: "Append the patchbay reference that makes the entry idempotent."},
		},
		Output: []connector.Field{
			{Name: "id", Type: str},
			{Name: "description", Type: str, Doc: "The description as stored."},
			{Name: "created", Type: connector.Bool},
		},
		Examples: []connector.Example{{Input: map[string]any{"asset_id": "9f0c…", "description": "Published to Contentstack entry blt0123 (production)"},
			Output: map[string]any{"id": "h1st…", "created": true}}},
	},
	run: (*Conn).addHistory,
}

func (c *Conn) addHistory(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	id, desc, op := inStr(in, "asset_id"), inStr(in, "description"), inStr(in, "operation_type")
	if op == "" {
		op = "CUSTOM"
	}
	marker := ""
	if req.IdempotencyKey != "" && boolOr(in, "mark", true) {
		k := req.IdempotencyKey
		if len(k) > 19 {
			k = k[:19]
		}
		marker = " [patchbay " + k + "]"
		desc += marker
		var found *iconikapi.HistoryEntry
		err := c.api.EachHistory(ctx, id, "operation_type,eq,"+op, func(h iconikapi.HistoryEntry) bool {
			if strings.HasSuffix(deref(h.OperationDescription), marker) {
				found = &h
				return false
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		if found != nil {
			return &connector.Result{Output: map[string]any{"id": found.ID, "description": deref(found.OperationDescription), "created": false}}, nil
		}
	}
	h, err := c.api.AddHistory(ctx, id, op, desc, inStr(in, "job_id"))
	if err != nil {
		return nil, err
	}
	return &connector.Result{
		Output: map[string]any{"id": h.ID, "description": desc, "created": true},
		Writes: []connector.Write{{Object: assetRef(id), Op: "history",
			Hash:    contentHash(map[string]any{"kind": "history", "asset_id": id, "operation_type": op, "description": desc}),
			Summary: map[string]any{"operation_type": op, "history_id": h.ID}}},
	}, nil
}
