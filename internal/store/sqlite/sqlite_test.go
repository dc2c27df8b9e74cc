package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/store"
	"github.com/patchbay/patchbay/internal/store/sqlite"
	"github.com/patchbay/patchbay/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (*store.Store, func(queue.Config) queue.Queue) {
		drv, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pb.db"))
		if err != nil {
			t.Fatal(err)
		}
		s := store.New(drv)
		t.Cleanup(func() { s.Close() })
		if err := s.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return s, drv.NewQueue
	})
}
