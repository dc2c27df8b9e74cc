package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/store"
	"github.com/patchbay/patchbay/internal/store/postgres"
	"github.com/patchbay/patchbay/internal/store/postgres/pgtest"
	"github.com/patchbay/patchbay/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (*store.Store, func(queue.Config) queue.Queue) {
		drv, err := postgres.Open(context.Background(), pgtest.URL(t))
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
