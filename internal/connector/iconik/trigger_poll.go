package iconik

import (
	"context"
	"encoding/json"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
	"github.com/patchbay/patchbay/internal/fault"
)

var pollTrigger = connector.TriggerSpec{
	Name: "poll", Title: "iconik changes by polling", Kind: connector.Poll, Interval: 30 * time.Second,
	Doc: "For tenants where webhooks are not allowed: searches assets by date_modified from a cursor patchbay " +
		"stores with the events, so every change is reported once even across restarts. Changes younger than the " +
		"connection's poll_lag wait for the next poll (the search index may lag). A poll reports an asset's state, " +
		"not each change: several edits between two polls are one asset.updated. The first poll starts from now " +
		"unless a flow's backfill reaches back.",
	Config: []connector.Field{
		{Name: "backfill", Type: connector.Duration, Doc: "On the very first poll, also report assets changed this long before (\"7d\"). The largest of the flows' values counts."},
	},
	EventTypes: []string{"asset.created", "asset.updated", "asset.deleted"},
	Data: []connector.Field{
		{Name: "asset_id", Type: str},
		{Name: "title", Type: str},
		{Name: "status", Type: str},
		{Name: "version_id", Type: str},
		{Name: "date_modified", Type: str},
		{Name: "metadata", Type: connector.Object, Open: true, Doc: "The asset's metadata (flattened) as the search index has it."},
		{Name: "source", Type: str, Doc: "\"poll\"."},
	},
	Examples: []connector.Example{{
		Title:  "An edited asset",
		Output: map[string]any{"type": "asset.updated", "object": "iconik:asset/9f0c…", "data": map[string]any{"asset_id": "9f0c…", "title": "Spring Launch Trailer 001", "source": "poll"}},
	}},
}

// pollCursor is where the next poll continues: the search_after values of
// the last asset reported (date_modified in epoch milliseconds, then id).
type pollCursor struct {
	After []any `json:"after"`
}

// Poll implements connector.Poller.
func (c *Conn) Poll(ctx context.Context, trigger string, req *connector.PollRequest) (*connector.PollResult, error) {
	if trigger != "poll" {
		return nil, fault.Errorf(fault.NotFound, "iconik: no poll trigger %q", trigger)
	}
	now := c.now().UTC()
	upper := now.Add(-c.set.pollLag)
	var cur pollCursor
	if req.Cursor != "" {
		if err := json.Unmarshal([]byte(req.Cursor), &cur); err != nil || len(cur.After) == 0 {
			return nil, fault.Errorf(fault.Invalid, "iconik poll: bad cursor %q", req.Cursor)
		}
	} else {
		var backfill time.Duration
		for _, cfg := range req.Configs {
			if s, _ := cfg["backfill"].(string); s != "" {
				if d, err := connector.ParseDuration(s); err == nil && d > backfill {
					backfill = d
				}
			}
		}
		cur.After = []any{upper.Add(-backfill).UnixMilli() - 1, ""}
		if backfill == 0 {
			return &connector.PollResult{Cursor: encodeCursor(cur)}, nil
		}
	}
	sr := iconikapi.SearchRequest{
		DocTypes: []string{"assets"},
		Sort:     []iconikapi.SortKey{{Name: "date_modified", Order: "asc"}, {Name: "id", Order: "asc"}},
		Filter: &iconikapi.SearchFilter{Operator: "AND", Terms: []iconikapi.SearchTerm{
			{Name: "status", ValueIn: []string{"ACTIVE", "DELETED"}},
			{Name: "date_modified", Range: &iconikapi.SearchRange{Max: upper.Format(time.RFC3339Nano)}},
		}},
		SearchAfter: cur.After,
	}
	page, err := c.api.Search(ctx, &sr, 0, c.set.pollPageSize)
	if err != nil {
		return nil, err
	}
	var keys map[string]bool
	if len(req.Configs) == 0 && len(req.Keys) > 0 {
		// Only waiting runs listen: report just the objects they wait on.
		keys = make(map[string]bool, len(req.Keys))
		for _, k := range req.Keys {
			keys[k] = true
		}
	}
	res := &connector.PollResult{Cursor: req.Cursor}
	for _, raw := range page.Objects {
		var a iconikapi.Asset
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, fault.E(fault.Permanent, "iconik poll: decoding a search hit", err)
		}
		if len(a.Sort) == 0 {
			return nil, fault.Errorf(fault.Permanent, "iconik poll: search hit has no _sort value to continue from")
		}
		cur.After = a.Sort
		res.Cursor = encodeCursor(cur)
		ev := polledEvent(&a)
		if keys != nil && !keys[ev.Object] {
			continue
		}
		res.Events = append(res.Events, ev)
	}
	if res.Cursor == "" {
		res.Cursor = encodeCursor(cur)
	}
	res.More = len(page.Objects) == c.set.pollPageSize
	return res, nil
}

func encodeCursor(c pollCursor) string {
	b, _ := json.Marshal(c)
	return string(b)
}

// polledEvent reports an asset's current state found by the poll.
func polledEvent(a *iconikapi.Asset) connector.Event {
	op := "update"
	switch {
	case a.Status == "DELETED":
		op = "delete"
	case a.DateCreated != "" && a.DateCreated == a.DateModified:
		op = "create"
	}
	vid := a.CurrentVersionID()
	ev := connector.Event{
		ID: "iconik:poll:" + a.ID + ":" + a.DateModified, Type: "asset." + past(op), Object: assetRef(a.ID),
		Hash: assetHash(op, a), Time: parseTime(a.DateModified),
		Data: map[string]any{"asset_id": a.ID, "title": a.Title, "status": a.Status, "version_id": nilIfEmpty(vid),
			"asset_type": a.Type, "is_blocked": a.IsBlocked, "archive_status": a.ArchiveStatus,
			"external_id": nilIfEmpty(deref(a.ExternalID)), "date_modified": a.DateModified,
			"metadata": flatten(a.Metadata), "source": "poll", "realm": "entity", "operation": op},
	}
	if vid != "" {
		ev.Objects = []string{versionRef(a.ID, vid)}
	}
	return ev
}
