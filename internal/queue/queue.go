// Package queue is patchbay's view of River: jobs inserted inside store
// transactions, handlers registered by kind, periodic jobs for pollers and
// schedules (run by River's elected leader only). It hides River's generic
// transaction type so the engine is the same on SQLite and PostgreSQL.
package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/patchbay/patchbay/internal/store"
)

// Kind names a job kind.
type Kind string

// The job kinds patchbay uses.
const (
	KindRun   Kind = "run"   // advance a run
	KindTimer Kind = "timer" // a sleep ending or a wait timing out
	KindPoll  Kind = "poll"  // poll one trigger of one connection
	KindCron  Kind = "cron"  // start a run of a scheduled flow
	KindChore Kind = "chore" // housekeeping (pruning, sweeps)
)

// Queue names.
const (
	QueueRuns    = "default"
	QueueControl = "control"
)

// Job is a job to insert.
type Job struct {
	Kind    Kind
	Payload any // JSON-encoded into the job's args
	// RunAt schedules the job; zero means now.
	RunAt    time.Time
	Priority int // 1 (first) … 4; 0 means 1
	// Queue defaults to QueueRuns for run jobs and QueueControl otherwise.
	Queue       string
	MaxAttempts int
	// Unique skips the insert while a job of the same kind and payload is
	// waiting or running (pollers must not overlap).
	Unique bool
}

// Info is a job being worked.
type Info struct {
	ID      int64
	Kind    Kind
	Payload json.RawMessage
	Attempt int
}

// Handler works one job. Returning an error makes River retry the job with
// backoff; returning nil completes it.
type Handler func(ctx context.Context, job *Info) error

// Periodic is a job inserted on a schedule by the leader.
type Periodic struct {
	// ID identifies the periodic job so it can be replaced or removed.
	ID       string
	Schedule interface{ Next(time.Time) time.Time }
	Job      Job
	// RunOnStart inserts the job once right away as well.
	RunOnStart bool
}

// Every is a schedule that fires every d.
type Every time.Duration

// Next implements Periodic.Schedule.
func (e Every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// Queue is River seen through patchbay's transactions.
type Queue interface {
	// Insert adds jobs inside tx; they become visible when tx commits.
	Insert(ctx context.Context, tx store.Tx, jobs ...Job) error
	// Handle registers the handler for a kind; call before Start.
	Handle(kind Kind, h Handler)
	// Start begins working jobs (workers > 0) and, on the leader, periodic jobs.
	Start(ctx context.Context) error
	// Stop waits for jobs in flight to finish, up to ctx's deadline, then cancels them.
	Stop(ctx context.Context) error
	// SetPeriodic replaces the periodic jobs of one group (pollers,
	// schedules, chores…), leaving other groups alone.
	SetPeriodic(group string, jobs []Periodic)
	// Stats counts jobs by state (available, running, scheduled, retryable…).
	Stats(ctx context.Context) (map[string]int, error)
}

// Config tunes River.
type Config struct {
	// Workers is how many jobs of the runs queue run at once; 0 means none
	// (an insert-only client, as used by CLI commands).
	Workers int
	// ControlWorkers is the same for the control queue (polls, timers, crons).
	ControlWorkers int
	// FetchCooldown and FetchPollInterval tune how fast new jobs are picked up.
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
	// RescueAfter is how long a job may stay running before another node
	// assumes its worker died and runs it again.
	RescueAfter time.Duration
	// JobTimeout bounds one job; -1 means none.
	JobTimeout time.Duration
	// MaxAttempts for jobs whose handler errors (infrastructure trouble).
	MaxAttempts int
	// ID names this client (defaults to River's host-and-time id).
	ID     string
	Logger *slog.Logger
}

func encodePayload(p any) (json.RawMessage, error) {
	if raw, ok := p.(json.RawMessage); ok {
		return raw, nil
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding job payload: %w", err)
	}
	return b, nil
}
