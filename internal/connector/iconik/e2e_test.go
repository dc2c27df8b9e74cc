package iconik

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/app/apptest"
	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/connectortest"
	sbx "github.com/patchbay/patchbay/internal/sandbox/iconik"
	"github.com/patchbay/patchbay/internal/sandbox/kit"
	"github.com/patchbay/patchbay/internal/store"
)

// End-to-end tests build a real patchbay (SQLite, River, HTTP) with
// internal/app and drive flows that use this connector against the sandbox.

func startApp(t *testing.T) *app.App { return apptest.Start(t, app.Config{}) }

func waitRun(t *testing.T, a *app.App, id string, d time.Duration) *app.RunDetail {
	t.Helper()
	var run *app.RunDetail
	waitFor(t, "run "+id+" to end", d, func() bool {
		r, err := a.GetRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		run = r
		return r.Status == store.RunSucceeded || r.Status == store.RunFailed || r.Status == store.RunCancelled
	})
	return run
}

const stormFlow = `
name: iconik-storm
trigger: { on: manual }
connections: { dam: iconik }
steps:
  - id: col
    action: dam.find_or_create_collection
    input: { path: "Campaigns/Storm review" }
  - id: found
    action: dam.search_assets
    input:
      limit: 16
      sort: ["date_created,asc"]
  - id: each
    foreach: ${{ steps.found.output.assets }}
    concurrency: 6
    do:
      - action: dam.add_to_collection
        input:
          collection_id: ${{ steps.col.output.id }}
          object_id: ${{ item.id }}
      - action: dam.set_metadata
        input:
          object_id: ${{ item.id }}
          fields: { review_status: "Storm checked" }
      - action: dam.add_comment
        input:
          asset_id: ${{ item.id }}
          text: Checked during the storm
          start_ms: 0
  - action: dam.create_job
    input:
      title: Storm review done
      status: FINISHED
`

// TestEndToEnd429Storm runs a flow of iconik actions through patchbay
// while the sandbox answers a storm of 429s: the run succeeds with no failed
// step, the rate-limited steps are delayed (not failed), and the requests
// the sandbox saw never exceed the connection's configured rate per second.
func TestEndToEnd429Storm(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 16, DisableTranscode: true})
	a := startApp(t)
	ctx := context.Background()
	const rate = 20
	if err := a.PutConnection(ctx, "iconik", "iconik", s.values(map[string]any{"rate": rate, "burst": 1}), "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyFlow(ctx, "storm.yaml", []byte(stormFlow), "test"); err != nil {
		t.Fatal(err)
	}
	const storm = 6
	if err := s.Kit().Faults.Set(kit.FaultConfig{Storm429: storm}); err != nil {
		t.Fatal(err)
	}
	s.Kit().Calls.Reset()
	start := time.Now()
	runID, err := a.StartRun(ctx, "iconik-storm", nil)
	if err != nil {
		t.Fatal(err)
	}
	run := waitRun(t, a, runID, 120*time.Second)
	elapsed := time.Since(start)
	if run.Status != store.RunSucceeded {
		t.Fatalf("run %s: %v", run.Status, run.Error)
	}
	delayed := 0
	for _, st := range run.Steps {
		switch st.Status {
		case store.StepFailed, store.StepRetrying:
			t.Errorf("step %s attempt %d %s: %s", st.Step, st.Attempt, st.Status, st.Error)
		case store.StepDelayed:
			delayed++
			if st.ErrorKind != "rate_limited" {
				t.Errorf("delayed step %s has error kind %s", st.Step, st.ErrorKind)
			}
		}
	}

	calls := s.Kit().Calls.List("/API/")
	perSecond := map[int64]int{}
	rejected := 0
	for _, c := range calls {
		perSecond[c.Time.Unix()]++
		if c.Status == http.StatusTooManyRequests {
			rejected++
		}
	}
	if rejected != storm {
		t.Errorf("the sandbox answered %d requests with 429, want the whole storm of %d", rejected, storm)
	}
	secs := make([]int64, 0, len(perSecond))
	for sec := range perSecond {
		secs = append(secs, sec)
	}
	sort.Slice(secs, func(i, j int) bool { return secs[i] < secs[j] })
	peak := 0
	var trace []int
	for _, sec := range secs {
		trace = append(trace, perSecond[sec])
		peak = max(peak, perSecond[sec])
	}
	if peak > rate {
		t.Errorf("the sandbox saw %d requests in one second, over the configured %d/s (per second: %v)", peak, rate, trace)
	}

	// The flow's work is done, once.
	col, ok := s.CollectionByTitle("Storm review", mustCollection(t, s, sbx.CollectionCampaigns, ""))
	if !ok || len(s.CollectionContents(col.ID)) != 16 {
		t.Fatalf("collection holds %d assets", len(s.CollectionContents(col.ID)))
	}
	for _, id := range s.AssetIDs() {
		if s.MetadataValue("assets", id, sbx.FieldReviewStatus) != "Storm checked" {
			t.Fatalf("asset %s not marked", id)
		}
		n := 0
		for _, sg := range s.Segments(id) {
			if sg.SegmentText != nil && *sg.SegmentText == "Checked during the storm" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("asset %s has %d storm comments", id, n)
		}
	}
	t.Logf("429 storm: %d requests (%d answered 429) in %v; %d step attempts delayed by rate limiting, none failed; peak %d requests/s (limit %d/s); per second %v",
		len(calls), rejected, elapsed.Round(time.Millisecond), delayed, peak, rate, trace)
}

const hookFlow = `
name: iconik-approved
connections: { dam: iconik }
trigger:
  on: dam.asset_events
  filter: ${{ event.type == "approval.changed" && event.data.status == "APPROVED" }}
steps:
  - id: approved
    action: dam.find_or_create_collection
    input: { title: Approved }
  - action: dam.add_to_collection
    input:
      collection_id: ${{ steps.approved.output.id }}
      object_id: ${{ event.data.asset_id }}
  - action: dam.set_metadata
    input:
      object_id: ${{ event.data.asset_id }}
      fields: { review_status: Released }
`

// TestEndToEndWebhooks registers the webhooks through the connector's Setup
// pointing at a running patchbay, then: a delivery with a wrong secret is
// answered 401, recorded as a rejected event with the reason, and starts no
// run; an approval made in iconik arrives as a webhook and runs the flow
// once even when iconik delivers it twice.
func TestEndToEndWebhooks(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 12, DisableTranscode: true})
	a := startApp(t)
	ctx := context.Background()
	if err := a.PutConnection(ctx, "iconik", "iconik", s.values(map[string]any{"system_domain_id": s.SystemDomainID()}), "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyFlow(ctx, "approved.yaml", []byte(hookFlow), "test"); err != nil {
		t.Fatal(err)
	}

	// A delivery with the wrong secret.
	body := `{"system_domain_id":"` + s.SystemDomainID() + `","event_type":"assets","object_id":"` + s.AssetIDs()[0] +
		`","realm":"approvals","operation":"update","data":{"status":"APPROVED","object_id":"` + s.AssetIDs()[0] + `"},"request_id":"forged"}`
	req, _ := http.NewRequest(http.MethodPost, a.URL()+"/hooks/iconik/asset_events", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Patchbay-Secret", "not-the-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong secret: status %d, want 401", resp.StatusCode)
	}
	rejected, err := a.ListEvents(ctx, store.EventFilter{Source: "iconik", Status: store.EventRejected}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(rejected) != 1 || !strings.Contains(rejected[0].Reason, "wrong X-Patchbay-Secret") || rejected[0].Trigger != "asset_events" {
		t.Fatalf("rejected events: %+v", rejected)
	}
	if strings.Contains(rejected[0].Reason, testSecret) {
		t.Fatal("the secret is in the rejection reason")
	}
	if runs, _ := a.ListRuns(ctx, store.RunFilter{Flow: "iconik-approved"}); len(runs) != 0 {
		t.Fatalf("a rejected delivery started %d runs", len(runs))
	}

	// Setup points iconik's webhooks at this patchbay; an approval in iconik runs the flow.
	conn, _, err := a.Conns.Get(ctx, "iconik")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.(connector.Setupper).Setup(ctx, &connector.SetupRequest{HookURL: a.URL() + "/hooks/iconik/"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Kit().Faults.Set(kit.FaultConfig{DuplicateWebhooks: 1}); err != nil {
		t.Fatal(err)
	}
	var asset string
	for _, id := range s.AssetIDs() {
		if s.ApprovalStatus(id, "") == "N/A" {
			asset = id
			break
		}
	}
	if err := s.UserRequestApproval(asset, sbx.ReviewerUserID); err != nil {
		t.Fatal(err)
	}
	if err := s.UserSetApproval(asset, "APPROVED"); err != nil {
		t.Fatal(err)
	}
	var runs []app.RunInfo
	waitFor(t, "the approval to start a run", 20*time.Second, func() bool {
		runs, _ = a.ListRuns(ctx, store.RunFilter{Flow: "iconik-approved"})
		return len(runs) > 0
	})
	run := waitRun(t, a, runs[0].ID, 30*time.Second)
	if run.Status != store.RunSucceeded {
		t.Fatalf("run %s: %v", run.Status, run.Error)
	}
	settle(t, s)
	if runs, _ = a.ListRuns(ctx, store.RunFilter{Flow: "iconik-approved"}); len(runs) != 1 {
		t.Fatalf("the duplicated delivery started %d runs", len(runs))
	}
	approved := mustCollection(t, s, sbx.CollectionApproved, "")
	inApproved := false
	for _, ref := range s.CollectionContents(approved) {
		inApproved = inApproved || ref.ObjectID == asset
	}
	if !inApproved || s.MetadataValue("assets", asset, sbx.FieldReviewStatus) != "Released" {
		t.Fatalf("flow result: in Approved %v, review_status %q", inApproved, s.MetadataValue("assets", asset, sbx.FieldReviewStatus))
	}
	accepted, _ := a.ListEvents(ctx, store.EventFilter{Source: "iconik", Object: "iconik:asset/" + asset}, false)
	if len(accepted) == 0 {
		t.Fatal("no events stored for the asset")
	}

}

const echoFlow = `
name: iconik-rights-cleared
connections: { dam: iconik }
trigger:
  on: dam.asset_events
  filter: ${{ event.type == "metadata.changed" }}
steps:
  - action: dam.set_metadata
    input:
      object_id: ${{ event.object_id }}
      fields: { review_status: "Rights checked" }
`

// TestEndToEndEchoSuppressed: a flow that reacts to metadata changes by
// writing metadata would trigger itself; the webhook of its own write
// hashes like the write, so patchbay records it as an echo and starts no
// second run. Deliveries reach patchbay 1.5 s late, as a real tenant's can:
// a webhook that overtakes the engine's commit of the step is not
// recognised (see the connector doc's limits).
func TestEndToEndEchoSuppressed(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 4, DisableTranscode: true})
	a := startApp(t)
	ctx := context.Background()
	if err := a.PutConnection(ctx, "iconik", "iconik", s.values(nil), "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyFlow(ctx, "echo.yaml", []byte(echoFlow), "test"); err != nil {
		t.Fatal(err)
	}
	conn, _, err := a.Conns.Get(ctx, "iconik")
	if err != nil {
		t.Fatal(err)
	}
	late := connectortest.DelayedProxy(t, a.URL(), 1500*time.Millisecond)
	if _, err := conn.(connector.Setupper).Setup(ctx, &connector.SetupRequest{HookURL: late + "/hooks/iconik/"}); err != nil {
		t.Fatal(err)
	}
	asset := s.AssetIDs()[0]
	if err := s.UserSetMetadata("assets", asset, map[string]any{sbx.FieldRightsStatus: "Restricted"}); err != nil {
		t.Fatal(err)
	}
	var runs []app.RunInfo
	waitFor(t, "the change to start a run", 20*time.Second, func() bool {
		runs, _ = a.ListRuns(ctx, store.RunFilter{Flow: "iconik-rights-cleared"})
		return len(runs) > 0
	})
	if run := waitRun(t, a, runs[0].ID, 30*time.Second); run.Status != store.RunSucceeded {
		t.Fatalf("run %s: %v", run.Status, run.Error)
	}
	var echo []app.EventInfo
	waitFor(t, "the write's webhook to come back", 20*time.Second, func() bool {
		echo, _ = a.ListEvents(ctx, store.EventFilter{Source: "iconik", Status: store.EventEcho}, false)
		return len(echo) > 0
	})
	if echo[0].Type != "metadata.changed" || echo[0].Object != "iconik:asset/"+asset || !strings.Contains(echo[0].Reason, "content hash") {
		t.Fatalf("echo event %+v", echo[0])
	}
	settle(t, s)
	if runs, _ = a.ListRuns(ctx, store.RunFilter{Flow: "iconik-rights-cleared"}); len(runs) != 1 {
		t.Fatalf("the flow ran %d times; its own write started it again", len(runs))
	}
}
