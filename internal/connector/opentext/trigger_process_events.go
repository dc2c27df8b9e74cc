package opentext

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/opentext/opentextapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// Event types.
const (
	ProcessStarted   = "process.started"
	ProcessCompleted = "process.completed"
	TaskCreated      = "task.created"
	TaskCompleted    = "task.completed"
)

// processEventData describes event.data of process events from either trigger.
var processEventData = []connector.Field{
	{Name: "process_id", Type: connector.String},
	{Name: "business_key", Type: connector.String},
	{Name: "definition_key", Type: connector.String},
	{Name: "definition_id", Type: connector.String},
	{Name: "state", Type: connector.String, Doc: "completed or terminated (process.completed), running (process.started); open, completed or deleted for task events."},
	{Name: "outcome", Type: connector.String, Doc: "The outcome variable (the connection's outcome_variable), when set."},
	{Name: "comment", Type: connector.String, Doc: "The comment variable, when set."},
	{Name: "reviewer", Type: connector.String, Doc: "The reviewer variable, when set."},
	{Name: "variables", Type: connector.Object, Open: true, Doc: "Process variables (final ones for process.completed), hidden ones left out."},
	{Name: "started_at", Type: connector.String},
	{Name: "ended_at", Type: connector.String},
	{Name: "end_activity", Type: connector.String},
	{Name: "delete_reason", Type: connector.String},
	{Name: "task_id", Type: connector.String, Doc: "Task events."},
	{Name: "task_name", Type: connector.String, Doc: "Task events."},
	{Name: "task_definition_key", Type: connector.String, Doc: "Task events."},
	{Name: "assignee", Type: connector.String, Doc: "Task events."},
	{Name: "comments", Type: connector.List, Doc: "Task comments (task.completed)."},
	{Name: "source", Type: connector.String, Enum: []any{"poll", "callback"}, Doc: "Which trigger saw it."},
}

var processEventsSpec = connector.TriggerSpec{
	Name: "process_events", Title: "Process and task events", Kind: connector.Poll, Interval: PollInterval,
	Doc: "Polls the history service, once per connection, from cursors stored with the events: instances that finished " +
		"(process.completed, with the end state and final variables), new instances (process.started), tasks created and " +
		"completed. Each kind is queried only when a flow's config asks for it; process.completed (and task.completed) is " +
		"also reported for every process (task) a run waits on, whatever the configs say. Pages of page_size are sorted by " +
		"time; a thousand finished processes cost four queries. Events are deduplicated by stable ids " +
		"(process.completed:<id>, …). The first poll starts from the newest existing item, not from the beginning of history. " +
		"Objects: opentext:process/<id>, or opentext:task/<id> with the process in objects.",
	Config: []connector.Field{
		{Name: "events", Type: connector.List, Default: []any{ProcessCompleted},
			Items: &connector.Field{Type: connector.String, Enum: []any{ProcessStarted, ProcessCompleted, TaskCreated, TaskCompleted}},
			Doc:   "Event types this flow wants."},
		{Name: "definition_keys", Type: connector.List, Items: &connector.Field{Type: connector.String},
			Doc: "Only processes (and their tasks) of these definitions; empty: all."},
		{Name: "include_variables", Type: connector.Bool, Default: true, Doc: "Add the process variables to the events."},
	},
	EventTypes: []string{ProcessStarted, ProcessCompleted, TaskCreated, TaskCompleted},
	Data:       processEventData,
	Examples: []connector.Example{{
		Title: "Start a flow when an asset request is opened (UC3)",
		Input: map[string]any{"events": []any{ProcessStarted}, "definition_keys": []any{"asset_request"}},
		Output: map[string]any{"type": ProcessStarted, "object": "opentext:process/5c9e…",
			"data": map[string]any{"process_id": "5c9e…", "definition_key": "asset_request", "state": "running"}},
	}, {
		Title: "What a waiting run receives when a review ends",
		Output: map[string]any{"type": ProcessCompleted, "object": "opentext:process/5c9e…",
			"data": map[string]any{"process_id": "5c9e…", "state": "completed", "outcome": "approved", "reviewer": "reviewer@example.com", "source": "poll"}},
	}},
}

// pollCursor is the persisted position of every kind of event.
type pollCursor struct {
	V      int                     `json:"v"`
	Phases map[string]*phaseCursor `json:"phases,omitempty"`
	// Cont counts polls in a row that only continued windows larger than a
	// page (the ingest asks again at once while More); every few, all kinds
	// are queried so one large backlog cannot starve the others.
	Cont int `json:"cont,omitempty"`
}

// maxCont bounds continuation-only polls in a row.
const maxCont = 8

// phaseCursor follows one time-ordered history query. T is the newest item
// time seen; the next window starts poll_overlap before it (an item whose
// transaction committed late can carry an earlier time), and Seen remembers
// the items of that overlap so they are not reported twice. Off pages
// through a window larger than a page. Floor is the newest item when the
// phase started: nothing at or before it is reported.
//
// Re-reading the overlap is needed only until every transaction that could
// still add an item at or before T has committed: a window begun at least
// poll_overlap after T was first seen (both on the local clock, so clock
// skew with the service cancels out) settles T, and the next window starts
// at T itself. A burst is thus re-read once, not on every poll.
type phaseCursor struct {
	T       time.Time        `json:"t,omitzero"`
	Floor   time.Time        `json:"floor,omitzero"`
	Settled time.Time        `json:"settled,omitzero"`
	From    time.Time        `json:"from,omitzero"`
	Off     int              `json:"off,omitempty"`
	Seen    map[string]int64 `json:"seen,omitempty"`
	// SeenAt is when T was first seen, Began when the current window's first
	// page was read (local clock).
	SeenAt time.Time `json:"seen_at,omitzero"`
	Began  time.Time `json:"began,omitzero"`
}

// maxSeen bounds the ids a phase cursor remembers; beyond it the ingest's
// dedupe by event id catches repeats.
const maxSeen = 5000

// wants is what the flows' configs ask for one event type.
type wants struct {
	all  bool
	keys map[string]bool
	vars bool
}

func (w *wants) match(defKey string) bool { return w != nil && (w.all || w.keys[defKey]) }

// pollPlan is what one poll must find.
type pollPlan struct {
	want        map[string]*wants
	processKeys map[string]bool // awaited opentext:process/<id> refs
	taskKeys    map[string]bool // awaited opentext:task/<id> refs
}

func planPoll(req *connector.PollRequest) *pollPlan {
	p := &pollPlan{want: map[string]*wants{}, processKeys: map[string]bool{}, taskKeys: map[string]bool{}}
	for _, cfg := range req.Configs {
		events := strList(cfg["events"])
		if _, set := cfg["events"]; !set {
			events = []string{ProcessCompleted}
		}
		defs := strList(cfg["definition_keys"])
		vars := boolIn(cfg, "include_variables", true)
		for _, t := range events {
			w := p.want[t]
			if w == nil {
				w = &wants{keys: map[string]bool{}}
				p.want[t] = w
			}
			if len(defs) == 0 {
				w.all = true
			}
			for _, d := range defs {
				w.keys[d] = true
			}
			w.vars = w.vars || vars
		}
	}
	for _, k := range req.Keys {
		switch {
		case strings.HasPrefix(k, "opentext:process/"):
			p.processKeys[k] = true
		case strings.HasPrefix(k, "opentext:task/"):
			p.taskKeys[k] = true
		}
	}
	return p
}

// pollItem is one history row a phase read.
type pollItem struct {
	id    string
	at    time.Time
	event func() (connector.Event, bool)
}

// phase is one time-ordered history query.
type phase struct {
	name   string
	active bool
	// fetch reads a page of items after from (zero: from the beginning),
	// oldest first, or the newest one when desc.
	fetch func(ctx context.Context, from time.Time, offset, count int, desc bool) ([]pollItem, int, error)
}

// Poll implements connector.Poller.
func (c *Conn) Poll(ctx context.Context, trigger string, req *connector.PollRequest) (*connector.PollResult, error) {
	if trigger != "process_events" {
		return nil, fault.Errorf(fault.NotFound, "opentext: no poll trigger %q", trigger)
	}
	cur := &pollCursor{V: 1}
	if req.Cursor != "" {
		if err := json.Unmarshal([]byte(req.Cursor), cur); err != nil || cur.V != 1 {
			c.log.Warn("unreadable poll cursor; starting from now", "trigger", trigger, "error", err)
			cur = &pollCursor{V: 1}
		}
	}
	if cur.Phases == nil {
		cur.Phases = map[string]*phaseCursor{}
	}
	plan := planPoll(req)
	var events []connector.Event
	late, known, err := c.lookBack(ctx, plan)
	if err != nil {
		return nil, err
	}
	events = append(events, late...)
	// While a kind is part-way through a window larger than a page, the
	// ingest polls again at once: continue only those, not the kinds that
	// already caught up.
	continuing := false
	if cur.Cont < maxCont {
		for _, pc := range cur.Phases {
			continuing = continuing || pc.Off > 0
		}
	}
	if continuing {
		cur.Cont++
	} else {
		cur.Cont = 0
	}
	more := false
	for _, ph := range c.phases(plan) {
		if !ph.active {
			delete(cur.Phases, ph.name) // when asked again, start from then
			continue
		}
		pc := cur.Phases[ph.name]
		if continuing && (pc == nil || pc.Off == 0) {
			continue
		}
		if pc == nil {
			if pc, err = c.initPhase(ctx, ph); err != nil {
				return nil, err
			}
			cur.Phases[ph.name] = pc
		}
		evs, full, err := c.runPhase(ctx, ph, pc)
		if err != nil {
			return nil, err
		}
		events = append(events, evs...)
		more = more || full
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return nil, fault.E(fault.Permanent, "opentext: encoding cursor", err)
	}
	c.mu.Lock()
	c.known = known
	c.mu.Unlock()
	return &connector.PollResult{Events: dedupeEvents(events), Cursor: string(b), More: more}, nil
}

func dedupeEvents(evs []connector.Event) []connector.Event {
	seen := make(map[string]bool, len(evs))
	out := evs[:0]
	for _, e := range evs {
		if seen[e.ID] {
			continue
		}
		seen[e.ID] = true
		out = append(out, e)
	}
	return out
}

func (c *Conn) initPhase(ctx context.Context, ph phase) (*phaseCursor, error) {
	pc := &phaseCursor{Seen: map[string]int64{}}
	// The newest items (several can share the newest millisecond) mark
	// where history ends; they are remembered as seen.
	items, _, err := ph.fetch(ctx, time.Time{}, 0, 50, true)
	if err != nil {
		return nil, err
	}
	if len(items) > 0 {
		pc.T, pc.Floor = items[0].at, items[0].at
		for _, it := range items {
			if it.at.UnixMilli() != items[0].at.UnixMilli() {
				break
			}
			pc.Seen[it.id] = it.at.UnixMilli()
		}
	}
	pc.SeenAt = c.now()
	return pc, nil
}

func (c *Conn) runPhase(ctx context.Context, ph phase, pc *phaseCursor) ([]connector.Event, bool, error) {
	if pc.Seen == nil {
		pc.Seen = map[string]int64{}
	}
	now := c.now()
	if pc.Off == 0 {
		from := time.Time{}
		if !pc.T.IsZero() {
			from = pc.T.Add(-c.overlap)
		}
		for _, lower := range []time.Time{pc.Floor, pc.Settled} {
			if from.Before(lower) {
				from = lower
			}
		}
		pc.From, pc.Began = from, now
	}
	items, total, err := ph.fetch(ctx, pc.From, pc.Off, c.pageSize, false)
	if err != nil {
		return nil, false, err
	}
	var evs []connector.Event
	for _, it := range items {
		if _, dup := pc.Seen[it.id]; dup {
			continue
		}
		// History older than the first poll is not reported. An item in the
		// same millisecond as the floor item is new (the floor item itself
		// is in Seen).
		if !pc.Floor.IsZero() && it.at.Before(pc.Floor) {
			continue
		}
		pc.Seen[it.id] = it.at.UnixMilli()
		if it.at.After(pc.T) {
			pc.T, pc.SeenAt = it.at, now
		}
		if ev, ok := it.event(); ok {
			evs = append(evs, ev)
		}
	}
	full := len(items) >= c.pageSize
	if total >= 0 {
		full = len(items) > 0 && pc.Off+len(items) < total
	}
	if full {
		pc.Off += len(items)
	} else {
		pc.Off = 0
		if !pc.Began.Before(pc.SeenAt.Add(c.overlap)) {
			pc.Settled = pc.T
		}
		pruneSeen(pc, c.overlap)
	}
	return evs, full, nil
}

func pruneSeen(pc *phaseCursor, overlap time.Duration) {
	cut := pc.T.Add(-overlap).UnixMilli()
	for id, at := range pc.Seen {
		if at < cut {
			delete(pc.Seen, id)
		}
	}
	if len(pc.Seen) <= maxSeen {
		return
	}
	type e struct {
		id string
		at int64
	}
	all := make([]e, 0, len(pc.Seen))
	for id, at := range pc.Seen {
		all = append(all, e{id, at})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at > all[j].at })
	for _, x := range all[maxSeen:] {
		delete(pc.Seen, x.id)
	}
}

func order(desc bool) string {
	if desc {
		return "desc"
	}
	return "asc"
}

// phases builds the four history queries of a poll.
func (c *Conn) phases(p *pollPlan) []phase {
	wc, ws, wtc, wtd := p.want[ProcessCompleted], p.want[ProcessStarted], p.want[TaskCreated], p.want[TaskCompleted]
	completedVars := len(p.processKeys) > 0 || (wc != nil && wc.vars)
	return []phase{{
		name: ProcessCompleted, active: wc != nil || len(p.processKeys) > 0,
		fetch: func(ctx context.Context, from time.Time, off, count int, desc bool) ([]pollItem, int, error) {
			page, err := c.api.ListHistoricInstances(ctx, opentextapi.HistoricInstanceQuery{Finished: opentextapi.Ptr(true), FinishedAfter: from,
				IncludeVariables: completedVars && !desc, Paging: opentextapi.Paging{Offset: off, Count: count, Sort: "endTime", Order: order(desc)}})
			if err != nil {
				return nil, 0, err
			}
			items := make([]pollItem, 0, len(page.Items))
			for i := range page.Items {
				h := &page.Items[i]
				at, _ := opentextapi.ParseTime(h.EndTime)
				items = append(items, pollItem{id: h.ID, at: at, event: func() (connector.Event, bool) {
					if !p.processKeys[ProcessRef(h.ID)] && !wc.match(h.Key()) {
						return connector.Event{}, false
					}
					return c.completedEvent(h), true
				}})
			}
			return items, page.Total, nil
		},
	}, {
		name: ProcessStarted, active: ws != nil,
		fetch: func(ctx context.Context, from time.Time, off, count int, desc bool) ([]pollItem, int, error) {
			q := opentextapi.HistoricInstanceQuery{StartedAfter: from, IncludeVariables: ws.vars && !desc,
				Paging: opentextapi.Paging{Offset: off, Count: count, Sort: "startTime", Order: order(desc)}}
			if k, ok := onlyKey(ws); ok {
				q.ProcessDefinitionKey = k
			}
			page, err := c.api.ListHistoricInstances(ctx, q)
			if err != nil {
				return nil, 0, err
			}
			items := make([]pollItem, 0, len(page.Items))
			for i := range page.Items {
				h := &page.Items[i]
				at, _ := opentextapi.ParseTime(h.StartTime)
				items = append(items, pollItem{id: h.ID, at: at, event: func() (connector.Event, bool) {
					// A run waiting on this process knows it started; a started
					// event would end its wait too early.
					if p.processKeys[ProcessRef(h.ID)] || !ws.match(h.Key()) {
						return connector.Event{}, false
					}
					return c.startedEvent(h), true
				}})
			}
			return items, page.Total, nil
		},
	}, {
		name: TaskCreated, active: wtc != nil,
		fetch: func(ctx context.Context, from time.Time, off, count int, desc bool) ([]pollItem, int, error) {
			q := opentextapi.HistoricTaskQuery{TaskCreatedAfter: from, Includes: opentextapi.TaskIncludes{ProcessVariables: wtc.vars && !desc},
				Paging: opentextapi.Paging{Offset: off, Count: count, Sort: "startTime", Order: order(desc)}}
			if k, ok := onlyKey(wtc); ok {
				q.ProcessDefinitionKey = k
			}
			return c.taskItems(ctx, q, func(t *opentextapi.HistoricTask) (connector.Event, bool) {
				if p.taskKeys[TaskRef(t.ID)] || !wtc.match(opentextapi.DefinitionKey(t.ProcessDefinitionID)) {
					return connector.Event{}, false
				}
				return c.taskEvent(TaskCreated, t), true
			}, func(t *opentextapi.HistoricTask) string { return t.StartTime })
		},
	}, {
		name: TaskCompleted, active: wtd != nil || len(p.taskKeys) > 0,
		fetch: func(ctx context.Context, from time.Time, off, count int, desc bool) ([]pollItem, int, error) {
			vars := len(p.taskKeys) > 0 || (wtd != nil && wtd.vars)
			q := opentextapi.HistoricTaskQuery{Finished: opentextapi.Ptr(true), TaskCompletedAfter: from,
				Includes: opentextapi.TaskIncludes{ProcessVariables: vars && !desc, Comments: !desc},
				Paging:   opentextapi.Paging{Offset: off, Count: count, Sort: "endTime", Order: order(desc)}}
			return c.taskItems(ctx, q, func(t *opentextapi.HistoricTask) (connector.Event, bool) {
				if !p.taskKeys[TaskRef(t.ID)] && !wtd.match(opentextapi.DefinitionKey(t.ProcessDefinitionID)) {
					return connector.Event{}, false
				}
				return c.taskEvent(TaskCompleted, t), true
			}, func(t *opentextapi.HistoricTask) string { return t.EndTime })
		},
	}}
}

func onlyKey(w *wants) (string, bool) {
	if w.all || len(w.keys) != 1 {
		return "", false
	}
	for k := range w.keys {
		return k, true
	}
	return "", false
}

func (c *Conn) taskItems(ctx context.Context, q opentextapi.HistoricTaskQuery, ev func(*opentextapi.HistoricTask) (connector.Event, bool),
	when func(*opentextapi.HistoricTask) string) ([]pollItem, int, error) {
	page, err := c.api.ListHistoricTasks(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	items := make([]pollItem, 0, len(page.Items))
	for i := range page.Items {
		t := &page.Items[i]
		at, _ := opentextapi.ParseTime(when(t))
		items = append(items, pollItem{id: t.ID, at: at, event: func() (connector.Event, bool) { return ev(t) }})
	}
	return items, page.Total, nil
}

// lookBack finds processes (and tasks) that runs started waiting on since
// the last poll and that had already finished: a process can end between
// the step that starts it and the wait that parks on it, and the sweep only
// reports awaited ones. It returns the events and the keys now known.
func (c *Conn) lookBack(ctx context.Context, p *pollPlan) ([]connector.Event, map[string]bool, error) {
	c.mu.Lock()
	known := make(map[string]bool, len(p.processKeys)+len(p.taskKeys))
	newProc, newTask := map[string]bool{}, map[string]bool{}
	for k := range p.processKeys {
		known[k] = true
		if !c.known[k] {
			newProc[k] = true
		}
	}
	for k := range p.taskKeys {
		known[k] = true
		if !c.known[k] {
			newTask[k] = true
		}
	}
	c.mu.Unlock()
	if c.lookback <= 0 {
		return nil, known, nil
	}
	after := c.now().Add(-c.lookback)
	var evs []connector.Event
	const maxPages = 20
	if len(newProc) > 0 {
		for off, n := 0, 0; n < maxPages; n++ {
			page, err := c.api.ListHistoricInstances(ctx, opentextapi.HistoricInstanceQuery{Finished: opentextapi.Ptr(true), FinishedAfter: after,
				IncludeVariables: true, Paging: opentextapi.Paging{Offset: off, Count: c.pageSize, Sort: "endTime", Order: "asc"}})
			if err != nil {
				return nil, nil, err
			}
			for i := range page.Items {
				if h := &page.Items[i]; newProc[ProcessRef(h.ID)] {
					evs = append(evs, c.completedEvent(h))
				}
			}
			off += len(page.Items)
			if len(page.Items) == 0 || (page.Total >= 0 && off >= page.Total) || (page.Total < 0 && len(page.Items) < c.pageSize) {
				break
			}
		}
	}
	if len(newTask) > 0 {
		for off, n := 0, 0; n < maxPages; n++ {
			page, err := c.api.ListHistoricTasks(ctx, opentextapi.HistoricTaskQuery{Finished: opentextapi.Ptr(true), TaskCompletedAfter: after,
				Includes: opentextapi.TaskIncludes{ProcessVariables: true, Comments: true},
				Paging:   opentextapi.Paging{Offset: off, Count: c.pageSize, Sort: "endTime", Order: "asc"}})
			if err != nil {
				return nil, nil, err
			}
			for i := range page.Items {
				if t := &page.Items[i]; newTask[TaskRef(t.ID)] {
					evs = append(evs, c.taskEvent(TaskCompleted, t))
				}
			}
			off += len(page.Items)
			if len(page.Items) == 0 || (page.Total >= 0 && off >= page.Total) || (page.Total < 0 && len(page.Items) < c.pageSize) {
				break
			}
		}
	}
	return evs, known, nil
}

// convenience copies named variables to the top of event data.
func (c *Conn) convenience(data, vars map[string]any) {
	for name, v := range map[string]string{"outcome": c.outVar, "comment": "comment", "reviewer": "reviewer"} {
		if x, ok := vars[v]; ok && x != nil {
			data[name] = x
		}
	}
}

// completedEvent is process.completed for a finished historic instance.
func (c *Conn) completedEvent(h *opentextapi.HistoricInstance) connector.Event {
	vars := c.variables(h.Variables)
	data := map[string]any{
		"process_id": h.ID, "business_key": h.BusinessKey, "definition_key": h.Key(), "definition_id": h.ProcessDefinitionID,
		"state": historicState(h), "started_at": isoTime(h.StartTime), "ended_at": isoTime(h.EndTime), "end_activity": h.EndActivityID,
		"variables": vars, "source": "poll",
	}
	if h.DeleteReason != "" {
		data["delete_reason"] = h.DeleteReason
	}
	c.convenience(data, vars)
	at, _ := opentextapi.ParseTime(h.EndTime)
	return connector.Event{ID: ProcessCompleted + ":" + h.ID, Type: ProcessCompleted, Object: ProcessRef(h.ID), Data: data, Time: at}
}

func (c *Conn) startedEvent(h *opentextapi.HistoricInstance) connector.Event {
	vars := c.variables(h.Variables)
	data := map[string]any{
		"process_id": h.ID, "business_key": h.BusinessKey, "definition_key": h.Key(), "definition_id": h.ProcessDefinitionID,
		"state": historicState(h), "started_at": isoTime(h.StartTime), "start_user": h.StartUserID, "variables": vars, "source": "poll",
	}
	at, _ := opentextapi.ParseTime(h.StartTime)
	return connector.Event{ID: ProcessStarted + ":" + h.ID, Type: ProcessStarted, Object: ProcessRef(h.ID), Data: data, Time: at}
}

func (c *Conn) taskEvent(typ string, t *opentextapi.HistoricTask) connector.Event {
	vars := c.variables(t.Variables)
	state := "open"
	switch {
	case t.EndTime != "" && t.DeleteReason != "":
		state = "deleted"
	case t.EndTime != "":
		state = "completed"
	}
	data := map[string]any{
		"task_id": t.ID, "task_name": t.Name, "task_definition_key": t.TaskDefinitionKey, "process_id": t.ProcessInstanceID,
		"definition_key": opentextapi.DefinitionKey(t.ProcessDefinitionID), "definition_id": t.ProcessDefinitionID,
		"assignee": t.Assignee, "owner": t.Owner, "state": state, "created_at": isoTime(t.StartTime), "variables": vars, "source": "poll",
	}
	if t.EndTime != "" {
		data["ended_at"] = isoTime(t.EndTime)
	}
	if t.DeleteReason != "" {
		data["delete_reason"] = t.DeleteReason
	}
	if len(t.Comments) > 0 {
		data["comments"] = comments(t.Comments)
	}
	c.convenience(data, vars)
	ev := connector.Event{ID: typ + ":" + t.ID, Type: typ, Object: TaskRef(t.ID), Objects: []string{ProcessRef(t.ProcessInstanceID)}, Data: data}
	if typ == TaskCompleted {
		ev.Time, _ = opentextapi.ParseTime(t.EndTime)
		ev.Hash = taskCompletedHash(t.ID)
	} else {
		ev.Time, _ = opentextapi.ParseTime(t.StartTime)
	}
	return ev
}
