package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/app/apptest"
	_ "github.com/patchbay/patchbay/internal/connector/all"
	"github.com/patchbay/patchbay/internal/store"
)

func startApp(t *testing.T, cfg app.Config) *app.App {
	cfg.APIToken = "test-token"
	return apptest.Start(t, cfg)
}

type sink struct {
	mu   sync.Mutex
	reqs []map[string]any
	keys map[string]int
	srv  *httptest.Server
}

func newSink(t *testing.T) *sink {
	s := &sink{keys: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		s.mu.Lock()
		s.reqs = append(s.reqs, body)
		s.keys[r.Header.Get("Idempotency-Key")]++
		s.mu.Unlock()
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

var waitFor = apptest.WaitFor

const webhookFlow = `
name: to-sink
trigger:
  on: hook.webhook
connections:
  hook: { connector: http, connection: inbound }
  out: { connector: http, connection: sink }
steps:
  - id: map
    set:
      title: ${{ upper(trigger.data.body.title) }}
      id: ${{ trigger.data.body.id }}
  - id: post
    action: out.request
    input:
      method: POST
      url: /items
      json:
        title: ${{ vars.title }}
        source_id: ${{ vars.id }}
`

func TestWebhookToSink(t *testing.T) {
	a := startApp(t, app.Config{})
	s := newSink(t)
	ctx := context.Background()
	if err := a.PutConnection(ctx, "inbound", "http", map[string]any{"webhook_secret": "s3cret"}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := a.PutConnection(ctx, "sink", "http", map[string]any{"base_url": s.srv.URL, "allow": []any{"127.0.0.1"}}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyFlow(ctx, "flow.yaml", []byte(webhookFlow), "test"); err != nil {
		t.Fatal(err)
	}
	post := func(token, body string) *http.Response {
		req, _ := http.NewRequest("POST", a.URL()+"/hooks/inbound/webhook", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Patchbay-Token", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post("wrong", `{"id":1}`); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: status %d", resp.StatusCode)
	}
	if resp := post("s3cret", `{"id":1,"title":"trailer"}`); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d", resp.StatusCode)
	}
	waitFor(t, "the sink to receive the post", 10*time.Second, func() bool { return s.count() == 1 })
	if got := s.reqs[0]["title"]; got != "TRAILER" {
		t.Fatalf("sink got %v", s.reqs[0])
	}
	runs, err := a.ListRuns(ctx, store.RunFilter{Flow: "to-sink"})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs = %v, %v", runs, err)
	}
	waitFor(t, "the run to succeed", 5*time.Second, func() bool {
		d, _ := a.GetRun(ctx, runs[0].ID)
		return d.Status == store.RunSucceeded
	})
	evs, _ := a.ListEvents(ctx, store.EventFilter{Status: store.EventRejected}, false)
	if len(evs) != 1 {
		t.Fatalf("rejected events = %v", evs)
	}
}
