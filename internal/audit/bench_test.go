package audit_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/patchbay/patchbay/internal/audit"
	"github.com/patchbay/patchbay/internal/id"
	"github.com/patchbay/patchbay/internal/store"
	"github.com/patchbay/patchbay/internal/store/sqlite"
)

// BenchmarkAppendSQLite measures one run.ended append (the engine's per-run
// audit cost) inside a transaction shared by 64 appends, as group commit does.
func BenchmarkAppendSQLite(b *testing.B) {
	ctx := context.Background()
	drv, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "pb.db"))
	if err != nil {
		b.Fatal(err)
	}
	st := store.New(drv)
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	l := audit.New(st)
	b.ResetTimer()
	for i := 0; i < b.N; i += 64 {
		err := st.Tx(ctx, func(tx store.Tx) error {
			for j := 0; j < 64; j++ {
				e := l.NewEntry("run.ended", []string{"run/" + id.New()}, map[string]any{"status": "succeeded", "flow": "bench-flow", "version": 1})
				e.Actor, e.Run, e.Summary = "flow/bench-flow", "01JABCDEFGHJKMNPQRSTVWXYZ0", "run 01JABCDEFGHJKMNPQRSTVWXYZ0 succeeded"
				if err := l.Append(ctx, tx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
