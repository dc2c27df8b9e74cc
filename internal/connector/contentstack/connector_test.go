package contentstack

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/connectortest"
	"github.com/patchbay/patchbay/internal/fault"
	sandbox "github.com/patchbay/patchbay/internal/sandbox/contentstack"
)

func TestConformance(t *testing.T) {
	e := newEnv(t, fastSandbox())
	teaser := e.uid("video", "Spring Launch Teaser")
	body := []byte(`{"module":"entry","api_key":"` + e.s.APIKey() + `","event":"update","triggered_at":"2026-01-01T00:00:00.000Z",` +
		`"data":{"entry":{"uid":"` + teaser + `","title":"x","locale":"en-us","_version":2},"content_type":{"uid":"video","title":"Video"}}}`)
	connectortest.Run(t, connectortest.Config{
		Connector: Connector{},
		Values:    e.values(nil),
		OK:        &connectortest.Call{Action: "get_entry", Input: map[string]any{"content_type": "video", "entry": teaser}},
		NotFound:  &connectortest.Call{Action: "get_entry", Input: map[string]any{"content_type": "video", "entry": "blt0000000000000000"}},
		Invalid: &connectortest.Call{Action: "create_entry", Input: map[string]any{"content_type": "video",
			"fields": map[string]any{"title": "Conformance", "no_such_field": 1}}}, // the provider refuses an unknown field
		Trigger: "entry_events",
		BadWebhook: &connector.WebhookRequest{Method: "POST", Header: map[string][]string{
			"Content-Type":                     {"application/json"},
			"X-Contentstack-Request-Signature": {"v1=" + strings.Repeat("QUJD", 86) + "QQ=="},
		}, Body: body},
	})
}

func TestInvalidCreateIsConflictForUniqueField(t *testing.T) {
	// Contentstack answers every validation failure with 422; a unique
	// field clash ("is not unique.") is a conflict, the rest invalid.
	t.Parallel()
	e := newEnv(t, fastSandbox())
	c := e.open(nil)
	tests := []struct {
		name   string
		fields map[string]any
		kind   fault.Kind
	}{
		{"unique clash", map[string]any{"title": "Spring Launch Teaser"}, fault.Conflict},
		{"unknown field", map[string]any{"title": "New", "no_such_field": 1}, fault.Invalid},
		{"wrong type", map[string]any{"title": "New", "duration": "long"}, fault.Invalid},
	}
	for _, tt := range tests {
		_, err := do(t, c, "create_entry", map[string]any{"content_type": "video", "fields": tt.fields})
		if fault.KindOf(err) != tt.kind {
			t.Errorf("%s: err = %v (kind %v), want %v", tt.name, err, fault.KindOf(err), tt.kind)
		}
	}
}

func TestRegionsAndOverrides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		values    map[string]any
		base, app string
		wantErr   string
	}{
		{"default NA", map[string]any{}, "https://api.contentstack.io", "https://app.contentstack.com", ""},
		{"EU", map[string]any{"region": "eu"}, "https://eu-api.contentstack.com", "https://eu-app.contentstack.com", ""},
		{"AU", map[string]any{"region": "au"}, "https://au-api.contentstack.com", "https://au-app.contentstack.com", ""},
		{"Azure EU", map[string]any{"region": "azure-eu"}, "https://azure-eu-api.contentstack.com", "https://azure-eu-app.contentstack.com", ""},
		{"GCP NA", map[string]any{"region": "gcp-na"}, "https://gcp-na-api.contentstack.com", "https://gcp-na-app.contentstack.com", ""},
		{"base_url serves the key too", map[string]any{"base_url": "http://127.0.0.1:9/v3/"}, "http://127.0.0.1:9", "http://127.0.0.1:9", ""},
		{"app_url override", map[string]any{"region": "eu", "app_url": "http://keys.local"}, "https://eu-api.contentstack.com", "http://keys.local", ""},
		{"bad base_url", map[string]any{"base_url": "not a url"}, "", "", "base_url"},
		{"hmac without secret", map[string]any{"webhook_verify": "hmac"}, "", "", "hmac_secrets"},
	}
	for _, tt := range tests {
		vals := map[string]any{"api_key": "blt1", "management_token": "tok-12345"}
		for k, v := range tt.values {
			vals[k] = v
		}
		prepared, err := connector.Prepare(spec.Connection, vals, false)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		c, err := Connector{}.Open(context.Background(), connector.Config{Name: "x", Values: prepared})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		api := c.(*Conn).API()
		if api.BaseURL() != tt.base || api.AppURL() != tt.app {
			t.Errorf("%s: hosts %s / %s, want %s / %s", tt.name, api.BaseURL(), api.AppURL(), tt.base, tt.app)
		}
	}
	if _, err := connector.Prepare(spec.Connection, map[string]any{"api_key": "a", "management_token": "b", "region": "mars"}, false); err == nil {
		t.Error("an unknown region passed the spec")
	}
}

func TestGetEntryReadsPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastSandbox())
	c := e.open(nil)
	teaser := e.uid("video", "Spring Launch Teaser")
	spring := e.uid("campaign", "Spring Launch")
	res := mustDo(t, c, "get_entry", map[string]any{"entry": Ref("video", teaser),
		"fields": []any{"rights.rights_status", "rights.territories.0", "iconik_assets.0.platformUrl", "missing.path"}})
	o := out(res)
	vals := o["values"].(map[string]any)
	if vals["rights.rights_status"] != "Cleared" || vals["rights.territories.0"] != "WW" ||
		!strings.HasPrefix(vals["iconik_assets.0.platformUrl"].(string), "https://app.iconik.io/asset/") || vals["missing.path"] != nil {
		t.Errorf("values = %v", vals)
	}
	if st := o["stage"].(map[string]any); st["name"] != sandbox.StageApproved {
		t.Errorf("stage = %v", st)
	}
	if pubs := o["published"].([]any); len(pubs) != 2 { // the master copy's: development and production
		t.Errorf("published = %v", pubs)
	}
	res = mustDo(t, c, "get_entry", map[string]any{"content_type": "campaign", "entry": spring,
		"fields": []any{"page_sections.hero.headline", "page_sections.1.text.body"}})
	vals = out(res)["values"].(map[string]any)
	if vals["page_sections.hero.headline"] != "Spring is here" || vals["page_sections.1.text.body"] != "Everything new this spring." {
		t.Errorf("block values = %v", vals)
	}
	if _, err := do(t, c, "get_entry", map[string]any{"entry": teaser}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("bare uid without content type: %v", err)
	}
}

func TestQueryEntriesPagesPast1000(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastSandbox())
	const n = 1203
	if _, err := e.s.CreateEntries("video", n, func(i int) map[string]any {
		return map[string]any{"title": "Bulk video " + strconv.Itoa(i), "iconik_asset_id": "bulk-" + strconv.Itoa(i%7), "duration": i}
	}); err != nil {
		t.Fatal(err)
	}
	c := e.open(nil)
	e.s.Kit().Calls.Reset()
	res := mustDo(t, c, "query_entries", map[string]any{"content_type": "video", "limit": 5000, "asc": "created_at",
		"query": map[string]any{"title": map[string]any{"$regex": "^Bulk video"}}, "only": []any{"title", "duration"}})
	o := out(res)
	entries := o["entries"].([]any)
	if len(entries) != n || o["count"] != n || o["pages"] != 13 || o["more"] != false {
		t.Fatalf("returned %d entries, count %v, pages %v, more %v", len(entries), o["count"], o["pages"], o["more"])
	}
	seen := map[string]bool{}
	for i, x := range entries {
		m := x.(map[string]any)
		if seen[m["uid"].(string)] {
			t.Fatalf("entry %s twice", m["uid"])
		}
		seen[m["uid"].(string)] = true
		if m["title"] != "Bulk video "+strconv.Itoa(i) {
			t.Fatalf("entry %d is %v (order)", i, m["title"])
		}
		if _, ok := m["iconik_asset_id"]; ok {
			t.Fatalf("only did not project: %v", m)
		}
	}
	if got := e.s.Kit().Calls.Count("GET", "/v3/content_types/video/entries"); got != 13 {
		t.Errorf("list calls = %d, want 13 pages of 100", got)
	}
	for _, call := range e.s.Kit().Calls.List("/v3/content_types/video/entries") {
		if !strings.Contains(call.Query, "limit=100") {
			t.Errorf("page asked %q", call.Query)
		}
	}
	// A limit stops early and says there is more; where combines with query.
	res = mustDo(t, c, "query_entries", map[string]any{"content_type": "video", "limit": 150, "where": map[string]any{"iconik_asset_id": "bulk-3"}})
	o = out(res)
	if len(o["entries"].([]any)) != 150 || o["more"] != true || o["count"] != 172 {
		t.Errorf("limited: %d entries, more %v, count %v", len(o["entries"].([]any)), o["more"], o["count"])
	}
}

func TestUpdatePreservesFieldsPatchbayDoesNotOwn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastSandbox())
	c := e.open(nil)
	uid := e.uid("video", "Customer Story: Harbour Café")
	// An editor sets fields through the UI: a top-level one and one inside the rights group.
	if _, err := e.s.Editor().UpdateEntry("video", uid, "", map[string]any{
		"captions": "Edited by a person",
		"rights":   map[string]any{"usage_rights": "Web only (editor)", "rights_status": "Pending", "territories": []any{"FR"}},
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := e.s.Entry("video", uid, "")
	res := mustDo(t, c, "update_entry", map[string]any{"content_type": "video", "entry": uid, "version": before.Version,
		"fields": map[string]any{
			"preview_url":           "https://cdn.example.com/new.mp4",
			"rights.rights_status":  "Cleared",
			"iconik_assets.0.title": "Renamed in iconik",
		}})
	o := out(res)
	if o["changed"] != true || o["version"] != before.Version+1 {
		t.Fatalf("output %v", o)
	}
	after, _ := e.s.Entry("video", uid, "")
	rights := after.Fields["rights"].(map[string]any)
	if after.Fields["captions"] != "Edited by a person" || rights["usage_rights"] != "Web only (editor)" ||
		rights["territories"].([]any)[0] != "FR" || rights["rights_status"] != "Cleared" ||
		after.Fields["preview_url"] != "https://cdn.example.com/new.mp4" {
		t.Errorf("after update: captions %v, rights %v, preview %v", after.Fields["captions"], rights, after.Fields["preview_url"])
	}
	picker := after.Fields["iconik_assets"].([]any)[0].(map[string]any)
	if picker["title"] != "Renamed in iconik" || picker["id"] == nil || picker["proxyUrl"] == nil {
		t.Errorf("picker field = %v", picker)
	}
	if w := res.Writes; len(w) != 1 || w[0].Op != "update" || w[0].Object != Ref("video", uid) || w[0].Hash == "" {
		t.Errorf("writes = %+v", w)
	}
	if fw := o["fields_written"].([]any); len(fw) != 3 {
		t.Errorf("fields written = %v (only the touched top-level fields are sent)", fw)
	}

	// The same update again writes nothing.
	res = mustDo(t, c, "update_entry", map[string]any{"content_type": "video", "entry": uid,
		"fields": map[string]any{"preview_url": "https://cdn.example.com/new.mp4", "rights": map[string]any{"rights_status": "Cleared"}}})
	if out(res)["changed"] != false || len(res.Writes) != 0 {
		t.Errorf("no-op update: %v %v", out(res)["changed"], res.Writes)
	}
	// A stale version is a conflict.
	_, err := do(t, c, "update_entry", map[string]any{"content_type": "video", "entry": uid, "version": before.Version,
		"fields": map[string]any{"captions": "x"}})
	if fault.KindOf(err) != fault.Conflict {
		t.Errorf("stale version: %v", err)
	}
	// Unknown fields are named before anything is sent.
	_, err = do(t, c, "update_entry", map[string]any{"content_type": "video", "entry": uid, "fields": map[string]any{"nope.x": 1}})
	if fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), `no field "nope"`) {
		t.Errorf("unknown field: %v", err)
	}
}

func TestUpdateWritesModularBlocks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastSandbox())
	c := e.open(nil)
	spring := e.uid("campaign", "Spring Launch")
	mustDo(t, c, "update_entry", map[string]any{"content_type": "campaign", "entry": spring,
		"fields": map[string]any{"page_sections.hero.headline": "Spring is really here", "summary": "Updated"}})
	got, _ := e.s.Entry("campaign", spring, "")
	blocks := got.Fields["page_sections"].([]any)
	hero := blocks[0].(map[string]any)["hero"].(map[string]any)
	if hero["headline"] != "Spring is really here" || len(hero["video"].([]any)) != 1 || len(blocks) != 2 {
		t.Errorf("blocks after update: %v", blocks)
	}
}

func TestUpsertByMatchLinkAndKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastSandbox())
	c := e.open(nil)
	fields := map[string]any{"title": "Trailer A", "iconik_asset_id": "asset-A", "preview_url": "https://cdn.example.com/a1.mp4"}

	// By match: the first run creates, the second finds and changes nothing.
	r1 := mustDo(t, c, "upsert_entry", map[string]any{"content_type": "video", "match": "iconik_asset_id", "fields": fields})
	o1 := out(r1)
	if o1["created"] != true || o1["matched_by"] != "none" || r1.Writes[0].Op != "create" {
		t.Fatalf("first upsert: %v %+v", o1, r1.Writes)
	}
	r2 := mustDo(t, c, "upsert_entry", map[string]any{"content_type": "video", "match": "iconik_asset_id", "fields": fields},
		func(r *connector.Request) { r.IdempotencyKey = "run-2:entry" })
	o2 := out(r2)
	if o2["created"] != false || o2["changed"] != false || o2["uid"] != o1["uid"] || o2["matched_by"] != "match" || r2.Writes[0].Op != "unchanged" {
		t.Fatalf("second upsert: %v %+v", o2, r2.Writes)
	}
	if n := len(e.s.EntryUIDs("video")); n != 4 {
		t.Fatalf("%d video entries, want 4 (3 seeded + 1)", n)
	}

	// By link: the second run with the link from the first updates that entry,
	// even when the match field changed.
	link := &connector.Link{Key: "iconik:asset/B", Sides: []connector.LinkSide{{Object: "iconik:asset/B"}}}
	withLink := func(r *connector.Request) { r.Link = link; r.IdempotencyKey = "run-3:entry" }
	r3 := mustDo(t, c, "upsert_entry", map[string]any{"content_type": "video", "fields": map[string]any{"title": "Trailer B", "iconik_asset_id": "asset-B"}}, withLink)
	if out(r3)["created"] != true {
		t.Fatalf("link create: %v", out(r3))
	}
	link.Sides = append(link.Sides, connector.LinkSide{Object: r3.Writes[0].Object, Version: r3.Writes[0].Version, Hash: r3.Writes[0].Hash})
	r4 := mustDo(t, c, "upsert_entry", map[string]any{"content_type": "video", "match": "iconik_asset_id",
		"fields": map[string]any{"title": "Trailer B v2", "iconik_asset_id": "asset-B2"}}, func(r *connector.Request) { r.Link = link; r.IdempotencyKey = "run-4:entry" })
	o4 := out(r4)
	if o4["matched_by"] != "link" || o4["uid"] != out(r3)["uid"] || o4["changed"] != true || r4.Writes[0].Op != "update" {
		t.Fatalf("link update: %v %+v", o4, r4.Writes)
	}
	if got, _ := e.s.Entry("video", o4["uid"].(string), ""); got.Fields["title"] != "Trailer B v2" {
		t.Errorf("linked entry title %v", got.Fields["title"])
	}

	// By idempotency key: a re-executed step without link or match finds what it created.
	key := func(r *connector.Request) { r.IdempotencyKey = "run-5:entry" }
	r5 := mustDo(t, c, "upsert_entry", map[string]any{"content_type": "video", "fields": map[string]any{"title": "Trailer C"}}, key)
	r6 := mustDo(t, c, "upsert_entry", map[string]any{"content_type": "video", "fields": map[string]any{"title": "Trailer C"}}, key)
	if out(r6)["uid"] != out(r5)["uid"] || out(r6)["matched_by"] != "idempotency_key" {
		t.Fatalf("re-executed upsert: %v", out(r6))
	}
	// A link to an entry deleted in the CMS falls back to creating.
	if err := e.s.Editor().DeleteEntry("video", out(r5)["uid"].(string)); err != nil {
		t.Fatal(err)
	}
	gone := &connector.Link{Key: "k", Sides: []connector.LinkSide{{Object: Ref("video", out(r5)["uid"].(string))}}}
	r7 := mustDo(t, c, "upsert_entry", map[string]any{"content_type": "video", "fields": map[string]any{"title": "Trailer C"}},
		func(r *connector.Request) { r.Link = gone; r.IdempotencyKey = "run-7:entry" })
	if out(r7)["created"] != true {
		t.Errorf("after deletion: %v", out(r7))
	}
	// Two entries matching is a conflict, not a guess.
	mustDo(t, c, "create_entry", map[string]any{"content_type": "video", "fields": map[string]any{"title": "Dup 1", "iconik_asset_id": "dup"}})
	mustDo(t, c, "create_entry", map[string]any{"content_type": "video", "fields": map[string]any{"title": "Dup 2", "iconik_asset_id": "dup"}},
		func(r *connector.Request) { r.IdempotencyKey = "other" })
	_, err := do(t, c, "upsert_entry", map[string]any{"content_type": "video", "match": map[string]any{"iconik_asset_id": "dup"},
		"fields": map[string]any{"title": "Dup 3"}})
	if fault.KindOf(err) != fault.Conflict {
		t.Errorf("ambiguous match: %v", err)
	}
	_, err = do(t, c, "upsert_entry", map[string]any{"content_type": "video", "match": "iconik_asset_id", "fields": map[string]any{"title": "x"}})
	if fault.KindOf(err) != fault.Invalid {
		t.Errorf("match without value: %v", err)
	}
}

func TestDeleteIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastSandbox())
	c := e.open(nil)
	uid := e.uid("video", "Product Walkthrough")
	r1 := mustDo(t, c, "delete_entry", map[string]any{"entry": Ref("video", uid), "all_locales": true})
	if out(r1)["deleted"] != true || len(r1.Writes) != 1 || r1.Writes[0].Hash != deleteHash() {
		t.Fatalf("delete: %v %+v", out(r1), r1.Writes)
	}
	r2 := mustDo(t, c, "delete_entry", map[string]any{"entry": Ref("video", uid)})
	if out(r2)["deleted"] != false || len(r2.Writes) != 0 {
		t.Fatalf("second delete: %v", out(r2))
	}
	if _, err := do(t, c, "delete_entry", map[string]any{"entry": Ref("nope", uid)}); err == nil {
		t.Error("delete in an unknown content type succeeded")
	}
}

func TestPublishFollowsTheQueue(t *testing.T) {
	t.Parallel()
	o := fastSandbox()
	o.TimeScale = 0.05 // 100ms queue
	e := newEnv(t, o)
	c := e.open(nil)
	uid := e.uid("video", "Customer Story: Harbour Café")
	res := mustDo(t, c, "publish_entry", map[string]any{"content_type": "video", "entry": uid, "environments": []any{"production", "staging"},
		"locales": []any{"en-us", "fr-fr"}})
	po := out(res)
	if po["status"] != "published" || len(po["pending"].([]any)) != 0 {
		t.Fatalf("publish: %v", po)
	}
	for _, env := range []string{"production", "staging"} {
		for _, l := range []string{"en-us", "fr-fr"} {
			if v, ok := e.s.IsPublished("video", uid, env, l); !ok || v != 1 {
				t.Errorf("%s/%s: published %v at %d", env, l, ok, v)
			}
		}
	}
	if len(res.Writes) != 4 || res.Writes[0].Op != "publish" || res.Writes[0].Version != "1" {
		t.Errorf("writes %+v", res.Writes)
	}
	// Without waiting, the publish is reported queued.
	res = mustDo(t, c, "unpublish_entry", map[string]any{"content_type": "video", "entry": uid, "environments": []any{"staging"}, "wait": "0s"})
	if out(res)["status"] != "queued" || len(out(res)["pending"].([]any)) != 1 {
		t.Errorf("unpublish without wait: %v", out(res))
	}
	e.flush()
	if _, ok := e.s.IsPublished("video", uid, "staging", "en-us"); ok {
		t.Error("still published to staging")
	}
	res = mustDo(t, c, "unpublish_entry", map[string]any{"content_type": "video", "entry": uid, "environments": []any{"production"}})
	if out(res)["status"] != "unpublished" {
		t.Errorf("unpublish: %v", out(res))
	}
	res = mustDo(t, c, "publish_entry", map[string]any{"content_type": "video", "entry": uid, "environments": []any{"production"},
		"scheduled_at": "2099-01-01T00:00:00.000Z"})
	if out(res)["status"] != "scheduled" {
		t.Errorf("scheduled: %v", out(res))
	}
	_, err := do(t, c, "publish_entry", map[string]any{"content_type": "video", "entry": uid, "environments": []any{"moon"}})
	if fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), "production") {
		t.Errorf("unknown environment: %v", err)
	}
}

func TestBulkPublishSplitsWithinLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastSandbox())
	uids, err := e.s.CreateEntries("video", 23, func(i int) map[string]any { return map[string]any{"title": "Bulk " + strconv.Itoa(i)} })
	if err != nil {
		t.Fatal(err)
	}
	c := e.open(nil)
	var refs []any
	for _, u := range uids {
		refs = append(refs, Ref("video", u))
	}
	e.s.Kit().Calls.Reset()
	res := mustDo(t, c, "bulk_publish", map[string]any{"entries": refs, "environments": []any{"development", "production"}})
	o := out(res)
	if o["status"] != "done" || o["calls"] != 3 || len(o["failed"].([]any)) != 0 {
		t.Fatalf("bulk: %v", o)
	}
	if got := e.s.Kit().Calls.Count("POST", "/v3/bulk/publish"); got != 3 {
		t.Errorf("bulk calls = %d, want 3 (23 entries in chunks of 10)", got)
	}
	for _, u := range uids {
		if _, ok := e.s.IsPublished("video", u, "production", "en-us"); !ok {
			t.Fatalf("%s not published", u)
		}
	}
	if len(res.Writes) != 46 || res.Writes[0].Hash == "" {
		t.Errorf("writes: %d", len(res.Writes))
	}
	// Failures inside a job are reported.
	res = mustDo(t, c, "bulk_publish", map[string]any{"entries": []any{Ref("video", uids[0]),
		map[string]any{"content_type": "video", "entry": "blt0000000000000000", "version": 1}}, "environments": []any{"production"}})
	if f := out(res)["failed"].([]any); len(f) != 1 || f[0].(map[string]any)["uid"] != "blt0000000000000000" {
		t.Errorf("failed items: %v", out(res))
	}
}

func TestBulkRateIsHeld(t *testing.T) {
	t.Parallel()
	o := fastSandbox()
	o.BulkRate = 0 // the documented 1/s
	e := newEnv(t, o)
	uids, _ := e.s.CreateEntries("video", 12, func(i int) map[string]any { return map[string]any{"title": "R " + strconv.Itoa(i)} })
	c := e.open(map[string]any{"bulk_rate": 0.8}) // under the provider's 1/s
	var refs []any
	for _, u := range uids {
		refs = append(refs, Ref("video", u))
	}
	res := mustDo(t, c, "bulk_publish", map[string]any{"entries": refs, "environments": []any{"production"}})
	for _, call := range e.s.Kit().Calls.List("/v3/bulk/publish") {
		if call.Status == 429 {
			t.Errorf("a bulk call hit the provider's limit: the client did not hold its bulk budget")
		}
	}
	if out(res)["calls"] != 2 {
		t.Errorf("calls %v", out(res)["calls"])
	}
}

func TestSetWorkflowStageByName(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastSandbox())
	c := e.open(nil)
	uid := e.uid("video", "Customer Story: Harbour Café")
	res := mustDo(t, c, "set_workflow_stage", map[string]any{"content_type": "video", "entry": uid, "stage": "ready FOR media", "comment": "go"})
	st := out(res)["stage"].(map[string]any)
	want, _ := e.s.StageUID("video", sandbox.StageReadyForMedia)
	if st["uid"] != want || st["name"] != sandbox.StageReadyForMedia {
		t.Errorf("stage %v", st)
	}
	if got, _ := e.s.Entry("video", uid, ""); got.StageName != sandbox.StageReadyForMedia {
		t.Errorf("sandbox stage %q", got.StageName)
	}
	if res.Writes[0].Hash != stageHash(want) {
		t.Errorf("write %+v", res.Writes[0])
	}
	_, err := do(t, c, "set_workflow_stage", map[string]any{"content_type": "video", "entry": uid, "stage": "Published"})
	if fault.KindOf(err) != fault.Invalid || !strings.Contains(err.Error(), "In review") {
		t.Errorf("unknown stage: %v", err)
	}
}

func TestSchemaWorkflowsEnvironments(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastSandbox())
	c := e.open(nil)
	res := mustDo(t, c, "get_content_type", map[string]any{"content_type": "campaign"})
	paths := map[string]map[string]any{}
	for _, f := range out(res)["fields"].([]any) {
		m := f.(map[string]any)
		paths[m["path"].(string)] = m
	}
	for _, p := range []string{"title", "page_sections", "page_sections.hero", "page_sections.hero.headline", "page_sections.text.body", "videos"} {
		if paths[p] == nil {
			t.Errorf("no path %s in %v", p, paths)
		}
	}
	res = mustDo(t, c, "get_content_type", map[string]any{"content_type": "video"})
	for _, f := range out(res)["fields"].([]any) {
		m := f.(map[string]any)
		if m["path"] == "iconik_assets" && (m["data_type"] != "json" || m["extension_uid"] != sandbox.PickerExtensionUID) {
			t.Errorf("picker field %v", m)
		}
		if m["path"] == "rights.rights_status" && len(m["choices"].([]any)) != 4 {
			t.Errorf("select %v", m)
		}
	}
	wf := out(mustDo(t, c, "list_workflows", map[string]any{"content_type": "video"}))["workflows"].([]any)
	if len(wf) != 1 || len(wf[0].(map[string]any)["stages"].([]any)) != 4 {
		t.Errorf("workflows %v", wf)
	}
	if envs := out(mustDo(t, c, "list_environments", nil))["environments"].([]any); len(envs) != 3 {
		t.Errorf("environments %v", envs)
	}
	if cts := out(mustDo(t, c, "list_content_types", nil))["content_types"].([]any); len(cts) != 2 {
		t.Errorf("content types %v", cts)
	}
	if ls := out(mustDo(t, c, "list_locales", nil))["locales"].([]any); len(ls) != 2 {
		t.Errorf("locales %v", ls)
	}
	if _, err := do(t, c, "get_content_type", map[string]any{"content_type": "nope"}); fault.KindOf(err) != fault.NotFound {
		t.Errorf("unknown content type: %v", err)
	}
}

func TestCredentialErrorsAreUnauthorized(t *testing.T) {
	t.Parallel()
	e := newEnv(t, fastSandbox())
	for name, extra := range map[string]map[string]any{
		"wrong token":   {"management_token": "not-the-token"},
		"wrong api key": {"api_key": "blt_wrong"},
	} {
		c := e.open(extra)
		err := c.Test(context.Background())
		if fault.KindOf(err) != fault.Unauthorized {
			t.Errorf("%s: %v (kind %v)", name, err, fault.KindOf(err))
		}
		if strings.Contains(err.Error(), "not-the-token") {
			t.Errorf("%s: token in error %v", name, err)
		}
	}
	if err := e.open(nil).Test(context.Background()); err != nil {
		t.Errorf("good credentials: %v", err)
	}
}
