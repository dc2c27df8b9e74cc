package iconik

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// testServer is a sandbox behind a real loopback listener.
type testServer struct {
	*Server
	ts *httptest.Server
}

func newTestServer(t *testing.T, opts Options) *testServer {
	t.Helper()
	if opts.TimeScale == 0 {
		opts.TimeScale = 0.001
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(s)
	s.SetURL(ts.URL)
	t.Cleanup(func() {
		ts.Close()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &testServer{Server: s, ts: ts}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
	return m
}

// do sends an authenticated request; body is marshalled unless it is []byte.
func (s *testServer) do(t *testing.T, method, path string, body any) response {
	t.Helper()
	return s.doWith(t, method, path, body, s.Credentials())
}

func (s *testServer) doWith(t *testing.T, method, path string, body any, creds map[string]string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, s.ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if creds != nil {
		req.Header.Set("App-ID", creds["app_id"])
		req.Header.Set("Auth-Token", creds["auth_token"])
	}
	resp, err := s.ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// must fails the test unless the status is want, and returns the decoded body.
func (s *testServer) must(t *testing.T, want int, method, path string, body any) map[string]any {
	t.Helper()
	r := s.do(t, method, path, body)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	if len(bytes.TrimSpace(r.body)) == 0 {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return m
}

func (s *testServer) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Settle(ctx); err != nil {
		t.Fatalf("Settle: %v", err)
	}
}

// receiver is a webhook endpoint recording what it receives.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	events  []Event
	headers []http.Header
	fail    int // answer 500 to this many requests first
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if rc.fail > 0 {
			rc.fail--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var ev Event
		if err := json.Unmarshal(b, &ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rc.events = append(rc.events, ev)
		rc.headers = append(rc.headers, r.Header.Clone())
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Event{}, rc.events...)
}

func (rc *receiver) gotHeaders() []http.Header {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]http.Header{}, rc.headers...)
}

func (rc *receiver) find(realm, op string) []Event {
	var out []Event
	for _, ev := range rc.got() {
		if ev.Realm == realm && ev.Operation == op {
			out = append(out, ev)
		}
	}
	return out
}

func dataOf(t *testing.T, ev Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		t.Fatalf("decoding event data: %v", err)
	}
	return m
}

// hook registers a webhook definition and returns its id.
func (s *testServer) hook(t *testing.T, def map[string]any) string {
	t.Helper()
	if def["status"] == nil {
		def["status"] = "ENABLED"
	}
	m := s.must(t, http.StatusCreated, "POST", "/API/notifications/v1/webhooks/", def)
	return m["id"].(string)
}
