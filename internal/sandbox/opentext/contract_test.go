package opentext

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Contract tests: every implemented endpoint is called with the documented
// request and its response is validated against testdata/openapi.yaml,
// the description written from ../shared/apis/opentext-workflow.md
// (OpenText publishes no OpenAPI schema; the client helper validates each
// response). Requests taken from OpenText's own Postman collections are
// replayed in TestPostmanCollectionRequests.

func TestEndpointsMatchDocumentedShapes(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{Seed: true})
	c := newClient(t, s, ts)
	model := deployMediaReview(t, c)
	if model.Version != 2 {
		t.Errorf("redeploying media_review gave version %d, want 2 (seed deployed version 1)", model.Version)
	}
	in := startReview(t, c, "bk-contract")
	task := openTask(t, c, in.ID)
	var comment commentDTO
	ids := map[string]string{}
	tests := []struct {
		name       string
		method     string
		path       string
		body       any
		wantStatus int
		out        any
		// unrouted paths are not in the schema; their body is checked by hand
		unrouted bool
	}{
		{name: "list models", method: "GET", path: "/workflow/v1/runtime/models", wantStatus: 200},
		{name: "get model by key (Postman)", method: "GET", path: "/workflow/v1/runtime/models?modelType=json&key=media_review", wantStatus: 200},
		{name: "latest versions only", method: "GET", path: "/workflow/v1/runtime/models?latestVersion=true&sort=key&order=desc", wantStatus: 200},
		{name: "get model by id", method: "GET", path: "/workflow/v1/runtime/models/" + model.ID + "?modelType=json", wantStatus: 200},
		{name: "unknown model", method: "GET", path: "/workflow/v1/runtime/models/nope", wantStatus: 404},
		{name: "list instances by key", method: "GET", path: "/workflow/v1/process-instances?processDefinitionKey=media_review&includeProcessVariables=true&sort=startTime&order=desc&offset=0&count=2", wantStatus: 200},
		{name: "list instances by business key", method: "GET", path: "/workflow/v1/process-instances?businessKey=bk-contract", wantStatus: 200},
		{name: "list suspended instances (none)", method: "GET", path: "/workflow/v1/process-instances?suspended=true", wantStatus: 200},
		{name: "get instance", method: "GET", path: "/workflow/v1/process-instances/" + in.ID + "?includeProcessVariables=true", wantStatus: 200},
		{name: "set variables", method: "POST", path: "/workflow/v1/process-instances/" + in.ID + "/variables", body: []map[string]any{
			{"name": "priority", "value": 3, "type": "integer"}, {"name": "meta", "value": map[string]any{"a": 1}}, {"name": "due", "value": "2025-06-01T10:00:00Z", "type": "date"}}, wantStatus: 201},
		{name: "bad variable type", method: "POST", path: "/workflow/v1/process-instances/" + in.ID + "/variables", body: []map[string]any{{"name": "x", "value": "abc", "type": "integer"}}, wantStatus: 400},
		{name: "get variables", method: "GET", path: "/workflow/v1/process-instances/" + in.ID + "/variables", wantStatus: 200},
		{name: "put variable", method: "PUT", path: "/workflow/v1/process-instances/" + in.ID + "/variables/title", body: map[string]any{"name": "title", "value": "New title", "type": "string"}, wantStatus: 200},
		{name: "get variable", method: "GET", path: "/workflow/v1/process-instances/" + in.ID + "/variables/title", wantStatus: 200},
		{name: "delete variable", method: "DELETE", path: "/workflow/v1/process-instances/" + in.ID + "/variables/priority", wantStatus: 204},
		{name: "missing variable", method: "GET", path: "/workflow/v1/process-instances/" + in.ID + "/variables/priority", wantStatus: 404},
		{name: "add comment", method: "POST", path: "/workflow/v1/process-instances/" + in.ID + "/comments", body: map[string]any{"message": "Please look at 00:42"}, wantStatus: 201, out: &comment},
		{name: "list comments", method: "GET", path: "/workflow/v1/process-instances/" + in.ID + "/comments", wantStatus: 200},
		{name: "list tasks (Postman)", method: "GET", path: "/workflow/v1/tasks?sort=createTime&order=desc&includeProcessVariables=true", wantStatus: 200},
		{name: "inbox query of the sample app", method: "GET", path: "/workflow/v1/tasks?sort=createTime&order=desc&name=Review%20media&candidateOrAssigned=reviewer@example.com&includeProcessVariables=true&offset=0", wantStatus: 200},
		{name: "tasks by candidate group", method: "GET", path: "/workflow/v1/tasks?candidateGroup=media_reviewers&includeTaskAssignments=true&includeTaskComments=true", wantStatus: 200},
		{name: "tasks by key and assignee (none)", method: "GET", path: "/workflow/v1/tasks?processDefinitionKey=media_review&assignee=nobody@example.com", wantStatus: 200},
		{name: "tasks bad sort", method: "GET", path: "/workflow/v1/tasks?sort=color", wantStatus: 400},
		{name: "get task", method: "GET", path: "/workflow/v1/tasks/" + task.ID + "?includeProcessVariables=true&includeTaskComments=true&includeTaskAssignments=true", wantStatus: 200},
		{name: "update task", method: "PUT", path: "/workflow/v1/tasks/" + task.ID, body: map[string]any{"priority": 80, "dueDate": "2030-01-01T00:00:00.000Z"}, wantStatus: 200},
		{name: "claim", method: "POST", path: "/workflow/v1/tasks/" + task.ID, body: map[string]any{"action": "claim", "assignee": "reviewer@example.com"}, wantStatus: 200},
		{name: "claim by someone else conflicts", method: "POST", path: "/workflow/v1/tasks/" + task.ID, body: map[string]any{"action": "claim", "assignee": "editor@example.com"}, wantStatus: 409},
		{name: "complete without outcome", method: "POST", path: "/workflow/v1/tasks/" + task.ID, body: map[string]any{"action": "complete"}, wantStatus: 400},
		{name: "complete with unknown outcome", method: "POST", path: "/workflow/v1/tasks/" + task.ID, body: map[string]any{"action": "complete", "outcome": "maybe"}, wantStatus: 400},
		{name: "unknown action", method: "POST", path: "/workflow/v1/tasks/" + task.ID, body: map[string]any{"action": "dance"}, wantStatus: 400},
		{name: "suspend", method: "PUT", path: "/workflow/v1/process-instances/" + in.ID, body: map[string]any{"action": "suspend"}, wantStatus: 200},
		{name: "complete while suspended", method: "POST", path: "/workflow/v1/tasks/" + task.ID, body: map[string]any{"action": "complete", "outcome": "approved"}, wantStatus: 409},
		{name: "activate", method: "PUT", path: "/workflow/v1/process-instances/" + in.ID, body: map[string]any{"action": "activate"}, wantStatus: 200},
		{name: "complete (documented body)", method: "POST", path: "/workflow/v1/tasks/" + task.ID, body: map[string]any{"action": "complete", "outcome": "rejected", "variables": vars("comment", "wrong logo", "approver", "reviewer@example.com")}, wantStatus: 200},
		{name: "completed task is gone", method: "GET", path: "/workflow/v1/tasks/" + task.ID, wantStatus: 404},
		{name: "historic instances finished", method: "GET", path: "/workflow/v1/historic-process-instances?finished=true&finishedAfter=2000-01-01T00:00:00.000Z&sort=endTime&order=asc&includeProcessVariables=true", wantStatus: 200},
		{name: "historic instances by business key", method: "GET", path: "/workflow/v1/historic-process-instances?businessKey=bk-contract&processDefinitionKey=media_review", wantStatus: 200},
		{name: "historic instance", method: "GET", path: "/workflow/v1/historic-process-instances/" + in.ID, wantStatus: 200},
		{name: "historic tasks of instance", method: "GET", path: "/workflow/v1/historic-task-instances?processInstanceId=" + in.ID + "&finished=true&includeProcessVariables=true", wantStatus: 200},
		{name: "historic tasks completed after", method: "GET", path: "/workflow/v1/historic-task-instances?taskCompletedAfter=2000-01-01T00:00:00Z&sort=endTime&order=desc", wantStatus: 200},
		{name: "historic task", method: "GET", path: "/workflow/v1/historic-task-instances/" + task.ID, wantStatus: 200},
		{name: "historic bad date", method: "GET", path: "/workflow/v1/historic-process-instances?finishedAfter=yesterday", wantStatus: 400},
		{name: "ended instance leaves runtime", method: "GET", path: "/workflow/v1/process-instances/" + in.ID, wantStatus: 404},
		{name: "start without definition", method: "POST", path: "/workflow/v1/process-instances", body: map[string]any{"businessKey": "x"}, wantStatus: 400},
		{name: "start unknown key", method: "POST", path: "/workflow/v1/process-instances", body: map[string]any{"processDefinitionKey": "nope"}, wantStatus: 400},
		{name: "start by model id", method: "POST", path: "/workflow/v1/process-instances", body: map[string]any{"processDefinitionId": model.ID, "variables": vars("reviewer_group", "g")}, wantStatus: 201},
		{name: "start without a required variable fails in the model", method: "POST", path: "/workflow/v1/process-instances", body: map[string]any{"processDefinitionKey": "media_review"}, wantStatus: 500},
		{name: "unknown path", method: "GET", path: "/workflow/v1/nothing-here", wantStatus: 404, unrouted: true},
		{name: "wrong method", method: "PATCH", path: "/workflow/v1/tasks", wantStatus: 405, unrouted: true},
	}
	for _, tc := range tests {
		// Sequential on purpose: later calls depend on earlier ones.
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			out := tc.out
			var e errorInfo
			if tc.unrouted {
				c.noValidate, out = true, &e
				defer func() { c.noValidate = false }()
			}
			if st := c.do(tc.method, tc.path, tc.body, out); st != tc.wantStatus {
				t.Errorf("status = %d, want %d", st, tc.wantStatus)
			}
			if tc.unrouted && (e.Message == "" || e.Exception == "") {
				t.Errorf("error body = %+v", e)
			}
		})
	}
	c.t = t
	ids["comment"] = comment.ID
	if comment.Author == nil || *comment.Author != s.Credentials()["client_id"] {
		t.Errorf("comment author = %v", comment.Author)
	}
	var got commentDTO
	if st := c.do("GET", "/workflow/v1/process-instances/"+in.ID+"/comments/"+ids["comment"], nil, &got); st != 200 || got.Message != "Please look at 00:42" {
		t.Errorf("get comment: %d %+v", st, got)
	}
	if st := c.do("DELETE", "/workflow/v1/process-instances/"+in.ID+"/comments/"+ids["comment"], nil, nil); st != 204 {
		t.Errorf("delete comment: %d", st)
	}
}

func TestErrorBodiesAndContentTypes(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{Seed: true})
	c := newClient(t, s, ts)
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/workflow/v1/process-instances", strings.NewReader("processDefinitionKey=media_review"))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e errorInfo
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusUnsupportedMediaType || e.Exception == "" {
		t.Errorf("text/plain body: %d %+v", resp.StatusCode, e)
	}
	var e2 errorInfo
	if st := c.do(http.MethodPost, "/workflow/v1/process-instances", map[string]any{"processDefinitionKey": "media_review"}, &e2); st != 500 ||
		e2.Exception != "Unknown property used in expression: ${reviewer_group}" || e2.Message != "Internal server error" {
		t.Errorf("model failure: %d %+v", st, e2)
	}
	// A failed start leaves nothing behind.
	var pg halPage[instanceDTO]
	c.do(http.MethodGet, "/workflow/v1/process-instances?count=100", nil, &pg)
	if n := len(pg.items("process-instances")); n != 2 {
		t.Errorf("running instances after a failed start = %d, want the 2 seeded", n)
	}
	// Spring HATEOAS omits _embedded on an empty page (ASSUMPTION).
	var raw map[string]any
	c.do(http.MethodGet, "/workflow/v1/tasks?assignee=nobody", nil, &raw)
	if _, ok := raw["_embedded"]; ok {
		t.Errorf("empty page has _embedded: %v", raw)
	}
}

func TestDeployModelForms(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{})
	c := newClient(t, s, ts)
	xmlModel := `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:workflow="http://workflow.opentext.com" targetNamespace="patchbay">
  <process id="xml_review" name="XML review" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <userTask id="review" name="Review ${title}" workflow:candidateGroups="${group}" workflow:taskType="approval" workflow:outcomeVariable="decision" workflow:possibleOutcomes="Approve:approved,Reject:rejected"/>
    <sequenceFlow id="f2" sourceRef="review" targetRef="gw"/>
    <exclusiveGateway id="gw" default="f4"/>
    <sequenceFlow id="f3" sourceRef="gw" targetRef="approvedEnd"><conditionExpression>${decision == 'approved'}</conditionExpression></sequenceFlow>
    <sequenceFlow id="f4" sourceRef="gw" targetRef="rejectedEnd"/>
    <endEvent id="approvedEnd"/>
    <endEvent id="rejectedEnd"/>
  </process>
</definitions>`
	tests := []struct {
		name       string
		body       map[string]any
		wantStatus int
		wantKey    string
		wantErr    string
	}{
		{name: "xml plain text", body: map[string]any{"modelType": "xml", "modelContent": xmlModel}, wantStatus: 201, wantKey: "xml_review"},
		{name: "ASSUMPTION xml base64-encoded", body: map[string]any{"modelType": "xml", "modelContent": base64.StdEncoding.EncodeToString([]byte(xmlModel))}, wantStatus: 201, wantKey: "xml_review"},
		{name: "json as a whole .otwf file", body: map[string]any{"modelType": "json", "modelContent": json.RawMessage(MediaReviewModel())}, wantStatus: 201, wantKey: "media_review"},
		{name: "json as a string", body: map[string]any{"modelType": "json", "modelContent": string(MediaReviewModel())}, wantStatus: 201, wantKey: "media_review"},
		{name: "missing type", body: map[string]any{"modelContent": xmlModel}, wantStatus: 400, wantErr: "modelType is required"},
		{name: "unsupported element named", body: map[string]any{"modelType": "xml", "modelContent": strings.Replace(xmlModel, `<endEvent id="rejectedEnd"/>`, `<endEvent id="rejectedEnd"><errorEventDefinition/></endEvent>`, 1)}, wantStatus: 400, wantErr: "unsupported element endEvent (id rejectedEnd)"},
		{name: "service task class named", body: map[string]any{"modelType": "xml", "modelContent": strings.Replace(xmlModel, `<endEvent id="rejectedEnd"/>`, `<serviceTask id="java" name="Java"/><sequenceFlow id="f9" sourceRef="java" targetRef="approvedEnd"/><endEvent id="rejectedEnd"/>`, 1)}, wantStatus: 400, wantErr: `serviceTask "Java" (id java)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			var out map[string]any
			st := c.do(http.MethodPost, "/workflow/v1/runtime/models", tc.body, &out)
			if st != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %v", st, tc.wantStatus, out)
			}
			if tc.wantKey != "" && out["key"] != tc.wantKey {
				t.Errorf("key = %v", out["key"])
			}
			if tc.wantErr != "" && !strings.Contains(out["exception"].(string), tc.wantErr) {
				t.Errorf("exception = %v, want it to contain %q", out["exception"], tc.wantErr)
			}
		})
	}
	c.t = t
	// The XML model runs: an approval outcome drives the gateway.
	id, err := s.StartInstance("xml_review", "bk", map[string]any{"title": "clip", "group": "editors"})
	if err != nil {
		t.Fatal(err)
	}
	tasks := s.Tasks(TaskFilter{InstanceID: id})
	if len(tasks) != 1 || tasks[0].Name != "Review clip" || tasks[0].CandidateGroups[0] != "editors" {
		t.Fatalf("tasks = %+v", tasks)
	}
	if err := s.CompleteTask(tasks[0].ID, "editor@example.com", "approved", "", nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Instance(id); st.EndActivity != "approvedEnd" || st.Variables["decision"] != "approved" {
		t.Errorf("instance = %+v", st)
	}
	// Deleting a model with running instances needs cascade.
	var pg halPage[modelDTO]
	c.do(http.MethodGet, "/workflow/v1/runtime/models?key=media_review&latestVersion=true", nil, &pg)
	mid := pg.items("models")[0].ID
	if _, err := s.StartInstance("media_review", "x", map[string]any{"reviewer_group": "g"}); err != nil {
		t.Fatal(err)
	}
	if st := c.do(http.MethodDelete, "/workflow/v1/runtime/models/"+mid, nil, nil); st != 409 {
		t.Errorf("delete with running instances = %d, want 409", st)
	}
	if st := c.do(http.MethodDelete, "/workflow/v1/runtime/models/"+mid+"?cascade=true", nil, nil); st != 204 {
		t.Errorf("cascade delete = %d", st)
	}
}

// TestPostmanCollectionRequests replays the workflow requests of OpenText's
// own Postman collections (../shared/apis/specs/opentext) against the sandbox.
func TestPostmanCollectionRequests(t *testing.T) {
	t.Parallel()
	specs := specsDir(t)
	s, ts := newServer(t, Options{Seed: true})
	cred := s.Credentials()
	env := map[string]string{
		"{{workflow_service_url}}": ts.URL + "/workflow/v1", "{{base_url}}": ts.URL, "{{apigee_host}}": ts.URL,
		"{{auth_service_url}}": ts.URL + "/tenants/" + cred["tenant_id"], "{{tenant_id}}": cred["tenant_id"],
		"{{client_id}}": cred["client_id"], "{{client_secret}}": cred["client_secret"],
		"{{username}}": cred["username"], "{{password}}": cred["password"],
	}
	type item struct {
		Name    string `json:"name"`
		Item    []item `json:"item"`
		Request *struct {
			Method string `json:"method"`
			Header []struct{ Key, Value string }
			Body   struct{ Raw string } `json:"body"`
			URL    json.RawMessage      `json:"url"`
		} `json:"request"`
	}
	var token string
	for _, file := range []string{"Cloud-Developer-Tutorial.postman_collection.json", "IMaaS-Developer-Tutorial.postman_collection.json", "devx-contract-approval-demo-setup.postman_collection.json"} {
		b, err := os.ReadFile(filepath.Join(specs, "opentext", file))
		if err != nil {
			t.Fatal(err)
		}
		var coll struct{ Item []item }
		if err := json.Unmarshal(b, &coll); err != nil {
			t.Fatal(err)
		}
		// Like a Postman user, run the token request before the others.
		var walk func([]item, bool)
		walk = func(items []item, tokens bool) {
			for _, it := range items {
				walk(it.Item, tokens)
				if it.Request == nil {
					continue
				}
				var raw string
				var u struct{ Raw string }
				if json.Unmarshal(it.Request.URL, &u) == nil && u.Raw != "" {
					raw = u.Raw
				} else {
					_ = json.Unmarshal(it.Request.URL, &raw)
				}
				if !strings.Contains(raw, "workflow") && !strings.Contains(raw, "oauth2/token") {
					continue
				}
				if strings.Contains(raw, "oauth2/token") != tokens {
					continue
				}
				t.Run(file+"/"+it.Name, func(t *testing.T) {
					url := raw
					body := it.Request.Body.Raw
					for k, v := range env {
						url = strings.ReplaceAll(url, k, v)
						body = strings.ReplaceAll(body, k, v)
					}
					body = strings.ReplaceAll(body, "{{access_token}}", token)
					method := it.Request.Method
					want := http.StatusOK
					switch {
					case method == http.MethodPost && strings.Contains(url, "runtime/models"):
						want = http.StatusCreated
					case method == http.MethodDelete:
						// The collections delete model ids from their authors' tenants.
						want = http.StatusNotFound
					}
					req, _ := http.NewRequest(method, url, strings.NewReader(body))
					for _, h := range it.Request.Header {
						req.Header.Set(h.Key, strings.ReplaceAll(h.Value, "{{access_token}}", token))
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					var data json.RawMessage
					_ = json.NewDecoder(resp.Body).Decode(&data)
					validateResponse(t, req, resp, data)
					if strings.Contains(url, "oauth2/token") {
						var tok tokenResponse
						_ = json.Unmarshal(data, &tok)
						token = tok.AccessToken
					}
					if resp.StatusCode != want {
						t.Errorf("%s %s = %d, want %d: %s", method, url, resp.StatusCode, want, data)
					}
				})
			}
		}
		walk(coll.Item, true)
		walk(coll.Item, false)
	}
}

// TestRealModelsDeploy deploys OpenText's sample models from ../shared.
func TestRealModelsDeploy(t *testing.T) {
	t.Parallel()
	specs := specsDir(t)
	s, ts := newServer(t, Options{})
	c := newClient(t, s, ts)
	tests := []struct {
		file    string
		wantErr string
	}{
		{file: "manager_approval.otwf"},
		{file: "solvency_check.otwf"},
		{file: "contract_approval.otwf", wantErr: `unsupported element HttpTask "Get required approvals"`},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			c.t = t
			b, err := os.ReadFile(filepath.Join(specs, "opentext", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var f struct{ Data json.RawMessage }
			_ = json.Unmarshal(b, &f)
			var out map[string]any
			st := c.do(http.MethodPost, "/workflow/v1/runtime/models", map[string]any{"modelType": "json", "modelContent": f.Data}, &out)
			if tc.wantErr == "" && st != 201 {
				t.Fatalf("deploy = %d %v", st, out)
			}
			if tc.wantErr != "" && (st != 400 || !strings.Contains(out["exception"].(string), tc.wantErr)) {
				t.Fatalf("deploy = %d %v, want 400 containing %q", st, out, tc.wantErr)
			}
		})
	}
}
