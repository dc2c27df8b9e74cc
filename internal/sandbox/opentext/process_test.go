package opentext

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

// startReview starts a media_review instance through the API.
func startReview(t *testing.T, c *client, businessKey string, extra ...any) instanceDTO {
	t.Helper()
	kv := append([]any{"asset_id", "asset-1", "version_id", "version-1", "title", "Teaser \"A\"", "reviewer_group", "media_reviewers"}, extra...)
	var in instanceDTO
	st := c.do(http.MethodPost, "/workflow/v1/process-instances", map[string]any{
		"processDefinitionKey": "media_review", "businessKey": businessKey, "variables": vars(kv...), "returnVariables": true,
	}, &in)
	if st != http.StatusCreated {
		t.Fatalf("start: status %d", st)
	}
	return in
}

func openTask(t *testing.T, c *client, instanceID string) taskDTO {
	t.Helper()
	var pg halPage[taskDTO]
	if st := c.do(http.MethodGet, "/workflow/v1/tasks?processInstanceId="+instanceID+"&includeProcessVariables=true&includeTaskAssignments=true", nil, &pg); st != http.StatusOK {
		t.Fatalf("list tasks: status %d", st)
	}
	tasks := pg.items("tasks")
	if len(tasks) != 1 {
		t.Fatalf("want 1 open task for %s, got %d", instanceID, len(tasks))
	}
	return tasks[0]
}

func TestMediaReviewApprovedThroughAPIPostsCallback(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{})
	c := newClient(t, s, ts)
	deployMediaReview(t, c)
	rc := newReceiver(t)
	in := startReview(t, c, "iconik:asset-1:version-1", "callback_url", rc.srv.URL+"/hooks/opentext", "callback_secret", "s3cret")
	if in.Ended || len(in.Variables) == 0 {
		t.Fatalf("instance after start: ended=%v variables=%d", in.Ended, len(in.Variables))
	}
	task := openTask(t, c, in.ID)
	if task.Name != "Review media" || len(task.Assignments) != 1 || *task.Assignments[0].Group != "media_reviewers" {
		t.Fatalf("task = %q, assignments %+v", task.Name, task.Assignments)
	}
	if st := c.do(http.MethodPost, "/workflow/v1/tasks/"+task.ID, map[string]any{"action": "claim", "assignee": "reviewer@example.com"}, nil); st != http.StatusOK {
		t.Fatalf("claim: %d", st)
	}
	if st := c.do(http.MethodPost, "/workflow/v1/tasks/"+task.ID, map[string]any{
		"action": "complete", "outcome": "approved", "variables": vars("comment", "Nice \"cut\"\nship it"),
	}, nil); st != http.StatusOK {
		t.Fatalf("complete: %d", st)
	}
	waitIdle(t, s)
	calls := rc.calls()
	if len(calls) != 1 {
		t.Fatalf("callbacks = %d, want 1", len(calls))
	}
	got := calls[0]
	if got.Header.Get("X-Callback-Secret") != "s3cret" || got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("callback headers = %v", got.Header)
	}
	want := map[string]any{
		"event": "media_review.completed", "processInstanceId": in.ID, "processDefinitionKey": "media_review",
		"businessKey": "iconik:asset-1:version-1", "outcome": "approved", "comment": "Nice \"cut\"\nship it",
		"reviewer": "reviewer@example.com", "asset_id": "asset-1", "version_id": "version-1",
	}
	for k, v := range want {
		if got.Body[k] != v {
			t.Errorf("callback %s = %v, want %v (raw %s)", k, got.Body[k], v, got.Raw)
		}
	}
	st, ok := s.Instance(in.ID)
	if !ok || st.Status != "completed" || st.Variables["outcome"] != "approved" || st.Variables["reviewer"] != "reviewer@example.com" {
		t.Fatalf("instance state = %+v", st)
	}
	// Ended instances leave the runtime API (ASSUMPTION, as Flowable) and show in history.
	if code := c.do(http.MethodGet, "/workflow/v1/process-instances/"+in.ID, nil, nil); code != http.StatusNotFound {
		t.Errorf("runtime GET of ended instance = %d, want 404", code)
	}
	var h historicInstanceDTO
	if code := c.do(http.MethodGet, "/workflow/v1/historic-process-instances/"+in.ID+"?includeProcessVariables=true", nil, &h); code != http.StatusOK {
		t.Fatalf("historic GET = %d", code)
	}
	if h.EndTime == nil || h.EndActivityID == nil || *h.EndActivityID != "endEvent1" || h.DeleteReason != nil {
		t.Errorf("historic instance = %+v", h)
	}
	hc := s.HTTPCalls()
	if len(hc) != 1 || !hc[0].Succeeded || hc[0].URL != rc.srv.URL+"/hooks/opentext" {
		t.Errorf("recorded HTTP calls = %+v", hc)
	}
}

func TestMediaReviewWithoutCallbackURLSkipsHTTPTask(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{})
	c := newClient(t, s, ts)
	deployMediaReview(t, c)
	in := startReview(t, c, "bk-no-callback")
	task := openTask(t, c, in.ID)
	if err := s.CompleteTask(task.ID, "approver@example.com", "rejected", "too dark", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	st, _ := s.Instance(in.ID)
	if st.Status != "completed" || st.Variables["outcome"] != "rejected" || st.Variables["comment"] != "too dark" || st.Variables["reviewer"] != "approver@example.com" {
		t.Fatalf("state = %+v", st)
	}
	if n := len(s.HTTPCalls()); n != 0 {
		t.Errorf("HTTP calls = %d, want 0", n)
	}
}

func TestCallbackRetriedUntilReceiverAccepts(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{HTTPAttempts: 3, HTTPRetryDelay: 10 * time.Second, TimeScale: 0.001})
	c := newClient(t, s, ts)
	deployStrictMediaReview(t, c)
	rc := newReceiver(t, http.StatusServiceUnavailable, http.StatusInternalServerError)
	in := startReview(t, c, "bk-retry", "callback_url", rc.srv.URL)
	task := openTask(t, c, in.ID)
	if err := s.CompleteTask(task.ID, "reviewer@example.com", "approved", "", nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ := s.Instance(in.ID)
		if st.Status == "completed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance did not complete: %+v calls %+v", st, s.HTTPCalls())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := len(rc.calls()); n != 3 {
		t.Errorf("receiver got %d attempts, want 3", n)
	}
	calls := s.HTTPCalls()
	if len(calls) != 3 || !calls[0].WillRetry || calls[0].Status != 503 || !calls[2].Succeeded {
		t.Errorf("HTTP call log = %+v", calls)
	}
}

func TestCallbackDeadLettersAfterAttempts(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{HTTPAttempts: 2, HTTPRetryDelay: time.Second, TimeScale: 0.001})
	c := newClient(t, s, ts)
	deployStrictMediaReview(t, c)
	rc := newReceiver(t, 500, 500, 500, 500)
	in := startReview(t, c, "bk-dead", "callback_url", rc.srv.URL)
	task := openTask(t, c, in.ID)
	if err := s.CompleteTask(task.ID, "reviewer@example.com", "approved", "", nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, _ := s.Instance(in.ID)
		if st.Incident != "" {
			if st.Status != "running" || len(st.Activities) != 1 || st.Activities[0] != "postCallback" {
				t.Errorf("dead-lettered instance = %+v", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no incident: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// An operator retries once the receiver is healthy again.
	rc.mu.Lock()
	rc.status = nil
	rc.mu.Unlock()
	if n := s.engine.RetryDeadJobs(in.ID); n != 1 {
		t.Fatalf("retried %d jobs", n)
	}
	waitIdle(t, s)
	if st, _ := s.Instance(in.ID); st.Status != "completed" {
		t.Fatalf("after retry: %+v", st)
	}
}

func TestManagerApprovalModelRunsAgainstCMSStub(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{Seed: true})
	c := newClient(t, s, ts)
	// A stand-in for the CMS the sample model patches.
	var patches []string
	cms := http.NewServeMux()
	cms.HandleFunc("PATCH /cms/instances/file/ca_contract/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		patches = append(patches, r.PathValue("id"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q,"update_time":"2025-01-01T00:00:00Z"}`, r.PathValue("id"))
	})
	cmsSrv := newHTTPServer(t, cms)
	run := func(name, outcome string) instanceDTO {
		var in instanceDTO
		if st := c.do(http.MethodPost, "/workflow/v1/process-instances", map[string]any{
			"processDefinitionKey": "manager_approval", "name": name,
			"variables": vars("base_url", cmsSrv.URL, "contract_id", name, "approver_role", "Line Manager", "approver_group", "line_managers", "approver", "reviewer@example.com"),
		}, &in); st != http.StatusCreated {
			t.Fatalf("start: %d", st)
		}
		waitIdle(t, s)
		if outcome == "" {
			return in
		}
		var pg halPage[taskDTO]
		c.do(http.MethodGet, "/workflow/v1/tasks?candidateOrAssigned=reviewer@example.com&processInstanceId="+in.ID, nil, &pg)
		if len(pg.items("tasks")) != 1 || pg.items("tasks")[0].Name != "Line Manager Approval" {
			t.Fatalf("tasks for line manager = %+v", pg.items("tasks"))
		}
		if st := c.do(http.MethodPost, "/workflow/v1/tasks/"+pg.items("tasks")[0].ID, map[string]any{"action": "complete", "outcome": outcome}, nil); st != http.StatusOK {
			t.Fatalf("complete: %d", st)
		}
		waitIdle(t, s)
		return in
	}
	approved := run("c-approved", "approved")
	st, _ := s.Instance(approved.ID)
	if st.Status != "completed" || st.Variables["approvalStatus"] != "approved" {
		t.Fatalf("approved instance = %+v", st)
	}
	if len(patches) != 2 {
		t.Errorf("CMS patches = %v, want 2", patches)
	}
	// The PT5M boundary timer expires the approval (scaled by TimeScale).
	expired := run("c-expired", "")
	if n := s.FireTimers(expired.ID); n != 1 {
		t.Fatalf("fired %d timers", n)
	}
	waitIdle(t, s)
	st, _ = s.Instance(expired.ID)
	if st.Status != "completed" || st.Variables["approvalStatus"] != "expired" {
		t.Fatalf("expired instance = %+v", st)
	}
	tasks := s.Tasks(TaskFilter{InstanceID: expired.ID})
	if len(tasks) != 1 || tasks[0].Open || !strings.HasPrefix(tasks[0].DeleteReason, "boundary event") {
		t.Errorf("expired task = %+v", tasks)
	}
}

func newHTTPServer(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func TestThousandInstancesPagedThroughHistory(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{})
	c := newClient(t, s, ts)
	deployMediaReview(t, c)
	ids, err := s.StartInstances("media_review", 1000, func(i int) (string, map[string]any) {
		return fmt.Sprintf("bk-%04d", i), map[string]any{"reviewer_group": "media_reviewers", "asset_id": fmt.Sprintf("a-%d", i)}
	})
	if err != nil || len(ids) != 1000 {
		t.Fatalf("StartInstances: %d, %v", len(ids), err)
	}
	cursor := time.Now().UTC().Add(-time.Minute)
	for _, task := range s.Tasks(TaskFilter{DefinitionKey: "media_review", OpenOnly: true}) {
		if err := s.CompleteTask(task.ID, "reviewer@example.com", "approved", "", nil); err != nil {
			t.Fatal(err)
		}
	}
	waitIdle(t, s)
	seen := map[string]bool{}
	calls := 0
	for offset := 0; ; offset += 200 {
		var pg halPage[historicInstanceDTO]
		path := fmt.Sprintf("/workflow/v1/historic-process-instances?processDefinitionKey=media_review&finished=true&finishedAfter=%s&sort=endTime&order=asc&offset=%d&count=200",
			cursor.Format("2006-01-02T15:04:05.000Z"), offset)
		c.noValidate = offset > 0 // one page validated is enough
		if st := c.do(http.MethodGet, path, nil, &pg); st != http.StatusOK {
			t.Fatalf("page %d: %d", offset, st)
		}
		calls++
		for _, h := range pg.items("historic-process-instances") {
			seen[h.ID] = true
		}
		if pg.Page.TotalElements != 1000 {
			t.Fatalf("totalElements = %d", pg.Page.TotalElements)
		}
		if _, ok := pg.Links["next"]; !ok {
			break
		}
	}
	if len(seen) != 1000 || calls != 5 {
		t.Fatalf("saw %d instances in %d calls", len(seen), calls)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "opentext.json")
	s1, err := New(Options{Seed: true, SnapshotPath: path, Kit: kit.Options{Rate: -1}})
	if err != nil {
		t.Fatal(err)
	}
	tok := s1.IssueToken("")
	tasks := s1.Tasks(TaskFilter{OpenOnly: true})
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := New(Options{Seed: true, SnapshotPath: path, Kit: kit.Options{Rate: -1}})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := s2.Tasks(TaskFilter{OpenOnly: true}); len(got) != len(tasks) || got[0].ID != tasks[0].ID {
		t.Fatalf("tasks after reload = %+v, want %+v", got, tasks)
	}
	if err := s2.CompleteTask(tasks[0].ID, "reviewer@example.com", "approved", "", nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s2.WaitIdle(ctx)
	if st, _ := s2.Instance(tasks[0].InstanceID); st.Status != "completed" {
		t.Errorf("reloaded instance did not complete: %+v", st)
	}
	req, _ := http.NewRequest(http.MethodGet, "/workflow/v1/tasks", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	s2.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("token from before the restart: %d", rec.Code)
	}
}
