package contentstack

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/fault"
	sandbox "github.com/patchbay/patchbay/internal/sandbox/contentstack"
)

// hooked is a sandbox whose webhook (registered by Setup) posts to a capture server.
func hooked(t *testing.T, o sandbox.Options, extra map[string]any) (*env, *Conn, *capture) {
	t.Helper()
	e := newEnv(t, o)
	c := e.open(extra)
	cap := newCapture(t)
	if _, err := c.Setup(context.Background(), &connector.SetupRequest{HookURL: cap.srv.URL + "/hooks/cms/"}); err != nil {
		t.Fatalf("setup: %v", err)
	}
	return e, c, cap
}

// TestWriteHashMatchesWebhookEvent is the echo-suppression contract: what
// an action reports as written (Object, Hash) equals what entry_events
// makes of the webhook Contentstack sends for that same change, with full
// and concise payloads.
func TestWriteHashMatchesWebhookEvent(t *testing.T) {
	t.Parallel()
	for _, concise := range []bool{true, false} {
		name := "full"
		if concise {
			name = "concise"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o := fastSandbox()
			o.TimeScale = 0.01
			e, c, cap := hooked(t, o, map[string]any{"concise_payload": concise})
			check := func(what string, w connector.Write, wantType string) connector.Event {
				t.Helper()
				e.flush()
				evs := receive(t, c, cap.all())
				cap.reset()
				var got []connector.Event
				for _, ev := range evs {
					if ev.Type == wantType {
						got = append(got, ev)
					}
				}
				if len(got) != 1 {
					t.Fatalf("%s: %d %s events of %d: %+v", what, len(got), wantType, len(evs), evs)
				}
				ev := got[0]
				if ev.Object != w.Object || ev.Hash != w.Hash || ev.Hash == "" {
					t.Fatalf("%s: event %s %s v%s, write %s %s v%s", what, ev.Object, ev.Hash, ev.Version, w.Object, w.Hash, w.Version)
				}
				if (wantType == EventCreated || wantType == EventUpdated) && ev.Version != w.Version {
					t.Errorf("%s: event version %s, write version %s", what, ev.Version, w.Version)
				}
				if wantType != EventCreated && wantType != EventUpdated && ev.Version != "" {
					t.Errorf("%s: a %s event carries version %s (only content events do)", what, wantType, ev.Version)
				}
				return ev
			}
			fields := map[string]any{"title": "Echo " + name, "iconik_asset_id": "echo-" + name,
				"rights":        map[string]any{"rights_status": "Cleared", "territories": []any{"WW"}},
				"iconik_assets": []any{map[string]any{"id": "echo", "title": "Echo", "$weird": "key"}}, "poster": nil}
			r := mustDo(t, c, "upsert_entry", map[string]any{"content_type": "video", "match": "iconik_asset_id", "fields": fields})
			ev := check("create", r.Writes[0], EventCreated)
			if ev.Data["concise"] != concise || (concise && ev.Data["refetched"] != true) {
				t.Errorf("create event data: concise %v refetched %v", ev.Data["concise"], ev.Data["refetched"])
			}
			fields["preview_url"] = "https://cdn.example.com/echo.mp4"
			fields["rights"] = map[string]any{"rights_status": "Restricted"}
			r = mustDo(t, c, "upsert_entry", map[string]any{"content_type": "video", "match": "iconik_asset_id", "fields": fields})
			if r.Writes[0].Op != "update" {
				t.Fatalf("second upsert wrote %+v", r.Writes)
			}
			check("update", r.Writes[0], EventUpdated)
			uid := out(r)["uid"].(string)
			r = mustDo(t, c, "update_entry", map[string]any{"entry": Ref("video", uid), "fields": map[string]any{"iconik_assets.0.title": "Echo 2"}})
			check("update by path", r.Writes[0], EventUpdated)

			r = mustDo(t, c, "publish_entry", map[string]any{"entry": Ref("video", uid), "environments": []any{"production"}})
			check("publish", r.Writes[0], EventPublished)
			r = mustDo(t, c, "set_workflow_stage", map[string]any{"entry": Ref("video", uid), "stage": sandbox.StageInReview})
			ev = check("stage", r.Writes[0], EventStageChanged)
			if st := ev.Data["stage"].(map[string]any); st["name"] != sandbox.StageInReview {
				t.Errorf("stage event data %v", ev.Data)
			}
			r = mustDo(t, c, "unpublish_entry", map[string]any{"entry": Ref("video", uid), "environments": []any{"production"}})
			check("unpublish", r.Writes[0], EventUnpublished)
			r = mustDo(t, c, "delete_entry", map[string]any{"entry": Ref("video", uid)})
			check("delete", r.Writes[0], EventDeleted)
		})
	}
}

// A person's change is not mistaken for patchbay's: the hash differs.
func TestEditorChangeHashDiffers(t *testing.T) {
	t.Parallel()
	e, c, cap := hooked(t, fastSandbox(), nil)
	r := mustDo(t, c, "upsert_entry", map[string]any{"content_type": "video", "match": "iconik_asset_id",
		"fields": map[string]any{"title": "Mine", "iconik_asset_id": "mine"}})
	uid := out(r)["uid"].(string)
	e.flush()
	cap.reset()
	if _, err := e.s.Editor().UpdateEntry("video", uid, "", map[string]any{"captions": "person"}); err != nil {
		t.Fatal(err)
	}
	e.flush()
	evs := receive(t, c, cap.all())
	if len(evs) != 1 || evs[0].Type != EventUpdated || evs[0].Hash == r.Writes[0].Hash || evs[0].Version != "2" {
		t.Fatalf("editor event %+v vs write %s", evs, r.Writes[0].Hash)
	}
	// The same delivery twice has the same id (the ingest dedupes it).
	again := receive(t, c, cap.all())
	if again[0].ID != evs[0].ID || !strings.HasPrefix(evs[0].ID, "cs:") {
		t.Errorf("ids %s / %s", evs[0].ID, again[0].ID)
	}
}

func TestReceiveRejectsWhatDoesNotVerify(t *testing.T) {
	t.Parallel()
	e, c, cap := hooked(t, fastSandbox(), nil)
	uid := e.uid("video", "Product Walkthrough")
	e.s.BadSignatures(1)
	if _, err := e.s.Editor().UpdateEntry("video", uid, "", map[string]any{"captions": "x"}); err != nil {
		t.Fatal(err)
	}
	e.flush()
	reqs := cap.all()
	if len(reqs) != 1 {
		t.Fatalf("%d deliveries", len(reqs))
	}
	good := *reqs[0]
	tamper := func(f func(r *connector.WebhookRequest)) *connector.WebhookRequest {
		r := good
		r.Header = good.Header.Clone()
		r.Body = append([]byte(nil), good.Body...)
		f(&r)
		return &r
	}
	// The sandbox's bad-signature helper: well formed, does not verify.
	_, err := c.Receive(context.Background(), "entry_events", &good)
	if fault.KindOf(err) != fault.Unauthorized || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("bad signature: %v (kind %v)", err, fault.KindOf(err))
	}
	// A good delivery, then variations of it.
	cap.reset()
	if _, err := e.s.Editor().UpdateEntry("video", uid, "", map[string]any{"captions": "y"}); err != nil {
		t.Fatal(err)
	}
	e.flush()
	good = *cap.all()[0]
	if _, err := c.Receive(context.Background(), "entry_events", &good); err != nil {
		t.Fatalf("good delivery: %v", err)
	}
	tests := []struct {
		name string
		req  *connector.WebhookRequest
	}{
		{"no signature", tamper(func(r *connector.WebhookRequest) { r.Header.Del("X-Contentstack-Request-Signature") })},
		{"body changed", tamper(func(r *connector.WebhookRequest) {
			r.Body = []byte(strings.Replace(string(r.Body), `"update"`, `"delete"`, 1))
		})},
		{"not base64", tamper(func(r *connector.WebhookRequest) { r.Header.Set("X-Contentstack-Request-Signature", "v1=???") })},
	}
	for _, tt := range tests {
		_, err := c.Receive(context.Background(), "entry_events", tt.req)
		if fault.KindOf(err) != fault.Unauthorized {
			t.Errorf("%s: %v (kind %v)", tt.name, err, fault.KindOf(err))
		}
	}
	// Another stack's delivery, correctly signed, is refused too.
	other := e.open(map[string]any{"api_key": "blt_other_stack"})
	if _, err := other.Receive(context.Background(), "entry_events", &good); fault.KindOf(err) != fault.Unauthorized {
		t.Errorf("other stack: %v", err)
	}
	// A key that cannot be fetched is not the sender's fault: transient (Contentstack retries).
	nokey := e.open(map[string]any{"app_url": "http://127.0.0.1:1"})
	if _, err := nokey.Receive(context.Background(), "entry_events", &good); fault.KindOf(err) != fault.Transient {
		t.Errorf("no key: %v (kind %v)", err, fault.KindOf(err))
	}
}

func TestReceiveHMACTokenAndMaxAge(t *testing.T) {
	t.Parallel()
	o := fastSandbox()
	o.HMACSecrets = []string{"new-secret", "old-secret"}
	e, _, cap := hooked(t, o, map[string]any{"webhook_token": "tok-123456"})
	uid := e.uid("video", "Product Walkthrough")
	if _, err := e.s.Editor().UpdateEntry("video", uid, "", map[string]any{"captions": "z"}); err != nil {
		t.Fatal(err)
	}
	e.flush()
	good := cap.all()[0]
	if good.Header.Get(TokenHeader) != "tok-123456" {
		t.Fatalf("setup did not register the token header: %v", good.Header)
	}
	tests := []struct {
		name  string
		extra map[string]any
		kind  fault.Kind
		ok    bool
	}{
		{"hmac with the old key", map[string]any{"webhook_verify": "hmac", "hmac_secrets": "old-secret"}, 0, true},
		{"hmac with a wrong key", map[string]any{"webhook_verify": "hmac", "hmac_secrets": "nope-secret"}, fault.Unauthorized, false},
		{"hmac too old", map[string]any{"webhook_verify": "hmac", "hmac_secrets": "new-secret", "webhook_max_age": "1s"}, fault.Unauthorized, false},
		{"token only", map[string]any{"webhook_verify": "none", "webhook_token": "tok-123456"}, 0, true},
		{"wrong token", map[string]any{"webhook_verify": "none", "webhook_token": "tok-654321"}, fault.Unauthorized, false},
		{"signature and token", map[string]any{"webhook_token": "tok-123456"}, 0, true},
	}
	for _, tt := range tests {
		c := e.open(tt.extra)
		if tt.name == "hmac too old" {
			c.now = func() time.Time { return time.Now().Add(time.Hour) }
		}
		_, err := c.Receive(context.Background(), "entry_events", good)
		if tt.ok && err != nil {
			t.Errorf("%s: %v", tt.name, err)
		}
		if !tt.ok && fault.KindOf(err) != tt.kind {
			t.Errorf("%s: %v (kind %v)", tt.name, err, fault.KindOf(err))
		}
	}
}

func TestReceiveNormalizes(t *testing.T) {
	t.Parallel()
	e, c, cap := hooked(t, fastSandbox(), nil)
	uid := e.uid("video", "Product Walkthrough")
	ed := e.s.Editor()
	steps := []struct {
		name string
		act  func() error
		typ  string
		data map[string]any
	}{
		{"stage", func() error { return ed.SetStage("video", uid, "", sandbox.StageInReview) }, EventStageChanged,
			map[string]any{"stage.name": sandbox.StageInReview, "previous_stage.name": sandbox.StageReadyForMedia, "workflow.name": sandbox.SeedWorkflow}},
		{"publish fr", func() error { return ed.Publish("video", uid, "", []string{"staging"}, []string{"fr-fr"}) }, EventPublished,
			map[string]any{"environment.name": "staging", "locale": "fr-fr", "source_locale": "en-us", "entry.title": "Product Walkthrough"}},
		{"create", func() error {
			_, err := ed.CreateEntry("campaign", "", map[string]any{"title": "Autumn", "region": "APAC"})
			return err
		}, EventCreated, map[string]any{"content_type": "campaign", "version": 1, "entry.region": "APAC", "stage.name": sandbox.StageDraft}},
	}
	for _, st := range steps {
		cap.reset()
		if err := st.act(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		e.flush()
		evs := receive(t, c, cap.all())
		if len(evs) != 1 || evs[0].Type != st.typ {
			t.Fatalf("%s: events %+v", st.name, evs)
		}
		for path, want := range st.data {
			got, _ := getPath(evs[0].Data, splitPath(path))
			if !sameJSON(got, want) {
				t.Errorf("%s: data.%s = %v, want %v", st.name, path, got, want)
			}
		}
		if evs[0].Time.IsZero() || !strings.HasPrefix(evs[0].Object, RefPrefix) {
			t.Errorf("%s: time %v object %s", st.name, evs[0].Time, evs[0].Object)
		}
	}
	// Deliveries of other modules are accepted and carry no event.
	resp, err := c.Receive(context.Background(), "entry_events", signed(t, `{"module":"asset","api_key":"`+e.s.APIKey()+`","event":"create","data":{}}`))
	if err != nil || len(resp.Events) != 0 {
		t.Errorf("asset delivery: %v %v", resp, err)
	}
}

// signed returns a delivery of body signed with the sandbox's key.
func signed(t *testing.T, body string) *connector.WebhookRequest {
	t.Helper()
	sum := sha256.Sum256([]byte(body))
	sig, err := rsa.SignPSS(rand.Reader, sharedKey(), crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	r := &connector.WebhookRequest{Method: "POST", Header: map[string][]string{}, Body: []byte(body)}
	r.Header.Set("X-Contentstack-Request-Signature", "v1="+base64.StdEncoding.EncodeToString(sig))
	return r
}

func TestMatchEventConfig(t *testing.T) {
	t.Parallel()
	ev := &connector.Event{Type: EventPublished, Data: map[string]any{"content_type": "video", "locale": "fr-fr",
		"environment": map[string]any{"uid": "blt1", "name": "production"}, "stage": map[string]any{"uid": "blt9", "name": "Approved"}}}
	stage := &connector.Event{Type: EventStageChanged, Data: map[string]any{"content_type": "video", "locale": "en-us",
		"stage": map[string]any{"uid": "blt7", "name": "Ready for media"}}}
	tests := []struct {
		name string
		cfg  map[string]any
		ev   *connector.Event
		want bool
	}{
		{"empty", nil, ev, true},
		{"content type", map[string]any{"content_types": []any{"video"}}, ev, true},
		{"other content type", map[string]any{"content_types": []any{"campaign"}}, ev, false},
		{"environment by name", map[string]any{"environments": []any{"production"}}, ev, true},
		{"environment by uid", map[string]any{"environments": []any{"blt1"}}, ev, true},
		{"no environment on a stage event", map[string]any{"environments": []any{"production"}}, stage, false},
		{"locale", map[string]any{"locales": []any{"en-us"}}, ev, false},
		{"stage name any case", map[string]any{"stages": []any{"ready for media"}}, stage, true},
		{"stage mismatch", map[string]any{"stages": []any{"Approved"}}, stage, false},
		{"event short name", map[string]any{"events": []any{"workflow_stage_changed"}}, stage, true},
		{"event full name", map[string]any{"events": []any{EventPublished}}, stage, false},
	}
	for _, tt := range tests {
		if got := matchConfig(tt.cfg, tt.ev); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestPollFollowsUpdatedAt(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastSandbox())
	c := e.open(nil)
	ctx := context.Background()
	cfg := []map[string]any{{"content_types": []any{"video"}}}
	r1, err := c.Poll(ctx, "poll", &connector.PollRequest{Configs: cfg})
	if err != nil || len(r1.Events) != 0 || r1.Cursor == "" {
		t.Fatalf("first poll: %+v %v", r1, err)
	}
	// Nothing changed: nothing emitted.
	r2, err := c.Poll(ctx, "poll", &connector.PollRequest{Cursor: r1.Cursor, Configs: cfg})
	if err != nil || len(r2.Events) != 0 {
		t.Fatalf("idle poll: %+v %v", r2.Events, err)
	}
	ed := e.s.Editor()
	uid := e.uid("video", "Product Walkthrough")
	time.Sleep(2 * time.Millisecond) // updated_at has millisecond precision
	if _, err := ed.UpdateEntry("video", uid, "", map[string]any{"captions": "polled"}); err != nil {
		t.Fatal(err)
	}
	newUID, err := ed.CreateEntry("video", "", map[string]any{"title": "Polled new"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ed.CreateEntry("campaign", "", map[string]any{"title": "Not polled"}); err != nil {
		t.Fatal(err)
	}
	r3, err := c.Poll(ctx, "poll", &connector.PollRequest{Cursor: r2.Cursor, Configs: cfg})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, ev := range r3.Events {
		got[ev.Object] = ev.Type
		if ev.Hash == "" || ev.ID == "" || ev.Data["entry"] == nil {
			t.Errorf("event %+v", ev)
		}
	}
	if len(got) != 2 || got[Ref("video", uid)] != EventUpdated || got[Ref("video", newUID)] != EventCreated {
		t.Fatalf("third poll: %v", got)
	}
	r4, err := c.Poll(ctx, "poll", &connector.PollRequest{Cursor: r3.Cursor, Configs: cfg})
	if err != nil || len(r4.Events) != 0 {
		t.Fatalf("after the changes: %+v %v", r4.Events, err)
	}
	var cur pollCursor
	if err := json.Unmarshal([]byte(r4.Cursor), &cur); err != nil || len(cur.Keys) != 1 {
		t.Fatalf("cursor %s", r4.Cursor)
	}
	// A config filter drops events no flow wants.
	time.Sleep(2 * time.Millisecond)
	if _, err := ed.UpdateEntry("video", uid, "fr-fr", map[string]any{"title": "Visite du produit"}); err != nil {
		t.Fatal(err)
	}
	r5, err := c.Poll(ctx, "poll", &connector.PollRequest{Cursor: r4.Cursor, Configs: []map[string]any{{"content_types": []any{"video"}, "stages": []any{"Approved"}}}})
	if err != nil || len(r5.Events) != 0 {
		t.Fatalf("filtered poll: %+v %v", r5.Events, err)
	}
}
