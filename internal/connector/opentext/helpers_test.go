package opentext_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/opentext"
	"github.com/patchbay/patchbay/internal/sandbox/kit"
	otsb "github.com/patchbay/patchbay/internal/sandbox/opentext"
)

const testCallbackSecret = "cb-secret-4f1d9a"

// sandbox runs the OpenText sandbox on loopback.
type sandbox struct {
	*otsb.Server
	URL string
}

func newSandbox(t testing.TB, opts otsb.Options) *sandbox {
	t.Helper()
	if opts.TimeScale == 0 {
		opts.TimeScale = 0.001
	}
	s, err := otsb.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	s.SetURL(srv.URL)
	t.Cleanup(func() {
		_ = s.Close()
		srv.Close()
	})
	return &sandbox{Server: s, URL: srv.URL}
}

// values are connection settings pointing at the sandbox.
func (s *sandbox) values(extra map[string]any) map[string]any {
	cr := s.Credentials()
	v := map[string]any{
		"base_url": s.URL, "tenant_id": cr["tenant_id"], "client_id": cr["client_id"], "client_secret": cr["client_secret"],
		"callback_secret": testCallbackSecret, "rate": 0,
	}
	for k, x := range extra {
		v[k] = x
	}
	return v
}

// open opens a connection the way the connection manager does: settings
// checked against the spec with defaults filled.
func open(t testing.TB, values map[string]any, publicURL string) *opentext.Conn {
	t.Helper()
	spec := opentext.Connector{}.Spec()
	prepared, err := connector.Prepare(spec.Connection, values, false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := opentext.Connector{}.Open(context.Background(), connector.Config{Name: "ot", Values: prepared, PublicURL: publicURL,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*opentext.Conn)
}

// do runs an action with its input checked against the spec, as the engine does.
func do(t testing.TB, c *opentext.Conn, action string, input map[string]any, key string) (*connector.Result, error) {
	t.Helper()
	as, ok := opentext.Connector{}.Spec().Action(action)
	if !ok {
		t.Fatalf("no action %s", action)
	}
	in, err := connector.Prepare(as.Input, input, false)
	if err != nil {
		t.Fatalf("%s: input: %v", action, err)
	}
	return c.Do(context.Background(), action, &connector.Request{Input: in, IdempotencyKey: key, RunID: "run-test", StepID: "step"})
}

func mustDo(t testing.TB, c *opentext.Conn, action string, input map[string]any, key string) map[string]any {
	t.Helper()
	res, err := do(t, c, action, input, key)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	out, _ := res.Output.(map[string]any)
	return out
}

// reviewVars are the media_review start variables.
func reviewVars(asset string) map[string]any {
	return map[string]any{"reviewer_group": "media_reviewers", "asset_id": asset, "version_id": "v1", "title": "Trailer " + asset}
}

// openTask returns the open task of a process instance.
func openTask(t testing.TB, s *sandbox, pid string) otsb.TaskState {
	t.Helper()
	tasks := s.Tasks(otsb.TaskFilter{InstanceID: pid, OpenOnly: true})
	if len(tasks) != 1 {
		t.Fatalf("process %s has %d open tasks, want 1", pid, len(tasks))
	}
	return tasks[0]
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustUnmarshal(t testing.TB, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// kitNoLimit turns the sandbox's rate limit off (bulk tests).
func kitNoLimit() kit.Options { return kit.Options{Rate: -1} }
