package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"

	"github.com/patchbay/patchbay/internal/store"
)

// kindName gives each job-args type its River kind.
type kindName interface{ kind() Kind }

type runKind struct{}
type timerKind struct{}
type pollKind struct{}
type cronKind struct{}
type choreKind struct{}

func (runKind) kind() Kind   { return KindRun }
func (timerKind) kind() Kind { return KindTimer }
func (pollKind) kind() Kind  { return KindPoll }
func (cronKind) kind() Kind  { return KindCron }
func (choreKind) kind() Kind { return KindChore }

// args is the River job args of one kind: the payload, opaque to River.
type args[K kindName] struct {
	P json.RawMessage `json:"p"`
}

func (args[K]) Kind() string {
	var k K
	return string(k.kind())
}

type worker[K kindName] struct {
	river.WorkerDefaults[args[K]]
	h Handler
}

func (w *worker[K]) Work(ctx context.Context, job *river.Job[args[K]]) error {
	var k K
	return w.h(ctx, &Info{ID: job.ID, Kind: k.kind(), Payload: job.Args.P, Attempt: job.Attempt})
}

// riverQueue adapts a River client of any transaction type. TTx is erased to
// any inside; txOf extracts the driver transaction from a store.Tx.
type riverQueue[TTx any] struct {
	client   *river.Client[TTx]
	txOf     func(store.Tx) TTx
	cfg      Config
	handlers map[Kind]Handler
	driver   riverdriver.Driver[TTx]

	mu       sync.Mutex
	periodic map[string]map[string]rivertype.PeriodicJobHandle // group → id → handle
	started  bool
}

// New builds a Queue over a River driver. txOf extracts the driver's
// transaction type from a store.Tx (store.Tx.Raw().(*sql.Tx) for SQLite).
func New[TTx any](driver riverdriver.Driver[TTx], txOf func(store.Tx) TTx, cfg Config) Queue {
	return &riverQueue[TTx]{driver: driver, txOf: txOf, cfg: cfg, handlers: map[Kind]Handler{}, periodic: map[string]map[string]rivertype.PeriodicJobHandle{}}
}

func (q *riverQueue[TTx]) Handle(kind Kind, h Handler) { q.handlers[kind] = h }

func (q *riverQueue[TTx]) build() error {
	if q.client != nil {
		return nil
	}
	logger := q.cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rc := &river.Config{
		Logger:               logger.With("component", "river"),
		FetchCooldown:        q.cfg.FetchCooldown,
		FetchPollInterval:    q.cfg.FetchPollInterval,
		RescueStuckJobsAfter: q.cfg.RescueAfter,
		JobTimeout:           q.cfg.JobTimeout,
		MaxAttempts:          q.cfg.MaxAttempts,
		ID:                   q.cfg.ID,
		// Completed jobs are River's business; patchbay keeps its own history.
		CompletedJobRetentionPeriod: time.Hour,
	}
	if q.cfg.Workers > 0 || q.cfg.ControlWorkers > 0 {
		workers := river.NewWorkers()
		add := func(kind Kind, register func(h Handler)) {
			if h, ok := q.handlers[kind]; ok {
				register(h)
			}
		}
		add(KindRun, func(h Handler) { river.AddWorker(workers, &worker[runKind]{h: h}) })
		add(KindTimer, func(h Handler) { river.AddWorker(workers, &worker[timerKind]{h: h}) })
		add(KindPoll, func(h Handler) { river.AddWorker(workers, &worker[pollKind]{h: h}) })
		add(KindCron, func(h Handler) { river.AddWorker(workers, &worker[cronKind]{h: h}) })
		add(KindChore, func(h Handler) { river.AddWorker(workers, &worker[choreKind]{h: h}) })
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{}
		if q.cfg.Workers > 0 {
			rc.Queues[QueueRuns] = river.QueueConfig{MaxWorkers: q.cfg.Workers}
		}
		if q.cfg.ControlWorkers > 0 {
			rc.Queues[QueueControl] = river.QueueConfig{MaxWorkers: q.cfg.ControlWorkers}
		}
	}
	client, err := river.NewClient(q.driver, rc)
	if err != nil {
		return fmt.Errorf("creating river client: %w", err)
	}
	q.client = client
	return nil
}

func (q *riverQueue[TTx]) params(jobs []Job) ([]river.InsertManyParams, error) {
	out := make([]river.InsertManyParams, 0, len(jobs))
	for _, j := range jobs {
		p, err := encodePayload(j.Payload)
		if err != nil {
			return nil, err
		}
		var a river.JobArgs
		switch j.Kind {
		case KindRun:
			a = args[runKind]{P: p}
		case KindTimer:
			a = args[timerKind]{P: p}
		case KindPoll:
			a = args[pollKind]{P: p}
		case KindCron:
			a = args[cronKind]{P: p}
		case KindChore:
			a = args[choreKind]{P: p}
		default:
			return nil, fmt.Errorf("inserting job: unknown kind %q", j.Kind)
		}
		out = append(out, river.InsertManyParams{Args: a, InsertOpts: insertOpts(j)})
	}
	return out, nil
}

func insertOpts(j Job) *river.InsertOpts {
	o := &river.InsertOpts{Queue: j.Queue, ScheduledAt: j.RunAt, Priority: j.Priority, MaxAttempts: j.MaxAttempts}
	if j.Unique {
		o.UniqueOpts = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
			rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateRunning, rivertype.JobStateScheduled,
		}}
	}
	if o.Queue == "" {
		o.Queue = QueueControl
		if j.Kind == KindRun {
			o.Queue = QueueRuns
		}
	}
	return o
}

func (q *riverQueue[TTx]) Insert(ctx context.Context, tx store.Tx, jobs ...Job) error {
	if len(jobs) == 0 {
		return nil
	}
	if err := q.build(); err != nil {
		return err
	}
	params, err := q.params(jobs)
	if err != nil {
		return err
	}
	if len(params) == 1 {
		_, err = q.client.InsertTx(ctx, q.txOf(tx), params[0].Args, params[0].InsertOpts)
	} else {
		_, err = q.client.InsertManyFastTx(ctx, q.txOf(tx), params)
	}
	if err != nil {
		return fmt.Errorf("inserting jobs: %w", err)
	}
	return nil
}

func (q *riverQueue[TTx]) Start(ctx context.Context) error {
	if err := q.build(); err != nil {
		return err
	}
	if q.cfg.Workers == 0 && q.cfg.ControlWorkers == 0 {
		return nil
	}
	if err := q.client.Start(ctx); err != nil {
		return fmt.Errorf("starting river: %w", err)
	}
	q.mu.Lock()
	q.started = true
	q.mu.Unlock()
	return nil
}

func (q *riverQueue[TTx]) Stop(ctx context.Context) error {
	q.mu.Lock()
	started := q.started
	q.started = false
	q.mu.Unlock()
	if !started {
		return nil
	}
	err := q.client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		// Soft stop ran out of time: cancel what is still working.
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return q.client.StopAndCancel(cctx)
	}
	return err
}

func (q *riverQueue[TTx]) SetPeriodic(group string, jobs []Periodic) {
	if err := q.build(); err != nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	want := map[string]Periodic{}
	for _, p := range jobs {
		want[p.ID] = p
	}
	for id, h := range q.periodic[group] {
		q.client.PeriodicJobs().Remove(h)
		delete(q.periodic[group], id)
	}
	if q.periodic[group] == nil {
		q.periodic[group] = map[string]rivertype.PeriodicJobHandle{}
	}
	for id, p := range want {
		params, err := q.params([]Job{p.Job})
		if err != nil {
			continue
		}
		a, opts := params[0].Args, params[0].InsertOpts
		h := q.client.PeriodicJobs().Add(river.NewPeriodicJob(p.Schedule, func() (river.JobArgs, *river.InsertOpts) {
			return a, opts
		}, &river.PeriodicJobOpts{RunOnStart: p.RunOnStart}))
		q.periodic[group][id] = h
	}
}

func (q *riverQueue[TTx]) Stats(ctx context.Context) (map[string]int, error) {
	if err := q.build(); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, st := range []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable} {
		res, err := q.client.JobList(ctx, river.NewJobListParams().States(st).First(10000))
		if err != nil {
			return nil, fmt.Errorf("listing jobs: %w", err)
		}
		out[string(st)] = len(res.Jobs)
	}
	return out, nil
}
