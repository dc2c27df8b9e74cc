package contentstack

import (
	"net/http"
	"sort"
)

// workflowFor returns the enabled workflow that applies to a content type
// on a branch, and its first stage.
func (s *Server) workflowFor(ctUID, branch string) (doc, doc) {
	uids := make([]string, 0, len(s.st.Workflows))
	for uid := range s.st.Workflows {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	for _, uid := range uids {
		wf := s.st.Workflows[uid]
		if wf["enabled"] == false {
			continue
		}
		cts := asStrings(wf["content_types"])
		if !contains(cts, "$all") && !contains(cts, ctUID) {
			continue
		}
		if br := asStrings(wf["branches"]); len(br) > 0 && !contains(br, branch) {
			continue
		}
		stages := asObjects(wf["workflow_stages"])
		if len(stages) == 0 {
			return wf, nil
		}
		return wf, stages[0]
	}
	return nil, nil
}

func stageByUID(wf doc, uid string) doc {
	for _, st := range asObjects(wf["workflow_stages"]) {
		if str(st["uid"]) == uid {
			return st
		}
	}
	return nil
}

// normalizeWorkflow gives stages uids and the documented SYS_ACL shape and
// fills the system fields.
func (s *Server) normalizeWorkflow(body doc, uid, now, user string, prev doc) doc {
	wf := cloneDoc(body)
	wf["uid"] = uid
	if wf["enabled"] == nil {
		wf["enabled"] = true
	} else {
		wf["enabled"] = asBool(wf["enabled"])
	}
	if wf["branches"] == nil {
		wf["branches"] = []any{"main"}
	}
	if wf["content_types"] == nil {
		wf["content_types"] = []any{"$all"}
	}
	if wf["admin_users"] == nil {
		wf["admin_users"] = doc{"users": []any{}}
	}
	oldStages := map[string]doc{}
	if prev != nil {
		for _, st := range asObjects(prev["workflow_stages"]) {
			oldStages[str(st["name"])] = st
		}
	}
	var stages []any
	for _, st := range asObjects(wf["workflow_stages"]) {
		st := cloneDoc(st)
		if str(st["uid"]) == "" {
			if old, ok := oldStages[str(st["name"])]; ok {
				st["uid"] = old["uid"]
			} else {
				st["uid"] = s.st.bltUID("stage")
			}
		}
		acl, _ := st["SYS_ACL"].(map[string]any)
		if acl == nil {
			acl = doc{"users": doc{"uids": []any{"$all"}}, "roles": doc{"uids": []any{}}, "others": doc{}}
		}
		for _, k := range []string{"users", "roles"} {
			m, _ := acl[k].(map[string]any)
			if m == nil {
				m = doc{"uids": []any{}}
			}
			if m["uids"] == nil {
				m["uids"] = []any{}
			}
			for _, p := range []string{"read", "write", "transit"} {
				if _, ok := m[p]; !ok {
					m[p] = true
				}
			}
			acl[k] = m
		}
		others, _ := acl["others"].(map[string]any)
		if others == nil {
			others = doc{}
		}
		for p, def := range map[string]bool{"read": true, "write": true, "transit": false} {
			if _, ok := others[p]; !ok {
				others[p] = def
			}
		}
		acl["others"] = others
		st["SYS_ACL"] = acl
		if st["next_available_stages"] == nil {
			st["next_available_stages"] = []any{"$all"}
		}
		if st["entry_lock"] == nil {
			st["entry_lock"] = "$none"
		}
		stages = append(stages, st)
	}
	if stages == nil {
		stages = []any{}
	}
	wf["workflow_stages"] = stages
	wf["org_uid"] = "blt0e1d2c3b4a596877"
	wf["api_key"] = s.opts.APIKey
	if prev != nil {
		wf["_id"], wf["created_at"], wf["created_by"] = prev["_id"], prev["created_at"], prev["created_by"]
	} else {
		wf["_id"] = s.st.hex16("wfid")[:16] + "a1b2c3d4"
		wf["created_at"], wf["created_by"] = now, user
	}
	wf["updated_at"], wf["updated_by"] = now, user
	wf["deleted_at"] = false
	return wf
}

func validateWorkflow(body doc) map[string][]string {
	p := map[string][]string{}
	if str(body["name"]) == "" {
		p["name"] = []string{"is a required field."}
	}
	stages := asObjects(body["workflow_stages"])
	if len(stages) < 2 {
		p["workflow_stages"] = []string{"should have at least 2 stages."}
	}
	seen := map[string]bool{}
	for _, st := range stages {
		n := str(st["name"])
		if n == "" {
			p["workflow_stages.name"] = []string{"is a required field."}
		} else if seen[n] {
			p["workflow_stages.name"] = []string{"is not unique."}
		}
		seen[n] = true
	}
	return p
}

// conflictingWorkflow reports another enabled workflow sharing a content type.
func (s *Server) conflictingWorkflow(wf doc, self string) bool {
	if wf["enabled"] == false {
		return false
	}
	mine := asStrings(wf["content_types"])
	for uid, other := range s.st.Workflows {
		if uid == self || other["enabled"] == false {
			continue
		}
		theirs := asStrings(other["content_types"])
		for _, c := range mine {
			if contains(theirs, c) || (c == "$all" && len(theirs) > 0) || contains(theirs, "$all") {
				return true
			}
		}
	}
	return false
}

func (s *Server) listWorkflows(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	docs := make([]doc, 0, len(s.st.Workflows))
	for _, wf := range s.st.Workflows {
		docs = append(docs, cloneDoc(wf))
	}
	s.mu.Unlock()
	sort.Slice(docs, func(i, j int) bool {
		return str(docs[i]["created_at"])+str(docs[i]["uid"]) < str(docs[j]["created_at"])+str(docs[j]["uid"])
	})
	body := map[string]any{"workflows": docs}
	if qbool(r, "include_count") {
		body["count"] = len(docs)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) getWorkflow(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	wf, ok := s.st.Workflows[r.PathValue("uid")]
	if !ok {
		return errNotFound("workflow")
	}
	writeJSON(w, http.StatusOK, map[string]any{"workflow": cloneDoc(wf)})
	return nil
}

func (s *Server) createWorkflow(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	wb, _ := body["workflow"].(map[string]any)
	if wb == nil {
		return errInvalid(141, "Workflow creation failed. Please enter valid data.", map[string][]string{"workflow": {"is a required field."}})
	}
	if p := validateWorkflow(wb); len(p) > 0 {
		return errInvalid(141, "Workflow creation failed. Please enter valid data.", p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	wf := s.normalizeWorkflow(wb, s.st.bltUID("workflow"), s.now(), callerOf(r).user, nil)
	if s.conflictingWorkflow(wf, "") {
		return errInvalid(141, "Workflow creation failed. A content type can be part of only one workflow.", map[string][]string{"content_types": {"is not valid."}})
	}
	s.st.Workflows[str(wf["uid"])] = wf
	writeJSON(w, http.StatusCreated, map[string]any{"notice": "Workflow created successfully.", "workflow": cloneDoc(wf)})
	return nil
}

func (s *Server) updateWorkflow(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	wb, _ := body["workflow"].(map[string]any)
	if wb == nil {
		return errInvalid(141, "Workflow update failed. Please enter valid data.", map[string][]string{"workflow": {"is a required field."}})
	}
	if p := validateWorkflow(wb); len(p) > 0 {
		return errInvalid(141, "Workflow update failed. Please enter valid data.", p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	uid := r.PathValue("uid")
	prev, ok := s.st.Workflows[uid]
	if !ok {
		return errNotFound("workflow")
	}
	wf := s.normalizeWorkflow(wb, uid, s.now(), callerOf(r).user, prev)
	if s.conflictingWorkflow(wf, uid) {
		return errInvalid(141, "Workflow update failed. A content type can be part of only one workflow.", map[string][]string{"content_types": {"is not valid."}})
	}
	s.st.Workflows[uid] = wf
	writeJSON(w, http.StatusOK, map[string]any{"notice": "Workflow updated successfully.", "workflow": cloneDoc(wf)})
	return nil
}

func (s *Server) deleteWorkflow(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	uid := r.PathValue("uid")
	wf, ok := s.st.Workflows[uid]
	if !ok {
		return errNotFound("workflow")
	}
	delete(s.st.Workflows, uid)
	// Entries leave the deleted workflow's stages.
	for _, e := range s.st.Entries {
		for _, l := range e.Locales {
			if l.Workflow != nil && stageByUID(wf, str(l.Workflow["uid"])) != nil {
				l.Workflow = nil
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"notice": "Workflow deleted successfully.", "workflow": cloneDoc(wf)})
	return nil
}

func (s *Server) disableWorkflow(w http.ResponseWriter, r *http.Request) *apiError {
	return s.toggleWorkflow(w, r, false)
}

func (s *Server) enableWorkflow(w http.ResponseWriter, r *http.Request) *apiError {
	return s.toggleWorkflow(w, r, true)
}

func (s *Server) toggleWorkflow(w http.ResponseWriter, r *http.Request, on bool) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	wf, ok := s.st.Workflows[r.PathValue("uid")]
	if !ok {
		return errNotFound("workflow")
	}
	wf["enabled"] = on
	if on && s.conflictingWorkflow(wf, str(wf["uid"])) {
		wf["enabled"] = false
		return errInvalid(141, "Workflow could not be enabled. A content type can be part of only one workflow.", map[string][]string{"content_types": {"is not valid."}})
	}
	msg := "Workflow disabled successfully."
	if on {
		msg = "Workflow enabled successfully."
	}
	writeJSON(w, http.StatusOK, map[string]any{"notice": msg, "workflow": cloneDoc(wf)})
	return nil
}

// setEntryWorkflow is POST …/entries/{uid}/workflow: set the stage
// (workflow.workflow_stage) or act on a publish request
// (workflow.publishing_rule, which needs a user authtoken).
func (s *Server) setEntryWorkflow(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	wb, _ := body["workflow"].(map[string]any)
	c := callerOf(r)
	if wb != nil && wb["publishing_rule"] != nil {
		if c.managementToken {
			return &apiError{Status: http.StatusForbidden, Code: 161,
				Message: "Management tokens cannot accept or reject publish requests.",
				Errors:  map[string][]string{"authorization": {"is not valid."}}}
		}
		notice(w, http.StatusOK, "Workflow stage updated successfully.")
		return nil
	}
	stage, _ := wb["workflow_stage"].(map[string]any)
	if stage == nil {
		return errInvalid(141, "Workflow stage could not be updated.", map[string][]string{"workflow_stage": {"is a required field."}})
	}
	s.mu.Lock()
	locale, ae := s.requestLocale(r)
	if ae != nil {
		s.mu.Unlock()
		return ae
	}
	evs, ae := s.doSetStage(c, r.PathValue("ct"), r.PathValue("uid"), locale, stage, branchOf(r))
	s.mu.Unlock()
	if ae != nil {
		return ae
	}
	s.dispatch(evs)
	notice(w, http.StatusOK, "Workflow stage updated successfully.")
	return nil
}

// doSetStage moves an entry's locale copy to a stage. It checks that the
// stage belongs to the content type's workflow, that the current stage
// allows the transition (next_available_stages), and — for a management
// token — that the current stage lets all users transit (the documented
// management-token limitation). The entry's _version does not change.
// The caller holds s.mu.
func (s *Server) doSetStage(c caller, ctUID, uid, locale string, stage doc, branch string) ([]event, *apiError) {
	_, e, ae := s.lookupEntry(ctUID, uid)
	if ae != nil {
		return nil, ae
	}
	wf, _ := s.workflowFor(ctUID, branch)
	if wf == nil {
		return nil, errInvalid(141, "Workflow is not applied to this content type.", map[string][]string{"workflow": {"is not valid."}})
	}
	target := stageByUID(wf, str(stage["uid"]))
	if target == nil {
		return nil, errInvalid(141, "Workflow stage could not be updated.", map[string][]string{"workflow_stage.uid": {"is not valid."}})
	}
	l, ok := e.Locales[locale]
	if !ok {
		src, srcLocale := s.st.source(e, locale)
		if src == nil {
			return nil, errEntryNotFound()
		}
		l, locale = src, srcLocale
	}
	var prev doc
	if l.Workflow != nil {
		prev = stageByUID(wf, str(l.Workflow["uid"]))
	}
	if prev != nil && str(prev["uid"]) != str(target["uid"]) {
		next := asStrings(prev["next_available_stages"])
		if !contains(next, "$all") && !contains(next, str(target["uid"])) {
			return nil, errInvalid(141, "Workflow stage could not be updated. The transition is not allowed.", map[string][]string{"workflow_stage.uid": {"is not valid."}})
		}
	}
	if c.managementToken && prev != nil && !stageOpenToAll(prev) {
		return nil, &apiError{Status: http.StatusForbidden, Code: 162,
			Message: "You don't have permission to change the workflow stage of this entry.",
			Errors:  map[string][]string{"workflow_stage": {"transition rule does not allow all users/roles."}}}
	}
	now := s.now()
	wfd := doc{"uid": target["uid"], "updated_at": now, "updated_by": c.user,
		"version":     intOf(l.latest()["_version"]),
		"assigned_to": orEmpty(stage["assigned_to"]), "assigned_by_roles": orEmpty(stage["assigned_by_roles"])}
	if v := stage["due_date"]; v != nil {
		wfd["due_date"] = v
	}
	if v := stage["comment"]; v != nil {
		wfd["comment"] = v
	}
	l.Workflow = wfd
	extra := doc{
		"workflow":       doc{"uid": wf["uid"], "name": wf["name"]},
		"workflow_stage": doc{"uid": target["uid"], "name": target["name"], "color": target["color"]},
	}
	if prev != nil {
		extra["previous_workflow_stage"] = doc{"uid": prev["uid"], "name": prev["name"], "color": prev["color"]}
	}
	if v := stage["comment"]; v != nil {
		extra["workflow_stage"].(doc)["comment"] = v
	}
	return []event{s.workflowEvent(e, locale, wf, target, extra)}, nil
}

func orEmpty(v any) any {
	if v == nil {
		return []any{}
	}
	return clone(v)
}

// stageOpenToAll reports whether a stage lets all users/roles transit.
func stageOpenToAll(st doc) bool {
	if asBool(st["allUsers"]) {
		return true
	}
	acl, _ := st["SYS_ACL"].(map[string]any)
	users, _ := acl["users"].(map[string]any)
	return contains(asStrings(users["uids"]), "$all")
}

// bulkWorkflow is POST /v3/bulk/workflow: at most 10 entries, all in the
// same workflow and current stage, all or nothing.
func (s *Server) bulkWorkflow(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	items := asObjects(body["entries"])
	wb, _ := body["workflow"].(map[string]any)
	stage, _ := wb["workflow_stage"].(map[string]any)
	if len(items) == 0 || stage == nil {
		return errInvalid(141, "Bulk workflow update failed.", map[string][]string{"entries": {"is a required field."}})
	}
	if len(items) > 10 {
		return errInvalid(141, "Bulk workflow update failed. You can update the workflow details of up to 10 entries at a time.", map[string][]string{"entries": {"should not exceed 10."}})
	}
	c := callerOf(r)
	s.mu.Lock()
	// All or nothing: check every item on a trial basis first.
	var current string
	for i, it := range items {
		_, e, ae := s.lookupEntry(str(it["content_type"]), str(it["uid"]))
		if ae != nil {
			s.mu.Unlock()
			return ae
		}
		loc := str(it["locale"])
		if loc == "" {
			loc = s.st.MasterLocale
		}
		l, _ := s.st.source(e, loc)
		cur := ""
		if l != nil && l.Workflow != nil {
			cur = str(l.Workflow["uid"])
		}
		if i > 0 && cur != current {
			s.mu.Unlock()
			return errInvalid(141, "Bulk workflow update failed. All entries must be in the same workflow stage.", map[string][]string{"entries": {"is not valid."}})
		}
		current = cur
	}
	snapshot := make(map[*localized]doc)
	var evs []event
	for _, it := range items {
		e := s.st.Entries[str(it["uid"])]
		loc := str(it["locale"])
		if loc == "" {
			loc = s.st.MasterLocale
		}
		if l, _ := s.st.source(e, loc); l != nil {
			if _, seen := snapshot[l]; !seen {
				snapshot[l] = l.Workflow
			}
		}
		ev, ae := s.doSetStage(c, str(it["content_type"]), str(it["uid"]), loc, stage, branchOf(r))
		if ae != nil {
			for l, wfd := range snapshot {
				l.Workflow = wfd
			}
			s.mu.Unlock()
			return ae
		}
		evs = append(evs, ev...)
	}
	s.mu.Unlock()
	s.dispatch(evs)
	notice(w, http.StatusOK, "Your request to update workflow stage is complete.")
	return nil
}
