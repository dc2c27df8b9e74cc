package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/ingest"
	"github.com/patchbay/patchbay/internal/store"
)

func ingestBatch(source, trigger string, evs []connector.Event) *ingest.Batch {
	return &ingest.Batch{Source: source, Trigger: trigger, Events: evs}
}

var ctx = context.Background()

func TestRetryBackoffKeepsTheIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: retry
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: a
    action: f.do
    retry: { attempts: 3, delay: 10ms }
    input: { name: a }
`)
	e.fake.fail("a", fault.E(fault.Transient, "boom 1"), fault.E(fault.Transient, "boom 2"))
	d := e.waitRun(e.start("retry", nil), store.RunSucceeded, 10*time.Second)
	if got := stepsWith(d, "a", store.StepRetrying); got != 2 {
		t.Fatalf("retrying records = %d, want 2\n%s", got, dumpSteps(d))
	}
	calls := e.fake.callsOf("a")
	if len(calls) != 3 {
		t.Fatalf("calls = %d, want 3", len(calls))
	}
	for _, c := range calls {
		if c.Key != calls[0].Key || c.Key == "" {
			t.Fatalf("idempotency keys differ across attempts: %v", calls)
		}
	}
}

func TestRetriesExhaustedFailTheRun(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: exhaust
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: a
    action: f.do
    retry: { attempts: 2, delay: 10ms }
    input: { name: a }
`)
	e.fake.fail("a", fault.E(fault.Transient, "x"), fault.E(fault.Transient, "y"), fault.E(fault.Transient, "z"))
	d := e.waitRun(e.start("exhaust", nil), store.RunFailed, 10*time.Second)
	if d.Error == nil || d.Error.Step != "a" || d.Error.Kind != "transient" {
		t.Fatalf("error = %+v", d.Error)
	}
	if n := len(e.fake.callsOf("a")); n != 2 {
		t.Fatalf("calls = %d, want 2", n)
	}
}

func TestNonIdempotentActionNotRetriedAfterAmbiguousFailure(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: post
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: p
    action: f.post
    retry: { attempts: 3, delay: 10ms }
    input: { name: p }
  - id: q
    action: f.post
    retry: { attempts: 3, delay: 10ms, unsafe: true }
    input: { name: q }
`)
	e.fake.fail("p", fault.E(fault.Transient, "reset after send"))
	d := e.waitRun(e.start("post", nil), store.RunFailed, 10*time.Second)
	if n := len(e.fake.callsOf("p")); n != 1 {
		t.Fatalf("ambiguous failure of a non-idempotent action retried: %d calls", n)
	}
	// Nothing applied (Safe) is retried even for a non-idempotent action, and
	// unsafe: true retries regardless.
	e.fake.fail("p", fault.Safe(fault.E(fault.Transient, "connection refused")))
	e.fake.fail("q", fault.E(fault.Transient, "reset after send"))
	if err := e.a.RetryRun(ctx, d.ID, "", nil, "test"); err != nil {
		t.Fatal(err)
	}
	e.waitRun(d.ID, store.RunSucceeded, 10*time.Second)
	if n := len(e.fake.callsOf("q")); n != 2 {
		t.Fatalf("unsafe retry: %d calls, want 2", n)
	}
}

func TestRateLimitDelaysNotFails(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: limited
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: a
    action: f.do
    retry: { attempts: 1 }
    input: { name: a }
`)
	for range 5 {
		e.fake.fail("a", fault.E(fault.RateLimited, "429", 30*time.Millisecond))
	}
	d := e.waitRun(e.start("limited", nil), store.RunSucceeded, 10*time.Second)
	if got := stepsWith(d, "a", store.StepDelayed); got != 5 {
		t.Fatalf("delayed records = %d, want 5\n%s", got, dumpSteps(d))
	}
	calls := e.fake.callsOf("a")
	if len(calls) != 6 {
		t.Fatalf("calls = %d, want 6", len(calls))
	}
	if gap := calls[1].At.Sub(calls[0].At); gap < 25*time.Millisecond {
		t.Fatalf("retry came %v after a 30ms Retry-After", gap)
	}
}

func TestLongDelayReleasesTheWorker(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: long-delay
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: a
    action: f.do
    input: { name: a }
`)
	// A Retry-After beyond HoldMax (2s) schedules the run instead of sleeping in the worker.
	e.fake.fail("a", fault.E(fault.RateLimited, "429", 8*time.Second))
	id := e.start("long-delay", nil)
	// Wait (on a slow machine the first attempt may take a while) until the
	// step has been delayed, then look at the queue.
	var stats map[string]int
	deadline := time.Now().Add(6 * time.Second)
	for {
		var err error
		if stats, err = e.a.Queue.Stats(ctx); err != nil {
			t.Fatal(err)
		}
		if (stats["scheduled"] == 1 && stats["running"] == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if stats["running"] != 0 || stats["scheduled"] != 1 {
		t.Fatalf("queue %v: the delayed run should hold no worker and have one scheduled job", stats)
	}
	e.waitRun(id, store.RunSucceeded, 20*time.Second)
}

func TestControlStepsAndExpressions(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: control
trigger: { on: manual }
params:
  region: { type: string, default: EU }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: vars
    set: { n: 3, who: "${{ upper(params.region) }}" }
  - id: check
    if: ${{ vars.n > 2 }}
    then:
      - id: big
        action: f.do
        input: { name: big, value: "${{ vars.who }}" }
    else:
      - id: small
        action: f.do
        input: { name: small }
  - id: route
    switch: ${{ params.region }}
    cases:
      - value: US
        steps: [ { id: us, action: f.do, input: { name: us } } ]
      - when: ${{ params.region in ["EU", "UK"] }}
        steps: [ { id: eu, action: f.do, input: { name: eu, value: "${{ steps.big.output.value }}" } } ]
    default:
      - { id: other, action: f.do, input: { name: other } }
  - id: skipped
    when: ${{ false }}
    action: f.do
    input: { name: never }
output: '${{ {"eu": steps.eu.output.value, "skipped": steps.skipped.status} }}'
`)
	d := e.waitRun(e.start("control", nil), store.RunSucceeded, 10*time.Second)
	if len(e.fake.callsOf("small")) != 0 || len(e.fake.callsOf("us")) != 0 || len(e.fake.callsOf("never")) != 0 {
		t.Fatalf("a branch not taken ran\n%s", dumpSteps(d))
	}
	var out map[string]any
	_ = json.Unmarshal(d.Output, &out)
	if out["eu"] != "EU" || out["skipped"] != "skipped" {
		t.Fatalf("output = %s", d.Output)
	}
}

func TestWaitResumesOnMatchingEventOnly(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: waiter
trigger: { on: manual }
params:
  order: { type: string, required: true }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: w
    wait:
      for: f.events
      key: ${{ "order:" + params.order }}
      match: ${{ event.data.state == "paid" }}
  - id: after
    action: f.do
    input: { name: "${{ 'after-' + params.order }}", value: "${{ steps.w.output.data.amount }}" }
`)
	id := e.start("waiter", map[string]any{"order": "o1"})
	e.waitRun(id, store.RunWaiting, 10*time.Second)
	e.send(connector.Event{ID: "e1", Type: "order.updated", Object: "order:o2", Data: map[string]any{"state": "paid"}})
	e.send(connector.Event{ID: "e2", Type: "order.updated", Object: "order:o1", Data: map[string]any{"state": "open"}})
	time.Sleep(300 * time.Millisecond)
	if r, _ := e.a.GetRun(ctx, id); r.Status != store.RunWaiting {
		t.Fatalf("resumed by a non-matching event: %s", r.Status)
	}
	e.send(connector.Event{ID: "e3", Type: "order.updated", Object: "order:o1", Data: map[string]any{"state": "paid", "amount": 42}})
	e.waitRun(id, store.RunSucceeded, 10*time.Second)
	calls := e.fake.callsOf("after-o1")
	if len(calls) != 1 {
		t.Fatalf("after calls = %d", len(calls))
	}
	// A replay of the matching event resumes nothing more.
	e.send(connector.Event{ID: "e3", Type: "order.updated", Object: "order:o1", Data: map[string]any{"state": "paid", "amount": 42}})
	time.Sleep(200 * time.Millisecond)
	if len(e.fake.callsOf("after-o1")) != 1 {
		t.Fatal("replayed event ran the step again")
	}
}

func TestWaitTimeoutContinuesOrFails(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: timeouts
trigger: { on: manual }
params:
  mode: { type: string, default: continue }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: w
    wait: { for: f.events, key: never, timeout: 1s, on_timeout: continue }
  - id: w2
    when: ${{ params.mode == "fail" }}
    wait: { for: f.events, key: never2, timeout: 1s }
  - id: done
    action: f.do
    input: { name: "${{ 'done-' + params.mode }}", value: "${{ steps.w.output.timed_out }}" }
`)
	ok := e.start("timeouts", nil)
	bad := e.start("timeouts", map[string]any{"mode": "fail"})
	// River's scheduler moves scheduled jobs every few seconds.
	e.waitRun(ok, store.RunSucceeded, 30*time.Second)
	d := e.waitRun(bad, store.RunFailed, 30*time.Second)
	if d.Error == nil || d.Error.Step != "w2" {
		t.Fatalf("error = %+v", d.Error)
	}
	if c := e.fake.callsOf("done-continue"); len(c) != 1 {
		t.Fatalf("continue path calls = %d", len(c))
	}
	waits, _ := e.a.Store.CountWaits(ctx, e.a.Store.Reader())
	if waits != 0 {
		t.Fatalf("%d wait rows left after timeouts", waits)
	}
}

func TestSleepParksAndWakes(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: sleeper
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: nap
    sleep: 1s
  - id: after
    action: f.do
    input: { name: after-nap }
`)
	start := time.Now()
	id := e.start("sleeper", nil)
	e.waitRun(id, store.RunWaiting, 5*time.Second)
	e.waitRun(id, store.RunSucceeded, 30*time.Second)
	if time.Since(start) < time.Second {
		t.Fatal("woke before the sleep ended")
	}
}

func TestForeachConcurrencyAndCollect(t *testing.T) {
	e := newEnv(t)
	e.fake.slow = 50 * time.Millisecond
	e.apply(`
name: fan
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: each
    foreach: ${{ ["a", "b", "c", "d", "e"] }}
    as: letter
    concurrency: 2
    do:
      - id: touch
        action: f.do
        input: { name: "${{ 'item-' + letter }}", value: "${{ index }}" }
    collect: ${{ upper(letter) + string(steps.touch.output.value) }}
  - id: after
    action: f.do
    input: { name: after, value: "${{ join(steps.each.output, ',') }}" }
`)
	d := e.waitRun(e.start("fan", nil), store.RunSucceeded, 20*time.Second)
	if len(d.Children) != 5 {
		t.Fatalf("children = %d", len(d.Children))
	}
	after := e.fake.callsOf("after")
	if len(after) != 1 {
		t.Fatalf("after calls = %d", len(after))
	}
	var out map[string]any
	for _, s := range d.Steps {
		if s.Step == "after" && s.Status == store.StepSucceeded {
			_ = json.Unmarshal(s.Output, &out)
		}
	}
	if out["value"] != "A0,B1,C2,D3,E4" {
		t.Fatalf("collected = %v", out["value"])
	}
	if m := e.fake.maxConc.Load(); m > 2 {
		t.Fatalf("max concurrent calls = %d, want ≤ 2", m)
	}
	// Each item has its own idempotency key.
	keys := map[string]bool{}
	for _, l := range []string{"a", "b", "c", "d", "e"} {
		keys[e.fake.callsOf("item-" + l)[0].Key] = true
	}
	if len(keys) != 5 {
		t.Fatalf("foreach items share idempotency keys: %v", keys)
	}
}

func TestCallAnotherFlow(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: child
trigger: { on: manual }
params:
  x: { type: int, required: true }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: c
    action: f.do
    input: { name: child, value: "${{ params.x * 2 }}" }
output: ${{ steps.c.output.value }}
`)
	e.apply(`
name: parent
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: sub
    call: child
    input: { x: 21 }
  - id: after
    action: f.do
    input: { name: parent-after, value: "${{ steps.sub.output }}" }
`)
	d := e.waitRun(e.start("parent", nil), store.RunSucceeded, 20*time.Second)
	if len(d.Children) != 1 || d.Children[0].Status != store.RunSucceeded {
		t.Fatalf("children = %+v", d.Children)
	}
	calls := e.fake.callsOf("parent-after")
	if len(calls) != 1 {
		t.Fatalf("calls = %d", len(calls))
	}
	var steps map[string]any
	for _, s := range d.Steps {
		if s.Step == "after" && s.Status == store.StepSucceeded {
			_ = json.Unmarshal(s.Output, &steps)
		}
	}
	if fmt.Sprint(steps["value"]) != "42" {
		t.Fatalf("call output = %v", steps["value"])
	}
}

func TestCancelWaitingRun(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: cancel-me
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: w
    wait: { for: f.events, key: k1 }
  - id: after
    action: f.do
    input: { name: after-cancel }
`)
	id := e.start("cancel-me", nil)
	e.waitRun(id, store.RunWaiting, 10*time.Second)
	if err := e.a.CancelRun(ctx, id, "", "test"); err != nil {
		t.Fatal(err)
	}
	d := e.waitRun(id, store.RunCancelled, 5*time.Second)
	if len(d.Waits) != 0 {
		t.Fatalf("waits left: %v", d.Waits)
	}
	e.send(connector.Event{ID: "late", Type: "x", Object: "k1"})
	time.Sleep(300 * time.Millisecond)
	if len(e.fake.callsOf("after-cancel")) != 0 {
		t.Fatal("a cancelled run resumed")
	}
	if err := e.a.CancelRun(ctx, id, "", "test"); !fault.Is(err, fault.Conflict) {
		t.Fatalf("cancelling twice: err = %v, want conflict", err)
	}
}

func TestCancelInterruptsRunningStep(t *testing.T) {
	e := newEnv(t)
	e.fake.slow = 10 * time.Second
	e.apply(`
name: slow
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: s
    action: f.do
    timeout: 30s
    input: { name: slow }
`)
	id := e.start("slow", nil)
	deadline := time.Now().Add(5 * time.Second)
	for len(e.fake.callsOf("slow")) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if err := e.a.CancelRun(ctx, id, "operator", "test"); err != nil {
		t.Fatal(err)
	}
	e.waitRun(id, store.RunCancelled, 5*time.Second)
	time.Sleep(100 * time.Millisecond)
	if e.fake.inflight.Load() != 0 {
		t.Fatalf("the step is still in flight %v after cancel", time.Since(start))
	}
}

func TestRetryFromFailedStepWithEditedInput(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: fix-me
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: first
    action: f.do
    input: { name: first }
  - id: bad
    action: f.do
    input: { name: bad, value: wrong }
  - id: last
    action: f.do
    input: { name: last, value: "${{ steps.bad.output.value }}" }
`)
	e.fake.fail("bad", fault.E(fault.Invalid, "value wrong is not allowed"))
	d := e.waitRun(e.start("fix-me", nil), store.RunFailed, 10*time.Second)
	if d.Error.Step != "bad" || d.Error.Kind != "invalid" {
		t.Fatalf("error = %+v", d.Error)
	}
	if err := e.a.RetryRun(ctx, d.ID, "", map[string]any{"name": "bad", "value": "right"}, "test"); err != nil {
		t.Fatal(err)
	}
	d = e.waitRun(d.ID, store.RunSucceeded, 10*time.Second)
	if n := len(e.fake.callsOf("first")); n != 1 {
		t.Fatalf("retry re-ran the step before the failed one: %d calls", n)
	}
	bad := e.fake.callsOf("bad")
	if len(bad) != 2 || bad[0].Key == bad[1].Key {
		t.Fatalf("edited input must get a new idempotency key: %v", bad)
	}
	last := e.fake.callsOf("last")
	if len(last) != 1 {
		t.Fatalf("last calls = %d", len(last))
	}
	if d.Retries != 1 {
		t.Fatalf("retries = %d", d.Retries)
	}
	// From an earlier step.
	if err := e.a.RetryRun(ctx, d.ID, "first", nil, "test"); !fault.Is(err, fault.Conflict) {
		t.Fatalf("retrying a succeeded run: err = %v, want conflict", err)
	}
}

func TestLargeOutputsByReference(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: big
trigger: { on: manual }
params:
  size: { type: int, default: 200000 }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: produce
    action: f.do
    input: { name: produce, size: "${{ params.size }}" }
  - id: consume
    action: f.do
    input: { name: consume, value: "${{ len(steps.produce.output.blob) }}" }
`)
	d := e.waitRun(e.start("big", nil), store.RunSucceeded, 10*time.Second)
	run, _ := e.a.Store.GetRun(ctx, e.a.Store.Reader(), d.ID)
	if len(run.State) > 20_000 {
		t.Fatalf("run state is %d bytes: large output kept inline", len(run.State))
	}
	c := e.fake.callsOf("consume")
	if len(c) != 1 {
		t.Fatal("consume did not run")
	}
	var n int
	for _, s := range d.Steps {
		if s.Step == "consume" && s.Status == store.StepSucceeded {
			var out map[string]any
			_ = json.Unmarshal(s.Output, &out)
			n = int(out["value"].(float64))
		}
	}
	if n != 200000 {
		t.Fatalf("consume saw %d bytes", n)
	}
	// Over the cap: a clear failure.
	d = e.waitRun(e.start("big", map[string]any{"size": 2_000_000}), store.RunFailed, 10*time.Second)
	if d.Error.Kind != "too_large" {
		t.Fatalf("error = %+v", d.Error)
	}
}

func TestStaleJobIsNoop(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: once
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: a
    action: f.do
    input: { name: once }
`)
	id := e.start("once", nil)
	e.waitRun(id, store.RunSucceeded, 10*time.Second)
	// A second job for the same finished run, as a crash between the commit
	// and River's completion would leave, changes nothing.
	if err := e.a.Store.Tx(ctx, func(tx store.Tx) error {
		return e.a.Queue.Insert(ctx, tx, engineRunJob(id))
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(e.fake.callsOf("once")); n != 1 {
		t.Fatalf("calls = %d, want 1", n)
	}
}

func TestSecretsStayOutOfRunHistory(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: plain
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: a
    action: f.do
    input: { name: a }
`)
	d := e.waitRun(e.start("plain", nil), store.RunSucceeded, 10*time.Second)
	b, _ := json.Marshal(d)
	if json.Valid(b) && contains(string(b), "tok-SECRET") {
		t.Fatal("connection secret appears in the run detail")
	}
	info, _ := e.a.Conns.Describe(ctx, "fk")
	if info.Config["token"] != "***" {
		t.Fatalf("connection description shows the secret: %v", info.Config)
	}
}

func contains(s, sub string) bool { return len(sub) > 0 && len(s) >= len(sub) && indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestWaitingRunsHoldNoGoroutines parks 10,000 runs in a wait and checks
// that they hold rows, not goroutines or heap, then resumes every one with
// its correlated event.
func TestWaitingRunsHoldNoGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("parks 10,000 runs")
	}
	const n = 10_000
	e := newEnv(t)
	e.apply(`
name: parked
trigger: { on: f.events, filter: "${{ event.type == 'start' }}" }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: w
    wait: { for: f.events, key: "${{ 'done:' + string(trigger.data.k) }}" }
  - id: fin
    set: { got: "${{ steps.w.output.data.v }}" }
`)
	baseG, baseHeap := measure()
	for i := 0; i < n; i += 1000 {
		var evs []connector.Event
		for j := i; j < i+1000; j++ {
			evs = append(evs, connector.Event{ID: fmt.Sprintf("s%d", j), Type: "start", Data: map[string]any{"k": j}})
		}
		e.send(evs...)
	}
	// A hang guard, not a timing: under -race, beside the other packages'
	// tests on CI's two cores, parking takes 1.5 to over 3 minutes.
	waitCount(t, e, store.RunWaiting, n, 7*time.Minute)
	g, heap := measure()
	waits, _ := e.a.Store.CountWaits(ctx, e.a.Store.Reader())
	t.Logf("%d runs parked: goroutines %d → %d, heap %.1f → %.1f MiB, wait rows %d", n, baseG, g, mb(baseHeap), mb(heap), waits)
	if waits != n {
		t.Fatalf("wait rows = %d, want %d", waits, n)
	}
	if g > baseG+50 {
		t.Fatalf("goroutines grew from %d to %d with %d parked runs", baseG, g, n)
	}
	if heap > baseHeap+64<<20 {
		t.Fatalf("heap grew from %.1f to %.1f MiB with %d parked runs", mb(baseHeap), mb(heap), n)
	}
	for i := 0; i < n; i += 1000 {
		var evs []connector.Event
		for j := i; j < i+1000; j++ {
			evs = append(evs, connector.Event{ID: fmt.Sprintf("d%d", j), Type: "done", Object: fmt.Sprintf("done:%d", j), Data: map[string]any{"v": j}})
		}
		e.send(evs...)
	}
	waitCount(t, e, store.RunSucceeded, n, 7*time.Minute)
	if w, _ := e.a.Store.CountWaits(ctx, e.a.Store.Reader()); w != 0 {
		t.Fatalf("%d waits left", w)
	}
}

func waitCount(t *testing.T, e *env, status string, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c, err := e.a.Store.CountRuns(ctx, e.a.Store.Reader(), "")
		if err != nil {
			t.Fatal(err)
		}
		if c[status] == n {
			return
		}
		if c[store.RunFailed] > 0 {
			failed, _ := e.a.ListRuns(ctx, store.RunFilter{Status: store.RunFailed, Limit: 1})
			d, _ := e.a.GetRun(ctx, failed[0].ID)
			t.Fatalf("runs failed: %v; first:\n%s", c, dumpSteps(d))
		}
		time.Sleep(100 * time.Millisecond)
	}
	c, _ := e.a.Store.CountRuns(ctx, e.a.Store.Reader(), "")
	t.Fatalf("runs %v after %s, want %d %s", c, d, n, status)
}

func measure() (int, uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return runtime.NumGoroutine(), m.HeapAlloc
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

func TestEventBeforeWaitParksStillResumes(t *testing.T) {
	e := newEnv(t)
	e.fake.slow = 300 * time.Millisecond
	e.apply(`
name: early
trigger: { on: manual }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: start
    action: f.do
    input: { name: start }
  - id: w
    wait: { for: f.events, key: proc-1, match: "${{ event.data.done }}" }
  - id: again
    wait: { for: f.events, key: proc-1, timeout: 1s, on_timeout: continue }
`)
	id := e.start("early", nil)
	deadline := time.Now().Add(5 * time.Second)
	for len(e.fake.callsOf("start")) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// The process finishes while the run is still in its first step.
	e.send(connector.Event{ID: "fast", Type: "process.completed", Object: "proc-1", Data: map[string]any{"done": true}})
	d := e.waitRun(id, store.RunSucceeded, 30*time.Second)
	var out map[string]any
	for _, s := range d.Steps {
		if s.Step == "again" && s.Status == store.StepSucceeded {
			_ = json.Unmarshal(s.Output, &out)
		}
	}
	// The second wait on the same key must not take the event the first one used.
	if out["timed_out"] != true {
		t.Fatalf("second wait took an event already consumed: %v\n%s", out, dumpSteps(d))
	}
}

func TestScheduleTriggerStartsRuns(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: ticker
trigger: { on: schedule, cron: "@every 1s" }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: tick
    action: f.do
    input: { name: tick, value: "${{ trigger.data.scheduled_at }}" }
`)
	if err := e.a.Ingest.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(e.fake.callsOf("tick")) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := len(e.fake.callsOf("tick")); n < 2 {
		t.Fatalf("schedule ran %d times in 30s", n)
	}
}

func TestRouteTableChoosesFirstMatchAndDefault(t *testing.T) {
	e := newEnv(t)
	e.apply(`
name: router
trigger: { on: manual }
params:
  type: { type: string, required: true }
  region: { type: string, required: true }
  routes:
    type: list
    default:
      - { match: { type: trailer, region: [EU, UK] }, process: legal_review }
      - { match: { type: "*", region: US }, process: us_review }
      - { process: media_review }
connections: { f: { connector: fake, connection: fk } }
steps:
  - id: route
    action: core.route
    input: { rows: "${{ params.routes }}", facts: { type: "${{ params.type }}", region: "${{ params.region }}" } }
  - id: use
    action: f.do
    input: { name: "${{ 'route-' + params.type + '-' + params.region }}", value: "${{ steps.route.output.row.process }}" }
`)
	cases := map[[2]string]string{{"trailer", "UK"}: "legal_review", {"clip", "US"}: "us_review", {"clip", "EU"}: "media_review"}
	for in, want := range cases {
		d := e.waitRun(e.start("router", map[string]any{"type": in[0], "region": in[1]}), store.RunSucceeded, 10*time.Second)
		var out map[string]any
		for _, s := range d.Steps {
			if s.Step == "use" && s.Status == store.StepSucceeded {
				_ = json.Unmarshal(s.Output, &out)
			}
		}
		if out["value"] != want {
			t.Errorf("%v routed to %v, want %s", in, out["value"], want)
		}
	}
}
