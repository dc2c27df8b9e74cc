package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/app/apptest"
	"github.com/patchbay/patchbay/internal/audit"
	"github.com/patchbay/patchbay/internal/secret"
	"github.com/patchbay/patchbay/internal/store"
	"github.com/patchbay/patchbay/internal/store/postgres/pgtest"
)

// TestScaleOutOnPostgres: one serve and two worker processes (three Apps,
// each with its own audit log handing out chains) on one PostgreSQL
// database. Every webhook becomes one run; the run's start and end are in
// the trail under run/ID, every chain verifies, and nothing is there twice,
// although the processes append to the same 32 chains at once (a process
// finding a head moved by another runs that transaction again).
func TestScaleOutOnPostgres(t *testing.T) {
	url := pgtest.URL(t)
	t.Setenv(secret.EnvKey, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	ctx := context.Background()
	cfg := func(role app.Role) app.Config {
		return app.Config{DBURL: url, Role: role, FetchPollInterval: 20 * time.Millisecond, ReconcileEvery: time.Hour}
	}
	serve := apptest.Start(t, cfg(app.RoleServe))
	apptest.Start(t, cfg(app.RoleWorker))
	apptest.Start(t, cfg(app.RoleWorker))
	must(t, serve.PutConnection(ctx, "in", "http", map[string]any{"webhook_secret": "s3cret", "webhook_object": "id",
		"webhook_object_type": "origin:item"}, "test"))
	_, err := serve.ApplyFlow(ctx, "f.yaml", []byte(`
name: count
connections: { hook: { connector: http, connection: in } }
trigger: { on: hook.webhook }
steps:
  - id: note
    set: { id: "${{ trigger.data.body.id }}" }
`), "test")
	must(t, err)

	const n = 300
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 6 {
				post(t, serve.URL()+"/hooks/in/webhook", "s3cret", map[string]any{"id": fmt.Sprint(i)})
			}
		}()
	}
	wg.Wait()
	waitFor(t, "every run to succeed", 2*time.Minute, func() bool {
		c, err := serve.Store.CountRuns(ctx, serve.Store.Reader(), "count")
		return err == nil && c[store.RunSucceeded] == n
	})

	l := audit.New(serve.Store)
	rep := verify(t, l)
	if !rep.OK {
		t.Fatalf("audit verify after scale-out: %+v", rep)
	}
	runs := runsOf(t, serve, "count")
	kinds := map[string]int{}
	for _, r := range runs {
		es, err := l.List(ctx, audit.Filter{Object: "run/" + r.ID})
		must(t, err)
		var got []string
		for _, e := range es {
			got = append(got, e.Kind)
			kinds[e.Kind]++
		}
		if len(got) != 2 || got[0] != audit.KindEventReceived || got[1] != audit.KindRunEnded {
			t.Fatalf("run %s: entries %v, want event.received, run.ended", r.ID, got)
		}
	}
	// Setup: the connection and the flow; then two entries per run.
	if rep.Entries != 2+2*n || kinds[audit.KindEventReceived] != n || kinds[audit.KindRunEnded] != n {
		t.Fatalf("%d entries (%v) for %d runs", rep.Entries, kinds, n)
	}
	t.Logf("%d runs over 3 processes: %d entries in %d chains", n, rep.Entries, rep.Chains)
}
