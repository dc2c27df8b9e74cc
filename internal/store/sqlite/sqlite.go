// Package sqlite is the embedded store driver: pure-Go SQLite
// (modernc.org/sqlite) in WAL mode, one writer connection shared with River
// (its SQLite driver requires it) and a small pool of read-only connections.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/store"
)

// FileName is the database file inside a data directory.
const FileName = "patchbay.db"

// Driver is the SQLite store driver.
type Driver struct {
	path   string
	writer *sql.DB
	reader *sql.DB
	ckpt   *sql.DB
	stop   chan struct{}
	done   chan struct{}
}

// Open opens (creating if needed) the database at path. Use OpenDir for a data directory.
func Open(ctx context.Context, path string) (*Driver, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	pragmas := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)", "foreign_keys(ON)", "cache_size(-32000)", "temp_store(MEMORY)"} {
		pragmas.Add("_pragma", p)
	}
	wq := url.Values{}
	for k, v := range pragmas {
		wq[k] = append([]string(nil), v...)
	}
	// Checkpoints run on their own connection (see checkpointer), not
	// inside the writer's commits.
	wq.Add("_pragma", "wal_autocheckpoint(0)")
	wq.Set("_txlock", "immediate")
	writer, err := sql.Open(driverName, "file:"+path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	rq := url.Values{}
	for k, v := range pragmas {
		rq[k] = v
	}
	rq.Add("_pragma", "query_only(1)")
	reader, err := sql.Open(driverName, "file:"+path+"?"+rq.Encode())
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("opening %s for reading: %w", path, err)
	}
	reader.SetMaxOpenConns(4)
	reader.SetMaxIdleConns(4)
	ckpt, err := sql.Open(driverName, "file:"+path+"?"+pragmas.Encode())
	if err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("opening %s for checkpoints: %w", path, err)
	}
	ckpt.SetMaxOpenConns(1)
	d := &Driver{path: path, writer: writer, reader: reader, ckpt: ckpt, stop: make(chan struct{}), done: make(chan struct{})}
	go d.checkpointer()
	return d, nil
}

// checkpointer copies the write-ahead log into the database file in the
// background, so commits never pay for it: a passive checkpoint every
// second, and a truncating one when the log has grown large.
func (d *Driver) checkpointer() {
	defer close(d.done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			_, _ = d.ckpt.Exec("PRAGMA wal_checkpoint(PASSIVE)")
			return
		case <-t.C:
		}
		var busy, logPages, done int
		if err := d.ckpt.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &done); err != nil {
			continue
		}
		if logPages > 50_000 && done == logPages {
			_, _ = d.ckpt.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		}
	}
}

// OpenDir opens the database in data directory dir.
func OpenDir(ctx context.Context, dir string) (*Driver, error) {
	return Open(ctx, filepath.Join(dir, FileName))
}

// Path returns the database file.
func (d *Driver) Path() string { return d.path }

// DB returns the writer connection pool (for River).
func (d *Driver) DB() *sql.DB { return d.writer }

// Name implements store.Driver.
func (d *Driver) Name() string { return "sqlite" }

// Rebind implements store.Driver: SQLite takes ? as is.
func (d *Driver) Rebind(q string) string { return q }

// Begin implements store.Driver.
func (d *Driver) Begin(ctx context.Context) (store.Tx, error) {
	tx, err := d.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &sqlTx{tx: tx, q: sqlQuerier{tx}}, nil
}

// Reader implements store.Driver.
func (d *Driver) Reader() store.Querier { return sqlQuerier{d.reader} }

// IsUnique implements store.Driver.
func (d *Driver) IsUnique(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsBusy implements store.Driver.
func (d *Driver) IsBusy(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

// MigrateQueue implements store.Driver.
func (d *Driver) MigrateQueue(ctx context.Context) error {
	m, err := rivermigrate.New(riversqlite.New(d.writer), nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// NewQueue returns River on this database.
func (d *Driver) NewQueue(cfg queue.Config) queue.Queue {
	return queue.New(riversqlite.New(d.writer), func(tx store.Tx) *sql.Tx { return tx.Raw().(*sql.Tx) }, cfg)
}

// GroupCommit implements store.GroupCommitter: SQLite has one writer, so
// concurrent transactions are merged.
func (d *Driver) GroupCommit() int { return 64 }

// Close implements store.Driver.
func (d *Driver) Close() error {
	close(d.stop)
	<-d.done
	return errors.Join(d.ckpt.Close(), d.reader.Close(), d.writer.Close())
}

// sqlQuerier adapts database/sql.
type sqlQuerier struct {
	q interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
}

func (s sqlQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s sqlQuerier) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	rows, err := s.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (s sqlQuerier) QueryRow(ctx context.Context, query string, args ...any) store.Row {
	return sqlRow{s.q.QueryRowContext(ctx, query, args...)}
}

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

type sqlRow struct{ r *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

type sqlTx struct {
	tx *sql.Tx
	q  sqlQuerier
}

func (t *sqlTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return t.q.Exec(ctx, q, args...)
}
func (t *sqlTx) Query(ctx context.Context, q string, args ...any) (store.Rows, error) {
	return t.q.Query(ctx, q, args...)
}
func (t *sqlTx) QueryRow(ctx context.Context, q string, args ...any) store.Row {
	return t.q.QueryRow(ctx, q, args...)
}
func (t *sqlTx) Commit(context.Context) error   { return t.tx.Commit() }
func (t *sqlTx) Rollback(context.Context) error { return t.tx.Rollback() }
func (t *sqlTx) Raw() any                       { return t.tx }
