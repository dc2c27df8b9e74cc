package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Lock is the exclusive claim of one process to run workers on a data
// directory. SQLite allows one writer process at a time to do River's work
// safely; commands that only read or make small changes do not take it.
type Lock struct{ f *os.File }

// ErrLocked means another process holds the data directory.
var ErrLocked = errors.New("another patchbay process is running on this data directory")

// LockDir takes the lock of data directory dir without waiting.
func LockDir(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "patchbay.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s)", ErrLocked, dir)
		}
		return nil, fmt.Errorf("locking data directory: %w", err)
	}
	_ = f.Truncate(0)
	_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
	return &Lock{f: f}, nil
}

// Unlock releases the lock.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// RecoverOrphans makes the jobs a crashed process left running available
// again and clears its leadership, at once rather than after River's rescue
// and leader timeouts. Call it only while holding the data directory's Lock:
// then no other process can be working those jobs.
func (d *Driver) RecoverOrphans(ctx context.Context) (int64, error) {
	res, err := d.writer.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
	if err != nil {
		return 0, fmt.Errorf("recovering orphaned jobs: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := d.writer.ExecContext(ctx, `DELETE FROM river_leader`); err != nil {
		return n, fmt.Errorf("clearing stale leader: %w", err)
	}
	return n, nil
}
