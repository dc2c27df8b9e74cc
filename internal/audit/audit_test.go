package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/patchbay/patchbay/internal/app/apptest"
	"github.com/patchbay/patchbay/internal/audit"
	"github.com/patchbay/patchbay/internal/store"
	"github.com/patchbay/patchbay/internal/store/postgres"
	"github.com/patchbay/patchbay/internal/store/postgres/pgtest"
	"github.com/patchbay/patchbay/internal/store/sqlite"
)

func TestMain(m *testing.M) {
	apptest.RunChildIfAsked() // TestCrashAtomicity's child patchbay
	os.Exit(pgtest.Main(m))
}

// drivers runs fn on a fresh, migrated store of each driver (the store
// conformance pattern): SQLite always, PostgreSQL when a server is available.
func drivers(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, migrated(t, openSQLite(t), 0))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, migrated(t, openPostgres(t), 0))
	})
}

func openSQLite(t *testing.T) *store.Store {
	t.Helper()
	drv, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pb.db"))
	if err != nil {
		t.Fatal(err)
	}
	return store.New(drv)
}

func openPostgres(t *testing.T) *store.Store {
	t.Helper()
	drv, err := postgres.Open(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	return store.New(drv)
}

// migrated migrates st up to migration version upTo (0: all of them).
func migrated(t *testing.T, st *store.Store, upTo int) *store.Store {
	t.Helper()
	t.Cleanup(func() { st.Close() })
	if err := st.MigrateTo(context.Background(), upTo); err != nil {
		t.Fatal(err)
	}
	return st
}

func testKey(context.Context) ([]byte, string, error) {
	return []byte("0123456789abcdef0123456789abcdef"), "test", nil
}

// fill appends entries in several transactions (blocks of 1 to 3 entries),
// each touching run/R<i> and the object obj.
func fill(t *testing.T, l *audit.Log, obj string, txs int) {
	t.Helper()
	ctx := context.Background()
	n := 0
	for i := 0; i < txs; i++ {
		var es []*audit.Entry
		for j := 0; j <= i%3; j++ {
			n++
			e := l.NewEntry("decision", []string{fmt.Sprintf("run/R%d", i), obj}, map[string]any{"n": n, "branch": "then"})
			e.Actor, e.Run, e.Step, e.StepSeq, e.Summary = "flow/f", fmt.Sprintf("R%d", i), "gate", j+1, fmt.Sprintf("entry %d", n)
			es = append(es, e)
		}
		if err := l.Store().Tx(ctx, func(tx store.Tx) error { return l.Append(ctx, tx, es...) }); err != nil {
			t.Fatal(err)
		}
	}
}

// index brings the object index up to date.
func index(t *testing.T, l *audit.Log) {
	t.Helper()
	if _, err := l.Index(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func verify(t *testing.T, l *audit.Log) *audit.Report {
	t.Helper()
	rep, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// blockRow is a stored block as the tamper tests see it.
type blockRow struct {
	id      string
	shard   int
	seq     int64
	entries []map[string]any
}

func blocks(t *testing.T, st *store.Store) []blockRow {
	t.Helper()
	rows, err := st.Reader().Query(context.Background(), `SELECT id, shard, seq, entries FROM pb_audit_blocks ORDER BY shard, seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []blockRow
	for rows.Next() {
		var b blockRow
		var body string
		if err := rows.Scan(&b.id, &b.shard, &b.seq, &body); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(body), &b.entries); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func execSQL(t *testing.T, st *store.Store, q string, args ...any) {
	t.Helper()
	ctx := context.Background()
	if err := st.Tx(ctx, func(tx store.Tx) error { _, err := tx.Exec(ctx, q, args...); return err }); err != nil {
		t.Fatal(err)
	}
}

func setEntries(t *testing.T, st *store.Store, b blockRow, entries []map[string]any) {
	t.Helper()
	body, _ := json.Marshal(entries)
	execSQL(t, st, `UPDATE pb_audit_blocks SET entries = ? WHERE shard = ? AND seq = ?`, string(body), b.shard, b.seq)
}

// TestTamperDetected: editing, deleting or swapping any entry, or removing
// the newest ones, is reported by Verify as the first broken link.
func TestTamperDetected(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		tamper      func(t *testing.T, st *store.Store, bs []blockRow) int64 // returns the seq expected in the report
		wantProblem []string
	}{
		{"edit entry data", func(t *testing.T, st *store.Store, bs []blockRow) int64 {
			b := bs[4]
			b.entries[1]["d"].(map[string]any)["branch"] = "else"
			setEntries(t, st, b, b.entries)
			return b.seq + 1
		}, []string{audit.ProblemEdited}},
		{"edit entry actor", func(t *testing.T, st *store.Store, bs []blockRow) int64 {
			b := bs[2]
			b.entries[0]["a"] = "someone else"
			setEntries(t, st, b, b.entries)
			return b.seq
		}, []string{audit.ProblemEdited}},
		{"edit entry time", func(t *testing.T, st *store.Store, bs []blockRow) int64 {
			b := bs[7]
			b.entries[0]["t"] = b.entries[0]["t"].(float64) - 3600e6
			setEntries(t, st, b, b.entries)
			return b.seq
		}, []string{audit.ProblemEdited}},
		{"delete a block", func(t *testing.T, st *store.Store, bs []blockRow) int64 {
			execSQL(t, st, `DELETE FROM pb_audit_blocks WHERE shard = ? AND seq = ?`, bs[3].shard, bs[3].seq)
			return bs[3].seq
		}, []string{audit.ProblemDeleted}},
		{"delete one entry of a block", func(t *testing.T, st *store.Store, bs []blockRow) int64 {
			b := bs[5]
			setEntries(t, st, b, append(b.entries[:1:1], b.entries[2:]...))
			return b.seq // the link from the entry before is the first broken one
		}, []string{audit.ProblemEdited, audit.ProblemReordered, audit.ProblemDeleted}},
		{"delete the newest entries", func(t *testing.T, st *store.Store, bs []blockRow) int64 {
			last := bs[len(bs)-1]
			execSQL(t, st, `DELETE FROM pb_audit_blocks WHERE shard = ? AND seq = ?`, last.shard, last.seq)
			return last.seq
		}, []string{audit.ProblemDeleted}},
		{"swap two entries in a block", func(t *testing.T, st *store.Store, bs []blockRow) int64 {
			b := bs[8]
			b.entries[0], b.entries[2] = b.entries[2], b.entries[0]
			setEntries(t, st, b, b.entries)
			return b.seq
		}, []string{audit.ProblemReordered, audit.ProblemEdited}},
		{"swap two blocks", func(t *testing.T, st *store.Store, bs []blockRow) int64 {
			a, b := bs[3], bs[6]
			// Give each the other's place in the chain.
			execSQL(t, st, `UPDATE pb_audit_blocks SET seq = -1 WHERE shard = ? AND seq = ?`, a.shard, a.seq)
			execSQL(t, st, `UPDATE pb_audit_blocks SET seq = ? WHERE shard = ? AND seq = ?`, a.seq, b.shard, b.seq)
			execSQL(t, st, `UPDATE pb_audit_blocks SET seq = ? WHERE shard = ? AND seq = ?`, b.seq, a.shard, -1)
			return a.seq
		}, []string{audit.ProblemReordered, audit.ProblemEdited, audit.ProblemDeleted}},
		{"swap the entries of two blocks", func(t *testing.T, st *store.Store, bs []blockRow) int64 {
			a, b := bs[1], bs[4] // both hold two entries
			setEntries(t, st, a, b.entries)
			setEntries(t, st, b, a.entries)
			return a.seq
		}, []string{audit.ProblemReordered, audit.ProblemEdited}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			drivers(t, func(t *testing.T, st *store.Store) {
				l := audit.New(st)
				l.SetChains(1) // one chain, so the blocks picked below are neighbours
				fill(t, l, "iconik:asset/A", 12)
				if rep := verify(t, l); !rep.OK || rep.Entries != 24 {
					t.Fatalf("before tampering: %+v", rep)
				}
				bs := blocks(t, st)
				wantSeq := tc.tamper(t, st, bs)
				rep := verify(t, l)
				if rep.OK {
					t.Fatalf("tampering not detected: %+v", rep)
				}
				if !contains(tc.wantProblem, rep.Broken.Problem) || rep.Broken.Seq != wantSeq {
					t.Fatalf("first broken link = %s; want %v at seq %d", rep.Broken, tc.wantProblem, wantSeq)
				}
			})
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestIndexTamperDetected: the object index cannot silently lose, gain or
// move references.
func TestIndexTamperDetected(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		tamper func(t *testing.T, st *store.Store, bs []blockRow)
	}{
		{"remove an object's references", func(t *testing.T, st *store.Store, bs []blockRow) {
			execSQL(t, st, `DELETE FROM pb_audit_refs WHERE object = ?`, "iconik:asset/A")
		}},
		{"remove one reference", func(t *testing.T, st *store.Store, bs []blockRow) {
			execSQL(t, st, `DELETE FROM pb_audit_refs WHERE object = ? AND id = ?`, "iconik:asset/A", bs[2].id)
		}},
		{"file a reference under another object", func(t *testing.T, st *store.Store, bs []blockRow) {
			execSQL(t, st, `UPDATE pb_audit_refs SET object = ? WHERE object = ? AND id = ?`, "iconik:asset/B", "iconik:asset/A", bs[2].id)
		}},
		{"point a reference at another block", func(t *testing.T, st *store.Store, bs []blockRow) {
			execSQL(t, st, `UPDATE pb_audit_refs SET seq = ?, id = ? WHERE object = ? AND id = ?`, bs[1].seq, bs[1].id, "run/R2", bs[2].id)
		}},
		{"point a reference nowhere", func(t *testing.T, st *store.Store, bs []blockRow) {
			execSQL(t, st, `UPDATE pb_audit_refs SET seq = ? WHERE object = ? AND id = ?`, 9999, "iconik:asset/A", bs[2].id)
		}},
		{"add a reference", func(t *testing.T, st *store.Store, bs []blockRow) {
			execSQL(t, st, `INSERT INTO pb_audit_refs (object, id, shard, seq) VALUES (?, ?, ?, ?)`, "iconik:asset/Z", bs[2].id, bs[2].shard, bs[2].seq)
		}},
		{"move the index position back", func(t *testing.T, st *store.Store, bs []blockRow) {
			execSQL(t, st, `UPDATE pb_audit_indexed SET upto = ? WHERE shard = ?`, bs[2].seq, bs[2].shard)
		}},
		{"move the index position past unindexed blocks", func(t *testing.T, st *store.Store, bs []blockRow) {
			execSQL(t, st, `UPDATE pb_audit_indexed SET upto = ? WHERE shard = ?`, 1000, bs[len(bs)-1].shard)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			drivers(t, func(t *testing.T, st *store.Store) {
				l := audit.New(st)
				l.SetChains(1)
				fill(t, l, "iconik:asset/A", 6)
				index(t, l)
				fill(t, l, "iconik:asset/A", 2) // and some the index has not reached
				if rep := verify(t, l); !rep.OK || rep.Unindexed != 3 {
					t.Fatalf("before tampering: %+v", rep)
				}
				tc.tamper(t, st, blocks(t, st))
				rep := verify(t, l)
				if rep.OK || rep.Broken.Problem != audit.ProblemIndex {
					t.Fatalf("not detected: %+v", rep)
				}
				t.Log(rep.Broken.Detail)
			})
		})
	}
}

// TestListByObject: entries come back in time order, each with the objects
// it touched, filtered by object and since.
func TestListByObject(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := audit.New(st)
		fill(t, l, "iconik:asset/A", 5)
		fill(t, l, "iconik:asset/B", 3)
		es, err := l.List(ctx, audit.Filter{Object: "iconik:asset/A", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 9 {
			t.Fatalf("got %d entries, want 9", len(es))
		}
		for i, e := range es {
			if e.Summary != fmt.Sprintf("entry %d", i+1) || !contains(e.Objects, "iconik:asset/A") || !contains(e.Objects, "run/"+e.Run) {
				t.Fatalf("entry %d = %+v", i, e)
			}
			if i > 0 && es[i-1].ID >= e.ID {
				t.Fatalf("entries out of order at %d", i)
			}
		}
		es, err = l.List(ctx, audit.Filter{Object: "run/R2"})
		if err != nil || len(es) != 6 {
			t.Fatalf("run/R2: %d entries, %v", len(es), err)
		}
		es, err = l.List(ctx, audit.Filter{Object: "iconik:asset/A", Since: time.Now().Add(time.Hour)})
		if err != nil || len(es) != 0 {
			t.Fatalf("since the future: %d entries, %v", len(es), err)
		}
		var sb strings.Builder
		n, err := l.Export(ctx, &sb, audit.Filter{})
		if err != nil || n != 15 || strings.Count(sb.String(), "\n") != 15 {
			t.Fatalf("export: %d, %v", n, err)
		}
	})
}

// TestConcurrentAppends: many transactions appending at once (on
// PostgreSQL, spread over several chains) leave every chain intact.
func TestConcurrentAppends(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		l := audit.New(st)
		if n := appendConcurrently(t, st, []*audit.Log{l}, 16, 20, 7); n != 16*17 {
			t.Fatalf("%d transactions committed, want %d", n, 16*17)
		}
		rep := verify(t, l)
		if !rep.OK || rep.Entries != 16*17 {
			t.Fatalf("after concurrent appends: %+v", rep)
		}
		t.Logf("%d entries in %d chains", rep.Entries, rep.Chains)
	})
}

// agedLog returns a signing log of st on one chain whose clock reads two
// days ago; setClock(d) moves it to now plus d.
func agedLog(st *store.Store) (l *audit.Log, setClock func(d time.Duration)) {
	now := time.Now()
	clock := now.Add(-48 * time.Hour)
	st.SetClock(func() time.Time { return clock })
	l = audit.New(st)
	l.SetKey(testKey)
	l.SetChains(1)
	return l, func(d time.Duration) { clock = now.Add(d) }
}

// TestPruneCheckpoint: pruning old entries leaves the chain verifiable
// behind a signed checkpoint; a forged checkpoint is detected.
func TestPruneCheckpoint(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l, setClock := agedLog(st)
		fill(t, l, "iconik:asset/A", 6) // 12 entries, two days old
		setClock(0)
		fill(t, l, "iconik:asset/A", 3) // 6 new entries
		res, err := l.Prune(ctx, audit.Policy{Audit: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if res.Entries != 12 || res.Checkpoints != 1 {
			t.Fatalf("pruned %+v", res)
		}
		rep := verify(t, l)
		if !rep.OK || rep.Entries != 7 || rep.Checkpoints != 1 { // 6 kept + the audit.pruned entry
			t.Fatalf("after pruning: %+v", rep)
		}
		es, err := l.List(ctx, audit.Filter{Object: "iconik:asset/A"})
		if err != nil || len(es) != 6 {
			t.Fatalf("listing after pruning: %d, %v", len(es), err)
		}
		// Everything older than now: the whole chain goes behind the checkpoint.
		setClock(time.Hour)
		if _, err := l.Prune(ctx, audit.Policy{Audit: time.Minute}); err != nil {
			t.Fatal(err)
		}
		if rep := verify(t, l); !rep.OK {
			t.Fatalf("after pruning everything: %+v", rep)
		}
		// Appends continue after the checkpoint.
		fill(t, l, "iconik:asset/A", 2)
		if rep := verify(t, l); !rep.OK {
			t.Fatalf("appending after pruning: %+v", rep)
		}
		// A forged checkpoint (hiding deleted entries) fails its signature.
		bs := blocks(t, st)
		execSQL(t, st, `DELETE FROM pb_audit_blocks WHERE shard = ? AND seq = ?`, bs[0].shard, bs[0].seq)
		execSQL(t, st, `UPDATE pb_audit_checkpoints SET seq = ?, hash = ?`, bs[0].seq, bs[1].entries[0]["p"])
		rep = verify(t, l)
		if rep.OK || rep.Broken.Problem != audit.ProblemCheckpoint {
			t.Fatalf("forged checkpoint not detected: %+v", rep)
		}
	})
}

// TestPruneRunsAndEvents: finished runs (with their steps) and events no
// run refers to are pruned by age; unfinished runs and their events stay.
func TestPruneRunsAndEvents(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		old := time.Now().Add(-72 * time.Hour)
		err := st.Tx(ctx, func(tx store.Tx) error {
			for i, status := range []string{store.RunSucceeded, store.RunFailed, store.RunWaiting} {
				ev := &store.Event{ID: fmt.Sprintf("E%d", i), Source: "in", Trigger: "webhook", Dedupe: fmt.Sprintf("d%d", i), Type: "t",
					Status: store.EventAccepted, ReceivedAt: old}
				if _, err := st.InsertEvent(ctx, tx, ev); err != nil {
					return err
				}
				r := &store.Run{ID: fmt.Sprintf("R%d", i), Flow: "f", FlowVersion: 1, EventID: ev.ID, Status: status, State: []byte(`{}`),
					CreatedAt: old, UpdatedAt: old}
				if store.RunDone(status) {
					r.EndedAt = old
				}
				if _, err := st.InsertRun(ctx, tx, r); err != nil {
					return err
				}
				if err := st.InsertSteps(ctx, tx, []store.StepRecord{{RunID: r.ID, Seq: 1, StepID: "a", Kind: "action", Attempt: 1,
					Status: store.StepSucceeded, StartedAt: old, EndedAt: old}}); err != nil {
					return err
				}
			}
			_, err := st.InsertEvent(ctx, tx, &store.Event{ID: "lonely", Source: "in", Trigger: "webhook", Dedupe: "x", Type: "t",
				Status: store.EventEcho, ReceivedAt: old})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		l := audit.New(st)
		l.SetKey(testKey)
		res, err := l.Prune(ctx, audit.Policy{Runs: 24 * time.Hour, Events: 24 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if res.Runs != 2 || res.Steps != 2 || res.Events != 3 {
			t.Fatalf("pruned %+v", res)
		}
		if _, err := st.GetRun(ctx, st.Reader(), "R2"); err != nil {
			t.Fatalf("waiting run pruned: %v", err)
		}
		if _, err := st.GetEvent(ctx, st.Reader(), "E2"); err != nil {
			t.Fatalf("event of a waiting run pruned: %v", err)
		}
		es, err := l.List(ctx, audit.Filter{Object: "audit/retention"})
		if err != nil || len(es) != 1 || es[0].Kind != "audit.pruned" {
			t.Fatalf("prune not audited: %v %v", es, err)
		}
	})
}

// TestTwoWriters: two processes' logs (each remembering the head it last
// wrote) appending in turn to the same database keep one valid chain.
func TestTwoWriters(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		l1, l2 := audit.New(st), audit.New(st)
		l1.SetChains(1)
		l2.SetChains(1)
		for i := 0; i < 6; i++ {
			fill(t, l1, "iconik:asset/A", 2)
			fill(t, l2, "iconik:asset/A", 1)
		}
		if rep := verify(t, l1); !rep.OK || rep.Entries != 6*(3+1) {
			t.Fatalf("two writers: %+v", rep)
		}
	})
}

// TestProcessesShareChains: several processes' logs appending at once,
// more transactions than chains, some rolled back. On PostgreSQL each log
// sends its appends with the COMMIT from the head it remembers; when
// another process moved or holds that head the transaction is aborted and
// run again (reading the head). Every committed entry is kept, once, and
// the chains verify.
func TestProcessesShareChains(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		const procs, workers, txs = 3, 6, 15
		var logs []*audit.Log
		for range procs {
			l := audit.New(st)
			l.SetChains(2) // fewer chains than writers: they meet on heads
			logs = append(logs, l)
		}
		committed := appendConcurrently(t, st, logs, workers, txs, 5)
		rep := verify(t, audit.New(st))
		if !rep.OK || rep.Entries != committed || committed != procs*workers*(txs-3) {
			t.Fatalf("%d committed: %+v", committed, rep)
		}
		es, err := audit.New(st).List(ctx, audit.Filter{Object: "sink:item/1", Limit: 1000})
		if err != nil || int64(len(es)) != committed {
			t.Fatalf("listing sink:item/1: %d entries, %v", len(es), err)
		}
	})
}

// TestLargeAppend: one transaction appending more entries than a block
// holds writes several blocks (several statements at the commit on
// PostgreSQL) that verify and list as one history.
func TestLargeAppend(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := audit.New(st)
		var es []*audit.Entry
		for i := range 600 {
			es = append(es, l.NewEntry("decision", []string{"run/BIG", fmt.Sprintf("iconik:asset/%d", i%7)}, map[string]any{"i": i}))
		}
		if err := st.Tx(ctx, func(tx store.Tx) error { return l.Append(ctx, tx, es...) }); err != nil {
			t.Fatal(err)
		}
		fill(t, l, "iconik:asset/3", 4)
		if rep := verify(t, l); !rep.OK || rep.Entries != 600+1+2+3+1 {
			t.Fatalf("after a large append: %+v", rep)
		}
		got, err := l.List(ctx, audit.Filter{Object: "run/BIG", Limit: 1000})
		if err != nil || len(got) != 600 {
			t.Fatalf("run/BIG: %d entries, %v", len(got), err)
		}
		for i, e := range got {
			if !strings.Contains(string(e.Data), fmt.Sprintf(`"i":%d}`, i)) {
				t.Fatalf("entry %d out of order: %s", i, e.Data)
			}
		}
	})
}

// TestAppendInBegunTx: a transaction from Store.Begin (no staging, no
// statements at commit) appends at once; committed or rolled back, the
// chain stays valid for the appends that follow.
func TestAppendInBegunTx(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		l := audit.New(st)
		l.SetChains(1)
		for i, commit := range []bool{true, false, true} {
			tx, err := st.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Append(ctx, tx, l.NewEntry("decision", []string{"run/B"}, map[string]any{"i": i})); err != nil {
				t.Fatal(err)
			}
			if commit {
				err = tx.Commit(ctx)
			} else {
				err = tx.Rollback(ctx)
			}
			if err != nil {
				t.Fatal(err)
			}
			fill(t, l, "iconik:asset/B", 1)
		}
		if rep := verify(t, l); !rep.OK || rep.Entries != 2+3 {
			t.Fatalf("after appends in begun transactions: %+v", rep)
		}
	})
}

// appendConcurrently runs workers goroutines per log, each appending one
// entry in each of txs transactions (run/W…, sink:item/1), rolling back
// every transaction whose number is 2 modulo every. It returns how many
// committed.
func appendConcurrently(t *testing.T, st *store.Store, logs []*audit.Log, workers, txs, every int) int64 {
	t.Helper()
	ctx := context.Background()
	var committed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(logs)*workers)
	for p, l := range logs {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range txs {
					e := l.NewEntry("write", []string{fmt.Sprintf("run/P%dW%d", p, w), "sink:item/1"}, map[string]any{"i": i})
					err := st.Tx(ctx, func(tx store.Tx) error {
						if err := l.Append(ctx, tx, e); err != nil {
							return err
						}
						if i%every == 2 {
							return fmt.Errorf("rolled back on purpose")
						}
						return nil
					})
					switch {
					case err == nil:
						committed.Add(1)
					case !strings.Contains(err.Error(), "on purpose"):
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return committed.Load()
}
