package sandbox_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox"
)

func start(t *testing.T, opts sandbox.Options) *sandbox.Sandboxes {
	t.Helper()
	s, err := sandbox.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// call makes a request and decodes a JSON answer into out (when not nil).
func call(t *testing.T, method, url string, headers map[string]string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
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
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, url, b, err)
		}
	}
	return resp.StatusCode
}

// TestStartServesAllThreeWithInfoCredentials proves that the three
// sandboxes answer on the URLs of Info with its credentials (and refuse
// others), that they are seeded, and that each hands out its own URL.
func TestStartServesAllThreeWithInfoCredentials(t *testing.T) {
	t.Parallel()
	s := start(t, sandbox.Options{IconikAssets: 5})
	in := s.Info()
	for _, u := range []string{in.Iconik.URL, in.Contentstack.URL, in.OpenText.URL} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Fatalf("sandbox URL %q is not on loopback", u)
		}
	}

	// iconik: App-ID and Auth-Token; the seeded assets; 401 without them.
	ih := map[string]string{"App-ID": in.Iconik.AppID, "Auth-Token": in.Iconik.AuthToken}
	var assets struct {
		Objects []map[string]any `json:"objects"`
	}
	if code := call(t, "GET", in.Iconik.URL+"/API/assets/v1/assets/", ih, nil, &assets); code != 200 || len(assets.Objects) != 5 {
		t.Fatalf("iconik assets: %d, %d assets", code, len(assets.Objects))
	}
	if code := call(t, "GET", in.Iconik.URL+"/API/assets/v1/assets/", nil, nil, nil); code != 401 {
		t.Fatalf("iconik without credentials: %d, want 401", code)
	}
	if in.Iconik.MetadataView != "patchbay" || s.Iconik.ViewID(in.Iconik.MetadataView) == "" {
		t.Fatalf("iconik metadata view %q not seeded", in.Iconik.MetadataView)
	}
	if s.Iconik.URL() != in.Iconik.URL {
		t.Fatalf("iconik believes its URL is %q, not %q", s.Iconik.URL(), in.Iconik.URL)
	}

	// Contentstack: api_key + management token; the video content type; the public key.
	ch := map[string]string{"api_key": in.Contentstack.APIKey, "authorization": in.Contentstack.ManagementToken}
	var ct map[string]any
	if code := call(t, "GET", in.Contentstack.URL+"/v3/content_types/video", ch, nil, &ct); code != 200 {
		t.Fatalf("contentstack content type video: %d", code)
	}
	if code := call(t, "GET", in.Contentstack.URL+"/v3/content_types/video", map[string]string{"api_key": in.Contentstack.APIKey, "authorization": "wrong"}, nil, nil); code < 400 || code >= 500 {
		t.Fatalf("contentstack with a wrong token: %d, want 4xx", code)
	}
	var keys any
	if code := call(t, "GET", in.Contentstack.PublicKeyURL, nil, nil, &keys); code != 200 {
		t.Fatalf("contentstack public key: %d", code)
	}

	// OpenText: a token by client credentials, then the seeded media_review model; the inbox.
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	body := map[string]string{"grant_type": "client_credentials", "client_id": in.OpenText.ClientID, "client_secret": in.OpenText.ClientSecret}
	if code := call(t, "POST", in.OpenText.TokenURL, nil, body, &tok); code != 200 || tok.AccessToken == "" {
		t.Fatalf("opentext token: %d", code)
	}
	var models struct {
		Embedded struct {
			Models []struct {
				Key string `json:"key"`
			} `json:"models"`
		} `json:"_embedded"`
	}
	if code := call(t, "GET", in.OpenText.URL+"/workflow/v1/runtime/models?latestVersion=true", map[string]string{"Authorization": "Bearer " + tok.AccessToken}, nil, &models); code != 200 {
		t.Fatalf("opentext models: %d", code)
	}
	found := false
	for _, m := range models.Embedded.Models {
		found = found || m.Key == "media_review"
	}
	if !found {
		t.Fatalf("opentext sandbox has no media_review model: %+v", models)
	}
	if code := call(t, "GET", in.OpenText.URL+"/workflow/v1/runtime/models", nil, nil, nil); code != 401 {
		t.Fatalf("opentext without a token: %d, want 401", code)
	}
	resp, err := http.Get(in.OpenText.InboxURL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("inbox: %v %v", err, resp)
	}
	resp.Body.Close()

	// Info's JSON form uses the real APIs' names.
	b, _ := json.Marshal(in)
	for _, k := range []string{`"iconik"`, `"app_id"`, `"auth_token"`, `"contentstack"`, `"api_key"`, `"management_token"`, `"opentext"`, `"tenant_id"`, `"client_id"`, `"client_secret"`} {
		if !bytes.Contains(b, []byte(k)) {
			t.Errorf("Info JSON lacks %s: %s", k, b)
		}
	}
}

// TestCloseStopsListenersAndWritesSnapshots proves Close is idempotent,
// frees the ports, and keeps state across a restart with SnapshotDir.
func TestCloseStopsListenersAndWritesSnapshots(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := sandbox.Start(sandbox.Options{IconikAssets: 3, SnapshotDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	in := s.Info()
	id, err := s.Iconik.UserCreateAsset("Kept across restarts", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	for _, u := range []string{in.Iconik.URL, in.Contentstack.URL, in.OpenText.URL} {
		c, err := net.Dial("tcp", strings.TrimPrefix(u, "http://"))
		if err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Close", u)
		}
	}
	for _, f := range []string{"iconik.json", "contentstack.json", "opentext.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("snapshot %s: %v", f, err)
		}
	}
	again := start(t, sandbox.Options{SnapshotDir: dir})
	if _, ok := again.Iconik.Asset(id); !ok {
		t.Fatalf("asset %s lost across a restart with SnapshotDir", id)
	}
}

// TestSnapshotsSurviveACrash: with SnapshotDir, changed state is saved
// every SnapshotEvery without Close, so a sandbox killed without closing
// (kill -9 of `patchbay up --demo`) starts again with it; unchanged state
// is not written again.
func TestSnapshotsSurviveACrash(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := start(t, sandbox.Options{IconikAssets: 2, SnapshotDir: dir, SnapshotEvery: 20 * time.Millisecond})
	id, err := s.Iconik.UserCreateAsset("Saved before the crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "iconik.json")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), id) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("asset %s not in %s within 10s without Close", id, path)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Idle: nothing is written again.
	time.Sleep(100 * time.Millisecond)
	before := map[string]time.Time{}
	for _, f := range []string{"iconik.json", "contentstack.json", "opentext.json"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("snapshot %s: %v", f, err)
		}
		before[f] = fi.ModTime()
	}
	time.Sleep(150 * time.Millisecond)
	for f, m := range before {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || !fi.ModTime().Equal(m) {
			t.Errorf("%s written again with nothing changed", f)
		}
	}
	// The crash: copy the files as they are (s is not closed) and start
	// from the copy.
	crashed := t.TempDir()
	for f := range before {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	again := start(t, sandbox.Options{SnapshotDir: crashed, SnapshotEvery: -1})
	if _, ok := again.Iconik.Asset(id); !ok {
		t.Fatalf("asset %s lost in the crash", id)
	}
}

// TestBusyPortFallsBack proves AnyPortIfBusy: a taken fixed port gives a
// free one instead of an error, and without the option Start fails.
func TestBusyPortFallsBack(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	if s, err := sandbox.Start(sandbox.Options{NoSeed: true, IconikAddr: busy}); err == nil {
		s.Close()
		t.Fatal("Start on a busy port succeeded")
	}
	s := start(t, sandbox.Options{NoSeed: true, IconikAddr: busy, AnyPortIfBusy: true})
	if s.Info().Iconik.URL == "http://"+busy {
		t.Fatal("the busy port was reused")
	}
}
