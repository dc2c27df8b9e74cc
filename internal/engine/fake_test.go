package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/app/apptest"
	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/core"
	"github.com/patchbay/patchbay/internal/connector/httpx"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/store"
)

// fake is a programmable connector: its "do" action fails as its script
// says, records every call with its idempotency key, and its "events"
// webhook trigger takes connector.Event JSON as is (no verification).
type fake struct {
	mu       sync.Mutex
	calls    []fakeCall
	script   map[string][]error // by input "name": errors to return, in order
	inflight atomic.Int32
	maxConc  atomic.Int32
	slow     time.Duration
}

type fakeCall struct {
	Name string
	Key  string
	At   time.Time
}

func newFake() *fake { return &fake{script: map[string][]error{}} }

func (f *fake) fail(name string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[name] = append(f.script[name], errs...)
}

func (f *fake) callsOf(name string) []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeCall
	for _, c := range f.calls {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

var fakeSpec = &connector.Spec{
	Name: "fake", Doc: "test connector",
	Connection: []connector.Field{{Name: "token", Type: connector.String, Secret: true}},
	Triggers:   []connector.TriggerSpec{{Name: "events", Kind: connector.Webhook, Doc: "events as JSON", EventTypes: []string{"any"}}},
	Actions: []connector.ActionSpec{
		{Name: "do", Doc: "records a call; fails as scripted", Idempotent: true, Writes: true, Input: []connector.Field{
			{Name: "name", Type: connector.String, Required: true},
			{Name: "value", Type: connector.Any},
			{Name: "size", Type: connector.Int},
		}},
		{Name: "post", Doc: "like do, but not idempotent", Writes: true, Input: []connector.Field{
			{Name: "name", Type: connector.String, Required: true},
		}},
	},
}

func (f *fake) Spec() *connector.Spec { return fakeSpec }
func (f *fake) Open(context.Context, connector.Config) (connector.Conn, error) {
	return f, nil
}
func (f *fake) Close() error { return nil }

func (f *fake) Do(ctx context.Context, action string, req *connector.Request) (*connector.Result, error) {
	n := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for {
		m := f.maxConc.Load()
		if n <= m || f.maxConc.CompareAndSwap(m, n) {
			break
		}
	}
	name, _ := req.Input["name"].(string)
	f.mu.Lock()
	f.calls = append(f.calls, fakeCall{Name: name, Key: req.IdempotencyKey, At: time.Now()})
	var err error
	if errs := f.script[name]; len(errs) > 0 {
		err = errs[0]
		f.script[name] = errs[1:]
	}
	slow := f.slow
	f.mu.Unlock()
	if slow > 0 {
		select {
		case <-time.After(slow):
		case <-ctx.Done():
			return nil, fault.E(fault.Canceled, ctx.Err())
		}
	}
	if err != nil {
		return nil, err
	}
	out := map[string]any{"name": name, "value": req.Input["value"], "key": req.IdempotencyKey}
	if size, ok := req.Input["size"].(int); ok && size > 0 {
		out["blob"] = strings.Repeat("x", size)
	}
	return &connector.Result{Output: out, Writes: []connector.Write{{Object: "fake:thing/" + name, Op: "do"}}}, nil
}

func (f *fake) Receive(_ context.Context, _ string, req *connector.WebhookRequest) (*connector.WebhookResponse, error) {
	var evs []connector.Event
	if err := json.Unmarshal(req.Body, &evs); err != nil {
		return nil, fault.Errorf(fault.Invalid, "decoding events: %v", err)
	}
	return &connector.WebhookResponse{Events: evs}, nil
}

// env is a running patchbay with the fake connector.
type env struct {
	t    *testing.T
	a    *app.App
	fake *fake
}

func newEnv(t *testing.T) *env {
	t.Helper()
	reg := connector.NewRegistry()
	f := newFake()
	reg.Register(f)
	reg.Register(core.Connector{})
	reg.Register(httpx.Connector{})
	a := apptest.Start(t, app.Config{Registry: reg, FetchPollInterval: 50 * time.Millisecond, ReconcileEvery: time.Hour})
	if err := a.PutConnection(context.Background(), "fk", "fake", map[string]any{"token": "tok-SECRET"}, "test"); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, a: a, fake: f}
}

func (e *env) apply(src string) {
	e.t.Helper()
	if _, err := e.a.ApplyFlow(context.Background(), "test.yaml", []byte(src), "test"); err != nil {
		e.t.Fatal(err)
	}
}

// send delivers events to the fake connection's webhook trigger through ingest.
func (e *env) send(evs ...connector.Event) {
	e.t.Helper()
	body, _ := json.Marshal(evs)
	out, err := e.a.Ingest.Accept(context.Background(), ingestBatch("fk", "events", evs))
	_ = body
	if err != nil {
		e.t.Fatal(err)
	}
	_ = out
}

func (e *env) start(flow string, input map[string]any) string {
	e.t.Helper()
	id, err := e.a.StartRun(context.Background(), flow, input)
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// waitRun waits until the run reaches a status.
func (e *env) waitRun(id, status string, d time.Duration) *app.RunDetail {
	e.t.Helper()
	deadline := time.Now().Add(d)
	var last *app.RunDetail
	for time.Now().Before(deadline) {
		r, err := e.a.GetRun(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		last = r
		if r.Status == status {
			return r
		}
		if store.RunDone(r.Status) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("run %s: status %s, want %s; steps:\n%s", id, last.Status, status, dumpSteps(last))
	return nil
}

func dumpSteps(d *app.RunDetail) string {
	var b strings.Builder
	if d.Error != nil {
		fmt.Fprintf(&b, "error: %+v\n", *d.Error)
	}
	for _, s := range d.Steps {
		fmt.Fprintf(&b, "  %d %s %s try %d %s %s %s\n", s.Seq, s.Step, s.Kind, s.Attempt, s.Status, s.Error, string(s.Output))
	}
	return b.String()
}

func stepsWith(d *app.RunDetail, step, status string) int {
	n := 0
	for _, s := range d.Steps {
		if s.Step == step && s.Status == status {
			n++
		}
	}
	return n
}

func engineRunJob(runID string) queue.Job {
	return queue.Job{Kind: queue.KindRun, Payload: map[string]string{"run_id": runID}}
}
