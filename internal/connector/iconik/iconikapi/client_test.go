package iconikapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/fault"
	sbx "github.com/patchbay/patchbay/internal/sandbox/iconik"
	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

func sandbox(t *testing.T, opts sbx.Options) (*sbx.Server, *Client) {
	t.Helper()
	if opts.TimeScale == 0 {
		opts.TimeScale = 0.001
	}
	s, err := sbx.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	s.SetURL(ts.URL)
	t.Cleanup(func() { ts.Close(); s.Close() })
	creds := s.Credentials()
	c, err := New(Options{BaseURL: ts.URL + "/API", AppID: creds["app_id"], AuthToken: creds["auth_token"], Rate: 45, Burst: 20})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func TestDecodeError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want string
	}{
		{`{"errors": ["Asset does not exist"]}`, "Asset does not exist"},
		{`{"errors": ["a", "b"]}`, "a; b"},
		{`{"errors": {"title": ["Missing data for required field."], "type": ["Must be one of: ASSET."]}}`, "title: Missing data for required field.; type: Must be one of: ASSET."},
		{`{"errors": {"metadata_values": {"x": ["bad"]}}}`, "metadata_values: x: bad"},
		{`{"errors": "plain"}`, "plain"},
		{`{"error": "rate limit exceeded"}`, "rate limit exceeded"},
		{`<html>`, ""},
	}
	for _, tt := range tests {
		if got := DecodeError(400, nil, []byte(tt.body)); got != tt.want {
			t.Errorf("DecodeError(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestErrorsHaveKinds(t *testing.T) {
	t.Parallel()
	s, c := sandbox(t, sbx.Options{})
	ctx := context.Background()
	_, err := c.GetAsset(ctx, "00000000-0000-4000-8000-000000000000", false)
	if !fault.Is(err, fault.NotFound) || !strings.Contains(err.Error(), "Asset does not exist") {
		t.Errorf("missing asset: %v", err)
	}
	_, err = c.CreateAsset(ctx, map[string]any{"type": "NOPE"}, false)
	if !fault.Is(err, fault.Invalid) || !strings.Contains(err.Error(), "title: Missing data") {
		t.Errorf("invalid asset: %v", err)
	}
	creds := s.Credentials()
	bad, _ := New(Options{BaseURL: strings.TrimSuffix(s.URL(), "/"), AppID: creds["app_id"], AuthToken: "wrong-token-xyz"})
	err = bad.CheckToken(ctx)
	if !fault.Is(err, fault.Unauthorized) || strings.Contains(err.Error(), "wrong-token-xyz") {
		t.Errorf("bad token: %v", err)
	}
	if _, err := New(Options{BaseURL: "ftp://x", AppID: "a", AuthToken: "b"}); !fault.Is(err, fault.Invalid) {
		t.Errorf("bad base url: %v", err)
	}
}

// TestPagingPast1000 lists 1,200 assets by page number and by search_after.
func TestPagingPast1000(t *testing.T) {
	t.Parallel()
	s, c := sandbox(t, sbx.Options{DisableTranscode: true})
	ids := s.SeedAssets(1200)
	ctx := context.Background()
	seen := map[string]bool{}
	pages, err := c.EachAsset(ctx, "date_created,asc", 100, func(a Asset) bool {
		seen[a.ID] = true
		return true
	})
	if err != nil || len(seen) != 1200 || pages != 12 {
		t.Fatalf("page-number listing: %d assets in %d pages, err %v", len(seen), pages, err)
	}
	var order []string
	total, spages, err := c.SearchEach(ctx, SearchRequest{DocTypes: []string{"assets"}, Sort: []SortKey{{Name: "date_created", Order: "asc"}}}, 100,
		func(raw json.RawMessage) bool {
			var a Asset
			_ = json.Unmarshal(raw, &a)
			order = append(order, a.ID)
			return true
		})
	if err != nil || total != 1200 || len(order) != 1200 || spages != 13 {
		t.Fatalf("search_after: %d hits of %d in %d pages, err %v", len(order), total, spages, err)
	}
	for i := range order {
		if order[i] != ids[i] {
			t.Fatalf("hit %d is %s, want %s", i, order[i], ids[i])
		}
	}
	// Page-number search stops at the result window; search_after does not.
	if _, err := c.Search(ctx, &SearchRequest{}, 101, 100); !fault.Is(err, fault.Invalid) {
		t.Fatalf("page 101 of search: %v", err)
	}
}

// TestRetriesA429Storm shows a storm of 429s absorbed inside the client: the
// call succeeds and the requests were held back by the Retry-After.
func TestRetriesA429Storm(t *testing.T) {
	t.Parallel()
	s, c := sandbox(t, sbx.Options{})
	if err := s.Kit().Faults.Set(kit.FaultConfig{Storm429: 2}); err != nil {
		t.Fatal(err)
	}
	if err := c.CheckToken(context.Background()); err != nil {
		t.Fatalf("after a short storm: %v", err)
	}
	if n := s.Kit().Calls.Count("GET", "/API/auth/"); n != 3 {
		t.Fatalf("%d calls, want 3 (two 429s, then success)", n)
	}
	// A longer storm than the client retries surfaces as rate limited with a delay.
	if err := s.Kit().Faults.Set(kit.FaultConfig{Storm429: 10}); err != nil {
		t.Fatal(err)
	}
	c.retries = 1
	err := c.CheckToken(context.Background())
	if !fault.Is(err, fault.RateLimited) || fault.RetryAfter(err) <= 0 || !fault.IsSafe(err) {
		t.Fatalf("long storm: %v (retry after %v)", err, fault.RetryAfter(err))
	}
}

// recordingTransport notes when each request leaves.
type recordingTransport struct {
	mu    sync.Mutex
	times []time.Time
	next  http.RoundTripper
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.times = append(r.times, time.Now())
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func TestWindowTransport(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	defer srv.Close()
	rec := &recordingTransport{next: http.DefaultTransport}
	// 5 per 200ms window: 15 requests need at least two full windows.
	hc := &http.Client{Transport: newWindowTransport(rec, 5, 200*time.Millisecond)}
	var wg sync.WaitGroup
	for range 15 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := hc.Get(srv.URL)
			if err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if n.Load() != 15 {
		t.Fatalf("%d requests arrived", n.Load())
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i := 5; i < len(rec.times); i++ {
		// Slots are a window apart; timers may fire a little late, which is
		// what windowMargin absorbs in production.
		if gap := rec.times[i].Sub(rec.times[i-5]); gap < 190*time.Millisecond {
			t.Fatalf("requests %d and %d left only %v apart; window not held", i-5, i, gap)
		}
	}
}
