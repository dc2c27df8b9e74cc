package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/app/apptest"
	"github.com/patchbay/patchbay/internal/audit"
	"github.com/patchbay/patchbay/internal/cli"
	_ "github.com/patchbay/patchbay/internal/connector/all"
	"github.com/patchbay/patchbay/internal/store"
)

func startApp(t *testing.T, dir string) *app.App {
	return apptest.Start(t, app.Config{DataDir: dir, FetchPollInterval: 20 * time.Millisecond, ReconcileEvery: time.Hour})
}

var waitFor = apptest.WaitFor

func post(t *testing.T, url, token string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Patchbay-Token", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook: status %d", resp.StatusCode)
	}
}

func runsOf(t *testing.T, a *app.App, flow string) []app.RunInfo {
	t.Helper()
	runs, err := a.ListRuns(context.Background(), store.RunFilter{Flow: flow, Limit: 1000, Oldest: true})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

// echoSink is a system patchbay writes to that, like real providers, sends
// a webhook about every change back, shortly after answering the write.
type echoSink struct {
	mu    sync.Mutex
	posts []map[string]any
	hook  string        // patchbay's webhook URL
	hold  chan struct{} // if set, echoes wait until it is closed
	wg    sync.WaitGroup
}

func (s *echoSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var data map[string]any
	_ = json.Unmarshal(body, &data)
	id := strings.TrimPrefix(r.URL.Path, "/items/")
	s.mu.Lock()
	s.posts = append(s.posts, data)
	hook, hold := s.hook, s.hold
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"ok":true}`))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		time.Sleep(150 * time.Millisecond)
		if hold != nil {
			<-hold
		}
		b, _ := json.Marshal(map[string]any{"id": id, "data": data, "changed_by": "sink"})
		req, _ := http.NewRequest("POST", hook, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Patchbay-Token", "s3cret")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
}

func (s *echoSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.posts)
}

const syncFlow = `
name: sync-items
connections:
  hook: { connector: http, connection: in }
  out: { connector: http, connection: sink }
trigger:
  on: hook.webhook
steps:
  - id: put
    action: out.request
    link: ${{ "origin:item/" + string(trigger.data.body.id) }}
    input:
      method: PUT
      url: ${{ "/items/" + string(trigger.data.body.id) }}
      object: ${{ "sink:item/" + string(trigger.data.body.id) }}
      json: ${{ trigger.data.body.data }}
`

// startEchoing starts patchbay with a webhook connection "in" (object
// sink:item/<id>, content hash of data) and an HTTP connection "sink" to an
// echoSink that posts every write back to "in".
func startEchoing(t *testing.T) (*app.App, *echoSink, string) {
	t.Helper()
	ctx := context.Background()
	a := startApp(t, t.TempDir())
	sink := &echoSink{}
	srv := httptest.NewServer(sink)
	t.Cleanup(srv.Close)
	t.Cleanup(sink.wg.Wait)
	hook := a.URL() + "/hooks/in/webhook"
	sink.mu.Lock()
	sink.hook = hook
	sink.mu.Unlock()
	must(t, a.PutConnection(ctx, "in", "http", map[string]any{"webhook_secret": "s3cret", "webhook_object": "id",
		"webhook_object_type": "sink:item", "webhook_hash": "data"}, "test"))
	must(t, a.PutConnection(ctx, "sink", "http", map[string]any{"base_url": srv.URL, "allow": []any{"127.0.0.1"}}, "test"))
	return a, sink, hook
}

// TestEchoSuppression: a flow writes to a sink that echoes the write back as
// a webhook to the flow's own trigger. The echo is recognised (event status
// echo, an audit entry) and starts no run, so there is no loop; a different
// change to the same object still starts a run.
func TestEchoSuppression(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, sink, hook := startEchoing(t)
	if _, err := a.ApplyFlow(ctx, "sync.yaml", []byte(syncFlow), "test"); err != nil {
		t.Fatal(err)
	}
	echoes := func() []app.EventInfo {
		evs, err := a.ListEvents(ctx, store.EventFilter{Status: store.EventEcho, Object: "sink:item/42"}, false)
		must(t, err)
		return evs
	}

	// A person changes item 42: one run, one write, and its echo is suppressed.
	post(t, hook, "s3cret", map[string]any{"id": "42", "data": map[string]any{"title": "Trailer", "rating": 5}})
	waitFor(t, "the echo of the first write", 10*time.Second, func() bool { return len(echoes()) == 1 })
	time.Sleep(300 * time.Millisecond) // room for a looping run to show itself
	if runs := runsOf(t, a, "sync-items"); len(runs) != 1 || sink.count() != 1 {
		t.Fatalf("after one change: %d runs, %d writes to the sink; want 1 and 1 (no loop)", len(runs), sink.count())
	}

	// A different change to the same object still starts a run; its own echo is suppressed too.
	post(t, hook, "s3cret", map[string]any{"id": "42", "data": map[string]any{"title": "Trailer (final cut)", "rating": 5}})
	waitFor(t, "the echo of the second write", 10*time.Second, func() bool { return len(echoes()) == 2 })
	time.Sleep(300 * time.Millisecond)
	runs := runsOf(t, a, "sync-items")
	if len(runs) != 2 || sink.count() != 2 {
		t.Fatalf("after a second change: %d runs, %d writes; want 2 and 2", len(runs), sink.count())
	}
	waitFor(t, "both runs to succeed", 5*time.Second, func() bool {
		for _, r := range runsOf(t, a, "sync-items") {
			if r.Status != store.RunSucceeded {
				return false
			}
		}
		return true
	})

	// The same content as patchbay's first write, coming after the person's
	// change, is a change again (someone reverted), not an echo.
	post(t, hook, "s3cret", map[string]any{"id": "42", "data": map[string]any{"title": "Trailer", "rating": 5}, "v": 3})
	defer func() {
		if t.Failed() {
			evs, _ := a.ListEvents(ctx, store.EventFilter{}, true)
			for _, e := range evs {
				t.Logf("event %s %s %s runs=%d %s %s", e.ID, e.Status, e.Object, e.Runs, e.Reason, e.Data)
			}
		}
	}()
	// Its echo repeats the first echo exactly, so the ingest takes it for a
	// duplicate delivery (recorded as such) before echo suppression looks.
	waitFor(t, "a third run for the revert, and its echo", 10*time.Second, func() bool {
		es, _ := a.AuditList(ctx, "sink:item/42", time.Time{}, 100)
		return len(runsOf(t, a, "sync-items")) == 3 && len(es) > 0 && es[len(es)-1].Kind == "event.duplicate"
	})
	time.Sleep(300 * time.Millisecond)
	if n := len(runsOf(t, a, "sync-items")); n != 3 || sink.count() != 3 {
		t.Fatalf("after the revert: %d runs, %d writes; want 3 and 3", n, sink.count())
	}

	// The audit trail shows the echoes, and the link group ties both sides.
	es, err := a.AuditList(ctx, "sink:item/42", time.Time{}, 100)
	must(t, err)
	kinds := map[string]int{}
	for _, e := range es {
		kinds[e.Kind]++
	}
	if kinds["event.echo"] != 2 || kinds["event.duplicate"] != 1 || kinds["write"] != 3 || kinds["event.received"] != 3 {
		t.Fatalf("audit of sink:item/42: %v", kinds)
	}
	grp, err := a.LinksFor(ctx, "origin:item/42")
	must(t, err)
	if grp == nil || len(grp.Sides) != 2 {
		t.Fatalf("link group = %+v", grp)
	}
	side, ok := grp.Side("sink:item/42")
	if !ok || side.Hash == "" || side.Run == "" {
		t.Fatalf("sink side = %+v", side)
	}
	rep, err := a.AuditVerify(ctx)
	must(t, err)
	if !rep.OK {
		t.Fatalf("verify: %+v", rep)
	}
}

const reviewFlow = `
name: review
connections:
  dam: { connector: http, connection: dam }
  out: { connector: http, connection: cms }
trigger:
  on: dam.webhook
steps:
  - id: route
    action: core.route
    input:
      facts:
        region: ${{ trigger.data.body.region }}
      rows:
        - { match: { region: EU }, process: legal_review }
        - { process: media_review }
  - id: gate
    if: ${{ trigger.data.body.status == "APPROVED" }}
    then:
      - id: publish
        action: out.request
        link: ${{ trigger.object }}
        input:
          method: PUT
          url: ${{ "/entries/" + trigger.object_id }}
          object: ${{ "contentstack:entry/video/" + trigger.object_id }}
          json:
            title: ${{ trigger.data.body.title }}
            process: ${{ steps.route.output.row.process }}
    else:
      - id: hold
        set: { held: true }
`

// TestAuditLsMultiRun: 'patchbay audit ls --object' lists every run's
// history for one asset in time order, with the objects each entry touched;
// 'audit verify' passes, and fails (exit 1) once an entry is edited.
func TestAuditLsMultiRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	a := startApp(t, dir)
	cms := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(cms.Close)
	must(t, a.PutConnection(ctx, "dam", "http", map[string]any{"webhook_secret": "d", "webhook_object": "asset_id",
		"webhook_object_type": "iconik:asset"}, "alice"))
	must(t, a.PutConnection(ctx, "cms", "http", map[string]any{"base_url": cms.URL, "allow": []any{"127.0.0.1"}}, "alice"))
	if _, err := a.ApplyFlow(ctx, "review.yaml", []byte(reviewFlow), "alice"); err != nil {
		t.Fatal(err)
	}
	hook := a.URL() + "/hooks/dam/webhook"
	for i, ev := range []map[string]any{
		{"asset_id": "A1", "region": "EU", "status": "PENDING", "title": "Trailer"},
		{"asset_id": "A1", "region": "EU", "status": "APPROVED", "title": "Trailer"},
		{"asset_id": "A1", "region": "US", "status": "APPROVED", "title": "Trailer v2"},
	} {
		post(t, hook, "d", ev)
		waitFor(t, fmt.Sprintf("run %d to end", i+1), 10*time.Second, func() bool {
			runs := runsOf(t, a, "review")
			return len(runs) == i+1 && store.RunDone(runs[i].Status)
		})
	}
	runs := runsOf(t, a, "review")

	var out, errb bytes.Buffer
	if code := cli.Main(ctx, []string{"--data", dir, "--json", "audit", "ls", "--object", "iconik:asset/A1"}, &out, &errb); code != 0 {
		t.Fatalf("audit ls: exit %d: %s", code, errb.String())
	}
	var es []*audit.Entry
	must(t, json.Unmarshal(out.Bytes(), &es))
	var got []string
	for i, e := range es {
		if i > 0 && !es[i-1].At.Before(e.At) && es[i-1].ID >= e.ID {
			t.Fatalf("entries out of order at %d", i)
		}
		if !contains(e.Objects, "iconik:asset/A1") {
			t.Fatalf("entry %s does not name the asset: %v", e.ID, e.Objects)
		}
		if e.Kind == "event.received" && e.Actor != "connection/dam" {
			t.Fatalf("event.received actor = %q, want the connection", e.Actor)
		}
		got = append(got, e.Kind+" "+strings.Join(e.Objects, ","))
	}
	entry := "contentstack:entry/video/A1"
	want := []string{
		"event.received iconik:asset/A1,run/" + runs[0].ID,
		"decision run/" + runs[0].ID + ",iconik:asset/A1", // route
		"decision run/" + runs[0].ID + ",iconik:asset/A1", // gate: else
		"run.ended run/" + runs[0].ID + ",iconik:asset/A1",
		"event.received iconik:asset/A1,run/" + runs[1].ID,
		"decision run/" + runs[1].ID + ",iconik:asset/A1",
		"decision run/" + runs[1].ID + ",iconik:asset/A1",
		"write " + entry + ",iconik:asset/A1,run/" + runs[1].ID,
		"run.ended run/" + runs[1].ID + ",iconik:asset/A1",
		"event.received iconik:asset/A1,run/" + runs[2].ID,
		"decision run/" + runs[2].ID + ",iconik:asset/A1",
		"decision run/" + runs[2].ID + ",iconik:asset/A1",
		"write " + entry + ",iconik:asset/A1,run/" + runs[2].ID,
		"run.ended run/" + runs[2].ID + ",iconik:asset/A1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("audit ls --object iconik:asset/A1:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The decisions say which branch and routing row were taken.
	var d map[string]any
	must(t, json.Unmarshal(es[1].Data, &d))
	if d["type"] != "route" || d["row"] != float64(0) {
		t.Fatalf("route decision = %s", es[1].Data)
	}
	must(t, json.Unmarshal(es[2].Data, &d))
	if d["branch"] != "else" {
		t.Fatalf("gate decision = %s", es[2].Data)
	}

	// The table view, the link, export and user actions.
	out.Reset()
	if code := cli.Main(ctx, []string{"--data", dir, "audit", "ls", "--object", "iconik:asset/A1"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "decision") || !strings.Contains(out.String(), "route route: chose row 0") {
		t.Fatalf("audit ls table (exit %d):\n%s", code, out.String())
	}
	out.Reset()
	if code := cli.Main(ctx, []string{"--data", dir, "link", "ls", "--object", "iconik:asset/A1"}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), entry) {
		t.Fatalf("link ls (exit %d):\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := cli.Main(ctx, []string{"--data", dir, "audit", "export", "--object", "run/" + runs[1].ID}, &out, &errb); code != 0 ||
		strings.Count(out.String(), "\n") != 5 { // started, two decisions, the write, ended
		t.Fatalf("audit export (exit %d):\n%s", code, out.String())
	}
	// Flows and connections are actors: their history is what users did
	// to them (the events and runs are under the assets and runs).
	es, err := a.AuditList(ctx, "flow/review", time.Time{}, 100)
	must(t, err)
	if len(es) != 1 || es[0].Kind != "user.flow.apply" {
		t.Fatalf("flow/review history: %d entries, first %+v", len(es), es[0])
	}
	es, err = a.AuditList(ctx, "connection/dam", time.Time{}, 100)
	must(t, err)
	if len(es) != 1 || es[0].Kind != "user.connection.put" || es[0].Actor != "alice" {
		t.Fatalf("connection/dam history: %d entries, first %+v", len(es), es[0])
	}

	// The running app indexes what was appended (ADR 0006): soon every
	// entry has its object references, which verify checks one by one.
	waitFor(t, "the object index to catch up", 10*time.Second, func() bool {
		rep, err := a.AuditVerify(ctx)
		must(t, err)
		return rep.OK && rep.Unindexed == 0 && rep.Entries > 0
	})

	// Verify passes, then an edited entry makes it fail with exit 1.
	out.Reset()
	if code := cli.Main(ctx, []string{"--data", dir, "audit", "verify"}, &out, &errb); code != 0 {
		t.Fatalf("audit verify: exit %d: %s", code, out.String())
	}
	must(t, a.Store.Tx(ctx, func(tx store.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE pb_audit_blocks SET entries = REPLACE(entries, '"branch":"else"', '"branch":"then"')`)
		return err
	}))
	out.Reset()
	if code := cli.Main(ctx, []string{"--data", dir, "audit", "verify"}, &out, &errb); code != 1 || !strings.Contains(out.String(), "edited") {
		t.Fatalf("audit verify after an edit: exit %d: %s", code, out.String())
	}

	// The HTTP API offers the same.
	req, _ := http.NewRequest("GET", a.URL()+"/api/v1/audit?object=iconik:asset/A1", nil)
	req.Header.Set("Authorization", "Bearer t")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	var api []audit.Entry
	must(t, json.NewDecoder(resp.Body).Decode(&api))
	if resp.StatusCode != 200 || len(api) != len(want) {
		t.Fatalf("GET /api/v1/audit: %d, %d entries", resp.StatusCode, len(api))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const approvalFlow = `
name: approval
connections:
  dam: { connector: http, connection: dam }
trigger:
  on: dam.webhook
  filter: ${{ trigger.data.body.kind == "asset" }}
steps:
  - id: review
    wait:
      for: dam.webhook
      key: ${{ trigger.object }}
      match: ${{ event.data.body.kind == "review" }}
      timeout: 1h
  - id: result
    if: ${{ steps.review.output.data.body.outcome == "approved" }}
    then:
      - id: ok
        set:
          approved: true
`

// TestWaitOutcome: a gate held and released, and who decided, are in the
// asset's history.
func TestWaitOutcome(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := startApp(t, t.TempDir())
	must(t, a.PutConnection(ctx, "dam", "http", map[string]any{"webhook_secret": "d", "webhook_object": "asset_id",
		"webhook_object_type": "iconik:asset"}, "test"))
	if _, err := a.ApplyFlow(ctx, "approval.yaml", []byte(approvalFlow), "test"); err != nil {
		t.Fatal(err)
	}
	hook := a.URL() + "/hooks/dam/webhook"
	post(t, hook, "d", map[string]any{"kind": "asset", "asset_id": "A9"})
	waitFor(t, "the run to wait", 10*time.Second, func() bool {
		runs := runsOf(t, a, "approval")
		return len(runs) == 1 && runs[0].Status == store.RunWaiting
	})
	post(t, hook, "d", map[string]any{"kind": "review", "asset_id": "A9", "reviewer": "bob@example.com", "outcome": "approved",
		"token": "not-for-the-audit"})
	waitFor(t, "the run to succeed", 10*time.Second, func() bool {
		runs := runsOf(t, a, "approval")
		return len(runs) == 1 && runs[0].Status == store.RunSucceeded
	})
	es, err := a.AuditList(ctx, "iconik:asset/A9", time.Time{}, 100)
	must(t, err)
	var kinds []string
	for _, e := range es {
		kinds = append(kinds, e.Kind)
		if strings.Contains(string(e.Data), "not-for-the-audit") {
			t.Fatalf("event body copied into the audit: %s", e.Data)
		}
	}
	want := "event.received wait.held event.received outcome wait.released decision run.ended"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("history of iconik:asset/A9: %v; want %s", kinds, want)
	}
	outcome := es[3]
	var d map[string]any
	must(t, json.Unmarshal(outcome.Data, &d))
	if outcome.Actor != "bob@example.com" || d["outcome"] != "approved" || !strings.Contains(outcome.Summary, "approved by bob@example.com") {
		t.Fatalf("outcome entry = %+v %s", outcome, outcome.Data)
	}
}

// The writer opts into echoes too: it must still not be restarted by its own
// write (the loop trigger.echoes must never open).
var syncEchoesFlow = strings.Replace(syncFlow, "  on: hook.webhook\n", "  on: hook.webhook\n  echoes: true\n", 1)

const chainedFlow = `
name: chained
connections:
  hook: { connector: http, connection: in }
trigger:
  on: hook.webhook
  echoes: true
steps:
  - id: note
    set:
      seen: ${{ trigger.data.body.changed_by ?? "person" }}
`

const plainFlow = `
name: plain
connections:
  hook: { connector: http, connection: in }
trigger:
  on: hook.webhook
steps:
  - id: note
    set: { seen: true }
`

const waiterFlow = `
name: waiter
connections:
  hook: { connector: http, connection: in }
trigger:
  on: manual
steps:
  - id: change
    wait: { for: hook.webhook, key: "sink:item/42", timeout: 1h }
`

// TestEchoesChainFlows: an echo of patchbay's own write starts the flows
// whose trigger sets echoes: true (chaining one flow after another flow's
// write) but never the flow that wrote, nor flows that did not ask; and it
// resumes a run waiting for a change of the object, whoever made it.
func TestEchoesChainFlows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, sink, hook := startEchoing(t)
	if !strings.Contains(syncEchoesFlow, "echoes: true") {
		t.Fatal("syncEchoesFlow does not opt into echoes")
	}
	for name, src := range map[string]string{"sync.yaml": syncEchoesFlow, "chained.yaml": chainedFlow, "plain.yaml": plainFlow, "waiter.yaml": waiterFlow} {
		if _, err := a.ApplyFlow(ctx, name, []byte(src), "test"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// The sink holds its echo until the second waiter has parked.
	release := make(chan struct{})
	var once sync.Once
	releaseEcho := func() { once.Do(func() { close(release) }) }
	t.Cleanup(releaseEcho) // before sink.wg.Wait, should the test fail first
	sink.mu.Lock()
	sink.hold = release
	sink.mu.Unlock()
	waiter, err := a.StartRun(ctx, "waiter", nil)
	must(t, err)
	waitFor(t, "the waiter to park", 10*time.Second, func() bool {
		r, err := a.GetRun(ctx, waiter)
		return err == nil && r.Status == store.RunWaiting
	})
	// Park a second waiter after the person's change, so only the echo can
	// resume it.
	post(t, hook, "s3cret", map[string]any{"id": "42", "data": map[string]any{"title": "Trailer"}})
	waitFor(t, "the first waiter to resume", 10*time.Second, func() bool {
		r, err := a.GetRun(ctx, waiter)
		return err == nil && r.Status == store.RunSucceeded
	})
	late, err := a.StartRun(ctx, "waiter", nil)
	must(t, err)
	waitFor(t, "the second waiter to park", 10*time.Second, func() bool {
		r, err := a.GetRun(ctx, late)
		return err == nil && r.Status == store.RunWaiting
	})
	releaseEcho()
	sink.wg.Wait() // the write happened and its echo was delivered
	waitFor(t, "the echo", 10*time.Second, func() bool {
		evs, err := a.ListEvents(ctx, store.EventFilter{Status: store.EventEcho, Object: "sink:item/42"}, false)
		must(t, err)
		return len(evs) == 1
	})
	waitFor(t, "the echo to resume the second waiter", 10*time.Second, func() bool {
		r, err := a.GetRun(ctx, late)
		return err == nil && r.Status == store.RunSucceeded
	})
	time.Sleep(300 * time.Millisecond) // room for a loop to show itself
	got := map[string]int{}
	for _, f := range []string{"sync-items", "chained", "plain"} {
		got[f] = len(runsOf(t, a, f))
	}
	// chained: the person's change and the echo; the writer and plain: the change only.
	if got["sync-items"] != 1 || got["chained"] != 2 || got["plain"] != 1 || sink.count() != 1 {
		t.Fatalf("runs %v, %d writes to the sink; want sync-items 1, chained 2, plain 1 and 1 write", got, sink.count())
	}
	evs, err := a.ListEvents(ctx, store.EventFilter{Status: store.EventEcho, Object: "sink:item/42"}, false)
	must(t, err)
	if evs[0].Runs != 1 {
		t.Errorf("the echo event records %d runs started; want 1 (chained)", evs[0].Runs)
	}
}
