package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Step statuses in the history.
const (
	StepSucceeded = "succeeded"
	StepFailed    = "failed"    // failed for good
	StepRetrying  = "retrying"  // failed, will be tried again
	StepDelayed   = "delayed"   // rate limited, will be tried again
	StepSkipped   = "skipped"   // when was false
	StepWaiting   = "waiting"   // parked on a wait or sleep
	StepCancelled = "cancelled" // the run was cancelled while the step was in flight
)

// StepRecord is one attempt of one step, as kept in a run's history.
type StepRecord struct {
	RunID          string
	Seq            int
	StepID         string
	Kind           string
	Attempt        int
	Status         string
	Input          json.RawMessage
	Output         json.RawMessage
	Error          string
	ErrorKind      string
	IdempotencyKey string
	StartedAt      time.Time
	EndedAt        time.Time
}

// InsertSteps appends step records (one statement for up to 50 records).
func (s *Store) InsertSteps(ctx context.Context, q Querier, recs []StepRecord) error {
	const cols = 13
	for start := 0; start < len(recs); start += 50 {
		chunk := recs[start:min(start+50, len(recs))]
		query := stepInsertSQL(len(chunk))
		args := make([]any, 0, cols*len(chunk))
		for i := range chunk {
			r := &chunk[i]
			args = append(args, r.RunID, r.Seq, r.StepID, r.Kind, r.Attempt, r.Status, nullText(r.Input), nullText(r.Output),
				r.Error, r.ErrorKind, r.IdempotencyKey, micros(r.StartedAt), micros(r.EndedAt))
		}
		if _, err := q.Exec(ctx, query, args...); err != nil {
			return fmt.Errorf("inserting steps of run %s: %w", chunk[0].RunID, err)
		}
	}
	return nil
}

var stepInsertSQLs [51]string

func stepInsertSQL(n int) string {
	if stepInsertSQLs[n] != "" {
		return stepInsertSQLs[n]
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO pb_steps (run_id, seq, step_id, kind, attempt, status, input, output, error, error_kind, idem_key, started_at, ended_at) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return b.String()
}

func init() {
	for n := 1; n <= 50; n++ {
		stepInsertSQLs[n] = ""
		stepInsertSQLs[n] = stepInsertSQL(n)
	}
}

// ListSteps returns a run's step history in order.
func (s *Store) ListSteps(ctx context.Context, q Querier, runID string) ([]StepRecord, error) {
	rows, err := q.Query(ctx, `SELECT run_id, seq, step_id, kind, attempt, status, input, output, error, error_kind, idem_key, started_at, ended_at
		FROM pb_steps WHERE run_id = ? ORDER BY seq`, runID)
	if err != nil {
		return nil, fmt.Errorf("listing steps: %w", err)
	}
	defer rows.Close()
	var out []StepRecord
	for rows.Next() {
		var r StepRecord
		var in, outp *string
		var st, en int64
		if err := rows.Scan(&r.RunID, &r.Seq, &r.StepID, &r.Kind, &r.Attempt, &r.Status, &in, &outp, &r.Error, &r.ErrorKind,
			&r.IdempotencyKey, &st, &en); err != nil {
			return nil, fmt.Errorf("listing steps: %w", err)
		}
		if in != nil {
			r.Input = json.RawMessage(*in)
		}
		if outp != nil {
			r.Output = json.RawMessage(*outp)
		}
		r.StartedAt, r.EndedAt = fromMicros(st), fromMicros(en)
		out = append(out, r)
	}
	return out, rows.Err()
}
