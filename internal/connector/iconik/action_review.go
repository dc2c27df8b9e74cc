package iconik

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// ---- get_approval ----

var approvalOutput = []connector.Field{
	{Name: "status", Type: str, Doc: "Overall status of the version: N/A, REQUESTED, APPROVED, NOT_APPROVED or MIXED."},
	{Name: "version_id", Type: str},
	{Name: "requested", Type: connector.Bool, Doc: "Whether an approval request exists on the version."},
	{Name: "requested_by", Type: str},
	{Name: "request_date", Type: str},
	{Name: "users", Type: connector.List, Doc: "Reviewers (user ids) of the request."},
	{Name: "min_number", Type: connector.Int},
	{Name: "decisions", Type: connector.List, Doc: "{status, user, external, change_date} per reviewer."},
	{Name: "object", Type: str},
}

var actGetApproval = action{
	spec: connector.ActionSpec{
		Name: "get_approval", Title: "Get approval status", Idempotent: true,
		Doc: "Reads the approval request and the reviewers' decisions of an asset version (default the current one).",
		Input: []connector.Field{
			{Name: "asset_id", Type: str, Required: true, Doc: "The asset's id."},
			{Name: "version_id", Type: str, Doc: "The version (default the current one)."},
		},
		Output: approvalOutput,
		Examples: []connector.Example{{Input: map[string]any{"asset_id": "9f0c…"},
			Output: map[string]any{"status": "APPROVED", "version_id": "1b2c…", "requested": true}}},
	},
	run: (*Conn).getApproval,
}

func (c *Conn) getApproval(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	id := inStr(req.Input, "asset_id")
	a, err := c.api.GetAsset(ctx, id, false)
	if err != nil {
		return nil, err
	}
	vid := inStr(req.Input, "version_id")
	if vid == "" {
		vid = a.CurrentVersionID()
	} else if !hasVersion(a, vid) {
		return nil, fault.Errorf(fault.NotFound, "asset %s has no version %s", id, vid)
	}
	out, _, _, err := c.approvalState(ctx, id, vid)
	if err != nil {
		return nil, err
	}
	return &connector.Result{Output: out}, nil
}

// approvalState reads the request and decisions of a version; the request
// is nil when there is none.
func (c *Conn) approvalState(ctx context.Context, assetID, vid string) (map[string]any, *iconikapi.Approval, []iconikapi.ApprovalBy, error) {
	ap, err := c.api.GetApprovalRequest(ctx, "assets", assetID, vid)
	if err != nil && !fault.Is(err, fault.NotFound) {
		return nil, nil, nil, err
	}
	if err != nil {
		ap = nil
	}
	decisions, err := c.api.ListDecisions(ctx, "assets", assetID, vid)
	if err != nil && !fault.Is(err, fault.NotFound) {
		return nil, nil, nil, err
	}
	out := map[string]any{"status": "N/A", "version_id": vid, "requested": ap != nil, "requested_by": nil,
		"request_date": nil, "users": []any{}, "min_number": nil, "object": assetRef(assetID)}
	if ap != nil {
		out["status"], out["requested_by"], out["request_date"] = ap.Status, nilIfEmpty(ap.RequestedBy), nilIfEmpty(ap.RequestDate)
		out["users"], out["min_number"] = stringsAny(ap.Users), ap.MinNumber
	}
	ds := make([]any, 0, len(decisions))
	for _, d := range decisions {
		ds = append(ds, map[string]any{"status": d.Status, "user": nilIfEmpty(d.User), "external": nilIfEmpty(d.External), "change_date": d.ChangeDate})
	}
	out["decisions"] = ds
	return out, ap, decisions, nil
}

// ---- set_approval ----

var actSetApproval = action{
	spec: connector.ActionSpec{
		Name: "set_approval", Title: "Set approval status", Writes: true, Idempotent: true,
		Doc: "Records an approval decision (APPROVED or NOT_APPROVED) on the asset's current version, as the " +
			"connection's user or on behalf of user or external. iconik records decisions on the current version " +
			"only; naming another version_id fails. With no request on the version, one is created first unless " +
			"request_if_missing is false. Nothing is written when the same decision is already recorded.",
		Input: []connector.Field{
			{Name: "asset_id", Type: str, Required: true, Doc: "The asset's id."},
			{Name: "status", Type: str, Required: true, Enum: []any{"APPROVED", "NOT_APPROVED"}, Doc: "The decision."},
			{Name: "version_id", Type: str, Doc: "The version the decision is meant for; must be the current one."},
			{Name: "user", Type: str, Doc: "Decide for this user id (default the connection's user)."},
			{Name: "external", Type: str, Doc: "Decide for this external reviewer (e-mail) instead."},
			{Name: "request_if_missing", Type: connector.Bool, Default: true, Doc: "Create an approval request first when there is none."},
		},
		Output: append(append([]connector.Field{}, approvalOutput...), connector.Field{Name: "changed", Type: connector.Bool}),
		Examples: []connector.Example{{
			Title: "Approve the reviewed version", Input: map[string]any{"asset_id": "${{ trigger.data.asset_id }}", "status": "APPROVED", "version_id": "${{ trigger.data.version_id }}"},
			Output: map[string]any{"status": "APPROVED", "version_id": "1b2c…", "changed": true},
		}},
	},
	run: (*Conn).setApproval,
}

func (c *Conn) setApproval(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	id, status := inStr(in, "asset_id"), inStr(in, "status")
	a, err := c.api.GetAsset(ctx, id, false)
	if err != nil {
		return nil, err
	}
	cur := a.CurrentVersionID()
	if vid := inStr(in, "version_id"); vid != "" && vid != cur {
		if !hasVersion(a, vid) {
			return nil, fault.Errorf(fault.NotFound, "asset %s has no version %s", id, vid)
		}
		return nil, invalid("version %s is not the current version of asset %s (%s): iconik records decisions on the current version only", vid, id, cur)
	}
	d := iconikapi.ApprovalBy{Status: status, User: inStr(in, "user"), External: inStr(in, "external")}
	who := d.User
	if d.External == "" && who == "" {
		if who, err = c.self(ctx); err != nil {
			return nil, err
		}
	}
	_, ap, decisions, err := c.approvalState(ctx, id, cur)
	if err != nil {
		return nil, err
	}
	res := &connector.Result{}
	done := slices.ContainsFunc(decisions, func(x iconikapi.ApprovalBy) bool {
		return x.Status == status && ((d.External != "" && x.External == d.External) || (d.External == "" && x.User == who))
	})
	if !done {
		if ap == nil && boolOr(in, "request_if_missing", true) {
			body := map[string]any{"min_number": 1}
			if d.External == "" {
				body["users"] = []string{who}
			} else {
				body["externals"] = []string{d.External}
			}
			rq, err := c.api.RequestApproval(ctx, "assets", id, body)
			if err != nil {
				return nil, err
			}
			res.Writes = append(res.Writes, connector.Write{Object: assetRef(id), Op: "request_approval",
				Hash: approvalHash(assetRef(id), cur, rq.Status), Summary: map[string]any{"status": rq.Status, "automatic": true}})
		}
		if _, err := c.api.SetApproval(ctx, "assets", id, d); err != nil {
			return nil, err
		}
	}
	out, after, _, err := c.approvalState(ctx, id, cur)
	if err != nil {
		return nil, err
	}
	if !done {
		overall := status
		if after != nil {
			overall = after.Status
		}
		res.Writes = append(res.Writes, connector.Write{Object: assetRef(id), Op: "set_approval",
			Hash:    approvalHash(assetRef(id), cur, overall),
			Summary: map[string]any{"decision": status, "status": overall, "version_id": cur}})
	}
	out["changed"] = !done
	res.Output = out
	return res, nil
}

func boolOr(in map[string]any, k string, def bool) bool {
	if b, ok := in[k].(bool); ok {
		return b
	}
	return def
}

// ---- request_approval ----

var actRequestApproval = action{
	spec: connector.ActionSpec{
		Name: "request_approval", Title: "Request approval", Writes: true, Idempotent: true,
		Doc: "Asks reviewers to approve the asset's current version. An existing request on the version with the " +
			"same reviewers is kept (nothing written) unless new_round is true, which starts a new round with no " +
			"decisions (a re-executed step with new_round can start a second round).",
		Input: []connector.Field{
			{Name: "asset_id", Type: str, Required: true, Doc: "The asset's id."},
			{Name: "users", Type: connector.List, Items: &connector.Field{Type: str}, Doc: "Reviewer user ids."},
			{Name: "groups", Type: connector.List, Items: &connector.Field{Type: str}, Doc: "Reviewer group ids."},
			{Name: "externals", Type: connector.List, Items: &connector.Field{Type: str}, Doc: "External reviewers' e-mails."},
			{Name: "min_number", Type: connector.Int, Default: 1, Doc: "Approvals needed."},
			{Name: "new_round", Type: connector.Bool, Default: false, Doc: "Start a new round even when a request with these reviewers exists."},
		},
		Output: append(append([]connector.Field{}, approvalOutput...), connector.Field{Name: "created", Type: connector.Bool}),
		Examples: []connector.Example{{Input: map[string]any{"asset_id": "9f0c…", "users": []any{"2d3e…"}},
			Output: map[string]any{"status": "REQUESTED", "version_id": "1b2c…", "created": true}}},
	},
	run: (*Conn).requestApproval,
}

func (c *Conn) requestApproval(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	id := inStr(in, "asset_id")
	a, err := c.api.GetAsset(ctx, id, false)
	if err != nil {
		return nil, err
	}
	cur := a.CurrentVersionID()
	users, groups, externals := stringList(in["users"]), stringList(in["groups"]), stringList(in["externals"])
	minN, ok := inInt(in, "min_number")
	if !ok || minN < 1 {
		minN = 1
	}
	_, ap, _, err := c.approvalState(ctx, id, cur)
	if err != nil {
		return nil, err
	}
	res := &connector.Result{}
	created := false
	if ap == nil || inBool(in, "new_round") || !sameSet(ap.Users, users) || !sameSet(ap.Groups, groups) || !sameSet(ap.Externals, externals) || int64(ap.MinNumber) != minN {
		body := map[string]any{"users": users, "groups": groups, "externals": externals, "min_number": minN}
		rq, err := c.api.RequestApproval(ctx, "assets", id, body)
		if err != nil {
			return nil, err
		}
		created = true
		res.Writes = append(res.Writes, connector.Write{Object: assetRef(id), Op: "request_approval",
			Hash:    approvalHash(assetRef(id), cur, rq.Status),
			Summary: map[string]any{"users": len(users), "groups": len(groups), "externals": len(externals), "min_number": minN}})
	}
	out, _, _, err := c.approvalState(ctx, id, cur)
	if err != nil {
		return nil, err
	}
	out["created"] = created
	res.Output = out
	return res, nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}

// ---- add_comment ----

var actAddComment = action{
	spec: connector.ActionSpec{
		Name: "add_comment", Title: "Comment on a version", Writes: true, Idempotent: true,
		Doc: "Adds a time-coded comment (a COMMENT segment, or another segment type) to an asset version. The step's " +
			"idempotency key is stored in the segment's external_id, so a re-executed step finds its comment instead " +
			"of adding it twice. Times are milliseconds or time codes HH:MM:SS[.mmm] or HH:MM:SS:FF (frames at frame_rate).",
		Input: []connector.Field{
			{Name: "asset_id", Type: str, Required: true, Doc: "The asset's id."},
			{Name: "text", Type: str, Required: true, Doc: "The comment."},
			{Name: "version_id", Type: str, Doc: "The version (default the current one)."},
			{Name: "start_ms", Type: connector.Int, Doc: "Start in milliseconds."},
			{Name: "end_ms", Type: connector.Int, Doc: "End in milliseconds (default the start)."},
			{Name: "start_timecode", Type: str, Doc: "Start as a time code, instead of start_ms.", Example: "00:00:12:05"},
			{Name: "end_timecode", Type: str, Doc: "End as a time code, instead of end_ms."},
			{Name: "frame_rate", Type: connector.Number, Default: 25, Doc: "Frames per second of HH:MM:SS:FF time codes."},
			{Name: "parent_id", Type: str, Doc: "Reply to this comment."},
			{Name: "segment_type", Type: str, Default: "COMMENT", Enum: []any{"COMMENT", "MARKER", "QC", "GENERIC", "TAG"}, Doc: "Segment type."},
		},
		Output: []connector.Field{
			{Name: "id", Type: str, Doc: "The segment's id."},
			{Name: "asset_id", Type: str},
			{Name: "version_id", Type: str},
			{Name: "time_start_ms", Type: connector.Int},
			{Name: "time_end_ms", Type: connector.Int},
			{Name: "created", Type: connector.Bool, Doc: "False when the step's comment already existed."},
			{Name: "object", Type: str, Doc: "iconik:asset/<id>/segment/<segment id>."},
		},
		Examples: []connector.Example{{
			Title:  "Reviewer feedback on the version under review",
			Input:  map[string]any{"asset_id": "9f0c…", "version_id": "1b2c…", "text": "Logo too small", "start_timecode": "00:00:12:05", "end_timecode": "00:00:14:00"},
			Output: map[string]any{"id": "5a6b…", "version_id": "1b2c…", "time_start_ms": 12200, "time_end_ms": 14000, "created": true},
		}},
	},
	run: (*Conn).addComment,
}

func (c *Conn) addComment(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	id := inStr(in, "asset_id")
	fps := number(in["frame_rate"])
	if fps <= 0 {
		fps = 25
	}
	start, hasStart, err := timeInput(in, "start_ms", "start_timecode", fps)
	if err != nil {
		return nil, err
	}
	end, hasEnd, err := timeInput(in, "end_ms", "end_timecode", fps)
	if err != nil {
		return nil, err
	}
	if hasStart && !hasEnd {
		end, hasEnd = start, true
	}
	if hasStart && end < start {
		return nil, invalid("end (%d ms) is before start (%d ms)", end, start)
	}
	segType := inStr(in, "segment_type")
	if segType == "" {
		segType = "COMMENT"
	}
	vid := inStr(in, "version_id")
	marker := ""
	if req.IdempotencyKey != "" {
		marker = "patchbay:" + req.IdempotencyKey
		var found *iconikapi.Segment
		err := c.api.EachSegmentAll(ctx, id, segType, func(s iconikapi.Segment) bool {
			if deref(s.ExternalID) == marker {
				found = &s
				return false
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		if found != nil {
			return &connector.Result{Output: commentOutput(id, found, false)}, nil
		}
	}
	text := inStr(in, "text")
	seg := &iconikapi.Segment{SegmentType: segType, SegmentText: &text, VersionID: vid, ParentID: inStr(in, "parent_id")}
	if hasStart {
		seg.TimeStartMS, seg.TimeEndMS = &start, &end
	}
	if marker != "" {
		seg.ExternalID = &marker
	}
	s, err := c.api.CreateSegment(ctx, id, seg)
	if err != nil {
		return nil, err
	}
	if s.AssetID == "" {
		s.AssetID = id
	}
	summary := map[string]any{"segment_id": s.ID, "segment_type": segType, "chars": len(text)}
	if hasStart {
		summary["start_ms"], summary["end_ms"] = start, end
	}
	return &connector.Result{Output: commentOutput(id, s, true), Writes: []connector.Write{{
		Object: assetRef(id), Op: "comment", Hash: segmentHash("create", s), Summary: summary,
	}}}, nil
}

func commentOutput(assetID string, s *iconikapi.Segment, created bool) map[string]any {
	out := map[string]any{"id": s.ID, "asset_id": assetID, "version_id": s.VersionID, "created": created,
		"time_start_ms": nil, "time_end_ms": nil, "object": segmentRef(assetID, s.ID)}
	if s.TimeStartMS != nil {
		out["time_start_ms"] = *s.TimeStartMS
	}
	if s.TimeEndMS != nil {
		out["time_end_ms"] = *s.TimeEndMS
	}
	return out
}

// timeInput reads a time in milliseconds from msKey or a time code in tcKey.
func timeInput(in map[string]any, msKey, tcKey string, fps float64) (int64, bool, error) {
	if ms, ok := inInt(in, msKey); ok {
		if ms < 0 {
			return 0, false, invalid("%s: negative", msKey)
		}
		return ms, true, nil
	}
	tc := inStr(in, tcKey)
	if tc == "" {
		return 0, false, nil
	}
	ms, err := parseTimecode(tc, fps)
	if err != nil {
		return 0, false, invalid("%s: %v", tcKey, err)
	}
	return ms, true, nil
}

// parseTimecode reads HH:MM:SS, HH:MM:SS.mmm or HH:MM:SS:FF (or ;FF) into milliseconds.
func parseTimecode(tc string, fps float64) (int64, error) {
	tc = strings.ReplaceAll(tc, ";", ":")
	parts := strings.Split(tc, ":")
	if len(parts) != 3 && len(parts) != 4 {
		return 0, fmt.Errorf("time code %q: want HH:MM:SS[.mmm] or HH:MM:SS:FF", tc)
	}
	var h, m int64
	var err error
	if h, err = strconv.ParseInt(parts[0], 10, 64); err != nil || h < 0 {
		return 0, fmt.Errorf("time code %q: bad hours", tc)
	}
	if m, err = strconv.ParseInt(parts[1], 10, 64); err != nil || m < 0 || m > 59 {
		return 0, fmt.Errorf("time code %q: bad minutes", tc)
	}
	sec, err := strconv.ParseFloat(parts[2], 64)
	if err != nil || sec < 0 || sec >= 60 {
		return 0, fmt.Errorf("time code %q: bad seconds", tc)
	}
	ms := (h*3600+m*60)*1000 + int64(sec*1000+0.5)
	if len(parts) == 4 {
		f, err := strconv.ParseInt(parts[3], 10, 64)
		if err != nil || f < 0 || float64(f) >= fps {
			return 0, fmt.Errorf("time code %q: bad frame number at %v fps", tc, fps)
		}
		ms += int64(float64(f)*1000/fps + 0.5)
	}
	return ms, nil
}

// ---- create_share / delete_share ----

var actCreateShare = action{
	spec: connector.ActionSpec{
		Name: "create_share", Title: "Create a share link", Writes: true, Idempotent: true,
		Doc: "Shares an asset or collection: a link returned in url, or, with emails, a share iconik e-mails. With " +
			"reuse (the default) an existing unexpired share of the object with the same title and permissions is " +
			"returned instead of a new one, so a re-executed step creates nothing twice. The password is never returned.",
		Input: []connector.Field{
			{Name: "object_id", Type: str, Required: true, Doc: "The asset's or collection's id."},
			objectTypeField,
			{Name: "title", Type: str, Doc: "Title shown on the share page."},
			{Name: "message", Type: str, Doc: "Message for the recipients."},
			{Name: "expires", Type: str, Doc: "Expiry as an RFC 3339 time.", Example: "2026-07-01T00:00:00Z"},
			{Name: "expires_in", Type: connector.Duration, Doc: "Expiry relative to now (\"7d\"), instead of expires."},
			{Name: "emails", Type: connector.List, Items: &connector.Field{Type: str}, Doc: "Recipients iconik e-mails; empty: a link only."},
			{Name: "allow_download", Type: connector.Bool, Default: false, Doc: "Visitors may download the original."},
			{Name: "allow_comments", Type: connector.Bool, Default: true, Doc: "Visitors may comment."},
			{Name: "allow_approving_comments", Type: connector.Bool, Default: false, Doc: "Visitors may approve comments."},
			{Name: "allow_setting_approve_status", Type: connector.Bool, Default: false, Doc: "Visitors may approve or reject."},
			{Name: "password", Type: str, Secret: true, Doc: "Password protecting the share."},
			{Name: "reuse", Type: connector.Bool, Default: true, Doc: "Return a matching existing share instead of creating one."},
		},
		Output: []connector.Field{
			{Name: "id", Type: str, Doc: "The share's id."},
			{Name: "url", Type: str, Doc: "The link (null for e-mailed shares, whose links iconik sends)."},
			{Name: "expires", Type: str},
			{Name: "created", Type: connector.Bool},
			{Name: "object", Type: str},
		},
		Examples: []connector.Example{{
			Title:  "Delivery link for a request's collection",
			Input:  map[string]any{"object_id": "c0ll…", "object_type": "collections", "title": "Spring delivery", "expires_in": "14d", "allow_download": true},
			Output: map[string]any{"id": "5h4r…", "url": "https://app.iconik.io/share/collections/c0ll…/?hash=…", "created": true},
		}},
	},
	run: (*Conn).createShare,
}

func (c *Conn) createShare(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	ot, id := inStr(in, "object_type"), inStr(in, "object_id")
	r := &iconikapi.ShareRequest{
		AllowDownload: inBool(in, "allow_download"), AllowComments: boolOr(in, "allow_comments", true),
		AllowApprovingComments: inBool(in, "allow_approving_comments"), AllowSettingApproveStatus: inBool(in, "allow_setting_approve_status"),
		Title: inStr(in, "title"), Message: inStr(in, "message"), Password: inStr(in, "password"), Emails: stringList(in["emails"]),
	}
	var absolute time.Time
	if e := inStr(in, "expires"); e != "" {
		t, err := time.Parse(time.RFC3339, e)
		if err != nil {
			return nil, invalid("expires %q: want an RFC 3339 time", e)
		}
		absolute = t.UTC()
		r.Expires = absolute.Format(time.RFC3339)
	} else if e := inStr(in, "expires_in"); e != "" {
		d, err := connector.ParseDuration(e)
		if err != nil {
			return nil, invalid("expires_in: %v", err)
		}
		r.Expires = c.now().UTC().Add(d).Truncate(time.Second).Format(time.RFC3339)
	}
	if boolOr(in, "reuse", true) {
		shares, err := c.api.ListShares(ctx, ot, id)
		if err != nil {
			return nil, err
		}
		for i := range shares {
			sh := &shares[i]
			if !sameShare(sh, r, absolute, c.now()) {
				continue
			}
			full, err := c.api.GetShare(ctx, ot, id, sh.ID)
			if err != nil {
				return nil, err
			}
			return &connector.Result{Output: shareOutput(ot, id, full, false)}, nil
		}
	}
	sh, err := c.api.CreateShare(ctx, ot, id, r)
	if err != nil {
		return nil, err
	}
	if sh.ObjectID == "" {
		sh.ObjectID, sh.ObjectType = id, ot
	}
	return &connector.Result{Output: shareOutput(ot, id, sh, true), Writes: []connector.Write{{
		Object: objectRef(ot, id), Op: "share", Hash: shareHash("create", sh),
		Summary: map[string]any{"share_id": sh.ID, "expires": nilIfEmpty(sh.Expires), "recipients": len(r.Emails)},
	}}}, nil
}

// sameShare reports whether an existing share matches a request: title,
// permissions, and an expiry that is the one asked for (absolute) or still
// in the future (relative).
func sameShare(sh *iconikapi.Share, r *iconikapi.ShareRequest, absolute, now time.Time) bool {
	if deref(sh.Title) != r.Title || sh.AllowDownload != r.AllowDownload || sh.AllowComments != r.AllowComments ||
		sh.AllowApprovingComments != r.AllowApprovingComments || sh.AllowSettingApproveStatus != r.AllowSettingApproveStatus {
		return false
	}
	exp := parseTime(sh.Expires)
	switch {
	case !absolute.IsZero():
		return exp.Equal(absolute)
	case r.Expires != "":
		return !exp.IsZero() && exp.After(now)
	}
	return sh.Expires == ""
}

func shareOutput(ot, id string, sh *iconikapi.Share, created bool) map[string]any {
	var u any
	if sh.URL != nil && *sh.URL != "" {
		u = *sh.URL
	}
	return map[string]any{"id": sh.ID, "url": u, "expires": nilIfEmpty(sh.Expires), "created": created, "object": objectRef(ot, id)}
}

var actDeleteShare = action{
	spec: connector.ActionSpec{
		Name: "delete_share", Title: "Delete shares", Writes: true, Idempotent: true,
		Doc: "Deletes one share of an asset or collection, or with all every share of it (a takedown). A share already gone counts as deleted.",
		Input: []connector.Field{
			{Name: "object_id", Type: str, Required: true, Doc: "The asset's or collection's id."},
			objectTypeField,
			{Name: "share_id", Type: str, Doc: "The share to delete."},
			{Name: "all", Type: connector.Bool, Default: false, Doc: "Delete every share of the object."},
		},
		Output: []connector.Field{{Name: "deleted", Type: connector.List, Doc: "Ids of the shares deleted by this call."}},
		Examples: []connector.Example{{Title: "Takedown", Input: map[string]any{"object_id": "9f0c…", "all": true},
			Output: map[string]any{"deleted": []any{"5h4r…"}}}},
	},
	run: (*Conn).deleteShare,
}

func (c *Conn) deleteShare(ctx context.Context, req *connector.Request) (*connector.Result, error) {
	in := req.Input
	ot, id, shareID := inStr(in, "object_type"), inStr(in, "object_id"), inStr(in, "share_id")
	if shareID == "" && !inBool(in, "all") {
		return nil, invalid("name share_id or set all")
	}
	var targets []iconikapi.Share
	if shareID != "" {
		sh, err := c.api.GetShare(ctx, ot, id, shareID)
		switch {
		case fault.Is(err, fault.NotFound):
		case err != nil:
			return nil, err
		default:
			targets = append(targets, *sh)
		}
	} else {
		shares, err := c.api.ListShares(ctx, ot, id)
		if err != nil && !fault.Is(err, fault.NotFound) {
			return nil, err
		}
		targets = shares
	}
	res := &connector.Result{}
	deleted := []any{}
	for i := range targets {
		sh := &targets[i]
		if err := c.api.DeleteShare(ctx, ot, id, sh.ID); err != nil {
			if fault.Is(err, fault.NotFound) {
				continue
			}
			return nil, err
		}
		if sh.ObjectID == "" {
			sh.ObjectID, sh.ObjectType = id, ot
		}
		deleted = append(deleted, sh.ID)
		res.Writes = append(res.Writes, connector.Write{Object: objectRef(ot, id), Op: "unshare", Hash: shareHash("delete", sh),
			Summary: map[string]any{"share_id": sh.ID}})
	}
	res.Output = map[string]any{"deleted": deleted}
	return res, nil
}

// parseTime reads iconik's timestamps ("2026-01-02T03:04:05.000000+00:00",
// or without a zone, taken as UTC).
func parseTime(v string) time.Time {
	if v == "" {
		return time.Time{}
	}
	for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(l, v); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
