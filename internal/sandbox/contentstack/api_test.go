package contentstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	tests := []struct {
		name      string
		headers   map[string]string
		status    int
		code      float64
		errorsKey string
	}{
		{name: "valid management token", headers: map[string]string{"api_key": DemoAPIKey, "authorization": DemoManagementToken}, status: 200},
		{name: "valid authtoken", headers: map[string]string{"api_key": DemoAPIKey, "authtoken": DemoAuthtoken}, status: 200},
		{name: "missing api_key", headers: map[string]string{"authorization": DemoManagementToken}, status: 412, code: 109, errorsKey: "api_key"},
		{name: "wrong api_key", headers: map[string]string{"api_key": "bltnope", "authorization": DemoManagementToken}, status: 412, code: 109, errorsKey: "api_key"},
		{name: "missing token", headers: map[string]string{"api_key": DemoAPIKey}, status: 401, code: 105, errorsKey: "authtoken"},
		{name: "wrong management token (assumption: errors.authorization)", headers: map[string]string{"api_key": DemoAPIKey, "authorization": "csbad"}, status: 401, code: 105, errorsKey: "authorization"},
		{name: "known branch", headers: map[string]string{"api_key": DemoAPIKey, "authorization": DemoManagementToken, "branch": "main"}, status: 200},
		{name: "unknown branch (assumption)", headers: map[string]string{"api_key": DemoAPIKey, "authorization": DemoManagementToken, "branch": "dev"}, status: 422, code: 903, errorsKey: "branch"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.doWith("GET", "/v3/content_types", nil, tc.headers)
			body := r.must(t, tc.status)
			if tc.status == 200 {
				return
			}
			if body["error_code"] != json.Number(fmt.Sprint(tc.code)) {
				t.Errorf("error_code = %v, want %v", body["error_code"], tc.code)
			}
			if _, ok := obj(body["errors"])[tc.errorsKey]; !ok || body["error_message"] == "" {
				t.Errorf("body = %s, want errors.%s and error_message", r.raw, tc.errorsKey)
			}
		})
	}
	t.Run("credentials in query are ignored", func(t *testing.T) {
		r := h.doWith("GET", "/v3/content_types?api_key="+DemoAPIKey+"&authorization="+DemoManagementToken, nil, nil)
		r.must(t, 412)
	})
}

func TestContentTypeSchema(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	body := h.do("GET", "/v3/content_types?include_count=true", nil).must(t, 200)
	if body["count"] != json.Number("2") {
		t.Fatalf("count = %v, want 2 (video, campaign)", body["count"])
	}
	ct := obj(h.do("GET", "/v3/content_types/video", nil).must(t, 200)["content_type"])
	kinds := map[string]string{}
	for _, f := range arr(ct["schema"]) {
		kinds[str(obj(f)["uid"])] = str(obj(f)["data_type"])
	}
	for uid, dt := range map[string]string{"title": "text", "rights": "group", "iconik_assets": "json", "used_on": "group",
		"campaign": "reference", "duration": "number", "iconik_asset_id": "text", "usage_count": "number"} {
		if kinds[uid] != dt {
			t.Errorf("video.%s data_type = %q, want %q", uid, kinds[uid], dt)
		}
	}
	camp := obj(h.do("GET", "/v3/content_types/campaign", nil).must(t, 200)["content_type"])
	found := false
	for _, f := range arr(camp["schema"]) {
		if obj(f)["data_type"] == "blocks" {
			found = true
		}
	}
	if !found {
		t.Error("campaign has no modular blocks field")
	}

	tests := []struct {
		name   string
		body   map[string]any
		status int
	}{
		{name: "create", status: 201, body: map[string]any{"content_type": map[string]any{"title": "Page", "uid": "page",
			"schema": []any{map[string]any{"display_name": "Title", "uid": "title", "data_type": "text", "mandatory": true}}}}},
		{name: "duplicate uid", status: 422, body: map[string]any{"content_type": map[string]any{"title": "Page", "uid": "page"}}},
		{name: "field without uid", status: 422, body: map[string]any{"content_type": map[string]any{"title": "X", "uid": "x",
			"schema": []any{map[string]any{"display_name": "A", "data_type": "text"}}}}},
		{name: "bad uid", status: 422, body: map[string]any{"content_type": map[string]any{"title": "X", "uid": "Bad Uid"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { h.do("POST", "/v3/content_types", tc.body).must(t, tc.status) })
	}
	upd := h.do("PUT", "/v3/content_types/page", map[string]any{"content_type": map[string]any{"title": "Page 2"}}).must(t, 200)
	if v := obj(upd["content_type"])["_version"]; v != json.Number("2") {
		t.Errorf("content type _version after update = %v, want 2", v)
	}
	h.do("DELETE", "/v3/content_types/page", nil).must(t, 200)
	h.do("GET", "/v3/content_types/page", nil).must(t, 422)
}

func TestEntryVersioning(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	created := obj(h.do("POST", "/v3/content_types/video/entries?locale=en-us", map[string]any{"entry": map[string]any{
		"title": "Versioned", "iconik_asset_id": "a1", "rights": map[string]any{"rights_status": "Pending", "territories": []any{"DE"}},
		"iconik_assets": []any{map[string]any{"id": "a1", "title": "x", "nested": map[string]any{"$weird": 1}}},
	}}).must(t, 201)["entry"])
	uid := str(created["uid"])
	if created["_version"] != json.Number("1") || created["locale"] != "en-us" {
		t.Fatalf("created = %v", created)
	}
	// A partial update keeps the fields it does not name.
	upd := obj(h.do("PUT", "/v3/content_types/video/entries/"+uid, map[string]any{"entry": map[string]any{"description": "now described"}}).must(t, 200)["entry"])
	if upd["_version"] != json.Number("2") || upd["iconik_asset_id"] != "a1" || obj(upd["rights"])["rights_status"] != "Pending" {
		t.Fatalf("update lost fields or version: %v", upd)
	}
	// Atomic ADD on a number field.
	h.do("PUT", "/v3/content_types/video/entries/"+uid, map[string]any{"entry": map[string]any{"usage_count": map[string]any{"ADD": 3}}}).must(t, 200)
	got := obj(h.do("GET", "/v3/content_types/video/entries/"+uid, nil).must(t, 200)["entry"])
	if got["_version"] != json.Number("3") || got["usage_count"] != json.Number("3") {
		t.Fatalf("after ADD: version %v usage_count %v", got["_version"], got["usage_count"])
	}
	old := obj(h.do("GET", "/v3/content_types/video/entries/"+uid+"?version=1", nil).must(t, 200)["entry"])
	if _, has := old["description"]; has || old["_version"] != json.Number("1") {
		t.Fatalf("version 1 = %v", old)
	}
	vs := h.do("GET", "/v3/content_types/video/entries/"+uid+"/versions", nil).must(t, 200)
	if len(arr(vs["versions"])) != 3 || obj(arr(vs["versions"])[0])["_version"] != json.Number("3") || vs["count"] != json.Number("3") {
		t.Fatalf("versions = %v", vs)
	}

	errs := []struct {
		name string
		body map[string]any
		key  string
	}{
		{name: "unknown field (assumption: rejected)", body: map[string]any{"nope": 1}, key: "nope"},
		{name: "wrong type", body: map[string]any{"duration": "long"}, key: "duration"},
		{name: "select outside choices", body: map[string]any{"rights": map[string]any{"rights_status": "Maybe"}}, key: "rights.rights_status"},
		{name: "bad reference", body: map[string]any{"campaign": []any{map[string]any{"uid": "x", "_content_type_uid": "video"}}}, key: "campaign"},
		{name: "unknown key in group", body: map[string]any{"rights": map[string]any{"colour": "red"}}, key: "rights.colour"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do("PUT", "/v3/content_types/video/entries/"+uid, map[string]any{"entry": tc.body})
			body := r.must(t, 422)
			if _, ok := obj(body["errors"])[tc.key]; !ok || body["error_code"] != json.Number("119") {
				t.Fatalf("errors = %s, want key %s", r.raw, tc.key)
			}
		})
	}
	t.Run("missing mandatory title", func(t *testing.T) {
		h.do("POST", "/v3/content_types/video/entries", map[string]any{"entry": map[string]any{"description": "x"}}).must(t, 422)
	})
	t.Run("duplicate unique title", func(t *testing.T) {
		h.do("POST", "/v3/content_types/video/entries", map[string]any{"entry": map[string]any{"title": "Versioned"}}).must(t, 422)
	})
	t.Run("unknown entry is 422 UID is not valid", func(t *testing.T) {
		body := h.do("GET", "/v3/content_types/video/entries/bltdoesnotexist", nil).must(t, 422)
		if _, ok := obj(body["errors"])["uid"]; !ok {
			t.Fatalf("errors = %v", body["errors"])
		}
	})
	t.Run("entry of another content type is 422", func(t *testing.T) {
		h.do("GET", "/v3/content_types/campaign/entries/"+uid, nil).must(t, 422)
	})
	t.Run("unknown content type is 422", func(t *testing.T) {
		h.do("GET", "/v3/content_types/nope/entries", nil).must(t, 422)
	})
	t.Run("delete", func(t *testing.T) {
		h.do("DELETE", "/v3/content_types/video/entries/"+uid, nil).must(t, 200)
		h.do("GET", "/v3/content_types/video/entries/"+uid, nil).must(t, 422)
	})
}

func TestModularBlocksAndIgnoreUnknown(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	spring, _ := h.s.FindEntry("campaign", "title", "Spring Launch")
	e := obj(h.do("GET", "/v3/content_types/campaign/entries/"+spring, nil).must(t, 200)["entry"])
	secs := arr(e["page_sections"])
	if len(secs) != 2 || obj(obj(secs[0])["hero"])["headline"] != "Spring is here" {
		t.Fatalf("page_sections = %v", secs)
	}
	h.do("PUT", "/v3/content_types/campaign/entries/"+spring, map[string]any{"entry": map[string]any{
		"page_sections": []any{map[string]any{"quote": map[string]any{"text": "x"}}}}}).must(t, 422)
	lax := newHarness(t, Options{Seed: true, TimeScale: 0.0005, IgnoreUnknownFields: true})
	got := obj(lax.do("POST", "/v3/content_types/campaign/entries", map[string]any{"entry": map[string]any{"title": "Lax", "junk": 1}}).must(t, 201)["entry"])
	if _, has := got["junk"]; has {
		t.Fatal("IgnoreUnknownFields kept an unknown field")
	}
}

func TestQueryLanguage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	readyUID, _ := h.s.StageUID("video", StageReadyForMedia)
	prodUID, _ := h.s.EnvironmentUID("production")
	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{name: "equality", query: `{"title":"Product Walkthrough"}`, want: []string{"Product Walkthrough"}},
		{name: "$in", query: `{"title":{"$in":["Product Walkthrough","Customer Story: Harbour Café"]}}`, want: []string{"Customer Story: Harbour Café", "Product Walkthrough"}},
		{name: "$nin", query: `{"title":{"$nin":["Product Walkthrough","Customer Story: Harbour Café"]}}`, want: []string{"Spring Launch Teaser"}},
		{name: "$regex with $options", query: `{"title":{"$regex":"^spring","$options":"i"}}`, want: []string{"Spring Launch Teaser"}},
		{name: "$exists false", query: `{"nothing":{"$exists":false},"title":{"$regex":"Story"}}`, want: []string{"Customer Story: Harbour Café"}},
		{name: "nested group path", query: `{"rights.rights_status":"Pending"}`, want: []string{"Customer Story: Harbour Café"}},
		{name: "$gt/$lt on numbers", query: `{"duration":{"$gt":90,"$lt":100},"title":"Product Walkthrough"}`, want: []string{"Product Walkthrough"}},
		{name: "$or", query: `{"$or":[{"title":"Product Walkthrough"},{"rights.rights_status":"Pending"}]}`, want: []string{"Customer Story: Harbour Café", "Product Walkthrough"}},
		{name: "$and", query: `{"$and":[{"rights.rights_status":"Cleared"},{"title":{"$ne":"Product Walkthrough"}}]}`, want: []string{"Spring Launch Teaser"}},
		{name: "workflow stage", query: `{"_workflow.uid":"` + readyUID + `"}`, want: []string{"Product Walkthrough"}},
		{name: "JSON field path", query: `{"iconik_assets.id":"1f2a3b4c-5d6e-4f70-9b8c-1d2e3f4a5b62"}`, want: []string{"Product Walkthrough"}},
		{name: "$in_query on reference", query: `{"campaign":{"$in_query":{"title":"Summer Stories"}}}`, want: []string{"Customer Story: Harbour Café"}},
		{name: "$gte on dates", query: `{"updated_at":{"$gte":"2000-01-01T00:00:00.000Z"},"title":"Product Walkthrough"}`, want: []string{"Product Walkthrough"}},
		{name: "publish_details", query: `{"publish_details.environment":"` + prodUID + `"}`, want: []string{"Spring Launch Teaser"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := h.do("GET", q("/v3/content_types/video/entries", map[string]string{"query": tc.query, "asc": "title"}), nil).must(t, 200)
			var got []string
			for _, e := range arr(body["entries"]) {
				got = append(got, str(obj(e)["title"]))
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	bad := []struct{ name, query string }{
		{"not JSON", `{"title":`},
		{"empty $and (documented 422)", `{"$and":[{},{}]}`},
		{"unknown operator", `{"title":{"$near":1}}`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			h.do("GET", q("/v3/content_types/video/entries", map[string]string{"query": tc.query}), nil).must(t, 422)
		})
	}
}

func TestPagingPast1000(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(false))
	h.do("POST", "/v3/content_types", map[string]any{"content_type": map[string]any{"title": "Item", "uid": "item",
		"schema": []any{map[string]any{"display_name": "Title", "uid": "title", "data_type": "text", "mandatory": true, "unique": true},
			map[string]any{"display_name": "N", "uid": "n", "data_type": "number"}}}}).must(t, 201)
	const n = 1234
	uids, err := h.s.CreateEntries("item", n, func(i int) map[string]any { return map[string]any{"title": fmt.Sprintf("item %04d", i), "n": i} })
	if err != nil || len(uids) != n {
		t.Fatalf("CreateEntries: %v (%d)", err, len(uids))
	}
	seen := map[string]bool{}
	for skip := 0; ; skip += 100 {
		body := h.do("GET", fmt.Sprintf("/v3/content_types/item/entries?skip=%d&limit=100&include_count=true", skip), nil).must(t, 200)
		if body["count"] != json.Number(fmt.Sprint(n)) {
			t.Fatalf("count = %v", body["count"])
		}
		page := arr(body["entries"])
		for _, e := range page {
			seen[str(obj(e)["uid"])] = true
		}
		if len(page) < 100 {
			break
		}
	}
	if len(seen) != n {
		t.Fatalf("paged %d distinct entries, want %d", len(seen), n)
	}
	tests := []struct {
		name   string
		path   string
		status int
	}{
		{"limit 100 ok", "/v3/content_types/item/entries?limit=100", 200},
		{"limit 101 rejected (assumption: 422)", "/v3/content_types/item/entries?limit=101", 422},
		{"negative skip", "/v3/content_types/item/entries?skip=-1", 422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { h.do("GET", tc.path, nil).must(t, tc.status) })
	}
	count := h.do("GET", `/v3/content_types/item/entries?count=true&query={"n":{"$lt":10}}`, nil).must(t, 200)
	if count["entries"] != json.Number("10") {
		t.Fatalf("count=true gave %v", count)
	}
	clamp := newHarness(t, Options{TimeScale: 0.0005, ClampLimit: true, ReadRate: -1, WriteRate: -1})
	clamp.do("POST", "/v3/content_types", map[string]any{"content_type": map[string]any{"title": "Item", "uid": "item"}}).must(t, 201)
	if _, err := clamp.s.CreateEntries("item", 120, func(i int) map[string]any { return map[string]any{"title": fmt.Sprint(i)} }); err != nil {
		t.Fatal(err)
	}
	if got := len(arr(clamp.do("GET", "/v3/content_types/item/entries?limit=500", nil).must(t, 200)["entries"])); got != 100 {
		t.Fatalf("ClampLimit returned %d entries", got)
	}
}

func TestLocales(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	teaser, _ := h.s.FindEntry("video", "title", "Spring Launch Teaser")
	fr := obj(h.do("GET", "/v3/content_types/video/entries/"+teaser+"?locale=fr-fr", nil).must(t, 200)["entry"])
	if fr["locale"] != "fr-fr" || fr["title"] != "Teaser du lancement de printemps" || fr["iconik_asset_id"] == nil {
		t.Fatalf("fr copy = %v", fr)
	}
	walk, _ := h.s.FindEntry("video", "title", "Product Walkthrough")
	fallback := obj(h.do("GET", "/v3/content_types/video/entries/"+walk+"?locale=fr-fr", nil).must(t, 200)["entry"])
	if fallback["locale"] != "en-us" {
		t.Fatalf("unlocalized entry in fr-fr should fall back to en-us, got %v", fallback["locale"])
	}
	locs := arr(h.do("GET", "/v3/content_types/video/entries/"+walk+"/locales", nil).must(t, 200)["locales"])
	if len(locs) != 2 {
		t.Fatalf("locales = %v", locs)
	}
	loc := obj(h.do("PUT", "/v3/content_types/video/entries/"+walk+"?locale=fr-fr", map[string]any{"entry": map[string]any{"title": "Visite du produit"}}).must(t, 200)["entry"])
	if loc["_version"] != json.Number("1") || loc["locale"] != "fr-fr" {
		t.Fatalf("localized = %v", loc)
	}
	en := obj(h.do("GET", "/v3/content_types/video/entries/"+walk, nil).must(t, 200)["entry"])
	if en["title"] != "Product Walkthrough" {
		t.Fatalf("localizing changed the master copy: %v", en["title"])
	}
	h.do("GET", "/v3/content_types/video/entries/"+walk+"?locale=xx-yy", nil).must(t, 422)
	h.do("POST", "/v3/content_types/video/entries/"+walk+"/unlocalize?locale=fr-fr", nil).must(t, 200)
	h.do("POST", "/v3/locales", map[string]any{"locale": map[string]any{"name": "German", "code": "de-de"}}).must(t, 201)
	h.do("POST", "/v3/locales", map[string]any{"locale": map[string]any{"name": "German", "code": "de-de"}}).must(t, 422)
	if n := len(arr(h.do("GET", "/v3/locales", nil).must(t, 200)["locales"])); n != 3 {
		t.Fatalf("%d locales, want 3", n)
	}
	h.do("DELETE", "/v3/locales/en-us", nil).must(t, 422)
}

func TestPublishIsAsynchronous(t *testing.T) {
	t.Parallel()
	o := fast(true)
	o.TimeScale = 0.05 // 2 s publish delay → 100 ms
	h := newHarness(t, o)
	walk, _ := h.s.FindEntry("video", "title", "Product Walkthrough")
	body := h.do("POST", "/v3/content_types/video/entries/"+walk+"/publish", map[string]any{
		"entry": map[string]any{"environments": []any{"production"}, "locales": []any{"en-us", "fr-fr"}}, "locale": "en-us", "version": 1,
	}).must(t, 200)
	if body["notice"] != "The requested action has been performed." {
		t.Fatalf("notice = %v", body["notice"])
	}
	if _, live := h.s.IsPublished("video", walk, "production", "en-us"); live {
		t.Fatal("published before the queued action ran")
	}
	h.flush()
	v, live := h.s.IsPublished("video", walk, "production", "en-us")
	if !live || v != 1 {
		t.Fatalf("production en-us: live=%v version=%d", live, v)
	}
	if _, live := h.s.IsPublished("video", walk, "production", "fr-fr"); !live {
		t.Fatal("master content not published into unlocalized fr-fr")
	}
	e := obj(h.do("GET", "/v3/content_types/video/entries/"+walk+"?include_publish_details=true", nil).must(t, 200)["entry"])
	prodUID, _ := h.s.EnvironmentUID("production")
	found := false
	for _, p := range arr(e["publish_details"]) {
		if obj(p)["environment"] == prodUID && obj(p)["locale"] == "en-us" && obj(p)["version"] == json.Number("1") {
			found = true
		}
	}
	if !found {
		t.Fatalf("publish_details = %v", e["publish_details"])
	}
	h.do("POST", "/v3/content_types/video/entries/"+walk+"/unpublish", map[string]any{
		"entry": map[string]any{"environments": []any{"production"}, "locales": []any{"en-us"}}, "locale": "en-us"}).must(t, 200)
	h.flush()
	if _, live := h.s.IsPublished("video", walk, "production", "en-us"); live {
		t.Fatal("still published after unpublish")
	}
	bad := []struct {
		name string
		body map[string]any
	}{
		{"unknown environment", map[string]any{"entry": map[string]any{"environments": []any{"nowhere"}, "locales": []any{"en-us"}}}},
		{"unknown locale", map[string]any{"entry": map[string]any{"environments": []any{"production"}, "locales": []any{"xx"}}}},
		{"no environments", map[string]any{"entry": map[string]any{"locales": []any{"en-us"}}}},
		{"unknown version", map[string]any{"entry": map[string]any{"environments": []any{"production"}}, "version": 99}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			h.do("POST", "/v3/content_types/video/entries/"+walk+"/publish", tc.body).must(t, 422)
		})
	}
}

func TestBulkPublishAndJobStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	uids := h.s.EntryUIDs("video")
	items := []any{}
	for _, u := range uids {
		items = append(items, map[string]any{"uid": u, "content_type": "video", "locale": "en-us"})
	}
	items = append(items, map[string]any{"uid": "bltmissing", "content_type": "video", "locale": "en-us"})
	body := h.do("POST", "/v3/bulk/publish?skip_workflow_stage_check=true&approvals=true", map[string]any{
		"entries": items, "locales": []any{"en-us"}, "environments": []any{"staging"}}).must(t, 200)
	job := str(body["job_id"])
	if job == "" || !strings.Contains(str(body["notice"]), "in progress") {
		t.Fatalf("bulk publish answer = %v", body)
	}
	h.flush()
	status := h.doWith("GET", "/v3/bulk/jobs/"+job, nil, map[string]string{"api_key": DemoAPIKey, "authorization": DemoManagementToken, "api_version": "3.2"}).must(t, 200)
	sum := obj(status["summary"])
	if status["status"] != "complete" || sum["success"] != json.Number("3") || sum["unsuccess"] != json.Number("1") {
		t.Fatalf("job = %v", status)
	}
	failed := h.do("GET", "/v3/bulk/jobs/"+job+"/items?status=failed", nil).must(t, 200)
	if len(arr(failed["items"])) != 1 {
		t.Fatalf("failed items = %v", failed)
	}
	for _, u := range uids {
		if _, live := h.s.IsPublished("video", u, "staging", "en-us"); !live {
			t.Fatalf("%s not published to staging", u)
		}
	}
	limits := []struct {
		name string
		body map[string]any
	}{
		{"11 entries", map[string]any{"entries": repeat(map[string]any{"uid": "x", "content_type": "video"}, 11), "locales": []any{"en-us"}, "environments": []any{"staging"}}},
		{"11 locales", map[string]any{"entries": items[:1], "locales": repeat("en-us", 11), "environments": []any{"staging"}}},
		{"11 environments", map[string]any{"entries": items[:1], "locales": []any{"en-us"}, "environments": repeat("staging", 11)}},
	}
	for _, tc := range limits {
		t.Run(tc.name, func(t *testing.T) { h.do("POST", "/v3/bulk/publish", tc.body).must(t, 422) })
	}
	// Bulk unpublish without environments unpublishes everywhere (assumption).
	h.do("POST", "/v3/bulk/unpublish", map[string]any{"entries": items[:3]}).must(t, 200)
	h.flush()
	for _, u := range uids {
		if es, _ := h.s.Entry("video", u, ""); len(es.Published) != 0 {
			t.Fatalf("%s still published: %v", u, es.Published)
		}
	}
}

func repeat(v any, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestWorkflowStage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	wfs := arr(h.do("GET", "/v3/workflows", nil).must(t, 200)["workflows"])
	if len(wfs) != 1 || obj(wfs[0])["name"] != SeedWorkflow {
		t.Fatalf("workflows = %v", wfs)
	}
	var names []string
	for _, st := range arr(obj(wfs[0])["workflow_stages"]) {
		names = append(names, str(obj(st)["name"]))
	}
	if strings.Join(names, ",") != "Draft,Ready for media,In review,Approved" {
		t.Fatalf("stages = %v", names)
	}
	walk, _ := h.s.FindEntry("video", "title", "Product Walkthrough")
	review, _ := h.s.StageUID("video", StageInReview)
	before, _ := h.s.Entry("video", walk, "")
	h.do("POST", "/v3/content_types/video/entries/"+walk+"/workflow?locale=en-us", map[string]any{"workflow": map[string]any{
		"workflow_stage": map[string]any{"uid": review, "comment": "over to review", "notify": false}}}).must(t, 200)
	e := obj(h.do("GET", "/v3/content_types/video/entries/"+walk+"?include_workflow=true", nil).must(t, 200)["entry"])
	if obj(e["_workflow"])["uid"] != review {
		t.Fatalf("_workflow = %v", e["_workflow"])
	}
	if e["_version"] != json.Number(fmt.Sprint(before.Version)) {
		t.Fatalf("stage change bumped _version to %v", e["_version"])
	}
	if plain := obj(h.do("GET", "/v3/content_types/video/entries/"+walk, nil).must(t, 200)["entry"]); plain["_workflow"] != nil {
		t.Fatal("_workflow present without include_workflow")
	}
	h.do("POST", "/v3/content_types/video/entries/"+walk+"/workflow", map[string]any{"workflow": map[string]any{
		"workflow_stage": map[string]any{"uid": "bltnostage"}}}).must(t, 422)
	// A new entry starts in the first stage.
	created := obj(h.do("POST", "/v3/content_types/video/entries", map[string]any{"entry": map[string]any{"title": "Fresh"}}).must(t, 201)["entry"])
	if es, _ := h.s.Entry("video", str(created["uid"]), ""); es.StageName != StageDraft {
		t.Fatalf("new entry stage = %q", es.StageName)
	}
	// A stage whose transition rule is not open to all rejects the management token.
	wfUID := str(obj(wfs[0])["uid"])
	restricted := obj(wfs[0])
	for _, st := range arr(restricted["workflow_stages"]) {
		if obj(st)["name"] == StageInReview {
			obj(st)["SYS_ACL"] = map[string]any{"users": map[string]any{"uids": []any{"blt123"}}, "roles": map[string]any{"uids": []any{}}, "others": map[string]any{}}
			obj(st)["allUsers"] = false
		}
	}
	h.do("PUT", "/v3/workflows/"+wfUID, map[string]any{"workflow": restricted}).must(t, 200)
	approved, _ := h.s.StageUID("video", StageApproved)
	h.do("POST", "/v3/content_types/video/entries/"+walk+"/workflow", map[string]any{"workflow": map[string]any{
		"workflow_stage": map[string]any{"uid": approved}}}).must(t, 403)
	h.doWith("POST", "/v3/content_types/video/entries/"+walk+"/workflow", map[string]any{"workflow": map[string]any{
		"workflow_stage": map[string]any{"uid": approved}}}, map[string]string{"api_key": DemoAPIKey, "authtoken": DemoAuthtoken}).must(t, 200)
	// Bulk workflow: all entries must share the current stage.
	uids := h.s.EntryUIDs("video")
	var items []any
	for _, u := range uids {
		items = append(items, map[string]any{"uid": u, "content_type": "video", "locale": "en-us"})
	}
	h.do("POST", "/v3/bulk/workflow", map[string]any{"entries": items, "workflow": map[string]any{"workflow_stage": map[string]any{"uid": approved}}}).must(t, 422)
	h.do("GET", "/v3/workflows/"+wfUID+"/disable", nil).must(t, 200)
	h.do("GET", "/v3/workflows/"+wfUID+"/enable", nil).must(t, 200)
}

func TestAssets(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("asset[upload]", "poster.png")
	fw.Write(tinyPNG)
	mw.WriteField("asset[title]", "Poster")
	mw.WriteField("asset[tags]", "a,b")
	mw.Close()
	req, _ := http.NewRequest("POST", h.srv.URL+"/v3/assets?include_dimension=true", &buf)
	req.Header["api_key"] = []string{DemoAPIKey}
	req.Header["authorization"] = []string{DemoManagementToken}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	decodeJSONReader(t, res, &body)
	if res.StatusCode != 201 {
		t.Fatalf("upload status %d: %v", res.StatusCode, body)
	}
	a := obj(body["asset"])
	if a["title"] != "Poster" || a["file_size"] != fmt.Sprint(len(tinyPNG)) || obj(a["dimension"])["width"] != json.Number("1") {
		t.Fatalf("asset = %v", a)
	}
	dl, err := http.Get(str(a["url"]))
	if err != nil || dl.StatusCode != 200 {
		t.Fatalf("download %v: %v %v", a["url"], err, dl)
	}
	dl.Body.Close()
	uid := str(a["uid"])
	walk, _ := h.s.FindEntry("video", "title", "Product Walkthrough")
	h.do("PUT", "/v3/content_types/video/entries/"+walk, map[string]any{"entry": map[string]any{"poster": uid}}).must(t, 200)
	e := obj(h.do("GET", "/v3/content_types/video/entries/"+walk, nil).must(t, 200)["entry"])
	if obj(e["poster"])["uid"] != uid {
		t.Fatalf("file field not resolved: %v", e["poster"])
	}
	h.do("PUT", "/v3/assets/"+uid, map[string]any{"asset": map[string]any{"title": "Poster 2"}}).must(t, 200)
	if v := obj(h.do("GET", "/v3/assets/"+uid, nil).must(t, 200)["asset"])["_version"]; v != json.Number("2") {
		t.Fatalf("asset _version = %v", v)
	}
	h.do("POST", "/v3/assets/"+uid+"/publish", map[string]any{"asset": map[string]any{"environments": []any{"production"}, "locales": []any{"en-us"}}}).must(t, 200)
	h.flush()
	pd := arr(obj(h.do("GET", "/v3/assets/"+uid, nil).must(t, 200)["asset"])["publish_details"])
	if len(pd) != 1 {
		t.Fatalf("asset publish_details = %v", pd)
	}
	folder := obj(h.do("POST", "/v3/assets/folders", map[string]any{"asset": map[string]any{"name": "Posters"}}).must(t, 201)["asset"])
	h.do("GET", "/v3/assets/folders/"+str(folder["uid"]), nil).must(t, 200)
	h.do("GET", "/v3/assets/"+uid+"/versions", nil).must(t, 200)
	h.do("DELETE", "/v3/assets/"+uid, nil).must(t, 200)
	h.do("GET", "/v3/assets/"+uid, nil).must(t, 422)
}

// tinyPNG is a 1x1 PNG.
var tinyPNG = []byte{0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4, 0x89, 0x00, 0x00,
	0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xff, 0xff, 0x3f, 0x00, 0x05, 0xfe, 0x02, 0xfe, 0xa7,
	0x35, 0x81, 0x84, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82}

func decodeJSONReader(t *testing.T, res *http.Response, v any) {
	t.Helper()
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	if err := decodeJSON(buf.Bytes(), v); err != nil {
		t.Fatalf("decoding %s: %v", buf.Bytes(), err)
	}
}

func TestEnvironments(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	envs := arr(h.do("GET", "/v3/environments?include_count=true", nil).must(t, 200)["environments"])
	if len(envs) != 3 {
		t.Fatalf("environments = %v", envs)
	}
	h.do("POST", "/v3/environments", map[string]any{"environment": map[string]any{"name": "qa", "urls": []any{}}}).must(t, 201)
	h.do("POST", "/v3/environments", map[string]any{"environment": map[string]any{"name": "qa"}}).must(t, 422)
	h.do("PUT", "/v3/environments/qa", map[string]any{"environment": map[string]any{"name": "qa2"}}).must(t, 200)
	h.do("GET", "/v3/environments/qa2", nil).must(t, 200)
	h.do("DELETE", "/v3/environments/qa2", nil).must(t, 200)
	h.do("GET", "/v3/environments/qa2", nil).must(t, 422)
}

func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "cs.json")
	o := fast(true)
	o.SnapshotPath = path
	o.SigningKey = nil // the key is persisted in the snapshot
	s1, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	uid, err := s1.Editor().CreateEntry("video", "", map[string]any{"title": "Persisted"})
	if err != nil {
		t.Fatal(err)
	}
	pem := s1.PublicKeyPEM()
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	s2, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if es, ok := s2.Entry("video", uid, ""); !ok || es.Fields["title"] != "Persisted" {
		t.Fatalf("entry not restored: %v %v", ok, es)
	}
	if s2.PublicKeyPEM() != pem {
		t.Fatal("signing key changed across a snapshot restart")
	}
	if len(s2.EntryUIDs("video")) != 4 {
		t.Fatalf("restored %d videos, want 4 (seed not re-applied on top)", len(s2.EntryUIDs("video")))
	}
}

func TestResetRestoresSeed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	if _, err := h.s.Editor().CreateEntry("video", "", map[string]any{"title": "Temp"}); err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(h.srv.URL+"/_sandbox/reset", "application/json", nil)
	if err != nil || res.StatusCode != 204 {
		t.Fatalf("reset: %v %v", err, res)
	}
	if n := len(h.s.EntryUIDs("video")); n != 3 {
		t.Fatalf("%d videos after reset, want 3", n)
	}
}

func TestCloseStopsBackgroundWork(t *testing.T) {
	rc := newReceiver(t, 1000) // always fails: a retry is pending at Close
	before := runtime.NumGoroutine()
	for range 3 {
		o := fast(true)
		o.SigningKey = sharedKey(t)
		o.TimeScale = 10 // publish queued for 20 s, first retry after 50 s
		s, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(s)
		h := &harness{t: t, s: s, srv: srv}
		h.createWebhook(rc, []string{"content_types.entries.update"}, nil)
		walk, _ := s.FindEntry("video", "title", "Product Walkthrough")
		h.do("POST", "/v3/content_types/video/entries/"+walk+"/publish", map[string]any{"entry": map[string]any{"environments": []any{"staging"}}}).must(t, 200)
		if _, err := s.Editor().UpdateEntry("video", walk, "", map[string]any{"description": "pending retry"}); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, func() bool { return len(s.Kit().Webhooks.Log()) > 0 })
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("Close took %v", d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := s.Flush(ctx); err != nil {
			t.Fatalf("Flush after Close: %v", err)
		}
		cancel()
		srv.Close()
	}
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		t.Fatalf("goroutines: %d before, %d after Close", before, n)
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in 5s")
}

type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func limitedHarness(t *testing.T) (*harness, *fakeClock) {
	clk := newFakeClock()
	return newHarness(t, Options{Seed: true, TimeScale: 0.0005, Kit: kit.Options{Clock: clk}}), clk
}

func TestRateLimitBurstGets429WithHeaders(t *testing.T) {
	t.Parallel()
	h, _ := limitedHarness(t)
	var ok, limited int
	lastRemaining := 100
	for range 15 {
		r := h.do("GET", "/v3/content_types", nil)
		if r.header.Get("X-RateLimit-Limit") != "10" {
			t.Fatalf("X-RateLimit-Limit = %q, want 10", r.header.Get("X-RateLimit-Limit"))
		}
		rem, err := strconv.Atoi(r.header.Get("X-RateLimit-Remaining"))
		if err != nil {
			t.Fatalf("X-RateLimit-Remaining = %q", r.header.Get("X-RateLimit-Remaining"))
		}
		switch r.status {
		case 200:
			ok++
			if rem >= lastRemaining {
				t.Fatalf("remaining did not decrease: %d then %d", lastRemaining, rem)
			}
			lastRemaining = rem
		case 429:
			limited++
			if rem != 0 || r.body["error_code"] != json.Number("429") || !strings.Contains(str(r.body["error_message"]), "Rate limit") {
				t.Fatalf("429 answer: remaining %d body %s", rem, r.raw)
			}
			if r.body["errors"] == nil {
				t.Fatalf("429 body lacks errors: %s", r.raw)
			}
		default:
			t.Fatalf("status %d", r.status)
		}
	}
	if ok != 10 || limited != 5 {
		t.Fatalf("ok %d, limited %d; want 10 and 5", ok, limited)
	}
}

func TestRateLimitWithinLimitNone429(t *testing.T) {
	t.Parallel()
	h, clk := limitedHarness(t)
	for second := range 3 {
		for i := range 10 {
			if r := h.do("GET", "/v3/environments", nil); r.status != 200 {
				t.Fatalf("second %d request %d: status %d", second, i, r.status)
			}
		}
		clk.Add(time.Second)
	}
}

func TestRateLimitSeparateBuckets(t *testing.T) {
	t.Parallel()
	h, clk := limitedHarness(t)
	for range 10 {
		h.do("GET", "/v3/locales", nil).must(t, 200)
	}
	h.do("GET", "/v3/locales", nil).must(t, 429)
	// Writes have their own bucket.
	r := h.do("POST", "/v3/environments", map[string]any{"environment": map[string]any{"name": "qa"}})
	r.must(t, 201)
	if r.header.Get("X-RateLimit-Limit") != "10" {
		t.Fatalf("write limit header = %q", r.header.Get("X-RateLimit-Limit"))
	}
	// Bulk actions: 1 request per second.
	walk, _ := h.s.FindEntry("video", "title", "Product Walkthrough")
	bulk := map[string]any{"entries": []any{map[string]any{"uid": walk, "content_type": "video", "locale": "en-us"}}, "locales": []any{"en-us"}, "environments": []any{"staging"}}
	first := h.do("POST", "/v3/bulk/publish", bulk)
	first.must(t, 200)
	if first.header.Get("X-RateLimit-Limit") != "1" {
		t.Fatalf("bulk limit header = %q", first.header.Get("X-RateLimit-Limit"))
	}
	second := h.do("POST", "/v3/bulk/publish", bulk)
	second.must(t, 429)
	if second.header.Get("X-RateLimit-Limit") != "1" || second.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("bulk 429 headers = %v", second.header)
	}
	h.do("PUT", "/v3/environments/qa", map[string]any{"environment": map[string]any{"name": "qa"}}).must(t, 200)
	clk.Add(time.Second)
	h.do("POST", "/v3/bulk/publish", bulk).must(t, 200)
	h.flush()
}

func TestRateLimitRetryAfterOption(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	h := newHarness(t, Options{TimeScale: 0.0005, ReadRate: 2, RetryAfterHeader: true, Kit: kit.Options{Clock: clk}})
	h.do("GET", "/v3/locales", nil).must(t, 200)
	h.do("GET", "/v3/locales", nil).must(t, 200)
	r := h.do("GET", "/v3/locales", nil)
	r.must(t, 429)
	if r.header.Get("Retry-After") != "1" || r.header.Get("X-RateLimit-Limit") != "2" {
		t.Fatalf("headers = %v", r.header)
	}
	noRA, _ := limitedHarness(t)
	for range 11 {
		r = noRA.do("GET", "/v3/locales", nil)
	}
	if r.status != 429 || r.header.Get("Retry-After") != "" {
		t.Fatalf("default 429 should carry no Retry-After: %d %v", r.status, r.header)
	}
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	h := newHarness(t, fast(true))
	set := func(cfg string) {
		req, _ := http.NewRequest("PUT", h.srv.URL+"/_sandbox/faults", strings.NewReader(cfg))
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("PUT faults %s: %v %v", cfg, err, res)
		}
		res.Body.Close()
	}
	set(`{"storm_429":2}`)
	for i := range 2 {
		r := h.do("GET", "/v3/content_types", nil)
		if r.status != 429 || r.header.Get("X-RateLimit-Remaining") != "0" || r.body["error_code"] != json.Number("429") {
			t.Fatalf("storm request %d: %d %v %s", i, r.status, r.header, r.raw)
		}
	}
	h.do("GET", "/v3/content_types", nil).must(t, 200)
	set(`{"error_rate":{"GET /v3/content_types/*":1}}`)
	r := h.do("GET", "/v3/content_types/video", nil)
	if r.status != 500 || r.body["error_message"] == nil {
		t.Fatalf("injected error: %d %s", r.status, r.raw)
	}
	h.do("GET", "/v3/content_types", nil).must(t, 200)
	set(`{}`)
	calls := h.s.Kit().Calls.List("/v3/content_types")
	if len(calls) != 5 || calls[0].Status != 429 || calls[3].Status != 500 {
		t.Fatalf("recorded calls = %+v", calls)
	}
	if calls[0].Headers["Authorization"] != "***" && calls[0].Headers["authorization"] != "***" {
		t.Fatalf("credentials not masked in the call log: %v", calls[0].Headers)
	}
}
