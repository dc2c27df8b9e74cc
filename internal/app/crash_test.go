package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/app/apptest"
	"github.com/patchbay/patchbay/internal/store"
)

// The crash test runs patchbay as a child process (apptest.Child), kills it
// with SIGKILL at random moments while events keep arriving, and restarts
// it, at least 20 times. Afterwards every accepted event has exactly one
// run, every run succeeded, and no external write was repeated except the
// one step each run had in flight at a kill.

func TestMain(m *testing.M) {
	apptest.RunChildIfAsked()
	os.Exit(m.Run())
}

const crashFlow = `
name: crash
connections:
  hook: { connector: http, connection: in }
  out: { connector: http, connection: sink }
trigger:
  on: hook.webhook
steps:
  - id: a
    action: out.request
    input: { method: POST, url: /w, json: { run: "${{ run.id }}", step: a, n: "${{ trigger.data.body.n }}" } }
  - id: mid
    set: { x: "${{ trigger.data.body.n * 2 }}" }
  - id: b
    action: out.request
    input: { method: POST, url: /w, json: { run: "${{ run.id }}", step: b, x: "${{ vars.x }}" } }
  - id: c
    action: out.request
    input: { method: POST, url: /w, json: { run: "${{ run.id }}", step: c } }
`

type sinkRecord struct {
	run, step, key string
	seq            int
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a child process 20+ times")
	}
	const events = 240
	const kills = 22

	var mu sync.Mutex
	var recs []sinkRecord
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Run, Step string }
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		time.Sleep(time.Duration(rand.IntN(4)) * time.Millisecond)
		mu.Lock()
		recs = append(recs, sinkRecord{run: body.Run, step: body.Step, key: r.Header.Get("Idempotency-Key"), seq: len(recs)})
		mu.Unlock()
		w.Write([]byte(`{"ok":true}`))
	}))
	defer sink.Close()

	dir := t.TempDir()
	setup, err := app.Open(context.Background(), app.Config{DataDir: dir, Role: app.RoleClient, APIToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	must(t, setup.PutConnection(ctx, "in", "http", map[string]any{"webhook_verify": "none"}, "test"))
	must(t, setup.PutConnection(ctx, "sink", "http", map[string]any{"base_url": sink.URL, "allow": []any{"127.0.0.1"}}, "test"))
	if _, err := setup.ApplyFlow(ctx, "crash.yaml", []byte(crashFlow), "test"); err != nil {
		t.Fatal(err)
	}
	must(t, setup.Stop(ctx))

	child := apptest.NewChild(t, apptest.ChildConfig{Data: dir, Workers: 8, FetchPollInterval: 50 * time.Millisecond, ReconcileEvery: time.Hour})
	base := child.URL()

	acked := make([]bool, events)
	var ackMu sync.Mutex
	send := func(i int) bool {
		body := fmt.Sprintf(`{"n":%d}`, i)
		req, _ := http.NewRequest("POST", base+"/hooks/in/webhook", bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Event-Id", "ev-"+strconv.Itoa(i))
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusAccepted
	}
	// pump sends unacknowledged events until stop closes.
	pump := func(stop <-chan struct{}) *sync.WaitGroup {
		var wg sync.WaitGroup
		next := make(chan int)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					if send(i) {
						ackMu.Lock()
						acked[i] = true
						ackMu.Unlock()
					}
				}
			}()
		}
		go func() {
			defer close(next)
			for i := 0; ; i = (i + 1) % events {
				ackMu.Lock()
				done := acked[i]
				ackMu.Unlock()
				if done {
					if i == events-1 {
						// A full pass: pause, and stop when asked.
						select {
						case <-stop:
							return
						case <-time.After(5 * time.Millisecond):
						}
					}
					continue
				}
				select {
				case next <- i:
					time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
				case <-stop:
					return
				}
			}
		}()
		return &wg
	}

	for k := 0; k < kills; k++ {
		child.Start()
		stop := make(chan struct{})
		wg := pump(stop)
		time.Sleep(time.Duration(40+rand.IntN(260)) * time.Millisecond)
		child.Kill()
		close(stop)
		wg.Wait()
	}
	// Final life: deliver what is left, replay everything, let runs finish.
	child.Start()
	for i := 0; i < events; i++ {
		if !acked[i] {
			for !send(i) {
				time.Sleep(10 * time.Millisecond)
			}
			acked[i] = true
		}
	}
	for i := 0; i < events; i++ {
		if !send(i) {
			t.Fatalf("replay of event %d failed", i)
		}
	}
	client, err := app.Open(context.Background(), app.Config{DataDir: dir, Role: app.RoleClient, APIToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Stop(ctx)
	deadline := time.Now().Add(60 * time.Second)
	var counts map[string]int
	for time.Now().Before(deadline) {
		counts, _ = client.Store.CountRuns(ctx, client.Store.Reader(), "crash")
		if counts[store.RunSucceeded] == events && len(counts) == 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	child.Stop()

	if counts[store.RunSucceeded] != events || len(counts) != 1 {
		t.Fatalf("runs by status %v, want %d succeeded and nothing else", counts, events)
	}
	// Exactly one run per event.
	runs, err := client.ListRuns(ctx, store.RunFilter{Flow: "crash", Limit: events * 2})
	if err != nil {
		t.Fatal(err)
	}
	perEvent := map[string]int{}
	for _, r := range runs {
		perEvent[r.EventID]++
	}
	if len(runs) != events || len(perEvent) != events {
		t.Fatalf("%d runs for %d distinct events, want %d of each", len(runs), len(perEvent), events)
	}
	// Writes: each step written at least once; a step written again only
	// while it was the step in flight, never after a later step of its run.
	mu.Lock()
	defer mu.Unlock()
	type stepKey struct{ run, step string }
	first := map[stepKey]int{}
	count := map[stepKey]int{}
	keys := map[stepKey]string{}
	for _, r := range recs {
		sk := stepKey{r.run, r.step}
		if _, ok := first[sk]; !ok {
			first[sk] = r.seq
			keys[sk] = r.key
		}
		count[sk]++
		if keys[sk] != r.key {
			t.Fatalf("run %s step %s written with two idempotency keys", r.run, r.step)
		}
	}
	order := []string{"a", "b", "c"}
	dups := 0
	for _, run := range runs {
		for i, st := range order {
			sk := stepKey{run.ID, st}
			if count[sk] == 0 {
				t.Fatalf("run %s: step %s never written", run.ID, st)
			}
			dups += count[sk] - 1
			if i+1 < len(order) {
				later := stepKey{run.ID, order[i+1]}
				for _, r := range recs {
					if r.run == run.ID && r.step == st && r.seq > first[later] {
						t.Fatalf("run %s: step %s written again after step %s had started: a committed step was re-executed", run.ID, st, order[i+1])
					}
				}
			}
		}
	}
	if dups > kills*8 {
		t.Fatalf("%d repeated writes across %d kills with 8 workers: more than the steps in flight", dups, kills)
	}
	t.Logf("%d events, %d kills: %d runs succeeded once each, %d writes, %d repeated (steps in flight at a kill)", events, kills, len(runs), len(recs), dups)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var ctx = context.Background()
