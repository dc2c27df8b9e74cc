package contentstack

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app"
	"github.com/patchbay/patchbay/internal/app/apptest"
	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/connectortest"
	"github.com/patchbay/patchbay/internal/sandbox/kit"
	"github.com/patchbay/patchbay/internal/store"
)

// End-to-end tests: a real patchbay (app.Open on SQLite) with a
// contentstack connection to the sandbox.

func startApp(t *testing.T) *app.App { return apptest.Start(t, app.Config{}) }

var waitFor = apptest.WaitFor

const eventsFlow = `
name: cms-video-changes
connections:
  cms: { connector: contentstack, connection: cms }
trigger:
  on: cms.entry_events
  config: { content_types: [video] }
  filter: ${{ event.data.content_type == "video" }}
steps:
  - id: seen
    set:
      uid: ${{ trigger.object_id }}
      type: ${{ trigger.type }}
`

// A delivery whose signature does not verify is rejected with 401 through
// the real ingest, recorded as a rejected event with the reason, and
// starts no run; a good one starts a run.
func TestEndToEndBadSignatureIsRejected(t *testing.T) {
	e := newEnv(t, fastSandbox())
	a := startApp(t)
	ctx := context.Background()
	if err := a.PutConnection(ctx, "cms", Name, e.values(nil), "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyFlow(ctx, "flow.yaml", []byte(eventsFlow), "test"); err != nil {
		t.Fatal(err)
	}
	conn, _, err := a.Conns.Get(ctx, "cms")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := conn.(connector.Setupper).Setup(ctx, &connector.SetupRequest{HookURL: a.URL() + "/hooks/cms/"})
	if err != nil || len(rep.Changes) != 1 {
		t.Fatalf("setup: %v %v", rep, err)
	}
	uid := e.uid("video", "Product Walkthrough")

	e.s.BadSignatures(1) // the sandbox's helper: the next delivery is signed wrongly
	if _, err := e.s.Editor().UpdateEntry("video", uid, "", map[string]any{"captions": "tampered in transit"}); err != nil {
		t.Fatal(err)
	}
	e.flush()
	var statuses []int
	for _, d := range e.s.Kit().Webhooks.Log() {
		statuses = append(statuses, d.Status)
	}
	if len(statuses) == 0 || statuses[0] != http.StatusUnauthorized {
		t.Fatalf("delivery statuses %v, want 401 first", statuses)
	}
	rejected, err := a.ListEvents(ctx, store.EventFilter{Status: store.EventRejected}, false)
	if err != nil || len(rejected) == 0 {
		t.Fatalf("rejected events %v %v", rejected, err)
	}
	for _, ev := range rejected {
		if ev.Source != "cms" || ev.Trigger != "entry_events" || !strings.Contains(ev.Reason, "signature") {
			t.Errorf("rejected event %+v", ev)
		}
	}
	runs, _ := a.ListRuns(ctx, store.RunFilter{Flow: "cms-video-changes"})
	if len(runs) != 0 {
		t.Fatalf("a bad signature started %d runs", len(runs))
	}
	t.Logf("bad signature: %d deliveries answered %v, %d rejected events, reason %q", len(statuses), statuses, len(rejected), rejected[0].Reason)

	// A correctly signed change starts one run.
	e.s.Kit().Webhooks.Reset()
	if _, err := e.s.Editor().UpdateEntry("video", uid, "", map[string]any{"captions": "by a person"}); err != nil {
		t.Fatal(err)
	}
	e.flush()
	waitFor(t, "a run for the good delivery", 10*time.Second, func() bool {
		runs, _ = a.ListRuns(ctx, store.RunFilter{Flow: "cms-video-changes"})
		return len(runs) == 1 && runs[0].Status == store.RunSucceeded
	})
	d, _ := a.GetRun(ctx, runs[0].ID)
	var o map[string]any
	_ = json.Unmarshal(d.Steps[len(d.Steps)-1].Output, &o)
	if o["uid"] != uid || o["type"] != EventUpdated {
		t.Errorf("run saw %v", o)
	}
}

const upsertFlow = `
name: video-upsert
params:
  asset: { type: string, default: A1 }
connections:
  cms: { connector: contentstack, connection: cms }
trigger:
  on: manual
steps:
  - id: entry
    action: cms.upsert_entry
    link: ${{ "iconik:asset/" + params.asset }}
    retry: { attempts: 3, delay: 100ms }
    input:
      content_type: video
      match: iconik_asset_id
      fields:
        title: ${{ "Video " + params.asset }}
        iconik_asset_id: ${{ params.asset }}
        rights.rights_status: Cleared
        iconik_assets:
          - id: ${{ params.asset }}
            title: ${{ "Video " + params.asset }}
            type: video
  - id: publish
    action: cms.publish_entry
    input:
      entry: ${{ steps.entry.output.object }}
      environments: [production]
`

// A storm of 429s while the upsert step runs costs time, not the run: some
// are waited out in the connector, the rest delay the step without using
// an attempt. No step fails; a second run updates the same entry.
func TestEndToEndStorm429DuringUpsert(t *testing.T) {
	o := fastSandbox()
	o.TimeScale = 0.01
	e := newEnv(t, o)
	a := startApp(t)
	ctx := context.Background()
	// A short wait budget so part of the storm reaches the engine as rate_limited.
	if err := a.PutConnection(ctx, "cms", Name, e.values(map[string]any{"rate_limit_backoff": "20ms", "rate_limit_wait": "100ms"}), "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyFlow(ctx, "flow.yaml", []byte(upsertFlow), "test"); err != nil {
		t.Fatal(err)
	}
	e.s.Kit().Calls.Reset()
	e.s.Kit().Faults.Update(func(f *kit.FaultConfig) { f.Storm429 = 15 })
	start := time.Now()
	runID, err := a.StartRun(ctx, "video-upsert", map[string]any{"asset": "A1"})
	if err != nil {
		t.Fatal(err)
	}
	var d *app.RunDetail
	deadline := time.Now().Add(60 * time.Second)
	for {
		d, _ = a.GetRun(ctx, runID)
		if d != nil && (d.Status == store.RunSucceeded || d.Status == store.RunFailed) {
			break
		}
		if time.Now().After(deadline) {
			for _, c := range e.s.Kit().Calls.List("/v3/") {
				t.Logf("call %s %s %s -> %d", c.Time.Format("15:04:05.000"), c.Method, c.Path, c.Status)
			}
			for _, st := range d.Steps {
				t.Logf("step %s %s %s %s", st.StartedAt.Format("15:04:05.000"), st.Step, st.Status, st.Error)
			}
			t.Fatalf("the run did not end: %s", d.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d.Status != store.RunSucceeded {
		t.Fatalf("run %s: %+v", d.Status, d.Error)
	}
	delayed := 0
	for _, s := range d.Steps {
		switch s.Status {
		case store.StepFailed, store.StepRetrying:
			t.Errorf("step %s attempt %d %s: %s", s.Step, s.Attempt, s.Status, s.Error)
		case store.StepDelayed:
			delayed++
		}
	}
	n429 := 0
	for _, c := range e.s.Kit().Calls.List("/v3/") {
		if c.Status == http.StatusTooManyRequests {
			n429++
		}
	}
	if n429 != 15 {
		t.Errorf("the sandbox answered %d 429s, want the whole storm of 15", n429)
	}
	uid, ok := e.s.FindEntry("video", "iconik_asset_id", "A1")
	if !ok {
		t.Fatal("no entry")
	}
	if v, ok := e.s.IsPublished("video", uid, "production", "en-us"); !ok || v != 1 {
		t.Errorf("published %v v%d", ok, v)
	}
	t.Logf("429 storm: %d 429s absorbed, %d step delays by the engine, no failed step, run took %v", n429, delayed, time.Since(start).Round(time.Millisecond))

	// Second run: the same entry is found and nothing is created twice.
	runID, err = a.StartRun(ctx, "video-upsert", map[string]any{"asset": "A1"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second run", 30*time.Second, func() bool {
		d, _ = a.GetRun(ctx, runID)
		return d != nil && d.Status == store.RunSucceeded
	})
	var out map[string]any
	for _, s := range d.Steps {
		if s.Step == "entry" && s.Status == store.StepSucceeded {
			_ = json.Unmarshal(s.Output, &out)
		}
	}
	if out["created"] != false || out["uid"] != uid {
		t.Errorf("second run upsert output %v", out)
	}
	t.Logf("second run: the upsert found the entry by %v", out["matched_by"])
	if n := len(e.s.EntryUIDs("video")); n != 4 {
		t.Errorf("%d video entries after two runs, want 4", n)
	}
}

// A flow that reacts to entry changes by writing to the same entry: the
// webhook of its own write must not start it again.
const echoFlow = `
name: cms-caption-check
connections:
  cms: { connector: contentstack, connection: cms }
trigger:
  on: cms.entry_events
  config: { content_types: [video] }
  filter: ${{ event.type == "entry.updated" }}
steps:
  - id: note
    action: cms.update_entry
    input:
      content_type: video
      entry: ${{ trigger.object_id }}
      fields:
        description: >-
          ${{ "captions checked: " + string(trigger.data.entry.captions ?? "") }}
`

// A write patchbay made, returning as a signed webhook, is recognised as an
// echo (the entry version and content hash the write reported) and starts
// no flow; a person's next change starts one again.
func TestEndToEndEchoStartsNoFlow(t *testing.T) {
	e := newEnv(t, fastSandbox())
	a := startApp(t)
	ctx := context.Background()
	if err := a.PutConnection(ctx, "cms", Name, e.values(nil), "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ApplyFlow(ctx, "flow.yaml", []byte(echoFlow), "test"); err != nil {
		t.Fatal(err)
	}
	conn, _, err := a.Conns.Get(ctx, "cms")
	if err != nil {
		t.Fatal(err)
	}
	// Deliveries reach patchbay 1.5 s late, so the webhook of the flow's
	// write cannot overtake the commit of the step that made it.
	late := connectortest.DelayedProxy(t, a.URL(), 1500*time.Millisecond)
	if _, err := conn.(connector.Setupper).Setup(ctx, &connector.SetupRequest{HookURL: late + "/hooks/cms/"}); err != nil {
		t.Fatal(err)
	}
	uid := e.uid("video", "Product Walkthrough")
	object := "contentstack:entry/video/" + uid
	runs := func() []app.RunInfo {
		rs, err := a.ListRuns(ctx, store.RunFilter{Flow: "cms-caption-check"})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	echoes := func() []app.EventInfo {
		evs, err := a.ListEvents(ctx, store.EventFilter{Status: store.EventEcho, Object: object}, false)
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	for i, captions := range []string{"English, French", "English, French, German"} {
		if _, err := e.s.Editor().UpdateEntry("video", uid, "", map[string]any{"captions": captions}); err != nil {
			t.Fatal(err)
		}
		e.flush()
		waitFor(t, "the run for the person's change", 30*time.Second, func() bool {
			rs := runs()
			return len(rs) == i+1 && rs[0].Status == store.RunSucceeded
		})
		e.flush() // the webhook of patchbay's write is delivered
		waitFor(t, "the echo of the write", 30*time.Second, func() bool { return len(echoes()) == i+1 })
		time.Sleep(200 * time.Millisecond) // room for a looping run to show itself
		if n := len(runs()); n != i+1 {
			t.Fatalf("after %d change(s) by a person the flow ran %d times: its own write started it", i+1, n)
		}
		if es, _ := e.s.Entry("video", uid, ""); es.Fields["description"] != "captions checked: "+captions {
			t.Errorf("description %v", es.Fields["description"])
		}
	}
	ev := echoes()[0]
	if ev.Type != EventUpdated || !strings.Contains(ev.Reason, "patchbay wrote") {
		t.Errorf("echo event %+v", ev)
	}
	t.Logf("2 changes by a person, 2 runs, 2 writes, 2 echoes recognised (%s)", ev.Reason)
}
