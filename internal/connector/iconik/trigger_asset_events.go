package iconik

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"sort"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// eventData are the fields every asset_events event's data has.
var eventData = []connector.Field{
	{Name: "event_type", Type: str, Doc: "iconik's event type: assets, collections or jobs."},
	{Name: "realm", Type: str, Doc: "What changed: entity, versions, metadata, approvals, segments, shares, contents, formats, files, proxies, keyframes."},
	{Name: "operation", Type: str, Doc: "create, update, delete, restore or purge."},
	{Name: "object_id", Type: str, Doc: "The id iconik names (the asset for assets and metadata; the version, segment, share or job for those)."},
	{Name: "asset_id", Type: str, Doc: "The asset the event concerns, when there is one."},
	{Name: "version_id", Type: str, Doc: "The version concerned (metadata, approvals, versions, segments; the current one for entity events)."},
	{Name: "user_id", Type: str, Doc: "Who made the change (the connection's own user for patchbay's writes)."},
	{Name: "request_id", Type: str, Doc: "iconik's id of the request that caused it; events of one request share it."},
	{Name: "status", Type: str, Doc: "approval.*: the version's overall approval status; asset.*: ACTIVE or DELETED; job.*: the job's status."},
	{Name: "previous_status", Type: str, Doc: "approval.changed: the status before."},
	{Name: "decision", Type: str, Doc: "approval.changed: the reviewer's decision that changed it."},
	{Name: "decided_by", Type: str, Doc: "approval.changed: the reviewer (user id or e-mail)."},
	{Name: "fields", Type: connector.Object, Open: true, Doc: "metadata.changed: the changed fields → value (nil, a value, or a list when several)."},
	{Name: "values", Type: connector.Object, Open: true, Doc: "metadata.changed: the changed fields → list of values."},
	{Name: "changed", Type: connector.List, Doc: "metadata.changed: names of the changed fields."},
	{Name: "view_id", Type: str, Doc: "metadata.changed: the view the values were written through."},
	{Name: "collection_id", Type: str, Doc: "collection.*: the collection."},
	{Name: "member_id", Type: str, Doc: "collection.content_*: the asset or collection added or removed."},
	{Name: "title", Type: str, Doc: "asset.*, collection.*, job.*: the object's title."},
	{Name: "is_blocked", Type: connector.Bool, Doc: "asset.*: whether the asset is blocked."},
	{Name: "archive_status", Type: str, Doc: "asset.*: NOT_ARCHIVED, ARCHIVING, ARCHIVED…"},
	{Name: "external_id", Type: str, Doc: "asset.*, collection.*: the external id."},
	{Name: "segment_id", Type: str, Doc: "comment.*, segment.*: the segment."},
	{Name: "text", Type: str, Doc: "comment.*: the comment's text."},
	{Name: "time_start_ms", Type: connector.Int, Doc: "comment.*: start in milliseconds."},
	{Name: "time_end_ms", Type: connector.Int, Doc: "comment.*: end in milliseconds."},
	{Name: "share_id", Type: str, Doc: "share.*: the share."},
	{Name: "job_id", Type: str, Doc: "job.*: the job."},
	{Name: "progress", Type: connector.Int, Doc: "job.*: percent done."},
	{Name: "message", Type: str, Doc: "job.*: the job's message."},
	{Name: "version_number", Type: connector.Int, Doc: "asset.version_*: the version's number."},
}

var assetEventsTrigger = connector.TriggerSpec{
	Name: "asset_events", Title: "iconik changes", Kind: connector.Webhook,
	Doc: "iconik posts a webhook for every change in the tenant; setup registers the definitions (one per event " +
		"type in webhook_events) pointing at /hooks/<connection>/asset_events with the webhook secret header, and " +
		"deliveries without the secret are rejected. Each delivery becomes one normalized event whose object is " +
		"the asset (iconik:asset/<id>), collection or job it concerns; further references (version, segment, share, " +
		"collection) are in objects. Events are deduplicated by iconik's request id, realm, operation and object " +
		"(a retried delivery starts nothing twice) and carry a hash equal to the one of patchbay's own write of the " +
		"same change. Filter with filter: on event.type and event.data (realm, operation, view_id, fields…).",
	EventTypes: []string{
		"asset.created", "asset.updated", "asset.deleted", "asset.restored", "asset.purged",
		"asset.version_added", "asset.version_updated", "asset.version_deleted",
		"metadata.changed", "approval.requested", "approval.changed", "approval.cleared",
		"comment.created", "comment.updated", "comment.deleted", "segment.created", "segment.updated", "segment.deleted",
		"share.created", "share.updated", "share.deleted",
		"collection.created", "collection.updated", "collection.deleted", "collection.restored", "collection.purged",
		"collection.content_added", "collection.content_removed",
		"asset.format_created", "asset.format_updated", "asset.file_created", "asset.file_updated",
		"asset.proxy_created", "asset.proxy_updated", "asset.keyframe_created", "asset.keyframe_updated",
		"job.created", "job.updated", "job.deleted",
	},
	Data: eventData,
	Examples: []connector.Example{{
		Title: "Approved in iconik",
		Output: map[string]any{"type": "approval.changed", "object": "iconik:asset/9f0c…", "objects": []any{"iconik:asset/9f0c…/version/1b2c…"},
			"data": map[string]any{"realm": "approvals", "operation": "update", "asset_id": "9f0c…", "version_id": "1b2c…",
				"status": "APPROVED", "previous_status": "REQUESTED", "decision": "APPROVED"}},
	}, {
		Title: "Rights fields changed",
		Output: map[string]any{"type": "metadata.changed", "object": "iconik:asset/9f0c…",
			"data": map[string]any{"realm": "metadata", "changed": []any{"rights_status"}, "fields": map[string]any{"rights_status": "Cleared"}}},
	}},
}

// Receive implements connector.WebhookReceiver for asset_events and custom_action.
func (c *Conn) Receive(_ context.Context, trigger string, req *connector.WebhookRequest) (*connector.WebhookResponse, error) {
	switch trigger {
	case "asset_events":
		if err := c.verify(req.Header); err != nil {
			return nil, err
		}
		return c.receiveEvents(req.Body)
	case "custom_action":
		if err := c.verify(req.Header); err != nil {
			return nil, err
		}
		return c.receiveCustomAction(req.Body)
	}
	return nil, fault.Errorf(fault.NotFound, "iconik: no webhook trigger %q", trigger)
}

// verify checks the secret header setup registered with iconik.
func (c *Conn) verify(h http.Header) error {
	if c.set.webhookSecret == "" {
		return fault.Errorf(fault.Unauthorized, "iconik connection %s has no webhook_secret: set one and run setup", c.name)
	}
	got := h.Get(c.set.webhookHeader)
	if got == "" {
		return fault.Errorf(fault.Unauthorized, "missing %s header", c.set.webhookHeader)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.set.webhookSecret)) != 1 {
		return fault.Errorf(fault.Unauthorized, "wrong %s header", c.set.webhookHeader)
	}
	return nil
}

func (c *Conn) receiveEvents(body []byte) (*connector.WebhookResponse, error) {
	var evs []iconikapi.Event
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &evs); err != nil {
			return nil, fault.E(fault.Invalid, "decoding iconik webhook", err)
		}
	} else {
		var ev iconikapi.Event
		if err := json.Unmarshal(trimmed, &ev); err != nil {
			return nil, fault.E(fault.Invalid, "decoding iconik webhook", err)
		}
		evs = []iconikapi.Event{ev}
	}
	resp := &connector.WebhookResponse{}
	for i := range evs {
		ev := &evs[i]
		if ev.EventType == "" || ev.ObjectID == "" {
			return nil, fault.Errorf(fault.Invalid, "iconik webhook without event_type or object_id")
		}
		if c.set.systemDomainID != "" && ev.SystemDomainID != c.set.systemDomainID {
			return nil, fault.Errorf(fault.Unauthorized, "webhook from another iconik tenant (system_domain_id %s)", ev.SystemDomainID)
		}
		if !c.wanted(ev) {
			continue
		}
		n, err := normalize(ev)
		if err != nil {
			return nil, err
		}
		resp.Events = append(resp.Events, n)
	}
	return resp, nil
}

// wanted applies the connection's webhook_events and webhook_realms.
func (c *Conn) wanted(ev *iconikapi.Event) bool {
	if len(c.set.webhookEvents) > 0 && !has(c.set.webhookEvents, ev.EventType) {
		return false
	}
	return len(c.set.webhookRealms) == 0 || has(c.set.webhookRealms, ev.Realm)
}

var pastTense = map[string]string{"create": "created", "update": "updated", "delete": "deleted", "restore": "restored", "purge": "purged"}

func past(op string) string {
	if p, ok := pastTense[op]; ok {
		return p
	}
	return op
}

// normalize turns one iconik event into a patchbay event.
func normalize(ev *iconikapi.Event) (connector.Event, error) {
	out := connector.Event{Data: map[string]any{
		"event_type": ev.EventType, "realm": ev.Realm, "operation": ev.Operation, "object_id": ev.ObjectID,
		"user_id": nilIfEmpty(ev.UserID), "request_id": nilIfEmpty(ev.RequestID),
	}}
	if ev.RequestID != "" {
		out.ID = "iconik:" + ev.RequestID + ":" + ev.EventType + ":" + ev.Realm + ":" + ev.Operation + ":" + ev.ObjectID
	}
	d := out.Data
	bad := func(err error) (connector.Event, error) {
		return connector.Event{}, fault.E(fault.Invalid, "decoding the data of an iconik "+ev.EventType+"/"+ev.Realm+" event", err)
	}
	op := ev.Operation
	switch {
	case ev.EventType == "assets" && ev.Realm == "entity":
		var a iconikapi.Asset
		if err := json.Unmarshal(ev.Data, &a); err != nil {
			return bad(err)
		}
		if a.ID == "" {
			a.ID = ev.ObjectID
		}
		vid := a.CurrentVersionID()
		out.Type, out.Object, out.Hash = "asset."+past(op), assetRef(a.ID), assetHash(op, &a)
		if vid != "" {
			out.Objects = []string{versionRef(a.ID, vid)}
		}
		d["asset_id"], d["title"], d["status"], d["version_id"] = a.ID, a.Title, a.Status, nilIfEmpty(vid)
		d["asset_type"], d["is_blocked"], d["archive_status"] = a.Type, a.IsBlocked, a.ArchiveStatus
		d["external_id"], d["date_modified"] = nilIfEmpty(deref(a.ExternalID)), a.DateModified
		out.Time = parseTime(a.DateModified)
	case ev.EventType == "assets" && ev.Realm == "versions":
		var v iconikapi.Version
		if err := json.Unmarshal(ev.Data, &v); err != nil {
			return bad(err)
		}
		if v.ID == "" {
			v.ID = ev.ObjectID
		}
		name := map[string]string{"create": "asset.version_added", "update": "asset.version_updated", "delete": "asset.version_deleted"}[op]
		if name == "" {
			name = "asset.version_" + past(op)
		}
		out.Type, out.Object = name, assetRef(v.AssetID)
		out.Objects = []string{versionRef(v.AssetID, v.ID)}
		out.Hash = contentHash(map[string]any{"kind": "version", "op": op, "asset_id": v.AssetID, "version_id": v.ID, "status": v.Status})
		d["asset_id"], d["version_id"], d["version_number"], d["status"] = v.AssetID, v.ID, v.VersionNumber, v.Status
		out.Time = parseTime(v.DateCreated)
	case ev.Realm == "metadata":
		var m iconikapi.MetadataValues
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			return bad(err)
		}
		ot := firstNonEmpty(m.ObjectType, ev.EventType)
		id := firstNonEmpty(m.ObjectID, ev.ObjectID)
		vals := m.Lists()
		out.Type, out.Object = "metadata.changed", objectRef(ot, id)
		out.Hash = metadataHash(out.Object, vals)
		if ot == "assets" {
			d["asset_id"] = id
			if m.VersionID != "" {
				out.Objects = []string{versionRef(id, m.VersionID)}
			}
		}
		d["object_type"], d["version_id"], d["view_id"] = ot, nilIfEmpty(m.VersionID), nilIfEmpty(m.MetadataViewID)
		d["fields"], d["values"], d["changed"] = flatten(vals), listsOut(vals), stringsAny(sortedKeys(vals))
		out.Time = parseTime(m.DateModified)
	case ev.Realm == "approvals":
		var ap iconikapi.Approval
		if err := json.Unmarshal(ev.Data, &ap); err != nil {
			return bad(err)
		}
		ot := firstNonEmpty(ap.ObjectType, ev.EventType)
		id := firstNonEmpty(ap.ObjectID, ev.ObjectID)
		name := map[string]string{"create": "approval.requested", "update": "approval.changed", "delete": "approval.cleared"}[op]
		if name == "" {
			name = "approval." + past(op)
		}
		out.Type, out.Object = name, objectRef(ot, id)
		out.Hash = approvalHash(out.Object, ap.VersionID, ap.Status)
		if ot == "assets" {
			d["asset_id"] = id
			if ap.VersionID != "" {
				out.Objects = []string{versionRef(id, ap.VersionID)}
			}
		}
		d["object_type"], d["version_id"], d["status"] = ot, nilIfEmpty(ap.VersionID), ap.Status
		d["previous_status"], d["requested_by"], d["users"] = nilIfEmpty(ap.PreviousStatus), nilIfEmpty(ap.RequestedBy), stringsAny(ap.Users)
		if ap.ApprovalBy != nil {
			d["decision"] = ap.ApprovalBy.Status
			d["decided_by"] = firstNonEmpty(ap.ApprovalBy.User, ap.ApprovalBy.External)
		}
		out.Time = parseTime(ap.ChangeDate)
	case ev.EventType == "assets" && ev.Realm == "segments":
		var s iconikapi.Segment
		if err := json.Unmarshal(ev.Data, &s); err != nil {
			return bad(err)
		}
		if s.ID == "" {
			s.ID = ev.ObjectID
		}
		kind := "segment"
		if s.SegmentType == "COMMENT" {
			kind = "comment"
		}
		out.Type, out.Object = kind+"."+past(op), assetRef(s.AssetID)
		out.Objects = []string{segmentRef(s.AssetID, s.ID)}
		if s.VersionID != "" {
			out.Objects = append(out.Objects, versionRef(s.AssetID, s.VersionID))
		}
		out.Hash = segmentHash(op, &s)
		d["asset_id"], d["version_id"], d["segment_id"], d["segment_type"] = s.AssetID, nilIfEmpty(s.VersionID), s.ID, s.SegmentType
		d["text"], d["parent_id"], d["external_id"] = nilIfEmpty(deref(s.SegmentText)), nilIfEmpty(s.ParentID), nilIfEmpty(deref(s.ExternalID))
		d["time_start_ms"], d["time_end_ms"] = int64OrNil(s.TimeStartMS), int64OrNil(s.TimeEndMS)
		out.Time = parseTime(s.DateModified)
	case ev.Realm == "shares":
		var sh iconikapi.Share
		if err := json.Unmarshal(ev.Data, &sh); err != nil {
			return bad(err)
		}
		if sh.ID == "" {
			sh.ID = ev.ObjectID
		}
		ot := firstNonEmpty(sh.ObjectType, ev.EventType)
		sh.ObjectType = ot
		out.Type, out.Object = "share."+past(op), objectRef(ot, sh.ObjectID)
		out.Objects = []string{shareRef(sh.ID)}
		out.Hash = shareHash(op, &sh)
		if ot == "assets" {
			d["asset_id"] = sh.ObjectID
		}
		d["share_id"], d["shared_object_id"], d["object_type"] = sh.ID, sh.ObjectID, ot
		d["title"], d["expires"] = nilIfEmpty(deref(sh.Title)), nilIfEmpty(sh.Expires)
		out.Time = parseTime(sh.DateCreated)
	case ev.EventType == "collections" && ev.Realm == "entity":
		var col iconikapi.Collection
		if err := json.Unmarshal(ev.Data, &col); err != nil {
			return bad(err)
		}
		if col.ID == "" {
			col.ID = ev.ObjectID
		}
		out.Type, out.Object, out.Hash = "collection."+past(op), collectionRef(col.ID), collectionHash(op, &col)
		d["collection_id"], d["title"], d["parent_id"], d["status"] = col.ID, col.Title, nilIfEmpty(deref(col.ParentID)), col.Status
		d["external_id"] = nilIfEmpty(deref(col.ExternalID))
		out.Time = parseTime(col.DateModified)
	case ev.EventType == "collections" && ev.Realm == "contents":
		var ce iconikapi.ContentEvent
		if err := json.Unmarshal(ev.Data, &ce); err != nil {
			return bad(err)
		}
		name := map[string]string{"create": "collection.content_added", "delete": "collection.content_removed"}[op]
		if name == "" {
			name = "collection.content_" + past(op)
		}
		ot, id := firstNonEmpty(ce.ObjectType, "assets"), firstNonEmpty(ce.ObjectID, ev.ObjectID)
		out.Type, out.Object = name, objectRef(ot, id)
		out.Objects = []string{collectionRef(ce.CollectionID)}
		out.Hash = contentsHash(op, ce.CollectionID, out.Object)
		if ot == "assets" {
			d["asset_id"] = id
		}
		d["collection_id"], d["member_id"], d["member_type"], d["parents"] = ce.CollectionID, id, ot, stringsAny(ce.Parents)
		out.Time = parseTime(ce.DateCreated)
	case ev.EventType == "assets" && (ev.Realm == "formats" || ev.Realm == "files" || ev.Realm == "proxies" || ev.Realm == "keyframes"):
		var m map[string]any
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			return bad(err)
		}
		assetID, _ := m["asset_id"].(string)
		vid, _ := m["version_id"].(string)
		kind := singular(ev.Realm)
		out.Type, out.Object = "asset."+kind+"_"+past(op), assetRef(assetID)
		out.Objects = []string{"iconik:asset/" + assetID + "/" + kind + "/" + ev.ObjectID}
		out.Hash = contentHash(map[string]any{"kind": kind, "op": op, "id": ev.ObjectID, "status": m["status"], "archive_status": m["archive_status"]})
		d["asset_id"], d["version_id"], d[kind+"_id"] = nilIfEmpty(assetID), nilIfEmpty(vid), ev.ObjectID
		for _, k := range []string{"name", "status", "archive_status", "format"} {
			if v, ok := m[k]; ok {
				d[k] = v
			}
		}
		if s, _ := m["date_modified"].(string); s != "" {
			out.Time = parseTime(s)
		}
	case ev.EventType == "jobs":
		var j iconikapi.Job
		if err := json.Unmarshal(ev.Data, &j); err != nil {
			return bad(err)
		}
		if j.ID == "" {
			j.ID = ev.ObjectID
		}
		out.Type, out.Object, out.Hash = "job."+past(op), jobRef(j.ID), jobHash(op, &j)
		if j.ObjectID != nil && *j.ObjectID != "" {
			ot := firstNonEmpty(deref(j.ObjectType), "assets")
			out.Objects = []string{objectRef(ot, *j.ObjectID)}
			if ot == "assets" {
				d["asset_id"] = *j.ObjectID
			}
		}
		d["job_id"], d["title"], d["job_type"], d["status"] = j.ID, j.Title, j.Type, j.Status
		d["custom_type"], d["message"], d["error_message"], d["progress"] = nilIfEmpty(deref(j.CustomType)), nilIfEmpty(j.Message), nilIfEmpty(j.ErrorMessage), j.Progress
		d["metadata"] = j.Metadata
		out.Time = parseTime(j.DateModified)
	default:
		var raw any
		if len(ev.Data) > 0 {
			if err := json.Unmarshal(ev.Data, &raw); err != nil {
				return bad(err)
			}
		}
		out.Type = singular(ev.EventType) + "." + ev.Realm + "_" + past(op)
		out.Object = objectRef(ev.EventType, ev.ObjectID)
		d["raw"] = raw
	}
	return out, nil
}

func int64OrNil(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// sortedStrings returns a sorted copy.
func sortedStrings(l []string) []string {
	out := append([]string(nil), l...)
	sort.Strings(out)
	return out
}
