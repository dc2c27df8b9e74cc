package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/app"
)

// The generic demo: a webhook flow that maps an event and posts it to a
// sink served by patchbay itself at /demo/sink. Beside it run the sandboxes
// with the UC1 and UC8 templates (demo_sandbox.go).
const demoFlow = `# The generic demo flow: receives a JSON webhook, maps it, and posts the
# result to the demo sink. Installed by patchbay up --demo.
name: demo-webhook-to-sink
description: Map an incoming JSON event and post it to an HTTP endpoint.
connections:
  hook: { connector: http, connection: demo-in }
  sink: { connector: http, connection: demo-sink }
trigger:
  on: hook.webhook
  filter: ${{ trigger.data.body.title != nil }}
steps:
  - id: map
    set:
      title: ${{ upper(trigger.data.body.title) }}
      asset_id: ${{ trigger.data.body.id }}
      received: ${{ trigger.received_at }}
  - id: deliver
    action: sink.request
    retry: { attempts: 5, backoff: exponential, delay: 1s }
    input:
      method: POST
      url: /demo/sink
      json:
        title: ${{ vars.title }}
        asset_id: ${{ vars.asset_id }}
        received: ${{ vars.received }}
`

// demoSink records what the demo flow delivers.
type demoSink struct {
	mu    sync.Mutex
	items []json.RawMessage
}

func (s *demoSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"received": s.items})
		return
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	s.mu.Lock()
	s.items = append(s.items, json.RawMessage(b))
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
}

func runDemo(ctx context.Context, g *globals, o *serveOpts) error {
	sink := &demoSink{}
	prepare := func(cfg *app.Config) {
		cfg.Extra = func(mux *http.ServeMux) { mux.Handle("/demo/sink", sink) }
	}
	sb, err := startDemoSandboxes(g, o)
	if err != nil {
		return err
	}
	// The sandboxes close after patchbay has stopped (runServer returns).
	defer sb.Close()
	return g.runServer(ctx, app.RoleAll, o, prepare, func(a *app.App) error {
		ctx := context.Background()
		start := time.Now()
		base := a.URL()
		if err := a.PutConnection(ctx, "demo-in", "http", map[string]any{"webhook_verify": "none"}, "demo"); err != nil {
			return err
		}
		if err := a.PutConnection(ctx, "demo-sink", "http", map[string]any{"base_url": base, "allow": []any{"127.0.0.1", "localhost"}}, "demo"); err != nil {
			return err
		}
		if _, err := a.ApplyFlow(ctx, "demo-webhook-to-sink.yaml", []byte(demoFlow), "demo"); err != nil {
			return err
		}
		token, _ := a.APIToken()
		info := map[string]any{"patchbay": map[string]any{"url": base, "api_token": token}}
		if err := setupDemoSandboxes(ctx, a, sb, info); err != nil {
			return err
		}
		demoFile := ""
		if a.Config().DataDir != "" {
			demoFile = filepath.Join(a.Config().DataDir, "demo.json")
			b, _ := json.MarshalIndent(info, "", "  ")
			if err := os.WriteFile(demoFile, append(b, '\n'), 0o600); err != nil {
				return fmt.Errorf("writing demo.json: %w", err)
			}
		}
		data := "--data " + a.Config().DataDir
		if a.Config().DataDir == "" {
			data = "--db $PATCHBAY_DB"
		}
		w := g.stdout
		fmt.Fprintf(w, "\npatchbay demo is up at %s  (store: %s; ready in %s)\n\n", base, describeStore(a), time.Since(start).Round(time.Millisecond))
		printDemoGuide(w, data, sb.Info())
		fmt.Fprintf(w, "\nGeneric webhook flow (demo-webhook-to-sink):\n")
		fmt.Fprintf(w, "  1. send an event:   curl -s -X POST %s/hooks/demo-in/webhook -H 'Content-Type: application/json' -d '{\"id\":\"a1\",\"title\":\"hello\"}'\n", base)
		fmt.Fprintf(w, "  2. see the runs:    patchbay %s run ls\n", data)
		fmt.Fprintf(w, "  3. see a timeline:  patchbay %s run show <run id>\n", data)
		fmt.Fprintf(w, "  4. see deliveries:  curl -s %s/demo/sink\n", base)
		fmt.Fprintf(w, "\nAPI token (for /api/v1): %s\n", token)
		if demoFile != "" {
			fmt.Fprintf(w, "URLs and credentials of patchbay and the sandboxes: %s\n", demoFile)
		}
		fmt.Fprintln(w, "Press Ctrl-C to stop.")
		return nil
	})
}
