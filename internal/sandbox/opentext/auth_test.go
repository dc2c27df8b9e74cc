package opentext

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{})
	cred := s.Credentials()
	tokenPath := "/tenants/" + cred["tenant_id"] + "/oauth2/token"
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name       string
		path       string
		json       map[string]string // sent as application/json when set
		form       url.Values        // sent form-encoded otherwise
		basic      bool
		wantStatus int
		wantError  string
		wantRefres bool
	}{
		{name: "client credentials as JSON (documented)", json: map[string]string{"grant_type": "client_credentials", "client_id": cred["client_id"], "client_secret": cred["client_secret"]}, wantStatus: 200},
		{name: "password grant as JSON (documented)", json: map[string]string{"grant_type": "password", "client_id": cred["client_id"], "client_secret": cred["client_secret"], "username": cred["username"], "password": cred["password"]}, wantStatus: 200, wantRefres: true},
		{name: "ASSUMPTION client credentials form-encoded", form: form("grant_type", "client_credentials", "client_id", cred["client_id"], "client_secret", cred["client_secret"]), wantStatus: 200},
		{name: "ASSUMPTION password grant form-encoded", form: form("grant_type", "password", "client_id", cred["client_id"], "client_secret", cred["client_secret"], "username", cred["username"], "password", cred["password"]), wantStatus: 200, wantRefres: true},
		{name: "ASSUMPTION client secret by HTTP Basic", form: form("grant_type", "client_credentials"), basic: true, wantStatus: 200},
		{name: "wrong secret", json: map[string]string{"grant_type": "client_credentials", "client_id": cred["client_id"], "client_secret": "nope"}, wantStatus: 401, wantError: "invalid_client"},
		{name: "wrong password", json: map[string]string{"grant_type": "password", "client_id": cred["client_id"], "client_secret": cred["client_secret"], "username": cred["username"], "password": "nope"}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "unknown grant", json: map[string]string{"grant_type": "implicit", "client_id": cred["client_id"], "client_secret": cred["client_secret"]}, wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "missing grant", json: map[string]string{"client_id": cred["client_id"]}, wantStatus: 400, wantError: "invalid_request"},
		{name: "unknown tenant", path: "/tenants/other/oauth2/token", json: map[string]string{"grant_type": "client_credentials", "client_id": cred["client_id"], "client_secret": cred["client_secret"]}, wantStatus: 401, wantError: "invalid_client"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tokenPath
			if tc.path != "" {
				path = tc.path
			}
			var body io.Reader
			ct := "application/x-www-form-urlencoded"
			if tc.json != nil {
				b, _ := json.Marshal(tc.json)
				body, ct = strings.NewReader(string(b)), "application/json"
			} else {
				body = strings.NewReader(tc.form.Encode())
			}
			req, _ := http.NewRequest(http.MethodPost, ts.URL+path, body)
			req.Header.Set("Content-Type", ct)
			if tc.basic {
				req.SetBasicAuth(cred["client_id"], cred["client_secret"])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			validateResponse(t, req, resp, data)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tc.wantStatus, data)
			}
			var out map[string]any
			_ = json.Unmarshal(data, &out)
			if tc.wantError != "" && out["error"] != tc.wantError {
				t.Errorf("error = %v, want %s", out["error"], tc.wantError)
			}
			if tc.wantStatus == 200 {
				if out["token_type"] != "Bearer" || out["expires_in"] != float64(3600) {
					t.Errorf("token response = %v", out)
				}
				if _, ok := out["refresh_token"]; ok != tc.wantRefres {
					t.Errorf("refresh_token present = %v, want %v", ok, tc.wantRefres)
				}
			}
		})
	}
}

func TestUnauthorizedResponsesUseGatewayFault(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{})
	c := newClient(t, s, ts)
	tests := []struct {
		name, header, wantCode, wantString string
	}{
		{"missing header", "", "oauth.v2.InvalidAccessToken", "Invalid access token"},
		{"not bearer", "Basic abc", "oauth.v2.InvalidAccessToken", "Invalid access token"},
		{"unknown token", "Bearer nope", "keymanagement.service.invalid_access_token", "Invalid access token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/workflow/v1/tasks", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			validateResponse(t, req, resp, data)
			var f fault
			_ = json.Unmarshal(data, &f)
			if resp.StatusCode != 401 || f.Fault.Detail.ErrorCode != tc.wantCode || f.Fault.FaultString != tc.wantString {
				t.Errorf("got %d %s", resp.StatusCode, data)
			}
		})
	}
	// Tests force expiry mid-run with the Go method or the admin endpoint.
	if st := c.do(http.MethodGet, "/workflow/v1/tasks", nil, nil); st != 200 {
		t.Fatalf("before expiry: %d", st)
	}
	resp, err := http.Post(ts.URL+"/_sandbox/opentext/expire-tokens", "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("expire-tokens: %v %v", resp, err)
	}
	resp.Body.Close()
	var f fault
	if st := c.do(http.MethodGet, "/workflow/v1/tasks", nil, &f); st != 401 || f.Fault.Detail.ErrorCode != "keymanagement.service.access_token_expired" {
		t.Fatalf("after expiry: %d %+v", st, f)
	}
	c.token = c.fetchToken(s, "client_credentials")
	if st := c.do(http.MethodGet, "/workflow/v1/tasks", nil, nil); st != 200 {
		t.Fatalf("with a new token: %d", st)
	}
}

func TestTokenLifetimeAndRefresh(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2025, 5, 1, 9, 0, 0, 0, time.UTC)}
	s, ts := newServer(t, Options{TokenLifetime: 2 * time.Minute, Kit: kit.Options{Rate: -1, Clock: clock}})
	cred := s.Credentials()
	c := &client{t: t, base: ts.URL}
	var tok tokenResponse
	c.call(http.MethodPost, "/tenants/"+cred["tenant_id"]+"/oauth2/token", map[string]string{
		"grant_type": "password", "client_id": cred["client_id"], "client_secret": cred["client_secret"],
		"username": cred["username"], "password": cred["password"],
	}, &tok, false)
	if tok.ExpiresIn != 120 {
		t.Fatalf("expires_in = %d", tok.ExpiresIn)
	}
	c.token = tok.AccessToken
	if st := c.do(http.MethodGet, "/workflow/v1/tasks", nil, nil); st != 200 {
		t.Fatalf("fresh token: %d", st)
	}
	clock.Advance(2 * time.Minute)
	if st := c.do(http.MethodGet, "/workflow/v1/tasks", nil, nil); st != 401 {
		t.Fatalf("token past its lifetime: %d", st)
	}
	var fresh tokenResponse
	c.call(http.MethodPost, "/tenants/"+cred["tenant_id"]+"/oauth2/token", map[string]string{
		"grant_type": "refresh_token", "refresh_token": tok.RefreshToken, "client_id": cred["client_id"], "client_secret": cred["client_secret"],
	}, &fresh, false)
	c.token = fresh.AccessToken
	if st := c.do(http.MethodGet, "/workflow/v1/tasks", nil, nil); st != 200 {
		t.Fatalf("refreshed token: %d", st)
	}
}
