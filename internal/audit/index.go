package audit

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/store"
)

// The object index (ADR 0006). An append writes its blocks, each with the
// objects its entries touch (the objects column), inside the transaction of
// the change it describes; the references (pb_audit_refs rows) of whole
// batches of blocks are added afterwards by Index, which a running patchbay
// calls shortly after it appends (RunIndexer). pb_audit_indexed holds, per
// chain, the position below which every block is indexed; List and Export
// read the blocks at and above it directly, so a query never misses an
// entry the index has not caught up with, and Verify checks the references
// of the indexed blocks only.

// Indexing pace: a pass starts indexDelay after this process appends (so one
// pass covers many appends) and at least every indexEvery (other processes'
// appends, a pass that failed).
const (
	indexDelay = 250 * time.Millisecond
	indexEvery = 2 * time.Second
	indexBatch = 500 // blocks per indexing transaction
)

// indexRefs inserts the references of one chain's blocks in [lo, hi) from
// their objects columns, inside the database: nothing is read into patchbay
// or bound per reference (modernc's SQLite binds a statement's parameters
// in time quadratic in their number, which made a Go-built multi-row
// insert of a pass's references cost more than inserting them). References
// already there are skipped: a patchbay older than migration 6, running on
// a migrated database, writes its blocks with their references (and
// without the objects column, which the pass fills in first).
const (
	indexRefsSQLite = `INSERT INTO pb_audit_refs (object, id, shard, seq)
	SELECT j.value, a.id, a.shard, a.seq FROM pb_audit_blocks a, json_each(a.objects) j
	WHERE a.shard = ? AND a.seq >= ? AND a.seq < ? ON CONFLICT DO NOTHING`
	indexRefsPostgres = `INSERT INTO pb_audit_refs (object, id, shard, seq)
	SELECT j.value, a.id, a.shard, a.seq FROM pb_audit_blocks a, jsonb_array_elements_text(a.objects::jsonb) AS j(value)
	WHERE a.shard = ? AND a.seq >= ? AND a.seq < ? ON CONFLICT DO NOTHING`
)

// Index adds the object references of every block not yet indexed, whoever
// appended it, and returns how many blocks it indexed. Several processes may
// index one database at once: on PostgreSQL the chains one is indexing are
// skipped by the others.
func (l *Log) Index(ctx context.Context) (int, error) {
	total := 0
	for {
		if behind, err := l.behindChains(ctx); err != nil || len(behind) == 0 {
			return total, err
		}
		n, more, err := l.indexPass(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("indexing the audit trail: %w", err)
		}
		if !more {
			return total, nil
		}
	}
}

// behindQuery reads the chains with blocks above their indexed position,
// with that position.
const behindQuery = `SELECT i.shard, i.upto FROM pb_audit_indexed i JOIN pb_audit_heads h ON h.shard = i.shard
	WHERE i.upto <= h.seq ORDER BY i.shard`

// behindChains returns the indexed position of each chain that has blocks
// above it.
func (l *Log) behindChains(ctx context.Context) (map[int]int64, error) {
	return positions(ctx, l.st.Reader(), behindQuery)
}

// pendingBlock is what indexing needs of a block: where it is and, for one
// written without its objects column, that column's value.
type pendingBlock struct {
	shard   int
	seq     int64
	n       int
	objects []byte // blocks written without the column only
}

// indexPass indexes up to indexBatch blocks, of every chain that has some,
// in one transaction; more reports that there may be others.
func (l *Log) indexPass(ctx context.Context) (n int, more bool, err error) {
	err = l.st.Tx(ctx, func(tx store.Tx) error {
		n, more = 0, false
		q := behindQuery
		if l.pg {
			q += ` FOR UPDATE OF i SKIP LOCKED` // chains another indexer holds are its own
		}
		behind, err := positions(ctx, tx, q)
		if err != nil || len(behind) == 0 {
			return err
		}
		chains := slices.Sorted(maps.Keys(behind))
		blocks, err := readPending(ctx, tx, chains)
		if err != nil || len(blocks) == 0 {
			return err
		}
		// Each chain's blocks are a run from its position: [upto, end).
		// Those written without their objects column get it, from their
		// entries, so that one statement indexes all of them.
		end := map[int]int64{}
		for _, b := range blocks {
			end[b.shard] = b.seq + int64(b.n)
			if b.objects != nil {
				if _, err := tx.Exec(ctx, `UPDATE pb_audit_blocks SET objects = ? WHERE shard = ? AND seq = ?`, string(b.objects), b.shard, b.seq); err != nil {
					return err
				}
			}
		}
		indexRefs := indexRefsSQLite
		if l.pg {
			indexRefs = indexRefsPostgres
		}
		for _, shard := range chains {
			if hi, ok := end[shard]; ok {
				if _, err := tx.Exec(ctx, indexRefs, shard, behind[shard], hi); err != nil {
					return err
				}
			}
		}
		// One statement moves every chain's position.
		var sb strings.Builder
		var args []any
		sb.WriteString(`UPDATE pb_audit_indexed SET upto = CASE shard`)
		var in []string
		for shard, u := range end {
			sb.WriteString(` WHEN CAST(? AS INTEGER) THEN CAST(? AS BIGINT)`)
			args = append(args, shard, u)
			in = append(in, "?")
		}
		sb.WriteString(` END WHERE shard IN (` + strings.Join(in, ", ") + `)`)
		for shard := range end {
			args = append(args, shard)
		}
		if _, err := tx.Exec(ctx, sb.String(), args...); err != nil {
			return err
		}
		n, more = len(blocks), len(blocks) == indexBatch
		return nil
	})
	return n, more, err
}

// readPending reads up to indexBatch blocks at and above the indexed
// position of the given chains, in chain and position order (so each
// chain's are a run from its position on, however the batch ends), with the
// objects column of those written without it, from their entries. The chains are
// named (not all of pb_audit_indexed joined): on SQLite, where blocks are
// keyed by position alone, a chain without blocks would turn into a scan of
// every block.
func readPending(ctx context.Context, q store.Querier, chains []int) ([]pendingBlock, error) {
	args := make([]any, 0, len(chains)+1)
	for _, c := range chains {
		args = append(args, c)
	}
	rows, err := q.Query(ctx, pendingQuery(len(chains)), append(args, indexBatch)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []pendingBlock
	for rows.Next() {
		var b pendingBlock
		var body string
		if err := rows.Scan(&b.shard, &b.seq, &b.n, &body); err != nil {
			return nil, err
		}
		if body != "" {
			// Written without the column (by a patchbay older than
			// migration 6): the entries name the objects. Entries that do
			// not decode name none (verify reports them).
			es, _ := decodeEntries([]byte(body), b.shard, b.seq, "")
			b.objects = encodeObjects(blockObjects(es))
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// pendingQuery is readPending's query for n chains.
func pendingQuery(n int) string {
	in := strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
	return `SELECT a.shard, a.seq, a.n, CASE WHEN a.objects = '' THEN a.entries ELSE '' END
		FROM pb_audit_indexed i JOIN pb_audit_blocks a ON a.shard = i.shard AND a.seq >= i.upto
		WHERE i.shard IN (` + in + `) ORDER BY a.shard, a.seq LIMIT ?`
}

// RunIndexer indexes new blocks until ctx ends: indexDelay after this
// process appends, and every indexEvery in any case. Failures are logged and
// retried on the next pass; queries do not depend on the index being
// current.
func (l *Log) RunIndexer(ctx context.Context, log *slog.Logger) {
	tick := time.NewTicker(indexEvery)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-l.wake:
			select {
			case <-ctx.Done():
				return
			case <-time.After(indexDelay):
			}
		}
		_, err := l.Index(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			log.Error("indexing the audit trail failed; retrying", "error", err)
			failing = true
		case err == nil && failing:
			log.Info("indexing the audit trail works again")
			failing = false
		}
	}
}

// indexedUpTo reads each chain's indexed position.
func indexedUpTo(ctx context.Context, q store.Querier) (map[int]int64, error) {
	return positions(ctx, q, `SELECT shard, upto FROM pb_audit_indexed`)
}

// positions runs query, which reads (chain, position) rows.
func positions(ctx context.Context, q store.Querier, query string) (map[int]int64, error) {
	rows, err := q.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("reading the audit index's positions: %w", err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var shard int
		var upto int64
		if err := rows.Scan(&shard, &upto); err != nil {
			return nil, err
		}
		out[shard] = upto
	}
	return out, rows.Err()
}
