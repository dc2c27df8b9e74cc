package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// Group commit: on a database with a single writer (SQLite), concurrent
// Store.Tx calls are merged into one physical transaction. Each call's work
// runs in its own savepoint, so a call that fails rolls back only its own
// writes, and all calls of a group see the commit (or its failure) together.
// One commit then carries many runs' step results, which is what lets one
// SQLite writer keep up with many workers.

type groupReq struct {
	ctx  context.Context
	fn   func(tx Tx) error
	done chan error
}

type grouper struct {
	s      *Store
	reqs   chan *groupReq
	urgent chan *groupReq // served first (webhook acknowledgements wait on them)
	max    int

	mu      sync.Mutex
	stopped bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

// GroupCommitter is implemented by drivers that want group commit.
type GroupCommitter interface {
	// GroupCommit reports the largest group, or 0 for none.
	GroupCommit() int
}

func (s *Store) startGrouper() {
	gc, ok := s.drv.(GroupCommitter)
	if !ok || gc.GroupCommit() <= 1 {
		return
	}
	g := &grouper{s: s, reqs: make(chan *groupReq, 4096), urgent: make(chan *groupReq, 4096), max: gc.GroupCommit(), stop: make(chan struct{})}
	s.group = g
	g.wg.Add(1)
	go g.loop()
}

func (g *grouper) close() {
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		return
	}
	g.stopped = true
	close(g.stop)
	g.mu.Unlock()
	g.wg.Wait()
}

var errStoreClosed = errors.New("store closed")

func (g *grouper) submit(ctx context.Context, fn func(tx Tx) error) error {
	r := &groupReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	if g.stopped {
		g.mu.Unlock()
		return errStoreClosed
	}
	q := g.reqs
	if IsUrgent(ctx) {
		q = g.urgent
	}
	select {
	case q <- r:
		g.mu.Unlock()
	case <-ctx.Done():
		g.mu.Unlock()
		return ctx.Err()
	}
	// Wait for the outcome even if ctx ends: the work may be committing.
	return <-r.done
}

func (g *grouper) loop() {
	defer g.wg.Done()
	for {
		var first *groupReq
		select {
		case first = <-g.urgent:
		default:
			select {
			case first = <-g.urgent:
			case first = <-g.reqs:
			case <-g.stop:
				for {
					select {
					case r := <-g.urgent:
						r.done <- errStoreClosed
					case r := <-g.reqs:
						r.done <- errStoreClosed
					default:
						return
					}
				}
			}
		}
		batch := []*groupReq{first}
		// Urgent work first, then the rest, up to the group size.
	drain:
		for len(batch) < g.max {
			select {
			case r := <-g.urgent:
				batch = append(batch, r)
				continue
			default:
			}
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		g.run(batch)
	}
}

// run commits a batch, retrying on lock conflicts with other processes.
func (g *grouper) run(batch []*groupReq) {
	if len(batch) == 1 {
		r := batch[0]
		r.done <- g.s.txRetry(context.WithoutCancel(r.ctx), r.fn)
		return
	}
	var errs []error
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		errs, err = g.runOnce(batch)
		if err == nil || !g.s.drv.IsBusy(err) {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	for i, r := range batch {
		if err != nil {
			r.done <- err
			continue
		}
		r.done <- errs[i]
	}
}

func (g *grouper) runOnce(batch []*groupReq) ([]error, error) {
	ctx := context.Background()
	raw, err := g.s.drv.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("beginning transaction: %w", err)
	}
	st := &staging{}
	tx := stagingTx{boundTx{boundQuerier{g.s, raw}, raw}, st}
	errs := make([]error, len(batch))
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		sp := "pb_sp" + strconv.Itoa(i)
		if _, err := raw.Exec(ctx, "SAVEPOINT "+sp); err != nil {
			_ = raw.Rollback(ctx)
			return nil, err
		}
		ferr := safeCall(r.fn, tx)
		if ferr != nil {
			errs[i] = ferr
			st.drop()
			if _, err := raw.Exec(ctx, "ROLLBACK TO "+sp); err != nil {
				_ = raw.Rollback(ctx)
				return nil, err
			}
		} else {
			st.keep()
		}
		if _, err := raw.Exec(ctx, "RELEASE "+sp); err != nil {
			_ = raw.Rollback(ctx)
			return nil, err
		}
	}
	if err := st.commit(ctx, tx.boundTx); err != nil {
		_ = raw.Rollback(ctx)
		return nil, err
	}
	return errs, nil
}

// safeCall runs fn, turning a panic into an error so one caller cannot take
// down the others' transaction.
func safeCall(fn func(tx Tx) error, tx Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in transaction: %v", p)
		}
	}()
	return fn(tx)
}

type urgentKey struct{}

// Urgent marks ctx so the transactions it runs are committed ahead of
// others waiting for a group (someone is waiting on them, such as a webhook
// sender for its acknowledgement).
func Urgent(ctx context.Context) context.Context { return context.WithValue(ctx, urgentKey{}, true) }

// IsUrgent reports whether ctx was marked by Urgent.
func IsUrgent(ctx context.Context) bool { v, _ := ctx.Value(urgentKey{}).(bool); return v }

// GroupCommits reports whether the store merges concurrent transactions.
func (s *Store) GroupCommits() bool { return s.group != nil }

// Stager is implemented by the transactions Store.Tx runs: work staged
// with Stage is done once, just before the transaction commits, with the
// items of every function whose work is kept. In a commit group (SQLite)
// that is once for the whole group, and a member that fails and is rolled
// back to its savepoint loses its items. Writers that add a row per caller
// (the audit trail) so write one statement per transaction or group.
// Callers fall back to doing the work at once when a transaction is not a
// Stager (one from Store.Begin).
type Stager interface {
	// Stage adds item under key; flush is called once per key, in the order
	// keys were first staged, with the kept items in staging order.
	Stage(key any, item any, flush func(ctx context.Context, tx Tx, items []any) error)
}

// Finisher is implemented by the transaction a Stage flush function
// receives: the end of a transaction, for staged work that must be last.
type Finisher interface {
	// ExecAtCommit runs query at the commit, after every flush, in the same
	// round trip as the COMMIT on PostgreSQL. An error from it aborts the
	// transaction (nothing of it is committed) and is what Store.Tx returns,
	// running the transaction again first when the driver reports the error
	// busy (IsBusy): an at-commit statement is typically a compare-and-swap
	// whose failure means "try again".
	ExecAtCommit(query string, args ...any)
	// AfterCommit calls fn once the transaction's fate is known: nil when it
	// committed, why not otherwise. Every fn registered is called once.
	AfterCommit(fn func(err error))
}

// Statement is one query with its arguments, rebound for the driver.
type Statement struct {
	Query string
	Args  []any
}

// commitWither is implemented by driver transactions that can send
// statements and the COMMIT in one round trip. When one of the statements
// fails, nothing is committed and the transaction is left for Rollback
// (PostgreSQL's driver implements it).
type commitWither interface {
	CommitWith(ctx context.Context, stmts []Statement) error
}

type stagingTx struct {
	boundTx
	st *staging
}

// finishTx is the transaction flush functions run in.
type finishTx struct {
	boundTx
	st *staging
}

func (t finishTx) ExecAtCommit(query string, args ...any) {
	t.st.atCommit = append(t.st.atCommit, Statement{t.s.rebind(query), args})
}

func (t finishTx) AfterCommit(fn func(err error)) { t.st.after = append(t.st.after, fn) }

func (t stagingTx) Stage(key any, item any, flush func(ctx context.Context, tx Tx, items []any) error) {
	t.st.stage(key, item, flush)
}

type stagedKey struct {
	key   any
	flush func(ctx context.Context, tx Tx, items []any) error
	items []any
}

// staging holds a group's staged items: cur for the member running, kept
// for the members that succeeded.
type staging struct {
	cur  []stagedItem
	kept []*stagedKey
	idx  map[any]*stagedKey

	atCommit []Statement   // run with the commit (Finisher)
	after    []func(error) // told the commit's outcome (Finisher)
}

type stagedItem struct {
	key   any
	item  any
	flush func(ctx context.Context, tx Tx, items []any) error
}

func (s *staging) stage(key, item any, flush func(ctx context.Context, tx Tx, items []any) error) {
	s.cur = append(s.cur, stagedItem{key, item, flush})
}

func (s *staging) keep() {
	for _, it := range s.cur {
		k, ok := s.idx[it.key]
		if !ok {
			if s.idx == nil {
				s.idx = map[any]*stagedKey{}
			}
			k = &stagedKey{key: it.key, flush: it.flush}
			s.idx[it.key] = k
			s.kept = append(s.kept, k)
		}
		k.items = append(k.items, it.item)
	}
	s.cur = s.cur[:0]
}

func (s *staging) drop() { s.cur = s.cur[:0] }

// commit runs the kept items' flush functions, then commits tx with the
// statements they left for the commit, and tells the AfterCommit functions
// how it went. On an error the caller rolls raw back.
func (s *staging) commit(ctx context.Context, tx boundTx) (err error) {
	defer func() {
		for _, fn := range s.after {
			fn(err)
		}
		s.after = nil
	}()
	ftx := finishTx{tx, s}
	for _, k := range s.kept {
		if err := k.flush(ctx, ftx, k.items); err != nil {
			return err
		}
	}
	if len(s.atCommit) > 0 {
		if cw, ok := tx.raw.(commitWither); ok {
			return cw.CommitWith(ctx, s.atCommit)
		}
		for _, st := range s.atCommit {
			if _, err := tx.raw.Exec(ctx, st.Query, st.Args...); err != nil {
				return err
			}
		}
	}
	if err := tx.raw.Commit(ctx); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}
