package bpmn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// process wraps flow elements in a BPMN document.
func process(key, body string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowable="http://flowable.org/bpmn" xmlns:workflow="http://workflow.opentext.com" targetNamespace="test">
<process id="` + key + `" name="` + key + `" isExecutable="true">` + body + `</process></definitions>`)
}

func newEngine(t *testing.T) *Engine {
	t.Helper()
	e := NewEngine(Options{TimeScale: 0.001, HTTPAttempts: 2, HTTPRetryDelay: time.Second})
	e.Start()
	t.Cleanup(e.Close)
	return e
}

func deploy(t *testing.T, e *Engine, model []byte) *Model {
	t.Helper()
	typ := "json"
	if strings.HasPrefix(strings.TrimSpace(string(model)), "<") {
		typ = "xml"
	}
	m, err := e.Deploy(typ, model, "")
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	return m
}

func start(t *testing.T, e *Engine, key string, vars ...any) string {
	t.Helper()
	req := StartRequest{DefinitionKey: key, User: "starter"}
	for i := 0; i+1 < len(vars); i += 2 {
		req.Variables = append(req.Variables, VarInput{Name: vars[i].(string), Value: vars[i+1]})
	}
	id, err := e.StartInstance(req)
	if err != nil {
		t.Fatalf("start %s: %v", key, err)
	}
	return id
}

func inst(e *Engine, id string) *Instance {
	var out *Instance
	e.View(func(v *View) {
		if in := v.Instance(id); in != nil {
			out = in.clone()
		}
	})
	return out
}

func openTasks(e *Engine, id string) []*Task {
	var out []*Task
	for _, t := range inst(e, id).Tasks {
		if t.Open() {
			out = append(out, t)
		}
	}
	return out
}

func idle(t *testing.T, e *Engine) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

const reviewThenGateway = `
<startEvent id="s"/><sequenceFlow id="f1" sourceRef="s" targetRef="task"/>
<userTask id="task" name="Task" flowable:candidateGroups="g"/>
<sequenceFlow id="f2" sourceRef="task" targetRef="gw"/>
<exclusiveGateway id="gw"/>
<sequenceFlow id="f3" sourceRef="gw" targetRef="end"><conditionExpression>${choice == 'a'}</conditionExpression></sequenceFlow>
<endEvent id="end"/>`

func TestEngineRollsBackFailedTransaction(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	deploy(t, e, process("rb", reviewThenGateway))
	id := start(t, e, "rb", "choice", "b")
	task := openTasks(e, id)[0]
	before := inst(e, id)
	err := e.CompleteTask(task.ID, CompleteRequest{User: "u", Variables: []VarInput{{Name: "extra", Value: 1}, {Name: "choice", Value: "c"}}, AssignIfUnclaimed: true})
	if err == nil || KindOf(err) != KindEngine || !strings.Contains(err.Error(), "No outgoing sequence flow of element 'gw'") {
		t.Fatalf("err = %v", err)
	}
	after := inst(e, id)
	if len(openTasks(e, id)) != 1 || after.Vars["extra"] != nil || after.Vars["choice"].Value != "b" || after.task(task.ID).Assignee != "" ||
		len(after.Activities) != len(before.Activities) || len(after.Executions) != 1 {
		t.Fatalf("state changed by a failed transaction: %+v", after)
	}
	// A failed start leaves no instance behind.
	if _, err := e.StartInstance(StartRequest{DefinitionKey: "rb", Variables: nil}); err != nil {
		t.Fatalf("start without choice should wait at the task: %v", err)
	}
	deploy(t, e, process("bad", `<startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="t"/><userTask id="t" name="${nope}"/><sequenceFlow id="f2" sourceRef="t" targetRef="e"/><endEvent id="e"/>`))
	n := 0
	e.View(func(v *View) { n = len(v.Instances()) })
	if _, err := e.StartInstance(StartRequest{DefinitionKey: "bad"}); err == nil || !strings.Contains(err.Error(), "Unknown property used in expression: ${nope}") {
		t.Fatalf("err = %v", err)
	}
	e.View(func(v *View) {
		if len(v.Instances()) != n {
			t.Errorf("failed start left an instance")
		}
	})
}

func TestHTTPTaskCallbackMayReenter(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	deploy(t, e, process("child", `<startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/><endEvent id="e"/>`))
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = string(b)
		// The receiver calls back into the engine while the HTTP task runs.
		if _, err := e.StartInstance(StartRequest{DefinitionKey: "child"}); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"accepted":true,"n":2}`)
	}))
	defer srv.Close()
	deploy(t, e, process("caller", `<startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="h"/>
<serviceTask id="h" name="Call" flowable:type="http"><extensionElements>
<flowable:field name="requestMethod"><flowable:string>POST</flowable:string></flowable:field>
<flowable:field name="requestUrl"><flowable:expression>${url}/hook</flowable:expression></flowable:field>
<flowable:field name="requestHeaders"><flowable:string>Content-Type: application/json</flowable:string></flowable:field>
<flowable:field name="requestBody"><flowable:expression>{"id":"${execution.processInstanceId}"}</flowable:expression></flowable:field>
<flowable:field name="responseVariableName"><flowable:string>resp</flowable:string></flowable:field>
<flowable:field name="saveResponseVariableAsJson"><flowable:string>true</flowable:string></flowable:field>
</extensionElements></serviceTask>
<sequenceFlow id="f2" sourceRef="h" targetRef="gw"/><exclusiveGateway id="gw" default="f4"/>
<sequenceFlow id="f3" sourceRef="gw" targetRef="ok"><conditionExpression>${resp.accepted &amp;&amp; resp.n == 2}</conditionExpression></sequenceFlow>
<sequenceFlow id="f4" sourceRef="gw" targetRef="bad"/><endEvent id="ok"/><endEvent id="bad"/>`))
	id := start(t, e, "caller", "url", srv.URL)
	idle(t, e)
	in := inst(e, id)
	if !in.Ended || in.EndActivityID != "ok" || got != `{"id":"`+id+`"}` {
		t.Fatalf("instance = %+v, body %q", in, got)
	}
	calls := e.HTTPCalls()
	if len(calls) != 1 || calls[0].Status != 200 || calls[0].Headers["Content-Type"] != "application/json" {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestDeleteInstanceDropsJobs(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	deploy(t, e, process("wait", `<startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="fork"/><parallelGateway id="fork"/>
<sequenceFlow id="a" sourceRef="fork" targetRef="timer"/><sequenceFlow id="b" sourceRef="fork" targetRef="task"/>
<intermediateCatchEvent id="timer"><timerEventDefinition><timeDuration>P10D</timeDuration></timerEventDefinition></intermediateCatchEvent>
<userTask id="task" name="T"/><boundaryEvent id="bt" attachedToRef="task"><timerEventDefinition><timeDuration>P20D</timeDuration></timerEventDefinition></boundaryEvent>
<sequenceFlow id="c" sourceRef="timer" targetRef="e1"/><sequenceFlow id="d" sourceRef="task" targetRef="e2"/><sequenceFlow id="g" sourceRef="bt" targetRef="e3"/>
<endEvent id="e1"/><endEvent id="e2"/><endEvent id="e3"/>`))
	id := start(t, e, "wait")
	if n := len(inst(e, id).Jobs); n != 2 {
		t.Fatalf("jobs = %d, want 2 (catch timer and boundary timer)", n)
	}
	if err := e.DeleteInstance(id, "no longer needed"); err != nil {
		t.Fatal(err)
	}
	in := inst(e, id)
	if len(in.Jobs) != 0 || !in.Ended || in.Completed || in.DeleteReason != "no longer needed" || in.Tasks[0].DeleteReason != "no longer needed" {
		t.Fatalf("after delete: %+v", in)
	}
	if n := e.FireTimers(""); n != 0 {
		t.Errorf("fired %d timers of a deleted instance", n)
	}
	if err := e.DeleteInstance(id, ""); KindOf(err) != KindNotFound {
		t.Errorf("second delete: %v", err)
	}
}

func TestGatewaysForkAndJoin(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	deploy(t, e, process("gws", `<startEvent id="s"/><sequenceFlow id="f0" sourceRef="s" targetRef="split"/>
<inclusiveGateway id="split" default="fd"/>
<sequenceFlow id="fa" sourceRef="split" targetRef="a"><conditionExpression>${legal}</conditionExpression></sequenceFlow>
<sequenceFlow id="fb" sourceRef="split" targetRef="b"><conditionExpression>${amount > 100}</conditionExpression></sequenceFlow>
<sequenceFlow id="fd" sourceRef="split" targetRef="c"/>
<userTask id="a" name="Legal"/><userTask id="b" name="Finance"/><userTask id="c" name="Default"/>
<sequenceFlow id="fa2" sourceRef="a" targetRef="join"/><sequenceFlow id="fb2" sourceRef="b" targetRef="join"/><sequenceFlow id="fc2" sourceRef="c" targetRef="join"/>
<inclusiveGateway id="join"/><sequenceFlow id="fe" sourceRef="join" targetRef="par"/>
<parallelGateway id="par"/><sequenceFlow id="p1" sourceRef="par" targetRef="x"/><sequenceFlow id="p2" sourceRef="par" targetRef="y"/>
<userTask id="x" name="X"/><userTask id="y" name="Y"/>
<sequenceFlow id="x2" sourceRef="x" targetRef="pjoin"/><sequenceFlow id="y2" sourceRef="y" targetRef="pjoin"/>
<parallelGateway id="pjoin"/><sequenceFlow id="fz" sourceRef="pjoin" targetRef="end"/><endEvent id="end"/>`))
	tests := []struct {
		name      string
		legal     bool
		amount    int
		wantFirst []string
	}{
		{name: "two branches", legal: true, amount: 500, wantFirst: []string{"Legal", "Finance"}},
		{name: "one branch", legal: false, amount: 500, wantFirst: []string{"Finance"}},
		{name: "default branch", legal: false, amount: 5, wantFirst: []string{"Default"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := start(t, e, "gws", "legal", tc.legal, "amount", tc.amount)
			var names []string
			for _, tk := range openTasks(e, id) {
				names = append(names, tk.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.wantFirst, ",") {
				t.Fatalf("first tasks = %v, want %v", names, tc.wantFirst)
			}
			complete := func(name string) {
				for _, tk := range openTasks(e, id) {
					if tk.Name == name {
						if err := e.CompleteTask(tk.ID, CompleteRequest{User: "u"}); err != nil {
							t.Fatal(err)
						}
						return
					}
				}
				t.Fatalf("no open task %s", name)
			}
			for i, n := range tc.wantFirst {
				if i < len(tc.wantFirst)-1 && len(openTasks(e, id)) != len(tc.wantFirst)-i {
					t.Fatalf("inclusive join let a token through early")
				}
				complete(n)
			}
			complete("X")
			if inst(e, id).Ended {
				t.Fatal("parallel join let one token through")
			}
			complete("Y")
			if !inst(e, id).Ended {
				t.Fatal("instance did not end")
			}
		})
	}
}

func TestCallActivityMapsVariables(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	deploy(t, e, process("sub", `<startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="t"/><userTask id="t" name="Sub ${role}" flowable:candidateGroups="${group}"/>
<sequenceFlow id="f2" sourceRef="t" targetRef="e"/><endEvent id="e"/>`))
	deploy(t, e, process("parent", `<startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="call"/>
<callActivity id="call" calledElement="sub" flowable:inheritVariables="true"><extensionElements>
<flowable:in sourceExpression="Line Manager" target="role"/><flowable:in source="team" target="group"/><flowable:out source="decision" target="result"/>
</extensionElements></callActivity><sequenceFlow id="f2" sourceRef="call" targetRef="e"/><endEvent id="e"/>`))
	id := start(t, e, "parent", "team", "line_managers", "shared", 1)
	var child *Instance
	e.View(func(v *View) {
		for _, in := range v.Instances() {
			if in.SuperInstanceID == id {
				child = in.clone()
			}
		}
	})
	if child == nil || child.Vars["role"].Value != "Line Manager" || child.Vars["shared"] == nil {
		t.Fatalf("child = %+v", child)
	}
	tk := openTasks(e, child.ID)[0]
	if tk.Name != "Sub Line Manager" || tk.CandidateGroups[0] != "line_managers" {
		t.Fatalf("child task = %+v", tk)
	}
	if err := e.CompleteTask(tk.ID, CompleteRequest{User: "u", Variables: []VarInput{{Name: "decision", Value: "ok"}}}); err != nil {
		t.Fatal(err)
	}
	parent := inst(e, id)
	if !parent.Ended || parent.Vars["result"].Value != "ok" {
		t.Fatalf("parent = %+v", parent)
	}
}

func TestTimersScaleAndBoundaryListeners(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	deploy(t, e, process("timers", `<startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="wait"/>
<intermediateCatchEvent id="wait"><timerEventDefinition><timeDuration>PT10S</timeDuration></timerEventDefinition></intermediateCatchEvent>
<sequenceFlow id="f2" sourceRef="wait" targetRef="task"/><userTask id="task" name="T"/>
<boundaryEvent id="remind" attachedToRef="task" cancelActivity="false"><timerEventDefinition><timeCycle>R2/PT5S</timeCycle></timerEventDefinition></boundaryEvent>
<sequenceFlow id="f3" sourceRef="remind" targetRef="mail"/>
<serviceTask id="mail" flowable:type="mail"><extensionElements><flowable:field name="to"><flowable:expression>${to}</flowable:expression></flowable:field>
<flowable:field name="subject"><flowable:string>Reminder</flowable:string></flowable:field></extensionElements></serviceTask>
<sequenceFlow id="f4" sourceRef="mail" targetRef="r"/><endEvent id="r"/>
<boundaryEvent id="expire" attachedToRef="task"><timerEventDefinition><timeDuration>PT30S</timeDuration></timerEventDefinition>
<extensionElements><flowable:executionListener event="end" expression="${execution.setVariable('status', 'expired')}"/></extensionElements></boundaryEvent>
<sequenceFlow id="f5" sourceRef="expire" targetRef="x"/><endEvent id="x"/>
<sequenceFlow id="f6" sourceRef="task" targetRef="done"/><endEvent id="done"/>`))
	begin := time.Now()
	id := start(t, e, "timers", "to", "ops@example.com")
	deadline := time.Now().Add(5 * time.Second)
	for !inst(e, id).Ended {
		if time.Now().After(deadline) {
			t.Fatalf("timers did not fire: %+v", inst(e, id))
		}
		time.Sleep(2 * time.Millisecond)
	}
	if el := time.Since(begin); el < 40*time.Millisecond {
		t.Errorf("45 s of scaled timers passed in %v", el)
	}
	in := inst(e, id)
	if in.Vars["status"].Value != "expired" || in.EndActivityID != "x" {
		t.Fatalf("instance = %+v", in)
	}
	if m := e.Mails(); len(m) != 2 || m[0].To != "ops@example.com" || m[0].Subject != "Reminder" {
		t.Errorf("mails = %+v", m)
	}
}

func TestUnsupportedElementsAreNamedAtDeploy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		el   string
		want string
	}{
		{"sub-process", `<subProcess id="sp" name="Inner"/>`, `unsupported element subProcess "Inner" (id sp)`},
		{"business rule task", `<businessRuleTask id="br"/>`, "unsupported element businessRuleTask (id br)"},
		{"message catch", `<intermediateCatchEvent id="m"><messageEventDefinition/></intermediateCatchEvent>`, "message events are not supported"},
		{"signal boundary", `<boundaryEvent id="sb" attachedToRef="t"><signalEventDefinition/></boundaryEvent>`, "unsupported element boundaryEvent (id sb): signal events"},
		{"timer start", `<startEvent id="ts"><timerEventDefinition><timeDuration>PT1M</timeDuration></timerEventDefinition></startEvent>`, "timer start events are not supported"},
		{"multi-instance task", `<userTask id="mi"><multiInstanceLoopCharacteristics/></userTask>`, "unsupported element userTask (id mi): multi-instance"},
		{"java delegate listener", `<userTask id="jl"><extensionElements><flowable:taskListener event="create" class="com.x.L"/></extensionElements></userTask>`, `create listener class "com.x.L"`},
		{"expression syntax", `<userTask id="ex" name="${a +}"/>`, `(id ex): expression "${a +}"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseXML(process("p", `<startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="t"/><userTask id="t"/><sequenceFlow id="f2" sourceRef="t" targetRef="e"/><endEvent id="e"/>`+tc.el))
			var ue *UnsupportedError
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if !errors.As(err, &ue) {
				t.Errorf("err is %T, want *UnsupportedError", err)
			}
		})
	}
}

// The embedded models: OpenText's samples (copied from ../shared) and media_review.
func TestEmbeddedModelsParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file     string
		wantErr  string
		wantTask string
	}{
		{file: "media_review.otwf", wantTask: "Review media"},
		{file: "manager_approval.otwf", wantTask: "${approver_role} Approval"},
		{file: "solvency_check.otwf"},
		{file: "contract_approval.otwf", wantErr: "arrow functions are not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b := readModel(t, tc.file)
			d, err := ParseJSON(b)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantTask != "" {
				ut := d.UserTasks()
				if len(ut) != 1 || ut[0].Name != tc.wantTask || ut[0].TaskType != "approval" || len(ut[0].PossibleOutcomes) != 2 {
					t.Fatalf("user tasks = %+v", ut)
				}
			}
		})
	}
}

func TestSolvencyCheckScriptRuns(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	b := readModel(t, "solvency_check.otwf")
	deploy(t, e, b)
	var patched string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		patched = string(body)
		fmt.Fprint(w, `{"update_time":"now"}`)
	}))
	defer srv.Close()
	id := start(t, e, "solvency_check", "base_url", srv.URL, "contract_id", "c1",
		"contract", map[string]any{"update_time": "t0", "properties": map[string]any{"value": 12000, "monthly_installments": 24, "yearly_income": 60000}})
	idle(t, e)
	in := inst(e, id)
	if !in.Ended || in.Vars["solvent"].Value != true || !strings.Contains(patched, `"has_been_granted": true`) {
		t.Fatalf("instance = %+v, patch %s", in, patched)
	}
}

func TestSnapshotRestoresRunningInstances(t *testing.T) {
	t.Parallel()
	e := newEngine(t)
	deploy(t, e, process("rb", reviewThenGateway))
	id := start(t, e, "rb", "choice", "a")
	st, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	e2 := newEngine(t)
	if err := e2.Restore(st); err != nil {
		t.Fatal(err)
	}
	tk := openTasks(e2, id)[0]
	if err := e2.CompleteTask(tk.ID, CompleteRequest{User: "u"}); err != nil {
		t.Fatal(err)
	}
	if !inst(e2, id).Ended {
		t.Fatal("restored instance did not run to the end")
	}
}

// readModel reads media_review from the package's models, and OpenText's
// sample models from ../shared beside the repository (not copied into the
// project), skipping when that folder is absent.
func readModel(t *testing.T, file string) []byte {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join("..", "models", file)); err == nil {
		return b
	}
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "..", "..", "shared", "apis", "specs", "opentext"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Skipf("OpenText sample model %s not found in %s; these tests need ../shared beside the clone", file, dir)
	}
	return b
}
