package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/cli"
	"github.com/patchbay/patchbay/internal/connector/opentext"
	"github.com/patchbay/patchbay/internal/sandbox"
	"github.com/patchbay/patchbay/templates"
)

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// background runs a long-running command until the test cancels it, and
// checks that it then exits 0 within 30 s.
func background(t *testing.T, args ...string) (out, errs *syncBuffer, stop func()) {
	t.Helper()
	out, errs = &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- cli.Main(ctx, args, out, errs) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Errorf("%v exited %d; stderr:\n%s", args, code, errs.String())
				}
			case <-time.After(30 * time.Second):
				t.Errorf("%v did not stop within 30 s of Ctrl-C", args)
			}
		})
	}
	t.Cleanup(stop)
	return out, errs, stop
}

func waitUntil(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// httpJSON makes a request and decodes a 2xx JSON answer into out.
func httpJSON(t *testing.T, method, u string, headers map[string]string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		t.Logf("%s %s: %d %s", method, u, resp.StatusCode, b)
	} else if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, u, b, err)
		}
	}
	return resp.StatusCode
}

type demoFile struct {
	Patchbay struct {
		URL      string `json:"url"`
		APIToken string `json:"api_token"`
	} `json:"patchbay"`
	sandbox.Info
}

type runRow struct {
	ID     string `json:"id"`
	Flow   string `json:"flow"`
	Status string `json:"status"`
}

// runs lists the runs of a flow through `patchbay run ls --json`, as a user would.
func runs(t *testing.T, data, flow string) []runRow {
	t.Helper()
	code, out, errs := run(t, "--data", data, "--json", "run", "ls", "--flow", flow)
	if code != 0 {
		t.Fatalf("run ls: %d %s", code, errs)
	}
	var rs []runRow
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("run ls: %v: %s", err, out)
	}
	return rs
}

// TestDemoGuidedPath starts `patchbay up --demo` on a temporary data
// directory and follows the printed guided path by script: demo.json names
// patchbay and the three sandboxes with their credentials; a video created
// through the iconik sandbox's API starts UC1, which parks on the OpenText
// review; approving through the OpenText task API (password grant, claim,
// complete with outcome approved) makes iconik show the version APPROVED
// and review_status Released, and UC8 upserts and publishes the video entry
// in Contentstack; the run timelines and the asset's audit trail are
// listed; the generic webhook demo still works; Ctrl-C stops it all.
func TestDemoGuidedPath(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	t0 := time.Now()
	out, _, stop := background(t, "--data", data, "--log-level", "warn", "up", "--demo", "--addr", "127.0.0.1:0")
	var d demoFile
	waitUntil(t, "demo.json and the guided path", 30*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(data, "demo.json"))
		return err == nil && json.Unmarshal(b, &d) == nil && strings.Contains(out.String(), "Press Ctrl-C")
	})
	t.Logf("up --demo ready in %s", time.Since(t0).Round(time.Millisecond))
	guide := out.String()
	for _, want := range []string{"demo ingest", d.OpenText.InboxURL, "demo approve", "run ls", "audit ls --object iconik:asset/", "/hooks/demo-in/webhook"} {
		if !strings.Contains(guide, want) {
			t.Errorf("guided path lacks %q:\n%s", want, guide)
		}
	}
	if d.Patchbay.URL == "" || d.Patchbay.APIToken == "" || d.Iconik.AppID == "" || d.Iconik.AuthToken == "" ||
		d.Contentstack.APIKey == "" || d.Contentstack.ManagementToken == "" ||
		d.OpenText.TenantID == "" || d.OpenText.ClientID == "" || d.OpenText.ClientSecret == "" {
		t.Fatalf("demo.json is incomplete: %+v", d)
	}
	for _, u := range []string{d.Patchbay.URL, d.Iconik.URL, d.Contentstack.URL, d.OpenText.URL} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Fatalf("%s is not on loopback", u)
		}
	}

	// The generic demo flow is still there.
	if code := httpJSON(t, "POST", d.Patchbay.URL+"/hooks/demo-in/webhook", nil, map[string]any{"id": "a1", "title": "hello"}, nil); code != 202 {
		t.Fatalf("generic demo webhook: %d", code)
	}

	// 1. Ingest: create a video asset through the iconik API.
	ih := map[string]string{"App-ID": d.Iconik.AppID, "Auth-Token": d.Iconik.AuthToken}
	var asset struct {
		ID string `json:"id"`
	}
	if code := httpJSON(t, "POST", d.Iconik.URL+"/API/assets/v1/assets/", ih, map[string]any{"title": "Spring teaser", "type": "ASSET"}, &asset); code != 201 && code != 200 {
		t.Fatalf("creating the asset: %d", code)
	}

	// 2. UC1 parks on the review; the task is in OpenText.
	var uc1 runRow
	waitUntil(t, "the UC1 run to wait for the review", 60*time.Second, func() bool {
		for _, r := range runs(t, data, "uc01-media-review-approval") {
			if r.Status == "failed" {
				t.Fatalf("UC1 run %s failed: %s", r.ID, mustRun(t, data, "run", "show", r.ID))
			}
			if r.Status == "waiting" {
				uc1 = r
				return true
			}
		}
		return false
	})
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	reviewer := d.OpenText.Username
	if code := httpJSON(t, "POST", d.OpenText.TokenURL, nil, map[string]string{"grant_type": "password", "client_id": d.OpenText.ClientID,
		"client_secret": d.OpenText.ClientSecret, "username": reviewer, "password": d.OpenText.Password}, &tok); code != 200 {
		t.Fatalf("OpenText token: %d", code)
	}
	oh := map[string]string{"Authorization": "Bearer " + tok.AccessToken}
	var tasks struct {
		Embedded struct {
			Tasks []struct {
				ID string `json:"id"`
			} `json:"tasks"`
		} `json:"_embedded"`
	}
	q := url.Values{"processInstanceBusinessKeyLike": {"iconik:" + asset.ID + ":%"}}
	waitUntil(t, "the review task", 20*time.Second, func() bool {
		httpJSON(t, "GET", d.OpenText.URL+"/workflow/v1/tasks?"+q.Encode(), oh, nil, &tasks)
		return len(tasks.Embedded.Tasks) == 1
	})
	task := d.OpenText.URL + "/workflow/v1/tasks/" + tasks.Embedded.Tasks[0].ID

	// 3. Approve: claim, then complete with outcome approved.
	if code := httpJSON(t, "POST", task, oh, map[string]any{"action": "claim", "assignee": reviewer}, nil); code != 200 && code != 204 {
		t.Fatalf("claim: %d", code)
	}
	if code := httpJSON(t, "POST", task, oh, map[string]any{"action": "complete", "outcome": "approved",
		"variables": []any{map[string]any{"name": "comment", "value": "Looks good."}}}, nil); code != 200 && code != 204 {
		t.Fatalf("complete: %d", code)
	}

	// 4. UC1 writes the decision to iconik; UC8 publishes the entry.
	waitUntil(t, "the UC1 run to succeed", 60*time.Second, func() bool {
		for _, r := range runs(t, data, "uc01-media-review-approval") {
			if r.ID == uc1.ID {
				if r.Status == "failed" {
					t.Fatalf("UC1 failed: %s", mustRun(t, data, "run", "show", r.ID))
				}
				return r.Status == "succeeded"
			}
		}
		return false
	})
	var approval struct {
		Status      string `json:"status"`
		VersionID   string `json:"version_id"`
		ApprovalsBy []struct {
			Status   string `json:"status"`
			External string `json:"external"`
		} `json:"approvals_by"`
	}
	var versions struct {
		Objects []struct {
			ID string `json:"id"`
		} `json:"versions"`
	}
	httpJSON(t, "GET", d.Iconik.URL+"/API/assets/v1/assets/"+asset.ID+"/", ih, nil, &versions)
	httpJSON(t, "GET", d.Iconik.URL+"/API/assets/v1/assets/"+asset.ID+"/approvals/request/", ih, nil, &approval)
	if approval.Status != "APPROVED" || len(versions.Objects) != 1 || approval.VersionID != versions.Objects[0].ID {
		t.Errorf("iconik approval of the asset: %+v, want APPROVED on its version %+v", approval, versions)
	}
	if len(approval.ApprovalsBy) != 1 || approval.ApprovalsBy[0].External != reviewer {
		t.Errorf("the approval is not recorded for the reviewer %s: %+v", reviewer, approval.ApprovalsBy)
	}
	var md struct {
		MetadataValues map[string]struct {
			FieldValues []struct {
				Value any `json:"value"`
			} `json:"field_values"`
		} `json:"metadata_values"`
	}
	httpJSON(t, "GET", d.Iconik.URL+"/API/metadata/v1/assets/"+asset.ID+"/", ih, nil, &md)
	if fv := md.MetadataValues["review_status"].FieldValues; len(fv) != 1 || fv[0].Value != "Released" {
		t.Errorf("iconik review_status: %+v, want Released", fv)
	}

	waitUntil(t, "the UC8 run to succeed", 60*time.Second, func() bool {
		rs := runs(t, data, "uc08-approved-video-to-contentstack")
		for _, r := range rs {
			if r.Status == "failed" {
				t.Fatalf("UC8 failed: %s", mustRun(t, data, "run", "show", r.ID))
			}
		}
		return len(rs) > 0 && rs[0].Status == "succeeded"
	})
	ch := map[string]string{"api_key": d.Contentstack.APIKey, "authorization": d.Contentstack.ManagementToken}
	var entries struct {
		Entries []struct {
			UID            string           `json:"uid"`
			Title          string           `json:"title"`
			PublishDetails []map[string]any `json:"publish_details"`
		} `json:"entries"`
	}
	eq := url.Values{"query": {`{"iconik_asset_id":"` + asset.ID + `"}`}, "include_publish_details": {"true"}}
	waitUntil(t, "the published video entry", 20*time.Second, func() bool {
		httpJSON(t, "GET", d.Contentstack.URL+"/v3/content_types/video/entries?"+eq.Encode(), ch, nil, &entries)
		return len(entries.Entries) == 1 && len(entries.Entries[0].PublishDetails) > 0
	})
	if entries.Entries[0].Title != "Spring teaser" {
		t.Errorf("entry title %q", entries.Entries[0].Title)
	}

	// 5. The same, as the guided path's commands show it.
	code, show, _ := run(t, "--data", data, "demo", "show", asset.ID)
	if code != 0 || !strings.Contains(show, "approval: APPROVED") || !strings.Contains(show, "review_status: Released") || !strings.Contains(show, entries.Entries[0].UID) {
		t.Errorf("demo show: %d\n%s", code, show)
	}
	if tl := mustRun(t, data, "run", "show", uc1.ID); !strings.Contains(tl, "succeeded") {
		t.Errorf("run show:\n%s", tl)
	}
	code, auditOut, errOut := run(t, "--data", data, "--json", "audit", "ls", "--object", "iconik:asset/"+asset.ID)
	var trail []map[string]any
	if code != 0 || json.Unmarshal([]byte(auditOut), &trail) != nil || len(trail) == 0 {
		t.Errorf("audit ls: %d %s %s", code, auditOut, errOut)
	}
	systems := map[string]bool{}
	for _, e := range trail {
		objs, _ := e["objects"].([]any)
		for _, o := range objs {
			s, _ := o.(string)
			systems[strings.SplitN(s, ":", 2)[0]] = true
		}
	}
	for _, want := range []string{"iconik", "opentext", "contentstack"} {
		if !systems[want] {
			t.Errorf("the asset's audit trail touches no %s object (%d entries, systems %v)", want, len(trail), systems)
		}
	}
	t.Logf("guided path done in %s (audit entries: %d)", time.Since(t0).Round(time.Millisecond), len(trail))

	// The same path through the helper commands, rejecting this time.
	code, idOut, errOut := run(t, "--data", data, "demo", "ingest", "Rejected cut", "--type", "Promo", "--region", "EMEA")
	second := strings.TrimSpace(idOut)
	if code != 0 || second == "" {
		t.Fatalf("demo ingest: %d %q %s", code, idOut, errOut)
	}
	if code, out, errOut := run(t, "--data", data, "demo", "approve", second, "--outcome", "rejected", "--comment", "Logo too small"); code != 0 || !strings.Contains(out, "outcome rejected") {
		t.Fatalf("demo approve: %d %q %s", code, out, errOut)
	}
	waitUntil(t, "the rejection in iconik", 30*time.Second, func() bool {
		approval.Status = ""
		httpJSON(t, "GET", d.Iconik.URL+"/API/assets/v1/assets/"+second+"/approvals/request/", ih, nil, &approval)
		return approval.Status == "NOT_APPROVED"
	})
	t.Logf("rejection path through demo ingest/approve done in %s", time.Since(t0).Round(time.Millisecond))
	stop()
}

// TestDemoDeploysTheTemplatesModel guards the demo's shortcut: it deploys
// the review process with the opentext connection's setup_models
// (media_review), which must be the very model the UC1 template ships.
func TestDemoDeploysTheTemplatesModel(t *testing.T) {
	t.Parallel()
	shipped, ok := templates.Model("media_review")
	if !ok {
		t.Fatal("the templates ship no media_review model")
	}
	bundled, ok := opentext.BundledModel("media_review")
	if !ok || !bytes.Equal(shipped, bundled) {
		t.Fatal("templates/models/media_review.otwf differs from the opentext connector's bundled media_review, which up --demo deploys")
	}
}

// mustRun runs a client command and returns its output.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	full := append([]string{"--data"}, args...)
	code, out, errs := run(t, full...)
	if code != 0 {
		t.Fatalf("%v: %d %s", args, code, errs)
	}
	return out
}

// TestSandboxCommandJSON starts `patchbay sandbox --json` and checks that
// the first line of its output is the sandboxes' JSON object and that the
// credentials it prints work; Ctrl-C stops it.
func TestSandboxCommandJSON(t *testing.T) {
	t.Parallel()
	out, _, stop := background(t, "--json", "sandbox", "--addr", "127.0.0.1:0", "--assets", "3")
	var in sandbox.Info
	waitUntil(t, "the first line", 20*time.Second, func() bool {
		line, err := bufio.NewReader(strings.NewReader(out.String())).ReadString('\n')
		return err == nil && json.Unmarshal([]byte(line), &in) == nil
	})
	var raw map[string]map[string]any
	line, _ := bufio.NewReader(strings.NewReader(out.String())).ReadString('\n')
	if err := json.Unmarshal([]byte(line), &raw); err != nil {
		t.Fatal(err)
	}
	for sys, keys := range map[string][]string{"iconik": {"url", "app_id", "auth_token"}, "contentstack": {"url", "api_key", "management_token"},
		"opentext": {"url", "tenant_id", "client_id", "client_secret"}} {
		for _, k := range keys {
			if s, _ := raw[sys][k].(string); s == "" {
				t.Errorf("%s.%s missing in %s", sys, k, line)
			}
		}
	}
	var assets struct {
		Objects []any `json:"objects"`
	}
	if code := httpJSON(t, "GET", in.Iconik.URL+"/API/assets/v1/assets/", map[string]string{"App-ID": in.Iconik.AppID, "Auth-Token": in.Iconik.AuthToken}, nil, &assets); code != 200 || len(assets.Objects) != 3 {
		t.Fatalf("iconik sandbox: %d with %d assets", code, len(assets.Objects))
	}
	if code := httpJSON(t, "GET", in.Contentstack.URL+"/v3/content_types/video", map[string]string{"api_key": in.Contentstack.APIKey, "authorization": in.Contentstack.ManagementToken}, nil, nil); code != 200 {
		t.Fatalf("contentstack sandbox: %d", code)
	}
	stop()
}
