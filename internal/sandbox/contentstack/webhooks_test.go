package contentstack

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a webhook endpoint that records what it gets and answers
// with the statuses queued in fail (then 200).
type receiver struct {
	mu    sync.Mutex
	got   []delivered
	fails int
	srv   *httptest.Server
}

type delivered struct {
	at     time.Time
	header http.Header
	raw    []byte
	body   map[string]any
}

func newReceiver(t *testing.T, fails int) *receiver {
	rc := &receiver{fails: fails}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = decodeJSON(raw, &body)
		rc.mu.Lock()
		rc.got = append(rc.got, delivered{at: time.Now(), header: r.Header.Clone(), raw: raw, body: body})
		fail := rc.fails > 0
		if fail {
			rc.fails--
		}
		rc.mu.Unlock()
		if fail {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) all() []delivered {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivered(nil), rc.got...)
}

func (rc *receiver) events() []string {
	var out []string
	for _, d := range rc.all() {
		out = append(out, str(d.body["event"]))
	}
	sort.Strings(out)
	return out
}

// fetchSigningKey gets the public key the way a receiver does: GET
// {app host}/.well-known/public-keys.json and parse "signing-key".
func fetchSigningKey(t *testing.T, baseURL string) *rsa.PublicKey {
	t.Helper()
	res, err := http.Get(baseURL + "/.well-known/public-keys.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var keys map[string]string
	if err := json.NewDecoder(res.Body).Decode(&keys); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(keys["signing-key"]))
	if block == nil || block.Type != "RSA PUBLIC KEY" {
		t.Fatalf("signing-key is not a PKCS#1 PEM: %q", keys["signing-key"])
	}
	pub, err := x509.ParsePKCS1PublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// verify checks X-Contentstack-Request-Signature over the raw body: take the
// part before the first ",", then after "=", base64-decode, RSA-PSS SHA-256
// with salt length 32.
func verify(pub *rsa.PublicKey, header string, body []byte) error {
	part, _, _ := strings.Cut(header, ",")
	_, b64, ok := strings.Cut(part, "=")
	if !ok {
		return errors.New("no v1= in signature header")
	}
	sig, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256})
}

func (h *harness) createWebhook(rc *receiver, channels []string, extra map[string]any) string {
	h.t.Helper()
	dest := map[string]any{"target_url": rc.srv.URL, "http_basic_auth": "user", "http_basic_password": "pass",
		"authentication_type": "Basic", "custom_header": []any{map[string]any{"header_name": "X-Shared", "value": "s3cret"}}}
	wb := map[string]any{"name": "test", "destinations": []any{dest}, "channels": channels, "retry_policy": "automatic",
		"disabled": false, "concise_payload": false, "branches": []any{"main"}}
	for k, v := range extra {
		wb[k] = v
	}
	body := h.do("POST", "/v3/webhooks", map[string]any{"webhook": wb}).must(h.t, 201)
	return str(obj(body["webhook"])["uid"])
}

func TestWebhookSignatureVerifiesWithServedKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	rc := newReceiver(t, 0)
	h.createWebhook(rc, []string{"content_types.entries.create", "content_types.entries.update", "content_types.entries.delete",
		"content_types.entries.environments.publish.success", "content_types.entries.environments.unpublish.success",
		"content_types.entries.workflows"}, nil)
	pub := fetchSigningKey(t, h.srv.URL)

	uid := str(obj(h.do("POST", "/v3/content_types/video/entries", map[string]any{"entry": map[string]any{"title": "Hooked"}}).must(t, 201)["entry"])["uid"])
	h.do("PUT", "/v3/content_types/video/entries/"+uid, map[string]any{"entry": map[string]any{"description": "d"}}).must(t, 200)
	h.do("POST", "/v3/content_types/video/entries/"+uid+"/publish", map[string]any{"entry": map[string]any{"environments": []any{"production"}, "locales": []any{"en-us"}}}).must(t, 200)
	h.flush()
	h.do("POST", "/v3/content_types/video/entries/"+uid+"/unpublish", map[string]any{"entry": map[string]any{"environments": []any{"production"}, "locales": []any{"en-us"}}}).must(t, 200)
	ready, _ := h.s.StageUID("video", StageReadyForMedia)
	h.do("POST", "/v3/content_types/video/entries/"+uid+"/workflow", map[string]any{"workflow": map[string]any{"workflow_stage": map[string]any{"uid": ready}}}).must(t, 200)
	h.do("DELETE", "/v3/content_types/video/entries/"+uid, nil).must(t, 200)
	h.flush()

	want := []string{"create", "delete", "publish", "unpublish", "update", "workflow_stage_change"}
	if got := rc.events(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("events = %v, want %v", got, want)
	}
	for _, d := range rc.all() {
		sig := d.header.Get("X-Contentstack-Request-Signature")
		if !strings.HasPrefix(sig, "v1=") {
			t.Fatalf("signature header = %q", sig)
		}
		if err := verify(pub, sig, d.raw); err != nil {
			t.Fatalf("%s: signature does not verify: %v", d.body["event"], err)
		}
		tampered := append([]byte(nil), d.raw...)
		tampered[len(tampered)-2] ^= 1
		if verify(pub, sig, tampered) == nil {
			t.Fatal("tampered body verified")
		}
		if d.header.Get("User-Agent") != "Contentstack" || d.header.Get("Content-Type") != "application/json" {
			t.Fatalf("headers = %v", d.header)
		}
		if d.header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("user:pass")) || d.header.Get("X-Shared") != "s3cret" {
			t.Fatalf("destination auth/custom header missing: %v", d.header)
		}
		b := d.body
		if b["module"] != "entry" || b["api_key"] != DemoAPIKey || b["triggered_at"] == nil {
			t.Fatalf("payload = %s", d.raw)
		}
		e := obj(obj(b["data"])["entry"])
		if e["uid"] != uid || obj(obj(b["data"])["content_type"])["uid"] != "video" || obj(obj(b["data"])["branch"])["uid"] != "main" {
			t.Fatalf("payload data = %s", d.raw)
		}
		switch b["event"] {
		case "publish", "unpublish":
			data := obj(b["data"])
			if obj(data["environment"])["name"] != "production" || data["status"] != "success" || data["locale"] != "en-us" || data["action"] != b["event"] {
				t.Fatalf("publish payload = %s", d.raw)
			}
		case "workflow_stage_change":
			data := obj(b["data"])
			if obj(data["workflow_stage"])["name"] != StageReadyForMedia || obj(data["previous_workflow_stage"])["name"] != StageDraft ||
				obj(e["_workflow"])["uid"] != ready {
				t.Fatalf("workflow payload = %s", d.raw)
			}
		}
	}
}

func TestConciseAndFullPayloadsMatchSamples(t *testing.T) {
	t.Parallel()
	dir := specsDir(t)
	h := newHarness(t, fast(true))
	full, concise := newReceiver(t, 0), newReceiver(t, 0)
	h.createWebhook(full, []string{"content_types.video.entries.update"}, nil)
	h.createWebhook(concise, []string{"content_types.video.entries.update"}, map[string]any{"concise_payload": true})
	walk, _ := h.s.FindEntry("video", "title", "Product Walkthrough")
	if _, err := h.s.Editor().UpdateEntry("video", walk, "", map[string]any{"description": "edited in the UI"}); err != nil {
		t.Fatal(err)
	}
	h.flush()
	if len(full.all()) != 1 || len(concise.all()) != 1 {
		t.Fatalf("deliveries: full %d concise %d", len(full.all()), len(concise.all()))
	}
	var sampleFull, sampleReq map[string]any
	readJSONFile(t, dir+"/contentstack/webhook-payload.entry-update.json", &sampleFull)
	readJSONFile(t, dir+"/contentstack/webhook-request.entry-update.concise.json", &sampleReq)
	if err := sameShape(sampleFull, full.all()[0].body, "$"); err != nil {
		t.Fatalf("full payload vs webhook-payload.entry-update.json: %v", err)
	}
	sampleConcise := obj(sampleReq["body"])
	got := concise.all()[0].body
	if err := sameShape(sampleConcise, got, "$"); err != nil {
		t.Fatalf("concise payload vs sample: %v", err)
	}
	if err := sameShape(got, sampleConcise, "$"); err != nil {
		t.Fatalf("concise payload has keys the sample lacks: %v", err)
	}
	if d := obj(obj(got["data"])["entry"]); d["uid"] != walk || d["_version"] != json.Number("2") {
		t.Fatalf("concise entry = %v", d)
	}
	for k := range obj(sampleReq["headers"]) {
		if k == "custom" || k == "Authorization" {
			continue
		}
		if concise.all()[0].header.Get(k) == "" {
			t.Errorf("delivered request lacks header %s present in the sample", k)
		}
	}
}

func TestWebhookRetrySchedule(t *testing.T) {
	t.Parallel()
	o := fast(true)
	o.TimeScale = 0.002 // 5 s, 25 s, 125 s → 10 ms, 50 ms, 250 ms
	h := newHarness(t, o)
	rc := newReceiver(t, 3)
	hook := h.createWebhook(rc, []string{"content_types.entries.update"}, nil)
	walk, _ := h.s.FindEntry("video", "title", "Product Walkthrough")
	h.do("PUT", "/v3/content_types/video/entries/"+walk, map[string]any{"entry": map[string]any{"description": "retry me"}}).must(t, 200)
	h.flush()
	got := rc.all()
	if len(got) != 4 {
		t.Fatalf("%d attempts, want 4 (3 failures then success)", len(got))
	}
	gaps := []time.Duration{got[1].at.Sub(got[0].at), got[2].at.Sub(got[1].at), got[3].at.Sub(got[2].at)}
	if gaps[0] < 8*time.Millisecond || gaps[1] < 40*time.Millisecond || gaps[2] < 200*time.Millisecond || gaps[2] < 2*gaps[1] {
		t.Fatalf("retry gaps %v do not follow the scaled 5/25/125 s schedule", gaps)
	}
	for _, d := range got[1:] {
		if string(d.raw) != string(got[0].raw) {
			t.Fatal("a retry sent a different body")
		}
	}
	exs := arr(h.do("GET", "/v3/webhooks/"+hook+"/executions", nil).must(t, 200)["webhooks"])
	if len(exs) != 1 {
		t.Fatalf("executions = %v", exs)
	}
	ex := obj(exs[0])
	if len(arr(ex["request_details"])) != 4 || ex["status"] != json.Number("200") || ex["retry_count"] != json.Number("3") {
		t.Fatalf("execution = %v", ex)
	}
	filtered := arr(h.do("GET", q("/v3/webhooks/"+hook+"/executions", map[string]string{"query": `{"status":{"$gte":"200","$lte":"399"}}`}), nil).must(t, 200)["webhooks"])
	if len(filtered) != 1 {
		t.Fatalf("status query matched %d executions", len(filtered))
	}
	logs := obj(h.do("GET", "/v3/webhooks/"+str(ex["uid"])+"/logs", nil).must(t, 200)["webhook"])
	if obj(logs["request_details"])["retry_number"] != json.Number("3") {
		t.Fatalf("logs = %v", logs)
	}
	h.do("POST", "/v3/webhooks/"+str(ex["uid"])+"/retry", nil).must(t, 200)
	h.flush()
	if len(rc.all()) != 5 {
		t.Fatalf("manual retry did not deliver: %d", len(rc.all()))
	}
}

func TestManualRetryPolicyAndCircuitBreaker(t *testing.T) {
	t.Parallel()
	o := fast(true)
	o.CircuitBreakerThreshold = 3
	h := newHarness(t, o)
	rc := newReceiver(t, 100)
	hook := h.createWebhook(rc, []string{"content_types.entries.update"}, map[string]any{"retry_policy": "manual"})
	walk, _ := h.s.FindEntry("video", "title", "Product Walkthrough")
	for i := range 3 {
		if _, err := h.s.Editor().UpdateEntry("video", walk, "", map[string]any{"description": fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		h.flush()
	}
	if n := len(rc.all()); n != 3 {
		t.Fatalf("%d deliveries, want 3 (manual policy: no automatic retry)", n)
	}
	wh := obj(h.do("GET", "/v3/webhooks/"+hook, nil).must(t, 200)["webhook"])
	if wh["disabled"] != true || obj(wh["unhealthy"])["state"] != true {
		t.Fatalf("after 3 failures the webhook should be unhealthy and disabled: %v", wh)
	}
	if _, err := h.s.Editor().UpdateEntry("video", walk, "", map[string]any{"description": "x"}); err != nil {
		t.Fatal(err)
	}
	h.flush()
	if n := len(rc.all()); n != 3 {
		t.Fatalf("a disabled webhook got a delivery (%d)", n)
	}
	if dests := arr(wh["destinations"]); obj(dests[0])["http_basic_password"] != "********" {
		t.Fatalf("password not masked: %v", dests)
	}
}

func TestWorkflowChannelsAndHMAC(t *testing.T) {
	t.Parallel()
	o := fast(true)
	o.HMACSecrets = []string{"old-key", "new-key"}
	h := newHarness(t, o)
	rc := newReceiver(t, 0)
	wf := obj(arr(h.do("GET", "/v3/workflows", nil).must(t, 200)["workflows"])[0])
	ready, _ := h.s.StageUID("video", StageReadyForMedia)
	review, _ := h.s.StageUID("video", StageInReview)
	h.createWebhook(rc, []string{"content_types.entries.workflows." + str(wf["uid"]) + "." + ready}, nil)
	v3, _ := h.s.FindEntry("video", "title", "Customer Story: Harbour Café")
	if err := h.s.Editor().SetStage("video", v3, "", StageInReview); err != nil {
		t.Fatal(err)
	}
	if err := h.s.Editor().SetStage("video", v3, "", StageReadyForMedia); err != nil {
		t.Fatal(err)
	}
	h.flush()
	got := rc.all()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1 (only entering %q matches)", len(got), StageReadyForMedia)
	}
	d := got[0]
	if prev := obj(obj(d.body["data"])["previous_workflow_stage"]); prev["uid"] != review {
		t.Fatalf("previous stage = %v", prev)
	}
	hdr := d.header.Get("X-Contentstack-Hmac-Signature")
	parts := strings.Split(hdr, ",")
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "t=") {
		t.Fatalf("hmac header = %q", hdr)
	}
	ts := strings.TrimPrefix(parts[0], "t=")
	m := hmac.New(sha256.New, []byte("new-key"))
	m.Write([]byte(ts + "."))
	m.Write(d.raw)
	if want := "v1=" + hex.EncodeToString(m.Sum(nil)); parts[2] != want {
		t.Fatalf("hmac v1 for the second secret = %q, want %q", parts[2], want)
	}
}

func TestPublishWebhookChannels(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	byUID, byName, other := newReceiver(t, 0), newReceiver(t, 0), newReceiver(t, 0)
	prod, _ := h.s.EnvironmentUID("production")
	h.createWebhook(byUID, []string{"content_types.entries.environments." + prod + ".publish.success"}, nil)
	h.createWebhook(byName, []string{"content_types.entries.environments.production.publish.success"}, nil)
	h.createWebhook(other, []string{"content_types.entries.environments.staging.publish.success"}, nil)
	walk, _ := h.s.FindEntry("video", "title", "Product Walkthrough")
	if err := h.s.Editor().Publish("video", walk, "", []string{"production"}, []string{"en-us", "fr-fr"}); err != nil {
		t.Fatal(err)
	}
	h.flush()
	if len(byUID.all()) != 2 || len(byName.all()) != 2 || len(other.all()) != 0 {
		t.Fatalf("deliveries: by uid %d, by name %d, staging %d", len(byUID.all()), len(byName.all()), len(other.all()))
	}
}

func TestBearerAndOAuth2Destinations(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	rc := newReceiver(t, 0)
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_id") != "cid" {
			w.WriteHeader(400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"tok-123","token_type":"bearer"}`))
	}))
	defer tokens.Close()
	for _, dest := range []map[string]any{
		{"target_url": rc.srv.URL + "/bearer", "authentication_type": "Bearer", "bearer_token": "b-456"},
		{"target_url": rc.srv.URL + "/oauth", "authentication_type": "OAuth2", "access_token_url": tokens.URL, "client_id": "cid", "client_secret": "cs", "request_query_parameters": "="},
	} {
		h.do("POST", "/v3/webhooks", map[string]any{"webhook": map[string]any{"name": "auth", "destinations": []any{dest},
			"channels": []any{"assets.create", "content_types.entries.create"}}}).must(t, 201)
	}
	if _, err := h.s.Editor().CreateEntry("video", "", map[string]any{"title": "Auth test"}); err != nil {
		t.Fatal(err)
	}
	h.flush()
	auths := map[string]bool{}
	for _, d := range rc.all() {
		auths[d.header.Get("Authorization")] = true
	}
	if !auths["Bearer b-456"] || !auths["Bearer tok-123"] {
		t.Fatalf("authorization headers = %v", auths)
	}
}

func TestFaultInjectedWebhookFailureIsRetried(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	rc := newReceiver(t, 0)
	h.createWebhook(rc, []string{"content_types.entries.update"}, nil)
	put, _ := http.NewRequest("PUT", h.srv.URL+"/_sandbox/faults", strings.NewReader(`{"fail_webhooks":2}`))
	if res, err := http.DefaultClient.Do(put); err != nil || res.StatusCode != 200 {
		t.Fatalf("setting faults: %v %v", err, res)
	}
	walk, _ := h.s.FindEntry("video", "title", "Product Walkthrough")
	if _, err := h.s.Editor().UpdateEntry("video", walk, "", map[string]any{"description": "fault"}); err != nil {
		t.Fatal(err)
	}
	h.flush()
	if n := len(rc.all()); n != 1 {
		t.Fatalf("receiver got %d deliveries, want 1 after two injected failures", n)
	}
	if n := len(h.s.Kit().Webhooks.Log()); n != 3 {
		t.Fatalf("delivery log has %d attempts, want 3", n)
	}
}

func TestBadSignatureFault(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	rc := newReceiver(t, 0)
	h.createWebhook(rc, []string{"content_types.entries.update"}, nil)
	pub := fetchSigningKey(t, h.srv.URL)
	res, err := http.Post(h.srv.URL+"/_sandbox/bad-signatures?count=1", "", nil)
	if err != nil || res.StatusCode != 204 {
		t.Fatalf("bad-signatures: %v %v", err, res)
	}
	walk, _ := h.s.FindEntry("video", "title", "Product Walkthrough")
	for i := range 2 {
		if _, err := h.s.Editor().UpdateEntry("video", walk, "", map[string]any{"description": fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
		h.flush()
	}
	got := rc.all()
	if len(got) != 2 {
		t.Fatalf("%d deliveries", len(got))
	}
	if verify(pub, got[0].header.Get("X-Contentstack-Request-Signature"), got[0].raw) == nil {
		t.Fatal("first delivery should carry a signature that does not verify")
	}
	if err := verify(pub, got[1].header.Get("X-Contentstack-Request-Signature"), got[1].raw); err != nil {
		t.Fatalf("second delivery should verify: %v", err)
	}
}
