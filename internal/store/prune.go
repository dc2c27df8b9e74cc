package store

import (
	"context"
	"strings"
	"time"
)

// PruneRuns deletes, in one transaction, up to limit finished runs
// (succeeded, failed or cancelled) that ended before cutoff, with their
// steps and waits. It returns how many runs and steps it deleted; fewer
// runs than limit means none older are left.
func (s *Store) PruneRuns(ctx context.Context, cutoff time.Time, limit int) (runs, steps int64, err error) {
	err = s.Tx(ctx, func(tx Tx) error {
		runs, steps = 0, 0
		ids, err := queryStrings(ctx, tx, `SELECT id FROM pb_runs WHERE status IN (?, ?, ?) AND ended_at < ? LIMIT ?`,
			RunSucceeded, RunFailed, RunCancelled, micros(cutoff), limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		// The status is checked again: a run retried meanwhile stays, with
		// its history.
		in, args := inList(ids)
		if runs, err = tx.Exec(ctx, `DELETE FROM pb_runs WHERE id IN (`+in+`) AND status IN (?, ?, ?)`,
			append(args, RunSucceeded, RunFailed, RunCancelled)...); err != nil {
			return err
		}
		if steps, err = tx.Exec(ctx, `DELETE FROM pb_steps WHERE run_id IN (`+in+`)
			AND NOT EXISTS (SELECT 1 FROM pb_runs r WHERE r.id = pb_steps.run_id)`, args...); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM pb_waits WHERE run_id IN (`+in+`)
			AND NOT EXISTS (SELECT 1 FROM pb_runs r WHERE r.id = pb_waits.run_id)`, args...)
		return err
	})
	return runs, steps, err
}

// PruneEvents deletes, in one transaction, up to limit events received
// before cutoff that no run refers to. Fewer than limit deleted means none
// older are left.
func (s *Store) PruneEvents(ctx context.Context, cutoff time.Time, limit int) (int64, error) {
	var n int64
	err := s.Tx(ctx, func(tx Tx) error {
		ids, err := queryStrings(ctx, tx, `SELECT e.id FROM pb_events e WHERE e.received_at < ?
			AND NOT EXISTS (SELECT 1 FROM pb_runs r WHERE r.event_id = e.id) LIMIT ?`, micros(cutoff), limit)
		if err != nil || len(ids) == 0 {
			n = 0
			return err
		}
		in, args := inList(ids)
		n, err = tx.Exec(ctx, `DELETE FROM pb_events WHERE id IN (`+in+`)
			AND NOT EXISTS (SELECT 1 FROM pb_runs r WHERE r.event_id = pb_events.id)`, args...)
		return err
	})
	return n, err
}

func inList(ids []string) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return strings.TrimSuffix(strings.Repeat("?,", len(ids)), ","), args
}
