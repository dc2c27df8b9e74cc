// Package store keeps patchbay's state: flows, connections, events, runs and
// their steps, waits, cursors and large values. One implementation of the SQL
// runs on two drivers, SQLite (embedded, the default) and PostgreSQL (scale-out),
// which differ only in how they connect, begin transactions and spell a few
// types; storetest holds the conformance suite both pass.
//
// Every method takes the Querier to run on, so callers compose several writes
// (and River job inserts) into one transaction with Store.Tx. River's tables
// live in the same database and its jobs are inserted in the same
// transactions: nothing is enqueued outside the transaction that makes it valid.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Querier runs SQL. Queries are written with ? placeholders; drivers rebind them.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows is a result set.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Row is a single-row result; Scan returns ErrNotFound when there is none.
type Row interface {
	Scan(dest ...any) error
}

// Tx is a read-write transaction.
type Tx interface {
	Querier
	Commit(ctx context.Context) error
	Rollback(ctx context.Context) error
	// Raw returns the driver's transaction (*sql.Tx for SQLite, pgx.Tx for
	// PostgreSQL) for River's InsertTx.
	Raw() any
}

// Driver is one database engine.
type Driver interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Begin starts a read-write transaction.
	Begin(ctx context.Context) (Tx, error)
	// Reader runs reads outside transactions, possibly on other connections.
	Reader() Querier
	// Dialect adapts portable SQL (? placeholders, BLOB) to the engine.
	Rebind(query string) string
	// IsUnique reports whether err is a unique-constraint violation.
	IsUnique(err error) bool
	// IsBusy reports whether err is a transient lock conflict worth retrying.
	IsBusy(err error) bool
	// MigrateQueue brings River's own tables up to date.
	MigrateQueue(ctx context.Context) error
	Close() error
}

// ErrNotFound is returned when a row does not exist.
var ErrNotFound = errors.New("not found")

// Store is patchbay's state on one database.
type Store struct {
	drv Driver

	mu    sync.Mutex
	bound map[string]string
	now   func() time.Time
	group *grouper
}

// New wraps a driver. Call Migrate before use.
func New(drv Driver) *Store {
	s := &Store{drv: drv, bound: map[string]string{}, now: time.Now}
	s.startGrouper()
	return s
}

// Driver returns the store's driver.
func (s *Store) Driver() Driver { return s.drv }

// SetClock replaces the clock used for timestamps (tests).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// Now returns the store's current time.
func (s *Store) Now() time.Time { return s.now() }

// Close closes the database, after the transactions already submitted.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	return s.drv.Close()
}

// Reader returns the querier for reads outside a transaction.
func (s *Store) Reader() Querier { return boundQuerier{s, s.drv.Reader()} }

// Tx runs fn in a read-write transaction and commits it, retrying a few
// times when the database reports a lock conflict before fn's work is
// committed. fn may run more than once, so it must not have side effects
// outside the transaction, and it must not call Tx itself. On SQLite, fn may
// share its transaction with other callers' (group commit): it sees their
// earlier writes, and a failure of fn rolls back fn's writes only.
func (s *Store) Tx(ctx context.Context, fn func(tx Tx) error) error {
	if s.group != nil {
		return s.group.submit(ctx, fn)
	}
	return s.txRetry(ctx, fn)
}

func (s *Store) txRetry(ctx context.Context, fn func(tx Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.tx(ctx, fn)
		if err == nil || !s.drv.IsBusy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
		}
	}
	return err
}

func (s *Store) tx(ctx context.Context, fn func(tx Tx) error) (err error) {
	raw, err := s.drv.Begin(ctx)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	st := &staging{}
	tx := stagingTx{boundTx{boundQuerier{s, raw}, raw}, st}
	defer func() {
		if p := recover(); p != nil {
			_ = raw.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
		if err != nil {
			_ = raw.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	st.keep()
	return st.commit(ctx, tx.boundTx)
}

// Begin starts a transaction the caller commits or rolls back.
func (s *Store) Begin(ctx context.Context) (Tx, error) {
	raw, err := s.drv.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("beginning transaction: %w", err)
	}
	return boundTx{boundQuerier{s, raw}, raw}, nil
}

func (s *Store) rebind(q string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b, ok := s.bound[q]; ok {
		return b
	}
	b := s.drv.Rebind(q)
	s.bound[q] = b
	return b
}

// boundQuerier rebinds portable SQL for the driver, caching the result.
type boundQuerier struct {
	s *Store
	q Querier
}

func (b boundQuerier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return b.q.Exec(ctx, b.s.rebind(query), args...)
}

func (b boundQuerier) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	return b.q.Query(ctx, b.s.rebind(query), args...)
}

func (b boundQuerier) QueryRow(ctx context.Context, query string, args ...any) Row {
	return b.q.QueryRow(ctx, b.s.rebind(query), args...)
}

type boundTx struct {
	boundQuerier
	raw Tx
}

func (b boundTx) Commit(ctx context.Context) error   { return b.raw.Commit(ctx) }
func (b boundTx) Rollback(ctx context.Context) error { return b.raw.Rollback(ctx) }
func (b boundTx) Raw() any                           { return b.raw.Raw() }

// queryStrings runs a query of one text column and returns its values.
func queryStrings(ctx context.Context, q Querier, query string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// RebindDollar turns ? placeholders into $1, $2, … (PostgreSQL). Queries in
// this package never put ? inside string literals.
func RebindDollar(q string) string {
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// micros converts a time to the stored form (Unix microseconds); zero stays 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// Micros is how the store keeps times: Unix microseconds, 0 for the zero
// time. Packages with tables of their own (link, audit) use it too.
func Micros(t time.Time) int64 { return micros(t) }

// FromMicros is the inverse of Micros.
func FromMicros(v int64) time.Time { return fromMicros(v) }

// fromMicros is the inverse of micros.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}
