package iconik

import (
	"context"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/fault"
)

var lifecycleOutput = []connector.Field{
	{Name: "asset_id", Type: str},
	{Name: "status", Type: str, Doc: "The asset's status afterwards (ACTIVE, DELETED, or PURGED)."},
	{Name: "archive_status", Type: str},
	{Name: "changed", Type: connector.Bool, Doc: "False when the asset already was as asked."},
	{Name: "object", Type: str},
}

func lifecycleOut(id, status, archive string, changed bool) map[string]any {
	return map[string]any{"asset_id": id, "status": status, "archive_status": nilIfEmpty(archive), "changed": changed, "object": assetRef(id)}
}

var assetIDInput = connector.Field{Name: "asset_id", Type: str, Required: true, Doc: "The asset's id."}

// ---- archive_asset / restore_archived_asset ----

var archiveInput = []connector.Field{
	assetIDInput,
	{Name: "format", Type: str, Default: "ORIGINAL", Doc: "The format (name or id) whose files move."},
	{Name: "storage_id", Type: str, Doc: "Destination storage (default the tenant's archive storage)."},
}

var actArchiveAsset = action{
	spec: connector.ActionSpec{
		Name: "archive_asset", Title: "Archive an asset's files", Writes: true, Idempotent: true,
		Doc: "Moves the files of a format (the original by default) of the current version to archive storage. " +
			"iconik does it in a job; archive_status shows ARCHIVING, then ARCHIVED (an asset_events update tells). " +
			"Nothing happens when the format is already archived or archiving.",
		Input:  archiveInput,
		Output: append(append([]connector.Field{}, lifecycleOutput...), connector.Field{Name: "format_id", Type: str}),
		Examples: []connector.Example{{Title: "Retention policy: archive", Input: map[string]any{"asset_id": "9f0c…"},
			Output: map[string]any{"asset_id": "9f0c…", "archive_status": "ARCHIVING", "changed": true}}},
	},
	run: func(c *Conn, ctx context.Context, req *connector.Request) (*connector.Result, error) {
		return c.archive(ctx, req, false)
	},
}

var actRestoreArchivedAsset = action{
	spec: connector.ActionSpec{
		Name: "restore_archived_asset", Title: "Restore archived files", Writes: true, Idempotent: true,
		Doc:    "Brings an archived format's files back from archive storage (a job). Nothing happens when the format is not archived.",
		Input:  archiveInput,
		Output: append(append([]connector.Field{}, lifecycleOutput...), connector.Field{Name: "format_id", Type: str}),
		Examples: []connector.Example{{Input: map[string]any{"asset_id": "9f0c…"},
			Output: map[string]any{"asset_id": "9f0c…", "archive_status": "ARCHIVED", "changed": true}}},
	},
	run: func(c *Conn, ctx context.Context, req *connector.Request) (*connector.Result, error) {
		return c.archive(ctx, req, true)
	},
}

func (c *Conn) archive(ctx context.Context, req *connector.Request, restore bool) (*connector.Result, error) {
	in := req.Input
	id, format := inStr(in, "asset_id"), inStr(in, "format")
	if format == "" {
		format = "ORIGINAL"
	}
	a, err := c.api.GetAsset(ctx, id, false)
	if err != nil {
		return nil, err
	}
	f, err := c.api.GetFormat(ctx, id, format)
	if err != nil {
		return nil, err
	}
	want := f.ArchiveStatus != "ARCHIVED" && f.ArchiveStatus != "ARCHIVING"
	op, next := "archive", "ARCHIVING"
	if restore {
		want, op, next = f.ArchiveStatus == "ARCHIVED", "restore_archive", "ARCHIVED"
	}
	res := &connector.Result{}
	status := f.ArchiveStatus
	if want {
		if err := c.api.ArchiveFormat(ctx, id, f.ID, inStr(in, "storage_id"), restore); err != nil {
			return nil, err
		}
		status = next
		res.Writes = []connector.Write{{Object: assetRef(id), Op: op,
			Hash:    contentHash(map[string]any{"kind": op, "asset_id": id, "format_id": f.ID}),
			Summary: map[string]any{"format": f.Name, "format_id": f.ID}}}
	}
	out := lifecycleOut(id, a.Status, status, want)
	out["format_id"] = f.ID
	res.Output = out
	return res, nil
}

// ---- delete_asset / restore_asset / purge_asset ----

var actDeleteAsset = action{
	spec: connector.ActionSpec{
		Name: "delete_asset", Title: "Delete an asset (soft)", Writes: true, Idempotent: true,
		Doc:    "Moves an asset to iconik's delete queue (status DELETED); restore_asset brings it back. Nothing happens when it is deleted already.",
		Input:  []connector.Field{assetIDInput},
		Output: lifecycleOutput,
		Examples: []connector.Example{{Input: map[string]any{"asset_id": "9f0c…"},
			Output: map[string]any{"asset_id": "9f0c…", "status": "DELETED", "changed": true}}},
	},
	run: func(c *Conn, ctx context.Context, req *connector.Request) (*connector.Result, error) {
		return c.setDeleted(ctx, inStr(req.Input, "asset_id"), true)
	},
}

var actRestoreAsset = action{
	spec: connector.ActionSpec{
		Name: "restore_asset", Title: "Restore a deleted asset", Writes: true, Idempotent: true,
		Doc:    "Takes a soft-deleted asset out of the delete queue (status ACTIVE). Nothing happens when it is active.",
		Input:  []connector.Field{assetIDInput},
		Output: lifecycleOutput,
		Examples: []connector.Example{{Input: map[string]any{"asset_id": "9f0c…"},
			Output: map[string]any{"asset_id": "9f0c…", "status": "ACTIVE", "changed": true}}},
	},
	run: func(c *Conn, ctx context.Context, req *connector.Request) (*connector.Result, error) {
		return c.setDeleted(ctx, inStr(req.Input, "asset_id"), false)
	},
}

func (c *Conn) setDeleted(ctx context.Context, id string, deleted bool) (*connector.Result, error) {
	a, err := c.api.GetAsset(ctx, id, false)
	if err != nil {
		return nil, err
	}
	want, op := "ACTIVE", "restore"
	if deleted {
		want, op = "DELETED", "delete"
	}
	res := &connector.Result{}
	changed := a.Status != want
	if changed {
		if deleted {
			err = c.api.DeleteAsset(ctx, id)
		} else {
			err = c.api.RestoreAsset(ctx, id)
		}
		if err != nil {
			return nil, err
		}
		after := *a
		after.Status = want
		res.Writes = []connector.Write{{Object: assetRef(id), Op: op,
			Hash: assetHash(op, &after), Summary: map[string]any{"title": a.Title}}}
	}
	res.Output = lifecycleOut(id, want, a.ArchiveStatus, changed)
	return res, nil
}

var actPurgeAsset = action{
	spec: connector.ActionSpec{
		Name: "purge_asset", Title: "Purge an asset (permanent)", Writes: true, Idempotent: true,
		Doc: "Deletes an asset for good, with its files, versions, metadata and shares. Guarded: confirm must be true, " +
			"otherwise the step fails without touching anything. An asset already gone counts as purged.",
		Input: []connector.Field{
			assetIDInput,
			{Name: "confirm", Type: connector.Bool, Required: true, Doc: "Must be true: purging cannot be undone."},
		},
		Output: lifecycleOutput,
		Examples: []connector.Example{{Title: "After the grace period", Input: map[string]any{"asset_id": "9f0c…", "confirm": true},
			Output: map[string]any{"asset_id": "9f0c…", "status": "PURGED", "changed": true}}},
	},
	run: (*Conn).purgeAsset,
}

func (c *Conn) purgeAsset(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	id := inStr(req.Input, "asset_id")
	if !inBool(req.Input, "confirm") {
		return nil, invalid("purge_asset needs confirm: true (purging cannot be undone)")
	}
	a, err := c.api.GetAsset(ctx, id, false)
	if fault.Is(err, fault.NotFound) {
		return &connector.Result{Output: lifecycleOut(id, "PURGED", "", false)}, nil
	}
	if err != nil {
		return nil, err
	}
	if err := c.api.PurgeAsset(ctx, id); err != nil {
		if fault.Is(err, fault.NotFound) {
			return &connector.Result{Output: lifecycleOut(id, "PURGED", "", false)}, nil
		}
		return nil, err
	}
	after := *a
	after.Status = "DELETED"
	return &connector.Result{Output: lifecycleOut(id, "PURGED", "", true), Writes: []connector.Write{{
		Object: assetRef(id), Op: "purge", Hash: assetHash("purge", &after),
		Summary: map[string]any{"title": a.Title},
	}}}, nil
}
