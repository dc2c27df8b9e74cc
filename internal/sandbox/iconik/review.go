package iconik

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"strings"
)

// Approval statuses (both the overall status and each reviewer's decision).
const (
	ApprovalNA          = "N/A"
	ApprovalRequested   = "REQUESTED"
	ApprovalApproved    = "APPROVED"
	ApprovalNotApproved = "NOT_APPROVED"
	ApprovalMixed       = "MIXED"
)

var (
	segmentTypes     = set("MARKER", "QC", "GENERIC", "COMMENT", "TAG", "TRANSCRIPTION", "SCENE", "PERSON")
	approvalStatuses = set(ApprovalNA, ApprovalRequested, ApprovalApproved, ApprovalNotApproved, ApprovalMixed)
)

// ---- segments ----

func (s *Server) userName(id string) (string, string) {
	if u := s.st.Users[id]; u != nil {
		return u.FirstName, u.LastName
	}
	return "", ""
}

func (c *call) applySegment(sg *Segment, a *Asset, p patch, create bool, fe fieldErrors) {
	if create && !p.has("segment_type") {
		fe.add("segment_type", "Missing data for required field.")
	}
	p.enum("segment_type", &sg.SegmentType, segmentTypes, fe)
	p.nstr("segment_text", &sg.SegmentText, fe)
	for k, dst := range map[string]**int64{"time_start_milliseconds": &sg.TimeStartMS, "time_end_milliseconds": &sg.TimeEndMS} {
		if !p.has(k) {
			continue
		}
		if p.isNull(k) {
			*dst = nil
			continue
		}
		var v int64
		if err := json.Unmarshal(p[k], &v); err != nil || v < 0 {
			fe.add(k, "Not a valid integer.")
			continue
		}
		*dst = &v
	}
	if sg.TimeStartMS != nil && sg.TimeEndMS != nil && *sg.TimeEndMS < *sg.TimeStartMS {
		fe.add("time_end_milliseconds", "Must not be before time_start_milliseconds.")
	}
	if p.has("version_id") {
		var vid string
		p.uuid("version_id", &vid, fe)
		if vid != "" && findVersion(a, vid) == nil {
			fe.add("version_id", "Version does not belong to the asset")
		}
		if vid != "" {
			sg.VersionID = vid
		}
	}
	if create && p.has("parent_id") {
		var pid string
		p.uuid("parent_id", &pid, fe)
		if parent := c.s.st.Segments[pid]; pid != "" && (parent == nil || parent.AssetID != a.ID) {
			fe.add("parent_id", "Parent segment does not exist")
		}
		sg.ParentID = pid
	}
	p.boolean("segment_checked", &sg.SegmentChecked, fe)
	p.str("segment_color", &sg.SegmentColor, fe)
	p.nstr("segment_track", &sg.SegmentTrack, fe)
	p.nstr("external_id", &sg.ExternalID, fe)
	p.nstr("share_id", &sg.ShareID, fe)
	p.nstr("share_user_email", &sg.ShareUserEmail, fe)
	p.nstr("keyframe_id", &sg.KeyframeID, fe)
	p.nstr("metadata_view_id", &sg.MetadataViewID, fe)
	p.enum("status", &sg.Status, set("ACTIVE", "DELETED"), fe)
}

// insertSegment stores a new segment; the caller has validated it.
func (c *call) insertSegment(a *Asset, sg *Segment) {
	now := c.s.stamp()
	sg.ID, sg.AssetID, sg.DateCreated, sg.DateModified = c.s.newID(), a.ID, now, now
	if sg.Status == "" {
		sg.Status = "ACTIVE"
	}
	if sg.VersionID == "" {
		sg.VersionID = latestVersionID(a)
	}
	sg.UserID = c.user
	sg.UserFirstName, sg.UserLastName = c.s.userName(c.user)
	sg.TopLevel = sg.ParentID == ""
	if sg.ParentID != "" {
		sg.Path = sg.ParentID + "/" + sg.ID
	} else {
		sg.Path = sg.ID
	}
	c.s.st.Segments[sg.ID] = sg
	c.s.st.segIndex[a.ID] = append(c.s.st.segIndex[a.ID], sg.ID)
	c.emit(EventAssets, RealmSegments, OpCreate, sg.ID, *sg)
}

func (c *call) createSegment() (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	sg := &Segment{}
	c.applySegment(sg, a, p, true, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	if hdr := c.r.Header.Get("Share-User-Email"); hdr != "" && sg.ShareUserEmail == nil {
		sg.ShareUserEmail = &hdr
	}
	c.insertSegment(a, sg)
	return http.StatusCreated, *sg
}

func (c *call) segment() (*Asset, *Segment, int, any, bool) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return nil, nil, st, b, false
	}
	sg := c.s.st.Segments[c.path("segment_id")]
	if sg == nil || sg.AssetID != a.ID {
		st, b := c.fail(http.StatusNotFound, "Segment does not exist")
		return nil, nil, st, b, false
	}
	return a, sg, 0, nil, true
}

// getSegmentOrType serves both GET .../segments/{segment_id}/ and
// GET .../segments/{segment_type}/ (the same path shape).
func (c *call) getSegmentOrType() (int, any) {
	v := c.path("segment_id")
	if segmentTypes[v] {
		return c.listSegments(v)
	}
	_, sg, st, b, ok := c.segment()
	if !ok {
		return st, b
	}
	return http.StatusOK, *sg
}

func (c *call) updateSegment() (int, any) {
	a, sg, st, b, ok := c.segment()
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	next := *sg
	c.applySegment(&next, a, p, c.r.Method == http.MethodPut, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	next.DateModified = c.s.stamp()
	*sg = next
	c.emit(EventAssets, RealmSegments, OpUpdate, sg.ID, *sg)
	return http.StatusOK, *sg
}

func (c *call) deleteSegment() (int, any) {
	a, sg, st, b, ok := c.segment()
	if !ok {
		return st, b
	}
	view := *sg
	view.Status = "DELETED"
	if c.qBool("soft_delete", false) {
		sg.Status, sg.DateModified = "DELETED", c.s.stamp()
	} else {
		delete(c.s.st.Segments, sg.ID)
		c.s.st.segIndex[a.ID] = slices.DeleteFunc(c.s.st.segIndex[a.ID], func(id string) bool { return id == sg.ID })
	}
	c.emit(EventAssets, RealmSegments, OpDelete, view.ID, view)
	return http.StatusNoContent, nil
}

func (c *call) listSegments(segmentType string) (int, any) {
	a, st, b, ok := c.asset(c.path("asset_id"))
	if !ok {
		return st, b
	}
	pg, st, b, ok := c.paging(10, c.s.opts.MaxPerPage)
	if !ok {
		return st, b
	}
	if segmentType == "" {
		segmentType = c.q("segment_type")
	}
	version := c.q("version_id")
	allVersions := c.qBool("include_all_versions", false)
	if version == "" && !allVersions {
		version = latestVersionID(a)
	}
	status := c.q("status")
	num := func(k string) (int64, bool) {
		v := c.q(k)
		if v == "" {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil
	}
	var items []Segment
	for _, id := range c.s.st.segIndex[a.ID] {
		sg := c.s.st.Segments[id]
		if sg == nil {
			continue
		}
		if segmentType != "" && !slices.Contains(strings.Split(segmentType, ","), sg.SegmentType) {
			continue
		}
		if version != "" && sg.VersionID != version {
			continue
		}
		if (status == "" && sg.Status == "DELETED") || (status != "" && sg.Status != status) {
			continue
		}
		if v := c.q("share_id"); v != "" && derefStr(sg.ShareID) != v {
			continue
		}
		if n, ok := num("time_start_milliseconds__gte"); ok && (sg.TimeStartMS == nil || *sg.TimeStartMS < n) {
			continue
		}
		if n, ok := num("time_end_milliseconds__lte"); ok && (sg.TimeEndMS == nil || *sg.TimeEndMS > n) {
			continue
		}
		items = append(items, *sg)
	}
	env, ok := pageOf(c, items, pg)
	if !ok {
		return c.fail(http.StatusNotFound, "Requested page does not exist")
	}
	return http.StatusOK, env
}

// ---- shares ----

func (c *call) shareObject() (string, int, any, bool) {
	id := c.path("object_id")
	switch c.objType {
	case "assets":
		if a := c.s.st.Assets[id]; a == nil || a.Status == "DELETED" {
			st, b := c.fail(http.StatusNotFound, "Asset does not exist")
			return "", st, b, false
		}
	case "collections":
		if col := c.s.st.Collections[id]; col == nil || col.Status == "DELETED" {
			st, b := c.fail(http.StatusNotFound, "Collection does not exist")
			return "", st, b, false
		}
	}
	return id, 0, nil, true
}

func (c *call) applyShare(sh *Share, p patch, requireFlags bool, fe fieldErrors) {
	flags := map[string]*bool{
		"allow_approving_comments": &sh.AllowApprovingComments, "allow_comments": &sh.AllowComments,
		"allow_download": &sh.AllowDownload, "allow_setting_approve_status": &sh.AllowSettingApproveStatus,
		"allow_custom_actions": &sh.AllowCustomActions, "allow_download_proxy": &sh.AllowDownloadProxy,
		"allow_upload": &sh.AllowUpload, "allow_user_search_for_mentions": &sh.AllowUserSearchForMentions,
		"allow_view_transcriptions": &sh.AllowViewTranscriptions, "allow_view_versions": &sh.AllowViewVersions,
	}
	for _, k := range sortedKeys(flags) {
		if requireFlags && !p.has(k) && (k == "allow_approving_comments" || k == "allow_comments" || k == "allow_download" || k == "allow_setting_approve_status") {
			fe.add(k, "Missing data for required field.")
		}
		p.boolean(k, flags[k], fe)
	}
	p.nstr("title", &sh.Title, fe)
	p.nstr("message", &sh.Message, fe)
	if p.has("expires") {
		var e *string
		p.nstr("expires", &e, fe)
		switch {
		case e == nil || *e == "":
			sh.Expires = ""
		case parseTime(*e).IsZero():
			fe.add("expires", "Not a valid datetime.")
		default:
			sh.Expires = fmtTime(parseTime(*e))
		}
	}
	for k, dst := range map[string]**bool{"is_approval": &sh.IsApproval, "show_watermark": &sh.ShowWatermark} {
		if p.has(k) {
			if p.isNull(k) {
				*dst = nil
				continue
			}
			var v bool
			p.boolean(k, &v, fe)
			*dst = &v
		}
	}
	if p.has("metadata_views") {
		var mv []string
		if err := json.Unmarshal(p["metadata_views"], &mv); err != nil {
			fe.add("metadata_views", "Not a valid list.")
		}
		sh.MetadataViews = mv
	}
}

func (c *call) createShare(withURL bool) (int, any) {
	objectID, st, b, ok := c.shareObject()
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	sh := &Share{}
	c.applyShare(sh, p, true, fe)
	var emails []string
	if !withURL {
		if !p.has("emails") {
			fe.add("emails", "Missing data for required field.")
		} else if err := json.Unmarshal(p["emails"], &emails); err != nil {
			fe.add("emails", "Not a valid list.")
		}
		for _, e := range emails {
			if _, err := mail.ParseAddress(e); err != nil {
				fe.add("emails", "Not a valid email address.")
				break
			}
		}
	}
	var password *string
	p.nstr("password", &password, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	now := c.s.stamp()
	sh.ID, sh.ObjectID, sh.ObjectType, sh.OwnerID = c.s.newID(), objectID, c.objType, c.user
	sh.SystemDomainID, sh.DateCreated, sh.HasPassword = c.s.opts.SystemDomainID, now, password != nil && *password != ""
	sec := shareSecret{Emails: emails, Hash: c.s.sign("share/" + sh.ID)[:32], Password: derefStr(password)}
	c.s.st.Shares[sh.ID] = sh
	c.s.st.ShareSecrets[sh.ID] = sec
	c.emit(c.objType, RealmShares, OpCreate, sh.ID, *sh)
	out := *sh
	if withURL {
		u := c.shareURL(sh)
		out.URL = &u
		return http.StatusOK, out
	}
	return http.StatusAccepted, out
}

// sharePrefix is where the share links the server hands out point.
const sharePrefix = "/share/"

func (c *call) shareURL(sh *Share) string {
	return c.base + sharePrefix + sh.ObjectType + "/" + sh.ObjectID + "/?hash=" + c.s.st.ShareSecrets[sh.ID].Hash
}

func (c *call) share() (*Share, int, any, bool) {
	sh := c.s.st.Shares[c.path("share_id")]
	if sh == nil || sh.ObjectID != c.path("object_id") || sh.ObjectType != c.objType {
		st, b := c.fail(http.StatusNotFound, "Share does not exist")
		return nil, st, b, false
	}
	return sh, 0, nil, true
}

func (c *call) listObjectShares() (int, any) {
	objectID, st, b, ok := c.shareObject()
	if !ok {
		return st, b
	}
	out := []Share{}
	for _, sh := range sortedByCreated(c.s.st.Shares, func(x *Share) (string, string) { return x.DateCreated, x.ID }) {
		if sh.ObjectID == objectID && sh.ObjectType == c.objType {
			out = append(out, *sh)
		}
	}
	return http.StatusOK, map[string]any{"objects": out}
}

func (c *call) getShare() (int, any) {
	sh, st, b, ok := c.share()
	if !ok {
		return st, b
	}
	users := []map[string]any{}
	for _, e := range c.s.st.ShareSecrets[sh.ID].Emails {
		users = append(users, map[string]any{"id": c.s.sign("share-user/" + sh.ID + "/" + e)[:32], "email": e,
			"object_id": sh.ObjectID, "object_type": sh.ObjectType, "share_id": sh.ID})
	}
	out := toMap(*sh)
	out["url"] = c.shareURL(sh)
	out["users"] = users
	return http.StatusOK, out
}

func (c *call) updateShare() (int, any) {
	sh, st, b, ok := c.share()
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	next := *sh
	c.applyShare(&next, p, false, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	*sh = next
	c.emit(sh.ObjectType, RealmShares, OpUpdate, sh.ID, *sh)
	return http.StatusOK, *sh
}

func (c *call) deleteShare() (int, any) {
	sh, st, b, ok := c.share()
	if !ok {
		return st, b
	}
	view := *sh
	delete(c.s.st.Shares, sh.ID)
	delete(c.s.st.ShareSecrets, sh.ID)
	c.emit(view.ObjectType, RealmShares, OpDelete, view.ID, view)
	return http.StatusNoContent, nil
}

func (c *call) listMyShares() (int, any) {
	pg, st, b, ok := c.paging(10, 100)
	if !ok {
		return st, b
	}
	var items []Share
	for _, sh := range sortedByCreated(c.s.st.Shares, func(x *Share) (string, string) { return x.DateCreated, x.ID }) {
		if c.r.URL.Path == "/API/assets/v1/shares/" && sh.OwnerID != c.user {
			continue
		}
		if v := c.q("object_id"); v != "" && sh.ObjectID != v {
			continue
		}
		if v := c.q("object_type"); v != "" && sh.ObjectType != v {
			continue
		}
		items = append(items, *sh)
	}
	env, ok := pageOf(c, items, pg)
	if !ok {
		return c.fail(http.StatusNotFound, "Requested page does not exist")
	}
	docs := make([]map[string]any, 0, len(items))
	for _, sh := range env.Objects.([]Share) {
		m := toMap(sh)
		m["is_approval"] = sh.IsApproval != nil && *sh.IsApproval
		m["url"] = c.shareURL(&sh)
		if a := c.s.st.Assets[sh.ObjectID]; a != nil {
			m["object_title"] = a.Title
		} else if col := c.s.st.Collections[sh.ObjectID]; col != nil {
			m["object_title"] = col.Title
		}
		docs = append(docs, m)
	}
	env.Objects = docs
	return http.StatusOK, env
}

// serveSharePage serves the review page a share link opens (a stand-in page).
func (s *Server) serveSharePage(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, sharePrefix), "/"), "/")
	hash := r.URL.Query().Get("hash")
	s.mu.Lock()
	var found *Share
	if len(parts) == 2 {
		for id, sh := range s.st.Shares {
			if sh.ObjectType == parts[0] && sh.ObjectID == parts[1] && hmac.Equal([]byte(s.st.ShareSecrets[id].Hash), []byte(hash)) {
				cp := *sh
				found = &cp
			}
		}
	}
	expired := found != nil && found.Expires != "" && parseTime(found.Expires).Before(s.now())
	title := ""
	if found != nil {
		if a := s.st.Assets[found.ObjectID]; a != nil {
			title = a.Title
		} else if col := s.st.Collections[found.ObjectID]; col != nil {
			title = col.Title
		}
	}
	s.mu.Unlock()
	switch {
	case found == nil:
		http.Error(w, "share not found", http.StatusNotFound)
	case expired:
		http.Error(w, "share expired", http.StatusGone)
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!doctype html><title>iconik share</title><h1>" + htmlEscape(title) + "</h1><p>Shared " + htmlEscape(found.ObjectType) + " (sandbox)</p>"))
	}
}

func htmlEscape(v string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(v)
}

func (s *Server) sign(v string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(v))
	return hex.EncodeToString(m.Sum(nil))
}

// ---- approvals ----

func approvalKey(objectType, objectID, versionID string) string {
	return objectType + "/" + objectID + "/" + versionID
}

// approvalTarget resolves the object and the version approvals apply to:
// writes always target the asset's current (latest) version.
func (c *call) approvalTarget(versionID string) (string, string, int, any, bool) {
	id := c.path("object_id")
	switch c.objType {
	case "assets":
		a := c.s.st.Assets[id]
		if a == nil {
			st, b := c.fail(http.StatusNotFound, "Asset does not exist")
			return "", "", st, b, false
		}
		if versionID == "" {
			versionID = latestVersionID(a)
		} else if findVersion(a, versionID) == nil {
			st, b := c.fail(http.StatusNotFound, "Version does not exist")
			return "", "", st, b, false
		}
		return id, versionID, 0, nil, true
	case "collections":
		if c.s.st.Collections[id] == nil {
			st, b := c.fail(http.StatusNotFound, "Collection does not exist")
			return "", "", st, b, false
		}
	}
	return id, "", 0, nil, true
}

// overallStatus derives the request status from the decisions (UNCONFIRMED
// rule: any approval plus any rejection is MIXED; only rejections is
// NOT_APPROVED; at least min_number approvals is APPROVED).
func overallStatus(ap *Approval) string {
	approved, rejected := 0, 0
	for _, d := range ap.ApprovalsBy {
		switch d.Status {
		case ApprovalApproved:
			approved++
		case ApprovalNotApproved:
			rejected++
		}
	}
	switch {
	case approved > 0 && rejected > 0:
		return ApprovalMixed
	case rejected > 0:
		return ApprovalNotApproved
	case approved >= max(ap.MinNumber, 1):
		return ApprovalApproved
	case ap.RequestDate != "":
		return ApprovalRequested
	case approved > 0:
		return ApprovalRequested
	}
	return ApprovalNA
}

func (c *call) approvalView(ap *Approval) Approval {
	out := *ap
	out.ApprovalsBy = append([]ApprovalBy{}, ap.ApprovalsBy...)
	out.Users = append([]string{}, ap.Users...)
	out.Groups = append([]string{}, ap.Groups...)
	out.Externals = append([]string{}, ap.Externals...)
	out.UserStatus = nil
	for _, d := range ap.ApprovalsBy {
		if d.User == c.user {
			out.UserStatus = strPtr(d.Status)
		}
	}
	return out
}

func (c *call) applyApprovalRequest(ap *Approval, p patch, fe fieldErrors) {
	for k, dst := range map[string]*[]string{"users": &ap.Users, "groups": &ap.Groups, "externals": &ap.Externals} {
		if p.has(k) {
			var v []string
			if err := json.Unmarshal(p[k], &v); err != nil {
				fe.add(k, "Not a valid list.")
				continue
			}
			*dst = v
		}
	}
	if p.has("min_number") {
		var n int
		if err := json.Unmarshal(p["min_number"], &n); err != nil || n < 1 {
			fe.add("min_number", "Must be greater than or equal to 1.")
		} else {
			ap.MinNumber = n
		}
	}
	p.nstr("share_id", &ap.ShareID, fe)
}

func (c *call) getApprovalRequest() (int, any) {
	id, ver, st, b, ok := c.approvalTarget(c.path("version_id"))
	if !ok {
		return st, b
	}
	ap := c.s.st.Approvals[approvalKey(c.objType, id, ver)]
	if ap == nil || ap.RequestDate == "" {
		return c.fail(http.StatusNotFound, "Approval request does not exist")
	}
	return http.StatusOK, c.approvalView(ap)
}

// requestApproval creates (or renews) the request on the current version;
// a renewed request starts a new round with no decisions.
func (c *call) requestApproval(objectType, id, ver string, p patch) (*Approval, fieldErrors) {
	fe := fieldErrors{}
	ap := &Approval{ObjectID: id, ObjectType: objectType, VersionID: ver, MinNumber: 1,
		Users: []string{}, Groups: []string{}, Externals: []string{}, ApprovalsBy: []ApprovalBy{}}
	c.applyApprovalRequest(ap, p, fe)
	if len(fe) > 0 {
		return nil, fe
	}
	now := c.s.stamp()
	ap.RequestedBy, ap.RequestDate, ap.ChangeDate = c.user, now, now
	ap.Status = overallStatus(ap)
	key := approvalKey(objectType, id, ver)
	op := OpCreate
	if c.s.st.Approvals[key] != nil {
		op = OpUpdate
	}
	c.s.st.Approvals[key] = ap
	c.emit(objectType, RealmApprovals, op, id, c.approvalView(ap))
	return ap, nil
}

func (c *call) createApprovalRequest() (int, any) {
	id, ver, st, b, ok := c.approvalTarget("")
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	ap, fe := c.requestApproval(c.objType, id, ver, p)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	return http.StatusCreated, c.approvalView(ap)
}

func (c *call) editApprovalRequest() (int, any) {
	id, ver, st, b, ok := c.approvalTarget("")
	if !ok {
		return st, b
	}
	ap := c.s.st.Approvals[approvalKey(c.objType, id, ver)]
	if ap == nil || ap.RequestDate == "" {
		return c.fail(http.StatusNotFound, "Approval request does not exist")
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	next := *ap
	c.applyApprovalRequest(&next, p, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	next.ChangeDate = c.s.stamp()
	next.Status = overallStatus(&next)
	*ap = next
	c.emit(c.objType, RealmApprovals, OpUpdate, id, c.approvalView(ap))
	return http.StatusOK, c.approvalView(ap)
}

func (c *call) deleteApprovalRequest() (int, any) {
	id, ver, st, b, ok := c.approvalTarget("")
	if !ok {
		return st, b
	}
	key := approvalKey(c.objType, id, ver)
	ap := c.s.st.Approvals[key]
	if ap == nil {
		return c.fail(http.StatusNotFound, "Approval request does not exist")
	}
	delete(c.s.st.Approvals, key)
	view := c.approvalView(ap)
	view.Status = ApprovalNA
	c.emit(c.objType, RealmApprovals, OpDelete, id, view)
	return http.StatusOK, view
}

func (c *call) listApprovals() (int, any) {
	id, ver, st, b, ok := c.approvalTarget(c.path("version_id"))
	if !ok {
		return st, b
	}
	pg, st, b, ok := c.paging(10, 100)
	if !ok {
		return st, b
	}
	var items []ApprovalBy
	if ap := c.s.st.Approvals[approvalKey(c.objType, id, ver)]; ap != nil {
		items = append(items, ap.ApprovalsBy...)
	}
	env, ok := pageOf(c, items, pg)
	if !ok {
		return c.fail(http.StatusNotFound, "Requested page does not exist")
	}
	return http.StatusOK, env
}

// setDecision records one reviewer's decision on the current version.
func (c *call) setDecision(objectType, id, ver string, d ApprovalBy) (*Approval, string) {
	key := approvalKey(objectType, id, ver)
	ap := c.s.st.Approvals[key]
	if ap == nil {
		if *c.s.opts.RequireApprovalRequest {
			return nil, "Approval request does not exist"
		}
		ap = &Approval{ObjectID: id, ObjectType: objectType, VersionID: ver, MinNumber: 1, Users: []string{},
			Groups: []string{}, Externals: []string{}, ApprovalsBy: []ApprovalBy{}}
		c.s.st.Approvals[key] = ap
	}
	now := c.s.stamp()
	d.ObjectID, d.ObjectType, d.VersionID, d.ChangeDate = id, objectType, ver, now
	ap.ApprovalsBy = slices.DeleteFunc(ap.ApprovalsBy, func(x ApprovalBy) bool {
		return (d.User != "" && x.User == d.User) || (d.External != "" && x.External == d.External)
	})
	if d.Status != ApprovalNA {
		ap.ApprovalsBy = append(ap.ApprovalsBy, d)
	}
	before := ap.Status
	ap.Status = overallStatus(ap)
	ap.ChangeDate = now
	if objectType == "assets" {
		op := map[string]string{ApprovalApproved: "APPROVE", ApprovalNotApproved: "REJECT"}[d.Status]
		if op != "" {
			c.addHistory(id, ver, op, "", "")
		}
	}
	data := toMap(c.approvalView(ap))
	data["previous_status"] = before
	data["approval_by"] = d
	c.emit(objectType, RealmApprovals, OpUpdate, id, data)
	return ap, ""
}

func (c *call) putApproval() (int, any) {
	id, ver, st, b, ok := c.approvalTarget("")
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	d := ApprovalBy{Status: ""}
	if !p.has("status") {
		fe.add("status", "Missing data for required field.")
	}
	p.enum("status", &d.Status, approvalStatuses, fe)
	p.str("external", &d.External, fe)
	var user string
	p.uuid("user", &user, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	if d.External == "" {
		d.User = firstNonEmpty(user, c.user)
	}
	if _, msg := c.setDecision(c.objType, id, ver, d); msg != "" {
		return c.fail(http.StatusBadRequest, msg)
	}
	d.ObjectID, d.ObjectType, d.VersionID, d.ChangeDate = id, c.objType, ver, c.s.stamp()
	return http.StatusOK, d
}

func (c *call) deleteApprovals(match func(ApprovalBy) bool) (int, any) {
	id, ver, st, b, ok := c.approvalTarget("")
	if !ok {
		return st, b
	}
	ap := c.s.st.Approvals[approvalKey(c.objType, id, ver)]
	if ap == nil {
		return c.fail(http.StatusNotFound, "Approval does not exist")
	}
	ap.ApprovalsBy = slices.DeleteFunc(ap.ApprovalsBy, match)
	ap.Status = overallStatus(ap)
	ap.ChangeDate = c.s.stamp()
	c.emit(c.objType, RealmApprovals, OpUpdate, id, c.approvalView(ap))
	return http.StatusNoContent, nil
}

func (c *call) bulkApproval(remove bool) (int, any) {
	var in struct {
		ObjectType string   `json:"object_type"`
		ObjectIDs  []string `json:"object_ids"`
		Status     string   `json:"status"`
	}
	if st, b, ok := c.decode(&in); !ok {
		return st, b
	}
	if in.ObjectType != "assets" && in.ObjectType != "collections" && in.ObjectType != "saved_searches" {
		return c.invalid("object_type", "Must be one of: assets, collections, saved_searches.")
	}
	if in.ObjectIDs == nil {
		return c.invalid("object_ids", "Missing data for required field.")
	}
	if !remove && in.Status != ApprovalApproved && in.Status != ApprovalNotApproved {
		return c.invalid("status", "Must be one of: APPROVED, NOT_APPROVED.")
	}
	for _, id := range in.ObjectIDs {
		ver := ""
		if in.ObjectType == "assets" {
			a := c.s.st.Assets[id]
			if a == nil {
				continue
			}
			ver = latestVersionID(a)
		} else if in.ObjectType == "collections" && c.s.st.Collections[id] == nil {
			continue
		}
		key := approvalKey(in.ObjectType, id, ver)
		if remove {
			if ap := c.s.st.Approvals[key]; ap != nil {
				delete(c.s.st.Approvals, key)
				view := c.approvalView(ap)
				view.Status = ApprovalNA
				c.emit(in.ObjectType, RealmApprovals, OpDelete, id, view)
			}
			continue
		}
		if c.s.st.Approvals[key] == nil {
			c.requestApproval(in.ObjectType, id, ver, patch{})
		}
		c.setDecision(in.ObjectType, id, ver, ApprovalBy{Status: in.Status, User: c.user})
	}
	return http.StatusOK, nil
}
