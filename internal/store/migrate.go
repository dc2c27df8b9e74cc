package store

import (
	"context"
	"embed"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one versioned schema change. Most are portable SQL for both
// drivers; a file named NNNN_name.DRIVER.sql (NNNN_name.postgres.sql) is
// that driver's only.
type Migration struct {
	Version int
	Name    string
	SQL     string
	Driver  string // "" for every driver
}

// Migrations returns the embedded migrations in order.
func Migrations() ([]Migration, error) {
	entries, err := migrationFS.ReadDir("migrations")
	if err != nil {
		return nil, fmt.Errorf("reading migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", name)
		}
		v, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad version: %w", name, err)
		}
		b, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("reading migration %s: %w", name, err)
		}
		m := Migration{Version: v, Name: name, SQL: string(b)}
		if base := strings.TrimSuffix(name, ".sql"); strings.Contains(base, ".") {
			m.Driver = base[strings.LastIndexByte(base, '.')+1:]
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// MigrationStatus reports which migrations are applied.
type MigrationStatus struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	Applied bool   `json:"applied"`
}

// Migrate brings River's tables and patchbay's own up to date. Each migration
// runs in its own transaction; running Migrate again is a no-op.
func (s *Store) Migrate(ctx context.Context) error { return s.MigrateTo(ctx, 0) }

// MigrateTo is Migrate stopping after migration version upTo (0: the last).
// Tests use it to build a database as an older patchbay left it.
func (s *Store) MigrateTo(ctx context.Context, upTo int) error {
	if err := s.drv.MigrateQueue(ctx); err != nil {
		return fmt.Errorf("migrating job queue: %w", err)
	}
	if err := s.Tx(ctx, func(tx Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS pb_schema (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
		return err
	}); err != nil {
		return fmt.Errorf("creating schema table: %w", err)
	}
	migs, err := s.migrations()
	if err != nil {
		return err
	}
	for _, m := range migs {
		if upTo > 0 && m.Version > upTo {
			break
		}
		err := s.Tx(ctx, func(tx Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM pb_schema WHERE version = ?`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			for _, stmt := range splitSQL(m.SQL) {
				if _, err := tx.Exec(ctx, s.ddl(stmt)); err != nil {
					return fmt.Errorf("%s: %w\n%s", m.Name, err, stmt)
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO pb_schema (version, name, applied_at) VALUES (?, ?, ?)`, m.Version, m.Name, micros(s.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("applying migration: %w", err)
		}
	}
	return nil
}

// MigrationStatuses lists the embedded migrations and whether each is applied.
func (s *Store) MigrationStatuses(ctx context.Context) ([]MigrationStatus, error) {
	migs, err := s.migrations()
	if err != nil {
		return nil, err
	}
	applied := map[int]bool{}
	rows, err := s.Reader().Query(ctx, `SELECT version FROM pb_schema`)
	if err == nil {
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return nil, err
			}
			applied[v] = true
		}
		rows.Close()
	}
	out := make([]MigrationStatus, len(migs))
	for i, m := range migs {
		out[i] = MigrationStatus{Version: m.Version, Name: m.Name, Applied: applied[m.Version]}
	}
	return out, nil
}

// migrations are the embedded migrations for this store's driver.
func (s *Store) migrations() ([]Migration, error) {
	migs, err := Migrations()
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(migs, func(m Migration) bool { return m.Driver != "" && m.Driver != s.drv.Name() }), nil
}

// ddl translates portable migration SQL for PostgreSQL: BLOB is BYTEA, and
// a table's WITHOUT ROWID (SQLite's clustered tables) has no equivalent.
func (s *Store) ddl(stmt string) string {
	if s.drv.Name() == "postgres" {
		stmt = strings.ReplaceAll(stmt, " BLOB", " BYTEA")
		stmt = strings.ReplaceAll(stmt, ") WITHOUT ROWID", ")")
	}
	return stmt
}

// splitSQL splits a migration into statements at semicolons that end a line,
// dropping comment-only lines.
func splitSQL(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if strings.TrimSpace(cur.String()) != "" {
		out = append(out, strings.TrimSpace(cur.String()))
	}
	return out
}
