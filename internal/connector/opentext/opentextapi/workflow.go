package opentextapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// The /workflow/v1 calls. Paths and bodies follow
// ../shared/apis/opentext-workflow.md (A4–A8).

func pathID(prefix, id string) string { return prefix + "/" + url.PathEscape(id) }

func setStr(v url.Values, name, s string) {
	if s != "" {
		v.Set(name, s)
	}
}

func setBool(v url.Values, name string, b *bool) {
	if b != nil {
		v.Set(name, strconv.FormatBool(*b))
	}
}

func setTrue(v url.Values, name string, b bool) {
	if b {
		v.Set(name, "true")
	}
}

func setTime(v url.Values, name string, t time.Time) {
	if !t.IsZero() {
		v.Set(name, FormatTime(t))
	}
}

func list[T any](ctx context.Context, c *Client, path, rel string, q url.Values) (Page[T], error) {
	var raw json.RawMessage
	if err := c.call(ctx, http.MethodGet, path, q, nil, &raw); err != nil {
		return Page[T]{}, err
	}
	return DecodePage[T](raw, rel)
}

// ---- runtime models ----

// DeployRequest deploys a model. ModelType is "json" (Content is the
// modeler JSON) or "xml" (Content is a JSON string holding BPMN 2.0 XML).
// Deploying a key again makes a new version; new instances use the latest.
type DeployRequest struct {
	ModelID      string          `json:"modelId,omitempty"`
	ModelType    string          `json:"modelType"`
	ModelContent json.RawMessage `json:"modelContent"`
}

// DeployModel is POST /runtime/models.
func (c *Client) DeployModel(ctx context.Context, req DeployRequest) (*Model, error) {
	var m Model
	if err := c.call(ctx, http.MethodPost, "/runtime/models", nil, req, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// ModelQuery filters GET /runtime/models.
type ModelQuery struct {
	Key           string
	LatestVersion bool
	// ModelType, when set, makes the answer carry each model's content.
	ModelType string
	Paging
}

// ListModels is GET /runtime/models.
func (c *Client) ListModels(ctx context.Context, q ModelQuery) (Page[Model], error) {
	v := url.Values{}
	setStr(v, "key", q.Key)
	setTrue(v, "latestVersion", q.LatestVersion)
	setStr(v, "modelType", q.ModelType)
	q.Paging.set(v)
	return list[Model](ctx, c, "/runtime/models", "models", v)
}

// ---- process instances ----

// StartRequest starts a process instance. Exactly one of
// ProcessDefinitionKey, ProcessDefinitionID and Message is set.
type StartRequest struct {
	ProcessDefinitionKey string     `json:"processDefinitionKey,omitempty"`
	ProcessDefinitionID  string     `json:"processDefinitionId,omitempty"`
	Message              string     `json:"message,omitempty"`
	Name                 string     `json:"name,omitempty"`
	BusinessKey          string     `json:"businessKey,omitempty"`
	Variables            []Variable `json:"variables,omitempty"`
	TransientVariables   []Variable `json:"transientVariables,omitempty"`
	ReturnVariables      bool       `json:"returnVariables"`
	Comment              *Comment   `json:"comment,omitempty"`
}

// StartInstance is POST /process-instances (201).
func (c *Client) StartInstance(ctx context.Context, req StartRequest) (*Instance, error) {
	var in Instance
	if err := c.call(ctx, http.MethodPost, "/process-instances", nil, req, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// GetInstance is GET /process-instances/{id}. Ended instances are not
// found here (as in Flowable); read them with GetHistoricInstance.
func (c *Client) GetInstance(ctx context.Context, id string, withVars bool) (*Instance, error) {
	v := url.Values{}
	setTrue(v, "includeProcessVariables", withVars)
	var in Instance
	if err := c.call(ctx, http.MethodGet, pathID("/process-instances", id), v, nil, &in); err != nil {
		return nil, err
	}
	return &in, nil
}

// InstanceQuery filters GET /process-instances (running instances).
type InstanceQuery struct {
	ID                   string
	ProcessDefinitionKey string
	BusinessKey          string
	IncludeVariables     bool
	Paging
}

// ListInstances is GET /process-instances.
func (c *Client) ListInstances(ctx context.Context, q InstanceQuery) (Page[Instance], error) {
	v := url.Values{}
	setStr(v, "id", q.ID)
	setStr(v, "processDefinitionKey", q.ProcessDefinitionKey)
	setStr(v, "businessKey", q.BusinessKey)
	setTrue(v, "includeProcessVariables", q.IncludeVariables)
	q.Paging.set(v)
	return list[Instance](ctx, c, "/process-instances", "process-instances", v)
}

// DeleteInstance terminates a running instance (DELETE /process-instances/{id}).
func (c *Client) DeleteInstance(ctx context.Context, id, reason string) error {
	v := url.Values{}
	setStr(v, "deleteReason", reason)
	return c.call(ctx, http.MethodDelete, pathID("/process-instances", id), v, nil, nil)
}

// SetVariables creates or updates instance variables
// (PUT /process-instances/{id}/variables, which Flowable defines as
// create-or-update, so it is safe to repeat).
func (c *Client) SetVariables(ctx context.Context, id string, vars []Variable) ([]Variable, error) {
	var out []Variable
	if err := c.call(ctx, http.MethodPut, pathID("/process-instances", id)+"/variables", nil, vars, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Comments lists an instance's comments.
func (c *Client) Comments(ctx context.Context, id string) ([]Comment, error) {
	var out []Comment
	if err := c.call(ctx, http.MethodGet, pathID("/process-instances", id)+"/comments", nil, nil, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// AddComment is POST /process-instances/{id}/comments.
func (c *Client) AddComment(ctx context.Context, id, message, typ string) (*Comment, error) {
	body := map[string]string{"message": message}
	if typ != "" {
		body["type"] = typ
	}
	var out Comment
	if err := c.call(ctx, http.MethodPost, pathID("/process-instances", id)+"/comments", nil, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ---- tasks ----

// TaskQuery holds the documented filters of GET /tasks.
type TaskQuery struct {
	Name                       string
	NameLike                   string
	Assignee                   string
	Owner                      string
	Unassigned                 bool
	CandidateUser              string
	CandidateGroup             string
	CandidateGroups            string // comma-separated
	CandidateOrAssigned        string
	InvolvedUser               string
	ProcessInstanceID          string
	ProcessInstanceBusinessKey string
	// ProcessInstanceBusinessKeyLike matches business keys with % wildcards.
	ProcessInstanceBusinessKeyLike string
	ProcessDefinitionKey           string
	TaskDefinitionKey              string
	Category                       string
	CreatedAfter                   time.Time
	CreatedBefore                  time.Time
	DueAfter                       time.Time
	DueBefore                      time.Time
	Active                         *bool
	IncludeProcessVariables        bool
	IncludeTaskLocalVariables      bool
	IncludeTaskComments            bool
	IncludeTaskAssignments         bool
	Paging
}

// Values renders the query.
func (q TaskQuery) Values() url.Values {
	v := url.Values{}
	setStr(v, "name", q.Name)
	setStr(v, "nameLike", q.NameLike)
	setStr(v, "assignee", q.Assignee)
	setStr(v, "owner", q.Owner)
	setTrue(v, "unassigned", q.Unassigned)
	setStr(v, "candidateUser", q.CandidateUser)
	setStr(v, "candidateGroup", q.CandidateGroup)
	setStr(v, "candidateGroups", q.CandidateGroups)
	setStr(v, "candidateOrAssigned", q.CandidateOrAssigned)
	setStr(v, "involvedUser", q.InvolvedUser)
	setStr(v, "processInstanceId", q.ProcessInstanceID)
	setStr(v, "processInstanceBusinessKey", q.ProcessInstanceBusinessKey)
	setStr(v, "processInstanceBusinessKeyLike", q.ProcessInstanceBusinessKeyLike)
	setStr(v, "processDefinitionKey", q.ProcessDefinitionKey)
	setStr(v, "taskDefinitionKey", q.TaskDefinitionKey)
	setStr(v, "category", q.Category)
	setTime(v, "createdAfter", q.CreatedAfter)
	setTime(v, "createdBefore", q.CreatedBefore)
	setTime(v, "dueAfter", q.DueAfter)
	setTime(v, "dueBefore", q.DueBefore)
	setBool(v, "active", q.Active)
	setTrue(v, "includeProcessVariables", q.IncludeProcessVariables)
	setTrue(v, "includeTaskLocalVariables", q.IncludeTaskLocalVariables)
	setTrue(v, "includeTaskComments", q.IncludeTaskComments)
	setTrue(v, "includeTaskAssignments", q.IncludeTaskAssignments)
	q.Paging.set(v)
	return v
}

// ListTasks is GET /tasks (open tasks).
func (c *Client) ListTasks(ctx context.Context, q TaskQuery) (Page[Task], error) {
	return list[Task](ctx, c, "/tasks", "tasks", q.Values())
}

// TaskIncludes selects what GetTask adds to the task.
type TaskIncludes struct {
	ProcessVariables bool
	LocalVariables   bool
	Comments         bool
	Assignments      bool
}

func (inc TaskIncludes) values() url.Values {
	v := url.Values{}
	setTrue(v, "includeProcessVariables", inc.ProcessVariables)
	setTrue(v, "includeTaskLocalVariables", inc.LocalVariables)
	setTrue(v, "includeTaskComments", inc.Comments)
	setTrue(v, "includeTaskAssignments", inc.Assignments)
	return v
}

// GetTask is GET /tasks/{id} (open tasks only).
func (c *Client) GetTask(ctx context.Context, id string, inc TaskIncludes) (*Task, error) {
	var t Task
	if err := c.call(ctx, http.MethodGet, pathID("/tasks", id), inc.values(), nil, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// ClaimTask is POST /tasks/{id} {action: claim, assignee}; an empty
// assignee unclaims.
func (c *Client) ClaimTask(ctx context.Context, id, assignee string) error {
	body := map[string]any{"action": "claim", "assignee": assignee}
	if assignee == "" {
		body["assignee"] = nil
	}
	return c.call(ctx, http.MethodPost, pathID("/tasks", id), nil, body, nil)
}

// CompleteRequest completes a task; Outcome is required for approval tasks
// (one of the task's possible outcome values).
type CompleteRequest struct {
	Outcome            string     `json:"outcome,omitempty"`
	Variables          []Variable `json:"variables,omitempty"`
	TransientVariables []Variable `json:"transientVariables,omitempty"`
	Comment            string     `json:"-"`
}

// CompleteTask is POST /tasks/{id} {action: complete, outcome, variables}.
func (c *Client) CompleteTask(ctx context.Context, id string, req CompleteRequest) error {
	body := map[string]any{"action": "complete"}
	if req.Outcome != "" {
		body["outcome"] = req.Outcome
	}
	if len(req.Variables) > 0 {
		body["variables"] = req.Variables
	}
	if len(req.TransientVariables) > 0 {
		body["transientVariables"] = req.TransientVariables
	}
	if req.Comment != "" {
		body["comment"] = map[string]string{"message": req.Comment}
	}
	return c.call(ctx, http.MethodPost, pathID("/tasks", id), nil, body, nil)
}

// ---- history ----

// HistoricInstanceQuery filters GET /historic-process-instances.
type HistoricInstanceQuery struct {
	ProcessInstanceID    string
	ProcessDefinitionKey string
	BusinessKey          string
	// Finished, when set, selects ended (true) or running (false) instances.
	Finished         *bool
	FinishedAfter    time.Time
	StartedAfter     time.Time
	IncludeVariables bool
	IncludeComments  bool
	Paging
}

// ListHistoricInstances is GET /historic-process-instances.
func (c *Client) ListHistoricInstances(ctx context.Context, q HistoricInstanceQuery) (Page[HistoricInstance], error) {
	v := url.Values{}
	setStr(v, "processInstanceId", q.ProcessInstanceID)
	setStr(v, "processDefinitionKey", q.ProcessDefinitionKey)
	setStr(v, "businessKey", q.BusinessKey)
	setBool(v, "finished", q.Finished)
	setTime(v, "finishedAfter", q.FinishedAfter)
	setTime(v, "startedAfter", q.StartedAfter)
	setTrue(v, "includeProcessVariables", q.IncludeVariables)
	setTrue(v, "includeProcessComments", q.IncludeComments)
	q.Paging.set(v)
	return list[HistoricInstance](ctx, c, "/historic-process-instances", "historic-process-instances", v)
}

// GetHistoricInstance is GET /historic-process-instances/{id}.
func (c *Client) GetHistoricInstance(ctx context.Context, id string, withVars bool) (*HistoricInstance, error) {
	v := url.Values{}
	setTrue(v, "includeProcessVariables", withVars)
	var h HistoricInstance
	if err := c.call(ctx, http.MethodGet, pathID("/historic-process-instances", id), v, nil, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// HistoricTaskQuery filters GET /historic-task-instances.
type HistoricTaskQuery struct {
	TaskID               string
	ProcessInstanceID    string
	ProcessDefinitionKey string
	Finished             *bool
	TaskCreatedAfter     time.Time
	TaskCompletedAfter   time.Time
	Includes             TaskIncludes
	Paging
}

// ListHistoricTasks is GET /historic-task-instances.
func (c *Client) ListHistoricTasks(ctx context.Context, q HistoricTaskQuery) (Page[HistoricTask], error) {
	v := q.Includes.values()
	setStr(v, "taskId", q.TaskID)
	setStr(v, "processInstanceId", q.ProcessInstanceID)
	setStr(v, "processDefinitionKey", q.ProcessDefinitionKey)
	setBool(v, "finished", q.Finished)
	setTime(v, "taskCreatedAfter", q.TaskCreatedAfter)
	setTime(v, "taskCompletedAfter", q.TaskCompletedAfter)
	q.Paging.set(v)
	return list[HistoricTask](ctx, c, "/historic-task-instances", "historic-task-instances", v)
}

// Ptr returns a pointer to b, for the optional boolean filters.
func Ptr(b bool) *bool { return &b }
