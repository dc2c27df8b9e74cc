package opentextapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/connector/opentext/opentextapi"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/httpclient"
	"github.com/patchbay/patchbay/internal/sandbox/kit"
	otsb "github.com/patchbay/patchbay/internal/sandbox/opentext"
)

type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *clock) Now() time.Time       { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration)  { c.ns.Add(int64(d)) }
func (c *clock) fn() func() time.Time { return c.Now }
func secrets(s *otsb.Server) []string {
	return []string{s.Credentials()["client_secret"], s.Credentials()["password"]}
}
func tokenCalls(s *otsb.Server) int    { return s.Kit().Calls.Count("POST", "/tenants/") }
func workflowCalls(s *otsb.Server) int { return s.Kit().Calls.Count("", "/workflow/v1/") }
func newHTTP(sec []string) *httpclient.Client {
	return httpclient.New(httpclient.Options{Name: "opentext", DecodeError: opentextapi.DecodeError, Secrets: sec})
}

func sandboxClient(t *testing.T, opts otsb.Options, mod func(*opentextapi.Config)) (*otsb.Server, *opentextapi.Client) {
	t.Helper()
	s, err := otsb.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	s.SetURL(srv.URL)
	t.Cleanup(func() { _ = s.Close(); srv.Close() })
	cr := s.Credentials()
	cfg := opentextapi.Config{BaseURL: srv.URL, TenantID: cr["tenant_id"], ClientID: cr["client_id"], ClientSecret: cr["client_secret"],
		HTTP: newHTTP(secrets(s)), Backoff: time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := opentextapi.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func list(t *testing.T, c *opentextapi.Client) {
	t.Helper()
	if _, err := c.ListModels(context.Background(), opentextapi.ModelQuery{}); err != nil {
		t.Fatal(err)
	}
}

func TestTokenIsCachedAndRenewedBeforeItExpires(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s, c := sandboxClient(t, otsb.Options{TokenLifetime: 10 * time.Minute}, func(cfg *opentextapi.Config) { cfg.Now = clk.fn() })
	for range 3 {
		list(t, c)
	}
	if n := tokenCalls(s); n != 1 {
		t.Fatalf("%d token calls for 3 requests, want 1", n)
	}
	clk.Add(8 * time.Minute)
	list(t, c)
	if n := tokenCalls(s); n != 1 {
		t.Fatalf("renewed too early: %d token calls", n)
	}
	clk.Add(90 * time.Second) // within a minute of expiry
	list(t, c)
	if n := tokenCalls(s); n != 2 {
		t.Fatalf("not renewed before expiry: %d token calls", n)
	}
}

func TestExpiredTokenIsRefreshedOnceOn401(t *testing.T) {
	t.Parallel()
	for _, grant := range []string{"client_credentials", "password"} {
		t.Run(grant, func(t *testing.T) {
			t.Parallel()
			s, c := sandboxClient(t, otsb.Options{}, func(cfg *opentextapi.Config) {
				if grant == "password" {
					cfg.Username, cfg.Password = "reviewer@example.com", "reviewer-password"
				}
			})
			list(t, c)
			s.ExpireTokens()
			before := workflowCalls(s)
			list(t, c)
			if n := tokenCalls(s); n != 2 {
				t.Errorf("%d token calls, want 2", n)
			}
			if n := workflowCalls(s) - before; n != 2 {
				t.Errorf("%d workflow calls after expiry, want 2 (the 401 and the retry)", n)
			}
		})
	}
}

func TestPersistent401IsUnauthorized(t *testing.T) {
	t.Parallel()
	var tokens, calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/oauth2/token") {
			tokens.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"access_token":"tok","expires_in":3600}`))
			return
		}
		calls.Add(1)
		w.WriteHeader(401)
		w.Write([]byte(`{"fault":{"faultstring":"Invalid access token","detail":{"errorcode":"keymanagement.service.invalid_access_token"}}}`))
	}))
	defer srv.Close()
	c, _ := opentextapi.New(opentextapi.Config{BaseURL: srv.URL, TenantID: "t", ClientID: "id", ClientSecret: "secret-value", HTTP: newHTTP(nil)})
	_, err := c.GetInstance(context.Background(), "p1", false)
	if !fault.Is(err, fault.Unauthorized) || !strings.Contains(err.Error(), "keymanagement.service.invalid_access_token") {
		t.Fatalf("err = %v", err)
	}
	if tokens.Load() != 2 || calls.Load() != 2 {
		t.Errorf("tokens %d, calls %d; want one refresh and one retry", tokens.Load(), calls.Load())
	}
}

func TestBadCredentialsAreUnauthorized(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		mod         func(*opentextapi.Config)
		errContains string
	}{
		{"wrong client secret", func(c *opentextapi.Config) { c.ClientSecret = "wrong-client-secret" }, "invalid_client"},
		{"wrong password", func(c *opentextapi.Config) { c.Username, c.Password = "reviewer@example.com", "wrong-password" }, "invalid_grant"},
		{"unknown tenant", func(c *opentextapi.Config) { c.TokenURL = ""; c.TenantID = "nope" }, "Unknown tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, c := sandboxClient(t, otsb.Options{}, func(cfg *opentextapi.Config) {
				tt.mod(cfg)
				cfg.HTTP = newHTTP([]string{cfg.ClientSecret, cfg.Password})
			})
			_, err := c.ListModels(context.Background(), opentextapi.ModelQuery{})
			if !fault.Is(err, fault.Unauthorized) || !strings.Contains(err.Error(), tt.errContains) {
				t.Fatalf("err = %v (kind %v)", err, fault.KindOf(err))
			}
			if strings.Contains(err.Error(), "wrong-") {
				t.Errorf("a credential leaked into the error: %v", err)
			}
		})
	}
}

func TestConcurrentCallsShareOneToken(t *testing.T) {
	t.Parallel()
	s, c := sandboxClient(t, otsb.Options{}, nil)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.ListModels(context.Background(), opentextapi.ModelQuery{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := tokenCalls(s); n != 1 {
		t.Errorf("%d token calls for 32 concurrent requests, want 1", n)
	}
}

func TestErrorKindsAndRetries(t *testing.T) {
	t.Parallel()
	s, c := sandboxClient(t, otsb.Options{Seed: true, Kit: kit.Options{Rate: -1}}, nil)
	ctx := context.Background()
	if _, err := c.GetInstance(ctx, "nope", false); !fault.Is(err, fault.NotFound) || !strings.Contains(err.Error(), "Could not find") {
		t.Errorf("404: %v", err)
	}
	// A process failure caused by the request (a missing variable) is invalid, not transient.
	_, err := c.StartInstance(ctx, opentextapi.StartRequest{ProcessDefinitionKey: "media_review"})
	if !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), "Unknown property used in expression") {
		t.Errorf("start without reviewer_group: %v (kind %v)", err, fault.KindOf(err))
	}
	// Reads are retried on 5xx; creates are not (the 500 may have applied).
	if err := s.Kit().Faults.Set(kit.FaultConfig{ErrorRate: map[string]float64{"GET /workflow/v1/runtime/models": 1, "POST /workflow/v1/process-instances": 1}}); err != nil {
		t.Fatal(err)
	}
	s.Kit().Calls.Reset()
	if _, err := c.ListModels(ctx, opentextapi.ModelQuery{}); !fault.Is(err, fault.Transient) {
		t.Errorf("GET with 500s: %v", err)
	}
	if n := s.Kit().Calls.Count("GET", "/workflow/v1/runtime/models"); n != 3 {
		t.Errorf("GET tried %d times, want 3", n)
	}
	if _, err := c.StartInstance(ctx, opentextapi.StartRequest{ProcessDefinitionKey: "media_review"}); !fault.Is(err, fault.Transient) {
		t.Errorf("POST with 500s: %v", err)
	}
	if n := s.Kit().Calls.Count("POST", "/workflow/v1/process-instances"); n != 1 {
		t.Errorf("POST tried %d times, want 1", n)
	}
	// 429 spike arrests are absorbed: the connection pauses for Retry-After and tries again.
	if err := s.Kit().Faults.Set(kit.FaultConfig{Storm429: 2}); err != nil {
		t.Fatal(err)
	}
	s.Kit().Calls.Reset()
	start := time.Now()
	if _, err := c.StartInstance(ctx, opentextapi.StartRequest{ProcessDefinitionKey: "media_review", Variables: []opentextapi.Variable{{Name: "reviewer_group", Value: "g"}}}); err != nil {
		t.Fatalf("after a 429 storm: %v", err)
	}
	n429 := 0
	for _, call := range s.Kit().Calls.List("/workflow/v1/") {
		if call.Status == http.StatusTooManyRequests {
			n429++
		}
	}
	t.Logf("absorbed %d 429s in %v", n429, time.Since(start).Round(time.Millisecond))
	if n429 != 2 {
		t.Errorf("%d 429s seen, want 2", n429)
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.ListModels(ctx2, opentextapi.ModelQuery{}); !fault.Is(err, fault.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestDecodePage(t *testing.T) {
	t.Parallel()
	type item struct {
		ID string `json:"id"`
	}
	tests := []struct {
		name      string
		body      string
		wantIDs   string
		wantTotal int
	}{
		{"HAL", `{"_embedded":{"tasks":[{"id":"a"},{"id":"b"}]},"page":{"size":2,"totalElements":5,"totalPages":3,"number":0},"_links":{}}`, "a,b", 5},
		{"HAL empty page omits _embedded", `{"page":{"size":10,"totalElements":0,"totalPages":0,"number":0},"_links":{}}`, "", 0},
		{"plain links/content form", `{"links":[{"rel":"self","href":"x"}],"content":[{"id":"c"}],"page":{"totalElements":1}}`, "c", 1},
		{"content without page", `{"links":[],"content":[{"id":"c"},{"id":"d"}]}`, "c,d", -1},
		{"bare array", `[{"id":"e"}]`, "e", 1},
		{"other rel name", `{"_embedded":{"taskList":[{"id":"f"}]}}`, "f", -1},
		{"empty body", ``, "", 0},
	}
	for _, tt := range tests {
		p, err := opentextapi.DecodePage[item]([]byte(tt.body), "tasks")
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		var ids []string
		for _, it := range p.Items {
			ids = append(ids, it.ID)
		}
		if strings.Join(ids, ",") != tt.wantIDs || p.Total != tt.wantTotal {
			t.Errorf("%s: ids %v total %d, want %s %d", tt.name, ids, p.Total, tt.wantIDs, tt.wantTotal)
		}
	}
	if _, err := opentextapi.DecodePage[item]([]byte(`{"_embedded":{"tasks":"x"}}`), "tasks"); !fault.Is(err, fault.Permanent) {
		t.Errorf("malformed: %v", err)
	}
}

func TestDecodeError(t *testing.T) {
	t.Parallel()
	tests := []struct{ body, want string }{
		{`{"message":"Bad request","exception":"Variable 'x' is not a boolean"}`, "Variable 'x' is not a boolean"},
		{`{"fault":{"faultstring":"Access Token expired","detail":{"errorcode":"keymanagement.service.access_token_expired"}}}`, "Access Token expired (keymanagement.service.access_token_expired)"},
		{`{"error":"invalid_client","error_description":"Client authentication failed"}`, "invalid_client: Client authentication failed"},
		{`{"message":"Not found"}`, "Not found"},
		{`<html>gateway</html>`, ""},
	}
	for _, tt := range tests {
		if got := opentextapi.DecodeError(400, nil, []byte(tt.body)); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 2, 3, 4, 5, 6, 789e6, time.UTC)
	for _, s := range []string{"2026-02-03T04:05:06.789Z", "2026-02-03T04:05:06.789+0000", "2026-02-03T05:05:06.789+01:00"} {
		if got, ok := opentextapi.ParseTime(s); !ok || !got.Equal(want) {
			t.Errorf("%s: %v %v", s, got, ok)
		}
	}
	if opentextapi.FormatTime(want) != "2026-02-03T04:05:06.789Z" {
		t.Error(opentextapi.FormatTime(want))
	}
}
