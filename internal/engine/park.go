package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/expr"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/flow"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/store"
)

func blobHash(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// buildEnv prepares what expressions see.
func (x *exec) buildEnv(ctx context.Context) error {
	trigger, err := x.e.triggerOf(ctx, x.run)
	if err != nil {
		return err
	}
	steps := make(map[string]any, len(x.st.Steps))
	for id, r := range x.st.Steps {
		m := map[string]any{"status": r.Status, "output": r.Output}
		if r.Error != "" {
			m["error"] = r.Error
		}
		steps[id] = m
	}
	x.env = map[string]any{
		"trigger": trigger,
		"event":   trigger,
		"steps":   steps,
		"vars":    x.st.Vars,
		"params":  x.st.Params,
		"run": map[string]any{
			"id": x.run.ID, "flow": x.run.Flow, "version": x.run.FlowVersion, "trigger": trigger,
			"started_at": x.run.CreatedAt.Format(time.RFC3339Nano), "parent": x.run.ParentID,
		},
	}
	for k, v := range x.st.Locals {
		if k != "$key" {
			x.env[k] = v
		}
	}
	return nil
}

// triggerOf returns the run's trigger event as expressions see it: the stored
// event, or for runs started by call (no event) the input.
func (e *Engine) triggerOf(ctx context.Context, run *store.Run) (map[string]any, error) {
	if run.EventID != "" {
		ev, err := e.st.GetEvent(ctx, e.st.Reader(), run.EventID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return map[string]any{"id": run.EventID}, nil
			}
			return nil, err
		}
		return eventMap(ev), nil
	}
	var input any
	if len(run.Input) > 0 {
		_ = json.Unmarshal(run.Input, &input)
	}
	typ := "manual"
	if run.ParentID != "" {
		typ = "call"
	}
	return map[string]any{"type": typ, "data": input, "parent": run.ParentID}, nil
}

// wait parks the run until a matching event arrives.
func (x *exec) wait(ctx context.Context, s *flow.Step, started time.Time) (bool, error) {
	w := s.Wait
	kv, err := w.Key.Eval(x.env)
	if err != nil {
		return x.stepFailed(ctx, s, 1, started, nil, fmt.Errorf("key: %w", err))
	}
	key := expr.Stringify(kv)
	if key == "" {
		return x.stepFailed(ctx, s, 1, started, nil, fault.Errorf(fault.Invalid, "wait %s: key evaluated to an empty value", s.ID))
	}
	timeout := w.Timeout
	if w.TimeoutExpr != nil {
		v, err := w.TimeoutExpr.Eval(x.env)
		if err != nil {
			return x.stepFailed(ctx, s, 1, started, nil, fmt.Errorf("timeout: %w", err))
		}
		if v != nil {
			d, err := toDuration(v)
			if err != nil {
				return x.stepFailed(ctx, s, 1, started, nil, fault.Errorf(fault.Invalid, "wait %s: timeout: %v", s.ID, err))
			}
			timeout = d
		}
	}
	parkID := newID()
	now := x.now()
	var expires time.Time
	if timeout > 0 {
		expires = now.Add(timeout)
	}
	keyExpr := ""
	if w.EventKey != nil {
		keyExpr = keyExprSource(w.EventKey)
	}
	var sources []string
	for _, src := range w.For {
		ref, ok := x.fl.Connections[src.Role]
		if !ok {
			return x.stepFailed(ctx, s, 1, started, nil, fault.Errorf(fault.Permanent, "wait %s: unknown role %q", s.ID, src.Role))
		}
		source := ref.Connection + "/" + src.Trigger
		sources = append(sources, source)
		x.waits = append(x.waits, &store.Wait{WaitID: parkID, Source: source, RunID: x.run.ID, StepID: s.ID,
			KeyExpr: keyExpr, Key: key, CreatedAt: now, ExpiresAt: expires})
	}
	if timeout > 0 {
		x.jobs = append(x.jobs, timerJobOf(x.run.ID, parkID, expires))
	}
	x.st.Park = &park{ID: parkID, Step: s.ID, Kind: "wait", Until: expires}
	x.record(s, store.StepWaiting, 1, started, map[string]any{"key": key, "for": sources, "timeout": timeout.String()}, nil, nil, "")
	var early func(store.Tx) error
	if keyExpr == "" {
		early = func(tx store.Tx) error { return x.takeEarlyEvent(ctx, tx, s, parkID, key, sources) }
	}
	return true, x.commit(ctx, store.RunWaiting, early)
}

// takeEarlyEvent resumes a wait at once, in the transaction that parks it,
// when a matching event already arrived since the run started (a callback
// faster than the run reaching its wait). Events earlier waits of the run
// took are skipped.
func (x *exec) takeEarlyEvent(ctx context.Context, tx store.Tx, s *flow.Step, parkID, key string, sources []string) error {
	for _, src := range sources {
		conn, trigger, _ := strings.Cut(src, "/")
		evs, err := x.e.st.EventsForObject(ctx, tx, conn, trigger, key, x.run.CreatedAt, 20)
		if err != nil {
			return err
		}
		for _, ev := range evs {
			if x.st.consumed(ev.ID) {
				continue
			}
			if s.Wait.Match != nil {
				env := cloneMap(x.env)
				env["event"] = eventMap(ev)
				ok, err := s.Wait.Match.EvalBool(env)
				if err != nil || !ok {
					continue
				}
			}
			_, err := x.e.ResumeTx(ctx, tx, &store.Wait{WaitID: parkID, RunID: x.run.ID}, ev.ID)
			return err
		}
	}
	return nil
}

// keyExprSource returns the text of a single-expression value.
func keyExprSource(v *flow.Value) string {
	progs := v.Programs()
	if len(progs) == 1 {
		return progs[0].Source()
	}
	return ""
}

func timerJobOf(runID, waitID string, at time.Time) queue.Job {
	return queue.Job{Kind: queue.KindTimer, Payload: timerJob{RunID: runID, WaitID: waitID}, RunAt: at}
}

// sleep parks the run until a time.
func (x *exec) sleep(ctx context.Context, s *flow.Step, started time.Time) (bool, error) {
	var until time.Time
	if s.Until != nil {
		v, err := s.Until.Eval(x.env)
		if err != nil {
			return x.stepFailed(ctx, s, 1, started, nil, fmt.Errorf("until: %w", err))
		}
		t, err := time.Parse(time.RFC3339, expr.Stringify(v))
		if err != nil {
			return x.stepFailed(ctx, s, 1, started, nil, fault.Errorf(fault.Invalid, "sleep %s: until %q is not an RFC 3339 time", s.ID, expr.Stringify(v)))
		}
		until = t
	} else {
		v, err := s.Sleep.Eval(x.env)
		if err != nil {
			return x.stepFailed(ctx, s, 1, started, nil, err)
		}
		d, err := toDuration(v)
		if err != nil {
			return x.stepFailed(ctx, s, 1, started, nil, fault.Errorf(fault.Invalid, "sleep %s: %v", s.ID, err))
		}
		until = x.now().Add(d)
	}
	parkID := newID()
	x.st.Park = &park{ID: parkID, Step: s.ID, Kind: "sleep", Until: until}
	x.jobs = append(x.jobs, runJobOf(x.run.ID, &wake{Park: parkID}, until))
	x.record(s, store.StepWaiting, 1, started, map[string]any{"until": until.Format(time.RFC3339Nano)}, nil, nil, "")
	return true, x.commit(ctx, store.RunWaiting, nil)
}

func toDuration(v any) (time.Duration, error) {
	switch d := v.(type) {
	case string:
		return connector.ParseDuration(d)
	case int:
		return time.Duration(d) * time.Second, nil
	case float64:
		return time.Duration(d * float64(time.Second)), nil
	}
	return 0, fmt.Errorf("want a duration like 30s or a number of seconds, got %T", v)
}

// spawn starts the child runs of a call or foreach step and parks the run
// until they end.
func (x *exec) spawn(ctx context.Context, s *flow.Step, started time.Time) (bool, error) {
	parkID := newID()
	ch := &children{}
	if s.Kind == flow.KindCall {
		child, err := x.e.flows.Active(ctx, s.Call)
		if err != nil {
			return x.stepFailed(ctx, s, 1, started, nil, err)
		}
		var input map[string]any
		if s.CallInput != nil {
			v, err := s.CallInput.Eval(x.env)
			if err != nil {
				return x.stepFailed(ctx, s, 1, started, nil, fmt.Errorf("input: %w", err))
			}
			input, _ = v.(map[string]any)
		}
		run, job, err := x.e.PrepareRun(child, "", input, "")
		if err != nil {
			return x.stepFailed(ctx, s, 1, started, input, err)
		}
		run.ParentID, run.ParentStep = x.run.ID, s.ID
		x.children = append(x.children, run)
		x.jobs = append(x.jobs, job)
		ch.Total, ch.Started, ch.Concurrency, ch.Call = 1, 1, 1, child.Name
		ch.Results = []any{nil}
		x.record(s, store.StepWaiting, 1, started, map[string]any{"call": child.Name, "version": child.Version, "run": run.ID}, nil, nil, "")
	} else {
		v, err := s.Items.Eval(x.env)
		if err != nil {
			return x.stepFailed(ctx, s, 1, started, nil, fmt.Errorf("foreach: %w", err))
		}
		items, ok := v.([]any)
		if v != nil && !ok {
			return x.stepFailed(ctx, s, 1, started, nil, fault.Errorf(fault.Invalid, "foreach %s: items evaluated to %T, want a list", s.ID, v))
		}
		if len(items) == 0 {
			x.setResult(s, &stepResult{Status: store.StepSucceeded, Output: []any{}})
			x.record(s, store.StepSucceeded, 1, started, map[string]any{"items": 0}, []any{}, nil, "")
			x.next()
			return false, nil
		}
		conc := max(s.Concurrency, 1)
		ch.Total, ch.Concurrency, ch.Items, ch.Results = len(items), conc, items, make([]any, len(items))
		for i := 0; i < min(conc, len(items)); i++ {
			run, job, err := x.e.iterationRun(x.run, x.st, s, items[i], i)
			if err != nil {
				return x.stepFailed(ctx, s, 1, started, nil, err)
			}
			x.children = append(x.children, run)
			x.jobs = append(x.jobs, job)
			ch.Started++
		}
		x.record(s, store.StepWaiting, 1, started, map[string]any{"items": len(items), "concurrency": conc}, nil, nil, "")
	}
	x.st.Park = &park{ID: parkID, Step: s.ID, Kind: "children", Children: ch}
	return true, x.commit(ctx, store.RunWaiting, nil)
}

// iterationRun builds the run of one foreach item: the same flow version,
// starting at the foreach's body, seeing the parent's state.
func (e *Engine) iterationRun(parent *store.Run, pst *runState, s *flow.Step, item any, index int) (*store.Run, queue.Job, error) {
	base := parent.ID
	if kb, ok := pst.Locals["$key"].(string); ok && kb != "" {
		base = kb
	}
	as := s.As
	if as == "" {
		as = "item"
	}
	st := &runState{
		Stack:  []frame{{Block: s.ID + ":do"}},
		Steps:  pst.compactForStore().Steps,
		Vars:   cloneMap(pst.Vars),
		Params: pst.Params,
		Locals: map[string]any{as: item, "index": index, "$key": base + "/" + s.ID + "[" + strconv.Itoa(index) + "]"},
	}
	state, err := st.encode()
	if err != nil {
		return nil, queue.Job{}, err
	}
	now := e.cfg.Now()
	run := &store.Run{ID: newID(), Flow: parent.Flow, FlowVersion: parent.FlowVersion, EventID: parent.EventID,
		ParentID: parent.ID, ParentStep: s.ID, Status: store.RunQueued, State: state, CreatedAt: now, UpdatedAt: now}
	return run, runJobOf(run.ID, nil, time.Time{}), nil
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// notifyParent records a child's end in its parent, inside the child's
// final transaction: the result is stored, the next foreach item started, and
// the parent woken when every child has ended.
func (e *Engine) notifyParent(ctx context.Context, tx store.Tx, child *store.Run, cst *runState, status string, output any, runErr *store.RunError) error {
	if err := e.st.LockRun(ctx, tx, child.ParentID); err != nil {
		return err
	}
	parent, err := e.st.GetRun(ctx, tx, child.ParentID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	if parent.Status != store.RunWaiting {
		return nil // cancelled or failed meanwhile
	}
	pst, err := decodeState(parent.State)
	if err != nil {
		return err
	}
	p := pst.Park
	if p == nil || p.Kind != "children" || p.Step != child.ParentStep || p.Children == nil {
		return nil
	}
	ch := p.Children
	idx := 0
	if cst != nil {
		if i, ok := cst.Locals["index"].(int); ok {
			idx = i
		} else if f, ok := cst.Locals["index"].(float64); ok {
			idx = int(f)
		}
	}
	if idx >= 0 && idx < len(ch.Results) {
		ch.Results[idx] = output
	}
	ch.Done++
	if status != store.RunSucceeded && ch.Failed == "" {
		msg := "child run " + child.ID + " " + status
		kind := "permanent"
		if runErr != nil {
			msg = fmt.Sprintf("child run %s (item %d) %s: %s", child.ID, idx, status, runErr.Message)
			kind = runErr.Kind
		}
		ch.Failed, ch.FailedKind = msg, kind
	}
	var jobs []queue.Job
	var runs []*store.Run
	if ch.Failed == "" && ch.Call == "" && ch.Started < ch.Total {
		fl, err := e.flows.Get(ctx, parent.Flow, parent.FlowVersion)
		if err != nil {
			return err
		}
		s, ok := fl.Step(p.Step)
		if !ok {
			return fault.Errorf(fault.Permanent, "foreach step %s not found in %s v%d", p.Step, parent.Flow, parent.FlowVersion)
		}
		run, job, err := e.iterationRun(parent, pst, s, ch.Items[ch.Started], ch.Started)
		if err != nil {
			return err
		}
		runs, jobs = append(runs, run), append(jobs, job)
		ch.Started++
	}
	newStatus := store.RunWaiting
	if ch.Done == ch.Started && (ch.Started == ch.Total || ch.Failed != "") {
		newStatus = store.RunQueued
		jobs = append(jobs, runJobOf(parent.ID, &wake{Park: p.ID}, time.Time{}))
	}
	state, err := pst.encode()
	if err != nil {
		return err
	}
	if _, err := e.st.UpdateRun(ctx, tx, parent.ID, store.RunUpdate{Status: newStatus, State: state, From: []string{store.RunWaiting}}); err != nil {
		return err
	}
	for _, r := range runs {
		if _, err := e.st.InsertRun(ctx, tx, r); err != nil {
			return err
		}
	}
	return e.q.Insert(ctx, tx, jobs...)
}

// applyWake continues a parked run at its parked step. done means the job
// ends (the run failed).
func (x *exec) applyWake(ctx context.Context, w *wake) (bool, error) {
	p := x.st.Park
	s, ok := x.current()
	if !ok || s.ID != p.Step {
		return true, x.end(ctx, store.RunFailed, nil, &store.RunError{Step: p.Step, Kind: "permanent", Message: "parked step is not the current step (corrupt state)"})
	}
	started := x.now()
	x.st.Park = nil
	switch p.Kind {
	case "wait":
		if w.Timeout {
			if s.Wait.OnTimeout == "continue" {
				out := map[string]any{"timed_out": true}
				x.setResult(s, &stepResult{Status: store.StepSucceeded, Output: out})
				x.record(s, store.StepSucceeded, 1, started, nil, out, nil, "")
				x.next()
				return false, nil
			}
			return true, x.failRun(ctx, s, 1, started, nil, fault.Errorf(fault.Permanent, "wait %s timed out", s.ID))
		}
		ev, err := x.e.st.GetEvent(ctx, x.e.st.Reader(), w.EventID)
		if err != nil {
			return true, err
		}
		out := eventMap(ev)
		x.st.consume(ev.ID)
		x.setResult(s, &stepResult{Status: store.StepSucceeded, Output: out})
		x.record(s, store.StepSucceeded, 1, started, nil, map[string]any{"event_id": ev.ID, "type": ev.Type, "object": ev.Object}, nil, "")
	case "sleep":
		out := map[string]any{"slept_until": p.Until.Format(time.RFC3339Nano)}
		x.setResult(s, &stepResult{Status: store.StepSucceeded, Output: out})
		x.record(s, store.StepSucceeded, 1, started, nil, out, nil, "")
	case "children":
		ch := p.Children
		if ch.Failed != "" {
			kind, _ := fault.ParseKind(ch.FailedKind)
			return x.stepFailed(ctx, s, 1, started, nil, fault.E(kind, ch.Failed))
		}
		var out any = ch.Results
		if ch.Call != "" {
			out = ch.Results[0]
		}
		x.setResult(s, &stepResult{Status: store.StepSucceeded, Output: out})
		x.record(s, store.StepSucceeded, 1, started, nil, out, nil, "")
	default:
		return true, x.end(ctx, store.RunFailed, nil, &store.RunError{Step: p.Step, Kind: "permanent", Message: "unknown park kind " + p.Kind})
	}
	x.next()
	return false, nil
}
