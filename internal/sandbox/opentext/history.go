package opentext

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
	"github.com/patchbay/patchbay/internal/sandbox/opentext/bpmn"
)

func itoa(n int) string { return strconv.Itoa(n) }

func duration(in *bpmn.Instance) time.Duration {
	if in.EndTime == nil {
		return 0
	}
	return in.EndTime.Sub(in.StartTime)
}

// historicInstanceDTO follows the "get a historic process instance" sample (CONFIRMED).
type historicInstanceDTO struct {
	ID                           string          `json:"id"`
	Name                         *string         `json:"name"`
	BusinessKey                  *string         `json:"businessKey"`
	ProcessDefinitionID          string          `json:"processDefinitionId"`
	ProcessDefinitionName        *string         `json:"processDefinitionName"`
	ProcessDefinitionDescription *string         `json:"processDefinitionDescription"`
	StartTime                    string          `json:"startTime"`
	EndTime                      *string         `json:"endTime"`
	DurationInMillis             *int64          `json:"durationInMillis"`
	StartUserID                  *string         `json:"startUserId"`
	StartActivityID              *string         `json:"startActivityId"`
	EndActivityID                *string         `json:"endActivityId"`
	DeleteReason                 *string         `json:"deleteReason"`
	SuperProcessInstanceID       *string         `json:"superProcessInstanceId"`
	DueDate                      *string         `json:"dueDate"`
	CallbackID                   *string         `json:"callbackId"`
	CallbackType                 *string         `json:"callbackType"`
	ReferenceID                  *string         `json:"referenceId"`
	ReferenceType                *string         `json:"referenceType"`
	TenantID                     string          `json:"tenantId"`
	SubscriptionID               string          `json:"subscriptionId"`
	Variables                    []restVariable  `json:"variables"`
	Comments                     []commentDTO    `json:"comments"`
	Links                        map[string]link `json:"_links"`
}

func (s *Server) renderHistoricInstance(r *http.Request, v *bpmn.View, in *bpmn.Instance, withVars, withComments bool) historicInstanceDTO {
	d := historicInstanceDTO{
		ID: in.ID, Name: strPtr(in.Name), BusinessKey: strPtr(in.BusinessKey), ProcessDefinitionID: in.DefinitionID,
		ProcessDefinitionName: strPtr(in.DefinitionName), StartTime: fmtTime(in.StartTime), EndTime: fmtTimePtr(in.EndTime),
		StartUserID: strPtr(in.StartUserID), StartActivityID: strPtr(in.StartActivityID), EndActivityID: strPtr(in.EndActivityID),
		DeleteReason: strPtr(in.DeleteReason), SuperProcessInstanceID: strPtr(in.SuperInstanceID), TenantID: s.opts.TenantID,
		SubscriptionID: DefaultSubscription, Variables: []restVariable{}, Comments: []commentDTO{},
		Links: s.selfLinks(r, "/workflow/v1/historic-process-instances/"+in.ID),
	}
	if def := v.Definition(in); def != nil {
		d.ProcessDefinitionDescription = strPtr(def.Description)
	}
	if in.EndTime != nil {
		ms := in.EndTime.Sub(in.StartTime).Milliseconds()
		d.DurationInMillis = &ms
	}
	if withVars {
		d.Variables = renderVars(in.Vars, "global")
	}
	if withComments {
		d.Comments = renderComments(in.Comments)
	}
	return d
}

func (s *Server) listHistoricInstances(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r)
	finished, hasFinished := q.boolean("finished")
	withVars, withComments := q.flag("includeProcessVariables"), q.flag("includeProcessComments")
	finishedAfter, finishedBefore := q.time("finishedAfter"), q.time("finishedBefore")
	var dtos []historicInstanceDTO
	var total, offset, count int
	var err error
	s.engine.View(func(v *bpmn.View) {
		var items []*bpmn.Instance
		for _, in := range v.Instances() {
			switch {
			case hasFinished && in.Ended != finished:
			case finishedAfter != nil && (in.EndTime == nil || !in.EndTime.After(*finishedAfter)):
			case finishedBefore != nil && (in.EndTime == nil || !in.EndTime.Before(*finishedBefore)):
			case !matchInstance(q, in):
			default:
				items = append(items, in)
			}
		}
		if err = q.err; err != nil {
			return
		}
		var pg []*bpmn.Instance
		pg, total, offset, count, err = page(q, items, instanceSorts, "startTime", func(i *bpmn.Instance) string { return i.ID }, s.opts.MaxPageSize)
		for _, in := range pg {
			dtos = append(dtos, s.renderHistoricInstance(r, v, in, withVars, withComments))
		}
	})
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	kit.WriteJSON(w, http.StatusOK, s.halList(r, "historic-process-instances", dtos, len(dtos), total, offset, count))
}

func (s *Server) getHistoricInstance(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r)
	var dto *historicInstanceDTO
	s.engine.View(func(v *bpmn.View) {
		if in := v.Instance(r.PathValue("id")); in != nil {
			d := s.renderHistoricInstance(r, v, in, q.flag("includeProcessVariables"), true)
			dto = &d
		}
	})
	if dto == nil {
		writeError(w, http.StatusNotFound, "Could not find a process instance with id '"+r.PathValue("id")+"'.")
		return
	}
	kit.WriteJSON(w, http.StatusOK, dto)
}

func (s *Server) deleteHistoricInstance(w http.ResponseWriter, r *http.Request) {
	if err := s.engine.DeleteHistoricInstance(r.PathValue("id")); err != nil {
		writeEngineError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// historicTaskDTO follows Flowable's historic task instance with OpenText's
// additions (assignments, comments, subscriptionId).
type historicTaskDTO struct {
	ID                  string          `json:"id"`
	ProcessDefinitionID string          `json:"processDefinitionId"`
	ProcessInstanceID   string          `json:"processInstanceId"`
	ExecutionID         string          `json:"executionId"`
	Name                string          `json:"name"`
	Description         *string         `json:"description"`
	DeleteReason        *string         `json:"deleteReason"`
	Owner               *string         `json:"owner"`
	Assignee            *string         `json:"assignee"`
	StartTime           string          `json:"startTime"`
	EndTime             *string         `json:"endTime"`
	DurationInMillis    *int64          `json:"durationInMillis"`
	WorkTimeInMillis    *int64          `json:"workTimeInMillis"`
	ClaimTime           *string         `json:"claimTime"`
	TaskDefinitionKey   string          `json:"taskDefinitionKey"`
	FormKey             *string         `json:"formKey"`
	Priority            int             `json:"priority"`
	DueDate             *string         `json:"dueDate"`
	ParentTaskID        *string         `json:"parentTaskId"`
	Category            *string         `json:"category"`
	TenantID            string          `json:"tenantId"`
	SubscriptionID      string          `json:"subscriptionId"`
	Variables           []restVariable  `json:"variables"`
	Comments            []commentDTO    `json:"comments"`
	Assignments         []assignmentDTO `json:"assignments"`
	Links               map[string]link `json:"_links"`
}

func (s *Server) renderHistoricTask(r *http.Request, in *bpmn.Instance, t *bpmn.Task, inc taskIncludes) historicTaskDTO {
	d := historicTaskDTO{
		ID: t.ID, ProcessDefinitionID: t.DefinitionID, ProcessInstanceID: t.InstanceID, ExecutionID: t.ExecutionID, Name: t.Name,
		Description: strPtr(t.Description), DeleteReason: strPtr(t.DeleteReason), Owner: strPtr(t.Owner), Assignee: strPtr(t.Assignee),
		StartTime: fmtTime(t.CreateTime), EndTime: fmtTimePtr(t.EndTime), ClaimTime: fmtTimePtr(t.ClaimTime),
		TaskDefinitionKey: t.TaskDefinitionKey, FormKey: strPtr(t.FormKey), Priority: t.Priority, DueDate: fmtTimePtr(t.DueDate),
		Category: strPtr(t.Category), TenantID: s.opts.TenantID, SubscriptionID: DefaultSubscription,
		Variables: []restVariable{}, Comments: []commentDTO{}, Assignments: []assignmentDTO{},
		Links: s.selfLinks(r, "/workflow/v1/historic-task-instances/"+t.ID),
	}
	if t.EndTime != nil {
		ms := t.EndTime.Sub(t.CreateTime).Milliseconds()
		d.DurationInMillis = &ms
		if t.ClaimTime != nil {
			wt := t.EndTime.Sub(*t.ClaimTime).Milliseconds()
			d.WorkTimeInMillis = &wt
		}
	}
	if inc.processVars {
		d.Variables = renderVars(in.Vars, "global")
	}
	if inc.localVars && t.LocalVars != nil {
		d.Variables = append(d.Variables, renderVars(t.LocalVars, "local")...)
	}
	if inc.comments {
		d.Comments = renderComments(t.Comments)
	}
	if inc.assignments {
		d.Assignments = renderAssignments(t)
	}
	return d
}

func matchHistoricTask(q *query, in *bpmn.Instance, t *bpmn.Task) bool {
	tf := func(name string, v *time.Time, ok func(a, b time.Time) bool) bool {
		f := q.time(name)
		return f == nil || (v != nil && ok(*v, *f))
	}
	day := func(a, b time.Time) bool { return a.Truncate(24 * time.Hour).Equal(b.Truncate(24 * time.Hour)) }
	before := func(a, b time.Time) bool { return a.Before(b) }
	after := func(a, b time.Time) bool { return a.After(b) }
	ct := t.CreateTime
	finished, hasFinished := q.boolean("finished")
	procFinished, hasProcFinished := q.boolean("processFinished")
	switch {
	case q.has("taskId") && t.ID != q.str("taskId"):
	case q.has("processInstanceId") && t.InstanceID != q.str("processInstanceId"):
	case q.has("processInstanceIdWithChildren") && t.InstanceID != q.str("processInstanceIdWithChildren") && in.SuperInstanceID != q.str("processInstanceIdWithChildren"):
	case q.has("processDefinitionKey") && in.DefinitionKey != q.str("processDefinitionKey"):
	case q.has("processDefinitionKeyLike") && !like(q.str("processDefinitionKeyLike"), in.DefinitionKey):
	case q.has("processDefinitionId") && in.DefinitionID != q.str("processDefinitionId") && in.ModelID != q.str("processDefinitionId"):
	case q.has("processDefinitionName") && in.DefinitionName != q.str("processDefinitionName"):
	case q.has("processDefinitionNameLike") && !like(q.str("processDefinitionNameLike"), in.DefinitionName):
	case q.has("processBusinessKey") && in.BusinessKey != q.str("processBusinessKey"):
	case q.has("processBusinessKeyLike") && !like(q.str("processBusinessKeyLike"), in.BusinessKey):
	case q.has("executionId") && t.ExecutionID != q.str("executionId"):
	case q.has("taskDefinitionKey") && t.TaskDefinitionKey != q.str("taskDefinitionKey"):
	case q.has("taskDefinitionKeys") && !contains(strings.Split(q.str("taskDefinitionKeys"), ","), t.TaskDefinitionKey):
	case q.has("taskName") && t.Name != q.str("taskName"):
	case q.has("taskNameLike") && !like(q.str("taskNameLike"), t.Name):
	case q.has("taskDescription") && t.Description != q.str("taskDescription"):
	case q.has("taskDescriptionLike") && !like(q.str("taskDescriptionLike"), t.Description):
	case q.has("taskCategory") && t.Category != q.str("taskCategory"):
	case q.has("taskDeleteReason") && t.DeleteReason != q.str("taskDeleteReason"):
	case q.has("taskDeleteReasonLike") && !like(q.str("taskDeleteReasonLike"), t.DeleteReason):
	case q.has("taskAssignee") && t.Assignee != q.str("taskAssignee"):
	case q.has("taskAssigneeLike") && !like(q.str("taskAssigneeLike"), t.Assignee):
	case q.has("taskOwner") && t.Owner != q.str("taskOwner"):
	case q.has("taskOwnerLike") && !like(q.str("taskOwnerLike"), t.Owner):
	case q.has("taskInvolvedUser") && t.Assignee != q.str("taskInvolvedUser") && t.Owner != q.str("taskInvolvedUser") && !contains(t.CandidateUsers, q.str("taskInvolvedUser")):
	case q.has("taskPriority") && itoa(t.Priority) != q.str("taskPriority"):
	case hasFinished && finished == t.Open():
	case hasProcFinished && procFinished != in.Ended:
	case !tf("dueDate", t.DueDate, day), !tf("dueDateAfter", t.DueDate, after), !tf("dueDateBefore", t.DueDate, before):
	case q.flag("withoutDueDate") && t.DueDate != nil:
	case !tf("taskCompletedOn", t.EndTime, day), !tf("taskCompletedAfter", t.EndTime, after), !tf("taskCompletedBefore", t.EndTime, before):
	case !tf("taskCreatedOn", &ct, day), !tf("taskCreatedBefore", &ct, before), !tf("taskCreatedAfter", &ct, after):
	default:
		return true
	}
	return false
}

var historicTaskSorts = sorter[taskRow]{
	"taskInstanceId":      func(a, b taskRow) int { return cmpStr(a.t.ID, b.t.ID) },
	"id":                  func(a, b taskRow) int { return cmpStr(a.t.ID, b.t.ID) },
	"processDefinitionId": func(a, b taskRow) int { return cmpStr(a.t.DefinitionID, b.t.DefinitionID) },
	"processInstanceId":   func(a, b taskRow) int { return cmpStr(a.t.InstanceID, b.t.InstanceID) },
	"executionId":         func(a, b taskRow) int { return cmpStr(a.t.ExecutionID, b.t.ExecutionID) },
	"taskDefinitionKey":   func(a, b taskRow) int { return cmpStr(a.t.TaskDefinitionKey, b.t.TaskDefinitionKey) },
	"name":                func(a, b taskRow) int { return cmpStr(a.t.Name, b.t.Name) },
	"description":         func(a, b taskRow) int { return cmpStr(a.t.Description, b.t.Description) },
	"assignee":            func(a, b taskRow) int { return cmpStr(a.t.Assignee, b.t.Assignee) },
	"owner":               func(a, b taskRow) int { return cmpStr(a.t.Owner, b.t.Owner) },
	"priority":            func(a, b taskRow) int { return cmpInt(int64(a.t.Priority), int64(b.t.Priority)) },
	"startTime":           func(a, b taskRow) int { return cmpTime(a.t.CreateTime, b.t.CreateTime) },
	"endTime":             func(a, b taskRow) int { return cmpTimePtr(a.t.EndTime, b.t.EndTime) },
	"dueDate":             func(a, b taskRow) int { return cmpTimePtr(a.t.DueDate, b.t.DueDate) },
	"duration": func(a, b taskRow) int {
		d := func(t *bpmn.Task) int64 {
			if t.EndTime == nil {
				return 0
			}
			return t.EndTime.Sub(t.CreateTime).Milliseconds()
		}
		return cmpInt(d(a.t), d(b.t))
	},
	"tenantId": func(a, b taskRow) int { return 0 },
}

func (s *Server) listHistoricTasks(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r)
	inc := includesFrom(q)
	var dtos []historicTaskDTO
	var total, offset, count int
	var err error
	s.engine.View(func(v *bpmn.View) {
		var rows []taskRow
		for _, in := range v.Instances() {
			for _, t := range in.Tasks {
				if matchHistoricTask(q, in, t) {
					rows = append(rows, taskRow{in, t})
				}
			}
		}
		if err = q.err; err != nil {
			return
		}
		var pg []taskRow
		pg, total, offset, count, err = page(q, rows, historicTaskSorts, "startTime", func(r taskRow) string { return r.t.ID }, s.opts.MaxPageSize)
		for _, row := range pg {
			dtos = append(dtos, s.renderHistoricTask(r, row.in, row.t, inc))
		}
	})
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	kit.WriteJSON(w, http.StatusOK, s.halList(r, "historic-task-instances", dtos, len(dtos), total, offset, count))
}

func (s *Server) getHistoricTask(w http.ResponseWriter, r *http.Request) {
	inc := includesFrom(newQuery(r))
	var dto *historicTaskDTO
	s.engine.View(func(v *bpmn.View) {
		if in, t := v.Task(r.PathValue("id")); t != nil {
			d := s.renderHistoricTask(r, in, t, inc)
			dto = &d
		}
	})
	if dto == nil {
		writeError(w, http.StatusNotFound, "Could not find a historic task instance with id '"+r.PathValue("id")+"'.")
		return
	}
	kit.WriteJSON(w, http.StatusOK, dto)
}
