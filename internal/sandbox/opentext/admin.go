package opentext

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
	"github.com/patchbay/patchbay/internal/sandbox/opentext/bpmn"
)

// adminRoutes serves the OpenText-specific admin endpoints; the kit's own
// (/_sandbox/calls, faults, webhooks, reset) are served by kit.Wrap.
func (s *Server) adminRoutes() *http.ServeMux {
	mux := http.NewServeMux()
	const p = "/_sandbox/opentext"
	mux.HandleFunc("POST "+p+"/expire-tokens", func(w http.ResponseWriter, r *http.Request) {
		s.ExpireTokens()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+p+"/http-calls", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, s.HTTPCalls())
	})
	mux.HandleFunc("GET "+p+"/mails", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, s.Mails())
	})
	mux.HandleFunc("POST "+p+"/timers/fire", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, map[string]int{"fired": s.FireTimers(r.URL.Query().Get("processInstanceId"))})
	})
	mux.HandleFunc("POST "+p+"/jobs/retry", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, map[string]int{"retried": s.engine.RetryDeadJobs(r.URL.Query().Get("processInstanceId"))})
	})
	mux.HandleFunc("POST "+p+"/idle", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		if err := s.WaitIdle(ctx); err != nil {
			kit.WriteJSON(w, http.StatusGatewayTimeout, map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+p+"/instances/{id}", func(w http.ResponseWriter, r *http.Request) {
		st, ok := s.Instance(r.PathValue("id"))
		if !ok {
			kit.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no such process instance"})
			return
		}
		kit.WriteJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("GET "+p+"/tasks", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, s.Tasks(TaskFilter{InstanceID: r.URL.Query().Get("processInstanceId"), OpenOnly: r.URL.Query().Get("open") == "true"}))
	})
	mux.HandleFunc("POST "+p+"/tasks/{id}/complete", func(w http.ResponseWriter, r *http.Request) {
		var b struct {
			User      string         `json:"user"`
			Outcome   string         `json:"outcome"`
			Comment   string         `json:"comment"`
			Variables map[string]any `json:"variables"`
		}
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&b); err != nil {
			kit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "decoding body: " + err.Error()})
			return
		}
		if err := s.CompleteTask(r.PathValue("id"), b.User, b.Outcome, b.Comment, b.Variables); err != nil {
			kit.WriteJSON(w, statusOf(err), map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET "+p+"/models", func(w http.ResponseWriter, r *http.Request) {
		kit.WriteJSON(w, http.StatusOK, map[string]any{"embedded": ModelKeys(), "seed_skipped": s.SeedSkipped()})
	})
	mux.HandleFunc("POST /_sandbox/snapshot", func(w http.ResponseWriter, r *http.Request) {
		if s.opts.SnapshotPath == "" {
			kit.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "no snapshot path configured"})
			return
		}
		if err := s.SaveSnapshot(); err != nil {
			kit.WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func statusOf(err error) int {
	switch bpmn.KindOf(err) {
	case bpmn.KindInvalid:
		return http.StatusBadRequest
	case bpmn.KindNotFound:
		return http.StatusNotFound
	case bpmn.KindConflict:
		return http.StatusConflict
	}
	return http.StatusInternalServerError
}

// ---- test helpers ----

// ModelInfo identifies a deployed model version.
type ModelInfo struct {
	ID           string `json:"id"`
	Key          string `json:"key"`
	Version      int    `json:"version"`
	DefinitionID string `json:"processDefinitionId"`
}

// Deploy deploys a model: an .otwf file, bare modeler JSON, or BPMN XML.
func (s *Server) Deploy(content []byte) (ModelInfo, error) {
	typ := "json"
	if t := strings.TrimSpace(string(content)); strings.HasPrefix(t, "<") {
		typ = "xml"
	}
	m, err := s.engine.Deploy(typ, content, "")
	if err != nil {
		return ModelInfo{}, err
	}
	return ModelInfo{ID: m.ID, Key: m.Key, Version: m.Version, DefinitionID: m.DefinitionID}, nil
}

// StartInstance starts the latest version of key as the service client.
func (s *Server) StartInstance(key, businessKey string, vars map[string]any) (string, error) {
	req := bpmn.StartRequest{DefinitionKey: key, BusinessKey: businessKey, User: s.opts.ClientID}
	for _, k := range sortedKeys(vars) {
		req.Variables = append(req.Variables, bpmn.VarInput{Name: k, Value: vars[k]})
	}
	return s.engine.StartInstance(req)
}

// StartInstances starts n instances of key in one pass, far faster than n
// API calls; fn gives each its business key and variables (fn may be nil).
func (s *Server) StartInstances(key string, n int, fn func(i int) (businessKey string, vars map[string]any)) ([]string, error) {
	return s.engine.StartInstances(key, n, fn, s.opts.ClientID)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// InstanceState is a process instance as tests read it.
type InstanceState struct {
	ID            string `json:"id"`
	DefinitionKey string `json:"processDefinitionKey"`
	DefinitionID  string `json:"processDefinitionId"`
	BusinessKey   string `json:"businessKey"`
	// Status is running, suspended, completed or terminated.
	Status       string            `json:"status"`
	Variables    map[string]any    `json:"variables"`
	VariableType map[string]string `json:"variableTypes"`
	// Activities are the elements where tokens wait now.
	Activities   []string   `json:"activities"`
	StartTime    time.Time  `json:"startTime"`
	EndTime      *time.Time `json:"endTime,omitempty"`
	EndActivity  string     `json:"endActivityId,omitempty"`
	DeleteReason string     `json:"deleteReason,omitempty"`
	// Incident is the failure of a dead-lettered job (e.g. an HTTP task that
	// kept failing), if any.
	Incident        string   `json:"incident,omitempty"`
	PendingJobs     int      `json:"pendingJobs"`
	Comments        []string `json:"comments"`
	SuperInstanceID string   `json:"superProcessInstanceId,omitempty"`
}

// Instance reads an instance's state directly.
func (s *Server) Instance(id string) (InstanceState, bool) {
	var st InstanceState
	ok := false
	s.engine.View(func(v *bpmn.View) {
		in := v.Instance(id)
		if in == nil {
			return
		}
		ok = true
		st = instanceState(in)
	})
	return st, ok
}

func instanceState(in *bpmn.Instance) InstanceState {
	st := InstanceState{
		ID: in.ID, DefinitionKey: in.DefinitionKey, DefinitionID: in.DefinitionID, BusinessKey: in.BusinessKey,
		Variables: map[string]any{}, VariableType: map[string]string{}, StartTime: in.StartTime, EndActivity: in.EndActivityID,
		DeleteReason: in.DeleteReason, Incident: in.Incident, SuperInstanceID: in.SuperInstanceID,
	}
	switch {
	case in.Ended && in.Completed:
		st.Status = "completed"
	case in.Ended:
		st.Status = "terminated"
	case in.Suspended:
		st.Status = "suspended"
	default:
		st.Status = "running"
	}
	if in.EndTime != nil {
		t := *in.EndTime
		st.EndTime = &t
	}
	for k, v := range in.Vars {
		st.Variables[k] = bpmn.DeepCopy(v.Value)
		st.VariableType[k] = v.Type
	}
	for _, x := range in.Executions {
		st.Activities = append(st.Activities, x.ActivityID)
	}
	for _, j := range in.Jobs {
		if !j.Dead {
			st.PendingJobs++
		}
	}
	for _, c := range in.Comments {
		st.Comments = append(st.Comments, c.Message)
	}
	return st
}

// TaskState is a user task as tests read it.
type TaskState struct {
	ID                string     `json:"id"`
	Name              string     `json:"name"`
	InstanceID        string     `json:"processInstanceId"`
	DefinitionKey     string     `json:"processDefinitionKey"`
	BusinessKey       string     `json:"businessKey"`
	TaskDefinitionKey string     `json:"taskDefinitionKey"`
	Assignee          string     `json:"assignee"`
	CandidateUsers    []string   `json:"candidateUsers"`
	CandidateGroups   []string   `json:"candidateGroups"`
	Open              bool       `json:"open"`
	Approval          bool       `json:"approval"`
	OutcomeVariable   string     `json:"outcomeVariable,omitempty"`
	PossibleOutcomes  []string   `json:"possibleOutcomes,omitempty"`
	Outcome           string     `json:"outcome,omitempty"`
	CompletedBy       string     `json:"completedBy,omitempty"`
	DeleteReason      string     `json:"deleteReason,omitempty"`
	CreateTime        time.Time  `json:"createTime"`
	EndTime           *time.Time `json:"endTime,omitempty"`
}

// TaskFilter selects tasks for Tasks; zero fields match everything.
type TaskFilter struct {
	InstanceID    string
	DefinitionKey string
	BusinessKey   string
	Assignee      string
	// CandidateGroup matches tasks offered to the group.
	CandidateGroup string
	OpenOnly       bool
}

// Tasks reads tasks directly, oldest first.
func (s *Server) Tasks(f TaskFilter) []TaskState {
	var out []TaskState
	s.engine.View(func(v *bpmn.View) {
		for _, in := range v.Instances() {
			if (f.InstanceID != "" && in.ID != f.InstanceID) || (f.DefinitionKey != "" && in.DefinitionKey != f.DefinitionKey) ||
				(f.BusinessKey != "" && in.BusinessKey != f.BusinessKey) {
				continue
			}
			for _, t := range in.Tasks {
				if (f.OpenOnly && !t.Open()) || (f.Assignee != "" && t.Assignee != f.Assignee) ||
					(f.CandidateGroup != "" && !contains(t.CandidateGroups, f.CandidateGroup)) {
					continue
				}
				out = append(out, taskState(in, t))
			}
		}
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreateTime.Before(out[j].CreateTime) })
	return out
}

func taskState(in *bpmn.Instance, t *bpmn.Task) TaskState {
	ts := TaskState{
		ID: t.ID, Name: t.Name, InstanceID: in.ID, DefinitionKey: in.DefinitionKey, BusinessKey: in.BusinessKey,
		TaskDefinitionKey: t.TaskDefinitionKey, Assignee: t.Assignee, CandidateUsers: append([]string(nil), t.CandidateUsers...),
		CandidateGroups: append([]string(nil), t.CandidateGroups...), Open: t.Open(), Approval: t.TaskType == "approval",
		OutcomeVariable: t.OutcomeVariable, Outcome: t.Outcome, CompletedBy: t.CompletedBy, DeleteReason: t.DeleteReason,
		CreateTime: t.CreateTime,
	}
	for _, o := range t.Outcomes {
		ts.PossibleOutcomes = append(ts.PossibleOutcomes, o.Value)
	}
	if t.EndTime != nil {
		e := *t.EndTime
		ts.EndTime = &e
	}
	return ts
}

// ClaimTask claims a task for user, as POST /tasks/{id} {"action":"claim"} does.
func (s *Server) ClaimTask(taskID, user string) error { return s.engine.ClaimTask(taskID, user) }

// CompleteTask completes a task as a person in the inbox would: an
// unclaimed task is assigned to user as it completes (a task claimed by
// someone else is a conflict), comment is stored as the process variable "comment" and as a
// task comment, sets vars and completes with outcome.
func (s *Server) CompleteTask(taskID, user, outcome, comment string, vars map[string]any) error {
	if user == "" {
		return fmt.Errorf("completing task: a user is required")
	}
	var assignee string
	found := false
	s.engine.View(func(v *bpmn.View) {
		if _, t := v.Task(taskID); t != nil && t.Open() {
			found, assignee = true, t.Assignee
		}
	})
	if !found {
		return &bpmn.Error{Kind: bpmn.KindNotFound, Msg: "Could not find a task with id '" + taskID + "'."}
	}
	if assignee != "" && assignee != user {
		return &bpmn.Error{Kind: bpmn.KindConflict, Msg: fmt.Sprintf("Task '%s' is claimed by %s.", taskID, assignee)}
	}
	req := bpmn.CompleteRequest{User: user, Outcome: outcome, Comment: comment, AssignIfUnclaimed: true}
	for _, k := range sortedKeys(vars) {
		req.Variables = append(req.Variables, bpmn.VarInput{Name: k, Value: vars[k]})
	}
	if comment != "" {
		req.Variables = append(req.Variables, bpmn.VarInput{Name: "comment", Type: "string", Value: comment})
	}
	return s.engine.CompleteTask(taskID, req)
}

// HTTPCalls returns every HTTP-task attempt the engine made.
func (s *Server) HTTPCalls() []bpmn.HTTPCall { return s.engine.HTTPCalls() }

// Mails returns the mails mail tasks would have sent.
func (s *Server) Mails() []bpmn.Mail { return s.engine.Mails() }

// FireTimers makes the pending timers of an instance ("" for all) due now.
func (s *Server) FireTimers(instanceID string) int { return s.engine.FireTimers(instanceID) }

// ---- snapshot ----

type snapshot struct {
	Engine bpmn.State      `json:"engine"`
	Tokens []snapshotToken `json:"tokens"`
	Saved  time.Time       `json:"saved"`
}

type snapshotToken struct {
	Value   string    `json:"value"`
	Subject string    `json:"subject"`
	Client  string    `json:"client"`
	Grant   string    `json:"grant"`
	Expires time.Time `json:"expires"`
	Refresh string    `json:"refresh,omitempty"`
}

// SaveSnapshot writes the state to SnapshotPath now, unless it is what the
// file already holds.
func (s *Server) SaveSnapshot() error {
	if s.opts.SnapshotPath == "" {
		return fmt.Errorf("saving snapshot: no snapshot path configured")
	}
	st, err := s.engine.Snapshot()
	if err != nil {
		return fmt.Errorf("saving snapshot: %w", err)
	}
	snap := snapshot{Engine: st, Saved: s.kit.Clock().Now().UTC()}
	s.mu.Lock()
	for _, t := range s.tokens {
		snap.Tokens = append(snap.Tokens, snapshotToken{Value: t.Value, Subject: t.Subject, Client: t.ClientID, Grant: t.Grant, Expires: t.Expires, Refresh: t.Refresh})
	}
	s.mu.Unlock()
	sort.Slice(snap.Tokens, func(i, j int) bool { return snap.Tokens[i].Value < snap.Tokens[j].Value })
	// Saved changes every time: the rest is the state.
	state, err := json.Marshal(struct {
		Engine bpmn.State
		Tokens []snapshotToken
	}{snap.Engine, snap.Tokens})
	if err != nil {
		return fmt.Errorf("saving snapshot: %w", err)
	}
	_, err = s.snaps.Save(snap, state)
	return err
}

func (s *Server) loadSnapshot() (bool, error) {
	var snap snapshot
	ok, err := kit.LoadJSON(s.opts.SnapshotPath, &snap)
	if err != nil || !ok {
		return false, err
	}
	if err := s.engine.Restore(snap.Engine); err != nil {
		return false, fmt.Errorf("loading snapshot %s: %w", s.opts.SnapshotPath, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range snap.Tokens {
		tk := &token{Value: t.Value, Subject: t.Subject, ClientID: t.Client, Grant: t.Grant, Expires: t.Expires, Refresh: t.Refresh}
		s.tokens[t.Value] = tk
		if t.Refresh != "" {
			s.refresh[t.Refresh] = tk
		}
	}
	return true, nil
}
