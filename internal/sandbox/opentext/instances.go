package opentext

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
	"github.com/patchbay/patchbay/internal/sandbox/opentext/bpmn"
)

type commentDTO struct {
	ID                string          `json:"id"`
	Author            *string         `json:"author"`
	Message           string          `json:"message"`
	Type              *string         `json:"type,omitempty"`
	Time              string          `json:"time"`
	ProcessInstanceID string          `json:"processInstanceId"`
	TaskID            *string         `json:"taskId,omitempty"`
	Links             map[string]link `json:"_links,omitempty"`
}

func renderComment(c *bpmn.Comment) commentDTO {
	d := commentDTO{ID: c.ID, Author: strPtr(c.Author), Message: c.Message, Type: strPtr(c.Type), Time: fmtTime(c.Time),
		ProcessInstanceID: c.InstanceID, TaskID: strPtr(c.TaskID)}
	return d
}

func renderComments(cs []*bpmn.Comment) []commentDTO {
	out := make([]commentDTO, 0, len(cs))
	for _, c := range cs {
		out = append(out, renderComment(c))
	}
	return out
}

// instanceDTO is a runtime process instance (fields CONFIRMED by the
// "get a process instance" sample; processDefinitionId/Key/Version as Flowable).
type instanceDTO struct {
	ID                       string          `json:"id"`
	Name                     *string         `json:"name"`
	BusinessKey              *string         `json:"businessKey"`
	ProcessDefinitionID      string          `json:"processDefinitionId"`
	ProcessDefinitionKey     string          `json:"processDefinitionKey"`
	ProcessDefinitionName    *string         `json:"processDefinitionName"`
	ProcessDefinitionVersion int             `json:"processDefinitionVersion"`
	StartTime                string          `json:"startTime"`
	StartUserID              *string         `json:"startUserId"`
	Ended                    bool            `json:"ended"`
	Completed                bool            `json:"completed"`
	Suspended                bool            `json:"suspended"`
	DueDate                  *string         `json:"dueDate"`
	SuperProcessInstanceID   *string         `json:"superProcessInstanceId"`
	ActivityID               *string         `json:"activityId"`
	CallbackID               *string         `json:"callbackId"`
	CallbackType             *string         `json:"callbackType"`
	TenantID                 string          `json:"tenantId"`
	SubscriptionID           string          `json:"subscriptionId"`
	Variables                []restVariable  `json:"variables"`
	Comments                 []commentDTO    `json:"comments"`
	Links                    map[string]link `json:"_links"`
}

func (s *Server) renderInstance(r *http.Request, in *bpmn.Instance, withVars bool) instanceDTO {
	d := instanceDTO{
		ID: in.ID, Name: strPtr(in.Name), BusinessKey: strPtr(in.BusinessKey), ProcessDefinitionID: in.DefinitionID,
		ProcessDefinitionKey: in.DefinitionKey, ProcessDefinitionName: strPtr(in.DefinitionName),
		ProcessDefinitionVersion: in.DefinitionVersion, StartTime: fmtTime(in.StartTime), StartUserID: strPtr(in.StartUserID),
		Ended: in.Ended, Completed: in.Completed, Suspended: in.Suspended, SuperProcessInstanceID: strPtr(in.SuperInstanceID),
		TenantID: s.opts.TenantID, SubscriptionID: DefaultSubscription, Variables: []restVariable{},
		Comments: renderComments(in.Comments), Links: s.selfLinks(r, "/workflow/v1/process-instances/"+in.ID),
	}
	for _, x := range in.Executions {
		if x.Waiting != "" {
			d.ActivityID = strPtr(x.ActivityID)
			break
		}
	}
	if withVars {
		d.Variables = renderVars(in.Vars, "global")
	}
	return d
}

// commentBody accepts {"message": ...} or a bare string (start requests
// carry comment {message, type, includeUserIds}).
func commentBody(raw json.RawMessage) (msg, typ string) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", ""
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str, ""
	}
	var c struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	}
	_ = json.Unmarshal(raw, &c)
	return c.Message, c.Type
}

type startBody struct {
	ProcessDefinitionKey string          `json:"processDefinitionKey"`
	ProcessDefinitionID  string          `json:"processDefinitionId"`
	Message              string          `json:"message"`
	Name                 string          `json:"name"`
	BusinessKey          string          `json:"businessKey"`
	Outcome              string          `json:"outcome"`
	ReturnVariables      bool            `json:"returnVariables"`
	Variables            []bpmn.VarInput `json:"variables"`
	TransientVariables   []bpmn.VarInput `json:"transientVariables"`
	StartFormVariables   []bpmn.VarInput `json:"startFormVariables"`
	Comment              json.RawMessage `json:"comment"`
	IncludeUserIDs       bool            `json:"includeUserIds"`
}

func (s *Server) startInstance(w http.ResponseWriter, r *http.Request) {
	var b startBody
	if !decodeJSON(w, r, &b) {
		return
	}
	n := 0
	for _, x := range []string{b.ProcessDefinitionKey, b.ProcessDefinitionID, b.Message} {
		if x != "" {
			n++
		}
	}
	if n != 1 {
		writeError(w, http.StatusBadRequest, "Exactly one of processDefinitionId, processDefinitionKey or message is required.")
		return
	}
	msg, _ := commentBody(b.Comment)
	tok := subject(r)
	id, err := s.engine.StartInstance(bpmn.StartRequest{
		DefinitionKey: b.ProcessDefinitionKey, DefinitionID: b.ProcessDefinitionID, Message: b.Message, Name: b.Name,
		BusinessKey: b.BusinessKey, Variables: append(b.Variables, b.StartFormVariables...), Transient: b.TransientVariables,
		User: tok.Subject, Token: tok.Value, Comment: msg,
	})
	if err != nil {
		writeEngineError(w, err)
		return
	}
	var dto instanceDTO
	s.engine.View(func(v *bpmn.View) {
		dto = s.renderInstance(r, v.Instance(id), b.ReturnVariables)
	})
	w.Header().Set("Location", s.url(r)+"/workflow/v1/process-instances/"+id)
	kit.WriteJSON(w, http.StatusCreated, dto)
}

// involved reports whether user started, owns, was assigned or is a
// candidate of a task of, or commented on in.
func involved(in *bpmn.Instance, user string) bool {
	if in.StartUserID == user {
		return true
	}
	for _, t := range in.Tasks {
		if t.Assignee == user || t.Owner == user || t.CompletedBy == user || contains(t.CandidateUsers, user) {
			return true
		}
	}
	for _, c := range in.Comments {
		if c.Author == user {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// matchInstance applies the filters shared by the runtime and history lists.
func matchInstance(q *query, in *bpmn.Instance) bool {
	switch {
	case q.has("id") && in.ID != q.str("id"):
	case q.has("processInstanceId") && in.ID != q.str("processInstanceId"):
	case q.has("name") && in.Name != q.str("name"):
	case q.has("processInstanceName") && in.Name != q.str("processInstanceName"):
	case q.has("nameLike") && !like(q.str("nameLike"), in.Name):
	case q.has("processInstanceNameLike") && !like(q.str("processInstanceNameLike"), in.Name):
	case q.has("processInstanceNameLikeIgnoreCase") && !like(strings.ToLower(q.str("processInstanceNameLikeIgnoreCase")), strings.ToLower(in.Name)):
	case q.has("processDefinitionKey") && in.DefinitionKey != q.str("processDefinitionKey"):
	case q.has("processDefinitionId") && in.DefinitionID != q.str("processDefinitionId") && in.ModelID != q.str("processDefinitionId"):
	case q.has("processDefinitionName") && in.DefinitionName != q.str("processDefinitionName"):
	case q.has("processDefinitionVersion") && itoa(in.DefinitionVersion) != q.str("processDefinitionVersion"):
	case q.has("businessKey") && in.BusinessKey != q.str("businessKey"):
	case q.has("businessKeyLike") && !like(q.str("businessKeyLike"), in.BusinessKey):
	case q.has("superProcessInstanceId") && in.SuperInstanceID != q.str("superProcessInstanceId"):
	case q.flag("excludeSubprocesses") && in.SuperInstanceID != "":
	case q.has("involvedUser") && !involved(in, q.str("involvedUser")):
	case q.has("startedBy") && in.StartUserID != q.str("startedBy"):
	case q.time("startedAfter") != nil && !in.StartTime.After(*q.time("startedAfter")):
	case q.time("startedBefore") != nil && !in.StartTime.Before(*q.time("startedBefore")):
	default:
		return true
	}
	return false
}

var instanceSorts = sorter[*bpmn.Instance]{
	"id":                   func(a, b *bpmn.Instance) int { return cmpStr(a.ID, b.ID) },
	"processInstanceId":    func(a, b *bpmn.Instance) int { return cmpStr(a.ID, b.ID) },
	"processDefinitionId":  func(a, b *bpmn.Instance) int { return cmpStr(a.DefinitionID, b.DefinitionID) },
	"processDefinitionKey": func(a, b *bpmn.Instance) int { return cmpStr(a.DefinitionKey, b.DefinitionKey) },
	"businessKey":          func(a, b *bpmn.Instance) int { return cmpStr(a.BusinessKey, b.BusinessKey) },
	"name":                 func(a, b *bpmn.Instance) int { return cmpStr(a.Name, b.Name) },
	"startTime":            func(a, b *bpmn.Instance) int { return cmpTime(a.StartTime, b.StartTime) },
	"endTime":              func(a, b *bpmn.Instance) int { return cmpTimePtr(a.EndTime, b.EndTime) },
	"duration": func(a, b *bpmn.Instance) int {
		return cmpInt(duration(a).Milliseconds(), duration(b).Milliseconds())
	},
	"tenantId": func(a, b *bpmn.Instance) int { return 0 },
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request) {
	q := newQuery(r)
	suspended, hasSusp := q.boolean("suspended")
	active, hasActive := q.boolean("active")
	withVars := q.flag("includeProcessVariables")
	var dtos []instanceDTO
	var total, offset, count int
	var err error
	s.engine.View(func(v *bpmn.View) {
		var items []*bpmn.Instance
		for _, in := range v.Instances() {
			if in.Ended || !matchInstance(q, in) || (hasSusp && in.Suspended != suspended) || (hasActive && in.Suspended == active) {
				continue
			}
			items = append(items, in)
		}
		if err = q.err; err != nil {
			return
		}
		var pg []*bpmn.Instance
		pg, total, offset, count, err = page(q, items, instanceSorts, "startTime", func(i *bpmn.Instance) string { return i.ID }, s.opts.MaxPageSize)
		for _, in := range pg {
			dtos = append(dtos, s.renderInstance(r, in, withVars))
		}
	})
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	kit.WriteJSON(w, http.StatusOK, s.halList(r, "process-instances", dtos, len(dtos), total, offset, count))
}

// withInstance runs fn on a runtime instance, answering 404 when it is
// unknown or (unless KeepEndedInRuntime) ended.
func (s *Server) withInstance(w http.ResponseWriter, id string, allowEnded bool, fn func(v *bpmn.View, in *bpmn.Instance)) bool {
	found := false
	s.engine.View(func(v *bpmn.View) {
		in := v.Instance(id)
		if in == nil || (in.Ended && !allowEnded && !s.opts.KeepEndedInRuntime) {
			return
		}
		found = true
		fn(v, in)
	})
	if !found {
		writeError(w, http.StatusNotFound, "Could not find a process instance with id '"+id+"'.")
	}
	return found
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request) {
	var dto instanceDTO
	withVars := newQuery(r).flag("includeProcessVariables")
	if s.withInstance(w, r.PathValue("id"), false, func(_ *bpmn.View, in *bpmn.Instance) {
		dto = s.renderInstance(r, in, withVars)
	}) {
		kit.WriteJSON(w, http.StatusOK, dto)
	}
}

func (s *Server) actOnInstance(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Action  string          `json:"action"`
		Comment json.RawMessage `json:"comment"`
	}
	if !decodeJSON(w, r, &b) {
		return
	}
	id := r.PathValue("id")
	var err error
	switch b.Action {
	case "suspend":
		err = s.engine.Suspend(id, true)
	case "activate":
		err = s.engine.Suspend(id, false)
	default:
		writeError(w, http.StatusBadRequest, "Invalid action: '"+b.Action+"'. Use suspend or activate.")
		return
	}
	if err != nil {
		writeEngineError(w, err)
		return
	}
	if msg, typ := commentBody(b.Comment); msg != "" {
		_, _ = s.engine.AddComment(id, "", subject(r).Subject, msg, typ)
	}
	s.getInstance(w, r)
}

func (s *Server) deleteInstance(w http.ResponseWriter, r *http.Request) {
	if err := s.engine.DeleteInstance(r.PathValue("id"), r.URL.Query().Get("deleteReason")); err != nil {
		writeEngineError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- variables ----

func (s *Server) getVariables(w http.ResponseWriter, r *http.Request) {
	var out []restVariable
	if s.withInstance(w, r.PathValue("id"), false, func(_ *bpmn.View, in *bpmn.Instance) {
		out = renderVars(in.Vars, "global")
	}) {
		kit.WriteJSON(w, http.StatusOK, out)
	}
}

func (s *Server) getVariable(w http.ResponseWriter, r *http.Request) {
	var out *restVariable
	name := r.PathValue("name")
	if !s.withInstance(w, r.PathValue("id"), false, func(_ *bpmn.View, in *bpmn.Instance) {
		if v := in.Vars[name]; v != nil {
			rv := renderVar(v, "global")
			out = &rv
		}
	}) {
		return
	}
	if out == nil {
		writeError(w, http.StatusNotFound, "Process instance '"+r.PathValue("id")+"' does not have a variable with name: '"+name+"'.")
		return
	}
	kit.WriteJSON(w, http.StatusOK, out)
}

// setVariables handles POST and PUT of an array of variables. Both create or
// update (ASSUMPTION: Flowable's POST refuses existing names with 409; the
// notes do not say what OpenText does, and upserting is what clients need).
func (s *Server) setVariables(w http.ResponseWriter, r *http.Request) {
	var vars []bpmn.VarInput
	if !decodeJSON(w, r, &vars) {
		return
	}
	if len(vars) == 0 {
		writeError(w, http.StatusBadRequest, "Request did not contain a list of variables to create.")
		return
	}
	set, err := s.engine.SetVariables(r.PathValue("id"), vars)
	if err != nil {
		writeEngineError(w, err)
		return
	}
	out := make([]restVariable, len(set))
	for i, v := range set {
		out[i] = renderVar(v, "global")
	}
	status := http.StatusOK
	if r.Method == http.MethodPost {
		status = http.StatusCreated
	}
	kit.WriteJSON(w, status, out)
}

func (s *Server) putVariable(w http.ResponseWriter, r *http.Request) {
	var v bpmn.VarInput
	if !decodeJSON(w, r, &v) {
		return
	}
	name := r.PathValue("name")
	if v.Name != "" && v.Name != name {
		writeError(w, http.StatusBadRequest, "Variable name in the body ('"+v.Name+"') does not match the path ('"+name+"').")
		return
	}
	v.Name = name
	set, err := s.engine.SetVariables(r.PathValue("id"), []bpmn.VarInput{v})
	if err != nil {
		writeEngineError(w, err)
		return
	}
	kit.WriteJSON(w, http.StatusOK, renderVar(set[0], "global"))
}

func (s *Server) deleteVariable(w http.ResponseWriter, r *http.Request) {
	if err := s.engine.DeleteVariable(r.PathValue("id"), r.PathValue("name")); err != nil {
		writeEngineError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ---- comments ----

func (s *Server) listComments(w http.ResponseWriter, r *http.Request) {
	var out []commentDTO
	if s.withInstance(w, r.PathValue("id"), true, func(_ *bpmn.View, in *bpmn.Instance) {
		out = renderComments(in.Comments)
	}) {
		kit.WriteJSON(w, http.StatusOK, out)
	}
}

func (s *Server) addComment(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Message string `json:"message"`
		Type    string `json:"type"`
	}
	if !decodeJSON(w, r, &b) {
		return
	}
	c, err := s.engine.AddComment(r.PathValue("id"), "", subject(r).Subject, b.Message, b.Type)
	if err != nil {
		writeEngineError(w, err)
		return
	}
	w.Header().Set("Location", s.url(r)+"/workflow/v1/process-instances/"+c.InstanceID+"/comments/"+c.ID)
	kit.WriteJSON(w, http.StatusCreated, renderComment(c))
}

func (s *Server) getComment(w http.ResponseWriter, r *http.Request) {
	var out *commentDTO
	cid := r.PathValue("cid")
	if !s.withInstance(w, r.PathValue("id"), true, func(_ *bpmn.View, in *bpmn.Instance) {
		for _, c := range in.Comments {
			if c.ID == cid {
				d := renderComment(c)
				out = &d
			}
		}
	}) {
		return
	}
	if out == nil {
		writeError(w, http.StatusNotFound, "Process instance '"+r.PathValue("id")+"' does not have a comment with id '"+cid+"'.")
		return
	}
	kit.WriteJSON(w, http.StatusOK, out)
}

func (s *Server) deleteComment(w http.ResponseWriter, r *http.Request) {
	if err := s.engine.DeleteComment(r.PathValue("id"), r.PathValue("cid")); err != nil {
		writeEngineError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
