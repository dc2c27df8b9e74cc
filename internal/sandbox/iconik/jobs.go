package iconik

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
)

var (
	jobTypes = set("MEDIAINFO", "TRANSCODE", "KEYFRAMES", "EXPORT", "DELETE", "REINDEX", "MOVE", "TRANSFER", "ANALYZE",
		"METADATA", "CUSTOM", "SCAN", "ARCHIVE", "RESTORE", "RESTORE_FROM_GLACIER", "ACL", "COPY", "TRANSCRIPTION",
		"REQUEST_COLLECTION_MAP", "COLLECTION_CUSTOM_ORDER", "STORAGE_GATEWAY_FILE_INGEST", "MARK_MISSING",
		"FACE_RECOGNITION", "SET_APPROVAL", "REQUEST_APPROVAL", "CHANGE_PERSON", "CONFIRM_PERSON", "DELETE_PERSON",
		"AUTOMATION", "REVIEW_REQUEST", "CONVERT_SAVED_SEARCH_TO_COLLECTION")
	jobStatuses = set("READY", "STARTED", "FINISHED", "FINISHED_WITH_WARNING", "FAILED", "WAITING", "ABORT_PENDING",
		"ABORTED", "SKIPPED", "PAUSED")
	jobDone = set("FINISHED", "FINISHED_WITH_WARNING", "FAILED", "ABORTED", "SKIPPED")
)

// newJob creates a READY job (used by the transcoder and archiver) and sends jobs/entity/create.
func (c *call) newJob(typ, title, objectType, objectID string) *Job {
	now := c.s.stamp()
	j := &Job{ID: c.s.newID(), Title: title, Type: typ, Status: "READY", Priority: 5, CreatedBy: c.user,
		DateCreated: now, DateModified: now}
	if objectType != "" {
		j.ObjectType, j.ObjectID = strPtr(objectType), strPtr(objectID)
	}
	c.s.st.Jobs[j.ID] = j
	c.emit(EventJobs, RealmEntity, OpCreate, j.ID, *j)
	return j
}

func (c *call) setJobStatus(id, status, errMsg string) {
	j := c.s.st.Jobs[id]
	if j == nil {
		return
	}
	j.Status, j.ErrorMessage = status, errMsg
	if status == "FINISHED" {
		j.ProgressProcessed, j.ProgressTotal = max(j.ProgressTotal, 1), max(j.ProgressTotal, 1)
	}
	c.touchJob(j)
	c.emit(EventJobs, RealmEntity, OpUpdate, j.ID, *j)
}

// touchJob updates the derived fields: progress, started_at, completed_at.
func (c *call) touchJob(j *Job) {
	now := c.s.stamp()
	j.DateModified = now
	if j.ProgressTotal > 0 {
		j.Progress = int(min(100, j.ProgressProcessed*100/j.ProgressTotal))
	}
	if j.Status != "READY" && j.Status != "WAITING" && j.StartedAt == "" {
		j.StartedAt = now
	}
	if jobDone[j.Status] && j.CompletedAt == "" {
		j.CompletedAt = now
	}
}

func (c *call) applyJob(j *Job, p patch, mergeMetadata bool, fe fieldErrors) {
	p.str("title", &j.Title, fe)
	p.enum("type", &j.Type, jobTypes, fe)
	p.enum("status", &j.Status, jobStatuses, fe)
	p.nstr("custom_type", &j.CustomType, fe)
	p.nstr("object_type", &j.ObjectType, fe)
	if p.has("object_id") {
		var id string
		p.uuid("object_id", &id, fe)
		j.ObjectID = nilIfEmpty(&id)
	}
	if p.has("parent_id") {
		var id string
		p.uuid("parent_id", &id, fe)
		j.ParentID = nilIfEmpty(&id)
	}
	p.str("message", &j.Message, fe)
	p.str("error_message", &j.ErrorMessage, fe)
	p.boolean("has_children", &j.HasChildren, fe)
	p.str("started_at", &j.StartedAt, fe)
	p.str("completed_at", &j.CompletedAt, fe)
	for k, dst := range map[string]*int64{"progress_processed": &j.ProgressProcessed, "progress_total": &j.ProgressTotal} {
		if p.has(k) {
			if err := json.Unmarshal(p[k], dst); err != nil {
				fe.add(k, "Not a valid integer.")
			}
		}
	}
	objects := map[string]*map[string]any{"job_context": &j.JobContext, "action_context": &j.ActionContext}
	for k, dst := range objects {
		if p.has(k) {
			var v map[string]any
			if err := json.Unmarshal(p[k], &v); err != nil {
				fe.add(k, "Not a valid mapping type.")
				continue
			}
			*dst = v
		}
	}
	if p.has("metadata") {
		var v map[string]any
		if err := json.Unmarshal(p["metadata"], &v); err != nil {
			fe.add("metadata", "Not a valid mapping type.")
		} else if mergeMetadata && j.Metadata != nil {
			maps.Copy(j.Metadata, v)
		} else {
			j.Metadata = v
		}
	}
	if p.has("related_objects") {
		var v []RelatedObject
		if err := json.Unmarshal(p["related_objects"], &v); err != nil {
			fe.add("related_objects", "Not a valid list.")
		} else {
			j.RelatedObjects = v
		}
	}
	if p.has("steps") {
		var v []JobStep
		if err := json.Unmarshal(p["steps"], &v); err != nil {
			fe.add("steps", "Not a valid list.")
		} else {
			for i := range v {
				if v[i].ID == "" {
					v[i].ID = c.s.newID()
				}
				v[i].DateUpdated = c.s.stamp()
			}
			j.Steps = v
		}
	}
}

func (c *call) createJob() (int, any) {
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	for _, k := range []string{"title", "type", "status"} {
		if !p.has(k) {
			fe.add(k, "Missing data for required field.")
		}
	}
	j := &Job{Priority: 5}
	c.applyJob(j, p, false, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	now := c.s.stamp()
	j.ID, j.CreatedBy, j.DateCreated = c.s.newID(), c.user, now
	c.touchJob(j)
	c.s.st.Jobs[j.ID] = j
	c.emit(EventJobs, RealmEntity, OpCreate, j.ID, *j)
	return http.StatusCreated, *j
}

func (c *call) job() (*Job, int, any, bool) {
	j := c.s.st.Jobs[c.path("job_id")]
	if j == nil {
		st, b := c.fail(http.StatusNotFound, "Job does not exist")
		return nil, st, b, false
	}
	return j, 0, nil, true
}

func (c *call) getJob() (int, any) {
	j, st, b, ok := c.job()
	if !ok {
		return st, b
	}
	return http.StatusOK, *j
}

func (c *call) updateJob() (int, any) {
	j, st, b, ok := c.job()
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	if c.r.Method == http.MethodPut {
		for _, k := range []string{"title", "type", "status"} {
			if !p.has(k) {
				fe.add(k, "Missing data for required field.")
			}
		}
	}
	next := *j
	next.Metadata = maps.Clone(j.Metadata)
	c.applyJob(&next, p, c.qBool("merge_metadata", false), fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	*j = next
	c.touchJob(j)
	c.emit(EventJobs, RealmEntity, OpUpdate, j.ID, *j)
	return http.StatusOK, *j
}

func (c *call) deleteJob() (int, any) {
	j, st, b, ok := c.job()
	if !ok {
		return st, b
	}
	delete(c.s.st.Jobs, j.ID)
	c.emit(EventJobs, RealmEntity, OpDelete, j.ID, *j)
	return http.StatusNoContent, nil
}

func (c *call) listJobs() (int, any) {
	pg, st, b, ok := c.paging(10, 100)
	if !ok {
		return st, b
	}
	ids := map[string]bool{}
	for _, id := range strings.Split(c.q("ids"), ",") {
		if id != "" {
			ids[id] = true
		}
	}
	match := func(q, v string) bool {
		return q == "" || slices.Contains(strings.Split(q, ","), v)
	}
	var items []Job
	for _, j := range c.s.st.Jobs {
		if !match(c.q("type"), j.Type) || !match(c.q("status"), j.Status) ||
			!match(c.q("object_type"), derefStr(j.ObjectType)) || !match(c.q("object_id"), derefStr(j.ObjectID)) ||
			!match(c.q("parent_id"), derefStr(j.ParentID)) || !match(c.q("created_by"), j.CreatedBy) {
			continue
		}
		if len(ids) > 0 && !ids[j.ID] {
			continue
		}
		if v := c.q("custom_type"); v != "" && derefStr(j.CustomType) != v {
			continue
		}
		items = append(items, *j)
	}
	field, dir, _ := strings.Cut(firstNonEmpty(c.q("sort"), "date_created,desc"), ",")
	desc := dir != "asc"
	val := func(j Job) string {
		switch field {
		case "date_modified":
			return j.DateModified
		case "title":
			return strings.ToLower(j.Title)
		case "status":
			return j.Status
		}
		return j.DateCreated
	}
	sort.SliceStable(items, func(i, k int) bool {
		vi, vk := val(items[i]), val(items[k])
		if vi != vk {
			return (vi < vk) != desc
		}
		return items[i].ID < items[k].ID
	})
	env, ok := pageOf(c, items, pg)
	if !ok {
		return c.fail(http.StatusNotFound, "Requested page does not exist")
	}
	return http.StatusOK, env
}
