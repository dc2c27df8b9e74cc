package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/app/apptest"
	"github.com/patchbay/patchbay/internal/store"
)

// The SIGKILL test runs patchbay as a child process (apptest.Child), so it
// can be killed for real while the sandboxes live on in the parent.

func TestMain(m *testing.M) {
	apptest.RunChildIfAsked()
	os.Exit(m.Run())
}

// TestKilledWhileWaitingForApproval: UC1's run is parked on the review when
// patchbay is killed with SIGKILL. The reviewer approves while patchbay is
// down (the process's callback finds nobody). Restarted, patchbay learns the
// outcome (the callback retried, or the history poller that runs at start)
// and the approval lands in iconik, and UC8 publishes the entry: nothing
// was lost and nothing done twice.
func TestKilledWhileWaitingForApproval(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process")
	}
	t.Parallel()
	w := newWorld(t)
	dir := t.TempDir()
	child := apptest.NewChild(t, apptest.ChildConfig{Data: dir, FetchPollInterval: 50 * time.Millisecond, ReconcileEvery: time.Second})

	// Set up as `patchbay connection add`, `template install` and
	// `connection setup` would, from a client sharing the data directory.
	ctx := context.Background()
	cli, err := app.Open(ctx, app.Config{DataDir: dir, Role: app.RoleClient, PublicURL: child.URL()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Stop(context.Background()) })
	w.configure(t, cli)
	registerWebhooks(t, cli, child.URL()+"/hooks/iconik/")

	child.Start()
	const title = "Spring Launch Trailer (kill -9)"
	asset := w.newAsset(t, title, trailerMD)
	runID, pid := awaitReview(t, cli, asset, wait)

	child.Kill()
	killedAt := time.Now()

	w.review(t, pid, "approved", "")
	if d, err := cli.GetRun(ctx, runID); err != nil || d.Status != store.RunWaiting {
		t.Fatalf("with patchbay down the run is %v (%v); want still waiting", d.Status, err)
	}

	child.Start()
	defer func() {
		if t.Failed() {
			evs, _ := cli.ListEvents(ctx, store.EventFilter{Source: "opentext"}, true)
			for _, e := range evs {
				t.Logf("event %s %s %s %s runs=%d %s", e.ReceivedAt.Format("15:04:05.000"), e.Trigger, e.Type, e.Status, e.Runs, truncate(string(e.Data), 300))
			}
			for _, c := range w.ot.Kit().Calls.List("") {
				t.Logf("call %s %s %s?%s -> %d", c.Time.Format("15:04:05.000"), c.Method, c.Path, c.Query, c.Status)
			}
		}
	}()
	d := waitStatus(t, cli, runID, store.RunSucceeded, wait)
	out := output(t, d)
	version, _ := out["version_id"].(string)
	if out["outcome"] != "approved" || out["reviewer"] != reviewer {
		t.Errorf("UC1 output %v", out)
	}
	approvedInIconik(t, w, asset, version)
	publishedEntry(t, w, asset, version, title)
	if n := len(runsOf(t, cli, uc01, asset)); n != 1 {
		t.Errorf("UC1 ran %d times for the asset", n)
	}
	r8 := oneRun(t, cli, uc08, asset, wait)
	waitStatus(t, cli, r8.ID, store.RunSucceeded, wait)
	if es := entries(w, asset); len(es) != 1 {
		t.Errorf("%d video entries for the asset, want 1", len(es))
	}
	// The callback was tried once while patchbay was down (the model ignores
	// its failure so the process ends): the history poller brought the outcome.
	via := ""
	for _, st := range d.Steps {
		if st.Step == "review" && len(st.Output) > 0 {
			var o struct {
				EventID string `json:"event_id"`
			}
			_ = json.Unmarshal(st.Output, &o)
			evs, _ := cli.ListEvents(ctx, store.EventFilter{Source: "opentext"}, false)
			for _, e := range evs {
				if e.ID == o.EventID {
					via = e.Trigger
				}
			}
		}
	}
	if via != "process_events" {
		t.Errorf("the review was resumed by %q; want the history poller (process_events)", via)
	}
	t.Logf("killed while waiting, approved while down, restarted: run %s resumed by %s and finished %v after the kill; UC8 published",
		runID, via, time.Since(killedAt).Round(time.Millisecond))
}
