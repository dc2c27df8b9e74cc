package iconik

import (
	"net/http"
	"slices"
	"strings"
)

var collectionStatuses = set("ACTIVE", "HIDDEN", "DELETED")

func (c *call) collection(id string) (*Collection, int, any, bool) {
	col := c.s.st.Collections[id]
	if col == nil {
		st, b := c.fail(http.StatusNotFound, "Collection does not exist")
		return nil, st, b, false
	}
	return col, 0, nil, true
}

func collectionView(col *Collection) Collection {
	out := *col
	out.Parents = append([]string{}, col.Parents...)
	out.InCollections = append([]string{}, col.InCollections...)
	return out
}

// insertCollection creates a collection under parent (nil for a root).
func (s *Server) insertCollection(title string, parent *Collection, user string) *Collection {
	now := s.stamp()
	col := &Collection{ID: s.newID(), Title: title, Status: "ACTIVE", CustomOrderStatus: "DISABLED",
		ObjectType: "collections", CreatedByUser: user, DateCreated: now, DateModified: now,
		Parents: []string{}, InCollections: []string{}, IsRoot: parent == nil}
	if parent != nil {
		col.ParentID = strPtr(parent.ID)
		col.Parents = append(append([]string{}, parent.Parents...), parent.ID)
		col.InCollections = []string{parent.ID}
	}
	s.st.Collections[col.ID] = col
	if parent != nil {
		s.st.Contents[parent.ID] = append(s.st.Contents[parent.ID], ContentRef{ObjectType: "collections", ObjectID: col.ID, DateCreated: now})
		s.st.indexContent(parent.ID, col.ID, true)
	}
	return col
}

func (c *call) createCollection() (int, any) {
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	var title, parentID string
	if !p.has("title") {
		fe.add("title", "Missing data for required field.")
	}
	p.str("title", &title, fe)
	p.uuid("parent_id", &parentID, fe)
	var parent *Collection
	if parentID != "" {
		parent = c.s.st.Collections[parentID]
		if parent == nil || parent.Status == "DELETED" {
			fe.add("parent_id", "Parent collection does not exist")
		}
	}
	tmp := &Collection{Status: "ACTIVE"}
	p.nstr("external_id", &tmp.ExternalID, fe)
	p.nstr("category", &tmp.Category, fe)
	p.enum("status", &tmp.Status, collectionStatuses, fe)
	p.nstr("storage_id", &tmp.StorageID, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	col := c.s.insertCollection(title, parent, c.user)
	col.ExternalID, col.Category, col.Status, col.StorageID = tmp.ExternalID, tmp.Category, tmp.Status, tmp.StorageID
	if p.has("is_root") && parent == nil {
		p.boolean("is_root", &col.IsRoot, fe)
	}
	view := collectionView(col)
	c.emit(EventCollections, RealmEntity, OpCreate, col.ID, view)
	if parent != nil {
		c.emit(EventCollections, RealmContents, OpCreate, col.ID, c.contentEvent(parent, "collections", col.ID, col.DateCreated))
	}
	return http.StatusCreated, view
}

func (c *call) getCollection() (int, any) {
	col, st, b, ok := c.collection(c.path("collection_id"))
	if !ok {
		return st, b
	}
	return http.StatusOK, collectionView(col)
}

func (c *call) updateCollection() (int, any) {
	col, st, b, ok := c.collection(c.path("collection_id"))
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	if c.r.Method == http.MethodPut && !p.has("title") {
		fe.add("title", "Missing data for required field.")
	}
	next := *col
	p.str("title", &next.Title, fe)
	p.nstr("external_id", &next.ExternalID, fe)
	p.nstr("category", &next.Category, fe)
	p.enum("status", &next.Status, collectionStatuses, fe)
	var parentID string
	p.uuid("parent_id", &parentID, fe)
	var newParent *Collection
	moving := p.has("parent_id") && parentID != derefStr(col.ParentID)
	if moving && parentID != "" {
		newParent = c.s.st.Collections[parentID]
		if newParent == nil || parentID == col.ID || slices.Contains(newParent.Parents, col.ID) {
			fe.add("parent_id", "Not a valid parent collection")
		}
	}
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	next.DateModified = c.s.stamp()
	*col = next
	if moving {
		c.moveCollection(col, newParent)
	}
	view := collectionView(col)
	c.emit(EventCollections, RealmEntity, OpUpdate, col.ID, view)
	return http.StatusOK, view
}

// moveCollection re-parents col (nil parent makes it a root) and fixes descendants' parents.
func (c *call) moveCollection(col, parent *Collection) {
	st := c.s.st
	if old := derefStr(col.ParentID); old != "" {
		st.Contents[old] = slices.DeleteFunc(st.Contents[old], func(r ContentRef) bool { return r.ObjectID == col.ID })
		st.indexContent(old, col.ID, false)
	}
	if parent == nil {
		col.ParentID, col.Parents, col.InCollections, col.IsRoot = nil, []string{}, []string{}, true
	} else {
		col.ParentID = strPtr(parent.ID)
		col.Parents = append(append([]string{}, parent.Parents...), parent.ID)
		col.InCollections = []string{parent.ID}
		col.IsRoot = false
		st.Contents[parent.ID] = append(st.Contents[parent.ID], ContentRef{ObjectType: "collections", ObjectID: col.ID, DateCreated: c.s.stamp()})
		st.indexContent(parent.ID, col.ID, true)
	}
	var fix func(p *Collection)
	fix = func(p *Collection) {
		for _, ref := range st.Contents[p.ID] {
			if ref.ObjectType != "collections" {
				continue
			}
			if child := st.Collections[ref.ObjectID]; child != nil {
				child.Parents = append(append([]string{}, p.Parents...), p.ID)
				fix(child)
			}
		}
	}
	fix(col)
}

func (c *call) softDeleteCollection(col *Collection, _ bool) {
	if col.Status == "DELETED" {
		return
	}
	now := c.s.stamp()
	col.Status, col.DateDeleted, col.DeletedByUser, col.DateModified = "DELETED", now, c.user, now
	c.emit(EventCollections, RealmEntity, OpDelete, col.ID, collectionView(col))
}

func (c *call) deleteCollection() (int, any) {
	col, st, b, ok := c.collection(c.path("collection_id"))
	if !ok {
		return st, b
	}
	c.softDeleteCollection(col, true)
	return http.StatusAccepted, nil
}

func (c *call) restoreCollection(col *Collection) {
	if col.Status != "DELETED" {
		return
	}
	col.Status, col.DateDeleted, col.DeletedByUser, col.DateModified = "ACTIVE", "", "", c.s.stamp()
	c.emit(EventCollections, RealmEntity, OpRestore, col.ID, collectionView(col))
}

func (c *call) purgeCollection(col *Collection) {
	st := c.s.st
	view := collectionView(col)
	for _, ref := range append([]ContentRef(nil), st.Contents[col.ID]...) {
		st.indexContent(col.ID, ref.ObjectID, false)
		if ref.ObjectType == "collections" {
			if child := st.Collections[ref.ObjectID]; child != nil {
				c.purgeCollection(child)
			}
		}
	}
	delete(st.Contents, col.ID)
	if pid := derefStr(col.ParentID); pid != "" {
		st.Contents[pid] = slices.DeleteFunc(st.Contents[pid], func(r ContentRef) bool { return r.ObjectID == col.ID })
		st.indexContent(pid, col.ID, false)
	}
	delete(st.collIndex, col.ID)
	delete(st.Collections, col.ID)
	view.Status = "DELETED"
	c.emit(EventCollections, RealmEntity, OpPurge, col.ID, view)
}

func (c *call) restoreCollectionHandler() (int, any) {
	col, st, b, ok := c.collection(c.path("collection_id"))
	if !ok {
		return st, b
	}
	c.restoreCollection(col)
	return http.StatusCreated, nil
}

func (c *call) purgeCollectionHandler() (int, any) {
	col, st, b, ok := c.collection(c.path("collection_id"))
	if !ok {
		return st, b
	}
	c.purgeCollection(col)
	return http.StatusAccepted, nil
}

func (c *call) listCollections() (int, any) {
	pg, st, b, ok := c.paging(10, c.s.opts.MaxPerPage)
	if !ok {
		return st, b
	}
	var items []*Collection
	status := c.q("status")
	for _, col := range sortedByCreated(c.s.st.Collections, func(x *Collection) (string, string) { return x.DateCreated, x.ID }) {
		if status != "" && col.Status != status {
			continue
		}
		if status == "" && col.Status == "DELETED" {
			continue
		}
		if c.q("is_root") != "" && col.IsRoot != c.qBool("is_root", false) {
			continue
		}
		items = append(items, col)
	}
	env, ok := pageOf(c, items, pg)
	if !ok {
		return c.fail(http.StatusNotFound, "Requested page does not exist")
	}
	env.Objects = c.collectionDocs(env.Objects.([]*Collection))
	return http.StatusOK, env
}

func (c *call) deleteQueueCollections() (int, any) {
	pg, st, b, ok := c.paging(10, c.s.opts.MaxPerPage)
	if !ok {
		return st, b
	}
	var items []*Collection
	for _, col := range sortedByCreated(c.s.st.Collections, func(x *Collection) (string, string) { return x.DateDeleted, x.ID }) {
		if col.Status == "DELETED" {
			items = append(items, col)
		}
	}
	slices.Reverse(items)
	env, ok := pageOf(c, items, pg)
	if !ok {
		return c.fail(http.StatusNotFound, "Requested page does not exist")
	}
	env.Objects = c.collectionDocs(env.Objects.([]*Collection))
	return http.StatusOK, env
}

func (c *call) deleteQueueCollectionAction(action string, status int) (int, any) {
	var ids []string
	if strings.HasSuffix(action, "_all") {
		for id, col := range c.s.st.Collections {
			if col.Status == "DELETED" {
				ids = append(ids, id)
			}
		}
	} else {
		var st int
		var b any
		var ok bool
		if ids, st, b, ok = c.decodeIDs(); !ok {
			return st, b
		}
	}
	for _, id := range ids {
		col := c.s.st.Collections[id]
		if col == nil {
			continue
		}
		switch action {
		case "delete":
			c.softDeleteCollection(col, true)
		case "restore", "restore_all":
			c.restoreCollection(col)
		case "purge", "purge_all":
			c.purgeCollection(col)
		}
	}
	return status, nil
}

func (c *call) purgeAllDeleted() (int, any) {
	c.deleteQueueAction("purge_all")
	c.deleteQueueCollectionAction("purge_all", 0)
	return http.StatusNoContent, nil
}

func (c *call) ancestors() (int, any) {
	col, st, b, ok := c.collection(c.path("collection_id"))
	if !ok {
		return st, b
	}
	var items []*Collection
	for _, id := range col.Parents {
		if p := c.s.st.Collections[id]; p != nil {
			items = append(items, p)
		}
	}
	env, _ := pageOf(c, items, paging{page: 1, perPage: max(len(items), 1)})
	env.Objects = c.collectionDocs(env.Objects.([]*Collection))
	return http.StatusOK, env
}

func (c *call) fullPath() (int, any) {
	col, st, b, ok := c.collection(c.path("collection_id"))
	if !ok {
		return st, b
	}
	var parts []string
	for _, id := range col.Parents {
		if p := c.s.st.Collections[id]; p != nil {
			parts = append(parts, p.Title)
		}
	}
	return http.StatusOK, strings.Join(append(parts, col.Title), "/")
}

// ---- contents ----

func (c *call) contentEvent(col *Collection, objectType, objectID, date string) map[string]any {
	return map[string]any{
		"collection_id": col.ID, "object_id": objectID, "object_type": objectType, "date_created": date,
		"parents": append(append([]string{}, col.Parents...), col.ID),
	}
}

// addContent adds an object to a collection; adding it again changes nothing
// and sends no event (UNCONFIRMED: iconik may answer an error instead).
func (c *call) addContent(collectionID, objectType, objectID string) bool {
	st := c.s.st
	col := st.Collections[collectionID]
	if col == nil {
		return false
	}
	for _, ref := range st.Contents[collectionID] {
		if ref.ObjectID == objectID {
			return false
		}
	}
	if objectType == "collections" {
		child := st.Collections[objectID]
		if child == nil {
			return false
		}
		c.moveCollection(child, col)
		c.emit(EventCollections, RealmEntity, OpUpdate, child.ID, collectionView(child))
	} else {
		st.Contents[collectionID] = append(st.Contents[collectionID], ContentRef{ObjectType: objectType, ObjectID: objectID, DateCreated: c.s.stamp()})
		st.indexContent(collectionID, objectID, true)
	}
	col.DateModified = c.s.stamp()
	c.emit(EventCollections, RealmContents, OpCreate, objectID, c.contentEvent(col, objectType, objectID, c.s.stamp()))
	return true
}

func (c *call) removeContent(collectionID, objectType, objectID string) bool {
	st := c.s.st
	col := st.Collections[collectionID]
	if col == nil {
		return false
	}
	n := len(st.Contents[collectionID])
	st.Contents[collectionID] = slices.DeleteFunc(st.Contents[collectionID], func(r ContentRef) bool { return r.ObjectID == objectID })
	if len(st.Contents[collectionID]) == n {
		return false
	}
	st.indexContent(collectionID, objectID, false)
	if objectType == "collections" {
		if child := st.Collections[objectID]; child != nil {
			child.ParentID, child.Parents, child.InCollections, child.IsRoot = nil, []string{}, []string{}, true
		}
	}
	col.DateModified = c.s.stamp()
	c.emit(EventCollections, RealmContents, OpDelete, objectID, c.contentEvent(col, objectType, objectID, c.s.stamp()))
	return true
}

func (c *call) postContent() (int, any) {
	col, st, b, ok := c.collection(c.path("collection_id"))
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	var objectID, objectType string
	if !p.has("object_id") {
		fe.add("object_id", "Missing data for required field.")
	}
	if !p.has("object_type") {
		fe.add("object_type", "Missing data for required field.")
	}
	p.uuid("object_id", &objectID, fe)
	p.str("object_type", &objectType, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	switch objectType {
	case "assets":
		if a := c.s.st.Assets[objectID]; a == nil || a.Status == "DELETED" {
			return c.fail(http.StatusNotFound, "Asset does not exist")
		}
	case "collections":
		child := c.s.st.Collections[objectID]
		if child == nil || child.Status == "DELETED" {
			return c.fail(http.StatusNotFound, "Collection does not exist")
		}
		if child.ID == col.ID || slices.Contains(col.Parents, child.ID) {
			return c.fail(http.StatusBadRequest, "Can't add a collection to itself or its descendant")
		}
	default:
		return c.invalid("object_type", "Must be one of: assets, collections.")
	}
	c.addContent(col.ID, objectType, objectID)
	return http.StatusCreated, nil
}

func (c *call) deleteContent() (int, any) {
	col, st, b, ok := c.collection(c.path("collection_id"))
	if !ok {
		return st, b
	}
	if !c.removeContent(col.ID, c.path("object_type"), c.path("object_id")) {
		return c.fail(http.StatusNotFound, "Object is not in the collection")
	}
	return http.StatusNoContent, nil
}

func (c *call) reorderContent() (int, any) {
	col, st, b, ok := c.collection(c.path("collection_id"))
	if !ok {
		return st, b
	}
	var in struct {
		Position       *int   `json:"position"`
		AfterObjectID  string `json:"after_object_id"`
		BeforeObjectID string `json:"before_object_id"`
	}
	if st, b, ok := c.decode(&in); !ok {
		return st, b
	}
	refs := c.s.st.Contents[col.ID]
	i := slices.IndexFunc(refs, func(r ContentRef) bool { return r.ObjectID == c.path("object_id") })
	if i < 0 {
		return c.fail(http.StatusNotFound, "Object is not in the collection")
	}
	ref := refs[i]
	refs = slices.Delete(slices.Clone(refs), i, i+1)
	at := len(refs)
	indexOf := func(id string) int {
		return slices.IndexFunc(refs, func(r ContentRef) bool { return r.ObjectID == id })
	}
	switch {
	case in.AfterObjectID != "":
		if k := indexOf(in.AfterObjectID); k >= 0 {
			at = k + 1
		}
	case in.BeforeObjectID != "":
		if k := indexOf(in.BeforeObjectID); k >= 0 {
			at = k
		}
	case in.Position != nil && *in.Position >= 0:
		at = min(*in.Position, len(refs))
	}
	c.s.st.Contents[col.ID] = slices.Insert(refs, at, ref)
	return http.StatusOK, nil
}

func (c *call) listContents() (int, any) {
	col, st, b, ok := c.collection(c.path("collection_id"))
	if !ok {
		return st, b
	}
	pg, st, b, ok := c.paging(10, c.s.opts.MaxPerPage)
	if !ok {
		return st, b
	}
	types := map[string]bool{}
	for _, t := range strings.Split(c.q("object_types"), ",") {
		if t != "" {
			types[t] = true
		}
	}
	ids := map[string]bool{}
	for _, id := range strings.Split(c.q("object_ids"), ",") {
		if id != "" {
			ids[id] = true
		}
	}
	ext := c.q("external_id")
	var docs []ContentRef
	for _, ref := range c.s.st.Contents[col.ID] {
		if len(types) > 0 && !types[ref.ObjectType] {
			continue
		}
		if len(ids) > 0 && !ids[ref.ObjectID] {
			continue
		}
		switch ref.ObjectType {
		case "assets":
			a := c.s.st.Assets[ref.ObjectID]
			if a == nil || a.Status == "DELETED" || (ext != "" && derefStr(a.ExternalID) != ext) {
				continue
			}
		case "collections":
			ch := c.s.st.Collections[ref.ObjectID]
			if ch == nil || ch.Status == "DELETED" || (ext != "" && derefStr(ch.ExternalID) != ext) {
				continue
			}
		}
		docs = append(docs, ref)
	}
	env, ok := pageOf(c, docs, pg)
	if !ok {
		return c.fail(http.StatusNotFound, "Requested page does not exist")
	}
	var out []map[string]any
	for _, ref := range env.Objects.([]ContentRef) {
		if ref.ObjectType == "assets" {
			out = append(out, c.assetDoc(c.s.st.Assets[ref.ObjectID], docOptions{signed: true}))
		} else {
			out = append(out, c.collectionDoc(c.s.st.Collections[ref.ObjectID]))
		}
	}
	if out == nil {
		out = []map[string]any{}
	}
	env.Objects = out
	return http.StatusOK, env
}
