package iconik

import (
	"context"
	"github.com/patchbay/patchbay/internal/app/apptest"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	sbx "github.com/patchbay/patchbay/internal/sandbox/iconik"
)

const testSecret = "whsec-test-2f9d8c7b6a"

// sandbox is an iconik sandbox behind a loopback listener.
type sandbox struct {
	*sbx.Server
	URL string
}

func newSandbox(t *testing.T, opts sbx.Options) *sandbox {
	t.Helper()
	if opts.TimeScale == 0 {
		opts.TimeScale = 0.001
	}
	s, err := sbx.New(opts)
	if err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	ts := httptest.NewServer(s)
	s.SetURL(ts.URL)
	t.Cleanup(func() {
		ts.Close()
		if err := s.Close(); err != nil {
			t.Errorf("closing sandbox: %v", err)
		}
	})
	return &sandbox{Server: s, URL: ts.URL}
}

// values returns connection settings for the sandbox, with extra applied.
func (s *sandbox) values(extra map[string]any) map[string]any {
	creds := s.Credentials()
	v := map[string]any{"base_url": s.URL, "app_id": creds["app_id"], "auth_token": creds["auth_token"],
		"webhook_secret": testSecret, "metadata_view": "patchbay", "poll_lag": "0s", "rate": 45, "burst": 20}
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
func (s *sandbox) open(t *testing.T, extra map[string]any) *Conn {
	t.Helper()
	vals, err := connector.Prepare(spec.Connection, s.values(extra), false)
	if err != nil {
		t.Fatalf("settings: %v", err)
	}
	cn, err := Connector{}.Open(context.Background(), connector.Config{Name: "iconik", Values: vals})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { cn.Close() })
	return cn.(*Conn)
}

// do runs an action with its input prepared as the engine would.
func do(t *testing.T, c *Conn, action, key string, input map[string]any) (*connector.Result, error) {
	t.Helper()
	as, ok := spec.Action(action)
	if !ok {
		t.Fatalf("no action %s", action)
	}
	in, err := connector.Prepare(as.Input, input, false)
	if err != nil {
		t.Fatalf("%s: input: %v", action, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return c.Do(ctx, action, &connector.Request{Input: in, IdempotencyKey: key, RunID: "run-test", StepID: "step"})
}

func mustDo(t *testing.T, c *Conn, action, key string, input map[string]any) *connector.Result {
	t.Helper()
	res, err := do(t, c, action, key, input)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return res
}

func out(res *connector.Result) map[string]any {
	m, _ := res.Output.(map[string]any)
	return m
}

// delivery is one webhook the sandbox delivered.
type delivery struct {
	header http.Header
	body   []byte
}

// hookSink receives the sandbox's webhook deliveries.
type hookSink struct {
	mu  sync.Mutex
	got []delivery
	srv *httptest.Server
}

func newHookSink(t *testing.T) *hookSink {
	h := &hookSink{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, delivery{header: r.Header.Clone(), body: b})
		h.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// hookURL is what Setup gets as SetupRequest.HookURL.
func (h *hookSink) hookURL() string { return h.srv.URL + "/hooks/iconik/" }

func (h *hookSink) deliveries() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivery(nil), h.got...)
}

var waitFor = apptest.WaitFor

func settle(t *testing.T, s *sandbox) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.Settle(ctx); err != nil {
		t.Fatalf("settle: %v", err)
	}
}
