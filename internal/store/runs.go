package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Run statuses.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunWaiting   = "waiting"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunCancelled = "cancelled"
)

// RunDone reports whether a status is final.
func RunDone(status string) bool {
	return status == RunSucceeded || status == RunFailed || status == RunCancelled
}

// Run is one execution of one flow version.
type Run struct {
	ID          string
	Flow        string
	FlowVersion int
	EventID     string
	ParentID    string
	ParentStep  string
	Status      string
	// State is the engine's execution state (cursor, variables, outputs).
	State      json.RawMessage
	Input      json.RawMessage
	Output     json.RawMessage
	Error      *RunError
	Dedupe     string
	Generation int
	// Rev counts updates; workers commit only if it is unchanged since they loaded the run.
	Rev int64
	// StepSeq is the number of the last step record as of the last commit.
	StepSeq   int
	CreatedAt time.Time
	StartedAt time.Time
	UpdatedAt time.Time
	EndedAt   time.Time
}

// RunError is why a run failed.
type RunError struct {
	Step    string `json:"step,omitempty"`
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// InsertRun stores a new run. It reports false (and no error) when the flow
// already has a run with the same dedupe key.
func (s *Store) InsertRun(ctx context.Context, q Querier, r *Run) (bool, error) {
	errJSON, err := marshalOrNil(r.Error)
	if err != nil {
		return false, err
	}
	n, err := q.Exec(ctx, `INSERT INTO pb_runs (id, flow, flow_version, event_id, parent_id, parent_step, status, state, input, output, error, dedupe, generation, created_at, started_at, updated_at, ended_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		r.ID, r.Flow, r.FlowVersion, nullStr(r.EventID), nullStr(r.ParentID), nullStr(r.ParentStep), r.Status, string(r.State),
		nullText(r.Input), nullText(r.Output), errJSON, nullStr(r.Dedupe), r.Generation,
		micros(r.CreatedAt), nullMicros(r.StartedAt), micros(r.UpdatedAt), nullMicros(r.EndedAt))
	if err != nil {
		return false, fmt.Errorf("inserting run: %w", err)
	}
	return n == 1, nil
}

// RunUpdate is a conditional change to a run.
type RunUpdate struct {
	Status     string
	State      json.RawMessage // nil: unchanged
	Output     json.RawMessage // nil: unchanged
	Error      *RunError       // nil: cleared when ClearError, else unchanged
	ClearError bool
	Generation int // 0: unchanged
	StartedAt  time.Time
	EndedAt    time.Time
	// From lists the statuses the run must be in; empty means any.
	From []string
	// Rev, when not 0, must equal the run's revision.
	Rev int64
	// StepSeq, when not 0, records the last step record number.
	StepSeq int
}

// UpdateRun applies u to run id and reports whether the run was in one of
// u.From (and so was changed). A false result means someone else moved the
// run first (a cancel, a concurrent resume): the caller must not go on.
func (s *Store) UpdateRun(ctx context.Context, q Querier, id string, u RunUpdate) (bool, error) {
	set := `status = ?, updated_at = ?, rev = rev + 1`
	args := []any{u.Status, micros(s.now())}
	if u.StepSeq > 0 {
		set += `, step_seq = ?`
		args = append(args, u.StepSeq)
	}
	if u.State != nil {
		set += `, state = ?`
		args = append(args, string(u.State))
	}
	if u.Output != nil {
		set += `, output = ?`
		args = append(args, string(u.Output))
	}
	if u.Error != nil {
		b, err := json.Marshal(u.Error)
		if err != nil {
			return false, err
		}
		set += `, error = ?`
		args = append(args, string(b))
	} else if u.ClearError {
		set += `, error = NULL`
	}
	if u.Generation > 0 {
		set += `, generation = ?`
		args = append(args, u.Generation)
	}
	if !u.StartedAt.IsZero() {
		set += `, started_at = COALESCE(started_at, ?)`
		args = append(args, micros(u.StartedAt))
	}
	if !u.EndedAt.IsZero() {
		set += `, ended_at = ?`
		args = append(args, micros(u.EndedAt))
	} else if !RunDone(u.Status) {
		set += `, ended_at = NULL`
	}
	query := `UPDATE pb_runs SET ` + set + ` WHERE id = ?`
	args = append(args, id)
	if len(u.From) > 0 {
		query += ` AND status IN (` + placeholders(len(u.From)) + `)`
		for _, st := range u.From {
			args = append(args, st)
		}
	}
	if u.Rev != 0 {
		query += ` AND rev = ?`
		args = append(args, u.Rev)
	}
	n, err := q.Exec(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("updating run %s: %w", id, err)
	}
	return n == 1, nil
}

// LockRun takes the run's row lock for the rest of the transaction (a no-op
// update; SQLite's single writer is a lock already) and bumps its revision, so
// a worker holding an older copy cannot commit over the change.
func (s *Store) LockRun(ctx context.Context, q Querier, id string) error {
	_, err := q.Exec(ctx, `UPDATE pb_runs SET rev = rev + 1 WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("locking run %s: %w", id, err)
	}
	return nil
}

// SetRunStepSeq records the last step record number of a run.
func (s *Store) SetRunStepSeq(ctx context.Context, q Querier, id string, seq int) error {
	_, err := q.Exec(ctx, `UPDATE pb_runs SET step_seq = ? WHERE id = ?`, seq, id)
	if err != nil {
		return fmt.Errorf("updating run %s: %w", id, err)
	}
	return nil
}

const runCols = `id, flow, flow_version, event_id, parent_id, parent_step, status, state, input, output, error, dedupe, generation, rev, step_seq, created_at, started_at, updated_at, ended_at`

func scanRun(r interface{ Scan(...any) error }) (*Run, error) {
	var run Run
	var eventID, parentID, parentStep, input, output, errText, dedupe *string
	var state string
	var created, updated int64
	var started, ended *int64
	if err := r.Scan(&run.ID, &run.Flow, &run.FlowVersion, &eventID, &parentID, &parentStep, &run.Status, &state,
		&input, &output, &errText, &dedupe, &run.Generation, &run.Rev, &run.StepSeq, &created, &started, &updated, &ended); err != nil {
		return nil, err
	}
	run.EventID, run.ParentID, run.ParentStep, run.Dedupe = deref(eventID), deref(parentID), deref(parentStep), deref(dedupe)
	run.State = json.RawMessage(state)
	if input != nil {
		run.Input = json.RawMessage(*input)
	}
	if output != nil {
		run.Output = json.RawMessage(*output)
	}
	if errText != nil && *errText != "" {
		run.Error = &RunError{}
		if err := json.Unmarshal([]byte(*errText), run.Error); err != nil {
			return nil, fmt.Errorf("decoding run error: %w", err)
		}
	}
	run.CreatedAt, run.UpdatedAt = fromMicros(created), fromMicros(updated)
	if started != nil {
		run.StartedAt = fromMicros(*started)
	}
	if ended != nil {
		run.EndedAt = fromMicros(*ended)
	}
	return &run, nil
}

// GetRun returns the run with the given id (ErrNotFound if none).
func (s *Store) GetRun(ctx context.Context, q Querier, id string) (*Run, error) {
	r, err := scanRun(q.QueryRow(ctx, `SELECT `+runCols+` FROM pb_runs WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("getting run %s: %w", id, err)
	}
	return r, nil
}

// RunFilter narrows ListRuns.
type RunFilter struct {
	Flow     string
	Status   string
	EventID  string
	ParentID string
	Before   string // list runs with ids before this one (paging)
	Limit    int
	// Oldest lists oldest first instead of newest first.
	Oldest bool
}

// ListRuns returns runs, newest first.
func (s *Store) ListRuns(ctx context.Context, q Querier, f RunFilter) ([]*Run, error) {
	query := `SELECT ` + runCols + ` FROM pb_runs WHERE 1=1`
	var args []any
	if f.Flow != "" {
		query += ` AND flow = ?`
		args = append(args, f.Flow)
	}
	if f.Status != "" {
		query += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.EventID != "" {
		query += ` AND event_id = ?`
		args = append(args, f.EventID)
	}
	if f.ParentID != "" {
		query += ` AND parent_id = ?`
		args = append(args, f.ParentID)
	}
	if f.Before != "" {
		query += ` AND id < ?`
		args = append(args, f.Before)
	}
	if f.Oldest {
		query += ` ORDER BY id ASC LIMIT ?`
	} else {
		query += ` ORDER BY id DESC LIMIT ?`
	}
	args = append(args, limitOr(f.Limit, 50))
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	defer rows.Close()
	var out []*Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("listing runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CountRuns counts runs by status (for metrics and tests).
func (s *Store) CountRuns(ctx context.Context, q Querier, flow string) (map[string]int, error) {
	query := `SELECT status, COUNT(*) FROM pb_runs`
	var args []any
	if flow != "" {
		query += ` WHERE flow = ?`
		args = append(args, flow)
	}
	query += ` GROUP BY status`
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("counting runs: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

func marshalOrNil(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch x := v.(type) {
	case *RunError:
		if x == nil {
			return nil, nil
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	return string(b), nil
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func placeholders(n int) string {
	b := make([]byte, 0, 2*n)
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '?')
	}
	return string(b)
}
