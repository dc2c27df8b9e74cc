package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
)

// BumpGeneration increments a named counter. Nodes compare generations to
// learn cheaply that flows or connections changed.
func (s *Store) BumpGeneration(ctx context.Context, q Querier, name string) error {
	_, err := q.Exec(ctx, `INSERT INTO pb_meta (key, value) VALUES (?, '1')
		ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(pb_meta.value AS BIGINT) + 1 AS TEXT)`, "gen:"+name)
	if err != nil {
		return fmt.Errorf("bumping %s generation: %w", name, err)
	}
	return nil
}

// Generation returns a named counter (0 if never bumped).
func (s *Store) Generation(ctx context.Context, q Querier, name string) (int64, error) {
	v, ok, err := s.GetMeta(ctx, q, "gen:"+name)
	if err != nil || !ok {
		return 0, err
	}
	return strconv.ParseInt(v, 10, 64)
}

// GetMeta reads a setting.
func (s *Store) GetMeta(ctx context.Context, q Querier, key string) (string, bool, error) {
	rows, err := q.Query(ctx, `SELECT value FROM pb_meta WHERE key = ?`, key)
	if err != nil {
		return "", false, fmt.Errorf("reading %s: %w", key, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return "", false, rows.Err()
	}
	var v string
	if err := rows.Scan(&v); err != nil {
		return "", false, err
	}
	return v, true, nil
}

// SetMeta writes a setting.
func (s *Store) SetMeta(ctx context.Context, q Querier, key, value string) error {
	_, err := q.Exec(ctx, `INSERT INTO pb_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("writing %s: %w", key, err)
	}
	return nil
}

// GetCursor returns a poll trigger's cursor ("" if none yet).
func (s *Store) GetCursor(ctx context.Context, q Querier, source, trigger string) (string, error) {
	rows, err := q.Query(ctx, `SELECT cursor FROM pb_cursors WHERE source = ? AND trigger = ?`, source, trigger)
	if err != nil {
		return "", fmt.Errorf("reading cursor: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return "", rows.Err()
	}
	var c string
	err = rows.Scan(&c)
	return c, err
}

// SetCursor stores a poll trigger's cursor.
func (s *Store) SetCursor(ctx context.Context, q Querier, source, trigger, cursor string) error {
	_, err := q.Exec(ctx, `INSERT INTO pb_cursors (source, trigger, cursor, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (source, trigger) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at`,
		source, trigger, cursor, micros(s.now()))
	if err != nil {
		return fmt.Errorf("writing cursor: %w", err)
	}
	return nil
}

// PutBlob stores data once under its SHA-256 and returns the hex hash.
func (s *Store) PutBlob(ctx context.Context, q Querier, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	_, err := q.Exec(ctx, `INSERT INTO pb_blobs (hash, data, size, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		h, data, len(data), micros(s.now()))
	if err != nil {
		return "", fmt.Errorf("storing blob: %w", err)
	}
	return h, nil
}

// GetBlob returns a stored blob.
func (s *Store) GetBlob(ctx context.Context, q Querier, hash string) ([]byte, error) {
	var b []byte
	if err := q.QueryRow(ctx, `SELECT data FROM pb_blobs WHERE hash = ?`, hash).Scan(&b); err != nil {
		return nil, fmt.Errorf("getting blob %s: %w", hash, err)
	}
	return b, nil
}
