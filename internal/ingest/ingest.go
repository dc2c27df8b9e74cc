// Package ingest turns inbound events into runs. Webhooks, pollers,
// schedules and manual starts all end in Accept, which stores the event,
// starts the runs of every active flow whose trigger matches and resumes
// every waiting run whose key matches, in one transaction, before the
// webhook is acknowledged: an acknowledged event is durable, and nothing is
// enqueued outside the transaction that makes it valid.
//
// Concurrent Accept calls are group-committed: one transaction (and one
// batched job insert) carries the events of many requests.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/connection"
	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/engine"
	"github.com/patchbay/patchbay/internal/expr"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/flow"
	"github.com/patchbay/patchbay/internal/id"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/store"
)

// Observer sees ingest decisions inside the ingest transaction (the audit
// trail records them; links recognise echoes).
type Observer interface {
	// Echo reports whether a new event is patchbay's own write coming back,
	// why, and the run that wrote it ("" when unknown).
	Echo(ctx context.Context, tx store.Tx, ev *store.Event) (echo bool, reason, writer string, err error)
	// Accepted is called for each stored event with the runs it started and
	// the waits it resumed.
	Accepted(ctx context.Context, tx store.Tx, ev *store.Event, runs []*store.Run, resumed []*store.Wait) error
	// Rejected is called for an event that failed verification or decoding.
	Rejected(ctx context.Context, tx store.Tx, ev *store.Event) error
	// Duplicate is called when a delivery repeats an event already stored
	// (prev); nothing else happens to it.
	Duplicate(ctx context.Context, tx store.Tx, prev *store.Event) error
}

type nopObserver struct{}

func (nopObserver) Echo(context.Context, store.Tx, *store.Event) (bool, string, string, error) {
	return false, "", "", nil
}
func (nopObserver) Accepted(context.Context, store.Tx, *store.Event, []*store.Run, []*store.Wait) error {
	return nil
}
func (nopObserver) Rejected(context.Context, store.Tx, *store.Event) error  { return nil }
func (nopObserver) Duplicate(context.Context, store.Tx, *store.Event) error { return nil }

// Config tunes ingest.
type Config struct {
	// MaxBody caps a webhook body (default 1 MiB).
	MaxBody int64
	// MaxBatch caps how many requests share one transaction (default 128).
	MaxBatch int
	Logger   *slog.Logger
	Now      func() time.Time
}

// Ingest accepts events.
type Ingest struct {
	eng   *engine.Engine
	st    *store.Store
	flows *engine.Flows
	conns *connection.Manager
	q     queue.Queue
	obs   Observer
	cfg   Config
	log   *slog.Logger

	reqs chan *request
	rec  reconciler
	stop chan struct{}
	done chan struct{}
}

// New returns an Ingest. Start begins group commit.
func New(eng *engine.Engine, cfg Config) *Ingest {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 128
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Ingest{eng: eng, st: eng.Store(), flows: eng.Flows(), conns: eng.Connections(), q: eng.Queue(),
		obs: nopObserver{}, cfg: cfg, log: cfg.Logger, reqs: make(chan *request, 1024)}
}

// SetObserver installs the audit/link hooks.
func (in *Ingest) SetObserver(o Observer) {
	if o == nil {
		o = nopObserver{}
	}
	in.obs = o
}

// Outcome says what became of one event.
type Outcome struct {
	EventID   string   `json:"event_id"`
	Duplicate bool     `json:"duplicate,omitempty"`
	Echo      bool     `json:"echo,omitempty"`
	Runs      []string `json:"runs,omitempty"`
	Resumed   int      `json:"resumed,omitempty"`
}

// Batch is events from one source and trigger.
type Batch struct {
	Source  string // connection name, "flow:<name>", "schedule", "manual"
	Trigger string
	Events  []connector.Event
	// Flow restricts the runs started to one flow (flow-level webhooks,
	// schedules, manual starts). Empty means every flow on the source.
	Flow string
	// Input is the parameter input of manual runs.
	Input map[string]any
	// Extra runs in the same transaction (a poller's cursor update).
	Extra func(ctx context.Context, tx store.Tx) error
}

type request struct {
	ctx  context.Context
	b    *Batch
	resp chan result
}

type result struct {
	out []Outcome
	err error
}

// Start begins the group-commit loop.
func (in *Ingest) Start() {
	in.stop, in.done = make(chan struct{}), make(chan struct{})
	go in.loop()
}

// Stop ends the group-commit loop after the requests already queued.
func (in *Ingest) Stop() {
	if in.stop == nil {
		return
	}
	close(in.stop)
	<-in.done
	in.stop = nil
}

// Accept stores a batch of events and starts what they trigger, returning
// only after the transaction committed.
func (in *Ingest) Accept(ctx context.Context, b *Batch) ([]Outcome, error) {
	ctx = store.Urgent(ctx)
	// A group-committing store batches transactions itself: a second layer
	// of batching here would only add a queue.
	if in.stop == nil {
		var out []Outcome
		err := in.st.Tx(ctx, func(tx store.Tx) error {
			var err error
			out, err = in.acceptTx(ctx, tx, b)
			return err
		})
		return out, err
	}
	r := &request{ctx: ctx, b: b, resp: make(chan result, 1)}
	select {
	case in.reqs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case res := <-r.resp:
		return res.out, res.err
	case <-ctx.Done():
		// The batch may still commit; the provider will retry and dedupe
		// will recognise the event.
		return nil, ctx.Err()
	}
}

func (in *Ingest) loop() {
	defer close(in.done)
	for {
		var first *request
		select {
		case first = <-in.reqs:
		case <-in.stop:
			for {
				select {
				case r := <-in.reqs:
					in.commit([]*request{r})
				default:
					return
				}
			}
		}
		batch := []*request{first}
	drain:
		for len(batch) < in.cfg.MaxBatch {
			select {
			case r := <-in.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		in.commit(batch)
	}
}

// commit runs a group of requests in one transaction; when it fails, each
// request is retried alone so one bad request cannot fail the others.
func (in *Ingest) commit(batch []*request) {
	live := batch[:0]
	for _, r := range batch {
		if r.ctx.Err() != nil {
			r.resp <- result{err: r.ctx.Err()}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	if len(live) > 1 {
		outs := make([][]Outcome, len(live))
		ctx := context.WithoutCancel(live[0].ctx)
		err := in.st.Tx(ctx, func(tx store.Tx) error {
			var jobs []queue.Job
			for i, r := range live {
				out, js, err := in.accept(ctx, tx, r.b)
				if err != nil {
					return err
				}
				outs[i] = out
				jobs = append(jobs, js...)
			}
			return in.q.Insert(ctx, tx, jobs...)
		})
		if err == nil {
			for i, r := range live {
				r.resp <- result{out: outs[i]}
			}
			return
		}
		in.log.Debug("group commit failed; committing requests one by one", "size", len(live), "error", err)
	}
	for _, r := range live {
		var out []Outcome
		err := in.st.Tx(context.WithoutCancel(r.ctx), func(tx store.Tx) error {
			var err error
			out, err = in.acceptTx(r.ctx, tx, r.b)
			return err
		})
		r.resp <- result{out: out, err: err}
	}
}

func (in *Ingest) acceptTx(ctx context.Context, tx store.Tx, b *Batch) ([]Outcome, error) {
	out, jobs, err := in.accept(ctx, tx, b)
	if err != nil {
		return nil, err
	}
	return out, in.q.Insert(ctx, tx, jobs...)
}

// accept does the work of one batch inside tx and returns the jobs to insert.
func (in *Ingest) accept(ctx context.Context, tx store.Tx, b *Batch) ([]Outcome, []queue.Job, error) {
	source := b.Source + "/" + b.Trigger
	flows, err := in.flows.ForSource(ctx, source)
	if err != nil {
		return nil, nil, err
	}
	if b.Flow != "" {
		var only []*flow.Flow
		for _, fl := range flows {
			if fl.Name == b.Flow {
				only = append(only, fl)
			}
		}
		flows = only
	}
	keyExprs, err := in.st.WaitKeyExprs(ctx, tx, source)
	if err != nil {
		return nil, nil, err
	}
	now := in.cfg.Now()
	var jobs []queue.Job
	outs := make([]Outcome, 0, len(b.Events))
	for i := range b.Events {
		ce := &b.Events[i]
		ev, err := in.storedEvent(b, ce, now)
		if err != nil {
			return nil, nil, err
		}
		evMap := engine.EventMap(ev)
		inserted, err := in.st.InsertEvent(ctx, tx, ev)
		if err != nil {
			return nil, nil, err
		}
		if !inserted {
			prev, err := in.st.EventBySourceDedupe(ctx, tx, ev.Source, ev.Dedupe)
			if err != nil {
				return nil, nil, err
			}
			if err := in.obs.Duplicate(ctx, tx, prev); err != nil {
				return nil, nil, err
			}
			outs = append(outs, Outcome{EventID: prev.ID, Duplicate: true})
			continue
		}
		echo, why, writer, err := in.obs.Echo(ctx, tx, ev)
		if err != nil {
			return nil, nil, err
		}
		o := Outcome{EventID: ev.ID, Echo: echo}
		candidates := in.matching(ctx, b, ce, flows)
		status := store.EventAccepted
		if echo {
			// patchbay's own write coming back starts only flows that
			// asked for echoes (trigger.echoes: chaining flows through a
			// system). It still resumes waiting runs: a wait is for a
			// state, whoever made it.
			status = store.EventEcho
			if err := in.st.SetEventOutcome(ctx, tx, ev.ID, status, why, 0); err != nil {
				return nil, nil, err
			}
			ev.Status, ev.Reason = status, why
			candidates = in.echoFlows(ctx, tx, candidates, writer)
		}
		runs, runJobs := in.prepareRuns(ev, evMap, candidates, b.Input)
		var started []*store.Run
		for j, r := range runs {
			ok, err := in.st.InsertRun(ctx, tx, r)
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				continue // the flow's dedupe key matched an earlier run
			}
			started = append(started, r)
			o.Runs = append(o.Runs, r.ID)
			jobs = append(jobs, runJobs[j])
		}
		resumed, err := in.resume(ctx, tx, source, ev, evMap, keyExprs)
		if err != nil {
			return nil, nil, err
		}
		o.Resumed = len(resumed)
		if len(started) > 0 {
			if err := in.st.SetEventOutcome(ctx, tx, ev.ID, status, ev.Reason, len(started)); err != nil {
				return nil, nil, err
			}
			ev.Runs = len(started)
		}
		// An echo that did nothing is recorded as an echo only.
		if !echo || len(started)+len(resumed) > 0 {
			if err := in.obs.Accepted(ctx, tx, ev, started, resumed); err != nil {
				return nil, nil, err
			}
		}
		outs = append(outs, o)
	}
	if b.Extra != nil {
		if err := b.Extra(ctx, tx); err != nil {
			return nil, nil, err
		}
	}
	return outs, jobs, nil
}

// storedEvent builds the row for a connector event.
func (in *Ingest) storedEvent(b *Batch, ce *connector.Event, now time.Time) (*store.Event, error) {
	data, err := json.Marshal(ce.Data)
	if err != nil {
		return nil, fault.E(fault.Invalid, "encoding event data", err)
	}
	dedupe := ce.ID
	if dedupe == "" {
		h := sha256.New()
		fmt.Fprintf(h, "%s\x00%s\x00", ce.Type, ce.Object)
		h.Write(data)
		dedupe = "sha256:" + hex.EncodeToString(h.Sum(nil))
	}
	objs := ce.Objects
	if ce.Object != "" && !contains(objs, ce.Object) {
		objs = append([]string{ce.Object}, objs...)
	}
	return &store.Event{ID: id.NewAt(now), Source: b.Source, Trigger: b.Trigger, Dedupe: dedupe, Type: ce.Type,
		Object: ce.Object, Objects: objs, Data: data, Hash: ce.Hash, Version: ce.Version, Status: store.EventAccepted,
		OccurredAt: ce.Time, ReceivedAt: now}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// echoFlows keeps the flows that take echoes (trigger.echoes), never the
// flow whose run made the write: a flow is not restarted by its own write.
func (in *Ingest) echoFlows(ctx context.Context, tx store.Tx, flows []*flow.Flow, writer string) []*flow.Flow {
	var out []*flow.Flow
	for _, fl := range flows {
		if fl.Trigger.Echoes {
			out = append(out, fl)
		}
	}
	if len(out) == 0 || writer == "" {
		return out
	}
	wr, err := in.st.GetRun(ctx, tx, writer)
	if err != nil {
		return out
	}
	return slices.DeleteFunc(out, func(fl *flow.Flow) bool { return fl.Name == wr.Flow })
}

// matching keeps the flows whose trigger config selects the event, when the
// source's connector can tell (connector.EventMatcher).
func (in *Ingest) matching(ctx context.Context, b *Batch, ce *connector.Event, flows []*flow.Flow) []*flow.Flow {
	if len(flows) == 0 || strings.Contains(b.Source, ":") || b.Source == "manual" || b.Source == "schedule" {
		return flows
	}
	conn, _, err := in.conns.Get(ctx, b.Source)
	if err != nil {
		return flows
	}
	m, ok := conn.(connector.EventMatcher)
	if !ok {
		return flows
	}
	var out []*flow.Flow
	for _, fl := range flows {
		if len(fl.Trigger.Config) == 0 || m.MatchEvent(b.Trigger, fl.Trigger.Config, ce) {
			out = append(out, fl)
		}
	}
	return out
}

// prepareRuns evaluates each flow's filter and dedupe key and builds its run.
func (in *Ingest) prepareRuns(ev *store.Event, evMap map[string]any, flows []*flow.Flow, input map[string]any) ([]*store.Run, []queue.Job) {
	var runs []*store.Run
	var jobs []queue.Job
	for _, fl := range flows {
		params, err := engine.ResolveParams(fl, input)
		if err != nil {
			in.log.Warn("event not started: bad parameters", "flow", fl.Name, "event_id", ev.ID, "error", err)
			continue
		}
		env := map[string]any{"event": evMap, "trigger": evMap, "params": params}
		if fl.Trigger.Filter != nil {
			ok, err := fl.Trigger.Filter.EvalBool(env)
			if err != nil {
				in.log.Warn("flow filter failed; event not started", "flow", fl.Name, "event_id", ev.ID, "error", err)
				continue
			}
			if !ok {
				continue
			}
		}
		dedupe := ""
		if fl.Trigger.Dedupe != nil {
			v, err := fl.Trigger.Dedupe.Eval(env)
			if err != nil {
				in.log.Warn("flow dedupe key failed; event not started", "flow", fl.Name, "event_id", ev.ID, "error", err)
				continue
			}
			dedupe = expr.Stringify(v)
		}
		run, job, err := in.eng.PrepareRun(fl, ev.ID, input, dedupe)
		if err != nil {
			in.log.Warn("event not started", "flow", fl.Name, "event_id", ev.ID, "error", err)
			continue
		}
		runs = append(runs, run)
		jobs = append(jobs, job)
	}
	return runs, jobs
}

// resume wakes the runs waiting on this source whose key matches the event.
func (in *Ingest) resume(ctx context.Context, tx store.Tx, source string, ev *store.Event, evMap map[string]any, keyExprs []string) ([]*store.Wait, error) {
	var resumed []*store.Wait
	for _, ke := range keyExprs {
		key, err := engine.EventKey(ke, evMap)
		if err != nil {
			in.log.Warn("wait event_key failed on event", "source", source, "event_id", ev.ID, "key_expr", ke, "error", err)
			continue
		}
		if key == "" {
			continue
		}
		waits, err := in.st.MatchWaits(ctx, tx, source, ke, key)
		if err != nil {
			return nil, err
		}
		for _, w := range waits {
			ok, err := in.eng.WaitMatches(ctx, w, evMap)
			if err != nil {
				in.log.Warn("wait match failed on event", "run_id", w.RunID, "event_id", ev.ID, "error", err)
				continue
			}
			if !ok {
				continue
			}
			won, err := in.eng.ResumeTx(ctx, tx, w, ev.ID)
			if err != nil {
				return nil, err
			}
			if won {
				resumed = append(resumed, w)
			}
		}
	}
	return resumed, nil
}

// Reject records an event that failed verification or decoding.
func (in *Ingest) Reject(ctx context.Context, source, trigger, reason string) (string, error) {
	now := in.cfg.Now()
	evID := id.NewAt(now)
	ev := &store.Event{ID: evID, Source: source, Trigger: trigger, Dedupe: "rejected:" + evID, Type: "rejected",
		Status: store.EventRejected, Reason: reason, ReceivedAt: now}
	err := in.st.Tx(ctx, func(tx store.Tx) error {
		if _, err := in.st.InsertEvent(ctx, tx, ev); err != nil {
			return err
		}
		return in.obs.Rejected(ctx, tx, ev)
	})
	return evID, err
}

// StartManual starts a run of a flow by hand with parameter input.
func (in *Ingest) StartManual(ctx context.Context, flowName string, input map[string]any) (*Outcome, error) {
	fl, err := in.flows.Active(ctx, flowName)
	if err != nil {
		return nil, err
	}
	if _, err := engine.ResolveParams(fl, input); err != nil {
		return nil, err
	}
	source := "manual"
	trigger := flowName
	if engine.Source(fl) != "manual/"+flowName {
		// Any flow can be started by hand; its trigger's filter is bypassed.
		return in.startDirect(ctx, fl, input)
	}
	out, err := in.Accept(ctx, &Batch{Source: source, Trigger: trigger, Flow: flowName, Input: input,
		Events: []connector.Event{{ID: id.New(), Type: "manual", Data: map[string]any{"input": input}}}})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 || len(out[0].Runs) == 0 {
		return nil, fault.Errorf(fault.Conflict, "flow %s started no run (its dedupe key matched an earlier run?)", flowName)
	}
	return &out[0], nil
}

// startDirect starts a run of a flow whose trigger is not manual.
func (in *Ingest) startDirect(ctx context.Context, fl *flow.Flow, input map[string]any) (*Outcome, error) {
	now := in.cfg.Now()
	ev := &store.Event{ID: id.NewAt(now), Source: "manual", Trigger: fl.Name, Type: "manual", Status: store.EventAccepted, ReceivedAt: now, Runs: 1}
	ev.Dedupe = ev.ID
	data, _ := json.Marshal(map[string]any{"input": input})
	ev.Data = data
	run, job, err := in.eng.PrepareRun(fl, ev.ID, input, "")
	if err != nil {
		return nil, err
	}
	err = in.st.Tx(ctx, func(tx store.Tx) error {
		if _, err := in.st.InsertEvent(ctx, tx, ev); err != nil {
			return err
		}
		if _, err := in.st.InsertRun(ctx, tx, run); err != nil {
			return err
		}
		if err := in.obs.Accepted(ctx, tx, ev, []*store.Run{run}, nil); err != nil {
			return err
		}
		return in.q.Insert(ctx, tx, job)
	})
	if err != nil {
		return nil, err
	}
	return &Outcome{EventID: ev.ID, Runs: []string{run.ID}}, nil
}
