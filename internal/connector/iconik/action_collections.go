package iconik

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
	"github.com/patchbay/patchbay/internal/fault"
)

var collectionOutput = []connector.Field{
	{Name: "id", Type: str},
	{Name: "title", Type: str},
	{Name: "parent_id", Type: str},
	{Name: "external_id", Type: str},
	{Name: "status", Type: str},
	{Name: "created", Type: connector.Bool, Doc: "False when an existing collection was found."},
	{Name: "object", Type: str, Doc: "iconik:collection/<id>."},
}

func collectionOut(col *iconikapi.Collection, created bool) map[string]any {
	return map[string]any{"id": col.ID, "title": col.Title, "parent_id": nilIfEmpty(deref(col.ParentID)),
		"external_id": nilIfEmpty(deref(col.ExternalID)), "status": col.Status, "created": created, "object": collectionRef(col.ID)}
}

func (c *Conn) newCollection(ctx context.Context, title, parentID, externalID, category string) (*iconikapi.Collection, connector.Write, error) {
	body := map[string]any{"title": title}
	if parentID != "" {
		body["parent_id"] = parentID
	}
	if externalID != "" {
		body["external_id"] = externalID
	}
	if category != "" {
		body["category"] = category
	}
	col, err := c.api.CreateCollection(ctx, body)
	if err != nil {
		return nil, connector.Write{}, err
	}
	return col, connector.Write{Object: collectionRef(col.ID), Op: "create", Hash: collectionHash("create", col),
		Summary: map[string]any{"title": col.Title, "parent_id": nilIfEmpty(parentID)}}, nil
}

// ---- create_collection ----

var actCreateCollection = action{
	spec: connector.ActionSpec{
		Name: "create_collection", Title: "Create a collection", Writes: true,
		Doc: "Creates a collection, under parent_id when given. Find-or-create: when the step's link already names an " +
			"iconik collection, or a collection with the given external_id exists, that one is returned. Without a " +
			"link or external_id a re-executed step can create a second one; find_or_create_collection finds by title.",
		Input: []connector.Field{
			{Name: "title", Type: str, Required: true, Doc: "The collection's title."},
			{Name: "parent_id", Type: str, Doc: "Parent collection (nests it)."},
			{Name: "external_id", Type: str, Doc: "A stable id from the other system; makes the action find-or-create."},
			{Name: "category", Type: str, Doc: "iconik category label."},
		},
		Output: collectionOutput,
		Examples: []connector.Example{{
			Title:  "Collection for a new campaign entry",
			Input:  map[string]any{"title": "${{ trigger.data.entry.title }}", "parent_id": "c4mp…", "external_id": "${{ trigger.data.entry.uid }}"},
			Output: map[string]any{"id": "c0ll…", "title": "Autumn Launch", "created": true},
		}},
	},
	run: (*Conn).createCollection,
}

func (c *Conn) createCollection(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	title, parent, ext := inStr(in, "title"), inStr(in, "parent_id"), inStr(in, "external_id")
	if side, ok := req.Link.Side("iconik:collection/"); ok {
		col, err := c.api.GetCollection(ctx, strings.TrimPrefix(side.Object, "iconik:collection/"))
		switch {
		case err == nil && col.Status != "DELETED":
			return &connector.Result{Output: collectionOut(col, false)}, nil
		case err != nil && !fault.Is(err, fault.NotFound):
			return nil, err
		}
	}
	if ext != "" {
		col, err := c.collectionByExternalID(ctx, ext)
		if err != nil {
			return nil, err
		}
		if col != nil {
			return &connector.Result{Output: collectionOut(col, false)}, nil
		}
	}
	col, w, err := c.newCollection(ctx, title, parent, ext, inStr(in, "category"))
	if err != nil {
		return nil, err
	}
	return &connector.Result{Output: collectionOut(col, true), Writes: []connector.Write{w}}, nil
}

func (c *Conn) collectionByExternalID(ctx context.Context, ext string) (*iconikapi.Collection, error) {
	sr := iconikapi.SearchRequest{DocTypes: []string{"collections"}, Filter: &iconikapi.SearchFilter{Operator: "AND",
		Terms: []iconikapi.SearchTerm{{Name: "external_id", Value: &ext}}}}
	var id string
	_, _, err := c.api.SearchEach(ctx, sr, 10, func(raw json.RawMessage) bool {
		var col iconikapi.Collection
		if json.Unmarshal(raw, &col) == nil && deref(col.ExternalID) == ext && col.Status != "DELETED" {
			id = col.ID
			return false
		}
		return true
	})
	if err != nil || id == "" {
		return nil, err
	}
	return c.api.GetCollection(ctx, id)
}

// ---- find_or_create_collection ----

var actFindOrCreateCollection = action{
	spec: connector.ActionSpec{
		Name: "find_or_create_collection", Title: "Find or create a collection by name", Writes: true, Idempotent: true,
		Doc: "Returns the collection with this title under parent_id (a root collection without one), creating it " +
			"when there is none. path creates the whole chain (\"Campaigns/Autumn Launch\"). Titles match exactly. " +
			"Idempotent: a re-executed step finds what the first run created.",
		Input: []connector.Field{
			{Name: "title", Type: str, Doc: "The collection's title (or use path)."},
			{Name: "path", Type: str, Doc: "Titles separated by /, each nested in the one before.", Example: "Campaigns/Autumn Launch"},
			{Name: "parent_id", Type: str, Doc: "Where title (or the first element of path) lives; default the root."},
			{Name: "external_id", Type: str, Doc: "Set on a collection this action creates (the last one of a path)."},
		},
		Output: append(append([]connector.Field{}, collectionOutput...),
			connector.Field{Name: "ids", Type: connector.List, Doc: "Ids along the path, outermost first."}),
		Examples: []connector.Example{{
			Title:  "The Approved collection",
			Input:  map[string]any{"title": "Approved"},
			Output: map[string]any{"id": "4ppr…", "title": "Approved", "created": false, "ids": []any{"4ppr…"}},
		}},
	},
	run: (*Conn).findOrCreateCollection,
}

func (c *Conn) findOrCreateCollection(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	var titles []string
	if p := inStr(in, "path"); p != "" {
		for _, t := range strings.Split(p, "/") {
			if t = strings.TrimSpace(t); t != "" {
				titles = append(titles, t)
			}
		}
	}
	if t := inStr(in, "title"); t != "" {
		if len(titles) > 0 {
			return nil, invalid("give title or path, not both")
		}
		titles = []string{t}
	}
	if len(titles) == 0 {
		return nil, invalid("title or path is required")
	}
	parent := inStr(in, "parent_id")
	res := &connector.Result{}
	ids := []any{}
	var col *iconikapi.Collection
	created := false
	for i, title := range titles {
		found, err := c.childCollection(ctx, parent, title)
		if err != nil {
			return nil, err
		}
		created = found == nil
		if found == nil {
			ext := ""
			if i == len(titles)-1 {
				ext = inStr(in, "external_id")
			}
			var w connector.Write
			if found, w, err = c.newCollection(ctx, title, parent, ext, ""); err != nil {
				return nil, err
			}
			res.Writes = append(res.Writes, w)
		}
		col = found
		ids = append(ids, col.ID)
		parent = col.ID
	}
	out := collectionOut(col, created)
	out["ids"] = ids
	res.Output = out
	return res, nil
}

// childCollection finds the collection titled title directly under parentID
// ("" = the roots). It lists rather than searches: the search index may lag.
func (c *Conn) childCollection(ctx context.Context, parentID, title string) (*iconikapi.Collection, error) {
	var found *iconikapi.Collection
	if parentID == "" {
		err := c.api.EachRootCollection(ctx, func(col iconikapi.Collection) bool {
			if col.Title == title && col.Status != "DELETED" {
				found = &col
				return false
			}
			return true
		})
		return found, err
	}
	var id string
	err := c.api.EachContent(ctx, parentID, "collections", "", func(it iconikapi.ContentItem) bool {
		if it.Title == title && it.Status != "DELETED" && (it.ObjectType == "" || it.ObjectType == "collections") {
			id = it.ID
			return false
		}
		return true
	})
	if err != nil || id == "" {
		return nil, err
	}
	return c.api.GetCollection(ctx, id)
}

// ---- add_to_collection / remove_from_collection ----

var membershipInput = []connector.Field{
	{Name: "collection_id", Type: str, Required: true, Doc: "The collection."},
	{Name: "object_id", Type: str, Doc: "The asset (or collection) to add or remove."},
	{Name: "object_ids", Type: connector.List, Items: &connector.Field{Type: str}, Doc: "Several of them."},
	{Name: "object_type", Type: str, Default: "assets", Enum: []any{"assets", "collections"}, Doc: "What the ids are."},
}

var actAddToCollection = action{
	spec: connector.ActionSpec{
		Name: "add_to_collection", Title: "Add to a collection", Writes: true, Idempotent: true,
		Doc: "Adds assets (or collections, which nests them) to a collection. Members already in it are left alone " +
			"and reported in already, so a re-executed step adds nothing twice.",
		Input: membershipInput,
		Output: []connector.Field{
			{Name: "collection_id", Type: str},
			{Name: "added", Type: connector.List, Doc: "Ids added by this call."},
			{Name: "already", Type: connector.List, Doc: "Ids that were members already."},
		},
		Examples: []connector.Example{{
			Title:  "File an approved asset",
			Input:  map[string]any{"collection_id": "${{ steps.approved.output.id }}", "object_id": "${{ event.object_id }}"},
			Output: map[string]any{"collection_id": "4ppr…", "added": []any{"9f0c…"}, "already": []any{}},
		}},
	},
	run: (*Conn).addToCollection,
}

var actRemoveFromCollection = action{
	spec: connector.ActionSpec{
		Name: "remove_from_collection", Title: "Remove from a collection", Writes: true, Idempotent: true,
		Doc:   "Removes assets (or collections) from a collection. Objects that are not members are reported in absent.",
		Input: membershipInput,
		Output: []connector.Field{
			{Name: "collection_id", Type: str},
			{Name: "removed", Type: connector.List, Doc: "Ids removed by this call."},
			{Name: "absent", Type: connector.List, Doc: "Ids that were not members."},
		},
		Examples: []connector.Example{{Input: map[string]any{"collection_id": "4ppr…", "object_id": "9f0c…"},
			Output: map[string]any{"collection_id": "4ppr…", "removed": []any{"9f0c…"}, "absent": []any{}}}},
	},
	run: (*Conn).removeFromCollection,
}

func memberIDs(in map[string]any) ([]string, error) {
	var ids []string
	if id := inStr(in, "object_id"); id != "" {
		ids = append(ids, id)
	}
	for _, id := range stringList(in["object_ids"]) {
		if !has(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, invalid("object_id or object_ids is required")
	}
	return ids, nil
}

// members returns which of ids are in the collection.
func (c *Conn) members(ctx context.Context, collectionID, objectType string, ids []string) (map[string]bool, error) {
	in := map[string]bool{}
	for start := 0; start < len(ids); start += 50 {
		chunk := ids[start:min(start+50, len(ids))]
		err := c.api.EachContent(ctx, collectionID, objectType, strings.Join(chunk, ","), func(it iconikapi.ContentItem) bool {
			in[it.ID] = true
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	return in, nil
}

// addOne adds one object unless it is a member; the write is nil when it was.
func (c *Conn) addOne(ctx context.Context, collectionID, objectType, id string) (*connector.Write, bool, error) {
	in, err := c.members(ctx, collectionID, objectType, []string{id})
	if err != nil {
		return nil, false, err
	}
	if in[id] {
		return nil, false, nil
	}
	if err := c.api.AddContent(ctx, collectionID, objectType, id); err != nil {
		return nil, false, err
	}
	ref := objectRef(objectType, id)
	return &connector.Write{Object: ref, Op: "add_to_collection", Hash: contentsHash("create", collectionID, ref),
		Summary: map[string]any{"collection_id": collectionID}}, true, nil
}

func (c *Conn) addToCollection(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	cid, ot := inStr(in, "collection_id"), inStr(in, "object_type")
	ids, err := memberIDs(in)
	if err != nil {
		return nil, err
	}
	already, err := c.members(ctx, cid, ot, ids)
	if err != nil {
		return nil, err
	}
	res := &connector.Result{}
	added, was := []any{}, []any{}
	for _, id := range ids {
		if already[id] {
			was = append(was, id)
			continue
		}
		if err := c.api.AddContent(ctx, cid, ot, id); err != nil {
			return nil, err
		}
		ref := objectRef(ot, id)
		added = append(added, id)
		res.Writes = append(res.Writes, connector.Write{Object: ref, Op: "add_to_collection",
			Hash: contentsHash("create", cid, ref), Summary: map[string]any{"collection_id": cid}})
	}
	res.Output = map[string]any{"collection_id": cid, "added": added, "already": was}
	return res, nil
}

func (c *Conn) removeFromCollection(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	cid, ot := inStr(in, "collection_id"), inStr(in, "object_type")
	ids, err := memberIDs(in)
	if err != nil {
		return nil, err
	}
	res := &connector.Result{}
	removed, absent := []any{}, []any{}
	for _, id := range ids {
		if err := c.api.RemoveContent(ctx, cid, ot, id); err != nil {
			if fault.Is(err, fault.NotFound) {
				if _, cerr := c.api.GetCollection(ctx, cid); cerr != nil {
					return nil, cerr
				}
				absent = append(absent, id)
				continue
			}
			return nil, err
		}
		ref := objectRef(ot, id)
		removed = append(removed, id)
		res.Writes = append(res.Writes, connector.Write{Object: ref, Op: "remove_from_collection",
			Hash: contentsHash("delete", cid, ref), Summary: map[string]any{"collection_id": cid}})
	}
	res.Output = map[string]any{"collection_id": cid, "removed": removed, "absent": absent}
	return res, nil
}
