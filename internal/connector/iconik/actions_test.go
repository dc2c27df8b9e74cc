package iconik

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/fault"
	sbx "github.com/patchbay/patchbay/internal/sandbox/iconik"
)

func TestGetAsset(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 12})
	c := s.open(t, nil)
	id := s.AssetIDs()[3]
	tests := []struct {
		name    string
		input   map[string]any
		wantErr fault.Kind
		check   func(t *testing.T, o map[string]any)
	}{
		{name: "plain", input: map[string]any{"asset_id": id}, check: func(t *testing.T, o map[string]any) {
			if o["id"] != id || o["version_id"] != s.LatestVersionID(id) || o["object"] != "iconik:asset/"+id {
				t.Errorf("output %v", o)
			}
			if _, ok := o["metadata"]; ok {
				t.Error("metadata without include")
			}
		}},
		{name: "everything", input: map[string]any{"asset_id": id, "include": []any{"metadata", "versions", "proxies", "keyframes", "collections"}},
			check: func(t *testing.T, o map[string]any) {
				md := o["metadata"].(map[string]any)
				if md[sbx.FieldCampaign] != s.MetadataValue("assets", id, sbx.FieldCampaign) || md[sbx.FieldCampaign] == "" {
					t.Errorf("metadata %v", md)
				}
				if _, ok := o["metadata_values"].(map[string]any)[sbx.FieldCampaign].([]any); !ok {
					t.Errorf("metadata_values %v", o["metadata_values"])
				}
				if u, _ := o["proxy_url"].(string); !strings.HasPrefix(u, s.URL+"/media/proxies/") {
					t.Errorf("proxy_url %v", o["proxy_url"])
				}
				if o["keyframe_url"] == nil || o["poster_url"] == nil {
					t.Errorf("keyframes %v / %v", o["keyframe_url"], o["poster_url"])
				}
				if len(o["collections"].([]any)) == 0 || len(o["versions"].([]any)) == 0 {
					t.Errorf("collections %v versions %v", o["collections"], o["versions"])
				}
			}},
		{name: "rights view only", input: map[string]any{"asset_id": id, "include": []any{"metadata"}, "view": sbx.ViewRights},
			check: func(t *testing.T, o map[string]any) {
				md := o["metadata"].(map[string]any)
				if _, ok := md[sbx.FieldCampaign]; ok || md[sbx.FieldRightsStatus] == nil {
					t.Errorf("rights view metadata %v", md)
				}
			}},
		{name: "unknown asset", input: map[string]any{"asset_id": "00000000-0000-4000-8000-000000000000"}, wantErr: fault.NotFound},
		{name: "unknown version", input: map[string]any{"asset_id": id, "version_id": "00000000-0000-4000-8000-000000000000"}, wantErr: fault.NotFound},
		{name: "unknown view", input: map[string]any{"asset_id": id, "include": []any{"metadata"}, "view": "nope"}, wantErr: fault.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := do(t, c, "get_asset", "", tt.input)
			if tt.wantErr != 0 || err != nil {
				if fault.KindOf(err) != tt.wantErr || err == nil {
					t.Fatalf("err = %v (kind %v), want kind %v", err, fault.KindOf(err), tt.wantErr)
				}
				return
			}
			tt.check(t, out(res))
		})
	}
}

func TestSearchAssets(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 40, DisableTranscode: true})
	c := s.open(t, nil)
	res := mustDo(t, c, "search_assets", "", map[string]any{"filter": map[string]any{"metadata." + sbx.FieldCampaign: sbx.SeedCampaigns[0]}, "limit": 1000})
	o := out(res)
	if o["count"] != 10 || o["total"] != 10 {
		t.Fatalf("campaign search: count %v total %v", o["count"], o["total"])
	}
	for _, h := range o["assets"].([]any) {
		hit := h.(map[string]any)
		if hit["metadata"].(map[string]any)[sbx.FieldCampaign] != sbx.SeedCampaigns[0] {
			t.Fatalf("hit %v", hit)
		}
	}
	res = mustDo(t, c, "search_assets", "", map[string]any{"query": "Trailer", "sort": []any{"title,asc"}, "limit": 3})
	if n := out(res)["count"]; n != 3 {
		t.Fatalf("limit 3: count %v", n)
	}
	res = mustDo(t, c, "search_assets", "", map[string]any{"doc_type": "collections", "filter": map[string]any{"title": sbx.CollectionApproved}})
	if hits := out(res)["assets"].([]any); len(hits) != 1 || hits[0].(map[string]any)["object"] != "iconik:collection/"+mustCollection(t, s, sbx.CollectionApproved, "") {
		t.Fatalf("collection search %v", hits)
	}
	if _, err := do(t, c, "search_assets", "", map[string]any{"sort": []any{"title,sideways"}}); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("bad sort: %v", err)
	}
}

func mustCollection(t *testing.T, s *sandbox, title, parent string) string {
	t.Helper()
	col, ok := s.CollectionByTitle(title, parent)
	if !ok {
		t.Fatalf("no collection %q", title)
	}
	return col.ID
}

// TestPagingPast1000 pages through 1,200 assets with search_after.
func TestPagingPast1000(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{DisableTranscode: true})
	ids := s.SeedAssets(1200)
	c := s.open(t, nil)
	res := mustDo(t, c, "search_assets", "", map[string]any{"limit": 5000, "sort": []any{"date_created,asc"}})
	o := out(res)
	if o["count"] != 1200 || o["total"] != 1200 {
		t.Fatalf("count %v total %v", o["count"], o["total"])
	}
	if o["pages"] != 13 { // 12 full pages of 100, then an empty one confirms the end
		t.Errorf("pages = %v, want 13", o["pages"])
	}
	seen := map[string]bool{}
	for i, h := range o["assets"].([]any) {
		id := h.(map[string]any)["id"].(string)
		if seen[id] {
			t.Fatalf("asset %s twice", id)
		}
		seen[id] = true
		if id != ids[i] {
			t.Fatalf("hit %d is %s, want %s (oldest first)", i, id, ids[i])
		}
	}
	t.Logf("search_assets: %d assets in %v pages of 100 (search_after)", len(seen), o["pages"])
}

func TestSetMetadataModes(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 5, DisableTranscode: true})
	c := s.open(t, nil)
	id := s.AssetIDs()[0]
	steps := []struct {
		name        string
		input       map[string]any
		wantChanged []string
		want        map[string][]string // field → stored values afterwards
	}{
		{name: "merge sets given fields", input: map[string]any{"fields": map[string]any{sbx.FieldReviewStatus: "Released", sbx.FieldUsageCount: "3"}},
			wantChanged: []string{sbx.FieldReviewStatus, sbx.FieldUsageCount}, want: map[string][]string{sbx.FieldReviewStatus: {"Released"}, sbx.FieldUsageCount: {"3"}}},
		{name: "same values again write nothing", input: map[string]any{"fields": map[string]any{sbx.FieldReviewStatus: "Released", sbx.FieldUsageCount: 3}},
			wantChanged: []string{}},
		{name: "append adds missing values", input: map[string]any{"mode": "append", "fields": map[string]any{sbx.FieldUsedOn: []any{"https://a.example", "https://b.example"}}},
			wantChanged: []string{sbx.FieldUsedOn}, want: map[string][]string{sbx.FieldUsedOn: {"https://a.example", "https://b.example"}}},
		{name: "append is idempotent", input: map[string]any{"mode": "append", "fields": map[string]any{sbx.FieldUsedOn: "https://b.example"}},
			wantChanged: []string{}},
		{name: "remove takes values out", input: map[string]any{"mode": "remove", "fields": map[string]any{sbx.FieldUsedOn: "https://a.example"}},
			wantChanged: []string{sbx.FieldUsedOn}, want: map[string][]string{sbx.FieldUsedOn: {"https://b.example"}}},
		{name: "null clears", input: map[string]any{"fields": map[string]any{sbx.FieldUsedOn: nil}},
			wantChanged: []string{sbx.FieldUsedOn}, want: map[string][]string{sbx.FieldUsedOn: {}}},
		{name: "replace clears the rest of the view", input: map[string]any{"mode": "replace", "view": sbx.ViewRights, "fields": map[string]any{sbx.FieldRightsStatus: "Restricted"}},
			want: map[string][]string{sbx.FieldRightsStatus: {"Restricted"}, sbx.FieldTalent: {}, sbx.FieldTerritories: {}, sbx.FieldCampaign: nil}},
	}
	for _, st := range steps {
		input := map[string]any{"object_id": id}
		for k, v := range st.input {
			input[k] = v
		}
		res := mustDo(t, c, "set_metadata", "", input)
		o := out(res)
		if st.wantChanged != nil {
			got := []string{}
			for _, x := range o["changed"].([]any) {
				got = append(got, x.(string))
			}
			if strings.Join(got, ",") != strings.Join(st.wantChanged, ",") {
				t.Errorf("%s: changed %v, want %v", st.name, got, st.wantChanged)
			}
			if (len(st.wantChanged) > 0) != (len(res.Writes) == 1) || o["written"] != (len(st.wantChanged) > 0) {
				t.Errorf("%s: writes %v, written %v", st.name, res.Writes, o["written"])
			}
		}
		vals := s.MetadataValues("assets", id)
		for f, want := range st.want {
			if want == nil {
				if len(vals[f]) == 0 {
					t.Errorf("%s: replace through the Rights view cleared %s outside it", st.name, f)
				}
				continue
			}
			if got := canonList(vals[f]); strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("%s: %s = %v, want %v", st.name, f, got, want)
			}
		}
	}
	if _, err := do(t, c, "set_metadata", "", map[string]any{"object_id": id, "fields": map[string]any{"no_such_field": 1}}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("unknown field: %v", err)
	}
	if _, err := do(t, c, "set_metadata", "", map[string]any{"object_id": "00000000-0000-4000-8000-000000000000", "fields": map[string]any{sbx.FieldCampaign: "x"}}); fault.KindOf(err) != fault.NotFound {
		t.Errorf("unknown asset: %v", err)
	}
	res := mustDo(t, c, "get_metadata", "", map[string]any{"object_id": id, "fields": []any{sbx.FieldRightsStatus, sbx.FieldUsedOn}})
	if v := out(res)["values"].(map[string]any); v[sbx.FieldRightsStatus] != "Restricted" || v[sbx.FieldUsedOn] != nil {
		t.Errorf("get_metadata %v", v)
	}
}

func TestApprovals(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 12, DisableTranscode: true})
	c := s.open(t, nil)
	id := ""
	for _, a := range s.AssetIDs() {
		if s.ApprovalStatus(a, "") == "N/A" {
			id = a
			break
		}
	}
	if id == "" {
		t.Fatal("every seed asset has an approval")
	}
	res := mustDo(t, c, "get_approval", "", map[string]any{"asset_id": id})
	if o := out(res); o["status"] != "N/A" || o["requested"] != false {
		t.Fatalf("before: %v", o)
	}
	res = mustDo(t, c, "request_approval", "k1", map[string]any{"asset_id": id, "users": []any{sbx.ReviewerUserID}})
	if o := out(res); o["status"] != "REQUESTED" || o["created"] != true || len(res.Writes) != 1 {
		t.Fatalf("request: %v %v", o, res.Writes)
	}
	res = mustDo(t, c, "request_approval", "k1", map[string]any{"asset_id": id, "users": []any{sbx.ReviewerUserID}})
	if o := out(res); o["created"] != false || len(res.Writes) != 0 {
		t.Fatalf("request again: %v %v", o, res.Writes)
	}
	vid := s.LatestVersionID(id)
	res = mustDo(t, c, "set_approval", "k2", map[string]any{"asset_id": id, "status": "NOT_APPROVED", "version_id": vid, "user": sbx.ReviewerUserID})
	if o := out(res); o["status"] != "NOT_APPROVED" || o["changed"] != true {
		t.Fatalf("reject: %v", o)
	}
	if _, err := do(t, c, "set_approval", "", map[string]any{"asset_id": id, "status": "APPROVED", "version_id": "00000000-0000-4000-8000-000000000000"}); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("unknown version: %v", err)
	}
	newVersion, err := s.UserAddVersion(id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := do(t, c, "set_approval", "", map[string]any{"asset_id": id, "status": "APPROVED", "version_id": vid}); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("old version: %v", err)
	}
	// The new version has no request: set_approval asks for one first.
	res = mustDo(t, c, "set_approval", "k3", map[string]any{"asset_id": id, "status": "APPROVED", "version_id": newVersion})
	if o := out(res); o["status"] != "APPROVED" || o["version_id"] != newVersion || len(res.Writes) != 2 {
		t.Fatalf("approve new version: %v writes %v", o, res.Writes)
	}
	if s.ApprovalStatus(id, vid) != "NOT_APPROVED" || s.ApprovalStatus(id, newVersion) != "APPROVED" {
		t.Fatalf("statuses %s / %s", s.ApprovalStatus(id, vid), s.ApprovalStatus(id, newVersion))
	}
	res = mustDo(t, c, "get_approval", "", map[string]any{"asset_id": id, "version_id": vid})
	if o := out(res); o["status"] != "NOT_APPROVED" || len(o["decisions"].([]any)) != 1 {
		t.Fatalf("old version approval: %v", o)
	}
}

func TestCollections(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 6, DisableTranscode: true})
	c := s.open(t, nil)
	res := mustDo(t, c, "find_or_create_collection", "", map[string]any{"path": "Campaigns/Autumn Launch/Cutdowns"})
	o := out(res)
	ids := o["ids"].([]any)
	if len(ids) != 3 || o["created"] != true || len(res.Writes) != 2 || ids[0] != mustCollection(t, s, sbx.CollectionCampaigns, "") {
		t.Fatalf("path: %v writes %d", o, len(res.Writes))
	}
	leaf, _ := s.Collection(ids[2].(string))
	if leaf.Title != "Cutdowns" || leaf.ParentID == nil || *leaf.ParentID != ids[1] {
		t.Fatalf("leaf %+v", leaf)
	}
	res = mustDo(t, c, "create_collection", "", map[string]any{"title": "Entry blt1", "parent_id": ids[1], "external_id": "blt1"})
	if out(res)["created"] != true {
		t.Fatal("create_collection did not create")
	}
	res = mustDo(t, c, "create_collection", "", map[string]any{"title": "Entry blt1 (renamed)", "parent_id": ids[1], "external_id": "blt1"})
	if out(res)["created"] != false || len(res.Writes) != 0 {
		t.Fatalf("create_collection by external_id again: %v", out(res))
	}
	byLink := &connector.Link{Key: "contentstack:entry/campaign/blt2", Sides: []connector.LinkSide{{Object: "iconik:collection/" + ids[2].(string)}}}
	as, _ := spec.Action("create_collection")
	in, _ := connector.Prepare(as.Input, map[string]any{"title": "whatever"}, false)
	lres, err := c.Do(context.Background(), "create_collection", &connector.Request{Input: in, Link: byLink})
	if err != nil || out(lres)["id"] != ids[2] || out(lres)["created"] != false {
		t.Fatalf("create_collection by link: %v %v", lres, err)
	}

	assets := s.AssetIDs()
	res = mustDo(t, c, "add_to_collection", "", map[string]any{"collection_id": ids[2], "object_ids": []any{assets[0], assets[1]}})
	if o := out(res); len(o["added"].([]any)) != 2 || len(res.Writes) != 2 {
		t.Fatalf("add: %v", o)
	}
	res = mustDo(t, c, "add_to_collection", "", map[string]any{"collection_id": ids[2], "object_ids": []any{assets[1], assets[2]}})
	if o := out(res); len(o["added"].([]any)) != 1 || len(o["already"].([]any)) != 1 {
		t.Fatalf("add again: %v", o)
	}
	res = mustDo(t, c, "remove_from_collection", "", map[string]any{"collection_id": ids[2], "object_ids": []any{assets[0], assets[3]}})
	if o := out(res); len(o["removed"].([]any)) != 1 || len(o["absent"].([]any)) != 1 || len(res.Writes) != 1 {
		t.Fatalf("remove: %v", o)
	}
	if n := len(s.CollectionContents(ids[2].(string))); n != 2 {
		t.Fatalf("collection holds %d, want 2", n)
	}
	if _, err := do(t, c, "remove_from_collection", "", map[string]any{"collection_id": "00000000-0000-4000-8000-000000000000", "object_id": assets[0]}); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("remove from unknown collection: %v", err)
	}
}

func TestAssetsLifecycle(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 4})
	c := s.open(t, nil)
	res := mustDo(t, c, "create_asset", "", map[string]any{"title": "Summer promo", "type": "PLACEHOLDER", "external_id": "blt-summer",
		"collection_id": mustCollection(t, s, sbx.CollectionApproved, ""), "metadata": map[string]any{sbx.FieldCampaign: "Summer"}})
	o := out(res)
	id := o["id"].(string)
	if o["created"] != true || o["type"] != "PLACEHOLDER" || len(res.Writes) != 3 {
		t.Fatalf("create: %v writes %v", o, res.Writes)
	}
	if s.MetadataValue("assets", id, sbx.FieldCampaign) != "Summer" {
		t.Fatal("metadata not written")
	}
	res = mustDo(t, c, "create_asset", "", map[string]any{"title": "Summer promo", "external_id": "blt-summer"})
	if out(res)["id"] != id || out(res)["created"] != false || len(res.Writes) != 0 {
		t.Fatalf("create again: %v %v", out(res), res.Writes)
	}

	res = mustDo(t, c, "update_asset", "", map[string]any{"asset_id": id, "title": "Summer promo v2", "warning": "Embargoed"})
	if ch := out(res)["changed"].([]any); len(ch) != 2 || len(res.Writes) != 1 {
		t.Fatalf("update: %v", out(res))
	}
	if res = mustDo(t, c, "update_asset", "", map[string]any{"asset_id": id, "title": "Summer promo v2"}); len(res.Writes) != 0 {
		t.Fatal("unchanged update wrote")
	}
	for _, blocked := range []bool{true, true, false} {
		res = mustDo(t, c, "block_asset", "", map[string]any{"asset_id": id, "blocked": blocked})
		a, _ := s.Asset(id)
		if a.IsBlocked != blocked {
			t.Fatalf("blocked = %v, want %v", a.IsBlocked, blocked)
		}
	}
	if len(res.Writes) != 1 || res.Writes[0].Op != "unblock" {
		t.Fatalf("unblock writes %v", res.Writes)
	}

	media := s.AssetIDs()[0]
	settle(t, s)
	res = mustDo(t, c, "archive_asset", "", map[string]any{"asset_id": media})
	if o := out(res); o["changed"] != true || o["archive_status"] != "ARCHIVING" {
		t.Fatalf("archive: %v", o)
	}
	if res = mustDo(t, c, "archive_asset", "", map[string]any{"asset_id": media}); out(res)["changed"] != false {
		t.Fatal("archiving twice started a second job")
	}
	settle(t, s)
	if a, _ := s.Asset(media); a.ArchiveStatus != "ARCHIVED" {
		t.Fatalf("archive status %s", a.ArchiveStatus)
	}
	if _, err := do(t, c, "get_media_urls", "", map[string]any{"asset_id": media, "include": []any{"download"}}); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("download of an archived original: %v", err)
	}
	mustDo(t, c, "restore_archived_asset", "", map[string]any{"asset_id": media})
	settle(t, s)
	res = mustDo(t, c, "get_media_urls", "", map[string]any{"asset_id": media, "include": []any{"proxies", "keyframes", "download"}})
	if o := out(res); o["download_url"] == nil || o["proxy_url"] == nil || o["poster_url"] == nil {
		t.Fatalf("media urls %v", o)
	}

	for i, want := range []bool{true, false} {
		res = mustDo(t, c, "delete_asset", "", map[string]any{"asset_id": id})
		if out(res)["changed"] != want || len(res.Writes) != map[bool]int{true: 1, false: 0}[want] {
			t.Fatalf("delete #%d: %v", i+1, out(res))
		}
	}
	if a, _ := s.Asset(id); a.Status != "DELETED" {
		t.Fatalf("status %s", a.Status)
	}
	mustDo(t, c, "restore_asset", "", map[string]any{"asset_id": id})
	if a, _ := s.Asset(id); a.Status != "ACTIVE" {
		t.Fatalf("restored status %s", a.Status)
	}
	if _, err := do(t, c, "purge_asset", "", map[string]any{"asset_id": id, "confirm": false}); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("purge without confirm: %v", err)
	}
	if _, ok := s.Asset(id); !ok {
		t.Fatal("purged without confirm")
	}
	for i, want := range []bool{true, false} {
		res = mustDo(t, c, "purge_asset", "", map[string]any{"asset_id": id, "confirm": true})
		if out(res)["changed"] != want {
			t.Fatalf("purge #%d: %v", i+1, out(res))
		}
	}
	if _, ok := s.Asset(id); ok {
		t.Fatal("asset survived purge")
	}
}

func TestJobsHistoryShares(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, sbx.Options{Seed: true, SeedAssetCount: 4, DisableTranscode: true})
	c := s.open(t, nil)
	id := s.AssetIDs()[0]
	res := mustDo(t, c, "create_job", "job-key", map[string]any{"title": "Media needed", "object_id": id, "status": "WAITING", "progress_total": 4})
	job := out(res)["id"].(string)
	res = mustDo(t, c, "update_job", "", map[string]any{"job_id": job, "status": "STARTED", "progress_processed": 2, "metadata": map[string]any{"entry": "blt1"}})
	if o := out(res); o["progress"] != 50 || o["changed"] != true {
		t.Fatalf("update_job: %v", o)
	}
	if res = mustDo(t, c, "update_job", "", map[string]any{"job_id": job, "status": "STARTED", "metadata": map[string]any{"entry": "blt1"}}); out(res)["changed"] != false {
		t.Fatalf("unchanged update_job wrote: %v", out(res))
	}
	j, _ := s.Job(job)
	if j.Metadata["entry"] != "blt1" || j.Metadata[jobKeyField] != "job-key" {
		t.Fatalf("job metadata %v", j.Metadata)
	}

	res = mustDo(t, c, "add_history", "pb-0123456789abcdef0123", map[string]any{"asset_id": id, "description": "Published to CMS"})
	if d := out(res)["description"].(string); !strings.HasPrefix(d, "Published to CMS [patchbay pb-0123456789abcdef]") {
		t.Fatalf("history description %q", d)
	}

	res = mustDo(t, c, "create_share", "", map[string]any{"object_id": id, "title": "Review", "expires_in": "7d", "password": "hunter2-secret"})
	o := out(res)
	if o["created"] != true || !strings.Contains(o["url"].(string), "/share/assets/"+id) {
		t.Fatalf("share: %v", o)
	}
	b, _ := json.Marshal(res)
	if strings.Contains(string(b), "hunter2-secret") {
		t.Fatal("share password in the result")
	}
	res = mustDo(t, c, "create_share", "", map[string]any{"object_id": id, "title": "Review", "allow_download": true})
	if out(res)["created"] != true {
		t.Fatal("share with other permissions reused")
	}
	if n := len(s.Shares("assets", id)); n != 2 {
		t.Fatalf("%d shares", n)
	}
	res = mustDo(t, c, "delete_share", "", map[string]any{"object_id": id, "all": true})
	if d := out(res)["deleted"].([]any); len(d) != 2 || len(res.Writes) != 2 {
		t.Fatalf("delete all: %v", out(res))
	}
	if _, err := do(t, c, "delete_share", "", map[string]any{"object_id": id}); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("delete_share without target: %v", err)
	}
}

func TestParseTimecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		fps     float64
		want    int64
		wantErr bool
	}{
		{"00:00:12", 25, 12000, false},
		{"00:01:02.5", 25, 62500, false},
		{"00:00:12:05", 25, 12200, false},
		{"01:00:00;15", 30, 3600500, false},
		{"00:00:12:25", 25, 0, true},
		{"12:05", 25, 0, true},
		{"00:61:00", 25, 0, true},
	}
	for _, tt := range tests {
		got, err := parseTimecode(tt.in, tt.fps)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseTimecode(%q, %v) = %d, %v; want %d, err %v", tt.in, tt.fps, got, err, tt.want, tt.wantErr)
		}
	}
}
