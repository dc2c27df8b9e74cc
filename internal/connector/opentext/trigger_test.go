package opentext_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/opentext"
	"github.com/patchbay/patchbay/internal/fault"
	otsb "github.com/patchbay/patchbay/internal/sandbox/opentext"
)

// poller keeps a cursor between polls, as the ingest does.
type poller struct {
	t      testing.TB
	c      *opentext.Conn
	cursor string
}

func (p *poller) poll(keys []string, configs ...map[string]any) []connector.Event {
	p.t.Helper()
	var all []connector.Event
	for range 50 {
		res, err := p.c.Poll(context.Background(), "process_events", &connector.PollRequest{Cursor: p.cursor, Configs: configs, Keys: keys})
		if err != nil {
			p.t.Fatalf("poll: %v", err)
		}
		p.cursor = res.Cursor
		all = append(all, res.Events...)
		if !res.More {
			return all
		}
	}
	p.t.Fatal("poll kept asking for more")
	return nil
}

func types(evs []connector.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type+" "+e.Object)
	}
	return out
}

func historyCalls(s *sandbox) int {
	return s.Kit().Calls.Count("GET", "/workflow/v1/historic-process-instances")
}

func TestPollCompletedProcesses(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true}) // the seed has one finished review
	c := open(t, s.values(nil), "")
	p := &poller{t: t, c: c}
	all := map[string]any{"events": []any{"process.completed"}}

	if evs := p.poll(nil, all); len(evs) != 0 {
		t.Fatalf("the first poll replayed history: %v", types(evs))
	}
	seeded := s.Tasks(otsb.TaskFilter{DefinitionKey: "media_review", OpenOnly: true})
	if err := s.CompleteTask(seeded[0].ID, "reviewer@example.com", "approved", "ok", nil); err != nil {
		t.Fatal(err)
	}
	evs := p.poll(nil, all)
	if len(evs) != 1 {
		t.Fatalf("events: %v", types(evs))
	}
	e := evs[0]
	if e.ID != "process.completed:"+seeded[0].InstanceID || e.Object != "opentext:process/"+seeded[0].InstanceID || e.Time.IsZero() {
		t.Errorf("event: %+v", e)
	}
	d := e.Data
	if d["state"] != "completed" || d["outcome"] != "approved" || d["comment"] != "ok" || d["reviewer"] != "reviewer@example.com" ||
		d["definition_key"] != "media_review" || d["source"] != "poll" || d["variables"].(map[string]any)["title"] == nil {
		t.Errorf("data: %v", d)
	}
	if evs := p.poll(nil, all); len(evs) != 0 {
		t.Errorf("repeated: %v", types(evs))
	}
	// A terminated instance is reported with its end state.
	if err := s.Engine().DeleteInstance(seeded[1].InstanceID, "withdrawn"); err != nil {
		t.Fatal(err)
	}
	evs = p.poll(nil, all)
	if len(evs) != 1 || evs[0].Data["state"] != "terminated" || evs[0].Data["delete_reason"] != "withdrawn" {
		t.Errorf("terminated: %v", evs)
	}
	// A config for other definitions reports nothing about media_review.
	q := &poller{t: t, c: c}
	other := map[string]any{"definition_keys": []any{"manager_approval"}}
	q.poll(nil, other)
	pid, _ := s.StartInstance("media_review", "bk-other", reviewVars("o"))
	if err := s.CompleteTask(openTask(t, s, pid).ID, "reviewer@example.com", "approved", "", nil); err != nil {
		t.Fatal(err)
	}
	if evs := q.poll(nil, other); len(evs) != 0 {
		t.Errorf("other definition: %v", types(evs))
	}
}

func TestPollReportsAwaitedProcessesWithoutConfigs(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	c := open(t, s.values(nil), "")
	p := &poller{t: t, c: c}
	a, _ := s.StartInstance("media_review", "bk-a", reviewVars("a"))
	b, _ := s.StartInstance("media_review", "bk-b", reviewVars("b"))
	keys := []string{opentext.ProcessRef(a)}
	if evs := p.poll(keys); len(evs) != 0 {
		t.Fatalf("first poll: %v", types(evs))
	}
	for _, pid := range []string{a, b} {
		if err := s.CompleteTask(openTask(t, s, pid).ID, "approver@example.com", "approved", "", nil); err != nil {
			t.Fatal(err)
		}
	}
	evs := p.poll(keys)
	if len(evs) != 1 || evs[0].Object != opentext.ProcessRef(a) || evs[0].Data["reviewer"] != "approver@example.com" {
		t.Fatalf("want only the awaited process: %v", types(evs))
	}
}

func TestPollLooksBackForProcessesThatEndedBeforeTheWait(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	c := open(t, s.values(nil), "")
	p := &poller{t: t, c: c}
	other, _ := s.StartInstance("media_review", "bk-other", reviewVars("o"))
	p.poll([]string{opentext.ProcessRef(other)}) // the poller runs, watching another process
	fast, _ := s.StartInstance("media_review", "bk-fast", reviewVars("f"))
	if err := s.CompleteTask(openTask(t, s, fast).ID, "reviewer@example.com", "approved", "", nil); err != nil {
		t.Fatal(err)
	}
	// The sweep passes the finished process while nobody waits on it.
	if evs := p.poll([]string{opentext.ProcessRef(other)}); len(evs) != 0 {
		t.Fatalf("unawaited process reported: %v", types(evs))
	}
	// Then a run parks on it: the look-back finds it.
	keys := []string{opentext.ProcessRef(other), opentext.ProcessRef(fast)}
	evs := p.poll(keys)
	if len(evs) != 1 || evs[0].Object != opentext.ProcessRef(fast) || evs[0].Data["outcome"] != "approved" {
		t.Fatalf("look-back: %v", types(evs))
	}
	before := historyCalls(s)
	if evs := p.poll(keys); len(evs) != 0 {
		t.Errorf("reported twice: %v", types(evs))
	}
	if n := historyCalls(s) - before; n != 1 {
		t.Errorf("a poll with no new keys made %d history calls, want 1 (the sweep)", n)
	}
}

func TestPollStartedAndTaskEvents(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	c := open(t, s.values(nil), "")
	p := &poller{t: t, c: c}
	cfg := map[string]any{"events": []any{"process.started", "task.created", "task.completed"}, "definition_keys": []any{"media_review"}}
	if evs := p.poll(nil, cfg); len(evs) != 0 {
		t.Fatalf("first poll: %v", types(evs))
	}
	pid, _ := s.StartInstance("media_review", "bk-ev", reviewVars("e"))
	evs := p.poll(nil, cfg)
	task := openTask(t, s, pid)
	want := []string{"process.started " + opentext.ProcessRef(pid), "task.created " + opentext.TaskRef(task.ID)}
	if got := types(evs); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("events %v, want %v", got, want)
	}
	created := evs[1]
	if len(created.Objects) != 1 || created.Objects[0] != opentext.ProcessRef(pid) || created.Data["task_name"] != "Review media" {
		t.Errorf("task.created: %+v", created)
	}
	if err := s.CompleteTask(task.ID, "reviewer@example.com", "rejected", "redo the grade", nil); err != nil {
		t.Fatal(err)
	}
	evs = p.poll(nil, cfg)
	if len(evs) != 1 || evs[0].Type != "task.completed" || evs[0].Data["assignee"] != "reviewer@example.com" ||
		evs[0].Data["state"] != "completed" || evs[0].Data["outcome"] != "rejected" || evs[0].Hash == "" {
		t.Fatalf("task.completed: %v", evs)
	}
	// A process a run waits on gets no process.started (it would end the wait early).
	q := &poller{t: t, c: c}
	q.poll(nil, cfg)
	awaited, _ := s.StartInstance("media_review", "bk-aw", reviewVars("w"))
	for _, e := range q.poll([]string{opentext.ProcessRef(awaited)}, cfg) {
		if e.Type == "process.started" {
			t.Errorf("process.started for an awaited process: %v", e)
		}
	}
	// A task a run waits on is reported when it completes, whatever the configs.
	r := &poller{t: t, c: c}
	tk := openTask(t, s, awaited)
	keys := []string{opentext.TaskRef(tk.ID)}
	r.poll(keys)
	if err := s.CompleteTask(tk.ID, "reviewer@example.com", "approved", "", nil); err != nil {
		t.Fatal(err)
	}
	evs = r.poll(keys)
	if len(evs) != 1 || evs[0].Object != opentext.TaskRef(tk.ID) {
		t.Errorf("awaited task: %v", types(evs))
	}
}

func TestPollPagesThroughABurst(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true, Kit: kitNoLimit()})
	c := open(t, s.values(map[string]any{"page_size": 100, "poll_overlap": "50ms"}), "")
	p := &poller{t: t, c: c}
	all := map[string]any{"events": []any{"process.completed"}, "include_variables": false}
	p.poll(nil, all)
	ids, err := s.StartInstances("media_review", 550, func(i int) (string, map[string]any) {
		return fmt.Sprintf("burst-%d", i), reviewVars(fmt.Sprint(i))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if err := s.CompleteTask(openTask(t, s, id).ID, "reviewer@example.com", "approved", "", nil); err != nil {
			t.Fatal(err)
		}
	}
	before := historyCalls(s)
	evs := p.poll(nil, all)
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.ID] = true
	}
	if len(evs) != 550 || len(seen) != 550 {
		t.Fatalf("got %d events (%d distinct), want 550", len(evs), len(seen))
	}
	if n := historyCalls(s) - before; n != 6 {
		t.Errorf("%d history calls for 550 processes at 100 a page, want 6", n)
	}
	if evs := p.poll(nil, all); len(evs) != 0 {
		t.Errorf("the overlap window was reported again: %d events", len(evs))
	}
	// Once the burst is older than poll_overlap, one more re-read settles it
	// and later polls cost one call each.
	time.Sleep(60 * time.Millisecond)
	p.poll(nil, all)
	before = historyCalls(s)
	if evs := p.poll(nil, all); len(evs) != 0 || historyCalls(s)-before != 1 {
		t.Errorf("after the burst settled: %d events, %d calls; want 0 and 1", len(evs), historyCalls(s)-before)
	}
}

func TestPollBadCursorStartsOver(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	c := open(t, s.values(nil), "")
	res, err := c.Poll(context.Background(), "process_events", &connector.PollRequest{Cursor: "{not json", Keys: []string{"opentext:process/x"}})
	if err != nil || res.Cursor == "" || len(res.Events) != 0 {
		t.Fatalf("bad cursor: %v %v", res, err)
	}
	if _, err := c.Poll(context.Background(), "nope", &connector.PollRequest{}); !fault.Is(err, fault.NotFound) {
		t.Errorf("unknown trigger: %v", err)
	}
}

// capture is a stand-in patchbay endpoint recording the callbacks a process posts.
type capture struct {
	mu   sync.Mutex
	reqs []*connector.WebhookRequest
	srv  *httptest.Server
}

func newCapture(t *testing.T) *capture {
	cp := &capture{}
	cp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		cp.mu.Lock()
		cp.reqs = append(cp.reqs, &connector.WebhookRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header.Clone(), Body: b})
		cp.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(cp.srv.Close)
	return cp
}

func (cp *capture) list() []*connector.WebhookRequest {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return append([]*connector.WebhookRequest(nil), cp.reqs...)
}

func TestCallbackMatchesThePoller(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	cp := newCapture(t)
	c := open(t, s.values(map[string]any{"callback_url": cp.srv.URL + "/hooks/ot/callback"}), "")
	p := &poller{t: t, c: c}
	out := mustDo(t, c, "start_process", map[string]any{"definition_key": "media_review", "business_key": "iconik:cb:v1",
		"callback": true, "variables": reviewVars("cb")}, "cb/start")
	pid := out["id"].(string)
	keys := []string{opentext.ProcessRef(pid)}
	p.poll(keys)
	if err := s.CompleteTask(openTask(t, s, pid).ID, "reviewer@example.com", "approved", "great", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitIdle(t.Context()); err != nil {
		t.Fatal(err)
	}
	reqs := cp.list()
	if len(reqs) != 1 {
		t.Fatalf("%d callbacks", len(reqs))
	}
	res, err := c.Receive(t.Context(), "callback", reqs[0])
	if err != nil {
		t.Fatal(err)
	}
	cb := res.Events[0]
	polled := p.poll(keys)
	if len(polled) != 1 {
		t.Fatalf("polled %v", types(polled))
	}
	pe := polled[0]
	if cb.Type != pe.Type || cb.Object != pe.Object || cb.ID == pe.ID {
		t.Errorf("callback %s %s %s vs poll %s %s %s", cb.Type, cb.Object, cb.ID, pe.Type, pe.Object, pe.ID)
	}
	for _, k := range []string{"process_id", "business_key", "definition_key", "state", "outcome", "comment", "reviewer"} {
		if cb.Data[k] != pe.Data[k] {
			t.Errorf("data.%s: callback %v, poll %v", k, cb.Data[k], pe.Data[k])
		}
	}
	if cb.Data["source"] != "callback" || cb.Data["variables"].(map[string]any)["asset_id"] != "cb" {
		t.Errorf("callback data: %v", cb.Data)
	}
	for _, e := range []connector.Event{cb, pe} {
		if strings.Contains(mustJSON(t, e), testCallbackSecret) {
			t.Errorf("the callback secret is in an event: %s", mustJSON(t, e))
		}
	}
}

func TestCallbackReceive(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, otsb.Options{Seed: true})
	c := open(t, s.values(nil), "")
	running, _ := s.StartInstance("media_review", "iconik:bk:v9", reviewVars("bk"))
	hdr := func(secret string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		if secret != "" {
			h.Set("X-Callback-Secret", secret)
		}
		return h
	}
	tests := []struct {
		name       string
		header     http.Header
		query      url.Values
		body       string
		wantKind   fault.Kind
		wantErr    bool
		wantType   string
		wantObject string
	}{
		{name: "no secret header", header: hdr(""), body: `{"processInstanceId":"p1"}`, wantErr: true, wantKind: fault.Unauthorized},
		{name: "wrong secret", header: hdr("nope"), body: `{"processInstanceId":"p1"}`, wantErr: true, wantKind: fault.Unauthorized},
		{name: "by process id", header: hdr(testCallbackSecret), body: `{"event":"media_review.completed","processInstanceId":"p1","outcome":"approved"}`,
			wantType: "process.completed", wantObject: "opentext:process/p1"},
		{name: "by query parameter", header: hdr(testCallbackSecret), query: url.Values{"processInstanceId": {"p2"}}, body: `{"outcome":"rejected"}`,
			wantType: "process.completed", wantObject: "opentext:process/p2"},
		{name: "by business key", header: hdr(testCallbackSecret), body: `{"businessKey":"iconik:bk:v9","outcome":"approved"}`,
			wantType: "process.completed", wantObject: opentext.ProcessRef(running)},
		{name: "another event name", header: hdr(testCallbackSecret), body: `{"event":"review.started","processInstanceId":"p3"}`,
			wantType: "process.callback", wantObject: "opentext:process/p3"},
		{name: "unknown business key", header: hdr(testCallbackSecret), body: `{"businessKey":"none"}`, wantErr: true, wantKind: fault.NotFound},
		{name: "no process named", header: hdr(testCallbackSecret), body: `{"outcome":"approved"}`, wantErr: true, wantKind: fault.Invalid},
		{name: "not JSON", header: hdr(testCallbackSecret), body: `outcome=approved`, wantErr: true, wantKind: fault.Invalid},
		{name: "form content type", header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Callback-Secret": {testCallbackSecret}},
			body: `{"processInstanceId":"p1"}`, wantErr: true, wantKind: fault.Invalid},
	}
	for _, tt := range tests {
		res, err := c.Receive(t.Context(), "callback", &connector.WebhookRequest{Method: "POST", Header: tt.header, Query: tt.query, Body: []byte(tt.body)})
		if tt.wantErr {
			if fault.KindOf(err) != tt.wantKind || err == nil {
				t.Errorf("%s: err = %v (kind %v), want %v", tt.name, err, fault.KindOf(err), tt.wantKind)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if e := res.Events[0]; e.Type != tt.wantType || e.Object != tt.wantObject || e.ID == "" {
			t.Errorf("%s: %+v", tt.name, e)
		}
	}
	// The same delivery twice has the same id (the ingest dedupes the retry).
	req := &connector.WebhookRequest{Header: hdr(testCallbackSecret), Body: []byte(`{"processInstanceId":"p1","outcome":"approved"}`)}
	r1, _ := c.Receive(t.Context(), "callback", req)
	r2, _ := c.Receive(t.Context(), "callback", req)
	if r1.Events[0].ID != r2.Events[0].ID {
		t.Errorf("ids differ: %s %s", r1.Events[0].ID, r2.Events[0].ID)
	}
	// Without a callback_secret every delivery is refused.
	bare := open(t, s.values(map[string]any{"callback_secret": nil}), "")
	if _, err := bare.Receive(t.Context(), "callback", req); !fault.Is(err, fault.Unauthorized) {
		t.Errorf("no secret configured: %v", err)
	}
}
