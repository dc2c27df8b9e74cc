package e2e_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/app/apptest"
	"github.com/patchbay/patchbay/internal/connector"
	_ "github.com/patchbay/patchbay/internal/connector/all"
	csb "github.com/patchbay/patchbay/internal/sandbox/contentstack"
	isb "github.com/patchbay/patchbay/internal/sandbox/iconik"
	otsb "github.com/patchbay/patchbay/internal/sandbox/opentext"
	"github.com/patchbay/patchbay/internal/store"
	"github.com/patchbay/patchbay/internal/template"
	"github.com/patchbay/patchbay/templates"
)

const (
	uc01 = "uc01-media-review-approval"
	uc08 = "uc08-approved-video-to-contentstack"

	iconikSecret   = "e2e-iconik-secret-7c1d"
	callbackSecret = "e2e-callback-secret-2b9e"
	reviewer       = "riley.reviewer@patchbay.example"
)

// world is the three sandboxes, on loopback in this process.
type world struct {
	ik    *isb.Server
	ikURL string
	cs    *csb.Server
	csURL string
	ot    *otsb.Server
	otURL string
}

var (
	keyOnce sync.Once
	csKey   *rsa.PrivateKey
)

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{}
	ik, err := isb.New(isb.Options{Seed: true, SeedAssetCount: 2, TimeScale: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	ikSrv := httptest.NewServer(ik)
	ik.SetURL(ikSrv.URL)
	w.ik, w.ikURL = ik, ikSrv.URL

	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		csKey = k
	})
	cs, err := csb.New(csb.Options{Seed: true, TimeScale: 0.002, ReadRate: -1, WriteRate: -1, BulkRate: -1, SigningKey: csKey})
	if err != nil {
		t.Fatal(err)
	}
	csSrv := httptest.NewServer(cs)
	cs.SetURL(csSrv.URL)
	w.cs, w.csURL = cs, csSrv.URL

	ot, err := otsb.New(otsb.Options{TimeScale: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	otSrv := httptest.NewServer(ot)
	ot.SetURL(otSrv.URL)
	w.ot, w.otURL = ot, otSrv.URL
	model, ok := templates.Model("media_review")
	if !ok {
		t.Fatal("templates ship no media_review model")
	}
	if _, err := ot.Deploy(model); err != nil {
		t.Fatalf("deploying the bundled media_review: %v", err)
	}
	t.Cleanup(func() {
		ikSrv.Close()
		csSrv.Close()
		otSrv.Close()
		_ = ik.Close()
		_ = cs.Close()
		_ = ot.Close()
	})
	return w
}

// connections are the connection settings pointing at the sandboxes.
func (w *world) connections() map[string][2]any {
	ikc := w.ik.Credentials()
	otc := w.ot.Credentials()
	return map[string][2]any{
		"iconik": {"iconik", map[string]any{"base_url": w.ikURL, "app_id": ikc["app_id"], "auth_token": ikc["auth_token"],
			"webhook_secret": iconikSecret, "metadata_view": isb.ViewPatchbay, "poll_lag": "0s", "rate": 200, "burst": 50}},
		"contentstack": {"contentstack", map[string]any{"base_url": w.csURL, "api_key": w.cs.APIKey(), "management_token": w.cs.ManagementToken(),
			"read_rate": 1000, "write_rate": 1000, "bulk_rate": 1000, "rate_limit_backoff": "20ms", "publish_wait": "5s"}},
		"opentext": {"opentext", map[string]any{"base_url": w.otURL, "tenant_id": otc["tenant_id"], "client_id": otc["client_id"],
			"client_secret": otc["client_secret"], "callback_secret": callbackSecret, "rate": 0}},
	}
}

// uc01Params keep the durable waits short enough for tests.
var uc01Params = map[string]string{"review_timeout": "10m", "preview_timeout": "20s"}

var uc08Params = map[string]string{"gate_timeout": "10m", "publish_wait": "10s"}

// configure stores the connections and installs both templates (through
// the template package, as `patchbay template install` does).
func (w *world) configure(t testing.TB, a *app.App) {
	t.Helper()
	ctx := context.Background()
	for name, c := range w.connections() {
		if err := a.PutConnection(ctx, name, c[0].(string), c[1].(map[string]any), "test"); err != nil {
			t.Fatalf("connection %s: %v", name, err)
		}
	}
	if _, err := template.Install(ctx, a, uc01, uc01Params, nil, "test"); err != nil {
		t.Fatalf("installing %s: %v", uc01, err)
	}
	if _, err := template.Install(ctx, a, uc08, uc08Params, nil, "test"); err != nil {
		t.Fatalf("installing %s: %v", uc08, err)
	}
}

// registerWebhooks points the iconik sandbox's webhooks at hookBase
// (patchbay's /hooks/iconik/), as `patchbay connection setup` does.
func registerWebhooks(t testing.TB, a *app.App, hookBase string) {
	t.Helper()
	ctx := context.Background()
	conn, _, err := a.Conns.Get(ctx, "iconik")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.(connector.Setupper).Setup(ctx, &connector.SetupRequest{HookURL: hookBase}); err != nil {
		t.Fatalf("iconik setup: %v", err)
	}
}

func startApp(t testing.TB, w *world) *app.App {
	t.Helper()
	a := apptest.Start(t, app.Config{FetchPollInterval: 50 * time.Millisecond, ReconcileEvery: time.Second})
	w.configure(t, a)
	registerWebhooks(t, a, a.URL()+"/hooks/iconik/")
	return a
}

var waitFor = apptest.WaitFor

// runsOf lists a flow's runs whose trigger object is the asset.
func runsOf(t testing.TB, a runLister, flowName, asset string) []app.RunInfo {
	t.Helper()
	runs, err := a.ListRuns(context.Background(), store.RunFilter{Flow: flowName, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []app.RunInfo
	for _, r := range runs {
		d, err := a.GetRun(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(d.Output), asset) || triggerObject(t, a, r) == "iconik:asset/"+asset {
			out = append(out, r)
		}
	}
	return out
}

type runLister interface {
	ListRuns(ctx context.Context, f store.RunFilter) ([]app.RunInfo, error)
	GetRun(ctx context.Context, id string) (*app.RunDetail, error)
	ListEvents(ctx context.Context, f store.EventFilter, withData bool) ([]app.EventInfo, error)
}

func triggerObject(t testing.TB, a runLister, r app.RunInfo) string {
	t.Helper()
	if r.EventID == "" {
		return ""
	}
	evs, err := a.ListEvents(context.Background(), store.EventFilter{Source: "iconik", Limit: 10000}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.ID == r.EventID {
			return e.Object
		}
	}
	return ""
}

// oneRun waits for exactly one run of flowName for the asset and returns it.
func oneRun(t testing.TB, a runLister, flowName, asset string, d time.Duration) app.RunInfo {
	t.Helper()
	var runs []app.RunInfo
	deadline := time.Now().Add(d)
	for len(runs) == 0 && time.Now().Before(deadline) {
		runs = runsOf(t, a, flowName, asset)
		time.Sleep(25 * time.Millisecond)
	}
	if len(runs) == 0 {
		t.Fatalf("%s did not start for %s within %v; events of the asset:\n%s", flowName, asset, d, dumpEvents(t, a, asset))
	}
	if len(runs) != 1 {
		t.Fatalf("%s ran %d times for %s\n%s", flowName, len(runs), asset, dumpEvents(t, a, asset))
	}
	return runs[0]
}

// waitStatus waits for a run to reach status and fails early on failure.
func waitStatus(t testing.TB, a runLister, id, status string, d time.Duration) *app.RunDetail {
	t.Helper()
	var last *app.RunDetail
	waitFor(t, "run "+id+" to be "+status, d, func() bool {
		r, err := a.GetRun(context.Background(), id)
		if err != nil {
			return false // a restarting child
		}
		last = r
		if r.Status == store.RunFailed && status != store.RunFailed {
			t.Fatalf("run %s failed: %+v\n%s", id, r.Error, timeline(r))
		}
		return r.Status == status
	})
	return last
}

func timeline(d *app.RunDetail) string {
	var b strings.Builder
	for _, s := range d.Steps {
		fmt.Fprintf(&b, "  %s %s attempt %d %s %s\n", s.Step, s.Status, s.Attempt, s.ErrorKind, s.Error)
	}
	return b.String()
}

func output(t testing.TB, d *app.RunDetail) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(d.Output, &out); err != nil {
		t.Fatalf("output %s: %v", d.Output, err)
	}
	return out
}

// stepOutput returns the output of a step's last succeeded record.
func stepOutput(t testing.TB, d *app.RunDetail, step string) map[string]any {
	t.Helper()
	var out map[string]any
	for _, s := range d.Steps {
		if s.Step == step && s.Status == store.StepSucceeded {
			out = nil
			if err := json.Unmarshal(s.Output, &out); err != nil {
				t.Fatal(err)
			}
		}
	}
	if out == nil {
		t.Fatalf("no succeeded step %s in\n%s", step, timeline(d))
	}
	return out
}

// review plays the reviewer through the OpenText sandbox's task API, as a
// script would: find the process's task, claim it, complete it with outcome.
func (w *world) review(t testing.TB, pid, outcome, comment string) {
	t.Helper()
	tok := w.ot.IssueToken(reviewer)
	call := func(method, path string, body any, out any) {
		t.Helper()
		var rd bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = *bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, w.otURL+"/workflow/v1"+path, &rd)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode >= 300 {
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b.String())
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
		t.Fatalf("process %s has %d open tasks", pid, len(list.Embedded.Tasks))
	}
	id := list.Embedded.Tasks[0].ID
	call("POST", "/tasks/"+id, map[string]any{"action": "claim", "assignee": reviewer}, nil)
	vars := []any{}
	if comment != "" {
		vars = append(vars, map[string]any{"name": "comment", "value": comment})
	}
	call("POST", "/tasks/"+id, map[string]any{"action": "complete", "outcome": outcome, "variables": vars}, nil)
}

// newAsset uploads a video as an editor would; the webhook starts UC1.
func (w *world) newAsset(t testing.TB, title string, md map[string]any) string {
	t.Helper()
	id, err := w.ik.UserCreateAsset(title, md)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// awaitReview waits for UC1's run of the asset to park on the review and
// returns the run and the process id.
func awaitReview(t testing.TB, a runLister, asset string, d time.Duration) (string, string) {
	t.Helper()
	r := oneRun(t, a, uc01, asset, d)
	det := waitStatus(t, a, r.ID, store.RunWaiting, d)
	waitFor(t, "the run to wait for the review", d, func() bool {
		det, _ = a.GetRun(context.Background(), r.ID)
		return det != nil && det.Status == store.RunWaiting && len(det.Waits) > 0 && det.Waits[0].Step == "review"
	})
	return r.ID, stepOutput(t, det, "start")["id"].(string)
}

// videoEntry returns the video entry of an asset and how many there are.
func (w *world) videoEntries(asset string) []csb.EntryState {
	var out []csb.EntryState
	for _, uid := range w.cs.EntryUIDs("video") {
		if e, ok := w.cs.Entry("video", uid, ""); ok && e.Fields["iconik_asset_id"] == asset {
			out = append(out, e)
		}
	}
	return out
}

func inCollection(w *world, title, asset string) bool {
	col, ok := w.ik.CollectionByTitle(title, "")
	if !ok {
		return false
	}
	for _, ref := range w.ik.CollectionContents(col.ID) {
		if ref.ObjectID == asset {
			return true
		}
	}
	return false
}

// dumpEvents lists the events of an asset, oldest first, for failure messages.
func dumpEvents(t testing.TB, a runLister, asset string) string {
	evs, err := a.ListEvents(context.Background(), store.EventFilter{Object: "iconik:asset/" + asset, Limit: 1000}, true)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for i := len(evs) - 1; i >= 0; i-- {
		e := evs[i]
		fmt.Fprintf(&b, "  %s %s %s runs=%d %s %s\n", e.ReceivedAt.Format("15:04:05.000"), e.Type, e.Status, e.Runs, e.Reason, truncate(string(e.Data), 300))
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
