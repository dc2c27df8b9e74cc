package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/flow"
	"github.com/patchbay/patchbay/internal/store"
)

// Default retry policy for actions without one.
var defaultRetry = flow.Retry{Attempts: 3, Backoff: "exponential", Delay: time.Second, Max: 5 * time.Minute}

func retryPolicy(s *flow.Step) flow.Retry {
	r := defaultRetry
	if s.Retry != nil {
		r = *s.Retry
		if r.Attempts <= 0 {
			r.Attempts = 1
		}
		if r.Delay <= 0 {
			r.Delay = defaultRetry.Delay
		}
		if r.Max <= 0 {
			r.Max = defaultRetry.Max
		}
		if r.Backoff == "" {
			r.Backoff = defaultRetry.Backoff
		}
	}
	return r
}

// backoff is the delay before attempt n+1 after n failures, with jitter.
func (e *Engine) backoff(r flow.Retry, n int) time.Duration {
	d := r.Delay
	switch r.Backoff {
	case "fixed":
	case "linear":
		d = r.Delay * time.Duration(n)
	default:
		d = time.Duration(float64(r.Delay) * math.Pow(2, float64(n-1)))
	}
	if d > r.Max || d <= 0 {
		d = r.Max
	}
	return time.Duration(float64(d) * e.cfg.Jitter())
}

// connectionFor returns the connection an action step uses.
func (x *exec) connectionFor(s *flow.Step) string {
	if s.Role != "" {
		if ref, ok := x.fl.Connections[s.Role]; ok {
			return ref.Connection
		}
	}
	return s.Connector
}

// action runs one attempt of an action step and decides what follows.
func (x *exec) action(ctx context.Context, s *flow.Step) (bool, error) {
	started := x.now()
	attempt := x.st.Attempt + 1
	conn, spec, err := x.e.conns.Get(ctx, x.connectionFor(s))
	if err != nil {
		return x.actionError(ctx, s, attempt, started, nil, err, false)
	}
	as, ok := spec.Action(s.Action)
	if !ok {
		return x.stepFailed(ctx, s, attempt, started, nil, fault.Errorf(fault.Permanent, "connector %s has no action %q", spec.Name, s.Action))
	}
	raw, err := x.actionInput(s)
	if err != nil {
		return x.stepFailed(ctx, s, attempt, started, nil, err)
	}
	in, err := connector.Prepare(as.Input, raw, false)
	if err != nil {
		return x.stepFailed(ctx, s, attempt, started, raw, err)
	}
	if b, _ := json.Marshal(in); len(b) > x.e.cfg.MaxValueBytes {
		return x.stepFailed(ctx, s, attempt, started, nil, fault.E(fault.TooLarge, sizeError("input of step "+s.ID, len(b), x.e.cfg.MaxValueBytes)))
	}
	key := x.idemKey(s)
	link, err := x.linkFor(ctx, s)
	if err != nil {
		return x.stepFailed(ctx, s, attempt, started, in, err)
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = x.e.cfg.StepTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	res, err := conn.Do(tctx, s.Action, &connector.Request{Input: in, IdempotencyKey: key, RunID: x.run.ID, StepID: s.ID,
		Logger: x.log.With("step", s.ID, "action", spec.Name+"."+s.Action), Link: link})
	timedOut := errors.Is(tctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return true, ctx.Err() // shutdown or cancel: the step is in flight and will be re-executed or dropped
		}
		if timedOut {
			err = fault.E(fault.Transient, fmt.Sprintf("step %s timed out after %s", s.ID, timeout), err)
		}
		return x.actionError(ctx, s, attempt, started, in, err, as.Idempotent)
	}
	if res == nil {
		res = &connector.Result{}
	}
	out, err := plain(res.Output)
	if err != nil {
		return x.stepFailed(ctx, s, attempt, started, in, fault.E(fault.Permanent, "decoding action output", err))
	}
	outJSON, _ := json.Marshal(out)
	if len(outJSON) > x.e.cfg.MaxValueBytes {
		return x.stepFailed(ctx, s, attempt, started, in, fault.E(fault.TooLarge, sizeError("output of step "+s.ID, len(outJSON), x.e.cfg.MaxValueBytes)))
	}
	r := &stepResult{Status: store.StepSucceeded, Output: out}
	if len(outJSON) > x.e.cfg.BlobThreshold {
		r.Blob = blobHash(outJSON)
		x.blobs = append(x.blobs, outJSON)
	}
	x.setResult(s, r)
	x.record(s, store.StepSucceeded, attempt, started, in, out, nil, key)
	linkKey := ""
	if s.Link != nil {
		if v, err := s.Link.Eval(x.env); err == nil {
			linkKey = fmt.Sprint(v)
		}
	}
	for _, w := range res.Writes {
		x.writes = append(x.writes, StepWrite{StepID: s.ID, Link: linkKey, Write: w})
	}
	if n, ok := x.e.obs.(WriteNoter); ok && len(res.Writes) > 0 {
		n.WritesReported(x.run, s.ID, res.Writes)
	}
	x.next()
	// An action's result is committed before anything else happens, so a
	// crash from here on never repeats it.
	return false, x.commit(ctx, store.RunRunning, nil)
}

func (x *exec) actionInput(s *flow.Step) (map[string]any, error) {
	if o, ok := x.st.Override[s.ID]; ok {
		var m map[string]any
		if err := json.Unmarshal(o, &m); err != nil {
			return nil, fault.E(fault.Invalid, "decoding edited input", err)
		}
		return m, nil
	}
	v, err := s.Input.Eval(x.env)
	if err != nil {
		return nil, fmt.Errorf("input: %w", err)
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fault.Errorf(fault.Invalid, "input of step %s evaluated to %T, want a map", s.ID, v)
	}
	return m, nil
}

// actionError decides between delaying, retrying and failing.
func (x *exec) actionError(ctx context.Context, s *flow.Step, attempt int, started time.Time, in map[string]any, err error, idempotent bool) (bool, error) {
	kind := fault.KindOf(err)
	policy := retryPolicy(s)
	switch {
	case kind == fault.RateLimited && x.st.Delays < x.e.cfg.MaxRateLimitDelays:
		x.st.Delays++
		d := fault.RetryAfter(err)
		if d <= 0 {
			d = x.e.backoff(flow.Retry{Delay: time.Second, Max: time.Minute}, min(x.st.Delays, 7))
		}
		x.record(s, store.StepDelayed, attempt, started, in, map[string]any{"retry_after_ms": d.Milliseconds()}, err, x.idemKey(s))
		x.log.Debug("step rate limited; delaying", "step", s.ID, "delay", d)
		return x.delay(ctx, d)
	case kind.Retryable() && attempt < policy.Attempts && (idempotent || fault.IsSafe(err) || policy.Unsafe):
		x.st.Attempt = attempt
		d := x.e.backoff(policy, attempt)
		x.record(s, store.StepRetrying, attempt, started, in, map[string]any{"retry_in_ms": d.Milliseconds()}, err, x.idemKey(s))
		x.log.Debug("step failed; retrying", "step", s.ID, "attempt", attempt, "delay", d, "error", err)
		return x.delay(ctx, d)
	}
	if kind.Retryable() && attempt < policy.Attempts {
		err = fmt.Errorf("%w (not retried: the action is not idempotent and the failure is ambiguous; set retry.unsafe to retry anyway)", err)
	}
	return x.stepFailed(ctx, s, attempt, started, in, err)
}

// delay waits d before the current step runs again: in the worker when
// short, else by committing and scheduling the run.
func (x *exec) delay(ctx context.Context, d time.Duration) (bool, error) {
	if d <= x.e.cfg.HoldMax {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return false, nil
		case <-ctx.Done():
			return true, ctx.Err()
		}
	}
	x.jobs = append(x.jobs, runJobOf(x.run.ID, nil, x.now().Add(d)))
	return true, x.commit(ctx, store.RunRunning, nil)
}

// plain turns an action's output into plain JSON values (maps, lists,
// strings, float64/int, bools), as expressions and the store expect.
func plain(v any) (any, error) {
	switch v.(type) {
	case nil, string, bool, int, float64:
		return v, nil
	case map[string]any, []any:
		// Already plain when the connector decoded JSON; round trip to be sure.
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return normalizeNumbers(out), nil
}

// normalizeNumbers turns whole float64s into ints so values read back from
// JSON compare equal to the same values computed by expressions.
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int(x)
		}
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
	}
	return v
}

// linkFor loads the link group a step names (filled in by the links package
// through the observer; nil when the step declares none).
func (x *exec) linkFor(ctx context.Context, s *flow.Step) (*connector.Link, error) {
	if s.Link == nil {
		return nil, nil
	}
	v, err := s.Link.Eval(x.env)
	if err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	key := fmt.Sprint(v)
	if key == "" || v == nil {
		return nil, nil
	}
	if l, ok := x.e.obs.(LinkReader); ok {
		return l.ReadLink(ctx, key)
	}
	return &connector.Link{Key: key}, nil
}

// WriteNoter is implemented by an Observer that wants to know of writes as
// soon as a connector reports them, before the step commits (echo
// suppression: a provider's webhook can overtake the commit).
type WriteNoter interface {
	WritesReported(run *store.Run, step string, writes []connector.Write)
}

// LinkReader is implemented by an observer that keeps links, so action
// steps with a link key receive what patchbay knows of the linked objects.
type LinkReader interface {
	ReadLink(ctx context.Context, key string) (*connector.Link, error)
}
