package iconik

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	good := s.Credentials()
	tests := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{name: "valid", headers: map[string]string{"App-ID": good["app_id"], "Auth-Token": good["auth_token"]}, want: 200},
		{name: "header names are case-insensitive", headers: map[string]string{"app-id": good["app_id"], "AUTH-TOKEN": good["auth_token"]}, want: 200},
		{name: "missing both", headers: nil, want: 401},
		{name: "missing token", headers: map[string]string{"App-ID": good["app_id"]}, want: 401},
		{name: "missing app id", headers: map[string]string{"Auth-Token": good["auth_token"]}, want: 401},
		{name: "wrong token", headers: map[string]string{"App-ID": good["app_id"], "Auth-Token": "nope"}, want: 401},
		{name: "token of another app", headers: map[string]string{"App-ID": DefaultSystemDomainID, "Auth-Token": good["auth_token"]}, want: 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", s.ts.URL+"/API/assets/v1/assets/", nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := s.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == 401 {
				var body struct {
					Errors []string `json:"errors"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || len(body.Errors) == 0 {
					t.Fatalf("401 body is not iconik's {\"errors\": [...]}: %v", err)
				}
			}
		})
	}
	if got := s.Credentials(); got["app_id"] != DefaultAppID || got["auth_token"] != DefaultAuthToken {
		t.Errorf("Credentials() = %v, want the demo defaults", got)
	}
}

func TestSlashlessPathIsRedirected_Assumption(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	req, _ := http.NewRequest("GET", s.ts.URL+"/API/assets/v1/assets", nil)
	req.Header.Set("App-ID", DefaultAppID)
	req.Header.Set("Auth-Token", DefaultAuthToken)
	client := *s.ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "/API/assets/v1/assets/" {
		t.Fatalf("got %d %q, want 308 to the slash form", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// The limits and headers are UNCONFIRMED: about 50 req/s per App-ID, 429
// with Retry-After and RateLimit-Remaining.
func TestRateLimitPerAppID_Assumption(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: 5, Burst: 5, Clock: clock}})
	for i := range 5 {
		r := s.do(t, "GET", "/API/assets/v1/assets/", nil)
		if r.status != 200 {
			t.Fatalf("request %d within the limit: status %d", i, r.status)
		}
		if got, want := r.header.Get("RateLimit-Remaining"), fmt.Sprint(4-i); got != want {
			t.Errorf("request %d: RateLimit-Remaining %q, want %q", i, got, want)
		}
	}
	r := s.do(t, "GET", "/API/assets/v1/assets/", nil)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("burst above the limit: status %d, want 429", r.status)
	}
	if r.header.Get("Retry-After") != "1" || r.header.Get("RateLimit-Remaining") != "0" {
		t.Errorf("429 headers: Retry-After %q RateLimit-Remaining %q", r.header.Get("Retry-After"), r.header.Get("RateLimit-Remaining"))
	}
	if m := r.json(t); m["errors"] == nil {
		t.Errorf("429 body %s lacks errors", r.body)
	}

	// Another application (a custom action's token) has its own bucket.
	otherApp := "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
	s.SetRateLimit(5, 5)
	act := s.must(t, 201, "POST", "/API/assets/v1/custom_actions/ASSET/", map[string]any{"title": "x", "url": "http://127.0.0.1:1/", "type": "OPEN", "app_id": otherApp})
	pl, err := s.UserRunCustomAction(act["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		s.do(t, "GET", "/API/assets/v1/assets/", nil)
	}
	if r := s.do(t, "GET", "/API/assets/v1/assets/", nil); r.status != 429 {
		t.Fatalf("main app not limited: %d", r.status)
	}
	if r := s.doWith(t, "GET", "/API/assets/v1/assets/", nil, map[string]string{"app_id": otherApp, "auth_token": pl.AuthToken}); r.status != 200 {
		t.Fatalf("other App-ID shares the bucket: status %d", r.status)
	}
	clock.Advance(time.Second)
	if r := s.do(t, "GET", "/API/assets/v1/assets/", nil); r.status != 200 {
		t.Fatalf("after a second the bucket refilled: status %d", r.status)
	}
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}})
	put := func(cfg kit.FaultConfig) {
		b, _ := json.Marshal(cfg)
		req, _ := http.NewRequest("PUT", s.ts.URL+"/_sandbox/faults", strings.NewReader(string(b)))
		resp, err := s.ts.Client().Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("setting faults: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	put(kit.FaultConfig{Storm429: 3})
	for i := range 3 {
		r := s.do(t, "GET", "/API/assets/v1/assets/", nil)
		if r.status != 429 || r.header.Get("Retry-After") == "" || r.json(t)["errors"] == nil {
			t.Fatalf("storm request %d: %d %v %s", i, r.status, r.header, r.body)
		}
	}
	if r := s.do(t, "GET", "/API/assets/v1/assets/", nil); r.status != 200 {
		t.Fatalf("after the storm: %d", r.status)
	}
	put(kit.FaultConfig{ErrorRate: map[string]float64{"POST /API/assets/v1/assets/": 1}})
	if r := s.do(t, "POST", "/API/assets/v1/assets/", map[string]any{"title": "x"}); r.status != 500 || r.json(t)["errors"] == nil {
		t.Fatalf("injected error: %d %s", r.status, r.body)
	}
	if n := s.Kit().Calls.Count("GET", "/API/assets/v1/assets/"); n != 4 {
		t.Errorf("recorded GET calls = %d, want 4", n)
	}
}

func TestSearchPagesPast1000(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}, SearchMaxWindow: 1000})
	ids := s.SeedAssets(1234)
	body := map[string]any{"doc_types": []string{"assets"}, "sort": []any{map[string]string{"name": "date_created", "order": "desc"}}}

	t.Run("search_after walks every asset", func(t *testing.T) {
		seen := map[string]bool{}
		var after any
		for pages := 0; ; pages++ {
			b := map[string]any{}
			for k, v := range body {
				b[k] = v
			}
			if after != nil {
				b["search_after"] = after
			}
			m := s.must(t, 200, "POST", "/API/search/v1/search/?per_page=100&generate_signed_url=false", b)
			objs := m["objects"].([]any)
			if len(objs) == 0 {
				break
			}
			for _, o := range objs {
				id := o.(map[string]any)["id"].(string)
				if seen[id] {
					t.Fatalf("asset %s returned twice", id)
				}
				seen[id] = true
			}
			after = objs[len(objs)-1].(map[string]any)["_sort"]
			if pages > 20 {
				t.Fatal("too many pages")
			}
		}
		if len(seen) != len(ids) {
			t.Fatalf("saw %d assets, want %d", len(seen), len(ids))
		}
	})
	t.Run("page numbers work inside the result window", func(t *testing.T) {
		m := s.must(t, 200, "POST", "/API/search/v1/search/?per_page=100&page=10", body)
		if m["total"].(float64) != 1234 || m["pages"].(float64) != 13 || len(m["objects"].([]any)) != 100 {
			t.Fatalf("page 10: total %v pages %v objects %d", m["total"], m["pages"], len(m["objects"].([]any)))
		}
		first := m["objects"].([]any)[0].(map[string]any)["id"].(string)
		if want := ids[len(ids)-1-900]; first != want {
			t.Errorf("page 10 starts with %s, want %s (newest first)", first, want)
		}
	})
	t.Run("page numbers past the window are refused (assumption: Elasticsearch max_result_window)", func(t *testing.T) {
		r := s.do(t, "POST", "/API/search/v1/search/?per_page=100&page=11", body)
		if r.status != 400 || r.json(t)["errors"] == nil {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
	})
	t.Run("asset list pages", func(t *testing.T) {
		m := s.must(t, 200, "GET", "/API/assets/v1/assets/?per_page=500&page=3", nil)
		if len(m["objects"].([]any)) != 234 || m["next_url"] != nil {
			t.Fatalf("last page: %d objects, next_url %v", len(m["objects"].([]any)), m["next_url"])
		}
		if r := s.do(t, "GET", "/API/assets/v1/assets/?per_page=500&page=4", nil); r.status != 404 {
			t.Fatalf("page past the end: %d", r.status)
		}
	})
}

func TestSearchQueriesAndFilters(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}, DisableTranscode: true})
	s.InstallSchema()
	mk := func(title string, vals map[string]any) string {
		id, err := s.UserCreateAsset(title, vals)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	trailer := mk("Summer Trailer", map[string]any{FieldCampaign: "Summer", FieldRegion: "EMEA", FieldRightsExpiry: "2026-03-01"})
	promo := mk("Winter promo cut", map[string]any{FieldCampaign: "Winter", FieldRegion: "NA", FieldTalent: []string{"Ava Stone", "Mia Chen"}})
	gone := mk("Deleted trailer", nil)
	if err := s.UserDeleteAsset(gone); err != nil {
		t.Fatal(err)
	}
	s.must(t, 200, "PATCH", "/API/assets/v1/assets/"+promo+"/", map[string]any{"external_id": "blt42"})
	tests := []struct {
		name string
		body map[string]any
		want []string
	}{
		{"bare word, any case", map[string]any{"query": "TRAILER"}, []string{trailer}},
		{"field query", map[string]any{"query": "title:promo"}, []string{promo}},
		{"metadata field query", map[string]any{"query": "metadata.campaign:winter"}, []string{promo}},
		{"OR", map[string]any{"query": "trailer OR promo"}, []string{trailer, promo}},
		{"NOT", map[string]any{"query": "NOT trailer"}, []string{promo}},
		{"phrase", map[string]any{"query": `"winter promo"`}, []string{promo}},
		{"wildcard", map[string]any{"query": "summ*"}, []string{trailer}},
		{"adjacent words are ANDed (assumption)", map[string]any{"query": "summer promo"}, nil},
		{"term on metadata", map[string]any{"filter": map[string]any{"operator": "AND", "terms": []any{map[string]any{"name": "metadata.region", "value": "NA"}}}}, []string{promo}},
		{"term on bare metadata name (assumption)", map[string]any{"filter": map[string]any{"operator": "AND", "terms": []any{map[string]any{"name": "region", "value": "EMEA"}}}}, []string{trailer}},
		{"value_in on multi-value field", map[string]any{"filter": map[string]any{"operator": "AND", "terms": []any{map[string]any{"name": "metadata.talent", "value_in": []string{"Mia Chen"}}}}}, []string{promo}},
		{"range on a date field", map[string]any{"filter": map[string]any{"operator": "AND", "terms": []any{map[string]any{"name": "metadata.rights_expiry", "range": map[string]string{"min": "2026-01-01", "max": "2026-12-31"}}}}}, []string{trailer}},
		{"exists", map[string]any{"filter": map[string]any{"operator": "AND", "terms": []any{map[string]any{"name": "external_id", "exists": true}}}}, []string{promo}},
		{"missing", map[string]any{"filter": map[string]any{"operator": "AND", "terms": []any{map[string]any{"name": "external_id", "missing": true}}}}, []string{trailer}},
		{"external id lookup", map[string]any{"filter": map[string]any{"operator": "AND", "terms": []any{map[string]any{"name": "external_id", "value": "blt42"}}}}, []string{promo}},
		{"OR filter with nested AND", map[string]any{"filter": map[string]any{"operator": "OR", "filters": []any{
			map[string]any{"operator": "AND", "terms": []any{map[string]any{"name": "metadata.region", "value": "EMEA"}}},
			map[string]any{"operator": "AND", "terms": []any{map[string]any{"name": "title", "value": "Winter promo cut"}}},
		}}}, []string{trailer, promo}},
		{"deleted assets only when status is filtered", map[string]any{"filter": map[string]any{"operator": "AND", "terms": []any{map[string]any{"name": "status", "value": "DELETED"}}}}, []string{gone}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.body["doc_types"] = []string{"assets"}
			tc.body["sort"] = []any{map[string]string{"name": "title", "order": "desc"}}
			m := s.must(t, 200, "POST", "/API/search/v1/search/?per_page=50", tc.body)
			var got []string
			for _, o := range m["objects"].([]any) {
				got = append(got, o.(map[string]any)["id"].(string))
			}
			want := append([]string{}, tc.want...)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
		})
	}
	t.Run("facets count buckets", func(t *testing.T) {
		m := s.must(t, 200, "POST", "/API/search/v1/search/", map[string]any{"doc_types": []string{"assets"}, "facets": []string{"metadata.region"}})
		buckets := m["facets"].(map[string]any)["metadata.region"].(map[string]any)["buckets"].([]any)
		if len(buckets) != 2 {
			t.Fatalf("buckets %v", buckets)
		}
	})
	t.Run("collections by title under a parent", func(t *testing.T) {
		camp, _ := s.CollectionByTitle(CollectionCampaigns, "")
		m := s.must(t, 200, "POST", "/API/search/v1/search/", map[string]any{"doc_types": []string{"collections"},
			"filter": map[string]any{"operator": "AND", "terms": []any{map[string]any{"name": "title", "value": SeedCampaigns[0]}, map[string]any{"name": "parent_id", "value": camp.ID}}}})
		if m["total"].(float64) != 1 {
			t.Fatalf("found %v collections", m["total"])
		}
	})
	t.Run("bad operator is a 400", func(t *testing.T) {
		r := s.do(t, "POST", "/API/search/v1/search/", map[string]any{"filter": map[string]any{"operator": "XOR"}})
		if r.status != 400 {
			t.Fatalf("status %d", r.status)
		}
	})
}

func TestTranscoderProducesMedia(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: -1, Clock: clock}, TimeScale: 0.001})
	rc := newReceiver(t)
	s.hook(t, map[string]any{"url": rc.URL, "event_type": "assets"})
	a := s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Launch film"})
	id := a["id"].(string)
	placeholder := s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Placeholder", "type": "PLACEHOLDER"})
	s.settle(t)

	proxies := s.must(t, 200, "GET", "/API/files/v1/assets/"+id+"/proxies/", nil)
	kfs := s.must(t, 200, "GET", "/API/files/v1/assets/"+id+"/keyframes/", nil)
	if len(proxies["objects"].([]any)) != 1 || len(kfs["objects"].([]any)) != 2 {
		t.Fatalf("proxies %v keyframes %v", proxies, kfs)
	}
	if len(s.Proxies(placeholder["id"].(string))) != 0 {
		t.Error("a PLACEHOLDER asset was transcoded")
	}
	for _, realm := range []string{RealmFormats, RealmFiles, RealmProxies, RealmKeyframes} {
		if len(rc.find(realm, OpCreate)) == 0 {
			t.Errorf("no %s/create event", realm)
		}
	}
	if len(rc.find(RealmEntity, OpUpdate)) == 0 {
		t.Error("no entity/update event after transcoding")
	}
	jobs := s.Jobs()
	if len(jobs) == 0 || jobs[0].Type != "TRANSCODE" || jobs[0].Status != "FINISHED" {
		t.Errorf("transcode job: %+v", jobs)
	}

	get := func(u string) (int, string) {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type")
	}
	purl := proxies["objects"].([]any)[0].(map[string]any)["url"].(string)
	kurl := kfs["objects"].([]any)[0].(map[string]any)["url"].(string)
	if st, ct := get(purl); st != 200 || ct != "video/mp4" {
		t.Errorf("proxy URL: %d %s", st, ct)
	}
	if st, ct := get(kurl); st != 200 || ct != "image/jpeg" {
		t.Errorf("keyframe URL: %d %s", st, ct)
	}
	if st, _ := get(strings.Replace(purl, "Signature=", "Signature=0", 1)); st != 403 {
		t.Errorf("tampered signature: %d", st)
	}
	clock.Advance(2 * time.Hour)
	if st, _ := get(purl); st != 400 {
		t.Errorf("expired signed URL (assumption: 1h lifetime): %d", st)
	}
	pid := proxies["objects"].([]any)[0].(map[string]any)["id"].(string)
	pub := s.must(t, 201, "POST", "/API/files/v1/assets/"+id+"/proxies/"+pid+"/public/", nil)
	clock.Advance(48 * time.Hour)
	if st, _ := get(pub["url"].(string)); st != 200 {
		t.Errorf("public proxy URL: %d", st)
	}

	// A new version is transcoded too, and search shows the current version's media.
	v, err := s.UserAddVersion(id)
	if err != nil {
		t.Fatal(err)
	}
	s.settle(t)
	n := 0
	for _, p := range s.Proxies(id) {
		if derefStr(p.VersionID) == v {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("new version has %d proxies", n)
	}
	if len(rc.find(RealmVersions, OpCreate)) != 1 {
		t.Errorf("versions/create events: %d", len(rc.find(RealmVersions, OpCreate)))
	}
}

func TestIngestFlowTriggersTranscode(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}})
	a := s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Uploaded", "type": "PLACEHOLDER"})
	id := a["id"].(string)
	s.must(t, 200, "PATCH", "/API/assets/v1/assets/"+id+"/", map[string]any{"type": "ASSET"})
	f := s.must(t, 201, "POST", "/API/files/v1/assets/"+id+"/formats/", map[string]any{"name": "ORIGINAL"})
	fs := s.must(t, 201, "POST", "/API/files/v1/assets/"+id+"/file_sets/", map[string]any{"format_id": f["id"], "storage_id": StorageFilesID, "base_dir": "/", "name": "up.mov", "component_ids": []string{}})
	file := s.must(t, 201, "POST", "/API/files/v1/assets/"+id+"/files/", map[string]any{"original_name": "up.mov", "directory_path": "/", "type": "FILE", "file_set_id": fs["id"], "format_id": f["id"], "size": 10})
	req, _ := http.NewRequest("PUT", file["upload_url"].(string), strings.NewReader("0123456789"))
	resp, err := s.ts.Client().Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("upload: %v %v", err, resp)
	}
	resp.Body.Close()
	s.must(t, 200, "PATCH", "/API/files/v1/assets/"+id+"/files/"+file["id"].(string)+"/", map[string]any{"status": "CLOSED"})
	s.settle(t)
	if len(s.Proxies(id)) != 1 || len(s.Keyframes(id)) != 2 {
		t.Fatalf("closing the ORIGINAL file did not transcode: %d proxies", len(s.Proxies(id)))
	}
	originals := 0
	for _, f := range s.Formats(id) {
		if f.Name == "ORIGINAL" {
			originals++
		}
	}
	if originals != 1 {
		t.Errorf("%d ORIGINAL formats, want the uploaded one only", originals)
	}
}

func TestApprovals(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}, DisableTranscode: true})
	a := s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Review me"})
	id := a["id"].(string)
	v1 := s.LatestVersionID(id)
	base := "/API/assets/v1/assets/" + id + "/approvals/"

	t.Run("a decision needs a request (assumption from the UI)", func(t *testing.T) {
		if r := s.do(t, "PUT", base, map[string]any{"status": "APPROVED"}); r.status != 400 {
			t.Fatalf("status %d", r.status)
		}
	})
	s.must(t, 201, "POST", base+"request/", map[string]any{"users": []string{ReviewerUserID, EditorUserID}, "min_number": 2})
	if got := s.ApprovalStatus(id, v1); got != ApprovalRequested {
		t.Fatalf("after request: %s", got)
	}
	tests := []struct {
		name, user, status, want string
	}{
		{"one of two approvals stays REQUESTED (min_number 2)", ReviewerUserID, ApprovalApproved, ApprovalRequested},
		{"second approval makes it APPROVED", EditorUserID, ApprovalApproved, ApprovalApproved},
		{"a rejection next to an approval is MIXED", EditorUserID, ApprovalNotApproved, ApprovalMixed},
		{"only rejections is NOT_APPROVED", ReviewerUserID, ApprovalNotApproved, ApprovalNotApproved},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.must(t, 200, "PUT", base, map[string]any{"status": tc.status, "user": tc.user})
			if got := s.ApprovalStatus(id, ""); got != tc.want {
				t.Fatalf("status %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("approval is per version (assumption: a new version starts at N/A)", func(t *testing.T) {
		v2, err := s.UserAddVersion(id)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.ApprovalStatus(id, v2); got != ApprovalNA {
			t.Fatalf("new version: %s", got)
		}
		if got := s.ApprovalStatus(id, v1); got != ApprovalNotApproved {
			t.Fatalf("old version lost its status: %s", got)
		}
		if err := s.UserSetApproval(id, ApprovalApproved); err != nil {
			t.Fatal(err)
		}
		m := s.must(t, 200, "GET", "/API/assets/v1/assets/"+id+"/versions/"+v2+"/approvals/request/", nil)
		if m["status"] != ApprovalApproved || m["version_id"] != v2 {
			t.Fatalf("version request: %v", m)
		}
		m = s.must(t, 200, "GET", "/API/assets/v1/assets/"+id+"/versions/"+v1+"/approvals/request/", nil)
		if m["status"] != ApprovalNotApproved {
			t.Fatalf("old version request: %v", m)
		}
	})
	t.Run("history records APPROVE and REJECT", func(t *testing.T) {
		var ops []string
		for _, h := range s.History(id) {
			ops = append(ops, h.OperationType)
		}
		if !slices.Contains(ops, "APPROVE") || !slices.Contains(ops, "REJECT") {
			t.Fatalf("history %v", ops)
		}
	})
}

func TestMetadataSemantics(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}, DisableTranscode: true})
	s.InstallSchema()
	view := s.ViewID(ViewPatchbay)
	rights := s.ViewID(ViewRights)
	a := s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Meta"})
	id := a["id"].(string)
	path := "/API/metadata/v1/assets/" + id + "/views/" + view + "/"
	fv := func(mode string, vals ...any) map[string]any {
		var items []any
		for _, v := range vals {
			items = append(items, map[string]any{"value": v})
		}
		m := map[string]any{"field_values": items}
		if mode != "" {
			m["mode"] = mode
		}
		return m
	}
	put := func(t *testing.T, want int, p string, values map[string]any) {
		t.Helper()
		r := s.do(t, "PUT", p, map[string]any{"metadata_values": values})
		if r.status != want {
			t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
		}
	}
	t.Run("no values yet is a 404", func(t *testing.T) {
		if r := s.do(t, "GET", path, nil); r.status != 404 {
			t.Fatalf("status %d", r.status)
		}
	})
	before, _ := s.Asset(id)
	put(t, 200, path, map[string]any{FieldCampaign: fv("", "Summer"), FieldTalent: fv("", "Ava", "Mia")})
	tests := []struct {
		name   string
		values map[string]any
		field  string
		want   []any
	}{
		{"absent fields are untouched (merge at field level)", map[string]any{FieldRegion: fv("", "NA")}, FieldCampaign, []any{"Summer"}},
		{"overwrite replaces the field", map[string]any{FieldTalent: fv("overwrite", "Omar")}, FieldTalent, []any{"Omar"}},
		{"append adds values", map[string]any{FieldTalent: fv("append", "Lars")}, FieldTalent, []any{"Omar", "Lars"}},
		{"delete removes values", map[string]any{FieldTalent: fv("delete", "Omar")}, FieldTalent, []any{"Lars"}},
		{"an empty list clears", map[string]any{FieldRegion: fv("")}, FieldRegion, nil},
		{"integers are numbers", map[string]any{FieldUsageCount: fv("", 3)}, FieldUsageCount, []any{3.0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			put(t, 200, path, tc.values)
			got := s.MetadataValues("assets", id)[tc.field]
			if len(got) == 0 && len(tc.want) == 0 {
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("%s = %v, want %v", tc.field, got, tc.want)
			}
		})
	}
	bad := []struct {
		name   string
		path   string
		values map[string]any
	}{
		{"field outside the view is rejected (assumption)", "/API/metadata/v1/assets/" + id + "/views/" + rights + "/", map[string]any{FieldCampaign: fv("", "x")}},
		{"drop-down value not an option (assumption)", path, map[string]any{FieldRightsStatus: fv("", "Maybe")}},
		{"two values in a single-value field", path, map[string]any{FieldCampaign: fv("", "a", "b")}},
		{"not a date", path, map[string]any{FieldRightsExpiry: fv("", "soon")}},
		{"unknown mode", path, map[string]any{FieldCampaign: fv("merge", "a")}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, "PUT", tc.path, map[string]any{"metadata_values": tc.values})
			if r.status != 400 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if _, ok := r.json(t)["errors"].(map[string]any); !ok {
				t.Fatalf("not a field-keyed error body: %s", r.body)
			}
		})
	}
	t.Run("a write bumps the asset's date_modified (for polling)", func(t *testing.T) {
		after, _ := s.Asset(id)
		if after.DateModified <= before.DateModified {
			t.Fatalf("date_modified %s not after %s", after.DateModified, before.DateModified)
		}
	})
	t.Run("reading through a view shows only its fields", func(t *testing.T) {
		s.must(t, 200, "PUT", "/API/metadata/v1/assets/"+id+"/views/"+rights+"/", map[string]any{"metadata_values": map[string]any{FieldRightsStatus: fv("", "Pending")}})
		m := s.must(t, 200, "GET", "/API/metadata/v1/assets/"+id+"/views/"+rights+"/", nil)
		vals := m["metadata_values"].(map[string]any)
		if _, ok := vals[FieldCampaign]; ok || vals[FieldRightsStatus] == nil {
			t.Fatalf("values %v", vals)
		}
	})
}

func TestCollectionsAndLifecycle(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}, Seed: true, SeedAssetCount: 8, DisableTranscode: true})
	camp, ok := s.CollectionByTitle(CollectionCampaigns, "")
	if !ok {
		t.Fatal("no Campaigns collection")
	}
	if _, ok := s.CollectionByTitle(CollectionApproved, ""); !ok {
		t.Fatal("no Approved collection")
	}
	col := s.must(t, 201, "POST", "/API/assets/v1/collections/", map[string]any{"title": "Autumn 2026", "parent_id": camp.ID})
	sub := s.must(t, 201, "POST", "/API/assets/v1/collections/", map[string]any{"title": "Cutdowns", "parent_id": col["id"]})
	if got := sub["parents"].([]any); len(got) != 2 || got[0] != camp.ID || got[1] != col["id"] {
		t.Fatalf("parents %v", got)
	}
	if r := s.do(t, "POST", "/API/assets/v1/collections/", map[string]any{"title": "x", "parent_id": APIUserID}); r.status != 400 {
		t.Fatalf("unknown parent: %d", r.status)
	}
	asset := s.AssetIDs()[0]
	cid := col["id"].(string)
	for range 2 {
		s.must(t, 201, "POST", "/API/assets/v1/collections/"+cid+"/contents/", map[string]any{"object_id": asset, "object_type": "assets"})
	}
	if got := s.CollectionContents(cid); len(got) != 2 { // the sub-collection and the asset, once
		t.Fatalf("contents %v", got)
	}
	a, _ := s.Asset(asset)
	if !slices.Contains(*a.InCollections, cid) {
		t.Fatalf("in_collections %v", a.InCollections)
	}

	t.Run("block and unblock", func(t *testing.T) {
		s.must(t, 200, "PATCH", "/API/assets/v1/assets/"+asset+"/", map[string]any{"is_blocked": true})
		if a, _ := s.Asset(asset); !a.IsBlocked {
			t.Fatal("not blocked")
		}
		if err := s.UserBlockAsset(asset, false); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.Asset(asset); a.IsBlocked {
			t.Fatal("still blocked")
		}
	})
	t.Run("soft delete, delete queue, restore, purge", func(t *testing.T) {
		s.must(t, 204, "DELETE", "/API/assets/v1/assets/"+asset+"/", nil)
		a, _ := s.Asset(asset)
		if a.Status != "DELETED" || a.DateDeleted == "" || a.DeletedByUser != APIUserID {
			t.Fatalf("after delete: %+v", a)
		}
		q := s.must(t, 200, "GET", "/API/assets/v1/delete_queue/assets/", nil)
		if q["total"].(float64) != 1 {
			t.Fatalf("delete queue %v", q["total"])
		}
		contents := s.must(t, 200, "GET", "/API/assets/v1/collections/"+cid+"/contents/?object_types=assets", nil)
		if contents["total"].(float64) != 0 {
			t.Fatal("a deleted asset is listed in its collection")
		}
		s.must(t, 204, "PUT", "/API/assets/v1/assets/"+asset+"/restore/", nil)
		if a, _ := s.Asset(asset); a.Status != "ACTIVE" {
			t.Fatal("not restored")
		}
		s.must(t, 204, "DELETE", "/API/assets/v1/assets/"+asset+"/purge/", nil)
		if _, ok := s.Asset(asset); ok {
			t.Fatal("purged asset still exists")
		}
		if r := s.do(t, "GET", "/API/assets/v1/assets/"+asset+"/", nil); r.status != 404 {
			t.Fatalf("GET purged: %d", r.status)
		}
		for _, ref := range s.CollectionContents(cid) {
			if ref.ObjectID == asset {
				t.Fatal("purged asset still in its collection")
			}
		}
	})
}

func TestSharesAndLinks(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: -1, Clock: clock}, DisableTranscode: true})
	col := s.must(t, 201, "POST", "/API/assets/v1/collections/", map[string]any{"title": "Delivery"})
	cid := col["id"].(string)
	sh := s.must(t, 200, "POST", "/API/assets/v1/collections/"+cid+"/shares/url/", map[string]any{
		"allow_approving_comments": false, "allow_comments": true, "allow_download": true, "allow_setting_approve_status": false,
		"expires": clock.Now().Add(24 * time.Hour).Format(time.RFC3339)})
	link := sh["url"].(string)
	get := func() int {
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(); st != 200 {
		t.Fatalf("share link: %d", st)
	}
	clock.Advance(25 * time.Hour)
	if st := get(); st != 410 {
		t.Fatalf("expired share link: %d", st)
	}
	s.must(t, 204, "DELETE", "/API/assets/v1/collections/"+cid+"/shares/"+sh["id"].(string)+"/", nil)
	if st := get(); st != 404 {
		t.Fatalf("deleted share link: %d", st)
	}
	if len(s.Shares("collections", cid)) != 0 {
		t.Fatal("share still listed")
	}
	if r := s.do(t, "POST", "/API/assets/v1/collections/"+cid+"/shares/", map[string]any{"allow_comments": true}); r.status != 400 {
		t.Fatalf("missing required share flags: %d", r.status)
	}
}

func TestSnapshotAndReset(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "iconik.json")
	s1, err := New(Options{SnapshotPath: path, Seed: true, SeedAssetCount: 5, DisableTranscode: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := s1.SeedAssets(3)
	if err := s1.UserSetMetadata("assets", ids[0], map[string]any{FieldCampaign: "Kept"}); err != nil {
		t.Fatal(err)
	}
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := newTestServer(t, Options{SnapshotPath: path, Seed: true, DisableTranscode: true})
	if got := len(s2.AssetIDs()); got != 8 {
		t.Fatalf("after reload: %d assets, want 8", got)
	}
	if got := s2.MetadataValue("assets", ids[0], FieldCampaign); got != "Kept" {
		t.Fatalf("metadata after reload: %q", got)
	}
	if len(s2.Proxies(ids[1])) != 1 {
		t.Fatal("proxies lost in the snapshot")
	}
	created := s2.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "after reload"})
	if slices.Contains(ids, created["id"].(string)) {
		t.Fatal("id reused after reload")
	}
	resp, err := http.Post(s2.ts.URL+"/_sandbox/snapshot", "application/json", nil)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("POST /_sandbox/snapshot: %v %v", err, resp)
	}
	resp.Body.Close()
	resp, err = http.Post(s2.ts.URL+"/_sandbox/reset", "application/json", nil)
	if err != nil || resp.StatusCode != 204 {
		t.Fatalf("POST /_sandbox/reset: %v %v", err, resp)
	}
	resp.Body.Close()
	if got := len(s2.AssetIDs()); got != 300 {
		t.Fatalf("after reset: %d assets, want the 300 seed assets", got)
	}
}

func TestSeedData(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Seed: true})
	ids := s.AssetIDs()
	if len(ids) != 300 {
		t.Fatalf("%d seed assets", len(ids))
	}
	incomplete, approved, pending := 0, 0, 0
	for _, id := range ids {
		vals := s.MetadataValues("assets", id)
		for _, f := range []string{FieldDescription, FieldAssetType, FieldCampaign, FieldRegion, FieldReviewStatus, FieldRightsStatus, FieldMetadataStatus} {
			if len(vals[f]) == 0 {
				t.Fatalf("asset %s lacks %s", id, f)
			}
		}
		if s.MetadataValue("assets", id, FieldMetadataStatus) == "Incomplete" {
			incomplete++
		}
		if s.ApprovalStatus(id, "") == ApprovalApproved {
			approved++
		}
		if s.MetadataValue("assets", id, FieldRightsStatus) == "Pending" {
			pending++
		}
		if len(s.Proxies(id)) == 0 || len(s.Keyframes(id)) == 0 {
			t.Fatalf("asset %s has no media", id)
		}
	}
	if incomplete == 0 || approved == 0 || pending == 0 {
		t.Errorf("seed lacks variety: incomplete %d approved %d pending %d", incomplete, approved, pending)
	}
	appr, _ := s.CollectionByTitle(CollectionApproved, "")
	if len(s.CollectionContents(appr.ID)) != approved {
		t.Errorf("Approved collection holds %d, %d assets are approved", len(s.CollectionContents(appr.ID)), approved)
	}
	if s.ViewID(ViewPatchbay) == "" || s.ViewID(ViewRights) == "" {
		t.Error("seed views missing")
	}
	if len(s.Events()) != 0 {
		t.Errorf("seeding sent %d events", len(s.Events()))
	}
}

func TestCloseStopsBackgroundWork(t *testing.T) {
	t.Parallel()
	s, err := New(Options{TranscodeDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserCreateAsset("never transcoded", nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close blocked on a pending transcode")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
