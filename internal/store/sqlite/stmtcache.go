package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"

	"modernc.org/sqlite"
)

// driverName is modernc's SQLite driver with a per-connection cache of
// prepared statements. database/sql prepares, runs and finalizes a statement
// for every Exec and Query that does not use an explicit *sql.Stmt, and
// SQLite's parser then costs about a third of patchbay's CPU under load;
// the cache prepares each distinct query text once per connection (for
// River's queries as well as patchbay's own).
const driverName = "patchbay-sqlite"

func init() { sql.Register(driverName, cachingDriver{base: &sqlite.Driver{}}) }

// maxCached bounds the statements kept per connection.
const maxCached = 512

type cachingDriver struct{ base driver.Driver }

func (d cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.base.Open(name)
	if err != nil {
		return nil, err
	}
	return &cachedConn{Conn: c, stmts: map[string]*cachedStmt{}}, nil
}

type cachedConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	st   driver.Stmt
	busy bool // rows from it are open: do not reuse until closed
}

// get returns a prepared statement for query; temp means the caller must
// close it (the cached one was busy or the cache is full).
func (c *cachedConn) get(ctx context.Context, query string) (s *cachedStmt, temp bool, err error) {
	if s, ok := c.stmts[query]; ok && !s.busy {
		return s, false, nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	s = &cachedStmt{st: st}
	if _, exists := c.stmts[query]; exists || len(c.stmts) >= maxCached {
		return s, true, nil
	}
	c.stmts[query] = s
	return s, false, nil
}

func (c *cachedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	s, temp, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := s.st.(driver.StmtExecContext).ExecContext(ctx, args)
	if temp {
		_ = s.st.Close()
	}
	return res, err
}

func (c *cachedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	s, temp, err := c.get(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := s.st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		if temp {
			_ = s.st.Close()
		}
		return nil, err
	}
	s.busy = true
	return &cachedRows{Rows: rows, release: func() {
		s.busy = false
		if temp {
			_ = s.st.Close()
		}
	}}, nil
}

func (c *cachedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *cachedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachedConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachedConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachedConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *cachedConn) Close() error {
	var errs []error
	for q, s := range c.stmts {
		errs = append(errs, s.st.Close())
		delete(c.stmts, q)
	}
	errs = append(errs, c.Conn.Close())
	return errors.Join(errs...)
}

type cachedRows struct {
	driver.Rows
	release func()
	closed  bool
}

func (r *cachedRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := r.Rows.Close()
	r.release()
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
