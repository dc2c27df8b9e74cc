package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/flow"
	"github.com/patchbay/patchbay/internal/store"
)

// runState is a run's execution state, stored as JSON in pb_runs.state. It
// is everything needed to continue the run on any node after any crash.
type runState struct {
	// Stack is the program counter: one frame per nested block.
	Stack []frame `json:"stack"`
	// Steps holds finished steps' results by step id.
	Steps map[string]*stepResult `json:"steps,omitempty"`
	Vars  map[string]any         `json:"vars,omitempty"`
	// Params are the flow's parameters with defaults applied.
	Params map[string]any `json:"params,omitempty"`
	// Locals are item/index inside a foreach iteration run.
	Locals map[string]any `json:"locals,omitempty"`
	// Seq numbers the step history records.
	Seq int `json:"seq"`
	// Attempt counts tries of the current step (reset when it moves on);
	// Delays counts rate-limit delays of it.
	Attempt int `json:"attempt,omitempty"`
	Delays  int `json:"delays,omitempty"`
	// Park says what a waiting run waits for.
	Park *park `json:"park,omitempty"`
	// Override replaces the input of a step once (retry with edited input).
	Override map[string]json.RawMessage `json:"override,omitempty"`
	// Consumed lists the events that resumed this run's waits (newest
	// last, bounded), so a later wait on the same key does not take them again.
	Consumed []string `json:"consumed,omitempty"`
}

// consume remembers an event that resumed a wait.
func (st *runState) consume(eventID string) {
	st.Consumed = append(st.Consumed, eventID)
	if len(st.Consumed) > 100 {
		st.Consumed = st.Consumed[len(st.Consumed)-100:]
	}
}

func (st *runState) consumed(eventID string) bool {
	for _, id := range st.Consumed {
		if id == eventID {
			return true
		}
	}
	return false
}

type frame struct {
	Block string `json:"b"`
	Index int    `json:"i"`
}

// stepResult is a finished step as expressions see it (steps.<id>).
type stepResult struct {
	Status string `json:"status"`
	Output any    `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
	// Blob holds the hash of an output too large to keep inline.
	Blob string `json:"blob,omitempty"`
}

// park describes what a parked run waits for.
type park struct {
	ID   string `json:"id"`
	Step string `json:"step"`
	Kind string `json:"kind"` // wait, sleep, children
	// Until is when a sleep ends or a wait times out.
	Until time.Time `json:"until,omitzero"`
	// Children tracks call and foreach children.
	Children *children `json:"children,omitempty"`
}

type children struct {
	Total       int    `json:"total"`
	Started     int    `json:"started"`
	Done        int    `json:"done"`
	Concurrency int    `json:"concurrency"`
	Items       []any  `json:"items,omitempty"`
	Results     []any  `json:"results"`
	Failed      string `json:"failed,omitempty"` // first child error
	FailedKind  string `json:"failed_kind,omitempty"`
	Call        string `json:"call,omitempty"` // called flow name
}

func decodeState(raw json.RawMessage) (*runState, error) {
	st := &runState{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, st); err != nil {
			return nil, fault.E(fault.Permanent, "decoding run state", err)
		}
	}
	// JSON decoding makes every number a float64; whole numbers go back to
	// int so values read from state equal values computed by expressions.
	for _, r := range st.Steps {
		r.Output = normalizeNumbers(r.Output)
	}
	for _, m := range []map[string]any{st.Vars, st.Params, st.Locals} {
		for k, v := range m {
			m[k] = normalizeNumbers(v)
		}
	}
	if st.Park != nil && st.Park.Children != nil {
		for i, v := range st.Park.Children.Results {
			st.Park.Children.Results[i] = normalizeNumbers(v)
		}
		for i, v := range st.Park.Children.Items {
			st.Park.Children.Items[i] = normalizeNumbers(v)
		}
	}
	if st.Steps == nil {
		st.Steps = map[string]*stepResult{}
	}
	if st.Vars == nil {
		st.Vars = map[string]any{}
	}
	return st, nil
}

func (st *runState) encode() (json.RawMessage, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return nil, fault.E(fault.Permanent, "encoding run state", err)
	}
	return b, nil
}

// Block ids: "" is the flow's steps; "<step>:then", "<step>:else",
// "<step>:case:<i>", "<step>:default" and "<step>:do" are nested blocks.
type program struct {
	blocks map[string][]*flow.Step
}

var programs sync.Map // *flow.Flow → *program

func programOf(fl *flow.Flow) *program {
	if p, ok := programs.Load(fl); ok {
		return p.(*program)
	}
	p := &program{blocks: map[string][]*flow.Step{"": fl.Steps}}
	flow.Walk(fl.Steps, func(s *flow.Step) bool {
		switch s.Kind {
		case flow.KindIf:
			p.blocks[s.ID+":then"] = s.Then
			p.blocks[s.ID+":else"] = s.Else
		case flow.KindSwitch:
			for i, c := range s.Cases {
				p.blocks[fmt.Sprintf("%s:case:%d", s.ID, i)] = c.Steps
			}
			p.blocks[s.ID+":default"] = s.Default
		case flow.KindForeach:
			p.blocks[s.ID+":do"] = s.Do
		}
		return true
	})
	actual, _ := programs.LoadOrStore(fl, p)
	return actual.(*program)
}

// resolveBlobs replaces outputs stored as blobs by their values, so
// expressions can read them.
func (e *Engine) resolveBlobs(ctx context.Context, st *runState) error {
	for id, r := range st.Steps {
		if r.Blob == "" || r.Output != nil {
			continue
		}
		b, err := e.st.GetBlob(ctx, e.st.Reader(), r.Blob)
		if err != nil {
			return fmt.Errorf("loading output of step %s: %w", id, err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return fmt.Errorf("decoding output of step %s: %w", id, err)
		}
		r.Output = v
	}
	return nil
}

// compactForStore returns the state with blob-backed outputs emptied, so the
// stored state holds only their hashes.
func (st *runState) compactForStore() *runState {
	cp := *st
	cp.Steps = make(map[string]*stepResult, len(st.Steps))
	for id, r := range st.Steps {
		if r.Blob != "" {
			cp.Steps[id] = &stepResult{Status: r.Status, Error: r.Error, Blob: r.Blob}
			continue
		}
		cp.Steps[id] = r
	}
	return &cp
}

// eventMap is an event as expressions see it.
func eventMap(ev *store.Event) map[string]any {
	if ev == nil {
		return map[string]any{}
	}
	var data any
	if len(ev.Data) > 0 {
		_ = json.Unmarshal(ev.Data, &data)
		data = normalizeNumbers(data)
	}
	objs := make([]any, len(ev.Objects))
	for i, o := range ev.Objects {
		objs[i] = o
	}
	m := map[string]any{
		"id": ev.ID, "type": ev.Type, "object": ev.Object, "object_id": objectID(ev.Object), "objects": objs,
		"data": data, "connection": ev.Source, "trigger": ev.Trigger, "source": ev.Source + "/" + ev.Trigger,
		"received_at": ev.ReceivedAt.Format(time.RFC3339Nano), "hash": ev.Hash, "version": ev.Version,
	}
	if !ev.OccurredAt.IsZero() {
		m["time"] = ev.OccurredAt.Format(time.RFC3339Nano)
	}
	return m
}

// objectID is the id part of an object reference ("iconik:asset/ID" → "ID";
// "contentstack:entry/video/UID" → "UID").
func objectID(ref string) string {
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		return ref[i+1:]
	}
	if i := strings.IndexByte(ref, ':'); i >= 0 {
		return ref[i+1:]
	}
	return ref
}
