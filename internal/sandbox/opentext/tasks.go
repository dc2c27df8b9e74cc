package opentext

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
	"github.com/patchbay/patchbay/internal/sandbox/opentext/bpmn"
)

type assignmentDTO struct {
	User  *string `json:"user"`
	Group *string `json:"group"`
	Type  string  `json:"type"`
}

func renderAssignments(t *bpmn.Task) []assignmentDTO {
	out := []assignmentDTO{}
	if t.Assignee != "" {
		out = append(out, assignmentDTO{User: strPtr(t.Assignee), Type: "assignee"})
	}
	if t.Owner != "" {
		out = append(out, assignmentDTO{User: strPtr(t.Owner), Type: "owner"})
	}
	for _, u := range t.CandidateUsers {
		out = append(out, assignmentDTO{User: strPtr(u), Type: "candidate"})
	}
	for _, g := range t.CandidateGroups {
		out = append(out, assignmentDTO{Group: strPtr(g), Type: "candidate"})
	}
	return out
}

// taskDTO is a runtime task (fields CONFIRMED by the get/update task samples).
type taskDTO struct {
	ID                  string          `json:"id"`
	Name                string          `json:"name"`
	Description         *string         `json:"description"`
	Assignee            *string         `json:"assignee"`
	Owner               *string         `json:"owner"`
	DelegationState     *string         `json:"delegationState"`
	ClaimTime           *string         `json:"claimTime"`
	CreateTime          string          `json:"createTime"`
	DueDate             *string         `json:"dueDate"`
	Priority            int             `json:"priority"`
	Category            *string         `json:"category"`
	FormKey             *string         `json:"formKey"`
	ExecutionID         string          `json:"executionId"`
	ParentTaskID        *string         `json:"parentTaskId"`
	ProcessInstanceID   string          `json:"processInstanceId"`
	ProcessDefinitionID string          `json:"processDefinitionId"`
	TaskDefinitionKey   string          `json:"taskDefinitionKey"`
	TenantID            string          `json:"tenantId"`
	SubscriptionID      string          `json:"subscriptionId"`
	Suspended           bool            `json:"suspended"`
	Assignments         []assignmentDTO `json:"assignments"`
	Comments            []commentDTO    `json:"comments"`
	Variables           []restVariable  `json:"variables"`
	Links               map[string]link `json:"_links"`
}

type taskIncludes struct {
	processVars, localVars, comments, assignments bool
}

func includesFrom(q *query) taskIncludes {
	return taskIncludes{
		processVars: q.flag("includeProcessVariables"), localVars: q.flag("includeTaskLocalVariables"),
		comments: q.flag("includeTaskComments"), assignments: q.flag("includeTaskAssignments"),
	}
}

func (s *Server) renderTask(r *http.Request, in *bpmn.Instance, t *bpmn.Task, inc taskIncludes) taskDTO {
	d := taskDTO{
		ID: t.ID, Name: t.Name, Description: strPtr(t.Description), Assignee: strPtr(t.Assignee), Owner: strPtr(t.Owner),
		ClaimTime: fmtTimePtr(t.ClaimTime), CreateTime: fmtTime(t.CreateTime), DueDate: fmtTimePtr(t.DueDate),
		Priority: t.Priority, Category: strPtr(t.Category), FormKey: strPtr(t.FormKey), ExecutionID: t.ExecutionID,
		ProcessInstanceID: t.InstanceID, ProcessDefinitionID: t.DefinitionID, TaskDefinitionKey: t.TaskDefinitionKey,
		TenantID: s.opts.TenantID, SubscriptionID: DefaultSubscription, Suspended: in.Suspended,
		Assignments: []assignmentDTO{}, Comments: []commentDTO{}, Variables: []restVariable{},
		Links: s.selfLinks(r, "/workflow/v1/tasks/"+t.ID),
	}
	if inc.assignments {
		d.Assignments = renderAssignments(t)
	}
	if inc.comments {
		d.Comments = renderComments(t.Comments)
	}
	if inc.localVars && t.LocalVars != nil {
		d.Variables = append(d.Variables, renderVars(t.LocalVars, "local")...)
	}
	if inc.processVars {
		d.Variables = append(d.Variables, renderVars(in.Vars, "global")...)
	}
	return d
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if contains(b, x) {
			return true
		}
	}
	return false
}

// isCandidate reports whether user may claim t: a candidate user, or a
// member of a candidate group.
func (s *Server) isCandidate(t *bpmn.Task, user string) bool {
	return contains(t.CandidateUsers, user) || intersects(t.CandidateGroups, s.groups(user))
}

// matchTask applies the documented task filters. Candidate filters match
// unassigned tasks only, as Flowable's do.
func (s *Server) matchTask(q *query, in *bpmn.Instance, t *bpmn.Task) bool {
	timeFilter := func(name string, v *time.Time, cmp func(a, b time.Time) bool) bool {
		f := q.time(name)
		if f == nil {
			return true
		}
		return v != nil && cmp(*v, *f)
	}
	dayEq := func(a, b time.Time) bool { return a.Truncate(24 * time.Hour).Equal(b.Truncate(24 * time.Hour)) }
	before := func(a, b time.Time) bool { return a.Before(b) }
	after := func(a, b time.Time) bool { return a.After(b) }
	ct := t.CreateTime
	pri := func(name string, ok func(p, v int) bool) bool {
		if !q.has(name) {
			return true
		}
		v, err := strconv.Atoi(q.str(name))
		return err == nil && ok(t.Priority, v)
	}
	switch {
	case q.has("name") && t.Name != q.str("name"):
	case q.has("nameLike") && !like(q.str("nameLike"), t.Name):
	case q.has("description") && t.Description != q.str("description"):
	case !pri("priority", func(p, v int) bool { return p == v }):
	case !pri("minimumPriority", func(p, v int) bool { return p >= v }):
	case !pri("maximumPriority", func(p, v int) bool { return p <= v }):
	case q.has("assignee") && t.Assignee != q.str("assignee"):
	case q.has("assigneeLike") && !like(q.str("assigneeLike"), t.Assignee):
	case q.has("owner") && t.Owner != q.str("owner"):
	case q.has("ownerLike") && !like(q.str("ownerLike"), t.Owner):
	case q.flag("unassigned") && t.Assignee != "":
	case q.has("delegationState"):
	case q.has("candidateUser") && (t.Assignee != "" || !s.isCandidate(t, q.str("candidateUser"))):
	case q.has("candidateGroup") && (t.Assignee != "" || !contains(t.CandidateGroups, q.str("candidateGroup"))):
	case q.has("candidateGroups") && (t.Assignee != "" || !intersects(t.CandidateGroups, strings.Split(q.str("candidateGroups"), ","))):
	case q.has("candidateOrAssigned") && t.Assignee != q.str("candidateOrAssigned") &&
		(t.Assignee != "" || !s.isCandidate(t, q.str("candidateOrAssigned"))):
	case q.has("involvedUser") && t.Assignee != q.str("involvedUser") && t.Owner != q.str("involvedUser") && !contains(t.CandidateUsers, q.str("involvedUser")):
	case q.has("processInstanceId") && t.InstanceID != q.str("processInstanceId"):
	case q.has("processInstanceIdWithChildren") && t.InstanceID != q.str("processInstanceIdWithChildren") && in.SuperInstanceID != q.str("processInstanceIdWithChildren"):
	case q.has("processInstanceBusinessKey") && in.BusinessKey != q.str("processInstanceBusinessKey"):
	case q.has("processInstanceBusinessKeyLike") && !like(q.str("processInstanceBusinessKeyLike"), in.BusinessKey):
	case q.has("processDefinitionId") && in.DefinitionID != q.str("processDefinitionId") && in.ModelID != q.str("processDefinitionId"):
	case q.has("processDefinitionKey") && in.DefinitionKey != q.str("processDefinitionKey"):
	case q.has("processDefinitionKeyLike") && !like(q.str("processDefinitionKeyLike"), in.DefinitionKey):
	case q.has("processDefinitionName") && in.DefinitionName != q.str("processDefinitionName"):
	case q.has("processDefinitionNameLike") && !like(q.str("processDefinitionNameLike"), in.DefinitionName):
	case q.has("executionId") && t.ExecutionID != q.str("executionId"):
	case q.has("taskDefinitionKey") && t.TaskDefinitionKey != q.str("taskDefinitionKey"):
	case q.has("category") && t.Category != q.str("category"):
	case !timeFilter("createdOn", &ct, dayEq), !timeFilter("createdBefore", &ct, before), !timeFilter("createdAfter", &ct, after):
	case !timeFilter("dueOn", t.DueDate, dayEq), !timeFilter("dueBefore", t.DueDate, before), !timeFilter("dueAfter", t.DueDate, after):
	case q.flag("withoutDueDate") && t.DueDate != nil:
	default:
		if active, ok := q.boolean("active"); ok && active == in.Suspended {
			return false
		}
		return true
	}
	return false
}

type taskRow struct {
	in *bpmn.Instance
	t  *bpmn.Task
}

var taskSorts = sorter[taskRow]{
	"id":                func(a, b taskRow) int { return cmpStr(a.t.ID, b.t.ID) },
	"name":              func(a, b taskRow) int { return cmpStr(a.t.Name, b.t.Name) },
	"description":       func(a, b taskRow) int { return cmpStr(a.t.Description, b.t.Description) },
	"priority":          func(a, b taskRow) int { return cmpInt(int64(a.t.Priority), int64(b.t.Priority)) },
	"assignee":          func(a, b taskRow) int { return cmpStr(a.t.Assignee, b.t.Assignee) },
	"owner":             func(a, b taskRow) int { return cmpStr(a.t.Owner, b.t.Owner) },
	"createTime":        func(a, b taskRow) int { return cmpTime(a.t.CreateTime, b.t.CreateTime) },
	"dueDate":           func(a, b taskRow) int { return cmpTimePtr(a.t.DueDate, b.t.DueDate) },
	"executionId":       func(a, b taskRow) int { return cmpStr(a.t.ExecutionID, b.t.ExecutionID) },
	"processInstanceId": func(a, b taskRow) int { return cmpStr(a.t.InstanceID, b.t.InstanceID) },
	"taskDefinitionKey": func(a, b taskRow) int { return cmpStr(a.t.TaskDefinitionKey, b.t.TaskDefinitionKey) },
	"category":          func(a, b taskRow) int { return cmpStr(a.t.Category, b.t.Category) },
	"tenantId":          func(a, b taskRow) int { return 0 },
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r)
	inc := includesFrom(q)
	var dtos []taskDTO
	var total, offset, count int
	var err error
	s.engine.View(func(v *bpmn.View) {
		var rows []taskRow
		for _, in := range v.Instances() {
			if in.Ended {
				continue
			}
			for _, t := range in.Tasks {
				if t.Open() && s.matchTask(q, in, t) {
					rows = append(rows, taskRow{in, t})
				}
			}
		}
		if err = q.err; err != nil {
			return
		}
		var pg []taskRow
		pg, total, offset, count, err = page(q, rows, taskSorts, "createTime", func(r taskRow) string { return r.t.ID }, s.opts.MaxPageSize)
		for _, row := range pg {
			dtos = append(dtos, s.renderTask(r, row.in, row.t, inc))
		}
	})
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	kit.WriteJSON(w, http.StatusOK, s.halList(r, "tasks", dtos, len(dtos), total, offset, count))
}

func (s *Server) withOpenTask(w http.ResponseWriter, id string, fn func(in *bpmn.Instance, t *bpmn.Task)) bool {
	found := false
	s.engine.View(func(v *bpmn.View) {
		in, t := v.Task(id)
		if t == nil || !t.Open() {
			return
		}
		found = true
		fn(in, t)
	})
	if !found {
		writeError(w, http.StatusNotFound, "Could not find a task with id '"+id+"'.")
	}
	return found
}

func (s *Server) getTask(w http.ResponseWriter, r *http.Request) {
	inc := includesFrom(newQuery(r))
	var dto taskDTO
	if s.withOpenTask(w, r.PathValue("id"), func(in *bpmn.Instance, t *bpmn.Task) { dto = s.renderTask(r, in, t, inc) }) {
		kit.WriteJSON(w, http.StatusOK, dto)
	}
}

func (s *Server) taskAssignments(w http.ResponseWriter, r *http.Request) {
	var out []assignmentDTO
	if s.withOpenTask(w, r.PathValue("id"), func(_ *bpmn.Instance, t *bpmn.Task) { out = renderAssignments(t) }) {
		kit.WriteJSON(w, http.StatusOK, out)
	}
}

// actionBody is the task action request (CONFIRMED: action, assignee,
// outcome, variables[]; transientVariables as Flowable).
type actionBody struct {
	Action             string          `json:"action"`
	Assignee           *string         `json:"assignee"`
	Outcome            string          `json:"outcome"`
	Variables          []bpmn.VarInput `json:"variables"`
	TransientVariables []bpmn.VarInput `json:"transientVariables"`
	Comment            json.RawMessage `json:"comment"`
}

func (s *Server) taskAction(w http.ResponseWriter, r *http.Request) {
	var b actionBody
	if !decodeJSON(w, r, &b) {
		return
	}
	id := r.PathValue("id")
	tok := subject(r)
	var err error
	switch b.Action {
	case "claim":
		assignee := ""
		if b.Assignee != nil {
			assignee = *b.Assignee
		}
		err = s.engine.ClaimTask(id, assignee)
	case "complete":
		msg, _ := commentBody(b.Comment)
		err = s.engine.CompleteTask(id, bpmn.CompleteRequest{
			User: tok.Subject, Token: tok.Value, Outcome: b.Outcome, Variables: b.Variables, Transient: b.TransientVariables,
			Comment: msg, AssignIfUnclaimed: true,
		})
	case "delegate", "resolve":
		writeError(w, http.StatusBadRequest, "Action '"+b.Action+"' is not supported by the sandbox (OpenText has been seen using only claim and complete).")
		return
	case "":
		writeError(w, http.StatusBadRequest, "Action is required.")
		return
	default:
		writeError(w, http.StatusBadRequest, "Invalid action: '"+b.Action+"'.")
		return
	}
	if err != nil {
		writeEngineError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

type updateBody struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Assignee    *string `json:"assignee"`
	Owner       *string `json:"owner"`
	DueDate     *string `json:"dueDate"`
	Priority    *int    `json:"priority"`
	Category    *string `json:"category"`
	FormKey     *string `json:"formKey"`
}

func (s *Server) updateTask(w http.ResponseWriter, r *http.Request) {
	var b updateBody
	if !decodeJSON(w, r, &b) {
		return
	}
	var due *time.Time
	if b.DueDate != nil && *b.DueDate != "" {
		t, err := bpmn.ParseTime(*b.DueDate)
		if err != nil {
			writeError(w, http.StatusBadRequest, "dueDate: "+err.Error())
			return
		}
		due = &t
	}
	err := s.engine.UpdateTask(r.PathValue("id"), func(t *bpmn.Task) error {
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		set(&t.Name, b.Name)
		set(&t.Description, b.Description)
		set(&t.Owner, b.Owner)
		set(&t.Category, b.Category)
		set(&t.FormKey, b.FormKey)
		if b.Assignee != nil && *b.Assignee != t.Assignee {
			t.Assignee = *b.Assignee
			if t.Assignee == "" {
				t.ClaimTime = nil
			} else {
				now := s.kit.Clock().Now().UTC()
				t.ClaimTime = &now
			}
		}
		if b.Priority != nil {
			t.Priority = *b.Priority
		}
		if b.DueDate != nil {
			t.DueDate = due
		}
		return nil
	})
	if err != nil {
		writeEngineError(w, err)
		return
	}
	s.getTask(w, r)
}
