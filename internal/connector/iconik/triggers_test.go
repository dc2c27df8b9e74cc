package iconik

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
	"github.com/patchbay/patchbay/internal/fault"
	sbx "github.com/patchbay/patchbay/internal/sandbox/iconik"
)

// receiveAll passes deliveries through Receive.
func receiveAll(t *testing.T, c *Conn, trigger string, ds []delivery) []connector.Event {
	t.Helper()
	var evs []connector.Event
	for _, d := range ds {
		resp, err := c.Receive(context.Background(), trigger, &connector.WebhookRequest{Method: http.MethodPost, Header: d.header, Body: d.body})
		if err != nil {
			t.Fatalf("Receive: %v (body %s)", err, d.body)
		}
		evs = append(evs, resp.Events...)
	}
	return evs
}

// TestAssetEventsNormalize makes changes the way people do in iconik's UI,
// lets the sandbox deliver its webhooks, and checks the normalized events.
func TestAssetEventsNormalize(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 12, TranscodeDelay: time.Millisecond})
	c := s.open(t, nil)
	sink := newHookSink(t)
	if _, err := c.Setup(context.Background(), &connector.SetupRequest{HookURL: sink.hookURL()}); err != nil {
		t.Fatal(err)
	}
	var asset string
	for _, a := range s.AssetIDs() {
		if s.ApprovalStatus(a, "") == "N/A" {
			asset = a
			break
		}
	}
	approved := mustCollection(t, s, sbx.CollectionApproved, "")
	steps := []struct {
		name  string
		act   func() error
		check func(t *testing.T, evs []connector.Event)
	}{
		{"metadata changed", func() error {
			return s.UserSetMetadata("assets", asset, map[string]any{sbx.FieldRightsStatus: "Pending", sbx.FieldTerritories: []any{"US", "CA"}})
		}, func(t *testing.T, evs []connector.Event) {
			ev := only(t, evs, "metadata.changed")
			if ev.Object != "iconik:asset/"+asset || ev.Version != "" || ev.Data["version_id"] != s.LatestVersionID(asset) {
				t.Errorf("object %s version %q data.version_id %v", ev.Object, ev.Version, ev.Data["version_id"])
			}
			f := ev.Data["fields"].(map[string]any)
			if f[sbx.FieldRightsStatus] != "Pending" || len(f[sbx.FieldTerritories].([]any)) != 2 || ev.Data["user_id"] != sbx.EditorUserID {
				t.Errorf("data %v", ev.Data)
			}
			if ch := ev.Data["changed"].([]any); len(ch) != 2 || ev.Data["view_id"] == nil {
				t.Errorf("changed %v view %v", ch, ev.Data["view_id"])
			}
		}},
		{"approval requested and decided", func() error {
			if err := s.UserRequestApproval(asset, sbx.ReviewerUserID); err != nil {
				return err
			}
			return s.UserSetApproval(asset, "APPROVED")
		}, func(t *testing.T, evs []connector.Event) {
			only(t, evs, "approval.requested")
			ev := only(t, evs, "approval.changed")
			if ev.Data["status"] != "APPROVED" || ev.Data["previous_status"] != "REQUESTED" || ev.Data["decision"] != "APPROVED" ||
				ev.Data["version_id"] != s.LatestVersionID(asset) || ev.Data["decided_by"] != sbx.ReviewerUserID {
				t.Errorf("approval data %v", ev.Data)
			}
			if len(ev.Objects) != 1 || ev.Objects[0] != "iconik:asset/"+asset+"/version/"+s.LatestVersionID(asset) {
				t.Errorf("objects %v", ev.Objects)
			}
		}},
		{"version added", func() error { _, err := s.UserAddVersion(asset); return err }, func(t *testing.T, evs []connector.Event) {
			ev := only(t, evs, "asset.version_added")
			if ev.Object != "iconik:asset/"+asset || ev.Data["version_number"] != 2 {
				t.Errorf("version event %+v", ev)
			}
			if !hasType(evs, "asset.proxy_created") || !hasType(evs, "asset.keyframe_created") {
				t.Errorf("no transcoder events among %v", types(evs))
			}
		}},
		{"comment", func() error {
			_, err := s.UserAddComment(asset, "", "Too dark", 1000, 3000)
			return err
		}, func(t *testing.T, evs []connector.Event) {
			ev := only(t, evs, "comment.created")
			if ev.Data["text"] != "Too dark" || ev.Data["time_start_ms"] != int64(1000) || !strings.HasPrefix(ev.Objects[0], "iconik:asset/"+asset+"/segment/") {
				t.Errorf("comment %+v", ev)
			}
		}},
		{"collection content", func() error { return s.UserAddToCollection(approved, "assets", asset) }, func(t *testing.T, evs []connector.Event) {
			ev := only(t, evs, "collection.content_added")
			if ev.Object != "iconik:asset/"+asset || ev.Objects[0] != "iconik:collection/"+approved || ev.Data["collection_id"] != approved {
				t.Errorf("content event %+v", ev)
			}
		}},
		{"blocked", func() error { return s.UserBlockAsset(asset, true) }, func(t *testing.T, evs []connector.Event) {
			if ev := only(t, evs, "asset.updated"); ev.Data["is_blocked"] != true {
				t.Errorf("blocked event %v", ev.Data)
			}
		}},
		{"deleted and restored", func() error {
			if err := s.UserDeleteAsset(asset); err != nil {
				return err
			}
			return s.UserRestoreAsset(asset)
		}, func(t *testing.T, evs []connector.Event) {
			only(t, evs, "asset.deleted")
			only(t, evs, "asset.restored")
		}},
		{"new asset", func() error {
			_, err := s.UserCreateAsset("Fresh upload", map[string]any{sbx.FieldCampaign: "Autumn"})
			return err
		},
			func(t *testing.T, evs []connector.Event) {
				if ev := only(t, evs, "asset.created"); ev.Data["title"] != "Fresh upload" || ev.ID == "" {
					t.Errorf("created %+v", ev)
				}
			}},
	}
	seen := 0
	for _, st := range steps {
		if err := st.act(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		settle(t, s)
		ds := sink.deliveries()
		evs := receiveAll(t, c, "asset_events", ds[seen:])
		seen = len(ds)
		t.Run(st.name, func(t *testing.T) { st.check(t, evs) })
	}
	// Every event has an id, a type, an object and a hash; a repeated
	// delivery normalizes to the same id.
	all := receiveAll(t, c, "asset_events", sink.deliveries())
	for _, ev := range all {
		if ev.ID == "" || ev.Type == "" || !strings.HasPrefix(ev.Object, "iconik:") || ev.Hash == "" {
			t.Errorf("incomplete event %+v", ev)
		}
	}
	again := receiveAll(t, c, "asset_events", sink.deliveries()[:1])
	if again[0].ID != all[0].ID {
		t.Errorf("a repeated delivery got id %s, first %s", again[0].ID, all[0].ID)
	}
}

func only(t *testing.T, evs []connector.Event, typ string) connector.Event {
	t.Helper()
	var found []connector.Event
	for _, ev := range evs {
		if ev.Type == typ {
			found = append(found, ev)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s events among %v", len(found), typ, types(evs))
	}
	return found[0]
}

func hasType(evs []connector.Event, typ string) bool {
	for _, ev := range evs {
		if ev.Type == typ {
			return true
		}
	}
	return false
}

func types(evs []connector.Event) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Type)
	}
	return out
}

func TestReceiveRejects(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{})
	body := []byte(`{"system_domain_id":"` + s.SystemDomainID() + `","event_type":"assets","object_id":"a1","realm":"entity","operation":"update","data":{"id":"a1","title":"x"},"request_id":"r1"}`)
	good := http.Header{"X-Patchbay-Secret": {testSecret}}
	tests := []struct {
		name     string
		extra    map[string]any
		header   http.Header
		body     []byte
		wantKind fault.Kind
		wantMsg  string
		events   int
	}{
		{name: "ok", header: good, body: body, events: 1},
		{name: "wrong secret", header: http.Header{"X-Patchbay-Secret": {"guess"}}, body: body, wantKind: fault.Unauthorized, wantMsg: "wrong X-Patchbay-Secret"},
		{name: "no header", header: http.Header{}, body: body, wantKind: fault.Unauthorized, wantMsg: "missing X-Patchbay-Secret"},
		{name: "no secret configured", extra: map[string]any{"webhook_secret": nil}, header: good, body: body, wantKind: fault.Unauthorized, wantMsg: "no webhook_secret"},
		{name: "custom header", extra: map[string]any{"webhook_header": "X-Iconik-Token"}, header: http.Header{"X-Iconik-Token": {testSecret}}, body: body, events: 1},
		{name: "other tenant", extra: map[string]any{"system_domain_id": "11111111-1111-4111-8111-111111111111"}, header: good, body: body, wantKind: fault.Unauthorized, wantMsg: "another iconik tenant"},
		{name: "not json", header: good, body: []byte("<xml/>"), wantKind: fault.Invalid},
		{name: "bad data", header: good, body: []byte(`{"event_type":"assets","object_id":"a1","realm":"entity","operation":"update","data":"oops"}`), wantKind: fault.Invalid},
		{name: "no object", header: good, body: []byte(`{"event_type":"assets","realm":"entity","operation":"update","data":{}}`), wantKind: fault.Invalid},
		{name: "unknown realm", header: good, body: []byte(`{"event_type":"assets","object_id":"a1","realm":"relations","operation":"create","data":{"x":1}}`), events: 1},
		{name: "batch", header: good, body: []byte("[" + string(body) + "," + string(body) + "]"), events: 2},
		{name: "filtered realm", extra: map[string]any{"webhook_realms": []any{"metadata"}}, header: good, body: body, events: 0},
		{name: "filtered type", extra: map[string]any{"webhook_events": []any{"jobs"}}, header: good, body: body, events: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := s.open(t, tt.extra)
			resp, err := c.Receive(context.Background(), "asset_events", &connector.WebhookRequest{Method: http.MethodPost, Header: tt.header, Body: tt.body})
			if tt.wantKind != 0 || err != nil {
				if err == nil || fault.KindOf(err) != tt.wantKind || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Fatalf("err = %v (kind %v), want %v containing %q", err, fault.KindOf(err), tt.wantKind, tt.wantMsg)
				}
				if strings.Contains(err.Error(), testSecret) {
					t.Fatal("the secret is in the error")
				}
				return
			}
			if len(resp.Events) != tt.events {
				t.Fatalf("%d events, want %d", len(resp.Events), tt.events)
			}
			if tt.name == "unknown realm" && (resp.Events[0].Type != "asset.relations_created" || resp.Events[0].Object != "iconik:asset/a1") {
				t.Fatalf("unknown realm event %+v", resp.Events[0])
			}
		})
	}
	c := s.open(t, nil)
	if _, err := c.Receive(context.Background(), "nope", &connector.WebhookRequest{Header: good, Body: body}); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("unknown trigger: %v", err)
	}
}

// TestPollPagesPast1000 polls 1,200 assets from a backfill, page by page,
// then sees one edit.
func TestPollPagesPast1000(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{DisableTranscode: true})
	s.InstallSchema()
	ids := s.SeedAssets(1200)
	c := s.open(t, map[string]any{"poll_page_size": 250})
	ctx := context.Background()
	poll := func(cursor string, configs []map[string]any) *connector.PollResult {
		t.Helper()
		res, err := c.Poll(ctx, "poll", &connector.PollRequest{Cursor: cursor, Configs: configs})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// Without backfill the first poll starts from now and reports nothing.
	if res := poll("", []map[string]any{{}}); len(res.Events) != 0 || res.Cursor == "" {
		t.Fatalf("first poll without backfill: %d events, cursor %q", len(res.Events), res.Cursor)
	}
	cursor, pages := "", 0
	seen := map[string]bool{}
	configs := []map[string]any{{"backfill": "1h"}, {}}
	for {
		res := poll(cursor, configs)
		pages++
		for _, ev := range res.Events {
			id := strings.TrimPrefix(ev.Object, "iconik:asset/")
			if seen[id] {
				t.Fatalf("asset %s reported twice", id)
			}
			seen[id] = true
			if ev.Type != "asset.created" || !strings.HasPrefix(ev.ID, "iconik:poll:"+id+":") || ev.Data["metadata"].(map[string]any)[sbx.FieldAssetType] == nil {
				t.Fatalf("event %+v", ev)
			}
		}
		cursor = res.Cursor
		if !res.More {
			break
		}
		if pages > 20 {
			t.Fatal("poll does not end")
		}
	}
	if len(seen) != len(ids) {
		t.Fatalf("polled %d assets, want %d", len(seen), len(ids))
	}
	t.Logf("poll: %d assets in %d pages of 250 (search_after cursor)", len(seen), pages)
	if res := poll(cursor, configs); len(res.Events) != 0 {
		t.Fatalf("a poll without changes reported %d events", len(res.Events))
	}
	time.Sleep(2 * time.Millisecond) // the edit must be later than the cursor's millisecond
	if err := s.UserUpdateAsset(ids[17], map[string]any{"title": "Edited"}); err != nil {
		t.Fatal(err)
	}
	res := poll(cursor, configs)
	if len(res.Events) != 1 || res.Events[0].Type != "asset.updated" || res.Events[0].Data["title"] != "Edited" {
		t.Fatalf("after an edit: %+v", res.Events)
	}
	// Only runs wait (no flow listens): the poll reports just their objects.
	if err := s.UserUpdateAsset(ids[18], map[string]any{"title": "Edited too"}); err != nil {
		t.Fatal(err)
	}
	res2, err := c.Poll(ctx, "poll", &connector.PollRequest{Cursor: res.Cursor, Keys: []string{"iconik:asset/nothing"}})
	if err != nil || len(res2.Events) != 0 || res2.Cursor == res.Cursor {
		t.Fatalf("keys-only poll: %v events, cursor moved %v, err %v", len(res2.Events), res2.Cursor != res.Cursor, err)
	}
	if _, err := c.Poll(ctx, "poll", &connector.PollRequest{Cursor: "garbage"}); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestCustomActionTrigger(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 4, DisableTranscode: true})
	c := s.open(t, map[string]any{"custom_actions": []any{map[string]any{"title": "Send to CMS"}}})
	sink := newHookSink(t)
	rep, err := c.Setup(context.Background(), &connector.SetupRequest{HookURL: sink.hookURL()})
	if err != nil {
		t.Fatal(err)
	}
	actions := rep.Info["custom_actions"].([]any)
	if len(actions) != 1 {
		t.Fatalf("custom actions %v", actions)
	}
	actionID := actions[0].(map[string]any)["id"].(string)
	ids := s.AssetIDs()
	if _, err := s.UserRunCustomAction(actionID, ids[0], ids[1]); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	var ds []delivery
	for _, d := range sink.deliveries() {
		if strings.Contains(string(d.body), `"action_id"`) {
			ds = append(ds, d)
		}
	}
	if len(ds) != 1 {
		t.Fatalf("%d custom action calls", len(ds))
	}
	evs := receiveAll(t, c, "custom_action", ds)
	ev := evs[0]
	if ev.Type != "custom_action.invoked" || ev.Object != "iconik:asset/"+ids[0] || ev.Objects[0] != "iconik:asset/"+ids[1] || ev.ID == "" {
		t.Fatalf("event %+v", ev)
	}
	b, _ := json.Marshal(ev)
	var payload struct {
		AuthToken string `json:"auth_token"`
	}
	_ = json.Unmarshal(ds[0].body, &payload)
	if payload.AuthToken == "" || strings.Contains(string(b), payload.AuthToken) {
		t.Fatal("the payload's user token reached the event")
	}
	if _, err := c.Receive(context.Background(), "custom_action", &connector.WebhookRequest{Body: ds[0].body, Header: http.Header{}}); fault.KindOf(err) != fault.Unauthorized {
		t.Fatalf("custom action without the secret: %v", err)
	}
}

func TestSetupIdempotentAndRepairs(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 2, DisableTranscode: true})
	c := s.open(t, map[string]any{"webhook_realms": []any{"entity", "metadata"}, "webhook_events": []any{"assets", "collections"}})
	ctx := context.Background()
	const hook = "https://patchbay.example.com/hooks/iconik/"
	dry, err := c.Setup(ctx, &connector.SetupRequest{HookURL: hook, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(dry.Changes) != 4 || !strings.HasPrefix(dry.Changes[0], "would create") || len(s.Webhooks()) != 0 {
		t.Fatalf("dry run: %v, %d webhooks", dry.Changes, len(s.Webhooks()))
	}
	first, err := c.Setup(ctx, &connector.SetupRequest{HookURL: hook})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Changes) != 4 || len(s.Webhooks()) != 4 {
		t.Fatalf("first: %v, %d webhooks", first.Changes, len(s.Webhooks()))
	}
	for _, w := range s.Webhooks() {
		if w.URL != hook+"asset_events" || w.Headers["X-Patchbay-Secret"] != testSecret || w.Status != "ENABLED" || w.Realm == nil {
			t.Fatalf("webhook %+v", w)
		}
	}
	views := first.Info["metadata_views"].([]any)
	fields := first.Info["metadata_fields"].([]any)
	if len(views) != 2 || len(fields) < 20 || first.Info["system_domain_id"] != s.SystemDomainID() {
		t.Fatalf("info: %d views, %d fields, tenant %v", len(views), len(fields), first.Info["system_domain_id"])
	}
	again, err := c.Setup(ctx, &connector.SetupRequest{HookURL: hook})
	if err != nil || len(again.Changes) != 0 {
		t.Fatalf("second run changed %v (%v)", again.Changes, err)
	}
	// Break one definition (disabled, secret lost) and move patchbay: setup repairs in place.
	broken := s.Webhooks()[0]
	broken.Status, broken.Headers = "DISABLED", nil
	if _, err := c.api.UpdateWebhook(ctx, toAPIWebhook(broken)); err != nil {
		t.Fatal(err)
	}
	moved, err := c.Setup(ctx, &connector.SetupRequest{HookURL: "https://new.example.com/hooks/iconik/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(moved.Changes) != 4 || len(s.Webhooks()) != 4 {
		t.Fatalf("after moving: %v, %d webhooks", moved.Changes, len(s.Webhooks()))
	}
	for _, ch := range moved.Changes {
		if strings.Contains(ch, testSecret) {
			t.Fatal("the secret is in the report")
		}
	}
	if !strings.Contains(strings.Join(moved.Changes, "\n"), "status was DISABLED; secret header missing or different") {
		t.Fatalf("repair reasons: %v", moved.Changes)
	}
	// Fewer realms: the extra definitions go.
	narrow := s.open(t, map[string]any{"webhook_realms": []any{"metadata"}, "webhook_events": []any{"assets"}})
	rep, err := narrow.Setup(ctx, &connector.SetupRequest{HookURL: "https://new.example.com/hooks/iconik/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Webhooks()) != 1 || len(rep.Changes) != 3 {
		t.Fatalf("narrowing: %v, %d webhooks", rep.Changes, len(s.Webhooks()))
	}
	noSecret := s.open(t, map[string]any{"webhook_secret": nil})
	if _, err := noSecret.Setup(ctx, &connector.SetupRequest{HookURL: hook}); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("setup without a secret: %v", err)
	}
	bad := s.open(t, map[string]any{"auth_token": "wrong-token-123"})
	if _, err := bad.Setup(ctx, &connector.SetupRequest{HookURL: hook}); fault.KindOf(err) != fault.Unauthorized {
		t.Fatalf("setup with a bad token: %v", err)
	}
	if err := bad.Test(ctx); fault.KindOf(err) != fault.Unauthorized {
		t.Fatalf("test with a bad token: %v", err)
	}
	if err := narrow.Test(ctx); err != nil {
		t.Fatalf("test: %v", err)
	}
}

func toAPIWebhook(w sbx.Webhook) *iconikapi.Webhook {
	return &iconikapi.Webhook{ID: w.ID, Name: w.Name, URL: w.URL, EventType: w.EventType, Realm: w.Realm, Operation: w.Operation, Headers: w.Headers, Status: w.Status}
}

// TestWebhookQueryFilters: setup puts webhook_query on the definitions, so
// iconik itself sends only matching events.
func TestWebhookQueryFilters(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 2, DisableTranscode: true})
	c := s.open(t, map[string]any{"webhook_query": `realm="metadata" AND operation="update"`, "webhook_events": []any{"assets"}})
	sink := newHookSink(t)
	if _, err := c.Setup(context.Background(), &connector.SetupRequest{HookURL: sink.hookURL()}); err != nil {
		t.Fatal(err)
	}
	id, err := s.UserCreateAsset("Filtered", map[string]any{sbx.FieldCampaign: "Autumn"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UserBlockAsset(id, true); err != nil {
		t.Fatal(err)
	}
	if err := s.UserSetMetadata("assets", id, map[string]any{sbx.FieldRegion: "EMEA"}); err != nil {
		t.Fatal(err)
	}
	settle(t, s)
	evs := receiveAll(t, c, "asset_events", sink.deliveries())
	if len(evs) == 0 {
		t.Fatal("no events")
	}
	for _, ev := range evs {
		if ev.Type != "metadata.changed" {
			t.Errorf("iconik sent a %s event past the query", ev.Type)
		}
	}
	again, err := c.Setup(context.Background(), &connector.SetupRequest{HookURL: sink.hookURL()})
	if err != nil || len(again.Changes) != 0 {
		t.Fatalf("second setup: %v %v", again.Changes, err)
	}
}
