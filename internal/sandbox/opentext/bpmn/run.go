package bpmn

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxSteps bounds the elements one transaction may pass through, so a model
// that loops without a wait state fails instead of hanging the sandbox.
const maxSteps = 10_000

// tx is one engine transaction: every instance it modifies is copied first,
// so a failure can restore the state as it was.
type tx struct {
	e        *Engine
	user     string
	token    string
	saved    map[string]*Instance // nil value: created in this transaction
	steps    int
	httpLen  int
	mailsLen int
}

func (e *Engine) begin(user, token string) *tx {
	return &tx{e: e, user: user, token: token, saved: map[string]*Instance{}, httpLen: len(e.httpLog), mailsLen: len(e.mails)}
}

func (t *tx) touch(in *Instance) {
	if _, ok := t.saved[in.ID]; !ok {
		t.saved[in.ID] = in.clone()
	}
}

func (t *tx) rollback() {
	e := t.e
	for id, old := range t.saved {
		if old == nil {
			if in := e.inst[id]; in != nil {
				e.dropLocked(in)
			}
			continue
		}
		e.inst[id] = old
		for _, tk := range old.Tasks {
			e.taskIdx[tk.ID] = id
		}
		for _, j := range old.Jobs {
			j.running = false
		}
		if len(old.Jobs) > 0 {
			e.jobInst[id] = true
		}
	}
	if len(e.httpLog) > t.httpLen {
		e.httpLog = e.httpLog[:t.httpLen]
	}
	if len(e.mails) > t.mailsLen {
		e.mails = e.mails[:t.mailsLen]
	}
}

func engineErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*Error); ok {
		return err
	}
	return &Error{Kind: KindEngine, Msg: err.Error(), Err: err}
}

// ---- scope ----

type scope struct {
	t    *tx
	in   *Instance
	ex   *Execution
	task *Task
	el   *Element
}

func (s *scope) Lookup(name string) (any, bool) {
	switch name {
	case "execution":
		return &execObj{s}, true
	case "task":
		if s.task != nil {
			return &taskObj{s}, true
		}
	}
	return s.Variable(name)
}

func (s *scope) Variable(name string) (any, bool) {
	if s.task != nil && s.task.LocalVars != nil {
		if v, ok := s.task.LocalVars[name]; ok {
			return v.Value, true
		}
	}
	if v, ok := s.in.Vars[name]; ok {
		return v.Value, true
	}
	return nil, false
}

func (s *scope) setVar(name string, value any) {
	s.t.touch(s.in)
	value = NormalizeJSON(DeepCopy(value))
	s.in.Vars[name] = &Variable{Name: name, Type: InferType(value), Value: value}
}

type execObj struct{ s *scope }

func (o *execObj) String() string { return "execution" }

func (o *execObj) Member(name string) (any, error) {
	s := o.s
	switch name {
	case "id":
		if s.ex != nil {
			return s.ex.ID, nil
		}
		return s.in.ID, nil
	case "processInstanceId":
		return s.in.ID, nil
	case "processInstanceBusinessKey", "businessKey":
		return s.in.BusinessKey, nil
	case "processDefinitionId":
		return s.in.DefinitionID, nil
	case "currentActivityId":
		if s.el != nil {
			return s.el.ID, nil
		}
		return nil, nil
	case "currentActivityName":
		if s.el != nil {
			return s.el.Name, nil
		}
		return nil, nil
	case "tenantId":
		return s.t.e.opts.TenantID, nil
	case "variables":
		m := map[string]any{}
		for k, v := range s.in.Vars {
			m[k] = v.Value
		}
		return m, nil
	}
	return nil, fmt.Errorf("property %q not found on execution", name)
}

func (o *execObj) Call(method string, args []any) (any, error) {
	s := o.s
	switch method {
	case "getVariable", "getVariableLocal":
		if len(args) == 1 {
			v, _ := s.Variable(ToString(args[0]))
			return v, nil
		}
	case "hasVariable", "hasVariableLocal":
		if len(args) == 1 {
			_, ok := s.Variable(ToString(args[0]))
			return ok, nil
		}
	case "setVariable", "setVariableLocal", "setTransientVariable":
		if len(args) == 2 {
			s.setVar(ToString(args[0]), args[1])
			return nil, nil
		}
	case "removeVariable", "removeVariableLocal":
		if len(args) == 1 {
			s.t.touch(s.in)
			delete(s.in.Vars, ToString(args[0]))
			return nil, nil
		}
	case "getVariables":
		return o.Member("variables")
	}
	if strings.HasPrefix(method, "get") && len(args) == 0 && len(method) > 3 {
		return o.Member(strings.ToLower(method[3:4]) + method[4:])
	}
	return nil, fmt.Errorf("method %s(%d args) not found on execution", method, len(args))
}

type taskObj struct{ s *scope }

func (o *taskObj) String() string { return "task" }

func (o *taskObj) Member(name string) (any, error) {
	tk := o.s.task
	switch name {
	case "id":
		return tk.ID, nil
	case "name":
		return tk.Name, nil
	case "description":
		return tk.Description, nil
	case "assignee":
		if tk.Assignee == "" {
			return nil, nil
		}
		return tk.Assignee, nil
	case "owner":
		if tk.Owner == "" {
			return nil, nil
		}
		return tk.Owner, nil
	case "taskDefinitionKey":
		return tk.TaskDefinitionKey, nil
	case "processInstanceId":
		return tk.InstanceID, nil
	case "priority":
		return int64(tk.Priority), nil
	case "category":
		return tk.Category, nil
	case "formKey":
		return tk.FormKey, nil
	case "outcome":
		return tk.Outcome, nil
	}
	return nil, fmt.Errorf("property %q not found on task", name)
}

func (o *taskObj) Call(method string, args []any) (any, error) {
	s := o.s
	switch method {
	case "getVariable":
		if len(args) == 1 {
			v, _ := s.Variable(ToString(args[0]))
			return v, nil
		}
	case "setVariable":
		if len(args) == 2 {
			s.setVar(ToString(args[0]), args[1])
			return nil, nil
		}
	case "setAssignee":
		if len(args) == 1 {
			s.t.touch(s.in)
			s.task.Assignee = ToString(args[0])
			return nil, nil
		}
	case "setName":
		if len(args) == 1 {
			s.t.touch(s.in)
			s.task.Name = ToString(args[0])
			return nil, nil
		}
	case "setPriority":
		if len(args) == 1 {
			if p, ok := toInt(args[0]); ok {
				s.t.touch(s.in)
				s.task.Priority = int(p)
				return nil, nil
			}
		}
	}
	if strings.HasPrefix(method, "get") && len(args) == 0 && len(method) > 3 {
		return o.Member(strings.ToLower(method[3:4]) + method[4:])
	}
	return nil, fmt.Errorf("method %s(%d args) not found on task", method, len(args))
}

// ---- instance lifecycle ----

// startInstance creates an instance of m and runs it from its start event.
func (t *tx) startInstance(m *Model, message, name, businessKey string, vars []*Variable, superID, superExecID string) (*Instance, error) {
	in, start, err := t.createInstance(m, message, name, businessKey, vars, superID, superExecID)
	if err != nil {
		return nil, err
	}
	return in, t.runStart(in, start)
}

func (t *tx) createInstance(m *Model, message, name, businessKey string, vars []*Variable, superID, superExecID string) (*Instance, *Element, error) {
	e := t.e
	start, err := m.def.StartEvent(message)
	if err != nil {
		return nil, nil, errf(KindInvalid, "%v", err)
	}
	in := &Instance{
		ID: NewID(), ModelID: m.ID, DefinitionID: m.DefinitionID, DefinitionKey: m.Key, DefinitionName: m.Name,
		DefinitionVersion: m.Version, Name: name, BusinessKey: businessKey, StartUserID: t.user, StartTime: e.now(),
		StartActivityID: start.ID, SuperInstanceID: superID, SuperExecutionID: superExecID, Vars: map[string]*Variable{},
	}
	for _, v := range vars {
		in.Vars[v.Name] = copyVar(v)
	}
	if start.Initiator != "" && t.user != "" {
		in.Vars[start.Initiator] = &Variable{Name: start.Initiator, Type: "string", Value: t.user}
	}
	e.inst[in.ID] = in
	e.order = append(e.order, in.ID)
	t.saved[in.ID] = nil
	return in, start, nil
}

func (t *tx) runStart(in *Instance, start *Element) error {
	ex := t.newExecution(in, start.ID)
	return t.enter(in, ex, start)
}

func (t *tx) newExecution(in *Instance, activity string) *Execution {
	t.touch(in)
	ex := &Execution{ID: NewID(), ActivityID: activity}
	in.Executions = append(in.Executions, ex)
	return ex
}

func (in *Instance) execution(id string) *Execution {
	for _, x := range in.Executions {
		if x.ID == id {
			return x
		}
	}
	return nil
}

func (t *tx) removeExecution(in *Instance, ex *Execution) {
	t.touch(in)
	for i, x := range in.Executions {
		if x.ID == ex.ID {
			in.Executions = append(in.Executions[:i:i], in.Executions[i+1:]...)
			break
		}
	}
	t.removeJobs(in, ex.ID)
}

func (t *tx) removeJobs(in *Instance, execID string) {
	kept := in.Jobs[:0:0]
	for _, j := range in.Jobs {
		if j.ExecutionID != execID {
			kept = append(kept, j)
		}
	}
	in.Jobs = kept
}

func (t *tx) def(in *Instance) *Definition { return t.e.models[in.ModelID].def }

// enter moves ex onto el and runs el until it waits or leaves.
func (t *tx) enter(in *Instance, ex *Execution, el *Element) error {
	t.touch(in)
	t.steps++
	if t.steps > maxSteps {
		return errf(KindEngine, "process %s passed %d elements without reaching a wait state; is there a loop?", in.DefinitionKey, maxSteps)
	}
	ex.ActivityID, ex.Waiting = el.ID, ""
	sc := &scope{t: t, in: in, ex: ex, el: el}
	// Joining gateways wait before they count as entered.
	if len(el.Incoming) > 1 {
		switch el.Kind {
		case KindParallel:
			ex.Waiting = "join"
			var arrived []*Execution
			for _, x := range in.Executions {
				if x.ActivityID == el.ID && x.Waiting == "join" {
					arrived = append(arrived, x)
				}
			}
			if len(arrived) < len(el.Incoming) {
				return nil
			}
			for _, x := range arrived {
				if x != ex {
					t.removeExecution(in, x)
				}
			}
			ex.Waiting = ""
		case KindInclusive:
			ex.Waiting = "join"
			if t.otherCanReach(in, el) {
				return nil
			}
			t.mergeAt(in, ex, el)
			ex.Waiting = ""
		}
	}
	t.recordStart(in, ex, el)
	if err := t.execListeners(sc, el, "start"); err != nil {
		return err
	}
	if el.SkipExpression != "" && skipEnabled(in) {
		skip, err := EvalBool(el.SkipExpression, sc)
		if err != nil {
			return engineErr(err)
		}
		if skip {
			return t.leave(in, ex, el)
		}
	}
	switch el.Kind {
	case KindStartEvent, KindManualTask, KindExclusive, KindInclusive, KindParallel:
		return t.leave(in, ex, el)
	case KindEndEvent:
		if err := t.execListeners(sc, el, "end"); err != nil {
			return err
		}
		t.recordEnd(in, ex, el)
		t.removeExecution(in, ex)
		if len(in.Executions) == 0 {
			return t.endInstance(in, el.ID, "")
		}
		return t.recheckJoins(in)
	case KindTerminateEnd:
		if err := t.execListeners(sc, el, "end"); err != nil {
			return err
		}
		t.recordEnd(in, ex, el)
		t.cancelAll(in, "Terminated by end event: "+el.ID)
		return t.endInstance(in, el.ID, "")
	case KindUserTask:
		return t.createTask(in, ex, el, sc)
	case KindHTTPTask:
		ex.Waiting = "job"
		t.addJob(in, &Job{ID: NewID(), Type: "http", ExecutionID: ex.ID, ElementID: el.ID, Due: t.e.now(), AuthToken: t.token})
		return t.boundaryJobs(in, ex, el, sc)
	case KindMailTask:
		if err := t.sendMail(sc, el.Mail); err != nil {
			return err
		}
		return t.leave(in, ex, el)
	case KindScriptTask:
		if err := el.Script.Run(sc); err != nil {
			return engineErr(fmt.Errorf("script task %s: %w", el.ID, err))
		}
		return t.leave(in, ex, el)
	case KindCallActivity:
		return t.callActivity(in, ex, el, sc)
	case KindTimerCatch:
		due, repeats, every, err := t.timerDue(el.Timer, sc)
		if err != nil {
			return err
		}
		ex.Waiting = "timer"
		t.addJob(in, &Job{ID: NewID(), Type: "timer", ExecutionID: ex.ID, ElementID: el.ID, Due: due, RepeatsLeft: repeats, Every: every})
		return nil
	}
	return errf(KindEngine, "element %s of kind %s cannot be entered", el.ID, el.Kind)
}

func skipEnabled(in *Instance) bool {
	for _, k := range []string{"_FLOWABLE_SKIP_EXPRESSION_ENABLED", "_ACTIVITI_SKIP_EXPRESSION_ENABLED"} {
		if v, ok := in.Vars[k]; ok && truthy(v.Value) {
			return true
		}
	}
	return false
}

// leave runs el's end listeners and takes its outgoing flows.
func (t *tx) leave(in *Instance, ex *Execution, el *Element) error {
	sc := &scope{t: t, in: in, ex: ex, el: el}
	if err := t.execListeners(sc, el, "end"); err != nil {
		return err
	}
	t.recordEnd(in, ex, el)
	t.removeJobs(in, ex.ID)
	flows, err := t.selectFlows(sc, el)
	if err != nil {
		return err
	}
	return t.take(in, ex, flows)
}

// take sends ex (and, for forks, new executions) down flows.
func (t *tx) take(in *Instance, ex *Execution, flows []*Flow) error {
	if len(flows) == 0 {
		t.removeExecution(in, ex)
		if len(in.Executions) == 0 && !in.Ended {
			return t.endInstance(in, ex.ActivityID, "")
		}
		return nil
	}
	execs := []*Execution{ex}
	for range flows[1:] {
		execs = append(execs, t.newExecution(in, ex.ActivityID))
	}
	for i, f := range flows {
		x := execs[i]
		if in.Ended || in.execution(x.ID) == nil {
			return nil
		}
		if err := t.enter(in, x, f.Target); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) selectFlows(sc *scope, el *Element) ([]*Flow, error) {
	cond := func(f *Flow) (bool, error) {
		if f.Condition == "" {
			return true, nil
		}
		ok, err := EvalBool(f.Condition, sc)
		if err != nil {
			return false, engineErr(err)
		}
		return ok, nil
	}
	var deflt *Flow
	for _, f := range el.Outgoing {
		if f.ID == el.Default {
			deflt = f
		}
	}
	switch el.Kind {
	case KindParallel:
		return el.Outgoing, nil
	case KindExclusive:
		for _, f := range el.Outgoing {
			if f == deflt {
				continue
			}
			ok, err := cond(f)
			if err != nil {
				return nil, err
			}
			if ok {
				return []*Flow{f}, nil
			}
		}
		if deflt != nil {
			return []*Flow{deflt}, nil
		}
		return nil, errf(KindEngine, "No outgoing sequence flow of element '%s' could be selected for continuing the process", el.ID)
	}
	var out []*Flow
	for _, f := range el.Outgoing {
		if f == deflt {
			continue
		}
		ok, err := cond(f)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, f)
		}
	}
	if len(out) == 0 && deflt != nil {
		out = []*Flow{deflt}
	}
	if len(out) == 0 && len(el.Outgoing) > 0 {
		return nil, errf(KindEngine, "No outgoing sequence flow of element '%s' could be selected for continuing the process", el.ID)
	}
	return out, nil
}

// otherCanReach reports whether an execution not waiting at gw can still reach it.
func (t *tx) otherCanReach(in *Instance, gw *Element) bool {
	def := t.def(in)
	for _, x := range in.Executions {
		if x.ActivityID == gw.ID && x.Waiting == "join" {
			continue
		}
		if reachable(def, def.Elements[x.ActivityID], gw) {
			return true
		}
	}
	return false
}

func reachable(def *Definition, from, to *Element) bool {
	if from == nil {
		return false
	}
	seen := map[string]bool{}
	stack := []*Element{from}
	for len(stack) > 0 {
		el := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[el.ID] {
			continue
		}
		seen[el.ID] = true
		for _, f := range el.Outgoing {
			if f.Target == to {
				return true
			}
			stack = append(stack, f.Target)
		}
		stack = append(stack, el.Boundaries...)
	}
	return false
}

func (t *tx) mergeAt(in *Instance, keep *Execution, gw *Element) {
	for _, x := range append([]*Execution(nil), in.Executions...) {
		if x != keep && x.ActivityID == gw.ID && x.Waiting == "join" {
			t.removeExecution(in, x)
		}
	}
}

// recheckJoins fires inclusive joins that nothing can reach any more.
func (t *tx) recheckJoins(in *Instance) error {
	if in.Ended {
		return nil
	}
	def := t.def(in)
	for _, x := range append([]*Execution(nil), in.Executions...) {
		if x.Waiting != "join" || in.execution(x.ID) == nil {
			continue
		}
		gw := def.Elements[x.ActivityID]
		if gw.Kind != KindInclusive || t.otherCanReach(in, gw) {
			continue
		}
		t.mergeAt(in, x, gw)
		x.Waiting = ""
		t.recordStart(in, x, gw)
		if err := t.leave(in, x, gw); err != nil {
			return err
		}
	}
	return nil
}

// endInstance marks in ended and, for a sub-process, continues the caller.
func (t *tx) endInstance(in *Instance, endActivity, deleteReason string) error {
	t.touch(in)
	now := t.e.now()
	in.Ended, in.Completed, in.EndTime = true, deleteReason == "", &now
	in.EndActivityID, in.DeleteReason = endActivity, deleteReason
	in.Executions, in.Jobs = nil, nil
	for _, a := range in.Activities {
		if a.End == nil {
			a.End = &now
		}
	}
	if in.SuperInstanceID == "" || deleteReason != "" {
		return nil
	}
	parent := t.e.inst[in.SuperInstanceID]
	if parent == nil || parent.Ended {
		return nil
	}
	t.touch(parent)
	ex := parent.execution(in.SuperExecutionID)
	if ex == nil || ex.CalledInstanceID != in.ID {
		return nil
	}
	el := t.def(parent).Elements[ex.ActivityID]
	child := &scope{t: t, in: in, el: el}
	for _, p := range el.OutParams {
		v, err := paramValue(p, child)
		if err != nil {
			return err
		}
		psc := &scope{t: t, in: parent, ex: ex, el: el}
		psc.setVar(p.Target, v)
	}
	ex.CalledInstanceID, ex.Waiting = "", ""
	return t.leave(parent, ex, el)
}

func paramValue(p Param, sc *scope) (any, error) {
	if p.Source != "" {
		v, _ := sc.Variable(p.Source)
		return v, nil
	}
	if p.SourceExpression != "" {
		v, err := EvalExpr(p.SourceExpression, sc)
		if err != nil {
			return nil, engineErr(err)
		}
		return v, nil
	}
	return nil, nil
}

// cancelAll ends every open task and sub-process and drops every token.
func (t *tx) cancelAll(in *Instance, reason string) {
	t.touch(in)
	now := t.e.now()
	for _, tk := range in.Tasks {
		if tk.Open() {
			tk.EndTime, tk.DeleteReason = &now, reason
		}
	}
	for _, x := range in.Executions {
		if x.CalledInstanceID != "" {
			if child := t.e.inst[x.CalledInstanceID]; child != nil && !child.Ended {
				t.deleteInstance(child, reason)
			}
		}
	}
	in.Executions, in.Jobs = nil, nil
}

// deleteInstance terminates in from outside (API, cascade, cancelled caller).
func (t *tx) deleteInstance(in *Instance, reason string) {
	t.cancelAll(in, reason)
	_ = t.endInstance(in, "", reason)
}

// ---- user tasks ----

func (t *tx) createTask(in *Instance, ex *Execution, el *Element, sc *scope) error {
	now := t.e.now()
	tk := &Task{
		ID: NewID(), TaskDefinitionKey: el.ID, ExecutionID: ex.ID, InstanceID: in.ID, DefinitionID: in.DefinitionID,
		DefinitionKey: in.DefinitionKey, CreateTime: now, TaskType: el.TaskType, OutcomeVariable: el.OutcomeVariable,
		Outcomes: append([]Outcome(nil), el.PossibleOutcomes...), Priority: 50, InitiatorCanClose: el.InitiatorCanClose,
	}
	var err error
	if tk.Name, err = evalStr(el.Name, sc); err != nil {
		return err
	}
	if tk.Description, err = evalStr(el.Documentation, sc); err != nil {
		return err
	}
	if tk.FormKey, err = evalStr(el.FormKey, sc); err != nil {
		return err
	}
	if tk.Category, err = evalStr(el.Category, sc); err != nil {
		return err
	}
	if el.Assignee != "" {
		if strings.TrimSpace(el.Assignee) == "$INITIATOR" {
			tk.Assignee = in.StartUserID
		} else if tk.Assignee, err = evalStr(el.Assignee, sc); err != nil {
			return err
		}
	}
	if tk.CandidateUsers, err = evalList(el.CandidateUsers, sc); err != nil {
		return err
	}
	if tk.CandidateGroups, err = evalList(el.CandidateGroups, sc); err != nil {
		return err
	}
	if el.Priority != "" {
		p, err := evalStr(el.Priority, sc)
		if err != nil {
			return err
		}
		n, perr := strconv.Atoi(strings.TrimSpace(p))
		if perr != nil {
			return errf(KindEngine, "user task %s: priority %q is not a number", el.ID, p)
		}
		tk.Priority = n
	}
	if el.DueDate != "" {
		v, err := EvalExpr(el.DueDate, sc)
		if err != nil {
			return engineErr(err)
		}
		if s := strings.TrimSpace(ToString(v)); s != "" {
			var due time.Time
			if strings.HasPrefix(strings.ToUpper(s), "P") {
				d, derr := ParseDuration(s)
				if derr != nil {
					return errf(KindEngine, "user task %s: due date: %v", el.ID, derr)
				}
				due = now.Add(d)
			} else if due, err = ParseTime(s); err != nil {
				return errf(KindEngine, "user task %s: due date: %v", el.ID, err)
			}
			tk.DueDate = &due
		}
	}
	if tk.Assignee != "" {
		tk.ClaimTime = nil
	}
	in.Tasks = append(in.Tasks, tk)
	t.e.taskIdx[tk.ID] = in.ID
	ex.Waiting = "task"
	if n := len(in.Activities); n > 0 && in.Activities[n-1].ExecutionID == ex.ID {
		in.Activities[n-1].TaskID = tk.ID
	}
	if err := t.taskListeners(in, tk, "create"); err != nil {
		return err
	}
	if tk.Assignee != "" {
		if err := t.taskListeners(in, tk, "assignment"); err != nil {
			return err
		}
	}
	return t.boundaryJobs(in, ex, el, sc)
}

func evalStr(s string, sc Scope) (string, error) {
	if s == "" {
		return "", nil
	}
	v, err := EvalString(s, sc)
	return v, engineErr(err)
}

// evalList evaluates candidate expressions; each may yield a list or a
// comma-separated string.
func evalList(exprs []string, sc Scope) ([]string, error) {
	var out []string
	for _, x := range exprs {
		v, err := EvalExpr(x, sc)
		if err != nil {
			return nil, engineErr(err)
		}
		switch l := v.(type) {
		case []any:
			for _, it := range l {
				if s := strings.TrimSpace(ToString(it)); s != "" {
					out = append(out, s)
				}
			}
		default:
			for _, s := range strings.Split(ToString(v), ",") {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
		}
	}
	return out, nil
}

func (t *tx) taskListeners(in *Instance, tk *Task, event string) error {
	def := t.def(in)
	el := def.Elements[tk.TaskDefinitionKey]
	if el == nil {
		return nil
	}
	sc := &scope{t: t, in: in, ex: in.execution(tk.ExecutionID), task: tk, el: el}
	for _, l := range el.TaskListeners {
		if l.Event != event && !(l.Event == "all" || l.Event == "") {
			continue
		}
		if err := t.runListener(sc, l); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) execListeners(sc *scope, el *Element, event string) error {
	for _, l := range el.ExecutionListeners {
		if l.Event != event {
			continue
		}
		if err := t.runListener(sc, l); err != nil {
			return err
		}
	}
	return nil
}

func (t *tx) runListener(sc *scope, l Listener) error {
	switch {
	case l.Script != nil:
		if err := l.Script.Run(sc); err != nil {
			return engineErr(fmt.Errorf("%s listener on %s: %w", l.Event, sc.el.ID, err))
		}
	case l.Mail != nil:
		return t.sendMail(sc, l.Mail)
	case l.Expression != "":
		if _, err := EvalExpr(l.Expression, sc); err != nil {
			return engineErr(err)
		}
	}
	return nil
}

func (t *tx) completeTask(in *Instance, tk *Task, req CompleteRequest, vars []*Variable) error {
	t.touch(in)
	now := t.e.now()
	if req.AssignIfUnclaimed && tk.Assignee == "" && req.User != "" {
		tk.Assignee, tk.ClaimTime = req.User, &now
	}
	for _, v := range vars {
		in.Vars[v.Name] = v
	}
	if req.Outcome != "" {
		tk.Outcome = req.Outcome
		if tk.OutcomeVariable != "" {
			in.Vars[tk.OutcomeVariable] = &Variable{Name: tk.OutcomeVariable, Type: "string", Value: req.Outcome}
		}
	}
	if req.Comment != "" {
		c := &Comment{ID: NewID(), Author: req.User, Message: req.Comment, Time: now, InstanceID: in.ID, TaskID: tk.ID}
		in.Comments = append(in.Comments, c)
		cc := *c
		tk.Comments = append(tk.Comments, &cc)
	}
	if err := t.taskListeners(in, tk, "complete"); err != nil {
		return err
	}
	tk.EndTime, tk.CompletedBy = &now, req.User
	ex := in.execution(tk.ExecutionID)
	if ex == nil {
		return errf(KindEngine, "task %s has no execution", tk.ID)
	}
	return t.leave(in, ex, t.def(in).Elements[tk.TaskDefinitionKey])
}

// ---- call activities ----

func (t *tx) callActivity(in *Instance, ex *Execution, el *Element, sc *scope) error {
	key, err := evalStr(el.CalledElement, sc)
	if err != nil {
		return err
	}
	m := t.e.latestLocked(key)
	if m == nil {
		return errf(KindEngine, "call activity %s: no processes deployed with key '%s'", el.ID, key)
	}
	var vars []*Variable
	if el.InheritVariables {
		for _, k := range sortedKeys(in.Vars) {
			vars = append(vars, copyVar(in.Vars[k]))
		}
	}
	for _, p := range el.InParams {
		v, err := paramValue(p, sc)
		if err != nil {
			return err
		}
		v = NormalizeJSON(DeepCopy(v))
		vars = append(vars, &Variable{Name: p.Target, Type: InferType(v), Value: v})
	}
	child, start, err := t.createInstance(m, "", "", "", vars, in.ID, ex.ID)
	if err != nil {
		return err
	}
	ex.Waiting, ex.CalledInstanceID = "call", child.ID
	if err := t.boundaryJobs(in, ex, el, sc); err != nil {
		return err
	}
	return t.runStart(child, start)
}

// ---- timers and jobs ----

func (t *tx) addJob(in *Instance, j *Job) {
	t.touch(in)
	in.Jobs = append(in.Jobs, j)
	t.e.jobInst[in.ID] = true
}

func (t *tx) boundaryJobs(in *Instance, ex *Execution, el *Element, sc *scope) error {
	for _, b := range el.Boundaries {
		due, repeats, every, err := t.timerDue(b.Timer, sc)
		if err != nil {
			return err
		}
		t.addJob(in, &Job{ID: NewID(), Type: "timer", ExecutionID: ex.ID, ElementID: b.ID, Due: due, RepeatsLeft: repeats, Every: every})
	}
	return nil
}

// timerDue computes when a timer fires. Durations (and the time left until
// a date) are multiplied by the engine's TimeScale.
func (t *tx) timerDue(spec *TimerSpec, sc Scope) (time.Time, int, string, error) {
	now := t.e.now()
	switch {
	case spec.Duration != "":
		s, err := evalStr(spec.Duration, sc)
		if err != nil {
			return time.Time{}, 0, "", err
		}
		d, err := ParseDuration(s)
		if err != nil {
			return time.Time{}, 0, "", errf(KindEngine, "timer: %v", err)
		}
		return now.Add(t.e.scale(d)), 0, "", nil
	case spec.Date != "":
		s, err := evalStr(spec.Date, sc)
		if err != nil {
			return time.Time{}, 0, "", err
		}
		at, err := ParseTime(s)
		if err != nil {
			return time.Time{}, 0, "", errf(KindEngine, "timer: %v", err)
		}
		left := at.Sub(now)
		if left < 0 {
			left = 0
		}
		return now.Add(t.e.scale(left)), 0, "", nil
	default:
		s, err := evalStr(spec.Cycle, sc)
		if err != nil {
			return time.Time{}, 0, "", err
		}
		repeats, every, err := parseCycle(s)
		if err != nil {
			return time.Time{}, 0, "", errf(KindEngine, "timer: %v", err)
		}
		d, _ := ParseDuration(every)
		return now.Add(t.e.scale(d)), repeats - 1, every, nil
	}
}

// parseCycle reads "R3/PT10M" (R alone repeats forever, reported as -1).
func parseCycle(s string) (int, string, error) {
	s = strings.TrimSpace(s)
	r, period, ok := strings.Cut(s, "/")
	if !ok || !strings.HasPrefix(strings.ToUpper(r), "R") {
		return 0, "", fmt.Errorf("cycle %q: only ISO-8601 repeating intervals (R3/PT10M) are supported", s)
	}
	n := -1
	if len(r) > 1 {
		v, err := strconv.Atoi(r[1:])
		if err != nil || v < 1 {
			return 0, "", fmt.Errorf("cycle %q: bad repeat count", s)
		}
		n = v
	}
	if _, err := ParseDuration(period); err != nil {
		return 0, "", fmt.Errorf("cycle %q: %w", s, err)
	}
	return n, period, nil
}

// fireTimer runs a due timer job.
func (t *tx) fireTimer(in *Instance, j *Job) error {
	t.touch(in)
	def := t.def(in)
	el := def.Elements[j.ElementID]
	t.dropJob(in, j.ID)
	ex := in.execution(j.ExecutionID)
	if el == nil || ex == nil {
		return nil
	}
	if el.Kind == KindTimerCatch {
		return t.leave(in, ex, el)
	}
	act := def.Elements[el.AttachedTo]
	if !el.CancelActivity {
		if j.RepeatsLeft != 0 {
			d, _ := ParseDuration(j.Every)
			next := *j
			next.ID, next.Due, next.running = NewID(), t.e.now().Add(t.e.scale(d)), false
			if next.RepeatsLeft > 0 {
				next.RepeatsLeft--
			}
			t.addJob(in, &next)
		}
		nx := t.newExecution(in, el.ID)
		return t.pass(in, nx, el)
	}
	// Interrupting: cancel the activity, then leave through the boundary event.
	now := t.e.now()
	for _, tk := range in.Tasks {
		if tk.Open() && tk.ExecutionID == ex.ID {
			tk.EndTime, tk.DeleteReason = &now, "boundary event ("+el.ID+")"
		}
	}
	if ex.CalledInstanceID != "" {
		if child := t.e.inst[ex.CalledInstanceID]; child != nil && !child.Ended {
			t.deleteInstance(child, "boundary event ("+el.ID+")")
		}
		ex.CalledInstanceID = ""
	}
	t.removeJobs(in, ex.ID)
	t.recordEnd(in, ex, act)
	ex.Waiting = ""
	return t.pass(in, ex, el)
}

// pass runs an event the token only passes through.
func (t *tx) pass(in *Instance, ex *Execution, el *Element) error {
	ex.ActivityID = el.ID
	t.recordStart(in, ex, el)
	if err := t.execListeners(&scope{t: t, in: in, ex: ex, el: el}, el, "start"); err != nil {
		return err
	}
	return t.leave(in, ex, el)
}

func (t *tx) dropJob(in *Instance, id string) {
	for i, j := range in.Jobs {
		if j.ID == id {
			in.Jobs = append(in.Jobs[:i:i], in.Jobs[i+1:]...)
			return
		}
	}
}

// ---- mail ----

func (t *tx) sendMail(sc *scope, m *MailSpec) error {
	render := func(s string) (string, error) { return evalStr(s, sc) }
	var out Mail
	var err error
	for _, f := range []struct {
		dst *string
		src string
	}{{&out.To, m.To}, {&out.From, m.From}, {&out.CC, m.CC}, {&out.BCC, m.BCC}, {&out.Subject, m.Subject}, {&out.Text, m.Text}, {&out.HTML, m.HTML}} {
		if *f.dst, err = render(f.src); err != nil {
			return err
		}
	}
	out.InstanceID, out.ActivityID, out.Time = sc.in.ID, sc.el.ID, t.e.now()
	t.e.mails = append(t.e.mails, out)
	return nil
}

// ---- activity history ----

func (t *tx) recordStart(in *Instance, ex *Execution, el *Element) {
	in.Activities = append(in.Activities, &ActivityRecord{
		ActivityID: el.ID, ActivityName: el.Name, ActivityType: string(el.Kind), ExecutionID: ex.ID, Start: t.e.now(),
	})
}

func (t *tx) recordEnd(in *Instance, ex *Execution, el *Element) {
	for i := len(in.Activities) - 1; i >= 0; i-- {
		a := in.Activities[i]
		if a.ExecutionID == ex.ID && a.ActivityID == el.ID && a.End == nil {
			now := t.e.now()
			a.End = &now
			return
		}
	}
}
