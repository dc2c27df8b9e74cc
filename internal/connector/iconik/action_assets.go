package iconik

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// assetOutputFields describe the asset summary several actions return.
var assetOutputFields = []connector.Field{
	{Name: "id", Type: str},
	{Name: "title", Type: str},
	{Name: "type", Type: str, Doc: "ASSET, PLACEHOLDER, SUBCLIP…"},
	{Name: "status", Type: str, Doc: "ACTIVE or DELETED."},
	{Name: "external_id", Type: str},
	{Name: "external_link", Type: str},
	{Name: "category", Type: str, Doc: "iconik category label."},
	{Name: "is_blocked", Type: connector.Bool},
	{Name: "is_online", Type: connector.Bool},
	{Name: "archive_status", Type: str},
	{Name: "version_id", Type: str, Doc: "The current version."},
	{Name: "version_number", Type: connector.Int},
	{Name: "date_created", Type: str},
	{Name: "date_modified", Type: str},
	{Name: "object", Type: str, Doc: "Reference iconik:asset/<id>."},
}

func assetSummary(a *iconikapi.Asset) map[string]any {
	out := map[string]any{
		"id": a.ID, "title": a.Title, "type": a.Type, "status": a.Status,
		"external_id": nilIfEmpty(deref(a.ExternalID)), "external_link": nilIfEmpty(deref(a.ExternalLink)),
		"category": nilIfEmpty(deref(a.Category)), "is_blocked": a.IsBlocked, "is_online": a.IsOnline,
		"archive_status": a.ArchiveStatus, "date_created": a.DateCreated, "date_modified": a.DateModified,
		"object": assetRef(a.ID),
	}
	if v := a.CurrentVersion(); v != nil {
		out["version_id"], out["version_number"] = v.ID, v.VersionNumber
	}
	return out
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// ---- get_asset ----

var actGetAsset = action{
	spec: connector.ActionSpec{
		Name: "get_asset", Title: "Get an asset", Idempotent: true,
		Doc: "Reads an asset and, as include asks, its metadata (through view or the connection's metadata_view), " +
			"versions, proxies and keyframes (with signed URLs of the current or the given version) and the collections holding it.",
		Input: []connector.Field{
			{Name: "asset_id", Type: str, Required: true, Doc: "The asset's id."},
			{Name: "include", Type: connector.List, Items: &connector.Field{Type: str, Enum: []any{"metadata", "versions", "proxies", "keyframes", "collections"}},
				Doc: "What to read besides the asset: metadata, versions, proxies, keyframes, collections."},
			{Name: "view", Type: str, Doc: "Metadata view (name or id) for include metadata; default the connection's metadata_view."},
			{Name: "version_id", Type: str, Doc: "Read metadata, proxies and keyframes of this version instead of the current one."},
		},
		Output: append(append([]connector.Field{}, assetOutputFields...),
			connector.Field{Name: "metadata", Type: connector.Object, Open: true, Doc: "Field → value (nil when empty, a list when several)."},
			connector.Field{Name: "metadata_values", Type: connector.Object, Open: true, Doc: "Field → list of values."},
			connector.Field{Name: "versions", Type: connector.List, Doc: "{id, version_number, status, date_created} per version."},
			connector.Field{Name: "proxies", Type: connector.List, Doc: "{id, name, format, codec, width, height, url} per proxy."},
			connector.Field{Name: "keyframes", Type: connector.List, Doc: "{id, type, width, height, url} per keyframe (KEYFRAME, POSTER)."},
			connector.Field{Name: "proxy_url", Type: str, Doc: "URL of the first proxy (signed, temporary)."},
			connector.Field{Name: "keyframe_url", Type: str, Doc: "URL of the first KEYFRAME keyframe."},
			connector.Field{Name: "poster_url", Type: str, Doc: "URL of the POSTER keyframe."},
			connector.Field{Name: "collections", Type: connector.List, Doc: "Ids of the collections holding the asset."},
		),
		Examples: []connector.Example{{
			Title: "Asset with metadata and preview URLs",
			Input: map[string]any{"asset_id": "${{ event.object_id }}", "include": []any{"metadata", "proxies", "keyframes"}},
			Output: map[string]any{"id": "9f0c…", "title": "Spring Launch Trailer 001", "version_id": "1b2c…",
				"metadata":  map[string]any{"rights_status": "Cleared", "talent": []any{"Ava Stone", "Mia Chen"}},
				"proxy_url": "https://…/proxy.mp4?Expires=…&Signature=…"},
		}},
	},
	run: (*Conn).getAsset,
}

func (c *Conn) getAsset(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	id := inStr(in, "asset_id")
	include := stringList(in["include"])
	a, err := c.api.GetAsset(ctx, id, has(include, "collections"))
	if err != nil {
		return nil, err
	}
	out := assetSummary(a)
	vid := inStr(in, "version_id")
	if vid != "" && !hasVersion(a, vid) {
		return nil, fault.Errorf(fault.NotFound, "asset %s has no version %s", id, vid)
	}
	if has(include, "metadata") {
		view, err := c.resolveView(ctx, inStr(in, "view"))
		if err != nil {
			return nil, err
		}
		vals, err := c.readValues(ctx, "assets", id, vid, view.ID, true)
		if err != nil {
			return nil, err
		}
		out["metadata"], out["metadata_values"] = flatten(vals), listsOut(vals)
	}
	if has(include, "versions") {
		vs := make([]any, 0, len(a.Versions))
		for _, v := range a.Versions {
			vs = append(vs, map[string]any{"id": v.ID, "version_number": v.VersionNumber, "status": v.Status, "date_created": v.DateCreated})
		}
		out["versions"] = vs
	}
	if has(include, "proxies") {
		ps, err := c.api.Proxies(ctx, id, vid)
		if err != nil {
			return nil, err
		}
		addProxies(out, ps)
	}
	if has(include, "keyframes") {
		ks, err := c.api.Keyframes(ctx, id, vid)
		if err != nil {
			return nil, err
		}
		addKeyframes(out, ks)
	}
	if has(include, "collections") {
		out["collections"] = stringsAny(a.InCollections)
	}
	return &connector.Result{Output: out}, nil
}

func hasVersion(a *iconikapi.Asset, vid string) bool {
	for _, v := range a.Versions {
		if v.ID == vid {
			return true
		}
	}
	return false
}

func addProxies(out map[string]any, ps []iconikapi.Proxy) {
	list := make([]any, 0, len(ps))
	for _, p := range ps {
		list = append(list, map[string]any{"id": p.ID, "name": p.Name, "format": p.Format, "codec": p.Codec,
			"width": p.Resolution.Width, "height": p.Resolution.Height, "status": p.Status, "url": nilIfEmpty(p.URL)})
		if out["proxy_url"] == nil && p.URL != "" {
			out["proxy_url"] = p.URL
		}
	}
	out["proxies"] = list
}

func addKeyframes(out map[string]any, ks []iconikapi.Keyframe) {
	list := make([]any, 0, len(ks))
	for _, k := range ks {
		list = append(list, map[string]any{"id": k.ID, "type": k.Type, "name": k.Name,
			"width": k.Resolution.Width, "height": k.Resolution.Height, "url": nilIfEmpty(k.URL)})
		if k.URL == "" {
			continue
		}
		switch {
		case k.Type == "POSTER" && out["poster_url"] == nil:
			out["poster_url"] = k.URL
		case k.Type != "POSTER" && out["keyframe_url"] == nil:
			out["keyframe_url"] = k.URL
		}
	}
	out["keyframes"] = list
}

func stringsAny(l []string) []any {
	out := make([]any, 0, len(l))
	for _, s := range l {
		out = append(out, s)
	}
	return out
}

func listsOut(vals map[string][]any) map[string]any {
	out := make(map[string]any, len(vals))
	for k, v := range vals {
		out[k] = append([]any{}, v...)
	}
	return out
}

// ---- search_assets ----

var actSearchAssets = action{
	spec: connector.ActionSpec{
		Name: "search_assets", Title: "Search assets", Idempotent: true,
		Doc: "Searches assets (or collections) with iconik's query language and filter terms and returns up to limit " +
			"hits, paging with search_after so there is no result window.",
		Input: []connector.Field{
			{Name: "query", Type: str, Doc: "Query string: words, \"phrases\", field:value, metadata.field:value, AND/OR/NOT, wildcards.", Example: "campaign:\"Spring Launch\" AND trailer"},
			{Name: "filter", Type: connector.Object, Open: true,
				Doc: "Field → value (exact, case-insensitive), list (any of), {min, max} (range; dates as ISO 8601) or null (missing). Metadata fields as metadata.<name>."},
			{Name: "doc_type", Type: str, Default: "assets", Enum: []any{"assets", "collections"}, Doc: "What to search."},
			{Name: "sort", Type: connector.List, Items: &connector.Field{Type: str}, Doc: "Sort keys \"field,asc\" or \"field,desc\" (default date_created,desc)."},
			{Name: "limit", Type: connector.Int, Default: 100, Doc: "Most hits returned (at most 10000)."},
			{Name: "view", Type: str, Doc: "Metadata view (name or id) restricting the metadata returned."},
			{Name: "include_deleted", Type: connector.Bool, Default: false, Doc: "Also return soft-deleted assets."},
		},
		Output: []connector.Field{
			{Name: "assets", Type: connector.List, Doc: "Hits: the asset summary plus metadata, proxy_url, keyframe_url, media_type, duration_ms, collections (for doc_type collections: id, title, parent_id, status, external_id)."},
			{Name: "count", Type: connector.Int, Doc: "Hits returned."},
			{Name: "total", Type: connector.Int, Doc: "Hits iconik found."},
			{Name: "pages", Type: connector.Int, Doc: "Pages fetched."},
		},
		Examples: []connector.Example{{
			Title:  "Approved trailers of a campaign",
			Input:  map[string]any{"query": "trailer", "filter": map[string]any{"metadata.campaign": "Spring Launch", "metadata.review_status": []any{"Approved", "Released"}}, "limit": 50},
			Output: map[string]any{"count": 2, "total": 2, "assets": []any{map[string]any{"id": "9f0c…", "title": "Spring Launch Trailer 001"}}},
		}},
	},
	run: (*Conn).searchAssets,
}

// searchRequest builds a search body from the action's query/filter/sort input.
func searchRequest(in map[string]any) (iconikapi.SearchRequest, error) {
	req := iconikapi.SearchRequest{DocTypes: []string{inStr(in, "doc_type")}, Query: inStr(in, "query")}
	if req.DocTypes[0] == "" {
		req.DocTypes[0] = "assets"
	}
	f := &iconikapi.SearchFilter{Operator: "AND"}
	if m, ok := in["filter"].(map[string]any); ok {
		for _, name := range sortedKeys(m) {
			t := iconikapi.SearchTerm{Name: name}
			switch v := m[name].(type) {
			case nil:
				yes := true
				t.Missing = &yes
			case []any:
				for _, e := range v {
					t.ValueIn = append(t.ValueIn, canonValue(e))
				}
			case map[string]any:
				t.Range = &iconikapi.SearchRange{}
				if x, ok := v["min"]; ok && x != nil {
					t.Range.Min = canonValue(x)
				}
				if x, ok := v["max"]; ok && x != nil {
					t.Range.Max = canonValue(x)
				}
			default:
				s := canonValue(v)
				t.Value = &s
			}
			f.Terms = append(f.Terms, t)
		}
	}
	if inBool(in, "include_deleted") {
		f.Terms = append(f.Terms, iconikapi.SearchTerm{Name: "status", ValueIn: []string{"ACTIVE", "DELETED"}})
	}
	if len(f.Terms) > 0 {
		req.Filter = f
	}
	for _, s := range stringList(in["sort"]) {
		name, dir, _ := strings.Cut(s, ",")
		dir = strings.ToLower(strings.TrimSpace(dir))
		if dir == "" {
			dir = "asc"
		}
		if dir != "asc" && dir != "desc" {
			return req, invalid("sort %q: order must be asc or desc", s)
		}
		req.Sort = append(req.Sort, iconikapi.SortKey{Name: strings.TrimSpace(name), Order: dir})
	}
	return req, nil
}

func (c *Conn) searchAssets(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	sr, err := searchRequest(in)
	if err != nil {
		return nil, err
	}
	if v := inStr(in, "view"); v != "" {
		view, err := c.resolveView(ctx, v)
		if err != nil {
			return nil, err
		}
		sr.MetadataViewID = view.ID
	}
	limit, ok := inInt(in, "limit")
	if !ok || limit <= 0 {
		limit = 100
	}
	if limit > 10000 {
		return nil, invalid("limit %d: at most 10000", limit)
	}
	perPage := int(min(limit, 100))
	hits := make([]any, 0, min(limit, 1000))
	var decodeErr error
	total, pages, err := c.api.SearchEach(ctx, sr, perPage, func(raw json.RawMessage) bool {
		var a iconikapi.Asset
		if err := json.Unmarshal(raw, &a); err != nil {
			decodeErr = fault.E(fault.Permanent, "decoding a search hit", err)
			return false
		}
		hits = append(hits, hitOutput(&a))
		return int64(len(hits)) < limit
	})
	if err != nil {
		return nil, err
	}
	if decodeErr != nil {
		return nil, decodeErr
	}
	return &connector.Result{Output: map[string]any{"assets": hits, "count": len(hits), "total": total, "pages": pages}}, nil
}

// hitOutput renders a search document (asset or collection).
func hitOutput(a *iconikapi.Asset) map[string]any {
	if a.ObjectType == "collections" {
		return map[string]any{"id": a.ID, "title": a.Title, "object_type": "collections", "parent_id": nilIfEmpty(deref(a.ParentID)),
			"status": a.Status, "external_id": nilIfEmpty(deref(a.ExternalID)), "object": collectionRef(a.ID),
			"metadata": flatten(a.Metadata)}
	}
	out := assetSummary(a)
	out["object_type"] = "assets"
	out["metadata"] = flatten(a.Metadata)
	out["collections"] = stringsAny(a.InCollections)
	if a.MediaType != nil {
		out["media_type"] = *a.MediaType
	}
	if a.DurationMS != nil {
		out["duration_ms"] = *a.DurationMS
	}
	for _, p := range a.Proxies {
		if p.URL != "" {
			out["proxy_url"] = p.URL
			break
		}
	}
	for _, k := range a.Keyframes {
		if k.URL != "" && k.Type != "POSTER" {
			out["keyframe_url"] = k.URL
			break
		}
	}
	return out
}

// ---- create_asset ----

var actCreateAsset = action{
	spec: connector.ActionSpec{
		Name: "create_asset", Title: "Create an asset or placeholder", Writes: true,
		Doc: "Creates an asset (type PLACEHOLDER for a placeholder awaiting media), optionally in a collection and with " +
			"metadata. Find-or-create: when the step's link already names an iconik asset, or an asset with the given " +
			"external_id exists, that asset is returned (and the metadata merged into it) instead of a new one. " +
			"Without a link or external_id a re-executed step can create a second asset.",
		Input: []connector.Field{
			{Name: "title", Type: str, Required: true, Doc: "The asset's title."},
			{Name: "type", Type: str, Default: "ASSET", Enum: []any{"ASSET", "PLACEHOLDER", "CUSTOM", "LINK", "SEQUENCE", "NLE_PROJECT"}, Doc: "ASSET (media to come by upload), PLACEHOLDER…"},
			{Name: "external_id", Type: str, Doc: "A stable id from the other system (a CMS entry uid); makes the action find-or-create."},
			{Name: "external_link", Type: str, Doc: "A URL shown with the asset."},
			{Name: "category", Type: str, Doc: "iconik category label."},
			{Name: "collection_id", Type: str, Doc: "Collection to add the new asset to."},
			{Name: "metadata", Type: connector.Object, Open: true, Doc: "Field → value or list, written through view."},
			{Name: "view", Type: str, Doc: "Metadata view (name or id) for metadata; default the connection's metadata_view."},
		},
		Output: append(append([]connector.Field{}, assetOutputFields...),
			connector.Field{Name: "created", Type: connector.Bool, Doc: "False when an existing asset was found."}),
		Examples: []connector.Example{{
			Title: "Placeholder for a CMS entry",
			Input: map[string]any{"title": "Summer promo (placeholder)", "type": "PLACEHOLDER", "external_id": "blt0123456789abcdef",
				"metadata": map[string]any{"campaign": "Summer"}},
			Output: map[string]any{"id": "3e4f…", "title": "Summer promo (placeholder)", "created": true},
		}},
	},
	run: (*Conn).createAsset,
}

func (c *Conn) createAsset(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	existing, err := c.findAsset(ctx, req.Link, inStr(in, "external_id"))
	if err != nil {
		return nil, err
	}
	res := &connector.Result{}
	a := existing
	if a == nil {
		body := map[string]any{"title": inStr(in, "title"), "type": inStr(in, "type")}
		for _, k := range []string{"external_id", "external_link", "category"} {
			if v := inStr(in, k); v != "" {
				body[k] = v
			}
		}
		colID := inStr(in, "collection_id")
		if colID != "" {
			body["collection_id"] = colID
		}
		if a, err = c.api.CreateAsset(ctx, body, colID != ""); err != nil {
			return nil, err
		}
		res.Writes = append(res.Writes, connector.Write{Object: assetRef(a.ID), Op: "create",
			Hash: assetHash("create", a), Summary: map[string]any{"title": a.Title, "type": a.Type}})
		if colID != "" {
			res.Writes = append(res.Writes, connector.Write{Object: assetRef(a.ID), Op: "add_to_collection",
				Hash: contentsHash("create", colID, assetRef(a.ID)), Summary: map[string]any{"collection_id": colID}})
		}
	} else if colID := inStr(in, "collection_id"); colID != "" {
		w, _, err := c.addOne(ctx, colID, "assets", a.ID)
		if err != nil {
			return nil, err
		}
		if w != nil {
			res.Writes = append(res.Writes, *w)
		}
	}
	if m, ok := in["metadata"].(map[string]any); ok && len(m) > 0 {
		mw, err := c.writeMetadata(ctx, "assets", a.ID, inStr(in, "view"), m, "merge")
		if err != nil {
			return nil, fmt.Errorf("asset %s created, writing its metadata: %w", a.ID, err)
		}
		if mw.write != nil {
			res.Writes = append(res.Writes, *mw.write)
		}
	}
	out := assetSummary(a)
	out["created"] = existing == nil
	res.Output = out
	return res, nil
}

// findAsset returns the asset the link names, or the one with externalID,
// or nil when there is none (deleted ones do not count).
func (c *Conn) findAsset(ctx context.Context, link *connector.Link, externalID string) (*iconikapi.Asset, error) {
	if side, ok := link.Side("iconik:asset/"); ok {
		id := strings.TrimPrefix(side.Object, "iconik:asset/")
		if i := strings.IndexByte(id, '/'); i >= 0 {
			id = id[:i]
		}
		a, err := c.api.GetAsset(ctx, id, false)
		switch {
		case err == nil && a.Status != "DELETED":
			return a, nil
		case err != nil && !fault.Is(err, fault.NotFound):
			return nil, err
		}
	}
	if externalID == "" {
		return nil, nil
	}
	sr := iconikapi.SearchRequest{DocTypes: []string{"assets"}, Filter: &iconikapi.SearchFilter{Operator: "AND",
		Terms: []iconikapi.SearchTerm{{Name: "external_id", Value: &externalID}}}}
	var found *iconikapi.Asset
	_, _, err := c.api.SearchEach(ctx, sr, 10, func(raw json.RawMessage) bool {
		var a iconikapi.Asset
		if json.Unmarshal(raw, &a) == nil && deref(a.ExternalID) == externalID {
			found = &a
			return false
		}
		return true
	})
	if err != nil || found == nil {
		return nil, err
	}
	// Search documents carry more than the asset; read the asset itself.
	return c.api.GetAsset(ctx, found.ID, false)
}

// ---- update_asset ----

var updatableAssetFields = []string{"title", "external_id", "external_link", "category", "site_name", "warning"}

var actUpdateAsset = action{
	spec: connector.ActionSpec{
		Name: "update_asset", Title: "Update asset fields", Writes: true, Idempotent: true,
		Doc: "Changes an asset's own fields (not metadata). Only fields that differ are sent; when none do, nothing is written.",
		Input: []connector.Field{
			{Name: "asset_id", Type: str, Required: true, Doc: "The asset's id."},
			{Name: "title", Type: str, Doc: "New title."},
			{Name: "external_id", Type: str, Doc: "New external id (\"\" clears it)."},
			{Name: "external_link", Type: str, Doc: "New external link."},
			{Name: "category", Type: str, Doc: "New category."},
			{Name: "site_name", Type: str, Doc: "New site name."},
			{Name: "warning", Type: str, Doc: "Warning text shown with the asset."},
		},
		Output: append(append([]connector.Field{}, assetOutputFields...),
			connector.Field{Name: "changed", Type: connector.List, Doc: "Names of the fields that changed."}),
		Examples: []connector.Example{{
			Title: "Store the CMS entry id", Input: map[string]any{"asset_id": "9f0c…", "external_id": "blt0123456789abcdef"},
			Output: map[string]any{"id": "9f0c…", "external_id": "blt0123456789abcdef", "changed": []any{"external_id"}},
		}},
	},
	run: (*Conn).updateAsset,
}

func (c *Conn) updateAsset(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	id := inStr(in, "asset_id")
	a, err := c.api.GetAsset(ctx, id, false)
	if err != nil {
		return nil, err
	}
	cur := map[string]string{"title": a.Title, "external_id": deref(a.ExternalID), "external_link": deref(a.ExternalLink),
		"category": deref(a.Category), "site_name": deref(a.SiteName), "warning": deref(a.Warning)}
	patch := map[string]any{}
	var changed []any
	for _, k := range updatableAssetFields {
		v, ok := in[k].(string)
		if !ok || v == cur[k] {
			continue
		}
		if k == "title" && v == "" {
			return nil, invalid("title cannot be empty")
		}
		if v == "" {
			patch[k] = nil
		} else {
			patch[k] = v
		}
		changed = append(changed, k)
	}
	res := &connector.Result{}
	if len(patch) > 0 {
		if a, err = c.api.UpdateAsset(ctx, id, patch); err != nil {
			return nil, err
		}
		res.Writes = append(res.Writes, connector.Write{Object: assetRef(id), Op: "update",
			Hash: assetHash("update", a), Summary: map[string]any{"fields": changed}})
	}
	out := assetSummary(a)
	if changed == nil {
		changed = []any{}
	}
	out["changed"] = changed
	res.Output = out
	return res, nil
}

// ---- block_asset ----

var actBlockAsset = action{
	spec: connector.ActionSpec{
		Name: "block_asset", Title: "Block or unblock an asset", Writes: true, Idempotent: true,
		Doc: "Blocks an asset (iconik then refuses downloads and shares of it) or, with blocked false, unblocks it. Nothing is written when it already is as asked.",
		Input: []connector.Field{
			{Name: "asset_id", Type: str, Required: true, Doc: "The asset's id."},
			{Name: "blocked", Type: connector.Bool, Default: true, Doc: "true blocks, false unblocks."},
		},
		Output: append(append([]connector.Field{}, assetOutputFields...),
			connector.Field{Name: "changed", Type: connector.Bool}),
		Examples: []connector.Example{{Title: "Urgent takedown", Input: map[string]any{"asset_id": "9f0c…", "blocked": true},
			Output: map[string]any{"id": "9f0c…", "is_blocked": true, "changed": true}}},
	},
	run: (*Conn).blockAsset,
}

func (c *Conn) blockAsset(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	id := inStr(req.Input, "asset_id")
	blocked := true
	if b, ok := req.Input["blocked"].(bool); ok {
		blocked = b
	}
	a, err := c.api.GetAsset(ctx, id, false)
	if err != nil {
		return nil, err
	}
	res := &connector.Result{}
	changed := a.IsBlocked != blocked
	if changed {
		if a, err = c.api.UpdateAsset(ctx, id, map[string]any{"is_blocked": blocked}); err != nil {
			return nil, err
		}
		op := "block"
		if !blocked {
			op = "unblock"
		}
		res.Writes = append(res.Writes, connector.Write{Object: assetRef(id), Op: op,
			Hash: assetHash("update", a), Summary: map[string]any{"is_blocked": blocked}})
	}
	out := assetSummary(a)
	out["changed"] = changed
	res.Output = out
	return res, nil
}
