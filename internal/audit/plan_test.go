package audit

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/patchbay/patchbay/internal/store"
	"github.com/patchbay/patchbay/internal/store/sqlite"
)

// TestSQLitePlans: on SQLite the blocks are keyed by chain position alone
// (the rowid), so a query that does not constrain the position of the one
// chain it reads plans as a scan of every block: listings and the indexer
// would slow down with the trail's length. Each query the index's reading
// and writing runs must search by position.
func TestSQLitePlans(t *testing.T) {
	ctx := context.Background()
	drv, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "pb.db"))
	if err != nil {
		t.Fatal(err)
	}
	st := store.New(drv)
	t.Cleanup(func() { st.Close() })
	if err := st.MigrateTo(ctx, 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, query string
		args        []any
	}{
		{"indexRefs", indexRefsSQLite, []any{0, 10, 20}},
		{"pendingQuery", pendingQuery(1), []any{0, indexBatch}},
		{"tailQuery", tailQuery, []any{0, 10, "", ""}},
		{"behindQuery", behindQuery, nil},
	} {
		rows, err := st.Reader().Query(ctx, `EXPLAIN QUERY PLAN `+c.query, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if len(plan) == 0 {
			t.Fatalf("%s: no plan", c.name)
		}
		for _, d := range plan {
			if strings.HasPrefix(d, "SCAN a") || strings.HasPrefix(d, "SCAN pb_audit_blocks") {
				t.Errorf("%s scans the blocks: %s", c.name, strings.Join(plan, "; "))
			}
		}
		t.Logf("%s: %s", c.name, strings.Join(plan, "; "))
	}
}
