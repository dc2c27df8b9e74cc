package store

import (
	"context"
	"fmt"
	"time"
)

// Wait is a run parked until an event with a matching key arrives on one of
// its sources. A wait on several sources is one row per source, sharing WaitID.
type Wait struct {
	WaitID string
	Source string // "<connection>/<trigger>"
	RunID  string
	StepID string
	// KeyExpr is the source text of the wait's event_key expression ("" for
	// the default, the event's object reference).
	KeyExpr   string
	Key       string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// InsertWait parks a run.
func (s *Store) InsertWait(ctx context.Context, q Querier, w *Wait) error {
	_, err := q.Exec(ctx, `INSERT INTO pb_waits (wait_id, source, run_id, step_id, key_expr, key, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		w.WaitID, w.Source, w.RunID, w.StepID, w.KeyExpr, w.Key, micros(w.CreatedAt), micros(w.ExpiresAt))
	if err != nil {
		return fmt.Errorf("inserting wait: %w", err)
	}
	return nil
}

// DeleteWait removes every row of a wait and reports whether there were any.
// The transaction that deletes a wait owns the run's resumption: a resume by
// event and a timeout race, and only one of them sees true.
func (s *Store) DeleteWait(ctx context.Context, q Querier, waitID string) (bool, error) {
	n, err := q.Exec(ctx, `DELETE FROM pb_waits WHERE wait_id = ?`, waitID)
	if err != nil {
		return false, fmt.Errorf("deleting wait: %w", err)
	}
	return n > 0, nil
}

// DeleteRunWaits removes every wait of a run (on cancel).
func (s *Store) DeleteRunWaits(ctx context.Context, q Querier, runID string) error {
	_, err := q.Exec(ctx, `DELETE FROM pb_waits WHERE run_id = ?`, runID)
	if err != nil {
		return fmt.Errorf("deleting waits: %w", err)
	}
	return nil
}

// WaitKeyExprs returns the distinct event-key expressions that waits on a
// source use, so an event's keys can be computed once per expression.
func (s *Store) WaitKeyExprs(ctx context.Context, q Querier, source string) ([]string, error) {
	out, err := queryStrings(ctx, q, `SELECT DISTINCT key_expr FROM pb_waits WHERE source = ?`, source)
	if err != nil {
		return nil, fmt.Errorf("listing wait keys: %w", err)
	}
	return out, nil
}

// MatchWaits returns the waits on source whose key expression and key match.
func (s *Store) MatchWaits(ctx context.Context, q Querier, source, keyExpr, key string) ([]*Wait, error) {
	rows, err := q.Query(ctx, `SELECT wait_id, source, run_id, step_id, key_expr, key, created_at, expires_at
		FROM pb_waits WHERE source = ? AND key_expr = ? AND key = ? ORDER BY created_at LIMIT 10000`, source, keyExpr, key)
	if err != nil {
		return nil, fmt.Errorf("matching waits: %w", err)
	}
	return scanWaits(rows)
}

// WaitKeys returns the distinct keys waited on for a source (for pollers that
// ask only about awaited objects), at most limit.
func (s *Store) WaitKeys(ctx context.Context, q Querier, source string, limit int) ([]string, error) {
	out, err := queryStrings(ctx, q, `SELECT DISTINCT key FROM pb_waits WHERE source = ? ORDER BY key LIMIT ?`, source, limitOr(limit, 1000))
	if err != nil {
		return nil, fmt.Errorf("listing wait keys: %w", err)
	}
	return out, nil
}

// WaitSources lists the sources that have waits.
func (s *Store) WaitSources(ctx context.Context, q Querier) ([]string, error) {
	out, err := queryStrings(ctx, q, `SELECT DISTINCT source FROM pb_waits`)
	if err != nil {
		return nil, fmt.Errorf("listing wait sources: %w", err)
	}
	return out, nil
}

// RunWaits returns a run's waits.
func (s *Store) RunWaits(ctx context.Context, q Querier, runID string) ([]*Wait, error) {
	rows, err := q.Query(ctx, `SELECT wait_id, source, run_id, step_id, key_expr, key, created_at, expires_at
		FROM pb_waits WHERE run_id = ? ORDER BY wait_id, source`, runID)
	if err != nil {
		return nil, fmt.Errorf("listing run waits: %w", err)
	}
	return scanWaits(rows)
}

// CountWaits counts wait rows.
func (s *Store) CountWaits(ctx context.Context, q Querier) (int, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM pb_waits`).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting waits: %w", err)
	}
	return n, nil
}

func scanWaits(rows Rows) ([]*Wait, error) {
	defer rows.Close()
	var out []*Wait
	for rows.Next() {
		var w Wait
		var c, e int64
		if err := rows.Scan(&w.WaitID, &w.Source, &w.RunID, &w.StepID, &w.KeyExpr, &w.Key, &c, &e); err != nil {
			return nil, fmt.Errorf("scanning wait: %w", err)
		}
		w.CreatedAt, w.ExpiresAt = fromMicros(c), fromMicros(e)
		out = append(out, &w)
	}
	return out, rows.Err()
}
