package store

import (
	"context"
	"fmt"
	"time"
)

// FlowVersion is one stored version of a flow file.
type FlowVersion struct {
	Name      string
	Version   int
	Source    string
	Hash      string
	File      string
	AppliedAt time.Time
	AppliedBy string
}

// FlowHead is a flow's active version and the event source its trigger listens on.
type FlowHead struct {
	Name      string
	Version   int
	Enabled   bool
	Source    string // "<connection>/<trigger>", "flow:<name>/webhook", "schedule", "manual"
	UpdatedAt time.Time
}

// LatestFlowVersion returns the highest stored version of a flow, or nil.
func (s *Store) LatestFlowVersion(ctx context.Context, q Querier, name string) (*FlowVersion, error) {
	rows, err := q.Query(ctx, `SELECT name, version, source, hash, file, applied_at, applied_by FROM pb_flows WHERE name = ? ORDER BY version DESC LIMIT 1`, name)
	if err != nil {
		return nil, fmt.Errorf("getting flow %s: %w", name, err)
	}
	vs, err := scanFlowVersions(rows)
	if err != nil || len(vs) == 0 {
		return nil, err
	}
	return vs[0], nil
}

// InsertFlowVersion stores a new version of a flow.
func (s *Store) InsertFlowVersion(ctx context.Context, q Querier, v *FlowVersion) error {
	_, err := q.Exec(ctx, `INSERT INTO pb_flows (name, version, source, hash, file, applied_at, applied_by) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		v.Name, v.Version, v.Source, v.Hash, v.File, micros(v.AppliedAt), v.AppliedBy)
	if err != nil {
		if s.drv.IsUnique(err) {
			return fmt.Errorf("storing flow %s version %d: version exists with other content: %w", v.Name, v.Version, err)
		}
		return fmt.Errorf("storing flow %s version %d: %w", v.Name, v.Version, err)
	}
	return nil
}

// GetFlowVersion returns one version of a flow.
func (s *Store) GetFlowVersion(ctx context.Context, q Querier, name string, version int) (*FlowVersion, error) {
	rows, err := q.Query(ctx, `SELECT name, version, source, hash, file, applied_at, applied_by FROM pb_flows WHERE name = ? AND version = ?`, name, version)
	if err != nil {
		return nil, fmt.Errorf("getting flow %s v%d: %w", name, version, err)
	}
	vs, err := scanFlowVersions(rows)
	if err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("getting flow %s v%d: %w", name, version, ErrNotFound)
	}
	return vs[0], nil
}

// ListFlowVersions returns a flow's versions, newest first.
func (s *Store) ListFlowVersions(ctx context.Context, q Querier, name string) ([]*FlowVersion, error) {
	rows, err := q.Query(ctx, `SELECT name, version, source, hash, file, applied_at, applied_by FROM pb_flows WHERE name = ? ORDER BY version DESC`, name)
	if err != nil {
		return nil, fmt.Errorf("listing flow versions: %w", err)
	}
	return scanFlowVersions(rows)
}

func scanFlowVersions(rows Rows) ([]*FlowVersion, error) {
	defer rows.Close()
	var out []*FlowVersion
	for rows.Next() {
		var v FlowVersion
		var at int64
		if err := rows.Scan(&v.Name, &v.Version, &v.Source, &v.Hash, &v.File, &at, &v.AppliedBy); err != nil {
			return nil, fmt.Errorf("scanning flow: %w", err)
		}
		v.AppliedAt = fromMicros(at)
		out = append(out, &v)
	}
	return out, rows.Err()
}

// SetFlowHead makes a version the active one and bumps the flows generation
// so every node reloads its flow cache.
func (s *Store) SetFlowHead(ctx context.Context, q Querier, h *FlowHead) error {
	_, err := q.Exec(ctx, `INSERT INTO pb_flow_heads (name, version, enabled, source, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET version = excluded.version, enabled = excluded.enabled, source = excluded.source, updated_at = excluded.updated_at`,
		h.Name, h.Version, boolInt(h.Enabled), h.Source, micros(h.UpdatedAt))
	if err != nil {
		return fmt.Errorf("setting flow head %s: %w", h.Name, err)
	}
	return s.BumpGeneration(ctx, q, "flows")
}

// ListFlowHeads returns every flow's head, by name.
func (s *Store) ListFlowHeads(ctx context.Context, q Querier) ([]*FlowHead, error) {
	rows, err := q.Query(ctx, `SELECT name, version, enabled, source, updated_at FROM pb_flow_heads ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing flows: %w", err)
	}
	defer rows.Close()
	var out []*FlowHead
	for rows.Next() {
		var h FlowHead
		var en int
		var at int64
		if err := rows.Scan(&h.Name, &h.Version, &en, &h.Source, &at); err != nil {
			return nil, fmt.Errorf("scanning flow head: %w", err)
		}
		h.Enabled, h.UpdatedAt = en != 0, fromMicros(at)
		out = append(out, &h)
	}
	return out, rows.Err()
}

// GetFlowHead returns a flow's head (ErrNotFound if the flow was never applied).
func (s *Store) GetFlowHead(ctx context.Context, q Querier, name string) (*FlowHead, error) {
	var h FlowHead
	var en int
	var at int64
	err := q.QueryRow(ctx, `SELECT name, version, enabled, source, updated_at FROM pb_flow_heads WHERE name = ?`, name).
		Scan(&h.Name, &h.Version, &en, &h.Source, &at)
	if err != nil {
		return nil, fmt.Errorf("getting flow %s: %w", name, err)
	}
	h.Enabled, h.UpdatedAt = en != 0, fromMicros(at)
	return &h, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
