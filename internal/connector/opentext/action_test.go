package opentext_test

import (
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/opentext"
	"github.com/patchbay/patchbay/internal/fault"
	otsb "github.com/patchbay/patchbay/internal/sandbox/opentext"
)

func TestStartProcessIsIdempotent(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	c := open(t, s.values(nil), "http://patchbay.example")

	first := mustDo(t, c, "start_process", map[string]any{"definition_key": "media_review", "business_key": "iconik:a1:v1",
		"variables": reviewVars("a1")}, "run1/start")
	if first["created"] != true || first["state"] != "running" || first["object"] != "opentext:process/"+first["id"].(string) {
		t.Fatalf("first start: %v", first)
	}
	if _, leaked := first["variables"].(map[string]any)[opentext.DefaultIdemVariable]; leaked {
		t.Errorf("the idempotency variable is in the output: %v", first["variables"])
	}

	tests := []struct {
		name        string
		input       map[string]any
		key         string
		wantCreated bool
		wantReused  string
		wantKind    fault.Kind
		wantErr     bool
	}{
		{name: "same step re-executed finds its instance", key: "run1/start",
			input: map[string]any{"definition_key": "media_review", "business_key": "iconik:a1:v1", "variables": reviewVars("a1"), "if_running": "start"}, wantReused: "same_step"},
		{name: "another step reuses the running instance", key: "run2/start",
			input: map[string]any{"definition_key": "media_review", "business_key": "iconik:a1:v1", "variables": reviewVars("a1")}, wantReused: "running"},
		{name: "if_running fail is a conflict", key: "run3/start",
			input:   map[string]any{"definition_key": "media_review", "business_key": "iconik:a1:v1", "variables": reviewVars("a1"), "if_running": "fail"},
			wantErr: true, wantKind: fault.Conflict},
		{name: "if_running start starts another", key: "run4/start",
			input: map[string]any{"definition_key": "media_review", "business_key": "iconik:a1:v1", "variables": reviewVars("a1"), "if_running": "start"}, wantCreated: true},
		{name: "no business key: the idempotency key makes one", key: "run5/start",
			input: map[string]any{"definition_key": "media_review", "variables": reviewVars("a5")}, wantCreated: true},
		{name: "and the re-execution finds it", key: "run5/start",
			input: map[string]any{"definition_key": "media_review", "variables": reviewVars("a5")}, wantReused: "same_step"},
		{name: "missing required variable is invalid", key: "run6/start",
			input: map[string]any{"definition_key": "media_review", "if_running": "start"}, wantErr: true, wantKind: fault.Invalid},
		// Flowable answers 400 for an unknown key on start ("no processes deployed with key …").
		{name: "unknown definition is invalid", key: "run7/start",
			input: map[string]any{"definition_key": "no_such_process"}, wantErr: true, wantKind: fault.Invalid},
		{name: "two definitions is invalid", key: "run8/start",
			input: map[string]any{"definition_key": "media_review", "message": "m"}, wantErr: true, wantKind: fault.Invalid},
		{name: "a wrong type is invalid", key: "run9/start",
			input:   map[string]any{"definition_key": "media_review", "variables": map[string]any{"reviewer_group": 3}, "types": map[string]any{"reviewer_group": "boolean"}},
			wantErr: true, wantKind: fault.Invalid},
	}
	for _, tt := range tests {
		res, err := do(t, c, "start_process", tt.input, tt.key)
		if tt.wantErr {
			if err == nil || fault.KindOf(err) != tt.wantKind {
				t.Errorf("%s: err = %v (kind %v), want kind %v", tt.name, err, fault.KindOf(err), tt.wantKind)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		out := res.Output.(map[string]any)
		if out["created"] != tt.wantCreated || (tt.wantReused != "" && out["reused"] != tt.wantReused) {
			t.Errorf("%s: created %v reused %v, want %v %q", tt.name, out["created"], out["reused"], tt.wantCreated, tt.wantReused)
		}
		if tt.wantReused == "same_step" && len(res.Writes) != 1 {
			t.Errorf("%s: a re-executed step must report its write again, got %v", tt.name, res.Writes)
		}
		if tt.wantReused == "running" && len(res.Writes) != 0 {
			t.Errorf("%s: reusing wrote %v", tt.name, res.Writes)
		}
		if tt.wantReused == "same_step" && tt.key == "run1/start" && out["id"] != first["id"] {
			t.Errorf("%s: found %v, want %v", tt.name, out["id"], first["id"])
		}
	}
	if n := len(s.Tasks(otsb.TaskFilter{BusinessKey: "iconik:a1:v1"})); n != 2 {
		t.Errorf("instances with the business key have %d tasks, want 2 (the first start and the if_running: start one)", n)
	}
}

func TestStartProcessVariablesAndCallback(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	c := open(t, s.values(nil), "http://patchbay.example:8080")
	out := mustDo(t, c, "start_process", map[string]any{
		"definition_key": "media_review", "business_key": "bk-types", "callback": true,
		"variables": map[string]any{"reviewer_group": "media_reviewers", "count": 3, "big": float64(1 << 40), "ratio": 0.5,
			"flag": true, "meta": map[string]any{"a": []any{1, 2}}, "due": "2026-03-01T10:00:00Z"},
		"types": map[string]any{"due": "date"},
	}, "types/start")
	st, _ := s.Instance(out["id"].(string))
	want := map[string]string{"reviewer_group": "string", "count": "integer", "big": "long", "ratio": "double", "flag": "boolean",
		"meta": "json", "due": "date", "callback_url": "string", "callback_secret": "string"}
	for name, typ := range want {
		if st.VariableType[name] != typ {
			t.Errorf("variable %s: type %q, want %q", name, st.VariableType[name], typ)
		}
	}
	if st.Variables["callback_url"] != "http://patchbay.example:8080/hooks/ot/callback" || st.Variables["callback_secret"] != testCallbackSecret {
		t.Errorf("callback variables: %v %v", st.Variables["callback_url"], st.Variables["callback_secret"])
	}
	vars := out["variables"].(map[string]any)
	if _, ok := vars["callback_secret"]; ok {
		t.Errorf("callback_secret is in the output: %v", vars)
	}
	res, _ := do(t, c, "start_process", map[string]any{"definition_key": "media_review", "callback": true, "variables": reviewVars("x")}, "k")
	for _, w := range res.Writes {
		if strings.Contains(mustJSON(t, w), testCallbackSecret) {
			t.Errorf("the write record holds the callback secret: %s", mustJSON(t, w))
		}
	}
}

func TestProcessActions(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	c := open(t, s.values(nil), "")
	pid := mustDo(t, c, "start_process", map[string]any{"definition_key": "media_review", "business_key": "bk-proc", "variables": reviewVars("p1")}, "p/start")["id"].(string)

	got := mustDo(t, c, "get_process", map[string]any{"id": pid}, "")
	if got["state"] != "running" || got["definition_key"] != "media_review" || got["variables"].(map[string]any)["asset_id"] != "p1" {
		t.Fatalf("get running: %v", got)
	}
	set := mustDo(t, c, "set_variables", map[string]any{"id": pid, "variables": map[string]any{"round": 2, "note": "v2"}}, "p/set")
	if set["variables"].(map[string]any)["round"] != float64(2) {
		t.Errorf("set_variables: %v", set)
	}
	if st, _ := s.Instance(pid); st.Variables["note"] != "v2" {
		t.Errorf("variable not set: %v", st.Variables)
	}
	c1 := mustDo(t, c, "add_comment", map[string]any{"id": pid, "message": "please trim the intro"}, "p/c1")
	c2 := mustDo(t, c, "add_comment", map[string]any{"id": pid, "message": "please trim the intro"}, "p/c1")
	if c1["created"] != true || c2["created"] != false || c1["id"] != c2["id"] {
		t.Errorf("comment dedupe: %v then %v", c1, c2)
	}
	if st, _ := s.Instance(pid); len(st.Comments) != 1 {
		t.Errorf("comments: %v", st.Comments)
	}

	task := openTask(t, s, pid)
	if err := s.CompleteTask(task.ID, "reviewer@example.com", "rejected", "too long", nil); err != nil {
		t.Fatal(err)
	}
	ended := mustDo(t, c, "get_process", map[string]any{"id": pid}, "")
	v := ended["variables"].(map[string]any)
	if ended["state"] != "completed" || ended["ended_at"] == nil || v["outcome"] != "rejected" || v["reviewer"] != "reviewer@example.com" {
		t.Fatalf("get ended: %v", ended)
	}

	pid2 := mustDo(t, c, "start_process", map[string]any{"definition_key": "media_review", "business_key": "bk-term", "variables": reviewVars("p2")}, "p2/start")["id"].(string)
	t1 := mustDo(t, c, "terminate_process", map[string]any{"id": pid2, "reason": "asset deleted"}, "p2/term")
	t2 := mustDo(t, c, "terminate_process", map[string]any{"id": pid2, "reason": "asset deleted"}, "p2/term")
	if t1["terminated"] != true || t2["terminated"] != false || t2["state"] != "terminated" {
		t.Errorf("terminate twice: %v then %v", t1, t2)
	}
	if st, _ := s.Instance(pid2); st.Status != "terminated" {
		t.Errorf("status %s", st.Status)
	}
	if _, err := do(t, c, "terminate_process", map[string]any{"id": "nope"}, ""); !fault.Is(err, fault.NotFound) {
		t.Errorf("terminate unknown: %v", err)
	}
}

func TestTaskActions(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	// Acting as a person: the connection's user claims by default.
	c := open(t, s.values(map[string]any{"username": "approver@example.com", "password": "approver-password"}), "")
	pid := mustDo(t, c, "start_process", map[string]any{"definition_key": "media_review", "business_key": "bk-task", "variables": reviewVars("t1")}, "t/start")["id"].(string)

	list := mustDo(t, c, "list_tasks", map[string]any{"process_id": pid, "include_variables": true}, "")
	if list["count"] != 1 {
		t.Fatalf("list by process: %v", list)
	}
	task := list["tasks"].([]any)[0].(map[string]any)
	tid := task["id"].(string)
	if task["name"] != "Review media" || task["variables"].(map[string]any)["asset_id"] != "t1" ||
		len(task["candidate_groups"].([]any)) != 1 || task["candidate_groups"].([]any)[0] != "media_reviewers" {
		t.Fatalf("task: %v", task)
	}

	filters := []struct {
		name  string
		input map[string]any
		want  int
	}{
		{"business key", map[string]any{"business_key": "bk-task"}, 1},
		{"candidate group", map[string]any{"candidate_group": "media_reviewers", "business_key": "bk-task"}, 1},
		{"other group", map[string]any{"candidate_group": "editors", "business_key": "bk-task"}, 0},
		{"inbox of a reviewer", map[string]any{"candidate_or_assigned": "reviewer@example.com", "business_key": "bk-task"}, 1},
		{"inbox of an editor", map[string]any{"candidate_or_assigned": "editor@example.com", "business_key": "bk-task"}, 0},
		{"unassigned", map[string]any{"unassigned": true, "process_id": pid}, 1},
		{"name like", map[string]any{"name_like": "Review%", "process_id": pid}, 1},
		{"definition and all pages", map[string]any{"definition_key": "media_review", "count": 1, "all": true}, 4}, // 2 seeded + 1 + the conformance-free sandbox
	}
	for _, f := range filters {
		got := mustDo(t, c, "list_tasks", f.input, "")
		if f.name == "definition and all pages" {
			if got["count"].(int) < 3 || got["count"] != got["total"] {
				t.Errorf("%s: %v tasks of %v", f.name, got["count"], got["total"])
			}
			continue
		}
		if got["count"] != f.want {
			t.Errorf("%s: %v tasks, want %d", f.name, got["count"], f.want)
		}
	}
	if _, err := do(t, c, "list_tasks", map[string]any{"created_after": "yesterday"}, ""); !fault.Is(err, fault.Invalid) {
		t.Errorf("bad time: %v", err)
	}

	claim := mustDo(t, c, "claim_task", map[string]any{"id": tid}, "t/claim")
	if claim["assignee"] != "approver@example.com" {
		t.Errorf("claim: %v", claim)
	}
	mustDo(t, c, "claim_task", map[string]any{"id": tid}, "t/claim") // the same user again: fine
	if _, err := do(t, c, "claim_task", map[string]any{"id": tid, "assignee": "reviewer@example.com"}, ""); !fault.Is(err, fault.Conflict) {
		t.Errorf("claim by another: %v", err)
	}
	if _, err := do(t, c, "complete_task", map[string]any{"id": tid, "outcome": "maybe"}, ""); !fault.Is(err, fault.Invalid) {
		t.Errorf("complete with an outcome not offered: %v", err)
	}
	done := mustDo(t, c, "complete_task", map[string]any{"id": tid, "outcome": "approved", "variables": map[string]any{"comment": "fine"}}, "t/done")
	again := mustDo(t, c, "complete_task", map[string]any{"id": tid, "outcome": "approved"}, "t/done")
	if done["completed"] != true || again["completed"] != false || done["process_id"] != pid {
		t.Errorf("complete twice: %v then %v", done, again)
	}
	st, _ := s.Instance(pid)
	if st.Status != "completed" || st.Variables["outcome"] != "approved" || st.Variables["reviewer"] != "approver@example.com" || st.Variables["comment"] != "fine" {
		t.Errorf("instance after completion: %+v", st)
	}
	hist := mustDo(t, c, "get_task", map[string]any{"id": tid}, "")
	if hist["open"] != false || hist["completed_at"] == nil || hist["assignee"] != "approver@example.com" {
		t.Errorf("get ended task: %v", hist)
	}
	if _, err := do(t, c, "get_task", map[string]any{"id": "nope"}, ""); !fault.Is(err, fault.NotFound) {
		t.Errorf("get unknown task: %v", err)
	}
	if _, err := do(t, c, "complete_task", map[string]any{"id": "nope"}, ""); !fault.Is(err, fault.NotFound) {
		t.Errorf("complete unknown task: %v", err)
	}

	// complete_task with assignee claims an unclaimed task for that user first.
	pid2 := mustDo(t, c, "start_process", map[string]any{"definition_key": "media_review", "business_key": "bk-task2", "variables": reviewVars("t2")}, "t2/start")["id"].(string)
	tid2 := openTask(t, s, pid2).ID
	mustDo(t, c, "complete_task", map[string]any{"id": tid2, "outcome": "rejected", "assignee": "reviewer@example.com"}, "t2/done")
	if st, _ := s.Instance(pid2); st.Variables["reviewer"] != "reviewer@example.com" {
		t.Errorf("reviewer = %v", st.Variables["reviewer"])
	}
}

func TestDeployModel(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{})
	c := open(t, s.values(nil), "")
	first := mustDo(t, c, "deploy_model", map[string]any{"builtin": "media_review"}, "d1")
	second := mustDo(t, c, "deploy_model", map[string]any{"builtin": "media_review"}, "d2")
	if first["deployed"] != true || first["version"] != 1 || second["deployed"] != false || second["id"] != first["id"] {
		t.Fatalf("deploy twice: %v then %v", first, second)
	}
	forced := mustDo(t, c, "deploy_model", map[string]any{"builtin": "media_review", "if_changed": false}, "d3")
	if forced["version"] != 2 || !strings.HasPrefix(forced["definition_id"].(string), "media_review:2:") {
		t.Fatalf("forced: %v", forced)
	}
	// The .otwf file as an object deploys the same content: no new version.
	var otwf map[string]any
	mustUnmarshal(t, otsb.MediaReviewModel(), &otwf)
	same := mustDo(t, c, "deploy_model", map[string]any{"model": otwf}, "d4")
	if same["deployed"] != false || same["version"] != 2 {
		t.Fatalf("same model as object: %v", same)
	}
	xml := `<?xml version="1.0"?><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" targetNamespace="t">
  <process id="tiny" name="Tiny" isExecutable="true"><startEvent id="s"/><sequenceFlow id="f" sourceRef="s" targetRef="e"/><endEvent id="e"/></process></definitions>`
	x := mustDo(t, c, "deploy_model", map[string]any{"model_xml": xml}, "d5")
	if x["key"] != "tiny" || x["deployed"] != true {
		t.Fatalf("xml: %v", x)
	}
	if x2 := mustDo(t, c, "deploy_model", map[string]any{"model_xml": xml}, "d6"); x2["deployed"] != false {
		t.Errorf("xml again: %v", x2)
	}
	for _, bad := range []map[string]any{{}, {"builtin": "media_review", "model_xml": xml}, {"model": map[string]any{"x": 1}}, {"model_xml": "<x/>"}} {
		if _, err := do(t, c, "deploy_model", bad, ""); !fault.Is(err, fault.Invalid) {
			t.Errorf("deploy %v: %v", bad, err)
		}
	}
	res, _ := do(t, c, "deploy_model", map[string]any{"builtin": "media_review", "if_changed": false}, "d7")
	if len(res.Writes) != 1 || res.Writes[0].Object != "opentext:model/media_review" || res.Writes[0].Version != "3" {
		t.Errorf("writes: %+v", res.Writes)
	}
}

func TestBundledModelMatchesSandbox(t *testing.T) {
	t.Parallel()
	b, ok := opentext.BundledModel("media_review")
	if !ok || string(b) != string(otsb.MediaReviewModel()) {
		t.Fatal("internal/connector/opentext/models/media_review.otwf differs from the sandbox's copy; keep them equal")
	}
}

func TestSetupIsIdempotent(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{})
	c := open(t, s.values(map[string]any{"setup_models": []any{"media_review"}}), "")
	req := &connector.SetupRequest{HookURL: "https://patchbay.example/hooks/ot/", DryRun: true}
	dry, err := c.Setup(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Changes) != 1 || !strings.Contains(dry.Changes[0], "would deploy model media_review") || dry.Info["callback_url"] != "https://patchbay.example/hooks/ot/callback" {
		t.Fatalf("dry run: %+v", dry)
	}
	req.DryRun = false
	first, err := c.Setup(t.Context(), req)
	if err != nil || len(first.Changes) != 1 {
		t.Fatalf("setup: %+v %v", first, err)
	}
	again, err := c.Setup(t.Context(), req)
	if err != nil || len(again.Changes) != 0 || len(again.Info["definitions"].([]any)) != 1 {
		t.Fatalf("setup again: %+v %v", again, err)
	}
	bad := open(t, s.values(map[string]any{"client_secret": "wrong-secret"}), "")
	if _, err := bad.Setup(t.Context(), req); !fault.Is(err, fault.Unauthorized) {
		t.Errorf("wrong secret: %v", err)
	}
	if err := bad.Test(t.Context()); !fault.Is(err, fault.Unauthorized) {
		t.Errorf("Test with a wrong secret: %v", err)
	}
	if err := c.Test(t.Context()); err != nil {
		t.Errorf("Test: %v", err)
	}
}
