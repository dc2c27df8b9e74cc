package e2e_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	isb "github.com/patchbay/patchbay/internal/sandbox/iconik"
	"github.com/patchbay/patchbay/internal/sandbox/kit"
	"github.com/patchbay/patchbay/internal/store"
)

// Rejected in OpenText: NOT_APPROVED on the reviewed version, the reviewer's
// comment as a comment on that version, nothing released, no entry. Then
// the editor uploads a new version: a second review, approved, lands on the
// new version only.
func TestRejectThenNewVersionApproved(t *testing.T) {
	t.Parallel()
	start := time.Now()
	w := newWorld(t)
	a := startApp(t, w)
	const title = "Holiday Promo (reject)"
	asset := w.newAsset(t, title, map[string]any{isb.FieldAssetType: "Promo", isb.FieldRegion: "NA"})
	runID, pid := awaitReview(t, a, asset, wait)
	w.review(t, pid, "rejected", "Logo too small in the end card")
	d := waitStatus(t, a, runID, store.RunSucceeded, wait)
	v1 := output(t, d)["version_id"].(string)
	if st := w.ik.ApprovalStatus(asset, v1); st != "NOT_APPROVED" {
		t.Errorf("approval of v1 = %s, want NOT_APPROVED", st)
	}
	var comments []string
	for _, sg := range w.ik.Segments(asset) {
		if sg.SegmentText != nil && sg.VersionID == v1 {
			comments = append(comments, *sg.SegmentText)
		}
	}
	if len(comments) != 1 || comments[0] != "Review: Logo too small in the end card" {
		t.Errorf("comments on v1: %q", comments)
	}
	if v := w.ik.MetadataValue("assets", asset, isb.FieldReviewStatus); v == "Released" || inCollection(w, isb.CollectionApproved, asset) {
		t.Error("a rejected asset was released")
	}

	v2, err := w.ik.UserAddVersion(asset)
	if err != nil {
		t.Fatal(err)
	}
	var run2 string
	waitFor(t, "a second review for the new version", wait, func() bool {
		return len(runsOf(t, a, uc01, asset)) == 2
	})
	for _, r := range runsOf(t, a, uc01, asset) {
		if r.ID != runID {
			run2 = r.ID
		}
	}
	waitFor(t, "the second review to wait", wait, func() bool {
		d, _ := a.GetRun(context.Background(), run2)
		return d != nil && len(d.Waits) > 0 && d.Waits[0].Step == "review"
	})
	d2, _ := a.GetRun(context.Background(), run2)
	pid2 := stepOutput(t, d2, "start")["id"].(string)
	if pid2 == pid {
		t.Fatal("the new version reused the rejected process")
	}
	w.review(t, pid2, "approved", "")
	d2 = waitStatus(t, a, run2, store.RunSucceeded, wait)
	if got := output(t, d2)["version_id"]; got != v2 {
		t.Errorf("second review on version %v, want %s", got, v2)
	}
	approvedInIconik(t, w, asset, v2)
	if st := w.ik.ApprovalStatus(asset, v1); st != "NOT_APPROVED" {
		t.Errorf("approval of v1 changed to %s", st)
	}
	t.Logf("reject then new version approved: %v", time.Since(start).Round(time.Millisecond))
}

// The routing table's default row: an asset matching no row goes to the
// default candidate group.
func TestRoutingDefaultRow(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := startApp(t, w)
	asset := w.newAsset(t, "Behind the scenes (routing)", map[string]any{isb.FieldAssetType: "Interview", isb.FieldRegion: "LATAM"})
	runID, pid := awaitReview(t, a, asset, wait)
	inst, _ := w.ot.Instance(pid)
	if inst.Variables["reviewer_group"] != "line_managers" {
		t.Errorf("reviewer_group = %v, want the default row's line_managers", inst.Variables["reviewer_group"])
	}
	apac := w.newAsset(t, "Behind the scenes APAC (routing)", map[string]any{isb.FieldAssetType: "Interview", isb.FieldRegion: "APAC"})
	_, pid2 := awaitReview(t, a, apac, wait)
	if inst2, _ := w.ot.Instance(pid2); inst2.Variables["reviewer_group"] != "risk_managers" {
		t.Errorf("APAC reviewer_group = %v, want risk_managers", inst2.Variables["reviewer_group"])
	}
	w.review(t, pid, "approved", "")
	d := waitStatus(t, a, runID, store.RunSucceeded, wait)
	if out := output(t, d); out["route"] != float64(2) {
		t.Errorf("route = %v, want the default row 2", out["route"])
	}
}

// UC8 with a human approval in iconik, while rights are Pending: the run
// holds (no entry) until the rights are cleared in iconik, then creates and
// publishes the entry. iconik delivers every webhook twice and patchbay is
// sent the approval webhook again later (a replay): one UC8 run, one entry.
func TestRightsGateDuplicatesAndReplay(t *testing.T) {
	t.Parallel()
	start := time.Now()
	w := newWorld(t)
	a := startApp(t, w)
	ctx := context.Background()
	md := map[string]any{isb.FieldAssetType: "Social", isb.FieldDescription: "The spring teaser", isb.FieldUsageRights: "Web and social, 2026",
		isb.FieldRightsStatus: "Pending"}
	const title = "Spring cut for social (gate)"
	asset := w.newAsset(t, title, md)
	waitFor(t, "the transcoder", wait, func() bool { return len(w.ik.Proxies(asset)) > 0 })
	if err := w.ik.Kit().Faults.Set(kit.FaultConfig{DuplicateWebhooks: 1}); err != nil {
		t.Fatal(err)
	}
	if err := w.ik.UserSetApproval(asset, "APPROVED"); err != nil {
		t.Fatal(err)
	}
	r8 := oneRun(t, a, uc08, asset, wait)
	waitFor(t, "UC8 to hold for rights", wait, func() bool {
		d, _ := a.GetRun(ctx, r8.ID)
		return d != nil && d.Status == store.RunWaiting && len(d.Waits) > 0 && d.Waits[0].Step == "rights_cleared"
	})
	time.Sleep(300 * time.Millisecond)
	if n := len(entries(w, asset)); n != 0 {
		t.Fatalf("%d entries while rights are pending", n)
	}
	if err := w.ik.UserSetMetadata("assets", asset, map[string]any{isb.FieldRightsStatus: "Cleared"}); err != nil {
		t.Fatal(err)
	}
	d8 := waitStatus(t, a, r8.ID, store.RunSucceeded, wait)
	o := output(t, d8)
	if o["held_for_rights"] != true || o["created"] != true || o["publish"] != "published" {
		t.Errorf("UC8 output %v", o)
	}
	version := w.ik.LatestVersionID(asset)
	publishedEntry(t, w, asset, version, title)
	if r := entries(w, asset)[0].Fields["rights"].(map[string]any); r["rights_status"] != "Cleared" {
		t.Errorf("entry rights_status = %v, want the cleared value", r["rights_status"])
	}

	// Replay: iconik sends the approval again (as its retry would).
	if err := w.ik.Kit().Faults.Set(kit.FaultConfig{}); err != nil {
		t.Fatal(err)
	}
	replayed := 0
	for _, rec := range w.ik.Kit().Webhooks.Log() {
		if strings.Contains(rec.Body, `"realm":"approvals"`) && strings.Contains(rec.Body, asset) && strings.Contains(rec.Body, `"APPROVED"`) {
			replay(t, a.URL()+"/hooks/iconik/asset_events", rec.Body)
			replayed++
		}
	}
	if replayed == 0 {
		t.Fatal("no approval delivery to replay")
	}
	time.Sleep(500 * time.Millisecond)
	if runs := runsOf(t, a, uc08, asset); len(runs) != 1 {
		t.Errorf("UC8 ran %d times after duplicates and a replay", len(runs))
	}
	if n := len(entries(w, asset)); n != 1 {
		t.Errorf("%d entries for the asset", n)
	}
	evs, _ := a.ListEvents(ctx, store.EventFilter{Object: "iconik:asset/" + asset}, false)
	approvals := 0
	for _, e := range evs {
		if e.Type == "approval.changed" {
			approvals++
		}
	}
	if approvals != 1 {
		t.Errorf("%d approval.changed events stored, want 1 (the duplicates and the replay deduplicated)", approvals)
	}
	trail := describe(mustAudit(t, a, asset))
	for _, want := range [][]string{{"wait.held", "rights_cleared"}, {"wait.released", "rights_cleared"}, {"write", "contentstack:entry/video/"}, {"write", "publish"}} {
		if !hasInOrder(&trail, want...) {
			t.Errorf("audit trail lacks %v", want)
		}
	}
	t.Logf("rights gate, duplicates and replay: %v", time.Since(start).Round(time.Millisecond))
}

// Contentstack answers a storm of 429s while UC8 upserts: the run succeeds
// with no failed step and one entry.
func TestContentstack429DuringUpsert(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := startApp(t, w)
	const title = "Summer splash (429)"
	asset := w.newAsset(t, title, map[string]any{isb.FieldAssetType: "B-Roll", isb.FieldDescription: "The spring teaser", isb.FieldUsageRights: "Web and social, 2026"})
	waitFor(t, "the transcoder", wait, func() bool { return len(w.ik.Proxies(asset)) > 0 })
	if err := w.cs.Kit().Faults.Set(kit.FaultConfig{Storm429: 12}); err != nil {
		t.Fatal(err)
	}
	if err := w.ik.UserSetApproval(asset, "APPROVED"); err != nil {
		t.Fatal(err)
	}
	r8 := oneRun(t, a, uc08, asset, wait)
	d := waitStatus(t, a, r8.ID, store.RunSucceeded, wait)
	for _, s := range d.Steps {
		if s.Status == store.StepFailed {
			t.Errorf("step %s failed: %s", s.Step, s.Error)
		}
	}
	got429 := 0
	for _, c := range w.cs.Kit().Calls.List("/v3/") {
		if c.Status == 429 {
			got429++
		}
	}
	if got429 == 0 {
		t.Error("the sandbox answered no 429")
	}
	publishedEntry(t, w, asset, w.ik.LatestVersionID(asset), title)
	t.Logf("%d requests answered 429; timeline:\n%s", got429, timeline(d))
}

// replay posts a recorded iconik delivery to patchbay again, with the secret.
func replay(t *testing.T, url, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Patchbay-Secret", iconikSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("replay answered %d", resp.StatusCode)
	}
}
