package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/patchbay/patchbay/internal/expr"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/flow"
	"github.com/patchbay/patchbay/internal/id"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/store"
)

// errMoved means the run changed under us (cancelled, or advanced by
// another worker): the job must stop without writing.
var errMoved = errors.New("run changed concurrently")

// exec advances one run within one job.
type exec struct {
	e    *Engine
	run  *store.Run
	fl   *flow.Flow
	prog *program
	st   *runState
	env  map[string]any
	log  *slog.Logger

	status string // the run's status as last committed
	rev    int64

	// Pending writes, committed together by commit.
	recs     []store.StepRecord
	jobs     []queue.Job
	waits    []*store.Wait
	children []*store.Run
	blobs    [][]byte
	writes   []StepWrite
}

func (e *Engine) advance(ctx context.Context, p runJob) error {
	run, err := e.st.GetRun(ctx, e.st.Reader(), p.RunID)
	if errors.Is(err, store.ErrNotFound) {
		e.log.Warn("run job for a missing run", "run_id", p.RunID)
		return nil
	}
	if err != nil {
		return err
	}
	if store.RunDone(run.Status) {
		return nil
	}
	st, err := decodeState(run.State)
	if err != nil {
		return e.failUnrunnable(ctx, run, err)
	}
	if p.Wake != nil {
		if st.Park == nil || st.Park.ID != p.Wake.Park {
			return nil // stale wake: the run moved on already
		}
	} else if st.Park != nil || run.Status == store.RunWaiting {
		return nil // a parked run continues only when woken
	}
	fl, err := e.flows.Get(ctx, run.Flow, run.FlowVersion)
	if err != nil {
		if fault.KindOf(err) == fault.Transient {
			return err
		}
		return e.failUnrunnable(ctx, run, err)
	}
	if err := e.resolveBlobs(ctx, st); err != nil {
		return err
	}
	x := &exec{e: e, run: run, fl: fl, prog: programOf(fl), st: st, status: run.Status, rev: run.Rev,
		log: e.log.With("run_id", run.ID, "flow", run.Flow, "flow_version", run.FlowVersion)}
	if err := x.buildEnv(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	e.inflight.Store(run.ID, cancel)
	defer func() {
		e.inflight.Delete(run.ID)
		cancel()
	}()
	if p.Wake != nil {
		done, err := x.applyWake(ctx, p.Wake)
		if err != nil || done {
			return x.settle(ctx, err)
		}
	}
	return x.settle(ctx, x.loop(ctx))
}

// settle turns loop outcomes into the job's result.
func (x *exec) settle(ctx context.Context, err error) error {
	if errors.Is(err, errMoved) {
		x.log.Debug("run changed concurrently; stopping this job")
		return nil
	}
	if err != nil && ctx.Err() != nil {
		// Shutting down or cancelled: River will offer the job again; a
		// cancelled run will then be found finished.
		return err
	}
	return err
}

// failUnrunnable fails a run that cannot be executed at all (its flow
// version is gone, its state is corrupt).
func (e *Engine) failUnrunnable(ctx context.Context, run *store.Run, cause error) error {
	e.log.Error("failing a run that cannot execute", "run_id", run.ID, "error", cause)
	return e.st.Tx(ctx, func(tx store.Tx) error {
		_, err := e.st.UpdateRun(ctx, tx, run.ID, store.RunUpdate{Status: store.RunFailed, EndedAt: e.cfg.Now(),
			Error: &store.RunError{Kind: fault.KindOf(cause).String(), Message: cause.Error()},
			From:  []string{store.RunQueued, store.RunRunning, store.RunWaiting}})
		return err
	})
}

func (x *exec) now() time.Time { return x.e.cfg.Now() }

func (x *exec) loop(ctx context.Context) error {
	deadline := x.now().Add(x.e.cfg.JobBudget)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		step, ok := x.current()
		if !ok {
			return x.finish(ctx)
		}
		if x.now().After(deadline) {
			// Hand over to a fresh job so one long run cannot hold a worker
			// beyond the rescue horizon.
			x.jobs = append(x.jobs, runJobOf(x.run.ID, nil, time.Time{}))
			return x.commit(ctx, store.RunRunning, nil)
		}
		done, err := x.step(ctx, step)
		if err != nil || done {
			return err
		}
	}
}

// current returns the step the cursor points at, popping finished blocks.
func (x *exec) current() (*flow.Step, bool) {
	for len(x.st.Stack) > 0 {
		top := &x.st.Stack[len(x.st.Stack)-1]
		block := x.prog.blocks[top.Block]
		if top.Index < len(block) {
			return block[top.Index], true
		}
		x.st.Stack = x.st.Stack[:len(x.st.Stack)-1]
		if len(x.st.Stack) == 0 {
			return nil, false
		}
		// The block belonged to the control step the parent frame points at.
		x.st.Stack[len(x.st.Stack)-1].Index++
	}
	return nil, false
}

// next moves the cursor past the current step.
func (x *exec) next() {
	x.st.Stack[len(x.st.Stack)-1].Index++
	x.st.Attempt, x.st.Delays = 0, 0
}

func (x *exec) push(block string) {
	x.st.Stack = append(x.st.Stack, frame{Block: block})
	x.st.Attempt, x.st.Delays = 0, 0
}

// record appends a history record.
func (x *exec) record(s *flow.Step, status string, attempt int, started time.Time, input, output any, err error, key string) {
	x.st.Seq++
	r := store.StepRecord{RunID: x.run.ID, Seq: x.st.Seq, StepID: s.ID, Kind: string(s.Kind), Attempt: attempt, Status: status,
		IdempotencyKey: key, StartedAt: started, EndedAt: x.now()}
	if input != nil {
		r.Input = capJSON(input, x.e.cfg.MaxValueBytes)
	}
	if output != nil {
		r.Output = capJSON(output, x.e.cfg.MaxValueBytes)
	}
	if err != nil {
		r.Error = err.Error()
		r.ErrorKind = fault.KindOf(err).String()
	}
	x.recs = append(x.recs, r)
}

// capJSON encodes v for the history, replacing it by a note when too large.
func capJSON(v any, limit int) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"$unencodable": err.Error()})
	}
	if len(b) > limit {
		b, _ = json.Marshal(map[string]any{"$truncated": len(b)})
	}
	return b
}

// step executes one step. done means the job ends here.
func (x *exec) step(ctx context.Context, s *flow.Step) (done bool, err error) {
	started := x.now()
	if s.When != nil {
		ok, err := s.When.EvalBool(x.env)
		if err != nil {
			return x.stepFailed(ctx, s, 1, started, nil, fmt.Errorf("when: %w", err))
		}
		if !ok {
			x.setResult(s, &stepResult{Status: store.StepSkipped})
			x.record(s, store.StepSkipped, 1, started, nil, nil, nil, "")
			x.next()
			return false, nil
		}
	}
	switch s.Kind {
	case flow.KindSet:
		out := map[string]any{}
		for _, a := range s.Set {
			v, err := a.Value.Eval(x.env)
			if err != nil {
				return x.stepFailed(ctx, s, 1, started, nil, fmt.Errorf("set %s: %w", a.Name, err))
			}
			x.st.Vars[a.Name] = v
			out[a.Name] = v
		}
		x.setResult(s, &stepResult{Status: store.StepSucceeded, Output: out})
		x.record(s, store.StepSucceeded, 1, started, nil, out, nil, "")
		x.next()
		return false, nil
	case flow.KindIf:
		ok, err := s.Cond.EvalBool(x.env)
		if err != nil {
			return x.stepFailed(ctx, s, 1, started, nil, err)
		}
		branch, block := "else", s.ID+":else"
		if ok {
			branch, block = "then", s.ID+":then"
		}
		out := map[string]any{"branch": branch}
		x.setResult(s, &stepResult{Status: store.StepSucceeded, Output: out})
		x.record(s, store.StepSucceeded, 1, started, nil, out, nil, "")
		x.push(block)
		return false, nil
	case flow.KindSwitch:
		return x.switchStep(ctx, s, started)
	case flow.KindAction:
		return x.action(ctx, s)
	case flow.KindWait:
		return x.wait(ctx, s, started)
	case flow.KindSleep:
		return x.sleep(ctx, s, started)
	case flow.KindCall, flow.KindForeach:
		return x.spawn(ctx, s, started)
	case flow.KindFail:
		msg, err := s.Fail.Eval(x.env)
		if err != nil {
			return x.stepFailed(ctx, s, 1, started, nil, err)
		}
		return true, x.failRun(ctx, s, 1, started, nil, fault.E(fault.Permanent, expr.Stringify(msg)))
	}
	return x.stepFailed(ctx, s, 1, started, nil, fault.Errorf(fault.Permanent, "step %s: unknown kind %q", s.ID, s.Kind))
}

func (x *exec) switchStep(ctx context.Context, s *flow.Step, started time.Time) (bool, error) {
	var val any
	if s.Switch != nil {
		v, err := s.Switch.Eval(x.env)
		if err != nil {
			return x.stepFailed(ctx, s, 1, started, nil, err)
		}
		val = v
	}
	chosen := -1
	for i, c := range s.Cases {
		if c.When != nil {
			ok, err := c.When.EvalBool(x.env)
			if err != nil {
				return x.stepFailed(ctx, s, 1, started, nil, fmt.Errorf("case %d: %w", i+1, err))
			}
			if ok {
				chosen = i
				break
			}
			continue
		}
		cv, err := c.Value.Eval(x.env)
		if err != nil {
			return x.stepFailed(ctx, s, 1, started, nil, fmt.Errorf("case %d: %w", i+1, err))
		}
		if equal(cv, val) {
			chosen = i
			break
		}
	}
	out := map[string]any{"value": val}
	block := s.ID + ":default"
	if chosen >= 0 {
		out["case"] = chosen
		block = fmt.Sprintf("%s:case:%d", s.ID, chosen)
	} else {
		out["case"] = "default"
	}
	x.setResult(s, &stepResult{Status: store.StepSucceeded, Output: out})
	x.record(s, store.StepSucceeded, 1, started, nil, out, nil, "")
	x.push(block)
	return false, nil
}

// equal compares decoded values, treating numbers by value.
func equal(a, b any) bool {
	if fa, ok := toFloat(a); ok {
		fb, ok := toFloat(b)
		return ok && fa == fb
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

// stepFailed handles a step that failed for good: the run goes on when the
// step says continue_on_error, and fails otherwise.
func (x *exec) stepFailed(ctx context.Context, s *flow.Step, attempt int, started time.Time, input any, err error) (bool, error) {
	if s.ContinueOnError {
		x.setResult(s, &stepResult{Status: store.StepFailed, Error: err.Error()})
		x.record(s, store.StepFailed, attempt, started, input, nil, err, "")
		x.next()
		return false, nil
	}
	return true, x.failRun(ctx, s, attempt, started, input, err)
}

// failRun fails the run at step s. The cursor stays on s, so a retry
// resumes there.
func (x *exec) failRun(ctx context.Context, s *flow.Step, attempt int, started time.Time, input any, err error) error {
	x.record(s, store.StepFailed, attempt, started, input, nil, err, x.idemKey(s))
	runErr := &store.RunError{Step: s.ID, Kind: fault.KindOf(err).String(), Message: err.Error()}
	x.log.Info("run failed", "step", s.ID, "error", err)
	return x.end(ctx, store.RunFailed, nil, runErr)
}

func (x *exec) setResult(s *flow.Step, r *stepResult) {
	x.st.Steps[s.ID] = r
	steps := x.env["steps"].(map[string]any)
	m := map[string]any{"status": r.Status, "output": r.Output}
	if r.Error != "" {
		m["error"] = r.Error
	}
	steps[s.ID] = m
}

// finish ends the run successfully, computing its output.
func (x *exec) finish(ctx context.Context) error {
	var out any
	switch {
	case x.run.ParentStep != "" && x.st.Locals != nil:
		// A foreach iteration: collect, or the last step's output.
		owner, _ := x.parentStep(ctx)
		if owner != nil && owner.Collect != nil {
			v, err := owner.Collect.Eval(x.env)
			if err != nil {
				x.st.Stack = []frame{{Block: owner.ID + ":do", Index: max(len(owner.Do)-1, 0)}}
				return x.failRun(ctx, owner, 1, x.now(), nil, fmt.Errorf("collect: %w", err))
			}
			out = v
		} else if owner != nil && len(owner.Do) > 0 {
			if r, ok := x.st.Steps[owner.Do[len(owner.Do)-1].ID]; ok {
				out = r.Output
			}
		}
	case x.fl.Output != nil:
		v, err := x.fl.Output.Eval(x.env)
		if err != nil {
			return x.end(ctx, store.RunFailed, nil, &store.RunError{Kind: fault.KindOf(err).String(), Message: "output: " + err.Error()})
		}
		out = v
	}
	return x.end(ctx, store.RunSucceeded, out, nil)
}

// parentStep returns, for a foreach iteration run, the foreach step.
func (x *exec) parentStep(context.Context) (*flow.Step, bool) {
	return x.fl.Step(x.run.ParentStep)
}

// end commits the run's final status and tells its parent, if any.
func (x *exec) end(ctx context.Context, status string, output any, runErr *store.RunError) error {
	var outJSON json.RawMessage
	if output != nil {
		b, err := json.Marshal(output)
		if err != nil {
			return x.end(ctx, store.RunFailed, nil, &store.RunError{Kind: "invalid", Message: "encoding output: " + err.Error()})
		}
		if len(b) > x.e.cfg.MaxValueBytes {
			return x.end(ctx, store.RunFailed, nil, &store.RunError{Kind: "too_large", Message: sizeError("run output", len(b), x.e.cfg.MaxValueBytes).Error()})
		}
		outJSON = b
	}
	return x.commitWith(ctx, commitOpts{status: status, output: outJSON, runErr: runErr, ended: true}, func(tx store.Tx) error {
		if x.run.ParentID == "" {
			return nil
		}
		return x.e.notifyParent(ctx, tx, x.run, x.st, status, output, runErr)
	})
}

type commitOpts struct {
	status string
	output json.RawMessage
	runErr *store.RunError
	ended  bool
}

func (x *exec) commit(ctx context.Context, status string, extra func(tx store.Tx) error) error {
	return x.commitWith(ctx, commitOpts{status: status}, extra)
}

// commitWith writes everything pending in one transaction: the run's state
// and status, step records, waits, child runs, blobs, jobs and whatever the
// observer adds (audit entries, links). It fails with errMoved when the run
// changed since this job loaded it.
func (x *exec) commitWith(ctx context.Context, o commitOpts, extra func(tx store.Tx) error) error {
	state, err := x.st.compactForStore().encode()
	if err != nil {
		return err
	}
	now := x.now()
	u := store.RunUpdate{Status: o.status, State: state, Output: o.output, Error: o.runErr, StartedAt: now,
		From: []string{x.status}, Rev: x.rev, StepSeq: x.st.Seq}
	if o.ended {
		u.EndedAt = now
	}
	c := &Commit{Run: x.run, Flow: x.run.Flow, Version: x.run.FlowVersion, Status: o.status, Steps: x.recs, Writes: x.writes, Ended: o.ended}
	if p, ok := x.e.obs.(CommitPreparer); ok {
		p.PrepareCommit(ctx, c)
	}
	// A failed commit must not lose the job's work if it is retried by
	// River, but it must not leak into the next attempt's transaction either:
	// everything below only reads x.
	err = x.e.st.Tx(ctx, func(tx store.Tx) error {
		moved, err := x.e.st.UpdateRun(ctx, tx, x.run.ID, u)
		if err != nil {
			return err
		}
		if !moved {
			return errMoved
		}
		for _, b := range x.blobs {
			if _, err := x.e.st.PutBlob(ctx, tx, b); err != nil {
				return err
			}
		}
		if err := x.e.st.InsertSteps(ctx, tx, x.recs); err != nil {
			return err
		}
		for _, w := range x.waits {
			if err := x.e.st.InsertWait(ctx, tx, w); err != nil {
				return err
			}
		}
		for _, r := range x.children {
			if _, err := x.e.st.InsertRun(ctx, tx, r); err != nil {
				return err
			}
		}
		if err := x.e.q.Insert(ctx, tx, x.jobs...); err != nil {
			return err
		}
		if extra != nil {
			if err := extra(tx); err != nil {
				return err
			}
		}
		return x.e.obs.StepsCommitted(ctx, tx, c)
	})
	if errors.Is(err, errMoved) {
		x.recordCancelled(ctx)
		return errMoved
	}
	if err != nil {
		return err
	}
	x.status, x.rev = o.status, x.rev+1
	x.recs, x.jobs, x.waits, x.children, x.blobs, x.writes = nil, nil, nil, nil, nil, nil
	return nil
}

// recordCancelled keeps the history of work done by a job whose run was
// cancelled under it (an action may have run), best effort.
func (x *exec) recordCancelled(ctx context.Context) {
	if len(x.recs) == 0 {
		return
	}
	run, err := x.e.st.GetRun(ctx, x.e.st.Reader(), x.run.ID)
	if err != nil || run.Status != store.RunCancelled {
		return
	}
	recs := make([]store.StepRecord, 0, len(x.recs))
	seq := run.StepSeq
	for _, r := range x.recs {
		if r.Kind != string(flow.KindAction) {
			continue
		}
		seq++
		r.Seq = seq
		r.Status = store.StepCancelled
		recs = append(recs, r)
	}
	_ = x.e.st.Tx(context.WithoutCancel(ctx), func(tx store.Tx) error {
		if len(recs) == 0 {
			return nil
		}
		if err := x.e.st.InsertSteps(ctx, tx, recs); err != nil {
			return err
		}
		if err := x.e.st.SetRunStepSeq(ctx, tx, x.run.ID, seq); err != nil {
			return err
		}
		// Writes the cancelled job made still reach the links and audit trail.
		return x.e.obs.StepsCommitted(ctx, tx, &Commit{Run: x.run, Flow: x.run.Flow, Version: x.run.FlowVersion,
			Status: store.RunCancelled, Steps: recs, Writes: x.writes})
	})
}

// idemKey is the step's idempotency key: the same for every attempt and
// re-execution of this step in this run (or foreach iteration), different
// after a retry with edited input.
func (x *exec) idemKey(s *flow.Step) string {
	base := x.run.ID
	if kb, ok := x.st.Locals["$key"].(string); ok && kb != "" {
		base = kb
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s", base, s.ID)
	if o, ok := x.st.Override[s.ID]; ok {
		h.Write([]byte{0})
		h.Write(o)
	}
	return "pb-" + hex.EncodeToString(h.Sum(nil))[:40]
}

// newID returns a fresh id.
func newID() string { return id.New() }
