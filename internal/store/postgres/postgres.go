// Package postgres is the scale-out store driver: PostgreSQL through pgx v5,
// with River's pgx driver on the same pool so jobs commit with patchbay's
// state and nodes wake each other with LISTEN/NOTIFY.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/store"
)

// Driver is the PostgreSQL store driver.
type Driver struct {
	pool *pgxpool.Pool
}

// Open connects to the database at url (postgres://…).
func Open(ctx context.Context, url string) (*Driver, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing database url: %w", redact(err))
	}
	if cfg.MaxConns < 16 {
		cfg.MaxConns = 16
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres: %w", redact(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to postgres: %w", redact(err))
	}
	return &Driver{pool: pool}, nil
}

// redact keeps a connection error but drops the password a DSN parse error may echo.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("invalid connection string")
	}
	return err
}

// Pool returns the connection pool.
func (d *Driver) Pool() *pgxpool.Pool { return d.pool }

// Name implements store.Driver.
func (d *Driver) Name() string { return "postgres" }

// Rebind implements store.Driver.
func (d *Driver) Rebind(q string) string { return store.RebindDollar(q) }

// Begin implements store.Driver.
//
// The transaction holds its pool connection itself (rather than through
// pgxpool.Tx) so that CommitWith can end it with a pipelined COMMIT and
// hand the connection back without another round trip.
func (d *Driver) Begin(ctx context.Context) (store.Tx, error) {
	c, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := c.Begin(ctx)
	if err != nil {
		c.Release()
		return nil, err
	}
	return &pgTx{c: c, tx: tx}, nil
}

// Reader implements store.Driver.
func (d *Driver) Reader() store.Querier { return pgQuerier{d.pool} }

// IsUnique implements store.Driver.
func (d *Driver) IsUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// IsBusy implements store.Driver.
func (d *Driver) IsBusy(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// MigrateQueue implements store.Driver.
func (d *Driver) MigrateQueue(ctx context.Context) error {
	m, err := rivermigrate.New(riverpgxv5.New(d.pool), nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

// NewQueue returns River on this database.
func (d *Driver) NewQueue(cfg queue.Config) queue.Queue {
	return queue.New(riverpgxv5.New(d.pool), func(tx store.Tx) pgx.Tx { return tx.Raw().(pgx.Tx) }, cfg)
}

// Close implements store.Driver.
func (d *Driver) Close() error {
	d.pool.Close()
	return nil
}

type pgExecer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type pgQuerier struct{ q pgExecer }

func (p pgQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.q.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (p pgQuerier) Query(ctx context.Context, query string, args ...any) (store.Rows, error) {
	return p.q.Query(ctx, query, args...)
}

func (p pgQuerier) QueryRow(ctx context.Context, query string, args ...any) store.Row {
	return pgRow{p.q.QueryRow(ctx, query, args...)}
}

type pgRow struct{ r pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

type pgTx struct {
	c  *pgxpool.Conn // nil once the transaction ended
	tx pgx.Tx
}

func (t *pgTx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	return pgQuerier{t.tx}.Exec(ctx, q, args...)
}
func (t *pgTx) Query(ctx context.Context, q string, args ...any) (store.Rows, error) {
	return pgQuerier{t.tx}.Query(ctx, q, args...)
}
func (t *pgTx) QueryRow(ctx context.Context, q string, args ...any) store.Row {
	return pgQuerier{t.tx}.QueryRow(ctx, q, args...)
}
func (t *pgTx) Raw() any { return t.tx }

func (t *pgTx) Commit(ctx context.Context) error {
	if t.c == nil {
		return pgx.ErrTxClosed
	}
	err := t.tx.Commit(ctx)
	t.release()
	return err
}

func (t *pgTx) Rollback(ctx context.Context) error {
	if t.c == nil {
		return nil
	}
	err := t.tx.Rollback(ctx)
	t.release()
	return err
}

// CommitWith runs stmts and COMMIT in one round trip (a pipeline). When a
// statement fails the server skips the rest, COMMIT included: nothing is
// committed and the first error is returned, the transaction left for
// Rollback.
func (t *pgTx) CommitWith(ctx context.Context, stmts []store.Statement) error {
	if t.c == nil {
		return pgx.ErrTxClosed
	}
	b := &pgx.Batch{}
	for _, st := range stmts {
		b.Queue(st.Query, st.Args...)
	}
	b.Queue("COMMIT")
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if st := t.c.Conn().PgConn().TxStatus(); st != 'I' {
		return fmt.Errorf("committing: connection in transaction state %q after COMMIT", st)
	}
	// Committed: pgx's Tx is dropped unused (it would send another COMMIT)
	// and the connection, idle again, goes back to the pool.
	t.release()
	return nil
}

func (t *pgTx) release() {
	t.c.Release()
	t.c = nil
}
