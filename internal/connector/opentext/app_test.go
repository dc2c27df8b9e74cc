package opentext_test

// End-to-end tests: a real patchbay (internal/app on SQLite and River) runs
// flows against the OpenText sandbox; the test plays the reviewer.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/app/apptest"
	otsb "github.com/patchbay/patchbay/internal/sandbox/opentext"
	"github.com/patchbay/patchbay/internal/store"
)

func startApp(t *testing.T, cfg app.Config) *app.App {
	cfg.APIToken = "test-token"
	return apptest.Start(t, cfg)
}

var waitFor = apptest.WaitFor

// reviewFlow starts a media_review process, waits for it on both triggers,
// then reads the process and comments on it (two more calls with the
// connection's token).
const reviewFlow = `
name: media-review
params:
  asset_id: { type: string, required: true }
  callback: { type: bool, default: true }
connections:
  ot: opentext
trigger:
  on: manual
steps:
  - id: start
    action: ot.start_process
    input:
      definition_key: media_review
      business_key: ${{ "iconik:" + params.asset_id + ":v1" }}
      callback: ${{ params.callback }}
      variables:
        reviewer_group: media_reviewers
        asset_id: ${{ params.asset_id }}
        version_id: v1
        title: Trailer
  - id: review
    wait:
      for: [ot.callback, ot.process_events]
      key: ${{ "opentext:process/" + steps.start.output.id }}
      timeout: 1h
  - id: final
    action: ot.get_process
    input:
      id: ${{ steps.start.output.id }}
  - id: note
    action: ot.add_comment
    input:
      id: ${{ steps.start.output.id }}
      message: '${{ "patchbay: review " + steps.review.output.data.outcome }}'
output:
  outcome: ${{ steps.review.output.data.outcome }}
  reviewer: ${{ steps.review.output.data.reviewer }}
  comment: ${{ steps.review.output.data.comment }}
  via: ${{ steps.review.output.trigger }}
  state: ${{ steps.final.output.state }}
`

// reviewApp starts patchbay with the opentext connection "opentext" and
// the review flow. reconcile is how often pollers are re-derived from the
// waiting runs (long: no River poller runs and the test polls by hand).
func reviewApp(t *testing.T, s *sandbox, reconcile time.Duration, extra map[string]any) *app.App {
	t.Helper()
	a := startApp(t, app.Config{ReconcileEvery: reconcile})
	ctx := context.Background()
	if err := a.PutConnection(ctx, "opentext", "opentext", s.values(extra), "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyFlow(ctx, "media-review.yaml", []byte(reviewFlow), "test"); err != nil {
		t.Fatal(err)
	}
	return a
}

func runStatus(t *testing.T, a *app.App, id string) *app.RunDetail {
	t.Helper()
	d, err := a.GetRun(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// waitForStatus waits for a run to reach status, failing early if it fails.
func waitForStatus(t *testing.T, a *app.App, id, status string, d time.Duration) *app.RunDetail {
	t.Helper()
	var last *app.RunDetail
	waitFor(t, "run "+id+" to be "+status, d, func() bool {
		last = runStatus(t, a, id)
		if last.Status == store.RunFailed && status != store.RunFailed {
			t.Fatalf("run failed: %+v", last.Error)
		}
		return last.Status == status
	})
	return last
}

// processOf returns the process a waiting run started.
func processOf(t *testing.T, d *app.RunDetail) string {
	t.Helper()
	for _, s := range d.Steps {
		if s.Step == "start" && s.Status == "succeeded" {
			var out map[string]any
			mustUnmarshal(t, s.Output, &out)
			return out["id"].(string)
		}
	}
	t.Fatalf("no start step in %+v", d.Steps)
	return ""
}

// approveViaAPI plays the reviewer through the sandbox's REST API: find the
// task, claim it, complete it with outcome approved.
func approveViaAPI(t *testing.T, s *sandbox, pid, user string) {
	t.Helper()
	tok := s.IssueToken(user)
	call := func(method, path string, body any, out any) {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(method, s.URL+"/workflow/v1"+path, rd)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
		}
		if out != nil {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				t.Fatal(err)
			}
		}
	}
	var list struct {
		Embedded struct {
			Tasks []struct {
				ID string `json:"id"`
			} `json:"tasks"`
		} `json:"_embedded"`
	}
	call("GET", "/tasks?processInstanceId="+pid, nil, &list)
	if len(list.Embedded.Tasks) != 1 {
		t.Fatalf("tasks of %s: %+v", pid, list)
	}
	id := list.Embedded.Tasks[0].ID
	call("POST", "/tasks/"+id, map[string]any{"action": "claim", "assignee": user}, nil)
	call("POST", "/tasks/"+id, map[string]any{"action": "complete", "outcome": "approved",
		"variables": []any{map[string]any{"name": "comment", "value": "looks good"}}}, nil)
}

func output(t *testing.T, d *app.RunDetail) map[string]any {
	t.Helper()
	var out map[string]any
	mustUnmarshal(t, d.Output, &out)
	return out
}

// noFailedSteps checks every step record succeeded at its first attempt
// (waits show as waiting then succeeded).
func noFailedSteps(t *testing.T, d *app.RunDetail) {
	t.Helper()
	for _, s := range d.Steps {
		if s.Status == "failed" || s.Attempt > 1 || s.Error != "" {
			t.Errorf("step %s: status %s attempt %d error %q", s.Step, s.Status, s.Attempt, s.Error)
		}
	}
}

func TestAppReviewResumedByCallback(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	a := reviewApp(t, s, time.Hour, nil) // no poller runs: only the callback can resume the run
	ctx := context.Background()
	id, err := a.StartRun(ctx, "media-review", map[string]any{"asset_id": "A1"})
	if err != nil {
		t.Fatal(err)
	}
	d := waitForStatus(t, a, id, store.RunWaiting, 15*time.Second)
	pid := processOf(t, d)
	st, _ := s.Instance(pid)
	if want := a.URL() + "/hooks/opentext/callback"; st.Variables["callback_url"] != want || st.Variables["callback_secret"] != testCallbackSecret {
		t.Fatalf("process variables: callback_url %v (want %s), callback_secret set: %v", st.Variables["callback_url"], want, st.Variables["callback_secret"] != nil)
	}
	approveViaAPI(t, s, pid, "reviewer@example.com")
	d = waitForStatus(t, a, id, store.RunSucceeded, 15*time.Second)
	out := output(t, d)
	if out["outcome"] != "approved" || out["via"] != "callback" || out["reviewer"] != "reviewer@example.com" || out["comment"] != "looks good" {
		t.Fatalf("output: %v", out)
	}
	noFailedSteps(t, d)
	var delivered bool
	for _, call := range s.HTTPCalls() {
		if strings.HasSuffix(call.URL, "/hooks/opentext/callback") && call.Status == http.StatusAccepted {
			delivered = true
		}
	}
	if !delivered {
		t.Errorf("no accepted callback among the HTTP-task calls: %+v", s.HTTPCalls())
	}
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Instance(pid); st.Status != "completed" || len(st.Comments) != 1 || st.Comments[0] != "patchbay: review approved" {
		t.Errorf("process after the run: %s %v", st.Status, st.Comments)
	}
	// A forged callback is rejected with 401 and starts nothing.
	req, _ := http.NewRequest("POST", a.URL()+"/hooks/opentext/callback", strings.NewReader(`{"processInstanceId":"`+pid+`","outcome":"rejected"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Callback-Secret", "guess")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged callback: %d", resp.StatusCode)
	}
}

func TestAppReviewResumedByPollerCalledDirectly(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	a := reviewApp(t, s, time.Hour, nil)
	ctx := context.Background()
	id, err := a.StartRun(ctx, "media-review", map[string]any{"asset_id": "A2", "callback": false})
	if err != nil {
		t.Fatal(err)
	}
	pid := processOf(t, waitForStatus(t, a, id, store.RunWaiting, 15*time.Second))
	if st, _ := s.Instance(pid); st.Variables["callback_url"] != nil {
		t.Fatalf("callbacks are off but callback_url = %v", st.Variables["callback_url"])
	}
	// The poll the River periodic job would run, called directly for speed.
	if err := a.Ingest.Poll(ctx, "opentext", "process_events"); err != nil {
		t.Fatal(err)
	}
	approveViaAPI(t, s, pid, "approver@example.com")
	if err := a.Ingest.Poll(ctx, "opentext", "process_events"); err != nil {
		t.Fatal(err)
	}
	d := waitForStatus(t, a, id, store.RunSucceeded, 15*time.Second)
	out := output(t, d)
	if out["outcome"] != "approved" || out["via"] != "process_events" || out["reviewer"] != "approver@example.com" || out["state"] != "completed" {
		t.Fatalf("output: %v", out)
	}
	noFailedSteps(t, d)
	if len(s.HTTPCalls()) != 0 {
		t.Errorf("the process called back with callbacks off: %+v", s.HTTPCalls())
	}
}

func TestAppReviewResumedByRiverPoller(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	// Pollers are River periodic jobs the leader derives from waiting runs;
	// re-derive them often so the poll starts soon after the run parks.
	a := reviewApp(t, s, 100*time.Millisecond, nil)
	ctx := context.Background()
	id, err := a.StartRun(ctx, "media-review", map[string]any{"asset_id": "A3", "callback": false})
	if err != nil {
		t.Fatal(err)
	}
	pid := processOf(t, waitForStatus(t, a, id, store.RunWaiting, 15*time.Second))
	approveViaAPI(t, s, pid, "reviewer@example.com")
	// At most one poll interval (10s) plus scheduling.
	d := waitForStatus(t, a, id, store.RunSucceeded, 30*time.Second)
	if out := output(t, d); out["outcome"] != "approved" || out["via"] != "process_events" {
		t.Fatalf("output: %v", out)
	}
	noFailedSteps(t, d)
}

func TestAppTokenExpiryMidRun(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	a := reviewApp(t, s, time.Hour, nil)
	ctx := context.Background()
	id, err := a.StartRun(ctx, "media-review", map[string]any{"asset_id": "A4"})
	if err != nil {
		t.Fatal(err)
	}
	pid := processOf(t, waitForStatus(t, a, id, store.RunWaiting, 15*time.Second))
	// Between the start step and the steps after the wait, every access
	// token the service issued expires. The callback resumes the run without
	// a call to the service, so the get_process step is the first to present
	// the dead cached token.
	s.ExpireTokens()
	tokensBefore := s.Kit().Calls.Count("POST", "/tenants/")
	approveViaAPI(t, s, pid, "reviewer@example.com")
	d := waitForStatus(t, a, id, store.RunSucceeded, 15*time.Second)
	if out := output(t, d); out["outcome"] != "approved" || out["via"] != "callback" {
		t.Fatalf("output: %v", out)
	}
	noFailedSteps(t, d)
	var rejected []string
	for _, c := range s.Kit().Calls.List("/workflow/v1/") {
		if c.Status == http.StatusUnauthorized {
			rejected = append(rejected, c.Method+" "+c.Path)
		}
	}
	tokens := s.Kit().Calls.Count("POST", "/tenants/") - tokensBefore
	if len(rejected) != 1 || rejected[0] != "GET /workflow/v1/process-instances/"+pid || tokens != 1 {
		t.Errorf("want one 401 (get_process with the expired token) and one new token; got 401s %v, %d token calls", rejected, tokens)
	}
	t.Logf("token expired mid-run: %v answered 401, one new token, the step succeeded at its first attempt (%d step records, none failed)", rejected, len(d.Steps))
}

// bulkFlow runs once per media_review process the poller sees start, and
// waits for that process to end.
const bulkFlow = `
name: bulk-review
connections:
  ot: opentext
trigger:
  on: ot.process_events
  config: { events: [process.started], definition_keys: [media_review], include_variables: false }
  filter: ${{ event.type == "process.started" }}
steps:
  - id: review
    wait:
      for: [ot.callback, ot.process_events]
      key: ${{ "opentext:process/" + trigger.data.process_id }}
output:
  outcome: ${{ steps.review.output.data.outcome }}
  via: ${{ steps.review.output.trigger }}
`

// TestAppThousandRunsOnePoller: 1,000 runs wait on 1,000 processes and one
// poll of the connection's single poller resumes them all, in a handful of
// history pages. The River periodic poll job is kept off (reconcile every
// hour) so the test controls when the poll happens: a.Ingest.Poll is what
// that job runs.
func TestAppThousandRunsOnePoller(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	t.Parallel()
	const n = 1000
	s := newSandbox(t, otsb.Options{Kit: kitNoLimit()})
	if _, err := s.Deploy(otsb.MediaReviewModel()); err != nil {
		t.Fatal(err)
	}
	a := startApp(t, app.Config{ReconcileEvery: time.Hour})
	ctx := context.Background()
	if err := a.PutConnection(ctx, "opentext", "opentext", s.values(map[string]any{"page_size": 250}), "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyFlow(ctx, "bulk-review.yaml", []byte(bulkFlow), "test"); err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]int {
		c, err := a.Store.CountRuns(ctx, a.Store.Reader(), "bulk-review")
		if err != nil {
			t.Fatal(err)
		}
		if c[store.RunFailed] > 0 {
			t.Fatalf("runs failed: %v", c)
		}
		return c
	}
	// listCalls counts the history list calls: the completion sweep's
	// (finished=true) and the others (the intake flow's process.started sweep).
	listCalls := func() (sweep, other int) {
		for _, c := range s.Kit().Calls.List("/workflow/v1/historic-process-instances") {
			switch {
			case c.Path != "/workflow/v1/historic-process-instances":
			case strings.Contains(c.Query, "finished=true"):
				sweep++
			default:
				other++
			}
		}
		return sweep, other
	}
	poll := func() {
		t.Helper()
		if err := a.Ingest.Poll(ctx, "opentext", "process_events"); err != nil {
			t.Fatal(err)
		}
	}

	poll() // the poller starts: cursors at "now"
	t0 := time.Now()
	pids, err := s.StartInstances("media_review", n, func(i int) (string, map[string]any) {
		return fmt.Sprintf("iconik:bulk-%04d:v1", i), reviewVars(fmt.Sprintf("bulk-%04d", i))
	})
	if err != nil {
		t.Fatal(err)
	}
	poll() // 1,000 process.started events start 1,000 runs
	readAt := time.Now()
	waitFor(t, "1,000 runs waiting", 120*time.Second, func() bool { return counts()[store.RunWaiting] == n })
	parked := time.Since(t0)
	// Polls are 10 s apart in production; let the starts age past
	// poll_overlap (2 s) as they would, so this poll's re-read of them is
	// the last one.
	time.Sleep(time.Until(readAt.Add(2 * time.Second)))
	poll() // the poller learns the 1,000 awaited processes

	for _, pid := range pids { // 1,000 reviewers decide
		if err := s.CompleteTask(openTask(t, s, pid).ID, "reviewer@example.com", "approved", "", nil); err != nil {
			t.Fatal(err)
		}
	}

	s.Kit().Calls.Reset()
	t1 := time.Now()
	poll() // one poll: the ingest follows the poller's More from page to page
	polled := time.Since(t1)
	sweep, other := listCalls()
	waitFor(t, "1,000 runs to finish", 120*time.Second, func() bool { return counts()[store.RunSucceeded] == n })
	resumed := time.Since(t1)
	t.Logf("1,000 runs started by process.started events and parked in %v. One poll resumed them: %d history pages of 250 "+
		"for the 1,000 completions (+%d for the intake flow's process.started sweep; %d calls to the service in all) in %v; all 1,000 runs finished %v after the poll began",
		parked.Round(time.Millisecond), sweep, other, len(s.Kit().Calls.List("")), polled.Round(time.Millisecond), resumed.Round(time.Millisecond))
	if sweep > 8 || other > 2 { // 4 full pages, the empty last one, and overlap re-reads under load
		t.Errorf("%d + %d history list calls for 1,000 processes at 250 a page; want a handful", sweep, other)
	}
	runs, err := a.ListRuns(ctx, store.RunFilter{Flow: "bulk-review", Limit: 1})
	if err != nil || len(runs) != 1 {
		t.Fatal(runs, err)
	}
	if out := output(t, runStatus(t, a, runs[0].ID)); out["outcome"] != "approved" || out["via"] != "process_events" {
		t.Errorf("a run's output: %v", out)
	}
}
