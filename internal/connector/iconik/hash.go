package iconik

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"sort"
	"strconv"

	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
)

// Object references. Sub-objects of an asset hang below it so the audit
// trail finds them by the asset's reference prefix.
func assetRef(id string) string              { return "iconik:asset/" + id }
func versionRef(assetID, vid string) string  { return "iconik:asset/" + assetID + "/version/" + vid }
func segmentRef(assetID, sid string) string  { return "iconik:asset/" + assetID + "/segment/" + sid }
func collectionRef(id string) string         { return "iconik:collection/" + id }
func jobRef(id string) string                { return "iconik:job/" + id }
func shareRef(id string) string              { return "iconik:share/" + id }
func customActionRef(id string) string       { return "iconik:custom_action/" + id }
func objectRef(objectType, id string) string { return "iconik:" + singular(objectType) + "/" + id }

// singular names an iconik object type in a reference ("assets" → "asset").
func singular(objectType string) string {
	switch objectType {
	case "assets":
		return "asset"
	case "collections":
		return "collection"
	case "segments":
		return "segment"
	case "jobs":
		return "job"
	case "proxies":
		return "proxy"
	case "":
		return "object"
	}
	if n := len(objectType); n > 1 && objectType[n-1] == 's' {
		return objectType[:n-1]
	}
	return objectType
}

// Content hashes. iconik objects have no version that changes with every
// edit (an asset's versions are media versions), so writes and events leave
// Version empty and patchbay recognises its own writes coming back by hash
// alone: a write and the webhook iconik sends for it must hash the same, so both sides hash one projection of the object, built from the
// object as iconik returns it (not from patchbay's input): the write side
// from the API's answer (or a read after the write), the event side from
// the webhook's data. Timestamps and the acting user are left out.

// contentHash is SHA-256 of the canonical JSON of v (map keys sorted).
func contentHash(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// canonValue renders one metadata value the way iconik compares them: whole
// numbers without a fraction, strings as they are.
func canonValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func canonList(vals []any) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		if v != nil {
			out = append(out, canonValue(v))
		}
	}
	return out
}

// sameValues reports whether two value lists are equal as iconik sees them.
func sameValues(a, b []any) bool {
	ca, cb := canonList(a), canonList(b)
	if len(ca) != len(cb) {
		return false
	}
	for i := range ca {
		if ca[i] != cb[i] {
			return false
		}
	}
	return true
}

// metadataHash hashes the changed fields of a metadata write (a cleared
// field is an empty list), as iconik's metadata event carries them.
func metadataHash(ref string, values map[string][]any) string {
	norm := make(map[string][]string, len(values))
	for k, v := range values {
		norm[k] = canonList(v)
	}
	return contentHash(map[string]any{"kind": "metadata", "object": ref, "values": norm})
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// assetHash hashes the editable fields of an asset after op (create,
// update, delete, restore, purge).
func assetHash(op string, a *iconikapi.Asset) string {
	return contentHash(map[string]any{"kind": "asset", "op": op, "id": a.ID, "title": a.Title, "type": a.Type,
		"status": a.Status, "external_id": deref(a.ExternalID), "external_link": deref(a.ExternalLink),
		"category": deref(a.Category), "site_name": deref(a.SiteName), "warning": deref(a.Warning),
		"is_blocked": a.IsBlocked})
}

// approvalHash hashes an approval's overall status on a version.
func approvalHash(ref, versionID, status string) string {
	return contentHash(map[string]any{"kind": "approval", "object": ref, "version_id": versionID, "status": status})
}

// contentsHash hashes an object entering (create) or leaving (delete) a collection.
func contentsHash(op, collectionID, ref string) string {
	return contentHash(map[string]any{"kind": "contents", "op": op, "collection_id": collectionID, "object": ref})
}

func collectionHash(op string, col *iconikapi.Collection) string {
	return contentHash(map[string]any{"kind": "collection", "op": op, "id": col.ID, "title": col.Title,
		"parent_id": deref(col.ParentID), "external_id": deref(col.ExternalID), "category": deref(col.Category),
		"status": col.Status})
}

func segmentHash(op string, s *iconikapi.Segment) string {
	var start, end any
	if s.TimeStartMS != nil {
		start = *s.TimeStartMS
	}
	if s.TimeEndMS != nil {
		end = *s.TimeEndMS
	}
	return contentHash(map[string]any{"kind": "segment", "op": op, "id": s.ID, "asset_id": s.AssetID,
		"version_id": s.VersionID, "segment_type": s.SegmentType, "text": deref(s.SegmentText),
		"start": start, "end": end, "parent_id": s.ParentID})
}

func shareHash(op string, sh *iconikapi.Share) string {
	return contentHash(map[string]any{"kind": "share", "op": op, "id": sh.ID, "object": objectRef(sh.ObjectType, sh.ObjectID),
		"title": deref(sh.Title), "expires": sh.Expires})
}

func jobHash(op string, j *iconikapi.Job) string {
	return contentHash(map[string]any{"kind": "job", "op": op, "id": j.ID, "title": j.Title, "status": j.Status,
		"message": j.Message, "error_message": j.ErrorMessage, "progress_processed": j.ProgressProcessed,
		"progress_total": j.ProgressTotal})
}

// flatten turns value lists into the form flows read most easily: no value
// is nil, one value is that value, several are a list.
func flatten(values map[string][]any) map[string]any {
	out := make(map[string]any, len(values))
	for k, vals := range values {
		switch len(vals) {
		case 0:
			out[k] = nil
		case 1:
			out[k] = vals[0]
		default:
			out[k] = append([]any(nil), vals...)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
