package iconik

import (
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
)

var (
	assetTypes        = set("ASSET", "SEQUENCE", "NLE_PROJECT", "PLACEHOLDER", "CUSTOM", "LINK", "SUBCLIP")
	assetStatuses     = set("ACTIVE", "DELETED")
	processStatuses   = set("N/A", "REQUESTED", "IN_PROGRESS", "FAILED", "DONE")
	archiveStatuses   = set("NOT_ARCHIVED", "ARCHIVING", "FAILED_TO_ARCHIVE", "ARCHIVED")
	versionStatuses   = set("ACTIVE", "IN_PROGRESS", "FAILED", "DELETING", "DELETED")
	historyOperations = set("EXPORT", "TRANSCODE", "ANALYZE", "ADD_FORMAT", "DELETE_FORMAT", "RESTORE_FORMAT",
		"DELETE_FILESET", "DELETE_FILE", "RESTORE_FILESET", "MODIFY_FILESET", "APPROVE", "REJECT", "DOWNLOAD",
		"METADATA", "CUSTOM", "TRANSCRIPTION", "VERSION_CREATE", "VERSION_DELETE", "VERSION_UPDATE",
		"VERSION_PROMOTE", "RESTORE", "RESTORE_FROM_GLACIER", "ARCHIVE", "RESTORE_ARCHIVE", "DELETE", "TRANSFER",
		"UNLINK_SUBCLIP", "FACE_RECOGNITION")
)

func set(vals ...string) map[string]bool {
	m := make(map[string]bool, len(vals))
	for _, v := range vals {
		m[v] = true
	}
	return m
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isUUID(v string) bool { return uuidRE.MatchString(v) }

// ---- JSON patch helpers (marshmallow-like field errors) ----

type patch map[string]json.RawMessage

type fieldErrors map[string][]string

func (fe fieldErrors) add(field, msg string) { fe[field] = append(fe[field], msg) }

func (p patch) has(k string) bool { _, ok := p[k]; return ok }

func (p patch) isNull(k string) bool { return string(p[k]) == "null" }

func (p patch) str(k string, dst *string, fe fieldErrors) {
	if !p.has(k) {
		return
	}
	if err := json.Unmarshal(p[k], dst); err != nil || p.isNull(k) {
		fe.add(k, "Not a valid string.")
	}
}

func (p patch) nstr(k string, dst **string, fe fieldErrors) {
	if !p.has(k) {
		return
	}
	if p.isNull(k) {
		*dst = nil
		return
	}
	var v string
	if err := json.Unmarshal(p[k], &v); err != nil {
		fe.add(k, "Not a valid string.")
		return
	}
	*dst = &v
}

func (p patch) boolean(k string, dst *bool, fe fieldErrors) {
	if !p.has(k) {
		return
	}
	if err := json.Unmarshal(p[k], dst); err != nil || p.isNull(k) {
		fe.add(k, "Not a valid boolean.")
	}
}

func (p patch) enum(k string, dst *string, allowed map[string]bool, fe fieldErrors) {
	if !p.has(k) {
		return
	}
	var v string
	if err := json.Unmarshal(p[k], &v); err != nil || !allowed[v] {
		fe.add(k, "Must be one of: "+strings.Join(sortedKeys(allowed), ", ")+".")
		return
	}
	*dst = v
}

func (p patch) uuid(k string, dst *string, fe fieldErrors) {
	if !p.has(k) || p.isNull(k) {
		return
	}
	var v string
	if err := json.Unmarshal(p[k], &v); err != nil || !isUUID(v) {
		fe.add(k, "Not a valid UUID.")
		return
	}
	*dst = v
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c *call) decodePatch() (patch, int, any, bool) {
	var p patch
	if st, b, ok := c.decode(&p); !ok {
		return nil, st, b, false
	}
	if p == nil {
		p = patch{}
	}
	return p, 0, nil, true
}

func (c *call) fieldErrors(fe fieldErrors) (int, any) {
	return http.StatusBadRequest, errorBody{Errors: fe}
}

// ---- rendering ----

// assetView is the AssetSchema representation (a copy).
func (c *call) assetView(a *Asset, includeCollections bool) Asset {
	out := *a
	out.Versions = append([]Version(nil), a.Versions...)
	if out.Versions == nil {
		out.Versions = []Version{}
	}
	out.PersonIDs = append([]string{}, a.PersonIDs...)
	out.InCollections = nil
	if includeCollections {
		ids := c.s.collectionsHolding(a.ID)
		out.InCollections = &ids
	}
	return out
}

func (s *Server) collectionsHolding(objectID string) []string {
	ids := make([]string, 0, len(s.st.collIndex[objectID]))
	for id := range s.st.collIndex[objectID] {
		if col := s.st.Collections[id]; col != nil && col.Status != "DELETED" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// latestVersion returns the current (last non-deleted) version.
func latestVersion(a *Asset) *Version {
	for i := len(a.Versions) - 1; i >= 0; i-- {
		if a.Versions[i].Status != "DELETED" {
			return &a.Versions[i]
		}
	}
	if len(a.Versions) > 0 {
		return &a.Versions[len(a.Versions)-1]
	}
	return nil
}

func latestVersionID(a *Asset) string {
	if v := latestVersion(a); v != nil {
		return v.ID
	}
	return ""
}

func findVersion(a *Asset, id string) *Version {
	for i := range a.Versions {
		if a.Versions[i].ID == id {
			return &a.Versions[i]
		}
	}
	return nil
}

func (c *call) asset(id string) (*Asset, int, any, bool) {
	a := c.s.st.Assets[id]
	if a == nil {
		st, b := c.fail(http.StatusNotFound, "Asset does not exist")
		return nil, st, b, false
	}
	return a, 0, nil, true
}

// ---- create / read / update ----

func (s *Server) newVersion(a *Asset, user string) *Version {
	n := 1
	for _, v := range a.Versions {
		n = max(n, v.VersionNumber+1)
	}
	a.Versions = append(a.Versions, Version{
		ID: s.newID(), VersionNumber: n, Status: "ACTIVE", AnalyzeStatus: "N/A", ArchiveStatus: "NOT_ARCHIVED",
		FaceRecognitionStatus: "N/A", TranscribeStatus: "N/A", CreatedByUser: user, DateCreated: s.stamp(),
	})
	return &a.Versions[len(a.Versions)-1]
}

// insertAsset creates an asset with its first version.
func (s *Server) insertAsset(title, typ, user string) *Asset {
	now := s.stamp()
	a := &Asset{
		ID: s.newID(), Title: title, Type: typ, Status: "ACTIVE", AnalyzeStatus: "N/A", ArchiveStatus: "NOT_ARCHIVED",
		FaceRecognitionStatus: "N/A", CreatedByUser: user, UpdatedByUser: user, DateCreated: now, DateModified: now,
		DateImported: now, PersonIDs: []string{},
	}
	s.newVersion(a, user)
	s.st.Assets[a.ID] = a
	s.st.assetOrder = append(s.st.assetOrder, a.ID)
	return a
}

func (c *call) createAsset() (int, any) {
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	title, typ := "", "ASSET"
	if !p.has("title") {
		fe.add("title", "Missing data for required field.")
	}
	p.str("title", &title, fe)
	p.enum("type", &typ, assetTypes, fe)
	var collectionID string
	p.uuid("collection_id", &collectionID, fe)
	tmp := &Asset{Status: "ACTIVE", AnalyzeStatus: "N/A", ArchiveStatus: "NOT_ARCHIVED", FaceRecognitionStatus: "N/A"}
	c.applyAssetFields(tmp, p, fe)
	var dateCreated string
	p.str("date_created", &dateCreated, fe)
	if dateCreated != "" && parseTime(dateCreated).IsZero() {
		fe.add("date_created", "Not a valid datetime.")
	}
	assign := c.qBool("assign_to_collection", false)
	if assign && collectionID != "" {
		if col := c.s.st.Collections[collectionID]; col == nil || col.Status == "DELETED" {
			fe.add("collection_id", "Collection does not exist")
		}
	}
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	a := c.s.insertAsset(title, typ, c.user)
	a.ExternalID, a.ExternalLink, a.Category, a.SiteName, a.Warning = tmp.ExternalID, tmp.ExternalLink, tmp.Category, tmp.SiteName, tmp.Warning
	a.Status, a.AnalyzeStatus, a.FaceRecognitionStatus, a.ArchiveStatus = tmp.Status, tmp.AnalyzeStatus, tmp.FaceRecognitionStatus, tmp.ArchiveStatus
	a.IsBlocked, a.IsOnline, a.CustomKeyframe, a.CustomPoster = tmp.IsBlocked, tmp.IsOnline, tmp.CustomKeyframe, tmp.CustomPoster
	if dateCreated != "" {
		a.DateCreated = fmtTime(parseTime(dateCreated))
		a.Versions[0].DateCreated = a.DateCreated
		c.s.resortAssets()
	}
	if assign && collectionID != "" {
		c.addContent(collectionID, "assets", a.ID)
	}
	view := c.assetView(a, false)
	c.emit(EventAssets, RealmEntity, OpCreate, a.ID, view)
	if typ == "ASSET" {
		c.scheduleTranscode(a.ID, a.Versions[0].ID)
	}
	return http.StatusCreated, view
}

func (s *Server) resortAssets() {
	sort.SliceStable(s.st.assetOrder, func(i, j int) bool {
		return s.st.Assets[s.st.assetOrder[i]].DateCreated < s.st.Assets[s.st.assetOrder[j]].DateCreated
	})
}

// applyAssetFields applies the editable asset fields present in p.
func (c *call) applyAssetFields(a *Asset, p patch, fe fieldErrors) {
	p.nstr("external_id", &a.ExternalID, fe)
	p.nstr("external_link", &a.ExternalLink, fe)
	p.nstr("category", &a.Category, fe)
	p.nstr("site_name", &a.SiteName, fe)
	p.nstr("warning", &a.Warning, fe)
	p.enum("status", &a.Status, assetStatuses, fe)
	p.enum("analyze_status", &a.AnalyzeStatus, processStatuses, fe)
	p.enum("face_recognition_status", &a.FaceRecognitionStatus, processStatuses, fe)
	p.enum("archive_status", &a.ArchiveStatus, archiveStatuses, fe)
	p.boolean("is_blocked", &a.IsBlocked, fe)
	p.boolean("is_online", &a.IsOnline, fe)
	p.nstr("custom_keyframe", &a.CustomKeyframe, fe)
	p.nstr("custom_poster", &a.CustomPoster, fe)
}

func (c *call) getAsset() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	return http.StatusOK, c.assetView(a, c.qBool("include_collections", false))
}

func (c *call) updateAsset() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
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
	next := *a
	p.str("title", &next.Title, fe)
	p.enum("type", &next.Type, assetTypes, fe)
	c.applyAssetFields(&next, p, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	c.commitAssetUpdate(a, next)
	return http.StatusOK, c.assetView(a, false)
}

// commitAssetUpdate stores next over a and sends entity/update (or delete/restore on status changes).
func (c *call) commitAssetUpdate(a *Asset, next Asset) {
	wasDeleted := a.Status == "DELETED"
	next.DateModified = c.s.stamp()
	next.UpdatedByUser = c.user
	if !wasDeleted && next.Status == "DELETED" {
		next.DateDeleted, next.DeletedByUser = next.DateModified, c.user
	}
	if wasDeleted && next.Status == "ACTIVE" {
		next.DateDeleted, next.DeletedByUser = "", ""
	}
	*a = next
	op := OpUpdate
	switch {
	case !wasDeleted && a.Status == "DELETED":
		op = OpDelete
	case wasDeleted && a.Status == "ACTIVE":
		op = OpRestore
	}
	c.emit(EventAssets, RealmEntity, op, a.ID, c.assetView(a, false))
}

func (c *call) bulkUpdateAssets() (int, any) {
	var in struct {
		Objects []patch `json:"objects"`
	}
	if st, b, ok := c.decode(&in); !ok {
		return st, b
	}
	if in.Objects == nil {
		return c.invalid("objects", "Missing data for required field.")
	}
	type upd struct {
		a    *Asset
		next Asset
	}
	var ups []upd
	for i, p := range in.Objects {
		fe := fieldErrors{}
		var id string
		p.str("id", &id, fe)
		a := c.s.st.Assets[id]
		if a == nil {
			return c.invalid("objects."+itoa(i)+".id", "Asset does not exist")
		}
		next := *a
		p.str("title", &next.Title, fe)
		c.applyAssetFields(&next, p, fe)
		if len(fe) > 0 {
			return c.fieldErrors(fe)
		}
		ups = append(ups, upd{a, next})
	}
	for _, u := range ups {
		c.commitAssetUpdate(u.a, u.next)
	}
	return http.StatusAccepted, nil
}

func (c *call) listAssets() (int, any) {
	pg, st, b, ok := c.paging(10, c.s.opts.MaxPerPage)
	if !ok {
		return st, b
	}
	var items []*Asset
	for _, id := range c.s.st.assetOrder {
		if a := c.s.st.Assets[id]; a != nil && a.Status != "DELETED" {
			items = append(items, a)
		}
	}
	sortAssets(items, c.q("sort"))
	env, ok := pageOf(c, items, pg)
	if !ok {
		return c.fail(http.StatusNotFound, "Requested page does not exist")
	}
	env.Objects = c.assetDocs(env.Objects.([]*Asset), docOptions{signed: true})
	return http.StatusOK, env
}

// sortAssets applies a "field,asc;field2,desc" sort (default date_created desc).
func sortAssets(items []*Asset, spec string) {
	type key struct {
		field string
		desc  bool
	}
	var keys []key
	for _, part := range strings.Split(spec, ";") {
		f, dir, _ := strings.Cut(strings.TrimSpace(part), ",")
		if f == "" {
			continue
		}
		keys = append(keys, key{f, strings.EqualFold(dir, "desc")})
	}
	if len(keys) == 0 {
		keys = []key{{"date_created", true}}
	}
	val := func(a *Asset, f string) string {
		switch f {
		case "title":
			return strings.ToLower(a.Title)
		case "date_modified":
			return a.DateModified
		case "id":
			return a.ID
		case "date_deleted":
			return a.DateDeleted
		}
		return a.DateCreated
	}
	sort.SliceStable(items, func(i, j int) bool {
		for _, k := range keys {
			vi, vj := val(items[i], k.field), val(items[j], k.field)
			if vi != vj {
				return (vi < vj) != k.desc
			}
		}
		return items[i].ID < items[j].ID
	})
}

// ---- delete, restore, purge ----

func (c *call) softDelete(a *Asset) {
	if a.Status == "DELETED" {
		return
	}
	next := *a
	next.Status = "DELETED"
	c.commitAssetUpdate(a, next)
	c.addHistory(a.ID, latestVersionID(a), "DELETE", "", "")
}

func (c *call) restore(a *Asset) {
	if a.Status != "DELETED" {
		return
	}
	next := *a
	next.Status = "ACTIVE"
	c.commitAssetUpdate(a, next)
	c.addHistory(a.ID, latestVersionID(a), "RESTORE", "", "")
}

// purge removes an asset and everything hanging off it.
func (c *call) purge(a *Asset) {
	view := c.assetView(a, false)
	st := c.s.st
	for cid := range st.collIndex[a.ID] {
		c.removeContent(cid, "assets", a.ID)
	}
	delete(st.collIndex, a.ID)
	for _, sid := range st.segIndex[a.ID] {
		delete(st.Segments, sid)
	}
	delete(st.segIndex, a.ID)
	if af := st.fileIndex[a.ID]; af != nil {
		for _, id := range af.formats {
			delete(st.Formats, id)
		}
		for _, id := range af.fileSets {
			delete(st.FileSets, id)
		}
		for _, id := range af.files {
			delete(st.Files, id)
		}
		for _, id := range af.proxies {
			delete(st.Proxies, id)
		}
		for _, id := range af.keyframes {
			delete(st.Keyframes, id)
		}
		delete(st.fileIndex, a.ID)
	}
	for id, sh := range st.Shares {
		if sh.ObjectID == a.ID {
			delete(st.Shares, id)
			delete(st.ShareSecrets, id)
		}
	}
	for k, r := range st.Metadata {
		if r.ObjectID == a.ID {
			delete(st.Metadata, k)
		}
	}
	for k, ap := range st.Approvals {
		if ap.ObjectID == a.ID {
			delete(st.Approvals, k)
		}
	}
	delete(st.History, a.ID)
	delete(st.Media, a.ID)
	delete(st.Assets, a.ID)
	st.assetOrder = slices.DeleteFunc(st.assetOrder, func(id string) bool { return id == a.ID })
	view.Status = "DELETED"
	c.emit(EventAssets, RealmEntity, OpPurge, a.ID, view)
}

func (c *call) deleteAsset() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	c.softDelete(a)
	return http.StatusNoContent, nil
}

func (c *call) restoreAsset() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	c.restore(a)
	return http.StatusNoContent, nil
}

func (c *call) purgeAsset() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	c.purge(a)
	return http.StatusNoContent, nil
}

type idsBody struct {
	IDs []string `json:"ids"`
}

func (c *call) decodeIDs() ([]string, int, any, bool) {
	var in idsBody
	if st, b, ok := c.decode(&in); !ok {
		return nil, st, b, false
	}
	if in.IDs == nil {
		st, b := c.invalid("ids", "Missing data for required field.")
		return nil, st, b, false
	}
	for _, id := range in.IDs {
		if !isUUID(id) {
			st, b := c.invalid("ids", "Not a valid UUID.")
			return nil, st, b, false
		}
	}
	return in.IDs, 0, nil, true
}

func (c *call) deleteQueueAssets() (int, any) {
	pg, st, b, ok := c.paging(10, c.s.opts.MaxPerPage)
	if !ok {
		return st, b
	}
	var items []*Asset
	for _, id := range c.s.st.assetOrder {
		if a := c.s.st.Assets[id]; a != nil && a.Status == "DELETED" {
			items = append(items, a)
		}
	}
	sortAssets(items, firstNonEmpty(c.q("sort"), "date_deleted,desc"))
	env, ok := pageOf(c, items, pg)
	if !ok {
		return c.fail(http.StatusNotFound, "Requested page does not exist")
	}
	env.Objects = c.assetDocs(env.Objects.([]*Asset), docOptions{})
	return http.StatusOK, env
}

// deleteQueueAction handles the id-list endpoints of /delete_queue/assets/.
func (c *call) deleteQueueAction(action string) (int, any) {
	var ids []string
	if action == "purge_all" || action == "restore_all" {
		for _, id := range c.s.st.assetOrder {
			if a := c.s.st.Assets[id]; a != nil && a.Status == "DELETED" {
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
		a := c.s.st.Assets[id]
		if a == nil {
			continue
		}
		switch action {
		case "delete":
			c.softDelete(a)
		case "restore", "restore_all":
			c.restore(a)
		case "purge", "purge_all":
			c.purge(a)
		}
	}
	return http.StatusNoContent, nil
}

func (c *call) bulkDelete() (int, any) {
	var in struct {
		ObjectType  string   `json:"object_type"`
		ObjectIDs   []string `json:"object_ids"`
		ContentOnly *bool    `json:"content_only"`
	}
	if st, b, ok := c.decode(&in); !ok {
		return st, b
	}
	if in.ObjectIDs == nil {
		return c.invalid("object_ids", "Missing data for required field.")
	}
	switch in.ObjectType {
	case "assets":
		for _, id := range in.ObjectIDs {
			if a := c.s.st.Assets[id]; a != nil {
				c.softDelete(a)
			}
		}
	case "collections":
		for _, id := range in.ObjectIDs {
			if col := c.s.st.Collections[id]; col != nil {
				c.softDeleteCollection(col, in.ContentOnly == nil || *in.ContentOnly)
			}
		}
	case "saved_searches":
	default:
		return c.invalid("object_type", "Must be one of: assets, collections, saved_searches.")
	}
	return http.StatusAccepted, nil
}

// ---- versions ----

func (c *call) versionsBody(a *Asset) map[string]any {
	vs := append([]Version(nil), a.Versions...)
	return map[string]any{"asset_id": a.ID, "system_domain_id": c.s.opts.SystemDomainID, "versions": vs}
}

// versionEvent is the data of a versions-realm event (UNCONFIRMED shape: the
// version object plus its asset_id).
func versionEvent(a *Asset, v *Version) map[string]any {
	b, _ := json.Marshal(v)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	m["asset_id"] = a.ID
	return m
}

// addVersion creates a new version, copying metadata (and segments if asked)
// from the source version, then schedules its transcode.
func (c *call) addVersion(a *Asset, sourceVersionID string, copyMetadata, copySegments bool, transcode bool) *Version {
	src := sourceVersionID
	if src == "" {
		src = latestVersionID(a)
	}
	v := c.s.newVersion(a, c.user)
	a.DateModified = v.DateCreated
	if copyMetadata {
		if rec := c.s.st.Metadata[metaKey("assets", a.ID, src)]; rec != nil {
			cp := &metadataRecord{ObjectType: "assets", ObjectID: a.ID, VersionID: v.ID, Values: map[string][]any{},
				DateCreated: v.DateCreated, DateModified: v.DateCreated}
			for k, vals := range rec.Values {
				cp.Values[k] = append([]any(nil), vals...)
			}
			c.s.st.Metadata[metaKey("assets", a.ID, v.ID)] = cp
		}
	}
	if copySegments {
		for _, sid := range c.s.st.segIndex[a.ID] {
			sg := c.s.st.Segments[sid]
			if sg != nil && sg.VersionID == src {
				cp := *sg
				cp.ID = c.s.newID()
				cp.VersionID = v.ID
				c.s.st.Segments[cp.ID] = &cp
				c.s.st.segIndex[a.ID] = append(c.s.st.segIndex[a.ID], cp.ID)
			}
		}
	}
	c.addHistory(a.ID, v.ID, "VERSION_CREATE", "", "")
	c.emit(EventAssets, RealmVersions, OpCreate, v.ID, versionEvent(a, v))
	if transcode && a.Type == "ASSET" {
		c.scheduleTranscode(a.ID, v.ID)
	}
	return v
}

func (c *call) createVersion() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	var src string
	p.uuid("source_version_id", &src, fe)
	copyMeta, copySeg := true, false
	p.boolean("copy_metadata", &copyMeta, fe)
	p.boolean("copy_segments", &copySeg, fe)
	if src != "" && findVersion(a, src) == nil {
		fe.add("source_version_id", "Version does not exist")
	}
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	c.addVersion(a, src, copyMeta, copySeg, true)
	return http.StatusOK, c.versionsBody(a)
}

func (c *call) createVersionFromAsset() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	src := c.s.st.Assets[c.path("source_asset_id")]
	if src == nil {
		return c.fail(http.StatusNotFound, "Source asset does not exist")
	}
	if src.ID == a.ID {
		return c.fail(http.StatusBadRequest, "Source asset is the target asset")
	}
	v := c.addVersion(a, "", true, false, false)
	c.s.moveMedia(src.ID, latestVersionID(src), a.ID, v.ID)
	if !c.s.hasProxy(a.ID, v.ID) {
		c.scheduleTranscode(a.ID, v.ID)
	}
	c.softDelete(src)
	return http.StatusAccepted, nil
}

func (c *call) createVersionFromVersion() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	srcID := c.path("source_version_id")
	if findVersion(a, srcID) == nil {
		return c.fail(http.StatusNotFound, "Version does not exist")
	}
	c.addVersion(a, srcID, true, false, true)
	return http.StatusAccepted, nil
}

func (c *call) version() (*Asset, *Version, int, any, bool) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return nil, nil, st, b, false
	}
	v := findVersion(a, c.path("version_id"))
	if v == nil {
		st, b := c.fail(http.StatusNotFound, "Version does not exist")
		return nil, nil, st, b, false
	}
	return a, v, 0, nil, true
}

func (c *call) updateVersion() (int, any) {
	a, v, st, b, ok := c.version()
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	next := *v
	p.enum("status", &next.Status, versionStatuses, fe)
	p.enum("analyze_status", &next.AnalyzeStatus, processStatuses, fe)
	p.enum("archive_status", &next.ArchiveStatus, archiveStatuses, fe)
	p.enum("transcribe_status", &next.TranscribeStatus, processStatuses, fe)
	p.boolean("is_online", &next.IsOnline, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	*v = next
	a.DateModified = c.s.stamp()
	c.addHistory(a.ID, v.ID, "VERSION_UPDATE", "", "")
	c.emit(EventAssets, RealmVersions, OpUpdate, v.ID, versionEvent(a, v))
	return http.StatusOK, *v
}

func (c *call) deleteVersion() (int, any) {
	a, v, st, b, ok := c.version()
	if !ok {
		return st, b
	}
	live := 0
	for _, x := range a.Versions {
		if x.Status != "DELETED" {
			live++
		}
	}
	if live <= 1 && v.Status != "DELETED" {
		return c.fail(http.StatusBadRequest, "Can't delete the only version of an asset")
	}
	ev := versionEvent(a, v)
	if c.qBool("hard_delete", false) {
		a.Versions = slices.DeleteFunc(a.Versions, func(x Version) bool { return x.ID == v.ID })
	} else {
		v.Status = "DELETED"
	}
	ev["status"] = "DELETED"
	a.DateModified = c.s.stamp()
	c.addHistory(a.ID, "", "VERSION_DELETE", "", "")
	c.emit(EventAssets, RealmVersions, OpDelete, c.path("version_id"), ev)
	return http.StatusNoContent, nil
}

func (c *call) deleteOldVersions() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	latest := latestVersionID(a)
	for i := range a.Versions {
		v := &a.Versions[i]
		if v.ID != latest && v.Status != "DELETED" {
			v.Status = "DELETED"
			ev := versionEvent(a, v)
			c.emit(EventAssets, RealmVersions, OpDelete, v.ID, ev)
		}
	}
	a.DateModified = c.s.stamp()
	return http.StatusNoContent, nil
}

func (c *call) promoteVersion() (int, any) {
	a, v, st, b, ok := c.version()
	if !ok {
		return st, b
	}
	moved := *v
	a.Versions = slices.DeleteFunc(a.Versions, func(x Version) bool { return x.ID == moved.ID })
	a.Versions = append(a.Versions, moved)
	a.DateModified = c.s.stamp()
	c.addHistory(a.ID, moved.ID, "VERSION_PROMOTE", "", "")
	c.emit(EventAssets, RealmVersions, OpUpdate, moved.ID, versionEvent(a, &a.Versions[len(a.Versions)-1]))
	return http.StatusNoContent, nil
}

// ---- history ----

func (c *call) addHistory(assetID, versionID, op, desc, jobID string) *HistoryEntry {
	now := c.s.stamp()
	h := &HistoryEntry{ID: c.s.newID(), AssetID: assetID, VersionID: versionID, OperationType: op,
		UserID: c.user, SystemDomainID: c.s.opts.SystemDomainID, DateCreated: now, DateModified: now}
	if desc != "" {
		h.OperationDescription = strPtr(desc)
	}
	if jobID != "" {
		h.JobID = strPtr(jobID)
	}
	c.s.st.History[assetID] = append(c.s.st.History[assetID], h)
	return h
}

func (c *call) listHistory() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	pg, st, b, ok := c.paging(10, c.s.opts.MaxPerPage)
	if !ok {
		return st, b
	}
	filters := parseListFilter(c.q("filter"))
	var items []HistoryEntry
	for _, h := range c.s.st.History[a.ID] {
		if filters.match(map[string]string{"operation_type": h.OperationType, "user_id": h.UserID,
			"version_id": h.VersionID, "job_id": derefStr(h.JobID)}) {
			items = append(items, *h)
		}
	}
	asc := strings.Contains(c.q("sort"), "date_created,asc")
	sort.SliceStable(items, func(i, j int) bool {
		if asc {
			return items[i].DateCreated < items[j].DateCreated
		}
		return items[i].DateCreated > items[j].DateCreated
	})
	env, ok := pageOf(c, items, pg)
	if !ok {
		return c.fail(http.StatusNotFound, "Requested page does not exist")
	}
	return http.StatusOK, env
}

func (c *call) createHistory() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	var op, desc, jobID string
	if !p.has("operation_type") {
		fe.add("operation_type", "Missing data for required field.")
	}
	p.enum("operation_type", &op, historyOperations, fe)
	var d *string
	p.nstr("operation_description", &d, fe)
	desc = derefStr(d)
	p.uuid("job_id", &jobID, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	h := c.addHistory(a.ID, latestVersionID(a), op, desc, jobID)
	return http.StatusCreated, *h
}

func (c *call) historyEntry() (*HistoryEntry, int, any, bool) {
	id := c.path("history_entity_id")
	for _, h := range c.s.st.History[c.path("asset_id")] {
		if h.ID == id {
			return h, 0, nil, true
		}
	}
	st, b := c.fail(http.StatusNotFound, "History entity does not exist")
	return nil, st, b, false
}

func (c *call) getHistory() (int, any) {
	h, st, b, ok := c.historyEntry()
	if !ok {
		return st, b
	}
	return http.StatusOK, *h
}

func (c *call) deleteHistory() (int, any) {
	h, st, b, ok := c.historyEntry()
	if !ok {
		return st, b
	}
	aid := c.path("asset_id")
	c.s.st.History[aid] = slices.DeleteFunc(c.s.st.History[aid], func(x *HistoryEntry) bool { return x.ID == h.ID })
	// The spec documents 201 with the deleted entry.
	return http.StatusCreated, *h
}

// ---- list filters ("field,eq,value;field2,eq,value2") ----

type listFilter []struct{ field, op, value string }

func parseListFilter(v string) listFilter {
	var out listFilter
	for _, part := range strings.Split(v, ";") {
		bits := strings.SplitN(part, ",", 3)
		if len(bits) == 3 {
			out = append(out, struct{ field, op, value string }{bits[0], bits[1], bits[2]})
		}
	}
	return out
}

func (lf listFilter) match(vals map[string]string) bool {
	for _, f := range lf {
		v, ok := vals[f.field]
		if !ok {
			continue
		}
		switch f.op {
		case "eq":
			if v != f.value {
				return false
			}
		case "ne":
			if v == f.value {
				return false
			}
		}
	}
	return true
}

func itoa(n int) string { return jsonNumber(n) }

func jsonNumber(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
