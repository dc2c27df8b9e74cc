package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/engine"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/store"
)

// The operations below are what the CLI and the HTTP API both offer; each
// is one call into the domain, so the two surfaces cannot drift apart.

// ApplyResult says what applying one file did.
type ApplyResult struct {
	File      string `json:"file"`
	Flow      string `json:"flow"`
	Version   int    `json:"version"`
	Unchanged bool   `json:"unchanged"`
}

// ApplyFlow validates and stores one flow file as its flow's active version.
func (a *App) ApplyFlow(ctx context.Context, file string, src []byte, by string) (*ApplyResult, error) {
	var res *engine.Applied
	err := a.Store.Tx(ctx, func(tx store.Tx) error {
		var err error
		res, err = a.Flows.Apply(ctx, tx, file, src, by)
		if err != nil {
			return err
		}
		return a.observeUser(ctx, tx, by, "flow.apply", "flow/"+res.Flow.Name, map[string]any{"version": res.Version, "unchanged": res.Unchanged})
	})
	if err != nil {
		return nil, err
	}
	a.Flows.Invalidate()
	return &ApplyResult{File: file, Flow: res.Flow.Name, Version: res.Version, Unchanged: res.Unchanged}, nil
}

// ApplyFiles applies flow files in order, stopping at the first failure.
func (a *App) ApplyFiles(ctx context.Context, files []string, by string) ([]*ApplyResult, error) {
	var out []*ApplyResult
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return out, fmt.Errorf("reading %s: %w", f, err)
		}
		r, err := a.ApplyFlow(ctx, f, src, by)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// FlowInfo describes a flow for listings.
type FlowInfo struct {
	Name      string         `json:"name"`
	Version   int            `json:"version"`
	Enabled   bool           `json:"enabled"`
	Trigger   string         `json:"trigger"`
	UpdatedAt time.Time      `json:"updated_at"`
	Runs      map[string]int `json:"runs"`
}

// ListFlows lists every flow with its active version and run counts.
func (a *App) ListFlows(ctx context.Context) ([]FlowInfo, error) {
	heads, err := a.Store.ListFlowHeads(ctx, a.Store.Reader())
	if err != nil {
		return nil, err
	}
	out := make([]FlowInfo, 0, len(heads))
	for _, h := range heads {
		counts, err := a.Store.CountRuns(ctx, a.Store.Reader(), h.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, FlowInfo{Name: h.Name, Version: h.Version, Enabled: h.Enabled, Trigger: h.Source, UpdatedAt: h.UpdatedAt, Runs: counts})
	}
	return out, nil
}

// FlowSource returns the stored source of a flow version (0: the active one).
func (a *App) FlowSource(ctx context.Context, name string, version int) (*store.FlowVersion, error) {
	if version == 0 {
		h, err := a.Store.GetFlowHead(ctx, a.Store.Reader(), name)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, fault.Errorf(fault.NotFound, "no flow named %q", name)
			}
			return nil, err
		}
		version = h.Version
	}
	v, err := a.Store.GetFlowVersion(ctx, a.Store.Reader(), name, version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fault.Errorf(fault.NotFound, "flow %s has no version %d", name, version)
	}
	return v, err
}

// RunInfo is a run for listings and detail views.
type RunInfo struct {
	ID          string          `json:"id"`
	Flow        string          `json:"flow"`
	FlowVersion int             `json:"flow_version"`
	Status      string          `json:"status"`
	EventID     string          `json:"event_id,omitempty"`
	ParentID    string          `json:"parent_id,omitempty"`
	Error       *store.RunError `json:"error,omitempty"`
	Output      json.RawMessage `json:"output,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	StartedAt   time.Time       `json:"started_at,omitzero"`
	EndedAt     time.Time       `json:"ended_at,omitzero"`
	Retries     int             `json:"retries,omitempty"`
}

func runInfo(r *store.Run) RunInfo {
	return RunInfo{ID: r.ID, Flow: r.Flow, FlowVersion: r.FlowVersion, Status: r.Status, EventID: r.EventID, ParentID: r.ParentID,
		Error: r.Error, Output: r.Output, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, EndedAt: r.EndedAt, Retries: r.Generation}
}

// ListRuns lists runs, newest first.
func (a *App) ListRuns(ctx context.Context, f store.RunFilter) ([]RunInfo, error) {
	runs, err := a.Store.ListRuns(ctx, a.Store.Reader(), f)
	if err != nil {
		return nil, err
	}
	out := make([]RunInfo, len(runs))
	for i, r := range runs {
		out[i] = runInfo(r)
	}
	return out, nil
}

// StepInfo is one record of a run's timeline.
type StepInfo struct {
	Seq            int             `json:"seq"`
	Step           string          `json:"step"`
	Kind           string          `json:"kind"`
	Attempt        int             `json:"attempt"`
	Status         string          `json:"status"`
	Input          json.RawMessage `json:"input,omitempty"`
	Output         json.RawMessage `json:"output,omitempty"`
	Error          string          `json:"error,omitempty"`
	ErrorKind      string          `json:"error_kind,omitempty"`
	IdempotencyKey string          `json:"idempotency_key,omitempty"`
	StartedAt      time.Time       `json:"started_at"`
	DurationMS     int64           `json:"duration_ms"`
}

// WaitInfo is what a waiting run waits for.
type WaitInfo struct {
	Step      string    `json:"step"`
	Source    string    `json:"source"`
	Key       string    `json:"key"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// RunDetail is a run with its timeline.
type RunDetail struct {
	RunInfo
	Steps    []StepInfo `json:"steps"`
	Waits    []WaitInfo `json:"waits,omitempty"`
	Children []RunInfo  `json:"children,omitempty"`
}

// GetRun returns a run's detail.
func (a *App) GetRun(ctx context.Context, id string) (*RunDetail, error) {
	r, err := a.Store.GetRun(ctx, a.Store.Reader(), id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fault.Errorf(fault.NotFound, "no run %s", id)
		}
		return nil, err
	}
	d := &RunDetail{RunInfo: runInfo(r), Steps: []StepInfo{}}
	steps, err := a.Store.ListSteps(ctx, a.Store.Reader(), id)
	if err != nil {
		return nil, err
	}
	for _, s := range steps {
		d.Steps = append(d.Steps, StepInfo{Seq: s.Seq, Step: s.StepID, Kind: s.Kind, Attempt: s.Attempt, Status: s.Status,
			Input: s.Input, Output: s.Output, Error: s.Error, ErrorKind: s.ErrorKind, IdempotencyKey: s.IdempotencyKey,
			StartedAt: s.StartedAt, DurationMS: s.EndedAt.Sub(s.StartedAt).Milliseconds()})
	}
	waits, err := a.Store.RunWaits(ctx, a.Store.Reader(), id)
	if err != nil {
		return nil, err
	}
	for _, w := range waits {
		d.Waits = append(d.Waits, WaitInfo{Step: w.StepID, Source: w.Source, Key: w.Key, ExpiresAt: w.ExpiresAt})
	}
	kids, err := a.Store.ListRuns(ctx, a.Store.Reader(), store.RunFilter{ParentID: id, Limit: 1000, Oldest: true})
	if err != nil {
		return nil, err
	}
	for _, k := range kids {
		d.Children = append(d.Children, runInfo(k))
	}
	return d, nil
}

// RetryRun resumes a failed run from its failed step or from fromStep,
// optionally with edited input for that step.
func (a *App) RetryRun(ctx context.Context, id, fromStep string, input map[string]any, by string) error {
	if err := a.Engine.Retry(ctx, id, fromStep, input); err != nil {
		return err
	}
	return a.Store.Tx(ctx, func(tx store.Tx) error {
		return a.observeUser(ctx, tx, by, "run.retry", "run/"+id, map[string]any{"from_step": fromStep, "edited_input": input != nil})
	})
}

// CancelRun cancels a run.
func (a *App) CancelRun(ctx context.Context, id, reason, by string) error {
	if reason == "" {
		reason = "cancelled by " + by
	}
	if err := a.Engine.Cancel(ctx, id, reason); err != nil {
		return err
	}
	return a.Store.Tx(ctx, func(tx store.Tx) error {
		return a.observeUser(ctx, tx, by, "run.cancel", "run/"+id, map[string]any{"reason": reason})
	})
}

// StartRun starts a run of a flow by hand.
func (a *App) StartRun(ctx context.Context, flowName string, input map[string]any) (string, error) {
	out, err := a.Ingest.StartManual(ctx, flowName, input)
	if err != nil {
		return "", err
	}
	return out.Runs[0], nil
}

// EventInfo is an event for listings.
type EventInfo struct {
	ID         string          `json:"id"`
	Source     string          `json:"source"`
	Trigger    string          `json:"trigger"`
	Type       string          `json:"type"`
	Object     string          `json:"object,omitempty"`
	Status     string          `json:"status"`
	Reason     string          `json:"reason,omitempty"`
	Runs       int             `json:"runs"`
	ReceivedAt time.Time       `json:"received_at"`
	Data       json.RawMessage `json:"data,omitempty"`
}

// ListEvents lists received events, newest first.
func (a *App) ListEvents(ctx context.Context, f store.EventFilter, withData bool) ([]EventInfo, error) {
	evs, err := a.Store.ListEvents(ctx, a.Store.Reader(), f)
	if err != nil {
		return nil, err
	}
	out := make([]EventInfo, len(evs))
	for i, e := range evs {
		out[i] = EventInfo{ID: e.ID, Source: e.Source, Trigger: e.Trigger, Type: e.Type, Object: e.Object, Status: e.Status,
			Reason: e.Reason, Runs: e.Runs, ReceivedAt: e.ReceivedAt}
		if withData {
			out[i].Data = e.Data
		}
	}
	return out, nil
}

// WrongConnectorError says a connection uses another connector than the
// caller named.
type WrongConnectorError struct{ Connection, Uses, Want string }

func (e *WrongConnectorError) Error() string {
	return fmt.Sprintf("connection %s uses connector %s, not %s", e.Connection, e.Uses, e.Want)
}

// SetupConnection runs a connection's setup helper: it checks the
// credentials and registers (or repairs) the provider's webhooks to
// publicURL/hooks/NAME/; safe to repeat. connectorName, when not empty, is
// the connector the caller expects the connection to use.
func (a *App) SetupConnection(ctx context.Context, name, connectorName, publicURL string, dryRun bool) (*connector.SetupReport, error) {
	conn, spec, err := a.Conns.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if connectorName != "" && spec.Name != connectorName {
		return nil, &WrongConnectorError{Connection: name, Uses: spec.Name, Want: connectorName}
	}
	s, ok := conn.(connector.Setupper)
	if !ok {
		return nil, fmt.Errorf("connector %s has no setup helper", spec.Name)
	}
	return s.Setup(ctx, &connector.SetupRequest{HookURL: strings.TrimRight(publicURL, "/") + "/hooks/" + name + "/", DryRun: dryRun})
}

// PutConnection creates or replaces a connection.
func (a *App) PutConnection(ctx context.Context, name, connectorName string, values map[string]any, by string) error {
	err := a.Store.Tx(ctx, func(tx store.Tx) error {
		if err := a.Conns.Put(ctx, tx, name, connectorName, values); err != nil {
			return err
		}
		keys := make([]string, 0, len(values))
		for k := range values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return a.observeUser(ctx, tx, by, "connection.put", "connection/"+name, map[string]any{"connector": connectorName, "settings": keys})
	})
	if err == nil {
		a.Conns.Invalidate()
	}
	return err
}

// DeleteConnection removes a connection.
func (a *App) DeleteConnection(ctx context.Context, name, by string) error {
	err := a.Store.Tx(ctx, func(tx store.Tx) error {
		ok, err := a.Store.DeleteConnection(ctx, tx, name)
		if err != nil {
			return err
		}
		if !ok {
			return fault.Errorf(fault.NotFound, "no connection named %q", name)
		}
		return a.observeUser(ctx, tx, by, "connection.delete", "connection/"+name, nil)
	})
	if err == nil {
		a.Conns.Invalidate()
	}
	return err
}

// UserObserver records user actions (the audit trail installs one).
type UserObserver interface {
	UserAction(ctx context.Context, tx store.Tx, actor, action, object string, details map[string]any) error
}

// SetUserObserver installs the recorder of user actions.
func (a *App) SetUserObserver(o UserObserver) { a.userObs = o }

func (a *App) observeUser(ctx context.Context, tx store.Tx, actor, action, object string, details map[string]any) error {
	if a.userObs == nil {
		return nil
	}
	return a.userObs.UserAction(ctx, tx, actor, action, object, details)
}

// SetFlowEnabled turns a flow's trigger on or off.
func (a *App) SetFlowEnabled(ctx context.Context, name string, enabled bool, by string) error {
	err := a.Store.Tx(ctx, func(tx store.Tx) error {
		if err := a.Flows.SetEnabled(ctx, tx, name, enabled); err != nil {
			return err
		}
		return a.observeUser(ctx, tx, by, "flow.enable", "flow/"+name, map[string]any{"enabled": enabled})
	})
	if err == nil {
		a.Flows.Invalidate()
	}
	return err
}
