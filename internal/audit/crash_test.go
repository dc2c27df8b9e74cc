package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/app/apptest"
	"github.com/patchbay/patchbay/internal/audit"
	"github.com/patchbay/patchbay/internal/store"
	"github.com/patchbay/patchbay/internal/store/sqlite"
)

// The crash test runs patchbay as a child process (apptest.Child), kills it with SIGKILL at random moments while events
// keep arriving, at least ten times, and after every kill looks at what the
// child committed: every committed step's audit entries are there, and no
// audit entry describes a step, a run start or a run end that was not
// committed (the invariant "a step's result and its audit entries commit in
// one transaction").

const crashFlow = `
name: crashy
connections:
  hook: { connector: http, connection: in }
  out: { connector: http, connection: sink }
trigger:
  on: hook.webhook
steps:
  - id: gate
    if: ${{ trigger.data.body.n % 2 == 0 }}
    then:
      - id: even
        action: out.request
        input:
          method: PUT
          url: ${{ "/items/" + string(trigger.data.body.n) + "/a" }}
          object: ${{ "sink:item/" + string(trigger.data.body.n) }}
          json:
            n: ${{ trigger.data.body.n }}
    else:
      - id: odd
        action: out.request
        input:
          method: PUT
          url: ${{ "/items/" + string(trigger.data.body.n) + "/a" }}
          object: ${{ "sink:item/" + string(trigger.data.body.n) }}
          json:
            n: ${{ trigger.data.body.n }}
  - id: pick
    switch: ${{ trigger.data.body.n % 3 }}
    cases:
      - value: 0
        steps:
          - id: zero
            action: out.request
            input:
              method: PUT
              url: ${{ "/items/" + string(trigger.data.body.n) + "/b" }}
              object: ${{ "sink:item/" + string(trigger.data.body.n) + "/b" }}
              json:
                zero: true
    default:
      - id: other
        action: out.request
        input:
          method: PUT
          url: ${{ "/items/" + string(trigger.data.body.n) + "/b" }}
          object: ${{ "sink:item/" + string(trigger.data.body.n) + "/b" }}
          json:
            zero: false
  - id: done
    set:
      ok: true
`

func TestCrashAtomicity(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test in -short mode")
	}
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	var writes atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writes.Add(1)
		time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(sink.Close)
	setup, err := app.Open(ctx, app.Config{DataDir: dir, Role: app.RoleClient})
	must(t, err)
	must(t, setup.PutConnection(ctx, "in", "http", map[string]any{"webhook_secret": "s"}, "test"))
	must(t, setup.PutConnection(ctx, "sink", "http", map[string]any{"base_url": sink.URL, "allow": []any{"127.0.0.1"}}, "test"))
	_, err = setup.ApplyFlow(ctx, "crashy.yaml", []byte(crashFlow), "test")
	must(t, err)
	must(t, setup.Stop(ctx))

	var sent, acked atomic.Int64
	kills := 0
	// At least 12 kills, and more (up to 40) until 100 events were
	// acknowledged: on a loaded machine a child spends much of its life
	// starting.
	child := apptest.NewChild(t, apptest.ChildConfig{Data: dir, Workers: 16, FetchPollInterval: 20 * time.Millisecond, ReconcileEvery: time.Hour})
	base := child.URL()
	for cycle := 0; cycle < 12 || (acked.Load() < 100 && cycle < 40); cycle++ {
		child.Start()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				client := &http.Client{Timeout: 2 * time.Second}
				for {
					select {
					case <-stop:
						return
					default:
					}
					n := sent.Add(1)
					body := fmt.Sprintf(`{"n":%d}`, n)
					req, _ := http.NewRequest("POST", base+"/hooks/in/webhook", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("X-Patchbay-Token", "s")
					if resp, err := client.Do(req); err == nil {
						if resp.StatusCode < 300 {
							acked.Add(1)
						}
						resp.Body.Close()
					}
					time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond)
				}
			}()
		}
		time.Sleep(time.Duration(150+rand.IntN(600)) * time.Millisecond)
		child.Kill()
		close(stop)
		wg.Wait()
		kills++
		checkCommitted(t, dir, false)
	}
	// A last run finishes everything the kills interrupted.
	child.Start()
	waitFor(t, "every run to finish", 60*time.Second, func() bool {
		st := openStore(t, dir)
		defer st.Close()
		counts, err := st.CountRuns(ctx, st.Reader(), "")
		must(t, err)
		return counts[store.RunQueued]+counts[store.RunRunning]+counts[store.RunWaiting] == 0
	})
	child.Stop()
	runs := checkCommitted(t, dir, true)
	t.Logf("%d kills, %d events sent (%d acknowledged), %d runs, %d writes", kills, sent.Load(), acked.Load(), runs, writes.Load())
	if kills < 10 || runs < 50 {
		t.Fatalf("too little happened: %d kills, %d runs", kills, runs)
	}
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	drv, err := sqlite.OpenDir(context.Background(), dir)
	must(t, err)
	return store.New(drv)
}

// checkCommitted compares the audit trail with the committed state: each
// committed decision and write step has exactly one audit entry, each entry
// describes a committed step (or run start or end), and the chain verifies.
// With finished, every run must have ended. It returns the number of runs.
func checkCommitted(t *testing.T, dir string, finished bool) int {
	t.Helper()
	ctx := context.Background()
	st := openStore(t, dir)
	defer st.Close()
	l := audit.New(st)
	rep, err := l.Verify(ctx)
	must(t, err)
	if !rep.OK {
		t.Fatalf("audit chain broken: %s", rep.Broken)
	}
	var buf bytes.Buffer
	_, err = l.Export(ctx, &buf, audit.Filter{})
	must(t, err)
	type key struct {
		kind, run string
		seq       int
	}
	entries := map[key]int{}
	started := map[string]int{}
	ended := map[string]int{}
	dec := json.NewDecoder(&buf)
	for dec.More() {
		var e audit.Entry
		must(t, dec.Decode(&e))
		switch e.Kind {
		case "event.received":
			var d struct {
				Runs []string `json:"runs"`
			}
			_ = json.Unmarshal(e.Data, &d)
			for _, r := range d.Runs {
				started[r]++
			}
		case "run.ended":
			ended[e.Run]++
		case "decision", "write":
			entries[key{e.Kind, e.Run, e.StepSeq}]++
		}
	}
	type step struct{ id, kind, status string }
	steps := map[[2]string]step{}
	rows, err := st.Reader().Query(ctx, `SELECT run_id, seq, step_id, kind, status FROM pb_steps`)
	must(t, err)
	for rows.Next() {
		var run, id, kind, status string
		var seq int
		must(t, rows.Scan(&run, &seq, &id, &kind, &status))
		steps[[2]string{run, strconv.Itoa(seq)}] = step{id, kind, status}
		want := ""
		switch {
		case (kind == "if" || kind == "switch") && status == store.StepSucceeded:
			want = "decision"
		case kind == "action" && status == store.StepSucceeded:
			want = "write"
		}
		if want != "" && entries[key{want, run, seq}] != 1 {
			t.Errorf("committed step %s/%d (%s %s) has %d %s entries, want 1", run, seq, id, kind, entries[key{want, run, seq}], want)
		}
	}
	rows.Close()
	for k := range entries {
		if _, ok := steps[[2]string{k.run, strconv.Itoa(k.seq)}]; !ok {
			t.Errorf("%s entry for step %s/%d, which was not committed", k.kind, k.run, k.seq)
		}
	}
	runs, err := st.ListRuns(ctx, st.Reader(), store.RunFilter{Limit: 10000})
	must(t, err)
	known := map[string]bool{}
	for _, r := range runs {
		known[r.ID] = true
		if started[r.ID] != 1 {
			t.Errorf("run %s: %d event.received entries start it, want 1", r.ID, started[r.ID])
		}
		done := store.RunDone(r.Status)
		if (done && ended[r.ID] != 1) || (!done && ended[r.ID] != 0) {
			t.Errorf("run %s is %s with %d run.ended entries", r.ID, r.Status, ended[r.ID])
		}
		if finished && r.Status != store.RunSucceeded {
			t.Errorf("run %s ended %s", r.ID, r.Status)
		}
	}
	for r := range started {
		if !known[r] {
			t.Errorf("an audit entry starts run %s, which was not committed", r)
		}
	}
	for r := range ended {
		if !known[r] {
			t.Errorf("an audit entry ends run %s, which was not committed", r)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return len(runs)
}
