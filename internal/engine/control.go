package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/expr"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/flow"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/store"
)

// PrepareRun builds a new run of fl and the job that starts it; the caller
// inserts both in its transaction. input overrides parameters (manual and
// call runs); dedupe, when not empty, is the run's dedupe key.
func (e *Engine) PrepareRun(fl *flow.Flow, eventID string, input map[string]any, dedupe string) (*store.Run, queue.Job, error) {
	params, err := ResolveParams(fl, input)
	if err != nil {
		return nil, queue.Job{}, err
	}
	st := &runState{Stack: []frame{{Block: ""}}, Params: params}
	state, err := st.encode()
	if err != nil {
		return nil, queue.Job{}, err
	}
	var in json.RawMessage
	if input != nil {
		if in, err = json.Marshal(input); err != nil {
			return nil, queue.Job{}, fault.E(fault.Invalid, "encoding run input", err)
		}
	}
	now := e.cfg.Now()
	run := &store.Run{ID: newID(), Flow: fl.Name, FlowVersion: fl.Version, EventID: eventID, Status: store.RunQueued,
		State: state, Input: in, Dedupe: dedupe, CreatedAt: now, UpdatedAt: now}
	return run, runJobOf(run.ID, nil, time.Time{}), nil
}

// ResolveParams applies a flow's parameter defaults and checks input values
// against the declared types. Unknown or missing required parameters are errors.
func ResolveParams(fl *flow.Flow, input map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(fl.Params))
	var problems []string
	for _, p := range fl.Params {
		v, ok := input[p.Name]
		if !ok || v == nil {
			if p.Required && p.Default == nil {
				problems = append(problems, fmt.Sprintf("param %s: required", p.Name))
				continue
			}
			out[p.Name] = p.Default
			continue
		}
		f := connector.Field{Name: p.Name, Type: connector.Type(p.Type), Enum: p.Enum}
		if err := connector.CheckValue(f, v); err != nil {
			problems = append(problems, fmt.Sprintf("param %s: %v", p.Name, err))
			continue
		}
		out[p.Name] = v
	}
	for k := range input {
		if _, ok := fl.Param(k); !ok {
			problems = append(problems, fmt.Sprintf("param %s: flow %s declares no such parameter", k, fl.Name))
		}
	}
	if len(problems) > 0 {
		return nil, fault.E(fault.Invalid, "resolving parameters", joinLines(problems))
	}
	return out, nil
}

func joinLines(s []string) string {
	out := ""
	for i, p := range s {
		if i > 0 {
			out += "; "
		}
		out += p
	}
	return out
}

// Cancel cancels a queued, running or waiting run and its unfinished
// children. A step in flight on this node is interrupted; on another node
// its result is discarded at commit.
func (e *Engine) Cancel(ctx context.Context, runID, reason string) error {
	var cancelled []string
	err := e.st.Tx(ctx, func(tx store.Tx) error {
		cancelled = cancelled[:0]
		return e.cancelTx(ctx, tx, runID, reason, &cancelled, true)
	})
	if err != nil {
		return err
	}
	for _, id := range cancelled {
		if c, ok := e.inflight.Load(id); ok {
			c.(context.CancelFunc)()
		}
	}
	return nil
}

func (e *Engine) cancelTx(ctx context.Context, tx store.Tx, runID, reason string, cancelled *[]string, top bool) error {
	run, err := e.st.GetRun(ctx, tx, runID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fault.Errorf(fault.NotFound, "no run %s", runID)
		}
		return err
	}
	if store.RunDone(run.Status) {
		if top {
			return fault.Errorf(fault.Conflict, "run %s already %s", runID, run.Status)
		}
		return nil
	}
	if reason == "" {
		reason = "cancelled"
	}
	now := e.cfg.Now()
	runErr := &store.RunError{Kind: fault.Canceled.String(), Message: reason}
	moved, err := e.st.UpdateRun(ctx, tx, runID, store.RunUpdate{Status: store.RunCancelled, Error: runErr, EndedAt: now,
		From: []string{store.RunQueued, store.RunRunning, store.RunWaiting}})
	if err != nil || !moved {
		return err
	}
	*cancelled = append(*cancelled, runID)
	if err := e.st.DeleteRunWaits(ctx, tx, runID); err != nil {
		return err
	}
	kids, err := e.st.ListRuns(ctx, tx, store.RunFilter{ParentID: runID, Limit: 10000})
	if err != nil {
		return err
	}
	for _, k := range kids {
		if err := e.cancelTx(ctx, tx, k.ID, "parent run "+runID+" cancelled", cancelled, false); err != nil {
			return err
		}
	}
	if top && run.ParentID != "" {
		st, _ := decodeState(run.State)
		if err := e.notifyParent(ctx, tx, run, st, store.RunCancelled, nil, runErr); err != nil {
			return err
		}
	}
	return e.obs.StepsCommitted(ctx, tx, &Commit{Run: run, Flow: run.Flow, Version: run.FlowVersion, Status: store.RunCancelled, Ended: true})
}

// Retry resumes a failed or cancelled run from the step it stopped at, or
// from the step fromStep (a step of the run's flow outside any foreach
// body). input, when given, replaces that step's input once.
func (e *Engine) Retry(ctx context.Context, runID, fromStep string, input map[string]any) error {
	return e.st.Tx(ctx, func(tx store.Tx) error {
		run, err := e.st.GetRun(ctx, tx, runID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fault.Errorf(fault.NotFound, "no run %s", runID)
			}
			return err
		}
		if run.Status != store.RunFailed && run.Status != store.RunCancelled {
			return fault.Errorf(fault.Conflict, "run %s is %s; only failed or cancelled runs can be retried", runID, run.Status)
		}
		if run.ParentID != "" {
			return fault.Errorf(fault.Invalid, "run %s is part of run %s; retry that run instead", runID, run.ParentID)
		}
		fl, err := e.flows.Get(ctx, run.Flow, run.FlowVersion)
		if err != nil {
			return err
		}
		st, err := decodeState(run.State)
		if err != nil {
			return err
		}
		target := ""
		if fromStep != "" {
			stack, ok := stackFor(fl, fromStep)
			if !ok {
				return fault.Errorf(fault.Invalid, "flow %s v%d has no step %q outside a foreach body", run.Flow, run.FlowVersion, fromStep)
			}
			st.Stack = stack
			target = fromStep
		} else {
			x := &exec{prog: programOf(fl), st: st}
			s, ok := x.current()
			if !ok {
				return fault.Errorf(fault.Conflict, "run %s has no step left to retry", runID)
			}
			target = s.ID
		}
		if input != nil {
			s, _ := fl.Step(target)
			if s == nil || s.Kind != flow.KindAction {
				return fault.Errorf(fault.Invalid, "step %s is not an action; only action input can be edited", target)
			}
			b, err := json.Marshal(input)
			if err != nil {
				return fault.E(fault.Invalid, "encoding input", err)
			}
			if st.Override == nil {
				st.Override = map[string]json.RawMessage{}
			}
			st.Override[target] = b
		}
		st.Park, st.Attempt, st.Delays = nil, 0, 0
		state, err := st.encode()
		if err != nil {
			return err
		}
		moved, err := e.st.UpdateRun(ctx, tx, runID, store.RunUpdate{Status: store.RunQueued, State: state, ClearError: true,
			Generation: run.Generation + 1, From: []string{store.RunFailed, store.RunCancelled}})
		if err != nil {
			return err
		}
		if !moved {
			return fault.Errorf(fault.Conflict, "run %s changed; try again", runID)
		}
		if err := e.q.Insert(ctx, tx, runJobOf(runID, nil, time.Time{})); err != nil {
			return err
		}
		return e.obs.StepsCommitted(ctx, tx, &Commit{Run: run, Flow: run.Flow, Version: run.FlowVersion, Status: store.RunQueued})
	})
}

// stackFor returns the cursor that points at step id, or false when the
// step is not reachable from the flow's top level without entering a
// foreach body.
func stackFor(fl *flow.Flow, id string) ([]frame, bool) {
	var walk func(block string, steps []*flow.Step, stack []frame) ([]frame, bool)
	walk = func(block string, steps []*flow.Step, stack []frame) ([]frame, bool) {
		for i, s := range steps {
			here := append(append([]frame(nil), stack...), frame{Block: block, Index: i})
			if s.ID == id {
				return here, true
			}
			switch s.Kind {
			case flow.KindIf:
				if r, ok := walk(s.ID+":then", s.Then, here); ok {
					return r, true
				}
				if r, ok := walk(s.ID+":else", s.Else, here); ok {
					return r, true
				}
			case flow.KindSwitch:
				for ci, c := range s.Cases {
					if r, ok := walk(fmt.Sprintf("%s:case:%d", s.ID, ci), c.Steps, here); ok {
						return r, true
					}
				}
				if r, ok := walk(s.ID+":default", s.Default, here); ok {
					return r, true
				}
			}
		}
		return nil, false
	}
	return walk("", fl.Steps, nil)
}

// ResumeTx wakes the run parked on wait w with event eventID, inside the
// caller's transaction. It reports false when someone else (a timeout, a
// cancel, another event) got the wait first.
func (e *Engine) ResumeTx(ctx context.Context, tx store.Tx, w *store.Wait, eventID string) (bool, error) {
	won, err := e.st.DeleteWait(ctx, tx, w.WaitID)
	if err != nil || !won {
		return false, err
	}
	moved, err := e.st.UpdateRun(ctx, tx, w.RunID, store.RunUpdate{Status: store.RunQueued, From: []string{store.RunWaiting}})
	if err != nil || !moved {
		return false, err
	}
	return true, e.q.Insert(ctx, tx, runJobOf(w.RunID, &wake{Park: w.WaitID, EventID: eventID}, time.Time{}))
}

// WaitMatches evaluates a wait's match condition against a candidate event.
func (e *Engine) WaitMatches(ctx context.Context, w *store.Wait, event map[string]any) (bool, error) {
	run, err := e.st.GetRun(ctx, e.st.Reader(), w.RunID)
	if err != nil {
		return false, err
	}
	fl, err := e.flows.Get(ctx, run.Flow, run.FlowVersion)
	if err != nil {
		return false, err
	}
	s, ok := fl.Step(w.StepID)
	if !ok || s.Wait == nil || s.Wait.Match == nil {
		return true, nil
	}
	st, err := decodeState(run.State)
	if err != nil {
		return false, err
	}
	if err := e.resolveBlobs(ctx, st); err != nil {
		return false, err
	}
	x := &exec{e: e, run: run, fl: fl, st: st}
	if err := x.buildEnv(ctx); err != nil {
		return false, err
	}
	x.env["event"] = event
	return s.Wait.Match.EvalBool(x.env)
}

var keyExprs sync.Map // source text → *expr.Program

// EventKey computes an event's correlation key for a wait's event_key
// expression ("" means the event's object reference).
func EventKey(keyExpr string, event map[string]any) (string, error) {
	if keyExpr == "" {
		s, _ := event["object"].(string)
		return s, nil
	}
	var p *expr.Program
	if v, ok := keyExprs.Load(keyExpr); ok {
		p = v.(*expr.Program)
	} else {
		var err error
		if p, err = expr.Compile(keyExpr); err != nil {
			return "", err
		}
		keyExprs.Store(keyExpr, p)
	}
	v, err := p.Eval(map[string]any{"event": event, "trigger": event})
	if err != nil {
		return "", err
	}
	return expr.Stringify(v), nil
}

// EventMap is an event as expressions see it.
func EventMap(ev *store.Event) map[string]any { return eventMap(ev) }
