package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/patchbay/patchbay/internal/audit"
	"github.com/patchbay/patchbay/internal/store"
)

// TestMigrateOneTableLayout: a trail written in the layout before migrations
// 4 and 5 (blocks and references in one table, pb_audit) verifies after
// them and lists the same entries by object.
func TestMigrateOneTableLayout(t *testing.T) {
	t.Parallel()
	for _, drv := range []struct {
		name string
		open func(*testing.T) *store.Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		t.Run(drv.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			// The trail, written by today's code in a database of its own.
			src := migrated(t, drv.open(t), 0)
			l := audit.New(src)
			l.SetChains(2)
			fill(t, l, "iconik:asset/A", 9)
			fill(t, l, "iconik:asset/B", 4)
			if err := src.Tx(ctx, func(tx store.Tx) error {
				return l.Append(ctx, tx, l.NewEntry("user.action", nil, map[string]any{"what": "an entry touching no object"}))
			}); err != nil {
				t.Fatal(err)
			}

			// The same rows as the old layout held them, in a database
			// migrated up to version 3.
			old := migrated(t, drv.open(t), 3)
			type row struct {
				shard    int
				seq      int64
				n        int
				id, body string
				at       int64
				hash     string
				objects  []string
			}
			var rows []row
			rs, err := src.Reader().Query(ctx, `SELECT shard, seq, n, id, at, entries, hash FROM pb_audit_blocks ORDER BY shard, seq`)
			if err != nil {
				t.Fatal(err)
			}
			for rs.Next() {
				var r row
				if err := rs.Scan(&r.shard, &r.seq, &r.n, &r.id, &r.at, &r.body, &r.hash); err != nil {
					t.Fatal(err)
				}
				var es []struct {
					O []string `json:"o"`
				}
				if err := json.Unmarshal([]byte(r.body), &es); err != nil {
					t.Fatal(err)
				}
				for _, e := range es {
					for _, o := range e.O {
						if !slices.Contains(r.objects, o) {
							r.objects = append(r.objects, o)
						}
					}
				}
				rows = append(rows, r)
			}
			rs.Close()
			err = old.Tx(ctx, func(tx store.Tx) error {
				for _, r := range rows {
					home := ""
					if len(r.objects) > 0 {
						home = r.objects[0]
					}
					if _, err := tx.Exec(ctx, `INSERT INTO pb_audit (object, id, shard, seq, n, at, entries, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
						home, r.id, r.shard, r.seq, r.n, r.at, r.body, r.hash); err != nil {
						return err
					}
					for _, o := range r.objects[min(1, len(r.objects)):] {
						if _, err := tx.Exec(ctx, `INSERT INTO pb_audit (object, id, shard, seq, n, at) VALUES (?, ?, ?, ?, 0, ?)`, o, r.id, r.shard, r.seq, r.at); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			hs, err := src.Reader().Query(ctx, `SELECT shard, seq, hash, at FROM pb_audit_heads WHERE seq > 0`)
			if err != nil {
				t.Fatal(err)
			}
			var heads [][4]any
			for hs.Next() {
				var shard int
				var seq, at int64
				var hash string
				if err := hs.Scan(&shard, &seq, &hash, &at); err != nil {
					t.Fatal(err)
				}
				heads = append(heads, [4]any{seq, hash, at, shard})
			}
			hs.Close()
			for _, h := range heads {
				execSQL(t, old, `UPDATE pb_audit_heads SET seq = ?, hash = ?, at = ? WHERE shard = ?`, h[:]...)
			}

			if err := old.Migrate(ctx); err != nil {
				t.Fatalf("migrating the old layout: %v", err)
			}
			lo := audit.New(old)
			rep := verify(t, lo)
			want := verify(t, l)
			if !rep.OK || rep.Entries != want.Entries || rep.Entries != 18+7+1 {
				t.Fatalf("after migrating: %+v; the trail itself: %+v", rep, want)
			}
			for _, obj := range []string{"iconik:asset/A", "iconik:asset/B", "run/R3"} {
				got, err := lo.List(ctx, audit.Filter{Object: obj, Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				exp, err := l.List(ctx, audit.Filter{Object: obj, Limit: 1000})
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(ids(got)) != fmt.Sprint(ids(exp)) || len(got) == 0 {
					t.Fatalf("%s after migrating: %v; want %v", obj, ids(got), ids(exp))
				}
			}
			// Appends continue on the migrated trail.
			fill(t, lo, "iconik:asset/A", 2)
			if rep := verify(t, lo); !rep.OK {
				t.Fatalf("appending after migrating: %+v", rep)
			}
		})
	}
}

func ids(es []*audit.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}
