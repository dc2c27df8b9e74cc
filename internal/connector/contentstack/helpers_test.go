package contentstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	sandbox "github.com/patchbay/patchbay/internal/sandbox/contentstack"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// sharedKey avoids generating an RSA key per sandbox.
func sharedKey() *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

// env is a seeded sandbox behind an httptest server.
type env struct {
	t   *testing.T
	s   *sandbox.Server
	srv *httptest.Server
}

// fastSandbox has tiny delays and no provider rate limits.
func fastSandbox() sandbox.Options {
	return sandbox.Options{Seed: true, TimeScale: 0.002, ReadRate: -1, WriteRate: -1, BulkRate: -1}
}

func newEnv(t *testing.T, o sandbox.Options) *env {
	t.Helper()
	if o.SigningKey == nil {
		o.SigningKey = sharedKey()
	}
	s, err := sandbox.New(o)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	srv := httptest.NewServer(s)
	s.SetURL(srv.URL)
	t.Cleanup(func() {
		srv.Close()
		_ = s.Close()
	})
	return &env{t: t, s: s, srv: srv}
}

// values are connection settings pointing at the sandbox, with fast
// client-side budgets unless overridden.
func (e *env) values(extra map[string]any) map[string]any {
	v := map[string]any{
		"base_url": e.srv.URL, "api_key": e.s.APIKey(), "management_token": e.s.ManagementToken(),
		"read_rate": 1000, "write_rate": 1000, "bulk_rate": 1000, "rate_limit_backoff": "20ms", "publish_wait": "5s",
	}
	for k, x := range extra {
		if x == nil {
			delete(v, k)
			continue
		}
		v[k] = x
	}
	return v
}

// open opens a connection to the sandbox.
func (e *env) open(extra map[string]any) *Conn {
	e.t.Helper()
	vals, err := connector.Prepare(spec.Connection, e.values(extra), false)
	if err != nil {
		e.t.Fatalf("settings: %v", err)
	}
	c, err := Connector{}.Open(context.Background(), connector.Config{Name: "cms", Values: vals})
	if err != nil {
		e.t.Fatalf("open: %v", err)
	}
	return c.(*Conn)
}

// do runs an action with its input checked against the spec.
func do(t *testing.T, c *Conn, action string, in map[string]any, opts ...func(*connector.Request)) (*connector.Result, error) {
	t.Helper()
	as, ok := spec.Action(action)
	if !ok {
		t.Fatalf("no action %s", action)
	}
	prepared, err := connector.Prepare(as.Input, in, false)
	if err != nil {
		t.Fatalf("%s: input: %v", action, err)
	}
	req := &connector.Request{Input: prepared, IdempotencyKey: "run-1:" + action, RunID: "run-1", StepID: action}
	for _, o := range opts {
		o(req)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Do(ctx, action, req)
}

func mustDo(t *testing.T, c *Conn, action string, in map[string]any, opts ...func(*connector.Request)) *connector.Result {
	t.Helper()
	res, err := do(t, c, action, in, opts...)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return res
}

func out(res *connector.Result) map[string]any { return res.Output.(map[string]any) }

func (e *env) uid(ct, title string) string {
	e.t.Helper()
	uid, ok := e.s.FindEntry(ct, "title", title)
	if !ok {
		e.t.Fatalf("no %s entry titled %q", ct, title)
	}
	return uid
}

// capture is a webhook receiver that keeps every delivery.
type capture struct {
	mu   sync.Mutex
	reqs []*connector.WebhookRequest
	srv  *httptest.Server
}

func newCapture(t *testing.T) *capture {
	c := &capture{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, &connector.WebhookRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: b})
		c.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *capture) all() []*connector.WebhookRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*connector.WebhookRequest(nil), c.reqs...)
}

func (c *capture) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = nil
}

// flush waits until the sandbox has no queued publish and no pending delivery.
func (e *env) flush() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.s.Flush(ctx); err != nil {
		e.t.Fatalf("flush: %v", err)
	}
}

// receive passes deliveries through Receive and returns the events.
func receive(t *testing.T, c *Conn, reqs []*connector.WebhookRequest) []connector.Event {
	t.Helper()
	var evs []connector.Event
	for _, r := range reqs {
		resp, err := c.Receive(context.Background(), "entry_events", r)
		if err != nil {
			t.Fatalf("receive %s: %v", bytes.TrimSpace(r.Body[:min(200, len(r.Body))]), err)
		}
		evs = append(evs, resp.Events...)
	}
	return evs
}
