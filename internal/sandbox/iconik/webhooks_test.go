package iconik

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

// TestWebhookEvents drives API calls and UI actions and checks what a
// receiver registered for everything gets: iconik's event shape (realm,
// operation, object id, data...), the definition's custom headers, and the
// acting user.
func TestWebhookEvents(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}, DisableTranscode: true})
	s.InstallSchema()
	rc := newReceiver(t)
	for _, et := range []string{EventAssets, EventCollections, EventJobs} {
		s.hook(t, map[string]any{"url": rc.URL, "event_type": et, "headers": map[string]string{"X-Patchbay-Secret": "hush"}})
	}
	a := s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Evented"})
	id := a["id"].(string)
	approved, _ := s.CollectionByTitle(CollectionApproved, "")
	s.must(t, 201, "POST", "/API/assets/v1/collections/"+approved.ID+"/contents/", map[string]any{"object_id": id, "object_type": "assets"})
	s.must(t, 200, "PUT", "/API/metadata/v1/assets/"+id+"/views/"+s.ViewID(ViewPatchbay)+"/", map[string]any{"metadata_values": map[string]any{
		FieldReviewStatus: map[string]any{"field_values": []any{map[string]any{"value": "Released"}}},
	}})
	if err := s.UserSetMetadata("assets", id, map[string]any{FieldTalent: []string{"Ava Stone"}, FieldRightsStatus: "Pending"}); err != nil {
		t.Fatal(err)
	}
	v2, err := s.UserAddVersion(id)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UserSetApproval(id, ApprovalNotApproved); err != nil {
		t.Fatal(err)
	}
	seg, err := s.UserAddComment(id, v2, "Too dark", 1000, 2000)
	if err != nil {
		t.Fatal(err)
	}
	job := s.must(t, 201, "POST", "/API/jobs/v1/jobs/", map[string]any{"title": "Media for entry", "type": "CUSTOM", "status": "STARTED", "object_type": "assets", "object_id": id})
	if err := s.UserSetJobStatus(job["id"].(string), "FINISHED", "done"); err != nil {
		t.Fatal(err)
	}
	s.must(t, 204, "DELETE", "/API/assets/v1/assets/"+id+"/", nil)
	s.settle(t)

	evs, hdrs := rc.got(), rc.gotHeaders()
	for i, ev := range evs {
		if ev.SystemDomainID != DefaultSystemDomainID || ev.RequestID == "" || ev.ObjectID == "" || ev.UserID == "" || len(ev.Data) == 0 {
			t.Errorf("event %d lacks a documented field: %+v", i, ev)
		}
		if hdrs[i].Get("X-Patchbay-Secret") != "hush" || hdrs[i].Get("Content-Type") != "application/json" {
			t.Errorf("event %d headers %v", i, hdrs[i])
		}
	}
	one := func(t *testing.T, eventType, realm, op string, pick func(Event) bool) Event {
		t.Helper()
		var found []Event
		for _, ev := range evs {
			if ev.EventType == eventType && ev.Realm == realm && ev.Operation == op && (pick == nil || pick(ev)) {
				found = append(found, ev)
			}
		}
		if len(found) != 1 {
			t.Fatalf("%d %s/%s/%s events, want 1", len(found), eventType, realm, op)
		}
		return found[0]
	}
	t.Run("asset created", func(t *testing.T) {
		ev := one(t, EventAssets, RealmEntity, OpCreate, nil)
		if ev.ObjectID != id || dataOf(t, ev)["title"] != "Evented" || ev.UserID != APIUserID {
			t.Fatalf("%+v", ev)
		}
	})
	t.Run("added to collection (captured shape)", func(t *testing.T) {
		ev := one(t, EventCollections, RealmContents, OpCreate, nil)
		d := dataOf(t, ev)
		if ev.ObjectID != id || d["collection_id"] != approved.ID || d["object_type"] != "assets" || d["object_id"] != id {
			t.Fatalf("%+v %v", ev, d)
		}
	})
	t.Run("metadata changes carry only the changed fields", func(t *testing.T) {
		api := one(t, EventAssets, RealmMetadata, OpUpdate, func(e Event) bool { return e.UserID == APIUserID })
		vals := dataOf(t, api)["metadata_values"].(map[string]any)
		if len(vals) != 1 || vals[FieldReviewStatus] == nil {
			t.Fatalf("changed fields %v", vals)
		}
		if dataOf(t, api)["metadata_view_id"] != s.ViewID(ViewPatchbay) {
			t.Fatalf("view id %v", dataOf(t, api)["metadata_view_id"])
		}
		ui := one(t, EventAssets, RealmMetadata, OpUpdate, func(e Event) bool { return e.UserID == EditorUserID })
		d := dataOf(t, ui)
		if d["metadata_view_id"] != s.ViewID(ViewRights) {
			t.Fatalf("a rights edit should come through the Rights view: %v", d["metadata_view_id"])
		}
		if got := d["metadata_values"].(map[string]any); len(got) != 2 {
			t.Fatalf("changed fields %v", got)
		}
	})
	t.Run("version added", func(t *testing.T) {
		ev := one(t, EventAssets, RealmVersions, OpCreate, nil)
		if ev.ObjectID != v2 || dataOf(t, ev)["asset_id"] != id || ev.UserID != EditorUserID {
			t.Fatalf("%+v", ev)
		}
	})
	t.Run("approval changed (assumption: realm approvals)", func(t *testing.T) {
		ev := one(t, EventAssets, RealmApprovals, OpUpdate, nil)
		d := dataOf(t, ev)
		if ev.ObjectID != id || d["status"] != ApprovalNotApproved || d["version_id"] != v2 || ev.UserID != ReviewerUserID {
			t.Fatalf("%+v %v", ev, d)
		}
	})
	t.Run("comment added", func(t *testing.T) {
		ev := one(t, EventAssets, RealmSegments, OpCreate, nil)
		d := dataOf(t, ev)
		if ev.ObjectID != seg || d["asset_id"] != id || d["version_id"] != v2 || d["time_start_milliseconds"].(float64) != 1000 {
			t.Fatalf("%+v %v", ev, d)
		}
	})
	t.Run("job created and finished", func(t *testing.T) {
		one(t, EventJobs, RealmEntity, OpCreate, nil)
		ev := one(t, EventJobs, RealmEntity, OpUpdate, nil)
		if dataOf(t, ev)["status"] != "FINISHED" || dataOf(t, ev)["message"] != "done" {
			t.Fatalf("%v", dataOf(t, ev))
		}
	})
	t.Run("asset deleted", func(t *testing.T) {
		ev := one(t, EventAssets, RealmEntity, OpDelete, nil)
		if dataOf(t, ev)["status"] != "DELETED" {
			t.Fatalf("%v", dataOf(t, ev))
		}
	})
	if got, want := len(s.Events()), len(evs); got != want {
		t.Errorf("Events() has %d, the receiver got %d", got, want)
	}
}

func TestWebhookFilters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		def  map[string]any
		want []string // realm/operation of the events delivered
	}{
		{"event type only", map[string]any{"event_type": "assets"}, []string{"entity/create", "entity/update", "metadata/update", "entity/delete"}},
		{"realm", map[string]any{"event_type": "assets", "realm": "metadata"}, []string{"metadata/update"}},
		{"operation", map[string]any{"event_type": "assets", "operation": "delete"}, []string{"entity/delete"}},
		{"realm and operation", map[string]any{"event_type": "assets", "realm": "entity", "operation": "update"}, []string{"entity/update"}},
		{"other event type", map[string]any{"event_type": "collections"}, nil},
		{"query on data", map[string]any{"event_type": "assets", "query": `data.is_blocked=true operation="update"`}, []string{"entity/update"}},
		{"query with OR and regex", map[string]any{"event_type": "assets", "query": `operation="delete" OR data.title=/^Filt/ AND realm="entity" AND operation!="update"`}, []string{"entity/create", "entity/delete"}},
		{"query on a missing field", map[string]any{"event_type": "assets", "query": `data.external_id!=null`}, nil},
		{"disabled definition", map[string]any{"event_type": "assets", "status": "DISABLED"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}, DisableTranscode: true})
			s.InstallSchema()
			rc := newReceiver(t)
			tc.def["url"] = rc.URL
			s.hook(t, tc.def)
			a := s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Filtered"})
			id := a["id"].(string)
			s.must(t, 200, "PATCH", "/API/assets/v1/assets/"+id+"/", map[string]any{"is_blocked": true})
			if err := s.UserSetMetadata("assets", id, map[string]any{FieldCampaign: "x"}); err != nil {
				t.Fatal(err)
			}
			s.must(t, 204, "DELETE", "/API/assets/v1/assets/"+id+"/", nil)
			s.settle(t)
			var got []string
			for _, ev := range rc.got() {
				got = append(got, ev.Realm+"/"+ev.Operation)
			}
			slices.Sort(got) // deliveries run concurrently; order is not guaranteed
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Fatalf("delivered %v, want %v", got, want)
			}
		})
	}
	t.Run("object_id restricts to one object", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}, DisableTranscode: true})
		rc := newReceiver(t)
		a := s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Watched"})
		b := s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Ignored"})
		s.hook(t, map[string]any{"url": rc.URL, "event_type": "assets", "object_id": a["id"]})
		for _, x := range []map[string]any{a, b} {
			s.must(t, 200, "PATCH", "/API/assets/v1/assets/"+x["id"].(string)+"/", map[string]any{"title": "changed"})
		}
		s.settle(t)
		if got := rc.got(); len(got) != 1 || got[0].ObjectID != a["id"] {
			t.Fatalf("got %+v", got)
		}
	})
	t.Run("bad definitions are refused", func(t *testing.T) {
		t.Parallel()
		s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}})
		for _, def := range []map[string]any{
			{"event_type": "assets", "status": "ENABLED"},
			{"url": "http://x/", "status": "ENABLED"},
			{"url": "http://x/", "event_type": "assets", "status": "ON"},
			{"url": "ftp://x/", "event_type": "assets", "status": "ENABLED"},
			{"url": "http://x/", "event_type": "assets", "status": "ENABLED", "query": "data.status=("},
		} {
			if r := s.do(t, "POST", "/API/notifications/v1/webhooks/", def); r.status != 400 {
				t.Errorf("%v: status %d", def, r.status)
			}
		}
	})
}

// Retries and the FAILING status are UNCONFIRMED: the schedule is
// DefaultWebhookRetries scaled by TimeScale; after the last retry fails the
// definition is FAILING with last_error, and a later success re-enables it.
func TestWebhookRetries_Assumption(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}, DisableTranscode: true, TimeScale: 0.0005})
	rc := newReceiver(t)
	rc.fail = 2
	id := s.hook(t, map[string]any{"url": rc.URL, "event_type": "assets"})
	s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Retried"})
	s.settle(t)
	if len(rc.got()) != 1 {
		t.Fatalf("delivered %d times after two failures, want 1", len(rc.got()))
	}
	attempts := 0
	for _, rec := range s.Kit().Webhooks.Log() {
		if rec.URL == rc.URL {
			attempts++
		}
	}
	if attempts != 3 {
		t.Fatalf("%d attempts, want 3", attempts)
	}

	rc.mu.Lock()
	rc.fail = 100
	rc.mu.Unlock()
	s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Lost"})
	s.settle(t)
	h := s.must(t, 200, "GET", "/API/notifications/v1/webhooks/"+id+"/", nil)
	if h["status"] != "FAILING" || h["last_error"] == nil || h["first_failed_at"] == nil {
		t.Fatalf("after exhausting retries: %v", h)
	}
	rc.mu.Lock()
	rc.fail = 0
	rc.mu.Unlock()
	s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Back"})
	s.settle(t)
	if h := s.Webhooks()[0]; h.Status != "ENABLED" {
		t.Fatalf("a success did not re-enable the definition: %s", h.Status)
	}
}

func TestWebhookFaults(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}, DisableTranscode: true})
	rc := newReceiver(t)
	s.hook(t, map[string]any{"url": rc.URL, "event_type": "assets"})
	s.Kit().Faults.Update(func(c *kit.FaultConfig) { c.DuplicateWebhooks = 1 })
	s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Twice"})
	s.settle(t)
	got := rc.got()
	if len(got) != 2 || got[0].RequestID != got[1].RequestID {
		t.Fatalf("duplicated delivery: %+v", got)
	}
	s.Kit().Faults.Update(func(c *kit.FaultConfig) { c.DuplicateWebhooks, c.DropWebhooks = 0, 1 })
	s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Dropped"})
	s.settle(t)
	if len(rc.got()) != 2 {
		t.Fatalf("dropped webhook was delivered")
	}
}

func TestCustomActionPayload(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Kit: kit.Options{Rate: -1}, DisableTranscode: true})
	got := make(chan http.Header, 1)
	body := make(chan CustomActionPayload, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var pl CustomActionPayload
		_ = json.NewDecoder(r.Body).Decode(&pl)
		got <- r.Header.Clone()
		body <- pl
		_, _ = w.Write([]byte("OK"))
	}))
	t.Cleanup(srv.Close)
	appID := "3f2e1d0c-9b8a-4765-8432-10fedcba9876"
	act := s.must(t, 201, "POST", "/API/assets/v1/custom_actions/ASSET/", map[string]any{
		"title": "Publish to CMS", "url": srv.URL, "context": "ASSET", "type": "POST", "app_id": appID,
		"headers": map[string]string{"X-Action-Secret": "s3cret"}})
	a := s.must(t, 201, "POST", "/API/assets/v1/assets/", map[string]any{"title": "Picked"})
	if _, err := s.UserRunCustomAction(act["id"].(string), a["id"].(string)); err != nil {
		t.Fatal(err)
	}
	var h http.Header
	var pl CustomActionPayload
	select {
	case h = <-got:
		pl = <-body
	case <-time.After(5 * time.Second):
		t.Fatal("custom action was not called")
	}
	if h.Get("X-Action-Secret") != "s3cret" {
		t.Errorf("headers %v", h)
	}
	if pl.Context != "ASSET" || pl.ActionID != act["id"] || len(pl.AssetIDs) != 1 || pl.AssetIDs[0] != a["id"] ||
		pl.UserID != EditorUserID || pl.SystemDomainID != DefaultSystemDomainID || pl.AuthToken == "" ||
		pl.CollectionIDs == nil || pl.SavedSearchIDs == nil || pl.DateCreated == "" {
		t.Fatalf("payload %+v", pl)
	}
	// The payload's token works with the action's app id, as that user.
	r := s.doWith(t, "GET", "/API/users/v1/users/current/", nil, map[string]string{"app_id": appID, "auth_token": pl.AuthToken})
	if r.status != 200 || r.json(t)["id"] != EditorUserID {
		t.Fatalf("calling back with the payload token: %d %s", r.status, r.body)
	}
}

func TestFilterLanguage(t *testing.T) {
	t.Parallel()
	doc := map[string]any{"operation": "update", "realm": "entity",
		"data": map[string]any{"status": "CLOSED", "size": 10.0, "is_archived": false, "external_id": nil, "title": "Summer Trailer", "tags": []any{"a", "b"}}}
	tests := []struct {
		name    string
		q       string
		want    bool
		wantErr bool
	}{
		{name: "string equality", q: `data.status="CLOSED"`, want: true},
		{name: "single quotes", q: `data.status='OPEN'`, want: false},
		{name: "number comparison", q: `data.size>5`, want: true},
		{name: "number <=", q: `data.size<=9`, want: false},
		{name: "bool", q: `data.is_archived=false`, want: true},
		{name: "null", q: `data.external_id=null`, want: true},
		{name: "missing is null", q: `data.nope=null`, want: true},
		{name: "not null", q: `data.external_id!=null`, want: false},
		{name: "regex", q: `data.title=/^Summer/`, want: true},
		{name: "regex negated", q: `data.title!=/Winter/`, want: true},
		{name: "spec example (implicit AND)", q: `data.is_archived=false AND data.size>0 (data.status="CLOSED" OR data.status="DELETED") AND data.external_id!=null`, want: false},
		{name: "OR", q: `operation="create" OR operation="update"`, want: true},
		{name: "AND binds tighter than OR", q: `operation="create" AND realm="entity" OR data.size=10`, want: true},
		{name: "NOT", q: `NOT realm="metadata"`, want: true},
		{name: "list contains", q: `data.tags="b"`, want: true},
		{name: "bare word value", q: `operation=update`, want: true},
		{name: "unbalanced", q: `(operation="update"`, wantErr: true},
		{name: "missing operator", q: `operation "update"`, wantErr: true},
		{name: "bad regex", q: `data.title=/(/`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx, err := parseFilter(tc.q)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && fx.eval(doc) != tc.want {
				t.Fatalf("eval = %v, want %v", !tc.want, tc.want)
			}
		})
	}
}
