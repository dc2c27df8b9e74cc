package bpmn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Options configure an Engine.
type Options struct {
	// Now tells the time; default time.Now.
	Now func() time.Time
	// TimeScale multiplies timer durations and HTTP retry delays; 0 means 1.
	TimeScale float64
	// HTTPClient runs HTTP tasks; default a client with a 30 s timeout.
	HTTPClient *http.Client
	// HTTPAttempts is how many times a failing HTTP task is tried before its
	// job is dead-lettered (Flowable's default async retry count is 3).
	HTTPAttempts int
	// HTTPRetryDelay is the wait between attempts before TimeScale; default 10 s.
	HTTPRetryDelay time.Duration
	// TenantID is reported on definitions and instances.
	TenantID string
	// Logger gets debug logs; default discards.
	Logger *slog.Logger
}

// Engine holds deployed models and process instances and runs them.
type Engine struct {
	mu        sync.Mutex
	opts      Options
	models    map[string]*Model   // by model id
	versions  map[string][]*Model // by key, ascending version
	inst      map[string]*Instance
	order     []string          // instance ids, creation order
	taskIdx   map[string]string // task id -> instance id
	jobInst   map[string]bool   // instances that hold jobs
	httpLog   []HTTPCall
	mails     []Mail
	running   int // jobs being executed
	wake      chan struct{}
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	startOnce sync.Once
}

// Model is one deployed version of a process model ("runtime model").
type Model struct {
	ID           string    `json:"id"`
	Key          string    `json:"key"`
	Name         string    `json:"name"`
	Description  string    `json:"description"`
	Category     string    `json:"category"`
	Version      int       `json:"version"`
	DeploymentID string    `json:"deploymentId"`
	DefinitionID string    `json:"processDefinitionId"`
	DeployTime   time.Time `json:"deployTime"`
	ModelType    string    `json:"modelType"` // json or xml
	ClientID     string    `json:"modelId,omitempty"`
	Content      string    `json:"modelContent"`
	Suspended    bool      `json:"suspended"`
	def          *Definition
}

// Definition returns the parsed model.
func (m *Model) Definition() *Definition { return m.def }

// Variable is a typed process or task variable.
type Variable struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Value any    `json:"value"`
}

// Instance is a process instance, running or ended.
type Instance struct {
	ID                string               `json:"id"`
	ModelID           string               `json:"modelId"`
	DefinitionID      string               `json:"processDefinitionId"`
	DefinitionKey     string               `json:"processDefinitionKey"`
	DefinitionName    string               `json:"processDefinitionName"`
	DefinitionVersion int                  `json:"processDefinitionVersion"`
	Name              string               `json:"name"`
	BusinessKey       string               `json:"businessKey"`
	StartUserID       string               `json:"startUserId"`
	StartTime         time.Time            `json:"startTime"`
	EndTime           *time.Time           `json:"endTime,omitempty"`
	StartActivityID   string               `json:"startActivityId"`
	EndActivityID     string               `json:"endActivityId,omitempty"`
	DeleteReason      string               `json:"deleteReason,omitempty"`
	Suspended         bool                 `json:"suspended"`
	Ended             bool                 `json:"ended"`
	Completed         bool                 `json:"completed"`
	SuperInstanceID   string               `json:"superProcessInstanceId,omitempty"`
	SuperExecutionID  string               `json:"superExecutionId,omitempty"`
	Vars              map[string]*Variable `json:"variables"`
	Executions        []*Execution         `json:"executions"`
	Tasks             []*Task              `json:"tasks"`
	Jobs              []*Job               `json:"jobs"`
	Comments          []*Comment           `json:"comments"`
	Activities        []*ActivityRecord    `json:"activities"`
	// Incident is the last failure of a dead-lettered job, if any.
	Incident string `json:"incident,omitempty"`
}

// Execution is a token in a running instance.
type Execution struct {
	ID               string `json:"id"`
	ActivityID       string `json:"activityId"`
	Waiting          string `json:"waiting"` // task, job, call, join, timer
	CalledInstanceID string `json:"calledInstanceId,omitempty"`
}

// Task is a user task, open or finished.
type Task struct {
	ID                string               `json:"id"`
	Name              string               `json:"name"`
	Description       string               `json:"description"`
	Assignee          string               `json:"assignee"`
	Owner             string               `json:"owner"`
	TaskDefinitionKey string               `json:"taskDefinitionKey"`
	ExecutionID       string               `json:"executionId"`
	InstanceID        string               `json:"processInstanceId"`
	DefinitionID      string               `json:"processDefinitionId"`
	DefinitionKey     string               `json:"processDefinitionKey"`
	FormKey           string               `json:"formKey"`
	Category          string               `json:"category"`
	Priority          int                  `json:"priority"`
	CreateTime        time.Time            `json:"createTime"`
	ClaimTime         *time.Time           `json:"claimTime,omitempty"`
	DueDate           *time.Time           `json:"dueDate,omitempty"`
	EndTime           *time.Time           `json:"endTime,omitempty"`
	CandidateUsers    []string             `json:"candidateUsers"`
	CandidateGroups   []string             `json:"candidateGroups"`
	TaskType          string               `json:"taskType"`
	OutcomeVariable   string               `json:"outcomeVariable"`
	Outcomes          []Outcome            `json:"possibleOutcomes"`
	Outcome           string               `json:"outcome,omitempty"`
	CompletedBy       string               `json:"completedBy,omitempty"`
	DeleteReason      string               `json:"deleteReason,omitempty"`
	LocalVars         map[string]*Variable `json:"localVariables,omitempty"`
	Comments          []*Comment           `json:"comments,omitempty"`
	InitiatorCanClose bool                 `json:"initiatorCanCompleteTask"`
}

// Open reports whether the task is still waiting to be completed.
func (t *Task) Open() bool { return t.EndTime == nil }

// Job is a timer or an HTTP call waiting to run.
type Job struct {
	ID          string    `json:"id"`
	Type        string    `json:"type"` // timer, http
	ExecutionID string    `json:"executionId"`
	ElementID   string    `json:"elementId"` // the timer event or the HTTP task
	Due         time.Time `json:"due"`
	Attempt     int       `json:"attempt"`
	Dead        bool      `json:"dead"`
	Exception   string    `json:"exception,omitempty"`
	AuthToken   string    `json:"-"`
	RepeatsLeft int       `json:"repeatsLeft,omitempty"`
	Every       string    `json:"every,omitempty"` // cycle period for repeating timers
	running     bool
}

// Comment is a process instance or task comment.
type Comment struct {
	ID         string    `json:"id"`
	Author     string    `json:"author"`
	Message    string    `json:"message"`
	Type       string    `json:"type,omitempty"`
	Time       time.Time `json:"time"`
	InstanceID string    `json:"processInstanceId"`
	TaskID     string    `json:"taskId,omitempty"`
}

// ActivityRecord is one passage of a token through an element.
type ActivityRecord struct {
	ActivityID   string     `json:"activityId"`
	ActivityName string     `json:"activityName"`
	ActivityType string     `json:"activityType"`
	ExecutionID  string     `json:"executionId"`
	TaskID       string     `json:"taskId,omitempty"`
	Start        time.Time  `json:"startTime"`
	End          *time.Time `json:"endTime,omitempty"`
}

// HTTPCall is one attempt of an HTTP task, as recorded for tests.
type HTTPCall struct {
	InstanceID  string            `json:"processInstanceId"`
	ActivityID  string            `json:"activityId"`
	Attempt     int               `json:"attempt"`
	Method      string            `json:"method"`
	URL         string            `json:"url"`
	Headers     map[string]string `json:"headers"`
	Body        string            `json:"body"`
	Status      int               `json:"status"`
	Response    string            `json:"response,omitempty"`
	Error       string            `json:"error,omitempty"`
	Time        time.Time         `json:"time"`
	Succeeded   bool              `json:"succeeded"`
	WillRetry   bool              `json:"willRetry"`
	DeadLetter  bool              `json:"deadLetter"`
	ElapsedMS   int64             `json:"elapsedMs"`
	ElementName string            `json:"activityName"`
}

// Mail is a mail a mail task or listener would have sent.
type Mail struct {
	InstanceID string    `json:"processInstanceId"`
	ActivityID string    `json:"activityId"`
	To         string    `json:"to"`
	From       string    `json:"from"`
	CC         string    `json:"cc,omitempty"`
	BCC        string    `json:"bcc,omitempty"`
	Subject    string    `json:"subject"`
	Text       string    `json:"text,omitempty"`
	HTML       string    `json:"html,omitempty"`
	Time       time.Time `json:"time"`
}

// ErrKind classifies engine errors for the HTTP layer.
type ErrKind int

// Error kinds.
const (
	KindInvalid  ErrKind = iota + 1 // 400
	KindNotFound                    // 404
	KindConflict                    // 409
	KindEngine                      // 500: the process failed (expression, no outgoing flow)
)

// Error is an engine error with a kind.
type Error struct {
	Kind ErrKind
	Msg  string
	Err  error
}

func (e *Error) Error() string {
	if e.Err != nil && e.Msg == "" {
		return e.Err.Error()
	}
	return e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of err (KindEngine for unclassified errors).
func KindOf(err error) ErrKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindEngine
}

func errf(k ErrKind, format string, args ...any) error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, args...)}
}

// NewEngine returns an engine; call Start to run timers and HTTP jobs.
func NewEngine(opts Options) *Engine {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if opts.HTTPAttempts <= 0 {
		opts.HTTPAttempts = 3
	}
	if opts.HTTPRetryDelay <= 0 {
		opts.HTTPRetryDelay = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{opts: opts, wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
	e.resetLocked()
	return e
}

func (e *Engine) resetLocked() {
	e.models = map[string]*Model{}
	e.versions = map[string][]*Model{}
	e.inst = map[string]*Instance{}
	e.order = nil
	e.taskIdx = map[string]string{}
	e.jobInst = map[string]bool{}
	e.httpLog = nil
	e.mails = nil
}

// Reset forgets every model, instance and record.
func (e *Engine) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resetLocked()
}

func (e *Engine) now() time.Time { return e.opts.Now().UTC() }

// scale applies TimeScale to a delay.
func (e *Engine) scale(d time.Duration) time.Duration {
	return time.Duration(math.Round(float64(d) * e.opts.TimeScale))
}

// NewID returns a time-based UUID, the form the real service's ids have.
func NewID() string {
	id, err := uuid.NewUUID()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}

// ---- deployment ----

// Deploy parses and deploys a model; redeploying a key creates a new version.
// modelType is "json" (modeler JSON or a whole .otwf file) or "xml".
func (e *Engine) Deploy(modelType string, content []byte, clientModelID string) (*Model, error) {
	var def *Definition
	var err error
	switch strings.ToLower(modelType) {
	case "json":
		def, err = ParseJSON(content)
	case "xml":
		def, err = ParseXML(content)
	default:
		return nil, errf(KindInvalid, "modelType must be json or xml, got %q", modelType)
	}
	if err != nil {
		return nil, &Error{Kind: KindInvalid, Msg: "deploying model: " + err.Error(), Err: err}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.deployLocked(def, strings.ToLower(modelType), string(content), clientModelID, e.now()), nil
}

func (e *Engine) deployLocked(def *Definition, modelType, content, clientID string, at time.Time) *Model {
	vs := e.versions[def.Key]
	version := 1
	if len(vs) > 0 {
		version = vs[len(vs)-1].Version + 1
	}
	id := NewID()
	m := &Model{
		ID: id, Key: def.Key, Name: def.Name, Description: def.Description, Category: def.Category,
		Version: version, DeploymentID: NewID(), DefinitionID: fmt.Sprintf("%s:%d:%s", def.Key, version, id),
		DeployTime: at, ModelType: modelType, ClientID: clientID, Content: content, def: def,
	}
	e.models[id] = m
	e.versions[def.Key] = append(vs, m)
	return m
}

// DeleteModel removes a deployed model version. With running instances it
// fails with a conflict unless cascade is set, which deletes them too.
func (e *Engine) DeleteModel(id string, cascade bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.modelLocked(id)
	if m == nil {
		return errf(KindNotFound, "Could not find a model with id '%s'.", id)
	}
	var running []*Instance
	for _, iid := range e.order {
		in := e.inst[iid]
		if in.ModelID == m.ID && !in.Ended {
			running = append(running, in)
		}
	}
	if len(running) > 0 && !cascade {
		return errf(KindConflict, "Model '%s' has %d running process instance(s); delete them first or pass cascade=true.", m.ID, len(running))
	}
	for _, in := range running {
		t := e.begin("", "")
		t.deleteInstance(in, "deployment deleted")
	}
	delete(e.models, m.ID)
	vs := e.versions[m.Key]
	for i, v := range vs {
		if v == m {
			e.versions[m.Key] = append(vs[:i:i], vs[i+1:]...)
			break
		}
	}
	if len(e.versions[m.Key]) == 0 {
		delete(e.versions, m.Key)
	}
	return nil
}

// modelLocked finds a model by id or by definition id (key:version:id).
func (e *Engine) modelLocked(id string) *Model {
	if m, ok := e.models[id]; ok {
		return m
	}
	if parts := strings.Split(id, ":"); len(parts) == 3 {
		if m, ok := e.models[parts[2]]; ok && m.Key == parts[0] {
			return m
		}
	}
	return nil
}

func (e *Engine) latestLocked(key string) *Model {
	vs := e.versions[key]
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

// ---- instances ----

// VarInput is a variable as a client sends it.
type VarInput struct {
	Name  string `json:"name"`
	Type  string `json:"type,omitempty"`
	Value any    `json:"value"`
	Scope string `json:"scope,omitempty"`
}

// StartRequest starts a process instance.
type StartRequest struct {
	DefinitionKey string
	DefinitionID  string
	Message       string
	Name          string
	BusinessKey   string
	Variables     []VarInput
	Transient     []VarInput
	User          string // the starting user
	Token         string // the caller's bearer token, for useCurrentAuthToken
	Comment       string
}

// StartInstance starts an instance and runs it to its first wait states.
func (e *Engine) StartInstance(req StartRequest) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	id, err := e.startLocked(req)
	e.kick()
	return id, err
}

// StartInstances starts n instances of key in one pass (a test helper for
// large fixtures). vars may be nil.
func (e *Engine) StartInstances(key string, n int, vars func(i int) (businessKey string, v map[string]any), user string) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]string, 0, n)
	for i := range n {
		req := StartRequest{DefinitionKey: key, User: user}
		if vars != nil {
			bk, vm := vars(i)
			req.BusinessKey = bk
			for _, k := range sortedKeys(vm) {
				req.Variables = append(req.Variables, VarInput{Name: k, Value: vm[k]})
			}
		}
		id, err := e.startLocked(req)
		if err != nil {
			return ids, fmt.Errorf("starting instance %d: %w", i, err)
		}
		ids = append(ids, id)
	}
	e.kick()
	return ids, nil
}

func (e *Engine) startLocked(req StartRequest) (string, error) {
	var m *Model
	switch {
	case req.DefinitionID != "":
		m = e.modelLocked(req.DefinitionID)
		if m == nil {
			return "", errf(KindInvalid, "no deployed process definition found with id '%s'", req.DefinitionID)
		}
	case req.DefinitionKey != "":
		m = e.latestLocked(req.DefinitionKey)
		if m == nil {
			return "", errf(KindInvalid, "no processes deployed with key '%s'", req.DefinitionKey)
		}
	case req.Message != "":
		for _, key := range sortedKeys(e.versions) {
			cand := e.latestLocked(key)
			for _, mn := range cand.def.MessageNames() {
				if mn == req.Message {
					m = cand
				}
			}
		}
		if m == nil {
			return "", errf(KindInvalid, "Cannot start process instance by message: no subscription to message with name '%s' found", req.Message)
		}
	default:
		return "", errf(KindInvalid, "Either processDefinitionId, processDefinitionKey or message is required.")
	}
	if m.Suspended {
		return "", errf(KindConflict, "Cannot start process instance. Process definition %s (id = %s) is suspended", m.Name, m.DefinitionID)
	}
	vars, err := convertVars(append(append([]VarInput(nil), req.Variables...), req.Transient...))
	if err != nil {
		return "", err
	}
	t := e.begin(req.User, req.Token)
	in, err := t.startInstance(m, req.Message, req.Name, req.BusinessKey, vars, "", "")
	if err == nil && req.Comment != "" {
		t.touch(in)
		in.Comments = append(in.Comments, &Comment{ID: NewID(), Author: req.User, Message: req.Comment, Time: e.now(), InstanceID: in.ID})
	}
	if err != nil {
		t.rollback()
		return "", err
	}
	// Transient variables do not outlive the start transaction.
	for _, v := range req.Transient {
		delete(in.Vars, v.Name)
	}
	return in.ID, nil
}

// ClaimTask sets or clears (assignee "") the assignee of an open task.
func (e *Engine) ClaimTask(taskID, assignee string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	in, task, err := e.openTaskLocked(taskID)
	if err != nil {
		return err
	}
	if in.Suspended {
		return errf(KindConflict, "Cannot claim a suspended task")
	}
	if assignee != "" && task.Assignee != "" && task.Assignee != assignee {
		return errf(KindConflict, "Task '%s' is already claimed by someone else.", taskID)
	}
	t := e.begin(assignee, "")
	t.touch(in)
	task = in.task(taskID)
	if assignee == "" {
		task.Assignee, task.ClaimTime = "", nil
		return nil
	}
	now := e.now()
	task.Assignee, task.ClaimTime = assignee, &now
	if err := t.taskListeners(in, task, "assignment"); err != nil {
		t.rollback()
		return err
	}
	return nil
}

// CompleteRequest completes a task.
type CompleteRequest struct {
	User      string
	Token     string
	Outcome   string
	Variables []VarInput
	Transient []VarInput
	Comment   string
	// AssignIfUnclaimed records User as the assignee of an unclaimed task.
	AssignIfUnclaimed bool
}

// CompleteTask completes an open task and continues its instance.
func (e *Engine) CompleteTask(taskID string, req CompleteRequest) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.kick()
	in, task, err := e.openTaskLocked(taskID)
	if err != nil {
		return err
	}
	if in.Suspended {
		return errf(KindConflict, "Cannot complete a suspended task")
	}
	if req.Outcome == "" && task.OutcomeVariable != "" {
		// Lenient: an outcome sent only as the outcome variable counts.
		for _, v := range req.Variables {
			if v.Name == task.OutcomeVariable {
				req.Outcome = ToString(v.Value)
			}
		}
	}
	if task.TaskType == "approval" {
		if req.Outcome == "" {
			return errf(KindInvalid, "Task '%s' is an approval task: an outcome is required (one of %s)", taskID, outcomeValues(task.Outcomes))
		}
		ok := false
		for _, o := range task.Outcomes {
			if o.Value == req.Outcome {
				ok = true
			}
		}
		if !ok {
			return errf(KindInvalid, "Outcome '%s' is not a possible outcome of task '%s' (one of %s)", req.Outcome, taskID, outcomeValues(task.Outcomes))
		}
	}
	vars, err := convertVars(append(append([]VarInput(nil), req.Variables...), req.Transient...))
	if err != nil {
		return err
	}
	t := e.begin(req.User, req.Token)
	if err := t.completeTask(in, in.task(taskID), req, vars); err != nil {
		t.rollback()
		return err
	}
	for _, v := range req.Transient {
		delete(in.Vars, v.Name)
	}
	return nil
}

func outcomeValues(os []Outcome) string {
	vs := make([]string, len(os))
	for i, o := range os {
		vs[i] = o.Value
	}
	return strings.Join(vs, ", ")
}

// UpdateTask applies fn to an open task (PUT /tasks/{id}).
func (e *Engine) UpdateTask(taskID string, fn func(t *Task) error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	in, _, err := e.openTaskLocked(taskID)
	if err != nil {
		return err
	}
	t := e.begin("", "")
	t.touch(in)
	if err := fn(in.task(taskID)); err != nil {
		t.rollback()
		return err
	}
	return nil
}

func (e *Engine) openTaskLocked(taskID string) (*Instance, *Task, error) {
	in, task := e.findTaskLocked(taskID)
	if task == nil || !task.Open() {
		return nil, nil, errf(KindNotFound, "Could not find a task with id '%s'.", taskID)
	}
	return in, task, nil
}

func (e *Engine) findTaskLocked(taskID string) (*Instance, *Task) {
	in := e.inst[e.taskIdx[taskID]]
	if in == nil {
		return nil, nil
	}
	return in, in.task(taskID)
}

func (in *Instance) task(id string) *Task {
	for _, t := range in.Tasks {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// SetVariables creates or updates instance variables.
func (e *Engine) SetVariables(instanceID string, vars []VarInput) ([]*Variable, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	in, err := e.runningLocked(instanceID)
	if err != nil {
		return nil, err
	}
	conv, err := convertVars(vars)
	if err != nil {
		return nil, err
	}
	t := e.begin("", "")
	t.touch(in)
	out := make([]*Variable, 0, len(conv))
	for _, v := range conv {
		in.Vars[v.Name] = v
		out = append(out, copyVar(v))
	}
	if err := t.recheckJoins(in); err != nil {
		t.rollback()
		return nil, err
	}
	return out, nil
}

// DeleteVariable removes an instance variable.
func (e *Engine) DeleteVariable(instanceID, name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	in, err := e.runningLocked(instanceID)
	if err != nil {
		return err
	}
	if _, ok := in.Vars[name]; !ok {
		return errf(KindNotFound, "Process instance '%s' does not have a variable with name: '%s'.", instanceID, name)
	}
	delete(in.Vars, name)
	return nil
}

func (e *Engine) runningLocked(id string) (*Instance, error) {
	in := e.inst[id]
	if in == nil || in.Ended {
		return nil, errf(KindNotFound, "Could not find a process instance with id '%s'.", id)
	}
	return in, nil
}

// AddComment adds a comment to an instance (and task, when taskID is set).
func (e *Engine) AddComment(instanceID, taskID, author, message, typ string) (*Comment, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.inst[instanceID]
	if taskID != "" {
		in2, task := e.findTaskLocked(taskID)
		if task == nil {
			return nil, errf(KindNotFound, "Could not find a task with id '%s'.", taskID)
		}
		in = in2
	}
	if in == nil {
		return nil, errf(KindNotFound, "Could not find a process instance with id '%s'.", instanceID)
	}
	if strings.TrimSpace(message) == "" {
		return nil, errf(KindInvalid, "Comment text is required.")
	}
	c := &Comment{ID: NewID(), Author: author, Message: message, Type: typ, Time: e.now(), InstanceID: in.ID, TaskID: taskID}
	in.Comments = append(in.Comments, c)
	if taskID != "" {
		task := in.task(taskID)
		task.Comments = append(task.Comments, c)
	}
	cp := *c
	return &cp, nil
}

// DeleteComment removes a comment.
func (e *Engine) DeleteComment(instanceID, commentID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.inst[instanceID]
	if in == nil {
		return errf(KindNotFound, "Could not find a process instance with id '%s'.", instanceID)
	}
	for i, c := range in.Comments {
		if c.ID == commentID {
			in.Comments = append(in.Comments[:i:i], in.Comments[i+1:]...)
			for _, t := range in.Tasks {
				for j, tc := range t.Comments {
					if tc.ID == commentID {
						t.Comments = append(t.Comments[:j:j], t.Comments[j+1:]...)
						break
					}
				}
			}
			return nil
		}
	}
	return errf(KindNotFound, "Process instance '%s' does not have a comment with id '%s'.", instanceID, commentID)
}

// DeleteInstance terminates a running instance (and its sub-processes).
func (e *Engine) DeleteInstance(id, reason string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	in, err := e.runningLocked(id)
	if err != nil {
		return err
	}
	if reason == "" {
		reason = "ACTIVITI_DELETED"
	}
	t := e.begin("", "")
	t.deleteInstance(in, reason)
	return nil
}

// DeleteHistoricInstance removes an ended instance from history.
func (e *Engine) DeleteHistoricInstance(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.inst[id]
	if in == nil {
		return errf(KindNotFound, "Could not find a historic process instance with id '%s'.", id)
	}
	if !in.Ended {
		return errf(KindConflict, "Process instance is still running, cannot delete historic process instance: %s", id)
	}
	e.dropLocked(in)
	return nil
}

func (e *Engine) dropLocked(in *Instance) {
	delete(e.inst, in.ID)
	for i, id := range e.order {
		if id == in.ID {
			e.order = append(e.order[:i:i], e.order[i+1:]...)
			break
		}
	}
	for _, t := range in.Tasks {
		delete(e.taskIdx, t.ID)
	}
	delete(e.jobInst, in.ID)
}

// Suspend suspends or activates a running instance.
func (e *Engine) Suspend(id string, suspend bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	in, err := e.runningLocked(id)
	if err != nil {
		return err
	}
	if in.Suspended == suspend {
		state := "active"
		if suspend {
			state = "suspended"
		}
		return errf(KindConflict, "Process instance with id '%s' is already %s", id, state)
	}
	in.Suspended = suspend
	e.kick()
	return nil
}

// ---- reading ----

// View gives fn read access to the engine state under the lock. fn must not
// keep or modify anything it reads.
func (e *Engine) View(fn func(v *View)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	fn(&View{e: e})
}

// View is read access to the engine state; see Engine.View.
type View struct{ e *Engine }

// Models returns every deployed model, oldest first.
func (v *View) Models() []*Model {
	out := make([]*Model, 0, len(v.e.models))
	for _, k := range sortedKeys(v.e.versions) {
		out = append(out, v.e.versions[k]...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].DeployTime.Before(out[j].DeployTime) })
	return out
}

// Model finds a model by id or definition id.
func (v *View) Model(id string) *Model { return v.e.modelLocked(id) }

// Latest returns the latest version of key.
func (v *View) Latest(key string) *Model { return v.e.latestLocked(key) }

// Instances returns every instance (running and ended) in creation order.
func (v *View) Instances() []*Instance {
	out := make([]*Instance, 0, len(v.e.order))
	for _, id := range v.e.order {
		out = append(out, v.e.inst[id])
	}
	return out
}

// Instance returns an instance by id, or nil.
func (v *View) Instance(id string) *Instance { return v.e.inst[id] }

// Task returns a task (open or finished) and its instance.
func (v *View) Task(id string) (*Instance, *Task) { return v.e.findTaskLocked(id) }

// Definition returns the parsed definition of an instance.
func (v *View) Definition(in *Instance) *Definition {
	if m := v.e.models[in.ModelID]; m != nil {
		return m.def
	}
	return nil
}

// HTTPCalls returns the recorded HTTP task attempts.
func (e *Engine) HTTPCalls() []HTTPCall {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]HTTPCall(nil), e.httpLog...)
}

// Mails returns the recorded mails.
func (e *Engine) Mails() []Mail {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Mail(nil), e.mails...)
}

// ---- variables ----

func copyVar(v *Variable) *Variable {
	return &Variable{Name: v.Name, Type: v.Type, Value: DeepCopy(v.Value)}
}

// convertVars validates and types client variables.
func convertVars(in []VarInput) ([]*Variable, error) {
	out := make([]*Variable, 0, len(in))
	for _, v := range in {
		if strings.TrimSpace(v.Name) == "" {
			return nil, errf(KindInvalid, "Variable name is required")
		}
		tv, err := TypedValue(v.Type, v.Value)
		if err != nil {
			return nil, errf(KindInvalid, "Variable '%s': %v", v.Name, err)
		}
		tv.Name = v.Name
		out = append(out, tv)
	}
	return out, nil
}

// TypedValue converts a JSON value with an optional declared type.
func TypedValue(typ string, value any) (*Variable, error) {
	value = NormalizeJSON(value)
	switch strings.ToLower(typ) {
	case "":
		return &Variable{Type: InferType(value), Value: value}, nil
	case "string":
		if value == nil {
			return &Variable{Type: "string"}, nil
		}
		if s, ok := value.(string); ok {
			return &Variable{Type: "string", Value: s}, nil
		}
		return &Variable{Type: "string", Value: ToString(value)}, nil
	case "integer", "short", "long":
		if value == nil {
			return &Variable{Type: strings.ToLower(typ)}, nil
		}
		i, ok := toInt(value)
		if f, isF := value.(float64); isF && f != math.Trunc(f) {
			ok = false
		}
		if !ok {
			return nil, fmt.Errorf("value %v is not a valid %s", value, typ)
		}
		return &Variable{Type: strings.ToLower(typ), Value: i}, nil
	case "double":
		if value == nil {
			return &Variable{Type: "double"}, nil
		}
		f, ok := toFloat(value)
		if !ok {
			return nil, fmt.Errorf("value %v is not a valid double", value)
		}
		return &Variable{Type: "double", Value: f}, nil
	case "boolean":
		if value == nil {
			return &Variable{Type: "boolean"}, nil
		}
		b, ok := toBool(value)
		if !ok {
			return nil, fmt.Errorf("value %v is not a valid boolean", value)
		}
		return &Variable{Type: "boolean", Value: b}, nil
	case "date", "instant", "localdate", "localdatetime":
		if value == nil {
			return &Variable{Type: strings.ToLower(typ)}, nil
		}
		s, _ := value.(string)
		tm, err := ParseTime(s)
		if err != nil {
			return nil, fmt.Errorf("value %v is not a valid ISO-8601 date", value)
		}
		return &Variable{Type: "date", Value: FormatTime(tm)}, nil
	case "json":
		if s, ok := value.(string); ok {
			if v, err := DecodeJSON([]byte(s)); err == nil {
				value = v
			}
		}
		return &Variable{Type: "json", Value: value}, nil
	case "null":
		return &Variable{Type: "null"}, nil
	}
	return nil, fmt.Errorf("variable type '%s' is not supported", typ)
}

// InferType names the variable type of an untyped value.
func InferType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64:
		if x >= math.MinInt32 && x <= math.MaxInt32 {
			return "integer"
		}
		return "long"
	case float64:
		return "double"
	case time.Time:
		return "date"
	}
	return "json"
}

// FormatTime renders a time the way the API does.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// ParseTime accepts the ISO-8601 forms clients send.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.000-0700", "2006-01-02T15:04:05-0700",
		"2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04:05", "2006-01-02T15:04:05.000", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("parsing time %q: not ISO-8601", s)
}

// ParseDuration parses an ISO-8601 duration (PnYnMnDTnHnMnS, PnW).
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(strings.ToUpper(s))
	if !strings.HasPrefix(s, "P") || len(s) < 2 {
		return 0, fmt.Errorf("parsing duration %q: not ISO-8601", s)
	}
	var d float64
	inTime := false
	num := ""
	for _, r := range s[1:] {
		switch {
		case r == 'T':
			inTime = true
		case (r >= '0' && r <= '9') || r == '.' || r == ',':
			if r == ',' {
				r = '.'
			}
			num += string(r)
		default:
			if num == "" {
				return 0, fmt.Errorf("parsing duration %q: missing number before %c", s, r)
			}
			n, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("parsing duration %q: %w", s, err)
			}
			num = ""
			var unit float64
			switch {
			case r == 'Y' && !inTime:
				unit = 365 * 24 * 3600
			case r == 'M' && !inTime:
				unit = 30 * 24 * 3600
			case r == 'W' && !inTime:
				unit = 7 * 24 * 3600
			case r == 'D' && !inTime:
				unit = 24 * 3600
			case r == 'H' && inTime:
				unit = 3600
			case r == 'M' && inTime:
				unit = 60
			case r == 'S' && inTime:
				unit = 1
			default:
				return 0, fmt.Errorf("parsing duration %q: unexpected %c", s, r)
			}
			d += n * unit
		}
	}
	if num != "" {
		return 0, fmt.Errorf("parsing duration %q: trailing number", s)
	}
	return time.Duration(d * float64(time.Second)), nil
}

// ---- snapshot ----

// State is the engine's state as saved in a snapshot.
type State struct {
	Models    []*Model    `json:"models"`
	Instances []*Instance `json:"instances"`
	HTTPCalls []HTTPCall  `json:"httpCalls,omitempty"`
	Mails     []Mail      `json:"mails,omitempty"`
}

// Snapshot returns a copy of the state.
func (e *Engine) Snapshot() (State, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := State{HTTPCalls: append([]HTTPCall(nil), e.httpLog...), Mails: append([]Mail(nil), e.mails...)}
	for _, k := range sortedKeys(e.versions) {
		for _, m := range e.versions[k] {
			cp := *m
			st.Models = append(st.Models, &cp)
		}
	}
	for _, id := range e.order {
		st.Instances = append(st.Instances, e.inst[id].clone())
	}
	// Round-trip through JSON so the copy shares nothing.
	b, err := json.Marshal(st)
	if err != nil {
		return State{}, fmt.Errorf("encoding engine state: %w", err)
	}
	var out State
	if err := json.Unmarshal(b, &out); err != nil {
		return State{}, fmt.Errorf("decoding engine state: %w", err)
	}
	return out, nil
}

// Restore replaces the state with st (from Snapshot, possibly via JSON).
func (e *Engine) Restore(st State) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resetLocked()
	for _, m := range st.Models {
		var def *Definition
		var err error
		if m.ModelType == "xml" {
			def, err = ParseXML([]byte(m.Content))
		} else {
			def, err = ParseJSON([]byte(m.Content))
		}
		if err != nil {
			return fmt.Errorf("restoring model %s (%s v%d): %w", m.ID, m.Key, m.Version, err)
		}
		m.def = def
		e.models[m.ID] = m
		e.versions[m.Key] = append(e.versions[m.Key], m)
	}
	for _, k := range sortedKeys(e.versions) {
		vs := e.versions[k]
		sort.Slice(vs, func(i, j int) bool { return vs[i].Version < vs[j].Version })
	}
	for _, in := range st.Instances {
		for _, v := range in.Vars {
			v.Value = NormalizeJSON(v.Value)
		}
		if in.Vars == nil {
			in.Vars = map[string]*Variable{}
		}
		e.inst[in.ID] = in
		e.order = append(e.order, in.ID)
		for _, t := range in.Tasks {
			e.taskIdx[t.ID] = in.ID
		}
		if len(in.Jobs) > 0 {
			e.jobInst[in.ID] = true
		}
	}
	e.httpLog = st.HTTPCalls
	e.mails = st.Mails
	e.kick()
	return nil
}

// clone deep-copies an instance.
func (in *Instance) clone() *Instance {
	cp := *in
	if in.EndTime != nil {
		t := *in.EndTime
		cp.EndTime = &t
	}
	cp.Vars = make(map[string]*Variable, len(in.Vars))
	for k, v := range in.Vars {
		cp.Vars[k] = copyVar(v)
	}
	cp.Executions = make([]*Execution, len(in.Executions))
	for i, x := range in.Executions {
		c := *x
		cp.Executions[i] = &c
	}
	cp.Tasks = make([]*Task, len(in.Tasks))
	for i, t := range in.Tasks {
		cp.Tasks[i] = t.clone()
	}
	cp.Jobs = make([]*Job, len(in.Jobs))
	for i, j := range in.Jobs {
		c := *j
		cp.Jobs[i] = &c
	}
	cp.Comments = make([]*Comment, len(in.Comments))
	for i, c := range in.Comments {
		cc := *c
		cp.Comments[i] = &cc
	}
	cp.Activities = make([]*ActivityRecord, len(in.Activities))
	for i, a := range in.Activities {
		c := *a
		if a.End != nil {
			t := *a.End
			c.End = &t
		}
		cp.Activities[i] = &c
	}
	return &cp
}

func (t *Task) clone() *Task {
	cp := *t
	cp.CandidateUsers = append([]string(nil), t.CandidateUsers...)
	cp.CandidateGroups = append([]string(nil), t.CandidateGroups...)
	cp.Outcomes = append([]Outcome(nil), t.Outcomes...)
	for _, p := range []**time.Time{&cp.ClaimTime, &cp.DueDate, &cp.EndTime} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	if t.LocalVars != nil {
		cp.LocalVars = make(map[string]*Variable, len(t.LocalVars))
		for k, v := range t.LocalVars {
			cp.LocalVars[k] = copyVar(v)
		}
	}
	cp.Comments = make([]*Comment, len(t.Comments))
	for i, c := range t.Comments {
		cc := *c
		cp.Comments[i] = &cc
	}
	return &cp
}

// CloneInstance returns a deep copy, for callers outside View.
func CloneInstance(in *Instance) *Instance { return in.clone() }

// CloneTask returns a deep copy, for callers outside View.
func CloneTask(t *Task) *Task { return t.clone() }
