package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Connection is a configured account of a connector. Secrets holds the
// encrypted secret settings; the store never sees them in clear.
type Connection struct {
	Name      string
	Connector string
	Config    map[string]any
	Secrets   []byte
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PutConnection creates or replaces a connection and bumps its version.
func (s *Store) PutConnection(ctx context.Context, q Querier, c *Connection) error {
	cfg, err := json.Marshal(c.Config)
	if err != nil {
		return fmt.Errorf("encoding connection config: %w", err)
	}
	now := micros(s.now())
	_, err = q.Exec(ctx, `INSERT INTO pb_connections (name, connector, config, secrets, version, created_at, updated_at) VALUES (?, ?, ?, ?, 1, ?, ?)
		ON CONFLICT (name) DO UPDATE SET connector = excluded.connector, config = excluded.config, secrets = excluded.secrets,
		version = pb_connections.version + 1, updated_at = excluded.updated_at`,
		c.Name, c.Connector, string(cfg), c.Secrets, now, now)
	if err != nil {
		return fmt.Errorf("storing connection %s: %w", c.Name, err)
	}
	return s.BumpGeneration(ctx, q, "connections")
}

// GetConnection returns a connection (ErrNotFound if none).
func (s *Store) GetConnection(ctx context.Context, q Querier, name string) (*Connection, error) {
	rows, err := q.Query(ctx, `SELECT name, connector, config, secrets, version, created_at, updated_at FROM pb_connections WHERE name = ?`, name)
	if err != nil {
		return nil, fmt.Errorf("getting connection %s: %w", name, err)
	}
	cs, err := scanConnections(rows)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("getting connection %s: %w", name, ErrNotFound)
	}
	return cs[0], nil
}

// ListConnections returns every connection by name.
func (s *Store) ListConnections(ctx context.Context, q Querier) ([]*Connection, error) {
	rows, err := q.Query(ctx, `SELECT name, connector, config, secrets, version, created_at, updated_at FROM pb_connections ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing connections: %w", err)
	}
	return scanConnections(rows)
}

// DeleteConnection removes a connection and reports whether it existed.
func (s *Store) DeleteConnection(ctx context.Context, q Querier, name string) (bool, error) {
	n, err := q.Exec(ctx, `DELETE FROM pb_connections WHERE name = ?`, name)
	if err != nil {
		return false, fmt.Errorf("deleting connection %s: %w", name, err)
	}
	if n > 0 {
		if err := s.BumpGeneration(ctx, q, "connections"); err != nil {
			return false, err
		}
	}
	return n > 0, nil
}

func scanConnections(rows Rows) ([]*Connection, error) {
	defer rows.Close()
	var out []*Connection
	for rows.Next() {
		var c Connection
		var cfg string
		var ca, ua int64
		if err := rows.Scan(&c.Name, &c.Connector, &cfg, &c.Secrets, &c.Version, &ca, &ua); err != nil {
			return nil, fmt.Errorf("scanning connection: %w", err)
		}
		if err := json.Unmarshal([]byte(cfg), &c.Config); err != nil {
			return nil, fmt.Errorf("decoding connection %s config: %w", c.Name, err)
		}
		c.CreatedAt, c.UpdatedAt = fromMicros(ca), fromMicros(ua)
		out = append(out, &c)
	}
	return out, rows.Err()
}
