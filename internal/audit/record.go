package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/patchbay/patchbay/internal/engine"
	"github.com/patchbay/patchbay/internal/flow"
	"github.com/patchbay/patchbay/internal/store"
)

// Recorder turns what the engine, the ingest and users do into audit
// entries, inside the transactions that do it. It derives decisions from
// the step records of each commit (if/switch branches, core.route rows,
// waits held and released), writes from the connectors' reports, and human
// outcomes from the events that resume waits.
type Recorder struct {
	log   *Log
	flows *engine.Flows

	mu   sync.Mutex
	objs map[string][]string // event id → object references (a cache)
}

// NewRecorder returns a recorder writing to log; flows resolves which
// action a step runs (to recognise core.route decisions).
func NewRecorder(log *Log, flows *engine.Flows) *Recorder {
	return &Recorder{log: log, flows: flows, objs: map[string][]string{}}
}

// remember caches an event's object references for its runs' entries.
func (r *Recorder) remember(evID string, objs []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.objs) >= 16_384 {
		clear(r.objs)
	}
	r.objs[evID] = objs
}

// eventObjects returns the object references of a run's trigger event.
func (r *Recorder) eventObjects(ctx context.Context, evID string) []string {
	if evID == "" {
		return nil
	}
	r.mu.Lock()
	objs, ok := r.objs[evID]
	r.mu.Unlock()
	if ok {
		return objs
	}
	ev, err := r.log.st.GetEvent(ctx, r.log.st.Reader(), evID)
	if err != nil {
		return nil
	}
	r.remember(evID, ev.Objects)
	return ev.Objects
}

// sourceObject names where an event came from.
func sourceObject(source, trigger string) string {
	switch {
	case strings.HasPrefix(source, "flow:"):
		return "flow/" + strings.TrimPrefix(source, "flow:")
	case source == "manual" || source == "schedule":
		return "flow/" + trigger
	}
	return "connection/" + source
}

func eventData(ev *store.Event) map[string]any {
	d := map[string]any{"event_id": ev.ID, "source": ev.Source, "trigger": ev.Trigger, "type": ev.Type}
	if ev.Object != "" {
		d["object"] = ev.Object
	}
	if ev.Hash != "" {
		d["hash"] = ev.Hash
	}
	if ev.Version != "" {
		d["version"] = ev.Version
	}
	return d
}

// Accepted records a stored event with the runs it started (one entry,
// touching each run and its flow: the run's start) and, per wait it
// resumed, the human outcome the event carries.
func (r *Recorder) Accepted(ctx context.Context, tx store.Tx, ev *store.Event, runs []*store.Run, resumed []*store.Wait) error {
	r.remember(ev.ID, ev.Objects)
	src := sourceObject(ev.Source, ev.Trigger)
	// The entry is about the event's objects and the runs it started; the
	// connection is its actor, the flows are the runs'. Neither is indexed
	// (every event would add rows under them), except when the event names
	// nothing else, so that it can still be found.
	objs := make([]string, 0, 1+len(ev.Objects)+len(runs))
	objs = append(objs, ev.Objects...)
	d := map[string]any{"event_id": ev.ID, "trigger": ev.Trigger, "type": ev.Type}
	if ev.Hash != "" {
		d["hash"] = ev.Hash
	}
	if ev.Version != "" {
		d["version"] = ev.Version
	}
	if len(runs) > 0 {
		started := make([]string, len(runs))
		for i, run := range runs {
			started[i] = run.ID
			objs = append(objs, "run/"+run.ID)
		}
		d["runs"] = started
	}
	if len(resumed) > 0 {
		d["resumed"] = len(resumed)
	}
	if len(objs) == 0 {
		objs = append(objs, src)
	}
	e := r.log.NewEntry(KindEventReceived, objs, d)
	e.Actor = src
	es := make([]*Entry, 0, 1+len(resumed))
	es = append(es, e)
	var who string
	var what map[string]any
	if len(resumed) > 0 {
		who, what = outcomeOf(ev)
	}
	for _, w := range resumed {
		od := eventData(ev)
		od["step"] = w.StepID
		for k, v := range what {
			od[k] = v
		}
		// The outcome belongs to the run's objects too (the asset under
		// review), not only the event's (the process that decided).
		oobjs := append([]string{"run/" + w.RunID}, ev.Objects...)
		if run, err := r.log.st.GetRun(ctx, tx, w.RunID); err == nil {
			for _, o := range r.eventObjects(ctx, run.EventID) {
				if !slices.Contains(oobjs, o) {
					oobjs = append(oobjs, o)
				}
			}
		}
		oe := r.log.NewEntry("outcome", oobjs, od)
		oe.Actor, oe.Run, oe.Step = who, w.RunID, w.StepID
		if oe.Actor == "" {
			oe.Actor = src
		}
		oe.Summary = fmt.Sprintf("%s resumed run %s at %s%s", ev.Type, w.RunID, w.StepID, describeOutcome(who, what))
		es = append(es, oe)
	}
	return r.log.Append(ctx, tx, es...)
}

// Kinds whose summary is derived when read (they are the most frequent;
// storing their text would cost every run).
const (
	KindEventReceived = "event.received"
	KindRunEnded      = "run.ended"
)

// describe derives the summary of an entry stored without one.
func describe(e *Entry) string {
	var d map[string]any
	_ = json.Unmarshal(e.Data, &d)
	switch e.Kind {
	case KindEventReceived:
		s := fmt.Sprintf("%v from %s/%v", d["type"], strings.TrimPrefix(e.Actor, "connection/"), d["trigger"])
		if runs, ok := d["runs"].([]any); ok && len(runs) > 0 {
			parts := make([]string, len(runs))
			for i, r := range runs {
				parts[i] = fmt.Sprint(r)
			}
			s += "; started run " + strings.Join(parts, ", ")
		}
		if n, ok := d["resumed"]; ok {
			s += fmt.Sprintf("; resumed %v waiting run(s)", n)
		}
		if len(e.Objects) > 0 && !strings.HasPrefix(e.Objects[0], "run/") && e.Objects[0] != e.Actor {
			s = e.Objects[0] + ": " + s
		}
		return s
	case KindRunEnded:
		s := fmt.Sprintf("run %s of %s %v", e.Run, strings.TrimPrefix(e.Actor, "flow/"), d["status"])
		if why, ok := d["error"]; ok {
			s += ": " + Truncate(fmt.Sprint(why), 120)
		}
		return s
	}
	return ""
}

// Keys of event data that carry a person's decision, looked up at the top
// of the data and a few levels down (body, variables, task …).
var (
	whoKeys  = []string{"reviewer", "approver", "approved_by", "reviewed_by", "completed_by", "decided_by", "assignee", "user", "actor", "by"}
	whatKeys = []string{"outcome", "decision", "result", "approval_status", "review_status", "status", "comment", "reason"}
)

// outcomeOf picks who decided and what from an event's data, never copying
// the data wholesale.
func outcomeOf(ev *store.Event) (string, map[string]any) {
	var data any
	if len(ev.Data) == 0 || json.Unmarshal(ev.Data, &data) != nil {
		return "", nil
	}
	who := ""
	what := map[string]any{}
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		m, ok := v.(map[string]any)
		if !ok || depth > 3 {
			return
		}
		for _, k := range whoKeys {
			if s := scalarString(m[k]); s != "" && who == "" {
				who = Truncate(s, 120)
			}
		}
		for _, k := range whatKeys {
			if s := scalarString(m[k]); s != "" {
				if _, seen := what[k]; !seen {
					what[k] = Truncate(s, 200)
				}
			}
		}
		for _, sub := range m {
			if _, ok := sub.(map[string]any); ok {
				walk(sub, depth+1)
			}
		}
	}
	walk(data, 0)
	if who != "" {
		what["by"] = who
	}
	return who, what
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool, float64, int:
		return fmt.Sprint(x)
	}
	return ""
}

func describeOutcome(who string, what map[string]any) string {
	var parts []string
	for _, k := range []string{"outcome", "decision", "result", "approval_status", "status"} {
		if v, ok := what[k]; ok {
			parts = append(parts, fmt.Sprint(v))
			break
		}
	}
	if who != "" {
		parts = append(parts, "by "+who)
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Rejected records an event that failed verification or decoding, with why.
func (r *Recorder) Rejected(ctx context.Context, tx store.Tx, ev *store.Event) error {
	src := sourceObject(ev.Source, ev.Trigger)
	d := eventData(ev)
	d["reason"] = Truncate(ev.Reason, 300)
	e := r.log.NewEntry("event.rejected", []string{src}, d)
	e.Actor = src
	e.Summary = fmt.Sprintf("delivery to %s/%s rejected: %s", ev.Source, ev.Trigger, ev.Reason)
	return r.log.Append(ctx, tx, e)
}

// Duplicate records a delivery that repeats a stored event.
func (r *Recorder) Duplicate(ctx context.Context, tx store.Tx, prev *store.Event) error {
	src := sourceObject(prev.Source, prev.Trigger)
	e := r.log.NewEntry("event.duplicate", append([]string{src}, prev.Objects...), eventData(prev))
	e.Actor = src
	e.Summary = fmt.Sprintf("%s %s from %s/%s delivered again; ignored", prev.Type, orDash(prev.Object), prev.Source, prev.Trigger)
	return r.log.Append(ctx, tx, e)
}

// Echo records an event recognised as patchbay's own write coming back.
// writer is the run that wrote the object, when known.
func (r *Recorder) Echo(ctx context.Context, tx store.Tx, ev *store.Event, reason, writer string) error {
	src := sourceObject(ev.Source, ev.Trigger)
	d := eventData(ev)
	d["reason"] = reason
	objs := append([]string{src}, ev.Objects...)
	if writer != "" {
		objs = append(objs, "run/"+writer)
	}
	e := r.log.NewEntry("event.echo", objs, d)
	e.Actor = src
	e.Summary = fmt.Sprintf("%s %s from %s/%s is patchbay's own write coming back: it starts no flow (except flows with trigger echoes: true) but resumes waits", ev.Type, orDash(ev.Object), ev.Source, ev.Trigger)
	return r.log.Append(ctx, tx, e)
}

// User records a user action.
func (r *Recorder) User(ctx context.Context, tx store.Tx, actor, action, object string, details map[string]any) error {
	e := r.log.NewEntry("user."+action, []string{object}, details)
	e.Actor = actor
	e.Summary = fmt.Sprintf("%s: %s %s", orDash(actor), action, object)
	return r.log.Append(ctx, tx, e)
}

// Commit records what one engine transaction did: decisions, waits, writes
// and the run's end.
func (r *Recorder) Commit(ctx context.Context, tx store.Tx, c *engine.Commit) error {
	if p, ok := c.Prepared.(prepared); ok {
		return r.log.Append(ctx, tx, p...)
	}
	return r.log.Append(ctx, tx, r.CommitEntries(ctx, c)...)
}

// prepared are a commit's entries, built and encoded before its transaction.
type prepared []*Entry

// PrepareCommit builds and encodes a commit's entries ahead of its
// transaction, for Commit to append.
func (r *Recorder) PrepareCommit(ctx context.Context, c *engine.Commit) any {
	es := r.CommitEntries(ctx, c)
	for _, e := range es {
		e.seal()
	}
	return prepared(es)
}

// CommitEntries returns the entries describing an engine commit.
func (r *Recorder) CommitEntries(ctx context.Context, c *engine.Commit) []*Entry {
	if c.Run == nil {
		return nil
	}
	run := c.Run
	var base []string // computed on the first entry
	objects := func(extra ...string) []string {
		if base == nil {
			// A run's entries are about the run, its parent and the
			// objects of its trigger event; its flow is the actor.
			base = []string{"run/" + run.ID}
			if run.ParentID != "" {
				base = append(base, "run/"+run.ParentID)
			}
			base = append(base, r.eventObjects(ctx, run.EventID)...)
		}
		out := make([]string, 0, len(extra)+len(base))
		out = append(out, extra...)
		return append(out, base...)
	}
	actor := "flow/" + c.Flow
	var fl *flow.Flow
	var es []*Entry
	step := func(kind string, rec *store.StepRecord, data map[string]any, extra []string, summary string) {
		e := r.log.NewEntry(kind, objects(extra...), data)
		e.Actor, e.Run, e.Step, e.StepSeq, e.Summary = actor, run.ID, rec.StepID, rec.Seq, summary
		es = append(es, e)
	}
	for i := range c.Steps {
		rec := &c.Steps[i]
		switch flow.Kind(rec.Kind) {
		case flow.KindIf:
			if rec.Status != store.StepSucceeded {
				continue
			}
			out := decode(rec.Output)
			step("decision", rec, map[string]any{"step": rec.StepID, "type": "if", "branch": out["branch"]}, nil,
				fmt.Sprintf("if %s: took %v", rec.StepID, out["branch"]))
		case flow.KindSwitch:
			if rec.Status != store.StepSucceeded {
				continue
			}
			out := decode(rec.Output)
			step("decision", rec, map[string]any{"step": rec.StepID, "type": "switch", "case": out["case"], "value": out["value"]}, nil,
				fmt.Sprintf("switch %s: case %v (value %s)", rec.StepID, out["case"], Truncate(fmt.Sprint(out["value"]), 60)))
		case flow.KindWait:
			switch rec.Status {
			case store.StepWaiting:
				in := decode(rec.Input)
				step("wait.held", rec, map[string]any{"step": rec.StepID, "key": in["key"], "for": in["for"], "timeout": in["timeout"]}, nil,
					fmt.Sprintf("wait %s: holding the run until %v (key %v)", rec.StepID, in["for"], in["key"]))
			case store.StepSucceeded:
				out := decode(rec.Output)
				d := map[string]any{"step": rec.StepID}
				for _, k := range []string{"event_id", "type", "object", "timed_out"} {
					if v, ok := out[k]; ok {
						d[k] = v
					}
				}
				var extra []string
				if o, _ := out["object"].(string); o != "" {
					extra = append(extra, o)
				}
				why := fmt.Sprintf("event %v", out["event_id"])
				if out["timed_out"] == true {
					why = "timeout"
				}
				step("wait.released", rec, d, extra, fmt.Sprintf("wait %s: released by %s", rec.StepID, why))
			}
		case flow.KindAction:
			if rec.Status != store.StepSucceeded {
				continue
			}
			if fl == nil {
				fl, _ = r.flows.Get(ctx, c.Flow, c.Version)
			}
			if fl == nil {
				continue
			}
			s, ok := fl.Step(rec.StepID)
			if !ok || s.Connector != "core" || s.Action != "route" {
				continue
			}
			out := decode(rec.Output)
			step("decision", rec, map[string]any{"step": rec.StepID, "type": "route", "row": out["index"], "default": out["default"],
				"chosen": out["row"]}, nil, fmt.Sprintf("route %s: chose row %v", rec.StepID, out["index"]))
		}
	}
	for _, w := range c.Writes {
		system, _, _ := strings.Cut(w.Write.Object, ":")
		d := map[string]any{"system": system, "object": w.Write.Object, "op": w.Write.Op, "step": w.StepID}
		if w.Write.Version != "" {
			d["version"] = w.Write.Version
		}
		if w.Write.Hash != "" {
			d["hash"] = w.Write.Hash
		}
		if w.Link != "" {
			d["link"] = w.Link
		}
		if len(w.Write.Summary) > 0 {
			d["summary"] = w.Write.Summary
		}
		e := r.log.NewEntry("write", objects(w.Write.Object, w.Link), d)
		e.Actor, e.Run, e.Step, e.StepSeq = actor, run.ID, w.StepID, stepSeqOf(c.Steps, w.StepID)
		e.Summary = fmt.Sprintf("%s %s (step %s)", w.Write.Op, w.Write.Object, w.StepID)
		es = append(es, e)
	}
	switch {
	case c.Ended:
		d := map[string]any{"status": c.Status, "version": c.Version}
		if c.Status != store.RunSucceeded {
			if why := endError(c); why != "" {
				d["error"] = Truncate(why, 500)
			}
		}
		e := r.log.NewEntry(KindRunEnded, objects(), d)
		e.Actor, e.Run = actor, run.ID
		es = append(es, e)
	case c.Status == store.RunQueued && len(c.Steps) == 0 && len(c.Writes) == 0:
		e := r.log.NewEntry("run.retried", objects(), map[string]any{"status": c.Status, "from": run.Status})
		e.Actor, e.Run, e.Summary = actor, run.ID, fmt.Sprintf("run %s queued again (was %s)", run.ID, run.Status)
		es = append(es, e)
	}
	return es
}

// endError is why a run did not succeed, from its last failed step.
func endError(c *engine.Commit) string {
	for i := len(c.Steps) - 1; i >= 0; i-- {
		if c.Steps[i].Status == store.StepFailed && c.Steps[i].Error != "" {
			return c.Steps[i].StepID + ": " + c.Steps[i].Error
		}
	}
	if c.Run.Error != nil {
		return c.Run.Error.Message
	}
	return ""
}

func stepSeqOf(recs []store.StepRecord, stepID string) int {
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].StepID == stepID {
			return recs[i].Seq
		}
	}
	return 0
}

func decode(raw json.RawMessage) map[string]any {
	var m map[string]any
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &m)
	}
	if m == nil {
		m = map[string]any{}
	}
	return m
}
