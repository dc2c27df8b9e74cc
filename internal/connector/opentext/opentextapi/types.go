package opentextapi

import (
	"encoding/json"
	"strings"
)

// Variable is a process or task variable. Type is one of string, integer,
// short, long, double, boolean, date (ISO-8601), json or null; without it
// the service infers one. Scope is "local" for task-local variables.
type Variable struct {
	Name  string `json:"name"`
	Type  string `json:"type,omitempty"`
	Value any    `json:"value"`
	Scope string `json:"scope,omitempty"`
}

// Comment is a process or task comment.
type Comment struct {
	ID                string `json:"id"`
	Author            string `json:"author"`
	Message           string `json:"message"`
	Type              string `json:"type,omitempty"`
	Time              string `json:"time"`
	ProcessInstanceID string `json:"processInstanceId"`
	TaskID            string `json:"taskId,omitempty"`
}

// Model is a deployed runtime model: one version of a process definition.
type Model struct {
	ID             string `json:"id"`
	Key            string `json:"key"`
	Name           string `json:"name"`
	Version        int    `json:"version"`
	Category       string `json:"category"`
	Description    string `json:"description"`
	DeploymentID   string `json:"deploymentId"`
	DeploymentTime string `json:"deploymentTime"`
	TenantID       string `json:"tenantId"`
	Suspended      bool   `json:"suspended"`
	ModelType      string `json:"modelType,omitempty"`
	// ModelContent is the modeler JSON (modelType json) or the XML string,
	// present when asked for with modelType.
	ModelContent json.RawMessage `json:"modelContent,omitempty"`
}

// Instance is a running process instance.
type Instance struct {
	ID                       string     `json:"id"`
	Name                     string     `json:"name"`
	BusinessKey              string     `json:"businessKey"`
	ProcessDefinitionID      string     `json:"processDefinitionId"`
	ProcessDefinitionKey     string     `json:"processDefinitionKey"`
	ProcessDefinitionName    string     `json:"processDefinitionName"`
	ProcessDefinitionVersion int        `json:"processDefinitionVersion"`
	StartTime                string     `json:"startTime"`
	StartUserID              string     `json:"startUserId"`
	Ended                    bool       `json:"ended"`
	Completed                bool       `json:"completed"`
	Suspended                bool       `json:"suspended"`
	ActivityID               string     `json:"activityId"`
	SuperProcessInstanceID   string     `json:"superProcessInstanceId"`
	TenantID                 string     `json:"tenantId"`
	Variables                []Variable `json:"variables"`
	Comments                 []Comment  `json:"comments"`
}

// Key returns the process definition key, from the id when the answer
// carries only that ("key:version:uuid").
func (in *Instance) Key() string {
	if in.ProcessDefinitionKey != "" {
		return in.ProcessDefinitionKey
	}
	return DefinitionKey(in.ProcessDefinitionID)
}

// HistoricInstance is a process instance as the history service reports
// it: running ones have no EndTime; ended ones have EndTime and, when
// terminated rather than completed, a DeleteReason.
type HistoricInstance struct {
	ID                     string     `json:"id"`
	Name                   string     `json:"name"`
	BusinessKey            string     `json:"businessKey"`
	ProcessDefinitionID    string     `json:"processDefinitionId"`
	ProcessDefinitionKey   string     `json:"processDefinitionKey"`
	ProcessDefinitionName  string     `json:"processDefinitionName"`
	StartTime              string     `json:"startTime"`
	EndTime                string     `json:"endTime"`
	DurationInMillis       *int64     `json:"durationInMillis"`
	StartUserID            string     `json:"startUserId"`
	StartActivityID        string     `json:"startActivityId"`
	EndActivityID          string     `json:"endActivityId"`
	DeleteReason           string     `json:"deleteReason"`
	SuperProcessInstanceID string     `json:"superProcessInstanceId"`
	TenantID               string     `json:"tenantId"`
	Variables              []Variable `json:"variables"`
	Comments               []Comment  `json:"comments"`
}

// Key returns the process definition key.
func (h *HistoricInstance) Key() string {
	if h.ProcessDefinitionKey != "" {
		return h.ProcessDefinitionKey
	}
	return DefinitionKey(h.ProcessDefinitionID)
}

// Assignment is a user or group a task is assigned or offered to.
type Assignment struct {
	User  string `json:"user"`
	Group string `json:"group"`
	Type  string `json:"type"`
}

// Task is an open user task.
type Task struct {
	ID                  string       `json:"id"`
	Name                string       `json:"name"`
	Description         string       `json:"description"`
	Assignee            string       `json:"assignee"`
	Owner               string       `json:"owner"`
	DelegationState     string       `json:"delegationState"`
	ClaimTime           string       `json:"claimTime"`
	CreateTime          string       `json:"createTime"`
	DueDate             string       `json:"dueDate"`
	Priority            int          `json:"priority"`
	Category            string       `json:"category"`
	FormKey             string       `json:"formKey"`
	ExecutionID         string       `json:"executionId"`
	ParentTaskID        string       `json:"parentTaskId"`
	ProcessInstanceID   string       `json:"processInstanceId"`
	ProcessDefinitionID string       `json:"processDefinitionId"`
	TaskDefinitionKey   string       `json:"taskDefinitionKey"`
	Suspended           bool         `json:"suspended"`
	Assignments         []Assignment `json:"assignments"`
	Comments            []Comment    `json:"comments"`
	Variables           []Variable   `json:"variables"`
}

// HistoricTask is a task as the history service reports it (open or ended).
type HistoricTask struct {
	ID                  string       `json:"id"`
	Name                string       `json:"name"`
	Description         string       `json:"description"`
	ProcessDefinitionID string       `json:"processDefinitionId"`
	ProcessInstanceID   string       `json:"processInstanceId"`
	ExecutionID         string       `json:"executionId"`
	DeleteReason        string       `json:"deleteReason"`
	Owner               string       `json:"owner"`
	Assignee            string       `json:"assignee"`
	StartTime           string       `json:"startTime"`
	EndTime             string       `json:"endTime"`
	ClaimTime           string       `json:"claimTime"`
	DurationInMillis    *int64       `json:"durationInMillis"`
	TaskDefinitionKey   string       `json:"taskDefinitionKey"`
	FormKey             string       `json:"formKey"`
	Priority            int          `json:"priority"`
	DueDate             string       `json:"dueDate"`
	Category            string       `json:"category"`
	Variables           []Variable   `json:"variables"`
	Comments            []Comment    `json:"comments"`
	Assignments         []Assignment `json:"assignments"`
}

// DefinitionKey returns the key part of a process definition id
// ("media_review:3:uuid" → "media_review").
func DefinitionKey(definitionID string) string {
	k, _, _ := strings.Cut(definitionID, ":")
	return k
}
