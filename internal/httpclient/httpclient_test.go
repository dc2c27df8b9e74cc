package httpclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/fault"
)

func TestStatusErrorsCarryKindsAndProviderMessage(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/404":
			w.WriteHeader(404)
			w.Write([]byte(`{"errors":["asset not found"]}`))
		case "/422":
			w.WriteHeader(422)
			w.Write([]byte(`{"error_message":"bad field token=SEKRET-123"}`))
		case "/500":
			w.WriteHeader(500)
		case "/ok":
			w.Write([]byte(`{"id":"a1"}`))
		}
	}))
	defer srv.Close()
	c := New(Options{Name: "test", Secrets: []string{"SEKRET-123"}, DecodeError: func(_ int, _ http.Header, b []byte) string {
		return string(b)
	}})
	tests := []struct {
		path        string
		kind        fault.Kind
		errContains string
	}{
		{"/404", fault.NotFound, "asset not found"},
		{"/422", fault.Invalid, "token=***"},
		{"/500", fault.Transient, "500"},
	}
	for _, tt := range tests {
		_, err := c.JSON(context.Background(), "GET", srv.URL+tt.path, nil, nil, &struct{}{})
		if fault.KindOf(err) != tt.kind || !strings.Contains(err.Error(), tt.errContains) {
			t.Errorf("%s: err = %v (kind %v), want %v containing %q", tt.path, err, fault.KindOf(err), tt.kind, tt.errContains)
		}
		if strings.Contains(err.Error(), "SEKRET") {
			t.Errorf("%s: secret leaked into error: %v", tt.path, err)
		}
	}
	var out struct{ ID string }
	if _, err := c.JSON(context.Background(), "GET", srv.URL+"/ok", nil, nil, &out); err != nil || out.ID != "a1" {
		t.Fatalf("ok: %v %v", out, err)
	}
}

func TestRetryAfterPausesTheWholeConnection(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(429)
			return
		}
		w.WriteHeader(200)
	}))
	defer srv.Close()
	now := time.Unix(1000, 0)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	c := New(Options{Name: "t", Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	_, err := c.JSON(context.Background(), "GET", srv.URL, nil, nil, nil)
	if !fault.Is(err, fault.RateLimited) || fault.RetryAfter(err) != 30*time.Second || !fault.IsSafe(err) {
		t.Fatalf("first: err = %v, retry after %v", err, fault.RetryAfter(err))
	}
	// Another request on the same connection is held back without reaching the provider.
	_, err = c.JSON(context.Background(), "GET", srv.URL, nil, nil, nil)
	if !fault.Is(err, fault.RateLimited) || hits.Load() != 1 {
		t.Fatalf("second: err = %v, hits = %d; want rate limited without a request", err, hits.Load())
	}
	if ra := fault.RetryAfter(err); ra <= 0 || ra > 30*time.Second {
		t.Fatalf("second: retry after %v", ra)
	}
	clock.Add(int64(31 * time.Second))
	if _, err := c.JSON(context.Background(), "GET", srv.URL, nil, nil, nil); err != nil {
		t.Fatalf("after the pause: %v", err)
	}
}

func TestRateLimitIsHeldBeforeTheProvider(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	c := New(Options{Name: "t", Rate: 20, Burst: 1})
	start := time.Now()
	for range 5 {
		if _, err := c.JSON(context.Background(), "GET", srv.URL, nil, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Five requests at 20/s with a burst of 1 take at least ~200ms.
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("5 requests took %v; limiter did not hold", el)
	}
}

func TestDialErrorIsSafe(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := New(Options{Name: "t", Timeout: 2 * time.Second})
	_, err := c.JSON(context.Background(), "POST", url, nil, map[string]any{"a": 1}, nil)
	if !fault.Is(err, fault.Transient) || !fault.IsSafe(err) {
		t.Fatalf("err = %v, kind %v safe %v", err, fault.KindOf(err), fault.IsSafe(err))
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if d := ParseRetryAfter("2.5", now); d != 2500*time.Millisecond {
		t.Errorf("seconds: %v", d)
	}
	if d := ParseRetryAfter(now.Add(10*time.Second).Format(http.TimeFormat), now); d != 10*time.Second {
		t.Errorf("date: %v", d)
	}
	if d := ParseRetryAfter("soon", now); d != 0 {
		t.Errorf("garbage: %v", d)
	}
}
