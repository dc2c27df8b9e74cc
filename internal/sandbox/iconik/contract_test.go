package iconik

import (
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

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

// The contract tests call every implemented endpoint with a documented
// request, check the request against iconik's own OpenAPI document (so the
// test itself speaks the documented API) and validate the response with
// kin-openapi, including the status code. The specs are read from
// ../shared/apis/specs/iconik beside the repository.

type contract struct {
	docs map[string]*openapi3.T
}

var (
	contractOnce sync.Once
	contractDocs *contract
	contractErr  error
	contractDir  string
)

func specsDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "..", "shared", "apis", "specs", "iconik"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

func loadContract(t *testing.T) *contract {
	t.Helper()
	contractOnce.Do(func() {
		dir, err := specsDir()
		if err != nil {
			contractErr = err
			return
		}
		contractDir = dir
		if _, err := os.Stat(dir); err != nil {
			contractErr = err
			return
		}
		ct := &contract{docs: map[string]*openapi3.T{}}
		for _, svc := range []string{"assets", "metadata", "files", "search", "jobs", "notifications", "users", "auth"} {
			loader := openapi3.NewLoader()
			doc, err := loader.LoadFromFile(filepath.Join(dir, svc+".json"))
			if err != nil {
				contractErr = err
				return
			}
			ct.docs[svc] = doc
		}
		contractDocs = ct
	})
	if contractErr != nil {
		if os.IsNotExist(contractErr) {
			t.Skipf("iconik specs not found at %s; contract tests need ../shared beside the clone", contractDir)
		}
		t.Fatalf("loading iconik specs: %v", contractErr)
	}
	return contractDocs
}

// op is one documented call.
type op struct {
	svc, method, spec, path string
	body                    any
	want                    int
	// specStatus validates the body against this documented status instead
	// (the spec documents 201 for some reads; the sandbox answers 200).
	specStatus int
	// schema validates the body against this component schema instead of the operation's.
	schema string
	// invalid marks a deliberately undocumented request (not checked against the spec).
	invalid bool
	// emptyBody: the spec declares a body for a 204, which cannot have one; only the status is checked.
	emptyBody bool
}

func pathParams(spec, path string) map[string]string {
	ss := strings.Split(strings.Trim(spec, "/"), "/")
	ps := strings.Split(strings.Trim(path, "/"), "/")
	out := map[string]string{}
	for i, seg := range ss {
		if i < len(ps) && strings.HasPrefix(seg, "{") {
			out[strings.Trim(seg, "{}")] = ps[i]
		}
	}
	return out
}

// call performs o against s and validates request and response; it returns the decoded body.
func (ct *contract) call(t *testing.T, s *testServer, o op) map[string]any {
	t.Helper()
	doc := ct.docs[o.svc]
	item := doc.Paths.Value(o.spec)
	if item == nil {
		t.Fatalf("spec %s has no path %s", o.svc, o.spec)
	}
	operation := item.GetOperation(o.method)
	if operation == nil {
		t.Fatalf("spec %s has no %s %s", o.svc, o.method, o.spec)
	}
	var raw []byte
	if o.body != nil {
		raw, _ = json.Marshal(o.body)
	}
	full := "/API/" + o.svc + o.path
	req, err := http.NewRequest(o.method, s.ts.URL+full, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	creds := s.Credentials()
	req.Header.Set("App-ID", creds["app_id"])
	req.Header.Set("Auth-Token", creds["auth_token"])
	route := &routers.Route{Spec: doc, Path: o.spec, PathItem: item, Method: o.method, Operation: operation}
	u, _ := url.Parse(full)
	vreq := req.Clone(context.Background())
	vreq.URL.Path = u.Path
	if raw != nil {
		vreq.Body = io.NopCloser(bytes.NewReader(raw))
	}
	in := &openapi3filter.RequestValidationInput{
		Request: vreq, PathParams: pathParams(o.spec, o.path), Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && !o.invalid {
		t.Errorf("%s %s: request does not match the spec: %v", o.method, o.spec, err)
	}
	if m, ok := o.body.(map[string]any); ok && !o.invalid && operation.RequestBody != nil {
		// Bodies are open objects in the spec; still, a documented request only uses documented fields.
		if mt := operation.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			for k := range m {
				if _, ok := mt.Schema.Value.Properties[k]; !ok {
					t.Errorf("%s %s: request field %q is not in the spec's schema", o.method, o.spec, k)
				}
			}
		}
	}
	resp, err := s.ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", o.method, full, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != o.want {
		t.Fatalf("%s %s: status %d, want %d: %s", o.method, full, resp.StatusCode, o.want, body)
	}
	status := resp.StatusCode
	if o.specStatus != 0 {
		status = o.specStatus
	}
	switch {
	case o.emptyBody:
		if len(body) != 0 {
			t.Errorf("%s %s: 204 with a body: %s", o.method, o.spec, body)
		}
	case o.schema != "":
		ref := doc.Components.Schemas[o.schema]
		if ref == nil {
			t.Fatalf("no schema %s", o.schema)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("decoding: %v", err)
		}
		if err := ref.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
			t.Errorf("%s %s: response does not match %s: %v\n%s", o.method, o.spec, o.schema, err, body)
		}
	default:
		rin := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: status, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
			t.Errorf("%s %s: response does not match the spec: %v\n%s", o.method, o.spec, err, truncate(body))
		}
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	return m
}

func truncate(b []byte) string {
	if len(b) > 1500 {
		return string(b[:1500]) + "…"
	}
	return string(b)
}

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

func TestContract(t *testing.T) {
	ct := loadContract(t)
	s := newTestServer(t, Options{Seed: true, SeedAssetCount: 12, Kit: kit.Options{Rate: -1}})
	rc := newReceiver(t)
	viewID := s.ViewID(ViewPatchbay)
	allow := map[string]any{"allow_approving_comments": true, "allow_comments": true, "allow_download": false, "allow_setting_approve_status": true}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	var (
		hookID, assetID, v1, v2, historyID, segID, parentID, childID, shareID, actionID   string
		formatID, fileSetID, fileID, proxyID, keyframeID, origFormatID, jobID, otherAsset string
	)
	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"notifications/create webhook", func(t *testing.T) {
			m := ct.call(t, s, op{svc: "notifications", method: "POST", spec: "/v1/webhooks/", path: "/v1/webhooks/", want: 201,
				body: map[string]any{"url": rc.URL, "event_type": "assets", "status": "ENABLED", "realm": "entity", "operation": "create",
					"headers": map[string]string{"X-Secret": "s3cret"}, "name": "contract"}})
			hookID = str(m, "id")
		}},
		{"notifications/list webhooks", func(t *testing.T) {
			ct.call(t, s, op{svc: "notifications", method: "GET", spec: "/v1/webhooks/", path: "/v1/webhooks/", want: 200})
		}},
		{"notifications/get webhook answers 200 (assumption: spec documents 201)", func(t *testing.T) {
			ct.call(t, s, op{svc: "notifications", method: "GET", spec: "/v1/webhooks/{webhook_id}/", path: "/v1/webhooks/" + hookID + "/", want: 200, specStatus: 201})
		}},
		{"notifications/put webhook", func(t *testing.T) {
			ct.call(t, s, op{svc: "notifications", method: "PUT", spec: "/v1/webhooks/{webhook_id}/", path: "/v1/webhooks/" + hookID + "/", want: 200,
				body: map[string]any{"url": rc.URL, "event_type": "assets", "status": "ENABLED", "headers": map[string]string{"X-Secret": "s3cret"}}})
		}},
		{"assets/create", func(t *testing.T) {
			m := ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/assets/", path: "/v1/assets/", want: 201,
				body: map[string]any{"title": "Contract asset", "type": "ASSET", "external_id": "cs-entry-1"}})
			assetID = str(m, "id")
			v1 = m["versions"].([]any)[0].(map[string]any)["id"].(string)
		}},
		{"assets/list", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/assets/", path: "/v1/assets/?per_page=5&sort=date_created,desc", want: 200})
		}},
		{"assets/get", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/assets/{asset_id}/", path: "/v1/assets/" + assetID + "/?include_collections=true", want: 200})
		}},
		{"assets/patch (block)", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "PATCH", spec: "/v1/assets/{asset_id}/", path: "/v1/assets/" + assetID + "/", want: 200,
				body: map[string]any{"title": "Contract asset", "is_blocked": true}})
		}},
		{"assets/put (unblock)", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "PUT", spec: "/v1/assets/{asset_id}/", path: "/v1/assets/" + assetID + "/", want: 200,
				body: map[string]any{"title": "Contract asset v2", "is_blocked": false}})
		}},
		{"assets/bulk patch", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "PATCH", spec: "/v1/assets/", path: "/v1/assets/", want: 202,
				body: map[string]any{"objects": []any{map[string]any{"id": assetID, "title": "Contract asset"}}}})
		}},
		{"assets/create version", func(t *testing.T) {
			m := ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/assets/{asset_id}/versions/", path: "/v1/assets/" + assetID + "/versions/", want: 200,
				body: map[string]any{"copy_metadata": true, "copy_segments": false}})
			vs := m["versions"].([]any)
			v2 = vs[len(vs)-1].(map[string]any)["id"].(string)
		}},
		{"assets/patch version", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "PATCH", spec: "/v1/assets/{asset_id}/versions/{version_id}/", path: "/v1/assets/" + assetID + "/versions/" + v2 + "/", want: 200,
				body: map[string]any{"status": "ACTIVE"}})
		}},
		{"assets/promote version", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "PUT", spec: "/v1/assets/{asset_id}/versions/{version_id}/promote/", path: "/v1/assets/" + assetID + "/versions/" + v2 + "/promote/", want: 204})
		}},
		{"assets/add history", func(t *testing.T) {
			m := ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/assets/{asset_id}/history/", path: "/v1/assets/" + assetID + "/history/", want: 201,
				body: map[string]any{"operation_type": "CUSTOM", "operation_description": "patchbay: published to Contentstack"}})
			historyID = str(m, "id")
		}},
		{"assets/list history", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/assets/{asset_id}/history/", path: "/v1/assets/" + assetID + "/history/?filter=operation_type,eq,CUSTOM", want: 200})
		}},
		{"assets/get history entry answers 200 (assumption: spec documents 201)", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/assets/{asset_id}/history/{history_entity_id}/", path: "/v1/assets/" + assetID + "/history/" + historyID + "/", want: 200, specStatus: 201})
		}},
		{"assets/create comment segment on a version", func(t *testing.T) {
			m := ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/assets/{asset_id}/segments/", path: "/v1/assets/" + assetID + "/segments/", want: 201,
				body: map[string]any{"segment_type": "COMMENT", "segment_text": "Logo too small", "time_start_milliseconds": 1000, "time_end_milliseconds": 3500, "version_id": v2}})
			segID = str(m, "id")
		}},
		{"assets/list segments", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/assets/{asset_id}/segments/", path: "/v1/assets/" + assetID + "/segments/?segment_type=COMMENT&version_id=" + v2, want: 200})
		}},
		{"assets/list segments by type", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/assets/{asset_id}/segments/{segment_type}/", path: "/v1/assets/" + assetID + "/segments/COMMENT/", want: 200})
		}},
		{"assets/get segment", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/assets/{asset_id}/segments/{segment_id}/", path: "/v1/assets/" + assetID + "/segments/" + segID + "/", want: 200})
		}},
		{"assets/patch segment", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "PATCH", spec: "/v1/assets/{asset_id}/segments/{segment_id}/", path: "/v1/assets/" + assetID + "/segments/" + segID + "/", want: 200,
				body: map[string]any{"segment_type": "COMMENT", "segment_checked": true}})
		}},
		{"collections/create root", func(t *testing.T) {
			m := ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/collections/", path: "/v1/collections/", want: 201, body: map[string]any{"title": "Contract parent"}})
			parentID = str(m, "id")
		}},
		{"collections/create nested", func(t *testing.T) {
			m := ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/collections/", path: "/v1/collections/", want: 201, body: map[string]any{"title": "Contract child", "parent_id": parentID}})
			childID = str(m, "id")
		}},
		{"collections/list", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/collections/", path: "/v1/collections/?per_page=50", want: 200})
		}},
		{"collections/get", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/collections/{collection_id}/", path: "/v1/collections/" + childID + "/", want: 200})
		}},
		{"collections/patch", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "PATCH", spec: "/v1/collections/{collection_id}/", path: "/v1/collections/" + childID + "/", want: 200, body: map[string]any{"title": "Contract child renamed"}})
		}},
		{"collections/add content", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/collections/{collection_id}/contents/", path: "/v1/collections/" + childID + "/contents/", want: 201,
				body: map[string]any{"object_id": assetID, "object_type": "assets"}})
		}},
		{"collections/list contents", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/collections/{collection_id}/contents/", path: "/v1/collections/" + parentID + "/contents/?object_types=assets,collections", want: 200})
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/collections/{collection_id}/contents/", path: "/v1/collections/" + childID + "/contents/", want: 200})
		}},
		{"collections/reorder content", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "PUT", spec: "/v1/collections/{collection_id}/contents/{object_type}/{object_id}/", path: "/v1/collections/" + childID + "/contents/assets/" + assetID + "/", want: 200,
				body: map[string]any{"position": 0}})
		}},
		{"collections/ancestors", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/collections/{collection_id}/ancestors/", path: "/v1/collections/" + childID + "/ancestors/", want: 200})
		}},
		{"collections/full path", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/collections/{collection_id}/full/path/", path: "/v1/collections/" + childID + "/full/path/", want: 200})
		}},
		{"shares/create by email", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/{object_type}/{object_id}/shares/", path: "/v1/assets/" + assetID + "/shares/", want: 202,
				body: with(allow, "emails", []string{"reviewer@example.com"}, "expires", "2030-01-01T00:00:00+00:00")})
		}},
		{"shares/create link with expiry", func(t *testing.T) {
			m := ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/{object_type}/{object_id}/shares/url/", path: "/v1/collections/" + childID + "/shares/url/", want: 200,
				body: with(allow, "expires", "2030-01-01T00:00:00+00:00", "title", "Campaign delivery")})
			shareID = str(m, "id")
		}},
		{"shares/list for object", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/{object_type}/{object_id}/shares/", path: "/v1/collections/" + childID + "/shares/", want: 200})
		}},
		{"shares/get", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/{object_type}/{object_id}/shares/{share_id}/", path: "/v1/collections/" + childID + "/shares/" + shareID + "/", want: 200})
		}},
		{"shares/put", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "PUT", spec: "/v1/{object_type}/{object_id}/shares/{share_id}/", path: "/v1/collections/" + childID + "/shares/" + shareID + "/", want: 200,
				body: with(allow, "allow_download", true)})
		}},
		{"shares/list mine", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/shares/", path: "/v1/shares/", want: 200})
		}},
		{"shares/delete", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/{object_type}/{object_id}/shares/{share_id}/", path: "/v1/collections/" + childID + "/shares/" + shareID + "/", want: 204})
		}},
		{"approvals/request", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/{object_type}/{object_id}/approvals/request/", path: "/v1/assets/" + assetID + "/approvals/request/", want: 201,
				body: map[string]any{"users": []string{ReviewerUserID}, "min_number": 1}})
		}},
		{"approvals/get request", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/{object_type}/{object_id}/approvals/request/", path: "/v1/assets/" + assetID + "/approvals/request/", want: 200})
		}},
		{"approvals/edit request", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "PATCH", spec: "/v1/{object_type}/{object_id}/approvals/request/", path: "/v1/assets/" + assetID + "/approvals/request/", want: 200,
				body: map[string]any{"min_number": 1, "externals": []string{"ext@example.com"}}})
		}},
		{"approvals/set status", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "PUT", spec: "/v1/{object_type}/{object_id}/approvals/", path: "/v1/assets/" + assetID + "/approvals/", want: 200,
				body: map[string]any{"status": "APPROVED"}})
		}},
		{"approvals/list decisions", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/{object_type}/{object_id}/approvals/", path: "/v1/assets/" + assetID + "/approvals/", want: 200})
		}},
		{"approvals/by version", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/{object_type}/{object_id}/versions/{version_id}/approvals/", path: "/v1/assets/" + assetID + "/versions/" + v2 + "/approvals/", want: 200})
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/{object_type}/{object_id}/versions/{version_id}/approvals/request/", path: "/v1/assets/" + assetID + "/versions/" + v2 + "/approvals/request/", want: 200})
		}},
		{"approvals/bulk", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/approvals/bulk/", path: "/v1/approvals/bulk/", want: 200,
				body: map[string]any{"object_type": "assets", "object_ids": []string{assetID}, "status": "NOT_APPROVED"}})
		}},
		{"approvals/delete by user", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/{object_type}/{object_id}/approvals/user/{user_id}/", path: "/v1/assets/" + assetID + "/approvals/user/" + APIUserID + "/", want: 204})
		}},
		{"approvals/delete statuses", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/{object_type}/{object_id}/approvals/", path: "/v1/assets/" + assetID + "/approvals/", want: 204})
		}},
		{"approvals/delete request", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/{object_type}/{object_id}/approvals/request/", path: "/v1/assets/" + assetID + "/approvals/request/", want: 200})
		}},
		{"approvals/bulk remove", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/approvals/bulk_remove/", path: "/v1/approvals/bulk_remove/", want: 200,
				body: map[string]any{"object_type": "assets", "object_ids": []string{assetID}}})
		}},
		{"custom actions/create", func(t *testing.T) {
			m := ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/custom_actions/{context}/", path: "/v1/custom_actions/ASSET/", want: 201,
				body: map[string]any{"title": "Send to patchbay", "url": rc.URL, "context": "ASSET", "type": "POST", "headers": map[string]string{"X-Secret": "s3cret"}}})
			actionID = str(m, "id")
		}},
		{"custom actions/list", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/custom_actions/", path: "/v1/custom_actions/", want: 200})
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/custom_actions/{context}/", path: "/v1/custom_actions/ASSET/", want: 200})
		}},
		{"custom actions/get answers 200 (assumption: spec documents 201)", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/custom_actions/{context}/{action_id}/", path: "/v1/custom_actions/ASSET/" + actionID + "/", want: 200, specStatus: 201})
		}},
		{"custom actions/patch", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "PATCH", spec: "/v1/custom_actions/{context}/{action_id}/", path: "/v1/custom_actions/ASSET/" + actionID + "/", want: 200,
				body: map[string]any{"title": "Send to patchbay (v2)", "url": rc.URL, "context": "ASSET"}})
		}},
		{"custom actions/callback", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/custom_actions/{context}/{action_id}/callback/", path: "/v1/custom_actions/ASSET/" + actionID + "/callback/", want: 200,
				body: map[string]any{"asset_ids": []string{assetID}}})
		}},
		{"custom actions/delete answers 204 without a body (the spec declares one)", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/custom_actions/{context}/{action_id}/", path: "/v1/custom_actions/ASSET/" + actionID + "/", want: 204, emptyBody: true})
		}},
		{"metadata/fields", func(t *testing.T) {
			ct.call(t, s, op{svc: "metadata", method: "GET", spec: "/v1/fields/", path: "/v1/fields/?per_page=5", want: 200})
			ct.call(t, s, op{svc: "metadata", method: "POST", spec: "/v1/fields/", path: "/v1/fields/", want: 201,
				body: map[string]any{"name": "contract_field", "label": "Contract field", "field_type": "drop_down", "options": []any{map[string]string{"label": "A", "value": "a"}}}})
			ct.call(t, s, op{svc: "metadata", method: "GET", spec: "/v1/fields/{field_name}/", path: "/v1/fields/contract_field/", want: 200})
			ct.call(t, s, op{svc: "metadata", method: "PATCH", spec: "/v1/fields/{field_name}/", path: "/v1/fields/contract_field/", want: 200,
				body: map[string]any{"label": "Contract field (renamed)", "field_type": "drop_down"}})
		}},
		{"metadata/views", func(t *testing.T) {
			ct.call(t, s, op{svc: "metadata", method: "GET", spec: "/v1/views/", path: "/v1/views/", want: 200})
			m := ct.call(t, s, op{svc: "metadata", method: "POST", spec: "/v1/views/", path: "/v1/views/", want: 201,
				body: map[string]any{"name": "contract view", "view_fields": []any{map[string]string{"name": "contract_field"}, map[string]string{"name": FieldCampaign}}}})
			id := str(m, "id")
			ct.call(t, s, op{svc: "metadata", method: "GET", spec: "/v1/views/{view_id}/", path: "/v1/views/" + id + "/", want: 200})
			ct.call(t, s, op{svc: "metadata", method: "PATCH", spec: "/v1/views/{view_id}/", path: "/v1/views/" + id + "/", want: 200,
				body: map[string]any{"name": "contract view", "view_fields": []any{map[string]string{"name": "contract_field"}}}})
			ct.call(t, s, op{svc: "metadata", method: "DELETE", spec: "/v1/views/{view_id}/", path: "/v1/views/" + id + "/", want: 204})
			ct.call(t, s, op{svc: "metadata", method: "DELETE", spec: "/v1/fields/{field_name}/", path: "/v1/fields/contract_field/", want: 204})
		}},
		{"metadata/values through a view", func(t *testing.T) {
			body := map[string]any{"metadata_values": map[string]any{
				FieldCampaign: map[string]any{"field_values": []any{map[string]any{"value": "Summer Splash 2025"}}},
				FieldTalent:   map[string]any{"field_values": []any{map[string]any{"value": "Ava Stone"}}, "mode": "append"},
			}}
			ct.call(t, s, op{svc: "metadata", method: "PUT", spec: "/v1/{object_type}/{object_id}/views/{view_id}/", path: "/v1/assets/" + assetID + "/views/" + viewID + "/", want: 200, body: body})
			ct.call(t, s, op{svc: "metadata", method: "GET", spec: "/v1/{object_type}/{object_id}/views/{view_id}/", path: "/v1/assets/" + assetID + "/views/" + viewID + "/", want: 200})
			ct.call(t, s, op{svc: "metadata", method: "GET", spec: "/v1/{object_type}/{object_id}/views/{view_id}/", path: "/v1/assets/" + assetID + "/views/" + viewID + "/?reencode_values_to_string=true", want: 200})
		}},
		{"metadata/values without a view", func(t *testing.T) {
			ct.call(t, s, op{svc: "metadata", method: "PUT", spec: "/v1/{object_type}/{object_id}/", path: "/v1/assets/" + assetID + "/", want: 200,
				body: map[string]any{"metadata_values": map[string]any{FieldRegion: map[string]any{"field_values": []any{map[string]any{"value": "EMEA"}}}}}})
			ct.call(t, s, op{svc: "metadata", method: "GET", spec: "/v1/{object_type}/{object_id}/", path: "/v1/assets/" + assetID + "/", want: 200})
		}},
		{"metadata/values of a version", func(t *testing.T) {
			ct.call(t, s, op{svc: "metadata", method: "GET", spec: "/v1/assets/{asset_id}/versions/{version_id}/views/{view_id}/", path: "/v1/assets/" + assetID + "/versions/" + v2 + "/views/" + viewID + "/", want: 200})
		}},
		{"metadata/values of a segment", func(t *testing.T) {
			ct.call(t, s, op{svc: "metadata", method: "PUT", spec: "/v1/assets/{asset_id}/{object_type}/{object_id}/views/{view_id}/", path: "/v1/assets/" + assetID + "/segments/" + segID + "/views/" + viewID + "/", want: 200,
				body: map[string]any{"metadata_values": map[string]any{FieldCaseStatus: map[string]any{"field_values": []any{map[string]any{"value": "open"}}}}}})
			ct.call(t, s, op{svc: "metadata", method: "GET", spec: "/v1/assets/{asset_id}/{object_type}/{object_id}/views/{view_id}/", path: "/v1/assets/" + assetID + "/segments/" + segID + "/views/" + viewID + "/", want: 200})
		}},
		{"metadata/bulk values", func(t *testing.T) {
			ct.call(t, s, op{svc: "metadata", method: "PUT", spec: "/v1/{object_type}/views/{view_id}/", path: "/v1/assets/views/" + viewID + "/", want: 202,
				body: map[string]any{"object_ids": []string{assetID}, "metadata_values": map[string]any{FieldCaseStatus: map[string]any{"field_values": []any{map[string]any{"value": "closed"}}}}}})
			ct.call(t, s, op{svc: "metadata", method: "POST", spec: "/v1/{object_type}/views/{view_id}/", path: "/v1/assets/views/" + viewID + "/", want: 202,
				body: map[string]any{"object_ids": []string{assetID}, "metadata_values_object_id_mapping": []any{map[string]any{"id": assetID,
					"metadata_values": map[string]any{FieldCaseStatus: map[string]any{"field_values": []any{map[string]any{"value": "reopened"}}}}}}}})
		}},
		{"files/storages", func(t *testing.T) {
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/storages/", path: "/v1/storages/", want: 200})
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/storages/{storage_id}/", path: "/v1/storages/" + StorageArchiveID + "/", want: 200})
		}},
		{"files/transcoder output", func(t *testing.T) {
			s.settle(t)
			m := ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/formats/{name}/", path: "/v1/assets/" + assetID + "/formats/ORIGINAL/", want: 200})
			origFormatID = str(m, "id")
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/formats/", path: "/v1/assets/" + assetID + "/formats/?include_all_versions=true", want: 200})
		}},
		{"files/formats, file sets and files (ingest)", func(t *testing.T) {
			m := ct.call(t, s, op{svc: "files", method: "POST", spec: "/v1/assets/{asset_id}/formats/", path: "/v1/assets/" + assetID + "/formats/", want: 201,
				body: map[string]any{"name": "EDIT_PROXY", "user_id": APIUserID, "metadata": []any{map[string]string{"width": "1920"}}, "storage_methods": []string{"GCS"}}})
			formatID = str(m, "id")
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/formats/{format_id}/", path: "/v1/assets/" + assetID + "/formats/" + formatID + "/", want: 200})
			ct.call(t, s, op{svc: "files", method: "PATCH", spec: "/v1/assets/{asset_id}/formats/{format_id}/", path: "/v1/assets/" + assetID + "/formats/" + formatID + "/", want: 200,
				body: map[string]any{"name": "EDIT_PROXY"}})
			m = ct.call(t, s, op{svc: "files", method: "POST", spec: "/v1/assets/{asset_id}/file_sets/", path: "/v1/assets/" + assetID + "/file_sets/", want: 201,
				body: map[string]any{"format_id": formatID, "storage_id": StorageFilesID, "base_dir": "/edit", "name": "edit.mov", "component_ids": []string{}}})
			fileSetID = str(m, "id")
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/file_sets/", path: "/v1/assets/" + assetID + "/file_sets/", want: 200})
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/file_sets/{file_set_id}/", path: "/v1/assets/" + assetID + "/file_sets/" + fileSetID + "/", want: 200})
			m = ct.call(t, s, op{svc: "files", method: "POST", spec: "/v1/assets/{asset_id}/files/", path: "/v1/assets/" + assetID + "/files/", want: 201,
				body: map[string]any{"original_name": "edit.mov", "directory_path": "/edit", "size": 1024, "type": "FILE", "storage_id": StorageFilesID, "file_set_id": fileSetID, "format_id": formatID}})
			fileID = str(m, "id")
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/files/", path: "/v1/assets/" + assetID + "/files/?per_page=1", want: 200})
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/files/{file_id}/", path: "/v1/assets/" + assetID + "/files/" + fileID + "/", want: 200})
			ct.call(t, s, op{svc: "files", method: "PATCH", spec: "/v1/assets/{asset_id}/files/{file_id}/", path: "/v1/assets/" + assetID + "/files/" + fileID + "/", want: 200,
				body: map[string]any{"status": "CLOSED", "original_name": "edit.mov", "directory_path": "/edit", "file_set_id": fileSetID, "type": "FILE"}})
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/files/{file_id}/download_url/", path: "/v1/assets/" + assetID + "/files/" + fileID + "/download_url/", want: 200})
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/file_sets/{file_set_id}/files/", path: "/v1/assets/" + assetID + "/file_sets/" + fileSetID + "/files/", want: 200})
			ct.call(t, s, op{svc: "files", method: "POST", spec: "/v1/assets/{asset_id}/files/{file_id}/keyframes/", path: "/v1/assets/" + assetID + "/files/" + fileID + "/keyframes/", want: 200, body: map[string]any{}})
		}},
		{"files/proxies", func(t *testing.T) {
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/proxies/", path: "/v1/assets/" + assetID + "/proxies/", want: 200})
			m := ct.call(t, s, op{svc: "files", method: "POST", spec: "/v1/assets/{asset_id}/proxies/", path: "/v1/assets/" + assetID + "/proxies/", want: 201,
				body: map[string]any{"name": "custom.mp4", "codec": "h264", "resolution": map[string]int{"width": 640, "height": 360}, "status": "OPEN"}})
			proxyID = str(m, "id")
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/proxies/{proxy_id}/", path: "/v1/assets/" + assetID + "/proxies/" + proxyID + "/", want: 200})
			ct.call(t, s, op{svc: "files", method: "PATCH", spec: "/v1/assets/{asset_id}/proxies/{proxy_id}/", path: "/v1/assets/" + assetID + "/proxies/" + proxyID + "/", want: 200,
				body: map[string]any{"status": "CLOSED"}})
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/proxies/{proxy_id}/download_url/", path: "/v1/assets/" + assetID + "/proxies/" + proxyID + "/download_url/", want: 200})
			ct.call(t, s, op{svc: "files", method: "POST", spec: "/v1/assets/{asset_id}/proxies/{proxy_id}/public/", path: "/v1/assets/" + assetID + "/proxies/" + proxyID + "/public/", want: 201})
			ct.call(t, s, op{svc: "files", method: "DELETE", spec: "/v1/assets/{asset_id}/proxies/{proxy_id}/public/", path: "/v1/assets/" + assetID + "/proxies/" + proxyID + "/public/", want: 201})
		}},
		{"files/keyframes (GET one validated as KeyframeSchema: the spec documents FileSchema)", func(t *testing.T) {
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/keyframes/", path: "/v1/assets/" + assetID + "/keyframes/", want: 200})
			m := ct.call(t, s, op{svc: "files", method: "POST", spec: "/v1/assets/{asset_id}/keyframes/", path: "/v1/assets/" + assetID + "/keyframes/", want: 201,
				body: map[string]any{"type": "KEYFRAME", "name": "custom.jpg", "resolution": map[string]int{"width": 640, "height": 360}}})
			keyframeID = str(m, "id")
			ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/keyframes/{keyframe_id}/", path: "/v1/assets/" + assetID + "/keyframes/" + keyframeID + "/", want: 200, schema: "KeyframeSchema"})
			ct.call(t, s, op{svc: "files", method: "PATCH", spec: "/v1/assets/{asset_id}/keyframes/{keyframe_id}/", path: "/v1/assets/" + assetID + "/keyframes/" + keyframeID + "/", want: 200,
				body: map[string]any{"type": "POSTER"}})
			ct.call(t, s, op{svc: "files", method: "POST", spec: "/v1/assets/{asset_id}/keyframes/{keyframe_id}/public/", path: "/v1/assets/" + assetID + "/keyframes/" + keyframeID + "/public/", want: 201})
			ct.call(t, s, op{svc: "files", method: "DELETE", spec: "/v1/assets/{asset_id}/keyframes/{keyframe_id}/public/", path: "/v1/assets/" + assetID + "/keyframes/" + keyframeID + "/public/", want: 201})
		}},
		{"files/per-version lists", func(t *testing.T) {
			for _, kind := range []string{"formats", "files", "proxies", "keyframes"} {
				ct.call(t, s, op{svc: "files", method: "GET", spec: "/v1/assets/{asset_id}/versions/{version_id}/" + kind + "/", path: "/v1/assets/" + assetID + "/versions/" + v1 + "/" + kind + "/", want: 200})
			}
		}},
		{"files/archive and restore", func(t *testing.T) {
			ct.call(t, s, op{svc: "files", method: "POST", spec: "/v1/assets/{asset_id}/formats/{format_id}/archive/", path: "/v1/assets/" + assetID + "/formats/" + origFormatID + "/archive/", want: 202,
				body: map[string]any{"destination_storage_id": StorageArchiveID, "delete_original": false}})
			s.settle(t)
			ct.call(t, s, op{svc: "files", method: "POST", spec: "/v1/assets/{asset_id}/formats/{format_id}/restore/", path: "/v1/assets/" + assetID + "/formats/" + origFormatID + "/restore/", want: 202,
				body: map[string]any{"destination_storage_id": StorageFilesID}})
			s.settle(t)
			ct.call(t, s, op{svc: "files", method: "POST", spec: "/v1/formats/{format_name}/archive/bulk/", path: "/v1/formats/ORIGINAL/archive/bulk/", want: 202,
				body: map[string]any{"object_type": "assets", "object_ids": []string{assetID}, "destination_storage_id": StorageArchiveID}})
			s.settle(t)
			ct.call(t, s, op{svc: "files", method: "POST", spec: "/v1/formats/{format_name}/restore/bulk/", path: "/v1/formats/ORIGINAL/restore/bulk/", want: 202,
				body: map[string]any{"object_type": "assets", "object_ids": []string{assetID}}})
			s.settle(t)
		}},
		{"files/deletes", func(t *testing.T) {
			ct.call(t, s, op{svc: "files", method: "DELETE", spec: "/v1/assets/{asset_id}/keyframes/{keyframe_id}/", path: "/v1/assets/" + assetID + "/keyframes/" + keyframeID + "/", want: 204})
			ct.call(t, s, op{svc: "files", method: "DELETE", spec: "/v1/assets/{asset_id}/proxies/{proxy_id}/", path: "/v1/assets/" + assetID + "/proxies/" + proxyID + "/", want: 204})
			ct.call(t, s, op{svc: "files", method: "DELETE", spec: "/v1/assets/{asset_id}/files/{file_id}/", path: "/v1/assets/" + assetID + "/files/" + fileID + "/", want: 204})
			ct.call(t, s, op{svc: "files", method: "DELETE", spec: "/v1/assets/{asset_id}/file_sets/{file_set_id}/", path: "/v1/assets/" + assetID + "/file_sets/" + fileSetID + "/", want: 204})
			ct.call(t, s, op{svc: "files", method: "DELETE", spec: "/v1/assets/{asset_id}/formats/{format_id}/", path: "/v1/assets/" + assetID + "/formats/" + formatID + "/", want: 204})
			ct.call(t, s, op{svc: "files", method: "PUT", spec: "/v1/assets/{asset_id}/formats/{format_id}/restore/", path: "/v1/assets/" + assetID + "/formats/" + formatID + "/restore/", want: 200})
		}},
		{"search/filters, sort and facets", func(t *testing.T) {
			ct.call(t, s, op{svc: "search", method: "POST", spec: "/v1/search/", path: "/v1/search/?per_page=5&generate_signed_url=true&save_search_history=false", want: 200,
				body: map[string]any{"doc_types": []string{"assets"}, "query": "trailer OR promo",
					"filter": map[string]any{"operator": "AND", "terms": []any{
						map[string]any{"name": "status", "value": "ACTIVE"},
						map[string]any{"name": "date_created", "range": map[string]string{"min": "2000-01-01", "max": "2100-01-01", "timezone": "+00:00"}},
					}, "filters": []any{map[string]any{"operator": "OR", "terms": []any{
						map[string]any{"name": "metadata." + FieldRegion, "value_in": []string{"EMEA", "NA", "APAC", "LATAM"}},
						map[string]any{"name": "external_id", "exists": true},
					}}}},
					"sort": []any{map[string]string{"name": "date_created", "order": "desc"}}, "facets": []string{"metadata." + FieldRegion},
					"include_fields": []string{"id", "title", "date_created", "metadata." + FieldCampaign}}})
		}},
		{"search/search_after and collections", func(t *testing.T) {
			m := ct.call(t, s, op{svc: "search", method: "POST", spec: "/v1/search/", path: "/v1/search/?per_page=3", want: 200,
				body: map[string]any{"doc_types": []string{"assets"}, "sort": []any{map[string]string{"name": "date_created", "order": "asc"}}}})
			last := m["objects"].([]any)[2].(map[string]any)["_sort"]
			ct.call(t, s, op{svc: "search", method: "POST", spec: "/v1/search/", path: "/v1/search/?per_page=3", want: 200,
				body: map[string]any{"doc_types": []string{"assets"}, "sort": []any{map[string]string{"name": "date_created", "order": "asc"}}, "search_after": last}})
			ct.call(t, s, op{svc: "search", method: "POST", spec: "/v1/search/", path: "/v1/search/", want: 200,
				body: map[string]any{"doc_types": []string{"collections"}, "filter": map[string]any{"operator": "AND", "terms": []any{
					map[string]any{"name": "title", "value": "Contract child renamed"}, map[string]any{"name": "parent_id", "value": parentID}}}}})
		}},
		{"jobs/custom job lifecycle", func(t *testing.T) {
			m := ct.call(t, s, op{svc: "jobs", method: "POST", spec: "/v1/jobs/", path: "/v1/jobs/", want: 201,
				body: map[string]any{"title": "Media for entry blt123", "type": "CUSTOM", "status": "STARTED", "object_type": "assets", "object_id": assetID,
					"progress_processed": 0, "progress_total": 4, "message": "waiting for media team", "custom_type": "patchbay", "metadata": map[string]any{"entry": "blt123"}}})
			jobID = str(m, "id")
			ct.call(t, s, op{svc: "jobs", method: "GET", spec: "/v1/jobs/", path: "/v1/jobs/?type=CUSTOM&per_page=100&sort=date_created,desc", want: 200})
			ct.call(t, s, op{svc: "jobs", method: "GET", spec: "/v1/jobs/{job_id}/", path: "/v1/jobs/" + jobID + "/", want: 200})
			ct.call(t, s, op{svc: "jobs", method: "PATCH", spec: "/v1/jobs/{job_id}/", path: "/v1/jobs/" + jobID + "/?merge_metadata=true", want: 200,
				body: map[string]any{"title": "Media for entry blt123", "type": "CUSTOM", "status": "STARTED", "progress_processed": 2, "metadata": map[string]any{"step": "2"}}})
			ct.call(t, s, op{svc: "jobs", method: "PUT", spec: "/v1/jobs/{job_id}/", path: "/v1/jobs/" + jobID + "/", want: 200,
				body: map[string]any{"title": "Media for entry blt123", "type": "CUSTOM", "status": "FINISHED", "progress_processed": 4, "progress_total": 4}})
			ct.call(t, s, op{svc: "jobs", method: "DELETE", spec: "/v1/jobs/{job_id}/", path: "/v1/jobs/" + jobID + "/", want: 204})
		}},
		{"assets/delete, delete queue, restore, purge", func(t *testing.T) {
			m := ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/assets/", path: "/v1/assets/", want: 201, body: map[string]any{"title": "Doomed", "type": "PLACEHOLDER"}})
			otherAsset = str(m, "id")
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/assets/{asset_id}/", path: "/v1/assets/" + otherAsset + "/", want: 204})
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/delete_queue/assets/", path: "/v1/delete_queue/assets/", want: 200})
			ct.call(t, s, op{svc: "assets", method: "PUT", spec: "/v1/assets/{asset_id}/restore/", path: "/v1/assets/" + otherAsset + "/restore/", want: 204})
			ids := map[string]any{"ids": []string{otherAsset}}
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/delete_queue/assets/", path: "/v1/delete_queue/assets/", want: 204, body: ids})
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/delete_queue/assets/", path: "/v1/delete_queue/assets/", want: 204, body: ids})
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/delete_queue/bulk/", path: "/v1/delete_queue/bulk/", want: 202,
				body: map[string]any{"object_type": "assets", "object_ids": []string{otherAsset}}})
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/delete_queue/assets/restore/all/", path: "/v1/delete_queue/assets/restore/all/", want: 204})
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/delete_queue/assets/", path: "/v1/delete_queue/assets/", want: 204, body: ids})
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/delete_queue/assets/purge/", path: "/v1/delete_queue/assets/purge/", want: 204, body: ids})
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/delete_queue/assets/purge/all/", path: "/v1/delete_queue/assets/purge/all/", want: 204})
		}},
		{"assets/versions from versions and assets, delete versions", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/assets/{asset_id}/versions/from/versions/{source_version_id}/", path: "/v1/assets/" + assetID + "/versions/from/versions/" + v1 + "/", want: 202, body: map[string]any{}})
			m := ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/assets/", path: "/v1/assets/", want: 201, body: map[string]any{"title": "Replacement cut"}})
			s.settle(t)
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/assets/{asset_id}/versions/from/assets/{source_asset_id}/", path: "/v1/assets/" + assetID + "/versions/from/assets/" + str(m, "id") + "/", want: 202, body: map[string]any{}})
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/assets/{asset_id}/versions/{version_id}/", path: "/v1/assets/" + assetID + "/versions/" + v1 + "/", want: 204})
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/assets/{asset_id}/versions/old/", path: "/v1/assets/" + assetID + "/versions/old/", want: 204})
		}},
		{"assets/delete history entry and segment", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/assets/{asset_id}/history/{history_entity_id}/", path: "/v1/assets/" + assetID + "/history/" + historyID + "/", want: 201})
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/assets/{asset_id}/segments/{segment_id}/", path: "/v1/assets/" + assetID + "/segments/" + segID + "/", want: 204})
		}},
		{"collections/remove content, delete, restore, purge", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/collections/{collection_id}/contents/{object_type}/{object_id}/", path: "/v1/collections/" + childID + "/contents/assets/" + assetID + "/", want: 204})
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/collections/{collection_id}/", path: "/v1/collections/" + childID + "/", want: 202})
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/delete_queue/collections/", path: "/v1/delete_queue/collections/", want: 200})
			ct.call(t, s, op{svc: "assets", method: "PUT", spec: "/v1/collections/{collection_id}/restore/", path: "/v1/collections/" + childID + "/restore/", want: 201})
			ids := map[string]any{"ids": []string{childID}}
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/delete_queue/collections/", path: "/v1/delete_queue/collections/", want: 201, body: ids})
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/delete_queue/collections/", path: "/v1/delete_queue/collections/", want: 201, body: ids})
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/delete_queue/collections/", path: "/v1/delete_queue/collections/", want: 201, body: ids})
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/delete_queue/collections/restore/all/", path: "/v1/delete_queue/collections/restore/all/", want: 204})
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/delete_queue/collections/purge/", path: "/v1/delete_queue/collections/purge/", want: 201, body: ids})
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/collections/{collection_id}/purge/", path: "/v1/collections/" + parentID + "/purge/", want: 202})
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/delete_queue/collections/purge/all/", path: "/v1/delete_queue/collections/purge/all/", want: 204})
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/delete_queue/purge/all/", path: "/v1/delete_queue/purge/all/", want: 204})
		}},
		{"assets/purge", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "DELETE", spec: "/v1/assets/{asset_id}/purge/", path: "/v1/assets/" + assetID + "/purge/", want: 204})
		}},
		{"identity/current user and token", func(t *testing.T) {
			ct.call(t, s, op{svc: "users", method: "GET", spec: "/v1/users/current/", path: "/v1/users/current/", want: 200})
			ct.call(t, s, op{svc: "auth", method: "GET", spec: "/v1/auth/token/", path: "/v1/auth/token/", want: 200})
		}},
		{"notifications/delete webhook", func(t *testing.T) {
			ct.call(t, s, op{svc: "notifications", method: "DELETE", spec: "/v1/webhooks/{webhook_id}/", path: "/v1/webhooks/" + hookID + "/", want: 204})
		}},
		{"errors/not found, validation, auth use iconik's error body", func(t *testing.T) {
			ct.call(t, s, op{svc: "assets", method: "GET", spec: "/v1/assets/{asset_id}/", path: "/v1/assets/" + APIUserID + "/", want: 404})
			ct.call(t, s, op{svc: "assets", method: "POST", spec: "/v1/collections/", path: "/v1/collections/", want: 400, body: map[string]any{"title": 5}, invalid: true})
		}},
	}
	for _, st := range steps {
		if !t.Run(st.name, st.run) {
			t.Fatalf("stopping after %q failed (later steps depend on it)", st.name)
		}
	}
}
