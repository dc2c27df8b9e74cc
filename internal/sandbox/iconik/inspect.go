package iconik

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// This file is the Go API other packages' tests use: readers that return
// copies of the state, and User* actions that change it the way a person in
// the iconik UI would (acting as EditorUserID, or ReviewerUserID for
// approvals), sending the same webhooks as the API does.

// ErrNotFound is returned by the User* helpers for unknown objects.
var ErrNotFound = errors.New("iconik sandbox: not found")

// ---- readers ----

// Asset returns the asset (with in_collections filled) and whether it exists.
func (s *Server) Asset(id string) (Asset, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Assets[id]
	if a == nil {
		return Asset{}, false
	}
	c := &call{s: s}
	return c.assetView(a, true), true
}

// AssetIDs lists the ids of assets that are not deleted, oldest first.
func (s *Server) AssetIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range s.st.assetOrder {
		if a := s.st.Assets[id]; a != nil && a.Status != "DELETED" {
			out = append(out, id)
		}
	}
	return out
}

// LatestVersionID returns the asset's current version id ("" if unknown).
func (s *Server) LatestVersionID(assetID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.st.Assets[assetID]; a != nil {
		return latestVersionID(a)
	}
	return ""
}

// ApprovalStatus returns the approval status of an asset version ("" means
// the latest version): N/A when there is no request or decision.
func (s *Server) ApprovalStatus(assetID, versionID string) string {
	ap, ok := s.Approval("assets", assetID, versionID)
	if !ok {
		return ApprovalNA
	}
	return ap.Status
}

// Approval returns the approval record of an object version ("" means the
// latest version for assets; collections have no versions).
func (s *Server) Approval(objectType, objectID, versionID string) (Approval, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if objectType == "assets" && versionID == "" {
		if a := s.st.Assets[objectID]; a != nil {
			versionID = latestVersionID(a)
		}
	}
	ap := s.st.Approvals[approvalKey(objectType, objectID, versionID)]
	if ap == nil {
		return Approval{}, false
	}
	c := &call{s: s}
	return c.approvalView(ap), true
}

// MetadataValues returns an object's metadata values by field name (for
// assets, those of the latest version). Values are strings, float64 or bool.
func (s *Server) MetadataValues(objectType, objectID string) map[string][]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.valuesOf(objectType, objectID)
}

// VersionMetadataValues returns the metadata values of one asset version.
func (s *Server) VersionMetadataValues(assetID, versionID string) map[string][]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]any{}
	if rec := s.st.Metadata[metaKey("assets", assetID, versionID)]; rec != nil {
		for k, v := range rec.Values {
			out[k] = append([]any{}, v...)
		}
	}
	return out
}

// MetadataValue returns the first value of one field as a string ("" if unset).
func (s *Server) MetadataValue(objectType, objectID, field string) string {
	vals := s.MetadataValues(objectType, objectID)[field]
	if len(vals) == 0 {
		return ""
	}
	return valueString(vals[0])
}

// ViewID returns the id of the metadata view with that name ("" if none).
func (s *Server) ViewID(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.viewIndex[name]
}

// Collection returns a collection and whether it exists.
func (s *Server) Collection(id string) (Collection, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	col := s.st.Collections[id]
	if col == nil {
		return Collection{}, false
	}
	return collectionView(col), true
}

// CollectionByTitle finds a non-deleted collection by title under parentID ("" for a root).
func (s *Server) CollectionByTitle(title, parentID string) (Collection, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var col *Collection
	if parentID == "" {
		col = s.rootCollection(title)
	} else {
		col = s.childCollection(parentID, title)
	}
	if col == nil || col.Status == "DELETED" {
		return Collection{}, false
	}
	return collectionView(col), true
}

// CollectionContents lists a collection's members in order.
func (s *Server) CollectionContents(id string) []ContentRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ContentRef{}, s.st.Contents[id]...)
}

// Segments lists an asset's segments (all versions, oldest first).
func (s *Server) Segments(assetID string) []Segment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Segment
	for _, id := range s.st.segIndex[assetID] {
		if sg := s.st.Segments[id]; sg != nil {
			out = append(out, *sg)
		}
	}
	return out
}

// Shares lists the shares of an object.
func (s *Server) Shares(objectType, objectID string) []Share {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Share
	for _, sh := range sortedByCreated(s.st.Shares, func(x *Share) (string, string) { return x.DateCreated, x.ID }) {
		if sh.ObjectType == objectType && sh.ObjectID == objectID {
			out = append(out, *sh)
		}
	}
	return out
}

// Proxies lists an asset's proxies (all versions).
func (s *Server) Proxies(assetID string) []Proxy {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Proxy
	for _, id := range s.st.filesOf(assetID).proxies {
		if p := s.st.Proxies[id]; p != nil {
			out = append(out, *p)
		}
	}
	return out
}

// Keyframes lists an asset's keyframes (all versions).
func (s *Server) Keyframes(assetID string) []Keyframe {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Keyframe
	for _, id := range s.st.filesOf(assetID).keyframes {
		if k := s.st.Keyframes[id]; k != nil {
			out = append(out, *k)
		}
	}
	return out
}

// Formats lists an asset's formats (all versions).
func (s *Server) Formats(assetID string) []Format {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Format
	for _, id := range s.st.filesOf(assetID).formats {
		if f := s.st.Formats[id]; f != nil {
			out = append(out, *f)
		}
	}
	return out
}

// History lists an asset's history entries, oldest first.
func (s *Server) History(assetID string) []HistoryEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []HistoryEntry
	for _, h := range s.st.History[assetID] {
		out = append(out, *h)
	}
	return out
}

// Job returns a job and whether it exists.
func (s *Server) Job(id string) (Job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.st.Jobs[id]
	if j == nil {
		return Job{}, false
	}
	return *j, true
}

// Jobs lists every job, oldest first.
func (s *Server) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Job
	for _, j := range sortedByCreated(s.st.Jobs, func(x *Job) (string, string) { return x.DateCreated, x.ID }) {
		out = append(out, *j)
	}
	return out
}

// Webhooks lists the webhook definitions.
func (s *Server) Webhooks() []Webhook {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Webhook
	for _, h := range sortedByCreated(s.st.Webhooks, func(x *Webhook) (string, string) { return x.DateCreated, x.ID }) {
		out = append(out, *h)
	}
	return out
}

// Events returns the events the server produced (whether or not a webhook
// matched them), oldest first; the last 10,000 are kept.
func (s *Server) Events() []Event {
	s.evMu.Lock()
	defer s.evMu.Unlock()
	return append([]Event{}, s.events...)
}

func (s *Server) recordEvents(evs []event) {
	s.evMu.Lock()
	defer s.evMu.Unlock()
	s.events = append(s.events, evs...)
	if len(s.events) > 10_000 {
		s.events = append([]Event{}, s.events[len(s.events)-10_000:]...)
	}
}

// ---- user actions ----

// act runs fn as a UI user, then sends the events it produced.
func (s *Server) act(user string, fn func(c *call) error) error {
	var err error
	s.background(user, func(c *call) { err = fn(c) })
	return err
}

func fieldErr(fe fieldErrors) error {
	if len(fe) == 0 {
		return nil
	}
	b, _ := json.Marshal(fe)
	return fmt.Errorf("iconik sandbox: invalid: %s", b)
}

// UserCreateAsset uploads an asset as the editor would: it is created, its
// metadata written (through the smallest view holding the fields), and the
// transcoder produces its original, proxy and keyframes after the delay.
func (s *Server) UserCreateAsset(title string, values map[string]any) (string, error) {
	var id string
	err := s.act(EditorUserID, func(c *call) error {
		if values != nil {
			if _, fe := c.checkUserValues(values); len(fe) > 0 {
				return fieldErr(fe)
			}
		}
		a := s.insertAsset(title, "ASSET", c.user)
		id = a.ID
		c.emit(EventAssets, RealmEntity, OpCreate, a.ID, c.assetView(a, false))
		if values != nil {
			if err := c.userWrite("assets", a.ID, values); err != nil {
				return err
			}
		}
		c.scheduleTranscode(a.ID, a.Versions[0].ID)
		return nil
	})
	return id, err
}

// UserUpdateAsset changes asset fields (JSON names: title, external_id,
// is_blocked, status...) as the editor.
func (s *Server) UserUpdateAsset(assetID string, fields map[string]any) error {
	return s.act(EditorUserID, func(c *call) error {
		a := s.st.Assets[assetID]
		if a == nil {
			return ErrNotFound
		}
		p := patch{}
		for k, v := range fields {
			b, _ := json.Marshal(v)
			p[k] = b
		}
		fe := fieldErrors{}
		next := *a
		p.str("title", &next.Title, fe)
		c.applyAssetFields(&next, p, fe)
		if len(fe) > 0 {
			return fieldErr(fe)
		}
		c.commitAssetUpdate(a, next)
		return nil
	})
}

// UserBlockAsset blocks or unblocks an asset.
func (s *Server) UserBlockAsset(assetID string, blocked bool) error {
	return s.UserUpdateAsset(assetID, map[string]any{"is_blocked": blocked})
}

// UserSetMetadata overwrites the given fields of an object (assets: latest
// version) as the editor. A value may be a string, number, bool, a slice of
// those, or nil to clear the field. The event carries the id of the
// smallest view holding all the fields, as a UI edit through that view would.
func (s *Server) UserSetMetadata(objectType, objectID string, values map[string]any) error {
	return s.act(EditorUserID, func(c *call) error { return c.userWrite(objectType, objectID, values) })
}

func (c *call) checkUserValues(values map[string]any) (map[string]fieldValueIn, fieldErrors) {
	in := map[string]fieldValueIn{}
	fe := fieldErrors{}
	for k, v := range values {
		if c.s.st.Fields[k] == nil {
			fe.add(k, "Field does not exist")
			continue
		}
		var items []map[string]any
		switch x := v.(type) {
		case nil:
		case []any:
			for _, it := range x {
				items = append(items, map[string]any{"value": it})
			}
		case []string:
			for _, it := range x {
				items = append(items, map[string]any{"value": it})
			}
		case int:
			items = append(items, map[string]any{"value": float64(x)})
		default:
			items = append(items, map[string]any{"value": x})
		}
		in[k] = fieldValueIn{FieldValues: items, Mode: "overwrite"}
	}
	return in, fe
}

func (c *call) userWrite(objectType, objectID string, values map[string]any) error {
	in, fe := c.checkUserValues(values)
	if len(fe) > 0 {
		return fieldErr(fe)
	}
	ver, _, _, ok := c.metaTarget(objectType, objectID, "")
	if !ok {
		return ErrNotFound
	}
	viewID := c.s.smallestViewWith(sortedKeys(values))
	_, fe = c.writeValues(objectType, objectID, ver, viewID, nil, in, true)
	return fieldErr(fe)
}

func (s *Server) smallestViewWith(fields []string) string {
	best, size := "", 0
	for _, v := range sortedByCreated(s.st.Views, func(x *View) (string, string) { return x.DateCreated, x.ID }) {
		all := true
		for _, f := range fields {
			if !slices.Contains(v.Fields, f) {
				all = false
				break
			}
		}
		if all && (best == "" || len(v.Fields) < size) {
			best, size = v.ID, len(v.Fields)
		}
	}
	return best
}

// UserAddVersion uploads a new version as the editor (metadata copied from
// the previous version); the transcoder then produces its proxy and keyframes.
func (s *Server) UserAddVersion(assetID string) (string, error) {
	var id string
	err := s.act(EditorUserID, func(c *call) error {
		a := s.st.Assets[assetID]
		if a == nil {
			return ErrNotFound
		}
		id = c.addVersion(a, "", true, false, true).ID
		return nil
	})
	return id, err
}

// UserRequestApproval requests approval of the asset's current version from reviewers
// (ReviewerUserID when none are given).
func (s *Server) UserRequestApproval(assetID string, reviewers ...string) error {
	if len(reviewers) == 0 {
		reviewers = []string{ReviewerUserID}
	}
	return s.act(EditorUserID, func(c *call) error {
		a := s.st.Assets[assetID]
		if a == nil {
			return ErrNotFound
		}
		b, _ := json.Marshal(reviewers)
		_, fe := c.requestApproval("assets", a.ID, latestVersionID(a), patch{"users": b})
		return fieldErr(fe)
	})
}

// UserSetApproval records ReviewerUserID's decision (APPROVED, NOT_APPROVED or
// N/A) on the asset's current version, requesting approval first if needed.
func (s *Server) UserSetApproval(assetID, status string) error {
	if !approvalStatuses[status] {
		return fmt.Errorf("iconik sandbox: unknown approval status %q", status)
	}
	return s.act(ReviewerUserID, func(c *call) error {
		a := s.st.Assets[assetID]
		if a == nil {
			return ErrNotFound
		}
		ver := latestVersionID(a)
		if s.st.Approvals[approvalKey("assets", a.ID, ver)] == nil {
			b, _ := json.Marshal([]string{ReviewerUserID})
			c.requestApproval("assets", a.ID, ver, patch{"users": b})
		}
		_, msg := c.setDecision("assets", a.ID, ver, ApprovalBy{Status: status, User: c.user})
		if msg != "" {
			return errors.New(msg)
		}
		return nil
	})
}

// UserAddComment adds a COMMENT segment on a version ("" for the latest) as
// the reviewer and returns its id.
func (s *Server) UserAddComment(assetID, versionID, text string, startMS, endMS int64) (string, error) {
	var id string
	err := s.act(ReviewerUserID, func(c *call) error {
		a := s.st.Assets[assetID]
		if a == nil {
			return ErrNotFound
		}
		if versionID != "" && findVersion(a, versionID) == nil {
			return fmt.Errorf("version %s: %w", versionID, ErrNotFound)
		}
		sg := &Segment{SegmentType: "COMMENT", SegmentText: &text, TimeStartMS: &startMS, TimeEndMS: &endMS, VersionID: versionID}
		c.insertSegment(a, sg)
		id = sg.ID
		return nil
	})
	return id, err
}

// UserAddToCollection adds an asset (or collection) to a collection.
func (s *Server) UserAddToCollection(collectionID, objectType, objectID string) error {
	return s.act(EditorUserID, func(c *call) error {
		if s.st.Collections[collectionID] == nil {
			return ErrNotFound
		}
		c.addContent(collectionID, objectType, objectID)
		return nil
	})
}

// UserRemoveFromCollection removes an object from a collection.
func (s *Server) UserRemoveFromCollection(collectionID, objectType, objectID string) error {
	return s.act(EditorUserID, func(c *call) error {
		if !c.removeContent(collectionID, objectType, objectID) {
			return ErrNotFound
		}
		return nil
	})
}

// UserDeleteAsset moves an asset to the delete queue.
func (s *Server) UserDeleteAsset(assetID string) error {
	return s.act(EditorUserID, func(c *call) error {
		a := s.st.Assets[assetID]
		if a == nil {
			return ErrNotFound
		}
		c.softDelete(a)
		return nil
	})
}

// UserRestoreAsset takes an asset out of the delete queue.
func (s *Server) UserRestoreAsset(assetID string) error {
	return s.act(EditorUserID, func(c *call) error {
		a := s.st.Assets[assetID]
		if a == nil {
			return ErrNotFound
		}
		c.restore(a)
		return nil
	})
}

// UserSetJobStatus changes a job's status and message as someone in the job list would.
func (s *Server) UserSetJobStatus(jobID, status, message string) error {
	if !jobStatuses[status] {
		return fmt.Errorf("iconik sandbox: unknown job status %q", status)
	}
	return s.act(EditorUserID, func(c *call) error {
		j := s.st.Jobs[jobID]
		if j == nil {
			return ErrNotFound
		}
		j.Status = status
		if message != "" {
			j.Message = message
		}
		if status == "FINISHED" && j.ProgressTotal > 0 {
			j.ProgressProcessed = j.ProgressTotal
		}
		c.touchJob(j)
		c.emit(EventJobs, RealmEntity, OpUpdate, j.ID, *j)
		return nil
	})
}

// UserRunCustomAction runs a custom action on assets as the editor; for a
// POST action the payload is sent to its URL (and returned).
func (s *Server) UserRunCustomAction(actionID string, assetIDs ...string) (CustomActionPayload, error) {
	var pl CustomActionPayload
	err := s.act(EditorUserID, func(c *call) error {
		a := s.st.CustomActions[actionID]
		if a == nil {
			return ErrNotFound
		}
		pl = c.runAction(a, assetIDs, nil, nil, nil, nil)
		return nil
	})
	return pl, err
}
