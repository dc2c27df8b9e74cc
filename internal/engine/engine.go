// Package engine executes runs: a run's steps in order, durably, on River.
//
// Invariants (each has a test in this package or in the crash test):
//
//   - A step's result, its history record, its audit entries and link
//     updates, and the job for what comes next commit in one transaction.
//     A run job only says "advance run R"; the run's state in pb_runs is the
//     truth, so a job that runs twice after a crash finds the state already
//     advanced and re-executes at most the one step that was in flight.
//     (TestCrashRecovery, TestStaleJobIsNoop)
//   - Consecutive steps run in one job: pure steps (set, if, switch) commit
//     together with the next action's result, and an action's result is
//     committed before the next action starts. (TestOneCommitPerAction)
//   - External writes carry an idempotency key derived from the run, the
//     step and, for foreach iterations, the item index — never the attempt —
//     so a re-executed step presents the same key. (TestIdempotencyKeyStable)
//   - wait and sleep persist a row or a scheduled job and release the worker:
//     a parked run costs rows, not goroutines. (TestWaitingRunsHoldNoGoroutines)
//   - A rate-limited error delays the step by what the provider asked and
//     does not use up an attempt. (TestRateLimitDelaysNotFails)
//   - Step inputs and outputs are size-capped; outputs above a threshold are
//     stored once as blobs and the run state keeps their hash. (TestLargeOutputsByReference)
//   - A resume and a timeout (or a cancel) race through one conditional
//     delete or update; exactly one wins. (TestWaitTimeoutRacesResume)
package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/connection"
	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/store"
)

// Config tunes the engine.
type Config struct {
	// StepTimeout bounds an action that sets no timeout (default 60s).
	StepTimeout time.Duration
	// MaxValueBytes caps one step input or output as JSON (default 1 MiB).
	MaxValueBytes int
	// BlobThreshold moves outputs larger than this out of the run state (default 64 KiB).
	BlobThreshold int
	// HoldMax: retry and rate-limit delays up to this are waited out in the
	// worker; longer ones release it and schedule the run (default 2s).
	HoldMax time.Duration
	// JobBudget is how long one job keeps advancing a run before handing over
	// to a fresh job (default 30s).
	JobBudget time.Duration
	// MaxRateLimitDelays fails a step delayed this many times (default 200).
	MaxRateLimitDelays int
	Logger             *slog.Logger
	Now                func() time.Time
	// Jitter returns a factor in [0.8, 1.2) applied to backoff delays.
	Jitter func() float64
}

func (c *Config) defaults() {
	if c.StepTimeout <= 0 {
		c.StepTimeout = 60 * time.Second
	}
	if c.MaxValueBytes <= 0 {
		c.MaxValueBytes = 1 << 20
	}
	if c.BlobThreshold <= 0 {
		c.BlobThreshold = 64 << 10
	}
	if c.HoldMax <= 0 {
		c.HoldMax = 2 * time.Second
	}
	if c.JobBudget <= 0 {
		c.JobBudget = 30 * time.Second
	}
	if c.MaxRateLimitDelays <= 0 {
		c.MaxRateLimitDelays = 200
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Jitter == nil {
		c.Jitter = func() float64 { return 0.8 + 0.4*rand.Float64() }
	}
}

// Engine executes runs.
type Engine struct {
	st    *store.Store
	q     queue.Queue
	conns *connection.Manager
	flows *Flows
	cfg   Config
	log   *slog.Logger
	obs   Observer

	inflight sync.Map // run id → context.CancelFunc
}

// New returns an engine. Call Register before the queue starts.
func New(st *store.Store, q queue.Queue, conns *connection.Manager, flows *Flows, cfg Config) *Engine {
	cfg.defaults()
	return &Engine{st: st, q: q, conns: conns, flows: flows, cfg: cfg, log: cfg.Logger, obs: nopObserver{}}
}

// SetObserver installs the hooks the audit trail and links use.
func (e *Engine) SetObserver(o Observer) {
	if o == nil {
		o = nopObserver{}
	}
	e.obs = o
}

// Store returns the engine's store.
func (e *Engine) Store() *store.Store { return e.st }

// Queue returns the engine's queue.
func (e *Engine) Queue() queue.Queue { return e.q }

// Flows returns the flow cache.
func (e *Engine) Flows() *Flows { return e.flows }

// Connections returns the connection manager.
func (e *Engine) Connections() *connection.Manager { return e.conns }

// Register installs the engine's job handlers on the queue.
func (e *Engine) Register() {
	e.q.Handle(queue.KindRun, e.workRun)
	e.q.Handle(queue.KindTimer, e.workTimer)
}

// runJob is the payload of a run job.
type runJob struct {
	RunID string `json:"run_id"`
	Wake  *wake  `json:"wake,omitempty"`
}

// wake tells a parked run why it continues.
type wake struct {
	Park    string `json:"park"`
	EventID string `json:"event_id,omitempty"`
	Timeout bool   `json:"timeout,omitempty"`
}

// timerJob is the payload of a wait-timeout job.
type timerJob struct {
	RunID  string `json:"run_id"`
	WaitID string `json:"wait_id"`
}

func runJobOf(runID string, w *wake, at time.Time) queue.Job {
	return queue.Job{Kind: queue.KindRun, Payload: runJob{RunID: runID, Wake: w}, RunAt: at}
}

func (e *Engine) workRun(ctx context.Context, job *queue.Info) error {
	var p runJob
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		e.log.Error("dropping malformed run job", "job_id", job.ID, "error", err)
		return nil
	}
	return e.advance(ctx, p)
}

// workTimer times a wait out: whoever deletes the wait first owns the run.
func (e *Engine) workTimer(ctx context.Context, job *queue.Info) error {
	var p timerJob
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		e.log.Error("dropping malformed timer job", "job_id", job.ID, "error", err)
		return nil
	}
	return e.st.Tx(ctx, func(tx store.Tx) error {
		won, err := e.st.DeleteWait(ctx, tx, p.WaitID)
		if err != nil || !won {
			return err
		}
		moved, err := e.st.UpdateRun(ctx, tx, p.RunID, store.RunUpdate{Status: store.RunQueued, From: []string{store.RunWaiting}})
		if err != nil || !moved {
			return err
		}
		return e.q.Insert(ctx, tx, runJobOf(p.RunID, &wake{Park: p.WaitID, Timeout: true}, time.Time{}))
	})
}

// Observer sees what the engine commits, inside the committing transaction,
// so audit entries and link updates are atomic with the state they describe.
type Observer interface {
	// StepsCommitted is called with the records and writes of one commit.
	StepsCommitted(ctx context.Context, tx store.Tx, c *Commit) error
}

// CommitPreparer is implemented by an Observer that can do part of its
// work before the commit's transaction (on SQLite, transactions run one at
// a time: work done outside them costs no throughput). PrepareCommit may
// set c.Prepared; StepsCommitted then finds it there.
type CommitPreparer interface {
	PrepareCommit(ctx context.Context, c *Commit)
}

// Commit is what one engine transaction records.
type Commit struct {
	Run     *store.Run
	Flow    string
	Version int
	Status  string // the run's status after the commit
	Steps   []store.StepRecord
	Writes  []StepWrite
	// Ended is true for the commit that finishes the run.
	Ended bool
	// Prepared is what the observer's PrepareCommit made, if anything.
	Prepared any
}

// StepWrite is an external write an action reported.
type StepWrite struct {
	StepID string
	Link   string // the step's link key, if it declared one
	Write  connector.Write
}

type nopObserver struct{}

func (nopObserver) StepsCommitted(context.Context, store.Tx, *Commit) error { return nil }

func sizeError(what string, n, limit int) error {
	return fmt.Errorf("%s is %d bytes, over the cap of %d bytes; map only the fields you need", what, n, limit)
}
