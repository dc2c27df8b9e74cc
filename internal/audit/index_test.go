package audit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/audit"
	"github.com/patchbay/patchbay/internal/store"
)

// countRefs is how many object references the index holds.
func countRefs(t *testing.T, st *store.Store) int {
	t.Helper()
	var n int
	if err := st.Reader().QueryRow(context.Background(), `SELECT COUNT(*) FROM pb_audit_refs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestListReadsUnindexed: the object index is built after the commit
// (ADR 0006), and a listing does not wait for it: entries the index has not
// reached are found, in order and once, before, while and after the index
// catches up, also when a listing pages across the boundary.
func TestListReadsUnindexed(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := audit.New(st)
		l.SetChains(1)
		add := func(from, to int) {
			for i := from; i < to; i++ {
				e := l.NewEntry("write", []string{"iconik:asset/A", fmt.Sprintf("run/R%d", i)}, map[string]any{"i": i})
				e.Summary = fmt.Sprintf("entry %d", i)
				if err := st.Tx(ctx, func(tx store.Tx) error { return l.Append(ctx, tx, e) }); err != nil {
					t.Fatal(err)
				}
			}
		}
		check := func(stage string, want int) {
			t.Helper()
			es, err := l.List(ctx, audit.Filter{Object: "iconik:asset/A", Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != want {
				t.Fatalf("%s: %d entries, want %d", stage, len(es), want)
			}
			for i, e := range es {
				if e.Summary != fmt.Sprintf("entry %d", i) {
					t.Fatalf("%s: entry %d is %q", stage, i, e.Summary)
				}
			}
			es, err = l.List(ctx, audit.Filter{Object: fmt.Sprintf("run/R%d", want-1)})
			if err != nil || len(es) != 1 {
				t.Fatalf("%s: the last run's entries: %d, %v", stage, len(es), err)
			}
		}
		add(0, 150)
		if n := countRefs(t, st); n != 0 {
			t.Fatalf("%d references before indexing; the append should leave them to the indexer", n)
		}
		check("nothing indexed", 150)
		index(t, l)
		if n := countRefs(t, st); n != 300 {
			t.Fatalf("%d references after indexing, want 300", n)
		}
		add(150, 330) // listings page by 200 blocks: the second page crosses into the unindexed blocks
		check("half indexed", 330)
		if rep := verify(t, l); !rep.OK || rep.Unindexed != 180 {
			t.Fatalf("half indexed: %+v", rep)
		}
		index(t, l)
		check("all indexed", 330)
		if rep := verify(t, l); !rep.OK || rep.Unindexed != 0 {
			t.Fatalf("all indexed: %+v", rep)
		}
		if n, err := l.Index(ctx); err != nil || n != 0 {
			t.Fatalf("indexing again: %d blocks, %v", n, err)
		}
	})
}

// TestIndexersWhileAppending: several processes appending, two of them
// indexing all the while (on PostgreSQL a chain one indexer holds is
// skipped by the other), leave every entry indexed exactly once (Verify
// checks the references one by one).
func TestIndexersWhileAppending(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		var logs []*audit.Log
		for range 3 {
			l := audit.New(st)
			l.SetChains(2)
			logs = append(logs, l)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, l := range logs[:2] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if _, err := l.Index(ctx); err != nil {
						errs <- err
						return
					}
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
				}
			}()
		}
		committed := appendConcurrently(t, st, logs, 4, 15, 5)
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		index(t, logs[2])
		rep := verify(t, audit.New(st))
		if !rep.OK || rep.Entries != committed || rep.Unindexed != 0 {
			t.Fatalf("%d committed: %+v", committed, rep)
		}
	})
}

// TestIndexOlderBlocks: a block without the objects column (written by a
// patchbay older than migration 6, which also wrote its references) is
// indexed from its entries, and references already there are kept, not
// doubled or refused.
func TestIndexOlderBlocks(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		l := audit.New(st)
		l.SetChains(1)
		fill(t, l, "iconik:asset/A", 4)
		bs := blocks(t, st)
		execSQL(t, st, `UPDATE pb_audit_blocks SET objects = '' WHERE shard = ? AND seq = ?`, bs[1].shard, bs[1].seq)
		execSQL(t, st, `INSERT INTO pb_audit_refs (object, id, shard, seq) VALUES (?, ?, ?, ?)`, "iconik:asset/A", bs[1].id, bs[1].shard, bs[1].seq)
		index(t, l)
		if rep := verify(t, l); !rep.OK || rep.Unindexed != 0 {
			t.Fatalf("after indexing: %+v", rep)
		}
		if n := countRefs(t, st); n != 8 {
			t.Fatalf("%d references, want 8", n)
		}
		// A pass mixing many older blocks (more references than one of
		// their inserts takes) with current ones.
		fill(t, l, "iconik:asset/A", 150)
		execSQL(t, st, `UPDATE pb_audit_blocks SET objects = '' WHERE seq > ? AND seq % 3 <> 0`, bs[len(bs)-1].seq)
		index(t, l)
		if rep := verify(t, l); !rep.OK || rep.Unindexed != 0 {
			t.Fatalf("after indexing a mixed batch: %+v", rep)
		}
		if n := countRefs(t, st); n != 308 {
			t.Fatalf("%d references after a mixed batch, want 308", n)
		}
		var blank int
		if err := st.Reader().QueryRow(context.Background(), `SELECT COUNT(*) FROM pb_audit_blocks WHERE objects = ''`).Scan(&blank); err != nil || blank != 0 {
			t.Fatalf("%d blocks still without their objects after indexing (%v)", blank, err)
		}
	})
}

// TestPruneUnindexed: pruning blocks the index has not reached moves the
// index past them; the chain and the index still verify.
func TestPruneUnindexed(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l, setClock := agedLog(st)
		fill(t, l, "iconik:asset/A", 300) // old and indexed: 600 references to delete, several statements
		index(t, l)
		fill(t, l, "iconik:asset/A", 3) // old and not indexed
		setClock(0)
		fill(t, l, "iconik:asset/A", 2) // new, not indexed
		if _, err := l.Prune(ctx, audit.Policy{Audit: 24 * time.Hour}); err != nil {
			t.Fatal(err)
		}
		if rep := verify(t, l); !rep.OK || rep.Entries != 4 || rep.Unindexed != 4 { // 3 kept + audit.pruned
			t.Fatalf("after pruning: %+v", rep)
		}
		index(t, l)
		if rep := verify(t, l); !rep.OK || rep.Unindexed != 0 {
			t.Fatalf("after indexing: %+v", rep)
		}
		es, err := l.List(ctx, audit.Filter{Object: "iconik:asset/A"})
		if err != nil || len(es) != 3 {
			t.Fatalf("listing: %d, %v", len(es), err)
		}
	})
}
