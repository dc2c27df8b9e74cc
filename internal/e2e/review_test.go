// Package e2e_test drives the use-case templates end to end: a real
// patchbay (internal/app on SQLite and River) with the templates installed
// through internal/template, against the iconik, Contentstack and OpenText
// sandboxes running in this process on loopback. Every test asserts the
// final state through the sandboxes' own APIs, patchbay's runs and the
// audit trail.
package e2e_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/audit"
	isb "github.com/patchbay/patchbay/internal/sandbox/iconik"
	"github.com/patchbay/patchbay/internal/store"
)

const wait = 45 * time.Second

var trailerMD = map[string]any{isb.FieldAssetType: "Trailer", isb.FieldCampaign: "Spring Launch 2026", isb.FieldRegion: "EMEA",
	isb.FieldDescription: "The spring teaser", isb.FieldUsageRights: "Web and social, 2026"}

// approved checks UC1's writes for an approved version.
func approvedInIconik(t *testing.T, w *world, asset, version string) {
	t.Helper()
	if st := w.ik.ApprovalStatus(asset, version); st != "APPROVED" {
		t.Errorf("approval status of %s/%s = %s, want APPROVED", asset, version, st)
	}
	if v := w.ik.MetadataValue("assets", asset, isb.FieldReviewStatus); v != "Released" {
		t.Errorf("review_status = %q, want Released", v)
	}
	if !inCollection(w, isb.CollectionApproved, asset) {
		t.Error("the asset is not in the Approved collection")
	}
}

// publishedEntry checks UC8's entry: one, mapped, published.
func publishedEntry(t *testing.T, w *world, asset, version, title string) {
	t.Helper()
	var es []csbEntry
	waitFor(t, "the video entry to be published", wait, func() bool {
		es = entries(w, asset)
		if len(es) != 1 {
			return false
		}
		_, ok := w.cs.IsPublished("video", es[0].UID, "production", "en-us")
		return ok
	})
	e := es[0]
	f := e.Fields
	if f["title"] != title || f["iconik_version_id"] != version || f["description"] != "The spring teaser" {
		t.Errorf("entry fields: title %v version %v description %v", f["title"], f["iconik_version_id"], f["description"])
	}
	for _, k := range []string{"preview_url", "thumbnail_url", "delivery_url"} {
		if s, _ := f[k].(string); !strings.HasPrefix(s, "http") {
			t.Errorf("entry %s = %v, want a URL", k, f[k])
		}
	}
	if d, _ := strconv.ParseFloat(fmt.Sprint(f["duration"]), 64); d <= 0 {
		t.Errorf("entry duration = %v", f["duration"])
	}
	if r, _ := f["rights"].(map[string]any); r["usage_rights"] != "Web and social, 2026" {
		t.Errorf("entry rights = %v", f["rights"])
	}
}

func TestApprovePath(t *testing.T) {
	t.Parallel()
	start := time.Now()
	w := newWorld(t)
	a := startApp(t, w)
	ctx := context.Background()
	const title = "Spring Launch Trailer (approve)"
	asset := w.newAsset(t, title, trailerMD)
	runID, pid := awaitReview(t, a, asset, wait)
	inst, _ := w.ot.Instance(pid)
	if inst.Variables["reviewer_group"] != "media_reviewers" || inst.Variables["asset_id"] != asset || inst.Variables["title"] != title ||
		!strings.HasPrefix(inst.Variables["preview_url"].(string), "http") || inst.Variables["campaign"] != "Spring Launch 2026" {
		t.Errorf("process variables %v", inst.Variables)
	}
	w.review(t, pid, "approved", "")
	d := waitStatus(t, a, runID, store.RunSucceeded, wait)
	out := output(t, d)
	version := out["version_id"].(string)
	if out["outcome"] != "approved" || out["reviewer"] != reviewer || out["route"] != float64(0) {
		t.Errorf("UC1 output %v", out)
	}
	approvedInIconik(t, w, asset, version)
	if ap, _ := w.ik.Approval("assets", asset, version); len(ap.ApprovalsBy) != 1 || ap.ApprovalsBy[0].External != reviewer {
		t.Errorf("the decision is not recorded for the reviewer: %+v", ap)
	}

	trailUC1(t, a, asset, pid)

	// UC8 starts from the approval's webhook, an echo of UC1's own write:
	// UC8's trigger takes echoes (echoes: true), UC1's does not.
	waitFor(t, "UC8 to start from UC1's approval", wait, func() bool { return len(runsOf(t, a, uc08, asset)) > 0 })
	// Whether the approval's webhook counts as an echo depends on whether it
	// overtook UC1's commit (a documented race); either way UC8 runs once.
	echoes, _ := a.ListEvents(ctx, store.EventFilter{Object: "iconik:asset/" + asset, Status: store.EventEcho}, false)
	t.Logf("%d of UC1's writes came back recognised as echoes", len(echoes))
	if testing.Verbose() {
		t.Logf("events of the asset:\n%s", dumpEvents(t, a, asset))
	}
	if r1s := runsOf(t, a, uc01, asset); len(r1s) != 1 {
		t.Errorf("UC1 ran %d times for the asset; its own writes restarted it", len(r1s))
	}
	r8 := oneRun(t, a, uc08, asset, wait)
	d8 := waitStatus(t, a, r8.ID, store.RunSucceeded, wait)
	publishedEntry(t, w, asset, version, title)
	o8 := output(t, d8)
	if o8["created"] != true || o8["publish"] != "published" || o8["held_for_rights"] != false {
		t.Errorf("UC8 output %v", o8)
	}

	all := describe(mustAudit(t, a, asset))
	trail := all
	for _, want := range [][]string{{"event.received", "run/" + r8.ID, "started run"}, {"write", "contentstack:entry/video/"}, {"write", "publish"}, {"run.ended", uc08}} {
		if !hasInOrder(&trail, want...) {
			t.Errorf("audit trail of the asset lacks %v:\n%s", want, strings.Join(all, "\n"))
		}
	}
	t.Logf("approve path: %v", time.Since(start).Round(time.Millisecond))
}

func describe(es []*audit.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Kind + " | " + e.Actor + " | " + e.Step + " | " + strings.Join(e.Objects, " ") + " | " + e.Summary
	}
	return out
}

type csbEntry = struct {
	UID    string
	Fields map[string]any
}

func entries(w *world, asset string) []csbEntry {
	var out []csbEntry
	for _, e := range w.videoEntries(asset) {
		out = append(out, csbEntry{UID: e.UID, Fields: e.Fields})
	}
	return out
}

func mustAudit(t *testing.T, a *app.App, asset string) []*audit.Entry {
	t.Helper()
	es, err := a.AuditList(context.Background(), "iconik:asset/"+asset, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// hasInOrder finds the first line holding every part and cuts trail after it.
func hasInOrder(trail *[]string, parts ...string) bool {
	for i, l := range *trail {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			*trail = (*trail)[i+1:]
			return true
		}
	}
	return false
}

// trailUC1 checks the asset's audit trail holds UC1's story in order: the
// routing decision, the process start, the wait, its release by the
// review's outcome, the decision, and each iconik write.
func trailUC1(t *testing.T, a *app.App, asset, pid string) {
	t.Helper()
	all := describe(mustAudit(t, a, asset))
	trail := all
	for _, want := range [][]string{
		{"decision", uc01, "route"},
		{"write", "start", "opentext:process/" + pid},
		{"wait.held", "review"},
		{"wait.released", "review"},
		{"decision", "outcome"},
		{"write", "approve", "set_approval"},
		{"write", "release", "set_metadata"},
		{"write", "collect", "add_to_collection"},
		{"run.ended", uc01},
	} {
		if !hasInOrder(&trail, want...) {
			t.Errorf("audit trail of the asset lacks %v (in order):\n%s", want, strings.Join(all, "\n"))
			return
		}
	}
}
