// Package storetest is the conformance suite every store driver passes. A
// driver's tests call Run with a function that opens a fresh, empty database.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/store"
)

// Opener opens a fresh database and returns the store (migrated) and a queue
// constructor on the same database.
type Opener func(t *testing.T) (*store.Store, func(queue.Config) queue.Queue)

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *store.Store, newQueue func(queue.Config) queue.Queue)
	}{
		{"MigrateIsIdempotent", testMigrateIdempotent},
		{"EventsDedupe", testEventsDedupe},
		{"RunsLifecycle", testRunsLifecycle},
		{"RunDedupePerFlow", testRunDedupe},
		{"StepsHistory", testSteps},
		{"WaitsMatchAndDeleteOnce", testWaits},
		{"FlowsVersionsAndHeads", testFlows},
		{"ConnectionsAndGenerations", testConnections},
		{"CursorsMetaBlobs", testCursorsMetaBlobs},
		{"TxRollbackDiscardsEverything", testRollback},
		{"JobsCommitWithState", testJobsCommitWithState},
		{"ConcurrentWriters", testConcurrentWriters},
		{"StagedWorkKeepsOnlyCommittedMembers", testStaged},
		{"AtCommitStatementsCommitOrAbort", testAtCommit},
		{"PruneOldFinishedRunsAndEvents", testPrune},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, nq := open(t)
			tt.fn(t, s, nq)
		})
	}
}

var ctx = context.Background()

func mustTx(t *testing.T, s *store.Store, fn func(tx store.Tx) error) {
	t.Helper()
	if err := s.Tx(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func testMigrateIdempotent(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	st, err := s.MigrationStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st {
		if !m.Applied {
			t.Errorf("migration %s not applied", m.Name)
		}
		if base := strings.TrimSuffix(m.Name, ".sql"); strings.Contains(base, ".") && !strings.HasSuffix(base, "."+s.Driver().Name()) {
			t.Errorf("migration %s is another driver's", m.Name)
		}
	}
}

func testEventsDedupe(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	ev := &store.Event{ID: "E1", Source: "dam", Trigger: "asset_events", Dedupe: "provider-1", Type: "asset.created",
		Object: "iconik:asset/1", Objects: []string{"iconik:asset/1", "iconik:collection/9"}, Data: json.RawMessage(`{"a":1}`),
		Status: store.EventAccepted, OccurredAt: now, ReceivedAt: now}
	var first, second bool
	mustTx(t, s, func(tx store.Tx) error {
		var err error
		first, err = s.InsertEvent(ctx, tx, ev)
		return err
	})
	dup := *ev
	dup.ID = "E2"
	mustTx(t, s, func(tx store.Tx) error {
		var err error
		second, err = s.InsertEvent(ctx, tx, &dup)
		return err
	})
	if !first || second {
		t.Fatalf("inserted = %v, %v; want true, false", first, second)
	}
	other := *ev
	other.ID, other.Source = "E3", "cms"
	mustTx(t, s, func(tx store.Tx) error {
		ok, err := s.InsertEvent(ctx, tx, &other)
		if !ok {
			return errors.New("same dedupe key on another source was rejected")
		}
		return err
	})
	got, err := s.GetEvent(ctx, s.Reader(), "E1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Object != ev.Object || len(got.Objects) != 2 || string(got.Data) != `{"a":1}` || !got.ReceivedAt.Equal(now) {
		t.Fatalf("got %+v", got)
	}
	mustTx(t, s, func(tx store.Tx) error { return s.SetEventOutcome(ctx, tx, "E1", store.EventEcho, "own write", 0) })
	list, err := s.ListEvents(ctx, s.Reader(), store.EventFilter{Status: store.EventEcho})
	if err != nil || len(list) != 1 || list[0].Reason != "own write" {
		t.Fatalf("list = %v, %v", list, err)
	}
	if _, err := s.GetEvent(ctx, s.Reader(), "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing event: err = %v, want ErrNotFound", err)
	}
}

func newRun(id, flow string) *store.Run {
	now := time.Now().UTC()
	return &store.Run{ID: id, Flow: flow, FlowVersion: 1, Status: store.RunQueued, State: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now}
}

func testRunsLifecycle(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	r := newRun("R1", "f")
	r.EventID = "E1"
	mustTx(t, s, func(tx store.Tx) error { _, err := s.InsertRun(ctx, tx, r); return err })
	var moved bool
	mustTx(t, s, func(tx store.Tx) error {
		var err error
		moved, err = s.UpdateRun(ctx, tx, "R1", store.RunUpdate{Status: store.RunRunning, StartedAt: time.Now(), From: []string{store.RunQueued}})
		return err
	})
	if !moved {
		t.Fatal("queued → running refused")
	}
	mustTx(t, s, func(tx store.Tx) error {
		var err error
		moved, err = s.UpdateRun(ctx, tx, "R1", store.RunUpdate{Status: store.RunRunning, From: []string{store.RunQueued}})
		return err
	})
	if moved {
		t.Fatal("conditional update applied from the wrong status")
	}
	mustTx(t, s, func(tx store.Tx) error {
		_, err := s.UpdateRun(ctx, tx, "R1", store.RunUpdate{Status: store.RunFailed, State: json.RawMessage(`{"x":1}`),
			Error: &store.RunError{Step: "s", Kind: "invalid", Message: "boom"}, EndedAt: time.Now()})
		return err
	})
	got, err := s.GetRun(ctx, s.Reader(), "R1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.RunFailed || got.Error == nil || got.Error.Message != "boom" || string(got.State) != `{"x":1}` ||
		got.StartedAt.IsZero() || got.EndedAt.IsZero() || got.EventID != "E1" {
		t.Fatalf("got %+v", got)
	}
	mustTx(t, s, func(tx store.Tx) error {
		_, err := s.UpdateRun(ctx, tx, "R1", store.RunUpdate{Status: store.RunQueued, ClearError: true, Generation: 2})
		return err
	})
	got, _ = s.GetRun(ctx, s.Reader(), "R1")
	if got.Error != nil || got.Generation != 2 || !got.EndedAt.IsZero() {
		t.Fatalf("after retry: %+v", got)
	}
	for i := 2; i <= 5; i++ {
		mustTx(t, s, func(tx store.Tx) error {
			_, err := s.InsertRun(ctx, tx, newRun(fmt.Sprintf("R%d", i), "g"))
			return err
		})
	}
	list, err := s.ListRuns(ctx, s.Reader(), store.RunFilter{Flow: "g", Limit: 2})
	if err != nil || len(list) != 2 || list[0].ID != "R5" || list[1].ID != "R4" {
		t.Fatalf("list = %v, %v", list, err)
	}
	list, _ = s.ListRuns(ctx, s.Reader(), store.RunFilter{Flow: "g", Before: "R4"})
	if len(list) != 2 || list[0].ID != "R3" {
		t.Fatalf("paged list = %v", list)
	}
	counts, err := s.CountRuns(ctx, s.Reader(), "")
	if err != nil || counts[store.RunQueued] != 5 {
		t.Fatalf("counts = %v, %v", counts, err)
	}
}

func testRunDedupe(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	a, b, c := newRun("A", "f"), newRun("B", "f"), newRun("C", "other")
	a.Dedupe, b.Dedupe, c.Dedupe = "k", "k", "k"
	var okA, okB, okC bool
	mustTx(t, s, func(tx store.Tx) error {
		var err error
		if okA, err = s.InsertRun(ctx, tx, a); err != nil {
			return err
		}
		if okB, err = s.InsertRun(ctx, tx, b); err != nil {
			return err
		}
		okC, err = s.InsertRun(ctx, tx, c)
		return err
	})
	if !okA || okB || !okC {
		t.Fatalf("inserted %v %v %v; want true false true", okA, okB, okC)
	}
	// Runs without a dedupe key never collide.
	mustTx(t, s, func(tx store.Tx) error {
		for _, id := range []string{"D", "E"} {
			if ok, err := s.InsertRun(ctx, tx, newRun(id, "f")); !ok || err != nil {
				return fmt.Errorf("run %s: %v %v", id, ok, err)
			}
		}
		return nil
	})
}

func testSteps(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	recs := []store.StepRecord{
		{RunID: "R", Seq: 1, StepID: "a", Kind: "action", Attempt: 1, Status: store.StepRetrying, Error: "503", ErrorKind: "transient", IdempotencyKey: "k", StartedAt: now, EndedAt: now},
		{RunID: "R", Seq: 2, StepID: "a", Kind: "action", Attempt: 2, Status: store.StepSucceeded, Input: json.RawMessage(`{"i":1}`), Output: json.RawMessage(`{"o":2}`), IdempotencyKey: "k", StartedAt: now, EndedAt: now},
	}
	mustTx(t, s, func(tx store.Tx) error { return s.InsertSteps(ctx, tx, recs) })
	got, err := s.ListSteps(ctx, s.Reader(), "R")
	if err != nil || len(got) != 2 {
		t.Fatalf("steps = %v, %v", got, err)
	}
	if got[1].Status != store.StepSucceeded || string(got[1].Output) != `{"o":2}` || got[0].ErrorKind != "transient" || !got[1].StartedAt.Equal(now) {
		t.Fatalf("got %+v", got)
	}
	// The history is append-only: a second record with the same seq fails.
	err = s.Tx(ctx, func(tx store.Tx) error { return s.InsertSteps(ctx, tx, recs[:1]) })
	if err == nil {
		t.Fatal("duplicate step seq accepted")
	}
}

func testWaits(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	now := time.Now().UTC()
	mustTx(t, s, func(tx store.Tx) error {
		for _, w := range []*store.Wait{
			{WaitID: "W1", Source: "ot/callback", RunID: "R1", StepID: "approval", Key: "opentext:process/1", CreatedAt: now},
			{WaitID: "W1", Source: "ot/process_events", RunID: "R1", StepID: "approval", Key: "opentext:process/1", CreatedAt: now},
			{WaitID: "W2", Source: "ot/callback", RunID: "R2", StepID: "approval", Key: "opentext:process/2", CreatedAt: now},
			{WaitID: "W3", Source: "hook/webhook", RunID: "R3", StepID: "w", KeyExpr: "event.data.order", Key: "o-7", CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		} {
			if err := s.InsertWait(ctx, tx, w); err != nil {
				return err
			}
		}
		return nil
	})
	exprs, err := s.WaitKeyExprs(ctx, s.Reader(), "hook/webhook")
	if err != nil || len(exprs) != 1 || exprs[0] != "event.data.order" {
		t.Fatalf("key exprs = %v, %v", exprs, err)
	}
	m, err := s.MatchWaits(ctx, s.Reader(), "ot/process_events", "", "opentext:process/1")
	if err != nil || len(m) != 1 || m[0].RunID != "R1" {
		t.Fatalf("match = %v, %v", m, err)
	}
	keys, _ := s.WaitKeys(ctx, s.Reader(), "ot/callback", 10)
	if len(keys) != 2 {
		t.Fatalf("keys = %v", keys)
	}
	var first, second bool
	mustTx(t, s, func(tx store.Tx) error { var err error; first, err = s.DeleteWait(ctx, tx, "W1"); return err })
	mustTx(t, s, func(tx store.Tx) error { var err error; second, err = s.DeleteWait(ctx, tx, "W1"); return err })
	if !first || second {
		t.Fatalf("delete = %v, %v; only the first may own the resumption", first, second)
	}
	if m, _ := s.MatchWaits(ctx, s.Reader(), "ot/callback", "", "opentext:process/1"); len(m) != 0 {
		t.Fatalf("deleted wait still matches on its other source: %v", m)
	}
	mustTx(t, s, func(tx store.Tx) error { return s.DeleteRunWaits(ctx, tx, "R3") })
	n, _ := s.CountWaits(ctx, s.Reader())
	if n != 1 {
		t.Fatalf("waits left = %d, want 1", n)
	}
	srcs, _ := s.WaitSources(ctx, s.Reader())
	if len(srcs) != 1 || srcs[0] != "ot/callback" {
		t.Fatalf("sources = %v", srcs)
	}
}

func testFlows(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	gen0, _ := s.Generation(ctx, s.Reader(), "flows")
	mustTx(t, s, func(tx store.Tx) error {
		for v := 1; v <= 2; v++ {
			if err := s.InsertFlowVersion(ctx, tx, &store.FlowVersion{Name: "f", Version: v, Source: fmt.Sprintf("v%d", v), Hash: fmt.Sprint(v), AppliedAt: time.Now()}); err != nil {
				return err
			}
		}
		return s.SetFlowHead(ctx, tx, &store.FlowHead{Name: "f", Version: 2, Enabled: true, Source: "dam/asset_events", UpdatedAt: time.Now()})
	})
	if err := s.Tx(ctx, func(tx store.Tx) error {
		return s.InsertFlowVersion(ctx, tx, &store.FlowVersion{Name: "f", Version: 2, Source: "x", AppliedAt: time.Now()})
	}); err == nil {
		t.Fatal("duplicate version accepted")
	}
	latest, err := s.LatestFlowVersion(ctx, s.Reader(), "f")
	if err != nil || latest.Version != 2 || latest.Source != "v2" {
		t.Fatalf("latest = %+v, %v", latest, err)
	}
	if nv, _ := s.LatestFlowVersion(ctx, s.Reader(), "none"); nv != nil {
		t.Fatalf("latest of unknown flow = %+v", nv)
	}
	v1, err := s.GetFlowVersion(ctx, s.Reader(), "f", 1)
	if err != nil || v1.Source != "v1" {
		t.Fatalf("v1 = %+v, %v", v1, err)
	}
	heads, err := s.ListFlowHeads(ctx, s.Reader())
	if err != nil || len(heads) != 1 || heads[0].Version != 2 || !heads[0].Enabled || heads[0].Source != "dam/asset_events" {
		t.Fatalf("heads = %+v, %v", heads, err)
	}
	mustTx(t, s, func(tx store.Tx) error {
		return s.SetFlowHead(ctx, tx, &store.FlowHead{Name: "f", Version: 1, Enabled: false, UpdatedAt: time.Now()})
	})
	h, _ := s.GetFlowHead(ctx, s.Reader(), "f")
	if h.Version != 1 || h.Enabled {
		t.Fatalf("head = %+v", h)
	}
	gen1, _ := s.Generation(ctx, s.Reader(), "flows")
	if gen1 != gen0+2 {
		t.Fatalf("generation %d → %d, want +2", gen0, gen1)
	}
	if _, err := s.GetFlowHead(ctx, s.Reader(), "none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
}

func testConnections(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	c := &store.Connection{Name: "dam", Connector: "iconik", Config: map[string]any{"base_url": "http://x"}, Secrets: []byte{1, 2, 3}}
	mustTx(t, s, func(tx store.Tx) error { return s.PutConnection(ctx, tx, c) })
	c.Config["base_url"] = "http://y"
	mustTx(t, s, func(tx store.Tx) error { return s.PutConnection(ctx, tx, c) })
	got, err := s.GetConnection(ctx, s.Reader(), "dam")
	if err != nil || got.Version != 2 || got.Config["base_url"] != "http://y" || len(got.Secrets) != 3 {
		t.Fatalf("got %+v, %v", got, err)
	}
	all, _ := s.ListConnections(ctx, s.Reader())
	if len(all) != 1 {
		t.Fatalf("list = %v", all)
	}
	var existed bool
	mustTx(t, s, func(tx store.Tx) error { var err error; existed, err = s.DeleteConnection(ctx, tx, "dam"); return err })
	if !existed {
		t.Fatal("delete reported missing")
	}
	if _, err := s.GetConnection(ctx, s.Reader(), "dam"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if g, _ := s.Generation(ctx, s.Reader(), "connections"); g != 3 {
		t.Fatalf("generation = %d, want 3", g)
	}
}

func testCursorsMetaBlobs(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	if c, err := s.GetCursor(ctx, s.Reader(), "ot", "process_events"); err != nil || c != "" {
		t.Fatalf("empty cursor = %q, %v", c, err)
	}
	mustTx(t, s, func(tx store.Tx) error { return s.SetCursor(ctx, tx, "ot", "process_events", "c1") })
	mustTx(t, s, func(tx store.Tx) error { return s.SetCursor(ctx, tx, "ot", "process_events", "c2") })
	if c, _ := s.GetCursor(ctx, s.Reader(), "ot", "process_events"); c != "c2" {
		t.Fatalf("cursor = %q", c)
	}
	mustTx(t, s, func(tx store.Tx) error { return s.SetMeta(ctx, tx, "k", "v") })
	if v, ok, _ := s.GetMeta(ctx, s.Reader(), "k"); !ok || v != "v" {
		t.Fatalf("meta = %q %v", v, ok)
	}
	data := make([]byte, 300_000)
	for i := range data {
		data[i] = byte(i)
	}
	var h1, h2 string
	mustTx(t, s, func(tx store.Tx) error {
		var err error
		if h1, err = s.PutBlob(ctx, tx, data); err != nil {
			return err
		}
		h2, err = s.PutBlob(ctx, tx, data)
		return err
	})
	if h1 != h2 {
		t.Fatal("same blob stored under two hashes")
	}
	got, err := s.GetBlob(ctx, s.Reader(), h1)
	if err != nil || len(got) != len(data) || got[299_999] != data[299_999] {
		t.Fatalf("blob round trip failed: %v", err)
	}
}

func testRollback(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	boom := errors.New("boom")
	err := s.Tx(ctx, func(tx store.Tx) error {
		if _, err := s.InsertRun(ctx, tx, newRun("RB", "f")); err != nil {
			return err
		}
		if _, err := s.InsertEvent(ctx, tx, &store.Event{ID: "EB", Source: "s", Trigger: "t", Dedupe: "d", Type: "x", Status: store.EventAccepted, ReceivedAt: time.Now()}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if _, err := s.GetRun(ctx, s.Reader(), "RB"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled back run exists: %v", err)
	}
	if _, err := s.GetEvent(ctx, s.Reader(), "EB"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled back event exists: %v", err)
	}
}

// testJobsCommitWithState checks the central invariant: a job inserted in a
// transaction exists exactly when the transaction's state does.
func testJobsCommitWithState(t *testing.T, s *store.Store, newQueue func(queue.Config) queue.Queue) {
	var mu sync.Mutex
	seen := map[string]int{}
	done := make(chan struct{}, 10)
	q := newQueue(queue.Config{Workers: 4, FetchCooldown: 10 * time.Millisecond, FetchPollInterval: 20 * time.Millisecond})
	q.Handle(queue.KindRun, func(ctx context.Context, job *queue.Info) error {
		var p struct{ RunID string }
		if err := json.Unmarshal(job.Payload, &p); err != nil {
			return err
		}
		if _, err := s.GetRun(ctx, s.Reader(), p.RunID); err != nil {
			t.Errorf("job for run %s ran but its run is missing: %v", p.RunID, err)
		}
		mu.Lock()
		seen[p.RunID]++
		mu.Unlock()
		done <- struct{}{}
		return nil
	})
	// Commit one, roll back one.
	mustTx(t, s, func(tx store.Tx) error {
		if _, err := s.InsertRun(ctx, tx, newRun("OK", "f")); err != nil {
			return err
		}
		return q.Insert(ctx, tx, queue.Job{Kind: queue.KindRun, Payload: map[string]string{"RunID": "OK"}})
	})
	_ = s.Tx(ctx, func(tx store.Tx) error {
		if _, err := s.InsertRun(ctx, tx, newRun("GONE", "f")); err != nil {
			return err
		}
		if err := q.Insert(ctx, tx, queue.Job{Kind: queue.KindRun, Payload: map[string]string{"RunID": "GONE"}}); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	// A batch of several jobs in one transaction.
	mustTx(t, s, func(tx store.Tx) error {
		var jobs []queue.Job
		for _, id := range []string{"B1", "B2", "B3"} {
			if _, err := s.InsertRun(ctx, tx, newRun(id, "f")); err != nil {
				return err
			}
			jobs = append(jobs, queue.Job{Kind: queue.KindRun, Payload: map[string]string{"RunID": id}})
		}
		return q.Insert(ctx, tx, jobs...)
	})
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
	}()
	for range 4 {
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatalf("jobs not worked; seen %v", seen)
		}
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if seen["GONE"] != 0 {
		t.Fatal("a job from a rolled-back transaction ran")
	}
	for _, id := range []string{"OK", "B1", "B2", "B3"} {
		if seen[id] != 1 {
			t.Errorf("run %s: job ran %d times, want 1", id, seen[id])
		}
	}
}

func testConcurrentWriters(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				err := s.Tx(ctx, func(tx store.Tx) error {
					_, err := s.InsertRun(ctx, tx, newRun(fmt.Sprintf("C%d-%d", w, i), "c"))
					if err != nil {
						return err
					}
					return s.BumpGeneration(ctx, tx, "c")
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	counts, _ := s.CountRuns(ctx, s.Reader(), "c")
	if counts[store.RunQueued] != 200 {
		t.Fatalf("runs = %v, want 200", counts)
	}
	if g, _ := s.Generation(ctx, s.Reader(), "c"); g != 200 {
		t.Fatalf("generation = %d, want 200 (lost updates)", g)
	}
}

// testStaged: work staged by concurrent transactions (store.Stager) is done
// once per transaction (per commit group, on a grouping store) before it
// commits, with the items of the functions that succeeded only; the work is
// committed with them.
func testStaged(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	var mu sync.Mutex
	flushed := map[string]bool{}
	flushes := 0
	flush := func(ctx context.Context, tx store.Tx, items []any) error {
		mu.Lock()
		flushes++
		mu.Unlock()
		for _, it := range items {
			k := it.(string)
			if err := s.SetMeta(ctx, tx, "staged:"+k, "yes"); err != nil {
				return err
			}
			mu.Lock()
			flushed[k] = true
			mu.Unlock()
		}
		return nil
	}
	var wg sync.WaitGroup
	var staged atomic.Int64
	// A slow first transaction holds the writer, so the others queue and
	// (on a grouping store) commit in groups.
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = s.Tx(ctx, func(tx store.Tx) error {
			close(started)
			time.Sleep(200 * time.Millisecond)
			return nil
		})
	}()
	<-started
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				k := fmt.Sprintf("%d-%d", w, i)
				fail := i%5 == 4
				err := s.Tx(ctx, func(tx store.Tx) error {
					if err := s.SetMeta(ctx, tx, "member:"+k, "yes"); err != nil {
						return err
					}
					sg, ok := tx.(store.Stager)
					if !ok {
						return errors.New("the transaction is not a store.Stager")
					}
					staged.Add(1)
					sg.Stage("test", k, flush)
					if fail {
						return errors.New("member fails")
					}
					return nil
				})
				if (err != nil) != fail {
					t.Errorf("member %s: err %v", k, err)
				}
			}
		}()
	}
	wg.Wait()
	for w := range 8 {
		for i := range 25 {
			k := fmt.Sprintf("%d-%d", w, i)
			_, member, _ := s.GetMeta(ctx, s.Reader(), "member:"+k)
			_, done, _ := s.GetMeta(ctx, s.Reader(), "staged:"+k)
			fail := i%5 == 4
			if done != member || fail == done {
				t.Errorf("member %s: committed %v, staged work committed %v", k, member, done)
			}
		}
	}
	// One flush per transaction that committed (160), fewer when commit
	// groups merged some.
	if s.GroupCommits() && flushes >= 8*20 {
		t.Errorf("a grouping store flushed %d times for 160 committed transactions; want groups of several", flushes)
	}
	if !s.GroupCommits() && flushes != 8*20 {
		t.Errorf("%d flushes for 160 committed transactions", flushes)
	}
	t.Logf("%d items staged, %d flushes", staged.Load(), flushes)
}

// testAtCommit: statements a flush leaves for the commit (store.Finisher)
// are committed with the transaction; when one fails nothing of the
// transaction is committed and Store.Tx returns the error; AfterCommit
// functions learn the outcome either way. In a commit group the members
// that succeeded share the fate of the group's at-commit statements.
func testAtCommit(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	var mu sync.Mutex
	outcomes := map[string]error{}
	tx := func(k string, atCommit string) error {
		return s.Tx(ctx, func(tx store.Tx) error {
			if err := s.SetMeta(ctx, tx, "body:"+k, "yes"); err != nil {
				return err
			}
			tx.(store.Stager).Stage("at-commit", k, func(ctx context.Context, tx store.Tx, items []any) error {
				f, ok := tx.(store.Finisher)
				if !ok {
					return errors.New("the flush's transaction is not a store.Finisher")
				}
				for _, it := range items {
					k := it.(string)
					f.ExecAtCommit(atCommit, "at:"+k)
					f.AfterCommit(func(err error) {
						mu.Lock()
						outcomes[k] = err
						mu.Unlock()
					})
				}
				return nil
			})
			return nil
		})
	}
	const ok = `INSERT INTO pb_meta (key, value) VALUES (?, 'yes')`
	const bad = `INSERT INTO pb_meta (key, value) VALUES (?, NULL)` // value is NOT NULL
	if err := tx("good", ok); err != nil {
		t.Fatal(err)
	}
	if err := tx("bad", bad); err == nil {
		t.Fatal("a failing at-commit statement: Tx returned nil")
	}
	for k, want := range map[string]bool{"body:good": true, "at:good": true, "body:bad": false, "at:bad": false} {
		if _, found, _ := s.GetMeta(ctx, s.Reader(), k); found != want {
			t.Errorf("%s committed = %v, want %v", k, found, want)
		}
	}
	if err, seen := outcomes["good"]; !seen || err != nil {
		t.Errorf("AfterCommit of the committed transaction: seen %v, err %v", seen, err)
	}
	if err, seen := outcomes["bad"]; !seen || err == nil {
		t.Errorf("AfterCommit of the aborted transaction: seen %v, err %v", seen, err)
	}
	// Concurrent transactions (commit groups on SQLite) all commit with
	// their at-commit statements.
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				if err := tx(fmt.Sprintf("c%d-%d", w, i), ok); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for w := range 8 {
		for i := range 10 {
			k := fmt.Sprintf("c%d-%d", w, i)
			_, body, _ := s.GetMeta(ctx, s.Reader(), "body:"+k)
			_, at, _ := s.GetMeta(ctx, s.Reader(), "at:"+k)
			if err, seen := outcomes[k]; !body || !at || !seen || err != nil {
				t.Errorf("%s: body %v, at-commit %v, told %v (%v)", k, body, at, seen, err)
			}
		}
	}
	if s.Driver().Name() != "postgres" {
		return
	}
	// On PostgreSQL a busy error from an at-commit statement (the audit
	// trail's moved chain head) runs the transaction again.
	runs := 0
	err := s.Tx(ctx, func(tx store.Tx) error {
		runs++
		if err := s.SetMeta(ctx, tx, "body:retried", strconv.Itoa(runs)); err != nil {
			return err
		}
		n := runs
		tx.(store.Stager).Stage("at-commit", n, func(ctx context.Context, tx store.Tx, items []any) error {
			if n == 1 {
				tx.(store.Finisher).ExecAtCommit(`SELECT pb_audit_head_moved(?)`, 7)
			}
			return nil
		})
		return nil
	})
	if v, _, _ := s.GetMeta(ctx, s.Reader(), "body:retried"); err != nil || runs != 2 || v != "2" {
		t.Errorf("busy at-commit statement: err %v, fn ran %d times, committed body %q; want nil, 2, \"2\"", err, runs, v)
	}
}

// testPrune: PruneRuns deletes finished runs ended before the cutoff, with
// their steps, in batches; running and recent runs stay. PruneEvents
// deletes old events no run refers to.
func testPrune(t *testing.T, s *store.Store, _ func(queue.Config) queue.Queue) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	old, cutoff := now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	ev := func(id string, at time.Time) *store.Event {
		return &store.Event{ID: id, Source: "dam", Trigger: "t", Dedupe: id, Type: "x", Data: json.RawMessage(`{}`),
			Status: store.EventAccepted, OccurredAt: at, ReceivedAt: at}
	}
	mustTx(t, s, func(tx store.Tx) error {
		for i, e := range []*store.Event{ev("PE-old-orphan", old), ev("PE-old-used", old), ev("PE-new", now)} {
			if _, err := s.InsertEvent(ctx, tx, e); err != nil {
				return fmt.Errorf("event %d: %w", i, err)
			}
		}
		for i := range 5 {
			r := newRun(fmt.Sprintf("PR-old-%d", i), "f")
			r.EventID = "PE-old-used"
			if _, err := s.InsertRun(ctx, tx, r); err != nil {
				return err
			}
			if _, err := s.UpdateRun(ctx, tx, r.ID, store.RunUpdate{Status: store.RunSucceeded, EndedAt: old}); err != nil {
				return err
			}
			if err := s.InsertSteps(ctx, tx, []store.StepRecord{{RunID: r.ID, Seq: 1, StepID: "a", Kind: "action", Attempt: 1,
				Status: store.StepSucceeded, StartedAt: old, EndedAt: old}}); err != nil {
				return err
			}
		}
		for _, id := range []string{"PR-running", "PR-new"} {
			if _, err := s.InsertRun(ctx, tx, newRun(id, "f")); err != nil {
				return err
			}
		}
		_, err := s.UpdateRun(ctx, tx, "PR-new", store.RunUpdate{Status: store.RunFailed, EndedAt: now})
		return err
	})
	var runs, steps int64
	for batch := 0; ; batch++ {
		r, st, err := s.PruneRuns(ctx, cutoff, 2)
		if err != nil {
			t.Fatal(err)
		}
		runs, steps = runs+r, steps+st
		if r < 2 {
			break
		}
		if batch > 5 {
			t.Fatal("PruneRuns does not finish")
		}
	}
	if runs != 5 || steps != 5 {
		t.Fatalf("pruned %d runs and %d steps, want 5 and 5", runs, steps)
	}
	for id, want := range map[string]bool{"PR-old-0": false, "PR-old-4": false, "PR-running": true, "PR-new": true} {
		if _, err := s.GetRun(ctx, s.Reader(), id); (err == nil) != want {
			t.Errorf("run %s kept = %v, want %v (%v)", id, err == nil, want, err)
		}
	}
	if recs, _ := s.ListSteps(ctx, s.Reader(), "PR-old-0"); len(recs) != 0 {
		t.Errorf("steps of a pruned run kept: %d", len(recs))
	}
	// PE-old-used lost its runs above: now it goes too.
	n, err := s.PruneEvents(ctx, cutoff, 10)
	if err != nil || n != 2 {
		t.Fatalf("PruneEvents = %d, %v; want 2", n, err)
	}
	if _, err := s.GetEvent(ctx, s.Reader(), "PE-new"); err != nil {
		t.Errorf("recent event pruned: %v", err)
	}
}
