package opentext

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
)

func TestAdminEndpoints(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{Seed: true, SnapshotPath: filepath.Join(t.TempDir(), "snap.json")})
	post := func(path string, body any) *http.Response {
		t.Helper()
		b, _ := json.Marshal(body)
		resp, err := http.Post(ts.URL+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	get := func(path string, out any) int {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			_ = json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	var tasks []TaskState
	if get("/_sandbox/opentext/tasks?open=true", &tasks) != 200 || len(tasks) != 2 || !tasks[0].Approval || len(tasks[0].PossibleOutcomes) != 2 {
		t.Fatalf("open tasks = %+v", tasks)
	}
	if r := post("/_sandbox/opentext/tasks/"+tasks[0].ID+"/complete", map[string]any{"user": "reviewer@example.com", "outcome": "approved", "comment": "ok"}); r.StatusCode != 204 {
		t.Fatalf("complete: %d", r.StatusCode)
	}
	if r := post("/_sandbox/opentext/tasks/"+tasks[0].ID+"/complete", map[string]any{"user": "reviewer@example.com", "outcome": "approved"}); r.StatusCode != 404 {
		t.Fatalf("complete twice: %d", r.StatusCode)
	}
	if r := post("/_sandbox/opentext/idle", nil); r.StatusCode != 204 {
		t.Fatalf("idle: %d", r.StatusCode)
	}
	var st InstanceState
	if get("/_sandbox/opentext/instances/"+tasks[0].InstanceID, &st) != 200 || st.Status != "completed" || st.Variables["comment"] != "ok" {
		t.Fatalf("instance = %+v", st)
	}
	var models map[string]any
	get("/_sandbox/opentext/models", &models)
	if skipped, _ := models["seed_skipped"].(map[string]any); len(skipped) != 1 || skipped["contract_approval"] == nil {
		t.Errorf("seed_skipped = %v", models["seed_skipped"])
	}
	var fired map[string]int
	r := post("/_sandbox/opentext/timers/fire", nil)
	_ = json.NewDecoder(r.Body).Decode(&fired)
	if fired["fired"] != 0 {
		t.Errorf("fired = %v (media_review has no timers)", fired)
	}
	var calls []any
	if get("/_sandbox/opentext/http-calls", &calls) != 200 || len(calls) != 0 {
		t.Errorf("http calls = %v", calls)
	}
	if r := post("/_sandbox/snapshot", nil); r.StatusCode != 204 {
		t.Errorf("snapshot: %d", r.StatusCode)
	}
	if get("/sandbox/opentext", nil) != 200 { // redirect followed to the inbox
		t.Errorf("inbox root")
	}
	_ = s
}
