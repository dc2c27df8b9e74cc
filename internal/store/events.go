package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Event statuses.
const (
	EventAccepted = "accepted" // stored; runs started or waits resumed as it matched
	EventRejected = "rejected" // failed verification or decoding; Reason says why
	EventEcho     = "echo"     // patchbay's own write coming back; no run
)

// Event is a stored inbound event.
type Event struct {
	ID      string
	Source  string // connection name, or "flow:<name>" for flow-level webhooks
	Trigger string
	Dedupe  string // provider event id or content hash
	Type    string
	Object  string
	Objects []string
	Data    json.RawMessage
	Hash    string
	Version string
	Status  string
	Reason  string
	Runs    int // runs started by the event
	// OccurredAt is the provider's time; ReceivedAt is when patchbay stored it.
	OccurredAt time.Time
	ReceivedAt time.Time
}

// InsertEvent stores ev unless an event with the same source and dedupe key
// exists, and reports whether it was inserted.
func (s *Store) InsertEvent(ctx context.Context, q Querier, ev *Event) (bool, error) {
	objs, err := json.Marshal(ev.Objects)
	if err != nil {
		return false, fmt.Errorf("encoding event objects: %w", err)
	}
	n, err := q.Exec(ctx, `INSERT INTO pb_events (id, source, trigger, dedupe, type, object, objects, data, hash, version, status, reason, runs, occurred_at, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		ev.ID, ev.Source, ev.Trigger, ev.Dedupe, ev.Type, ev.Object, string(objs), nullText(ev.Data), ev.Hash, ev.Version,
		ev.Status, ev.Reason, ev.Runs, micros(ev.OccurredAt), micros(ev.ReceivedAt))
	if err != nil {
		return false, fmt.Errorf("inserting event: %w", err)
	}
	return n == 1, nil
}

// SetEventOutcome records an event's final status and how many runs it started.
func (s *Store) SetEventOutcome(ctx context.Context, q Querier, id, status, reason string, runs int) error {
	_, err := q.Exec(ctx, `UPDATE pb_events SET status = ?, reason = ?, runs = ? WHERE id = ?`, status, reason, runs, id)
	if err != nil {
		return fmt.Errorf("updating event: %w", err)
	}
	return nil
}

const eventCols = `id, source, trigger, dedupe, type, object, objects, data, hash, version, status, reason, runs, occurred_at, received_at`

func scanEvent(r interface{ Scan(...any) error }) (*Event, error) {
	var ev Event
	var objs, data *string
	var occ, rec int64
	if err := r.Scan(&ev.ID, &ev.Source, &ev.Trigger, &ev.Dedupe, &ev.Type, &ev.Object, &objs, &data, &ev.Hash, &ev.Version,
		&ev.Status, &ev.Reason, &ev.Runs, &occ, &rec); err != nil {
		return nil, err
	}
	if objs != nil && *objs != "" && *objs != "null" {
		if err := json.Unmarshal([]byte(*objs), &ev.Objects); err != nil {
			return nil, fmt.Errorf("decoding event objects: %w", err)
		}
	}
	if data != nil {
		ev.Data = json.RawMessage(*data)
	}
	ev.OccurredAt, ev.ReceivedAt = fromMicros(occ), fromMicros(rec)
	return &ev, nil
}

// GetEvent returns the event with the given id.
func (s *Store) GetEvent(ctx context.Context, q Querier, id string) (*Event, error) {
	ev, err := scanEvent(q.QueryRow(ctx, `SELECT `+eventCols+` FROM pb_events WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("getting event %s: %w", id, err)
	}
	return ev, nil
}

// EventBySourceDedupe returns the event a source already stored under a dedupe key.
func (s *Store) EventBySourceDedupe(ctx context.Context, q Querier, source, dedupe string) (*Event, error) {
	ev, err := scanEvent(q.QueryRow(ctx, `SELECT `+eventCols+` FROM pb_events WHERE source = ? AND dedupe = ?`, source, dedupe))
	if err != nil {
		return nil, fmt.Errorf("getting event: %w", err)
	}
	return ev, nil
}

// EventFilter narrows ListEvents.
type EventFilter struct {
	Source string
	Status string
	Object string
	Since  time.Time
	Limit  int
}

// ListEvents returns events, newest first.
func (s *Store) ListEvents(ctx context.Context, q Querier, f EventFilter) ([]*Event, error) {
	query := `SELECT ` + eventCols + ` FROM pb_events WHERE 1=1`
	var args []any
	if f.Source != "" {
		query += ` AND source = ?`
		args = append(args, f.Source)
	}
	if f.Status != "" {
		query += ` AND status = ?`
		args = append(args, f.Status)
	}
	if f.Object != "" {
		query += ` AND object = ?`
		args = append(args, f.Object)
	}
	if !f.Since.IsZero() {
		query += ` AND received_at >= ?`
		args = append(args, micros(f.Since))
	}
	query += ` ORDER BY received_at DESC, id DESC LIMIT ?`
	args = append(args, limitOr(f.Limit, 100))
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing events: %w", err)
	}
	defer rows.Close()
	var out []*Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("listing events: %w", err)
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}

func limitOr(n, def int) int {
	if n <= 0 {
		return def
	}
	if n > 10000 {
		return 10000
	}
	return n
}

func nullText(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// EventsForObject returns accepted events of a source and trigger about an
// object received at or after since, oldest first (a wait checks them for
// an event that arrived before it parked).
func (s *Store) EventsForObject(ctx context.Context, q Querier, source, trigger, object string, since time.Time, limit int) ([]*Event, error) {
	rows, err := q.Query(ctx, `SELECT `+eventCols+` FROM pb_events WHERE object = ? AND received_at >= ? AND source = ? AND trigger = ? AND status = ?
		ORDER BY received_at, id LIMIT ?`, object, micros(since), source, trigger, EventAccepted, limitOr(limit, 20))
	if err != nil {
		return nil, fmt.Errorf("listing events for %s: %w", object, err)
	}
	defer rows.Close()
	var out []*Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, rows.Err()
}
