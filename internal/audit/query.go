package audit

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/id"
	"github.com/patchbay/patchbay/internal/store"
)

// Filter narrows List and Export.
type Filter struct {
	// Object lists only entries touching this object reference.
	Object string
	// Since lists only entries made at or after this time.
	Since time.Time
	// After continues a listing after this entry id (paging).
	After string
	Limit int
}

// storedBlock is a row of pb_audit_blocks.
type storedBlock struct {
	shard   int
	seq     int64
	n       int
	id      string
	at      int64
	entries []*Entry
	hash    string
	bad     error // the entries did not decode
}

const blockCols = `a.shard, a.seq, a.n, a.id, a.at, a.entries, a.hash`

func scanBlock(r interface{ Scan(...any) error }) (*storedBlock, error) {
	var b storedBlock
	var body string
	var err error
	if err = r.Scan(&b.shard, &b.seq, &b.n, &b.id, &b.at, &body, &b.hash); err != nil {
		return nil, err
	}
	if b.entries, err = decodeEntries([]byte(body), b.shard, b.seq, b.hash); err != nil {
		b.bad = err
	}
	return &b, nil
}

func touches(e *Entry, object string) bool {
	for _, o := range e.Objects {
		if o == object {
			return true
		}
	}
	return false
}

// List returns entries in time order (oldest first), each with the objects
// it touched. Without an object it lists every entry (a scan: give Since).
func (l *Log) List(ctx context.Context, f Filter) ([]*Entry, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var out []*Entry
	cursor := ""
	for len(out) < f.Limit {
		got, last, err := l.page(ctx, f, cursor, 200, func(e *Entry) error {
			out = append(out, e)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if got < 200 {
			break
		}
		cursor = last
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

// page reads up to limit blocks after the block id cursor and passes the
// matching entries to fn. It returns the blocks read and the last block id.
func (l *Log) page(ctx context.Context, f Filter, cursor string, limit int, fn func(*Entry) error) (int, string, error) {
	lower := ""
	if !f.Since.IsZero() {
		// Blocks are keyed by their first entry: start a little earlier.
		lower = id.Floor(f.Since.Add(-time.Minute))
	}
	if f.After != "" && f.After > lower {
		lower = f.After
	}
	var blocks []*storedBlock
	if f.Object != "" {
		// The blocks the index has not reached (ADR 0006) are read first,
		// then the index: a block indexed in between is found twice and
		// kept once, never missed.
		tail, err := l.unindexed(ctx, f.Object, lower, cursor, limit)
		if err != nil {
			return 0, "", err
		}
		indexed, err := l.readBlocks(ctx, `SELECT `+blockCols+` FROM pb_audit_refs r JOIN pb_audit_blocks a ON a.shard = r.shard AND a.seq = r.seq
			WHERE r.object = ? AND r.id >= ? AND r.id > ? ORDER BY r.id LIMIT ?`, f.Object, lower, cursor, limit)
		if err != nil {
			return 0, "", err
		}
		blocks = mergeBlocks(indexed, tail, limit)
	} else {
		var err error
		blocks, err = l.readBlocks(ctx, `SELECT `+blockCols+` FROM pb_audit_blocks a WHERE a.id >= ? AND a.id > ? ORDER BY a.id LIMIT ?`, lower, cursor, limit)
		if err != nil {
			return 0, "", err
		}
	}
	last := ""
	for _, b := range blocks {
		last = b.id
		for _, e := range b.entries {
			if (f.Object != "" && !touches(e, f.Object)) || e.At.Before(f.Since) || (f.After != "" && e.ID <= f.After) {
				continue
			}
			if e.Summary == "" {
				e.Summary = describe(e)
			}
			if err := fn(e); err != nil {
				return 0, "", err
			}
		}
	}
	return len(blocks), last, nil
}

func (l *Log) readBlocks(ctx context.Context, query string, args ...any) ([]*storedBlock, error) {
	rows, err := l.st.Reader().Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("listing audit entries: %w", err)
	}
	defer rows.Close()
	var out []*storedBlock
	for rows.Next() {
		b, err := scanBlock(rows)
		if err != nil {
			return nil, fmt.Errorf("listing audit entries: %w", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing audit entries: %w", err)
	}
	return out, nil
}

// tailQuery reads one chain's blocks from a position on, from a lower id
// and after a cursor, in id order.
const tailQuery = `SELECT ` + blockCols + ` FROM pb_audit_blocks a
	WHERE a.shard = ? AND a.seq >= ? AND a.id >= ? AND a.id > ? ORDER BY a.id`

// unindexed returns up to limit blocks the index has not reached yet whose
// entries touch object, after the block id cursor, in id order. There are a
// pass's worth of them while patchbay runs (RunIndexer); more only when no
// patchbay has indexed since appends were made.
func (l *Log) unindexed(ctx context.Context, object, lower, cursor string, limit int) ([]*storedBlock, error) {
	positions, err := l.behindChains(ctx)
	if err != nil {
		return nil, err
	}
	var blocks []*storedBlock
	for shard, upto := range positions {
		got, err := l.readBlocks(ctx, tailQuery, shard, upto, lower, cursor)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, got...)
	}
	if len(positions) > 1 {
		slices.SortStableFunc(blocks, func(x, y *storedBlock) int { return strings.Compare(x.id, y.id) })
	}
	out := blocks[:0]
	for _, b := range blocks {
		if len(out) == limit {
			break
		}
		for _, e := range b.entries {
			if touches(e, object) {
				out = append(out, b)
				break
			}
		}
	}
	return out, nil
}

// mergeBlocks merges two lists of blocks in id order, each block once, and
// keeps the first limit.
func mergeBlocks(a, b []*storedBlock, limit int) []*storedBlock {
	if len(b) == 0 {
		return a
	}
	type key struct {
		shard int
		seq   int64
	}
	seen := make(map[key]bool, len(a)+len(b))
	out := make([]*storedBlock, 0, len(a)+len(b))
	for _, x := range slices.Concat(a, b) {
		if k := (key{x.shard, x.seq}); !seen[k] {
			seen[k] = true
			out = append(out, x)
		}
	}
	slices.SortStableFunc(out, func(x, y *storedBlock) int { return strings.Compare(x.id, y.id) })
	return out[:min(len(out), limit)]
}

// Export writes every entry matching f (Limit ignored) as JSON lines, in
// time order, with the chain fields so the export can be checked elsewhere.
func (l *Log) Export(ctx context.Context, w io.Writer, f Filter) (int, error) {
	enc := json.NewEncoder(w)
	n := 0
	cursor := ""
	for {
		var buf []*Entry
		got, last, err := l.page(ctx, f, cursor, 500, func(e *Entry) error {
			buf = append(buf, e)
			return nil
		})
		if err != nil {
			return n, err
		}
		sort.SliceStable(buf, func(i, j int) bool { return buf[i].ID < buf[j].ID })
		for _, e := range buf {
			if err := enc.Encode(e); err != nil {
				return n, err
			}
			n++
		}
		if got < 500 {
			return n, nil
		}
		cursor = last
	}
}

// Problem kinds Verify reports.
const (
	ProblemEdited     = "edited"     // an entry's content does not match its hash
	ProblemDeleted    = "deleted"    // entries are missing from the chain
	ProblemReordered  = "reordered"  // an entry is not linked to the one before it
	ProblemHead       = "head"       // the chain head does not match the last entry
	ProblemCheckpoint = "checkpoint" // a checkpoint's signature does not verify
	ProblemIndex      = "index"      // object references do not match the entries
)

// Break is a broken link of a chain.
type Break struct {
	Shard   int    `json:"shard"`
	Seq     int64  `json:"seq"`
	ID      string `json:"id,omitempty"`
	Problem string `json:"problem"`
	Detail  string `json:"detail"`
}

func (b *Break) String() string {
	if b.ID != "" {
		return fmt.Sprintf("chain %d seq %d (entry %s): %s: %s", b.Shard, b.Seq, b.ID, b.Problem, b.Detail)
	}
	return fmt.Sprintf("chain %d seq %d: %s: %s", b.Shard, b.Seq, b.Problem, b.Detail)
}

// Report is what Verify found.
type Report struct {
	OK          bool  `json:"ok"`
	Entries     int64 `json:"entries"`
	Chains      int   `json:"chains"`
	Checkpoints int   `json:"checkpoints"`
	// Unindexed counts the entries the object index has not reached yet
	// (ADR 0006): their references are not checked.
	Unindexed int64 `json:"unindexed,omitempty"`
	// Broken is the first broken link; Problems has the first of each chain.
	Broken   *Break  `json:"broken,omitempty"`
	Problems []Break `json:"problems,omitempty"`
}

// Verify walks every chain and reports the first broken link.
func (l *Log) Verify(ctx context.Context) (*Report, error) {
	q := l.st.Reader()
	// The index's positions are read first: a block indexed while the
	// chains are read is checked as unindexed.
	upto, err := indexedUpTo(ctx, q)
	if err != nil {
		return nil, err
	}
	heads, err := l.heads(ctx, q)
	if err != nil {
		return nil, err
	}
	cps, err := l.checkpoints(ctx, q)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	want := refIndex{seed: maphash.MakeSeed()}
	for _, h := range heads {
		cp := cps[h.shard]
		if cp != nil {
			rep.Checkpoints++
		}
		n, unindexed, brk, err := l.verifyChain(ctx, q, h, cp, &want, upto[h.shard])
		if err != nil {
			return nil, err
		}
		if n > 0 || cp != nil {
			rep.Chains++
		}
		rep.Entries += n
		rep.Unindexed += unindexed
		if brk != nil {
			rep.Problems = append(rep.Problems, *brk)
		}
	}
	if len(rep.Problems) == 0 {
		if brk, err := l.verifyRefs(ctx, q, &want, upto); err != nil {
			return nil, err
		} else if brk != nil {
			rep.Problems = append(rep.Problems, *brk)
		}
	}
	rep.OK = len(rep.Problems) == 0
	if !rep.OK {
		rep.Broken = &rep.Problems[0]
	}
	return rep, nil
}

type headRow struct {
	shard int
	chainHead
}

func (l *Log) heads(ctx context.Context, q store.Querier) ([]headRow, error) {
	rows, err := q.Query(ctx, `SELECT shard, seq, hash FROM pb_audit_heads ORDER BY shard`)
	if err != nil {
		return nil, fmt.Errorf("reading audit chain heads: %w", err)
	}
	defer rows.Close()
	var out []headRow
	for rows.Next() {
		var h headRow
		if err := rows.Scan(&h.shard, &h.seq, &h.hash); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// verifyChain walks one chain; it returns the entries seen, those of them
// not indexed yet (in blocks at or above upto) and the first broken link,
// and adds the object references the indexed blocks should have to refs.
func (l *Log) verifyChain(ctx context.Context, q store.Querier, h headRow, cp *Checkpoint, refs *refIndex, upto int64) (n, unindexed int64, brk *Break, err error) {
	expSeq, expPrev := int64(1), ""
	if cp != nil {
		if err := l.checkCheckpoint(ctx, cp); err != nil {
			return 0, 0, &Break{Shard: h.shard, Seq: cp.Seq, Problem: ProblemCheckpoint, Detail: err.Error()}, nil
		}
		expSeq, expPrev = cp.Seq+1, cp.Hash
	}
	rows, err := q.Query(ctx, `SELECT `+blockCols+` FROM pb_audit_blocks a WHERE a.shard = ? ORDER BY a.seq`, h.shard)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("reading audit chain %d: %w", h.shard, err)
	}
	defer rows.Close()
	for rows.Next() {
		b, err := scanBlock(rows)
		if err != nil {
			return 0, 0, nil, err
		}
		n += int64(len(b.entries))
		if b.seq >= upto {
			unindexed += int64(len(b.entries))
		} else if len(b.entries) > 0 {
			for _, o := range blockObjects(b.entries) {
				refs.add(o, b.id, b.shard, b.seq)
			}
		}
		if brk != nil {
			continue
		}
		switch {
		case b.bad != nil || len(b.entries) == 0:
			brk = &Break{Shard: h.shard, Seq: b.seq, ID: b.id, Problem: ProblemEdited, Detail: "the stored entries are not readable"}
			continue
		case b.seq > expSeq:
			brk = &Break{Shard: h.shard, Seq: expSeq, Problem: ProblemDeleted,
				Detail: fmt.Sprintf("entries %d to %d are missing (the chain jumps to entry %s)", expSeq, b.seq-1, b.id)}
			continue
		case b.seq < expSeq:
			brk = &Break{Shard: h.shard, Seq: b.seq, ID: b.id, Problem: ProblemDeleted,
				Detail: fmt.Sprintf("the entry is older than the checkpoint at seq %d", expSeq-1)}
			continue
		}
		for i, e := range b.entries {
			switch {
			case e.Shard != h.shard || e.Seq != b.seq+int64(i):
				p, d := ProblemReordered, fmt.Sprintf("the entry says it is seq %d of chain %d", e.Seq, e.Shard)
				if e.Seq > b.seq+int64(i) && e.Shard == h.shard {
					p, d = ProblemDeleted, fmt.Sprintf("entries %d to %d are missing", b.seq+int64(i), e.Seq-1)
				}
				brk = &Break{Shard: h.shard, Seq: b.seq + int64(i), ID: e.ID, Problem: p, Detail: d}
			case e.computeHash() != e.Hash:
				p, d := ProblemEdited, "the entry's content does not match its hash"
				if i < len(b.entries)-1 {
					d = "the entry does not hash to what the next entry holds as its predecessor: it was edited, or the entry after it removed or moved"
				}
				if e.Prev != expPrev {
					p, d = ProblemReordered, "the entry is out of place: neither its content nor its link to the previous entry match"
				}
				brk = &Break{Shard: h.shard, Seq: e.Seq, ID: e.ID, Problem: p, Detail: d}
			case e.Prev != expPrev:
				brk = &Break{Shard: h.shard, Seq: e.Seq, ID: e.ID, Problem: ProblemReordered,
					Detail: "the entry does not link to the previous entry's hash: the previous entry was edited, or entries were swapped"}
			}
			if brk != nil {
				break
			}
			expSeq, expPrev = e.Seq+1, e.Hash
		}
		if brk == nil && (b.n != len(b.entries) || b.id != b.entries[0].ID) {
			brk = &Break{Shard: h.shard, Seq: b.seq, ID: b.id, Problem: ProblemEdited, Detail: "the block's columns do not match its entries"}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, nil, err
	}
	if brk == nil && (h.seq != expSeq-1 || h.hash != expPrev) {
		if h.seq > expSeq-1 {
			brk = &Break{Shard: h.shard, Seq: expSeq, Problem: ProblemDeleted,
				Detail: fmt.Sprintf("entries %d to %d, the newest of the chain, are missing", expSeq, h.seq)}
		} else {
			brk = &Break{Shard: h.shard, Seq: h.seq, Problem: ProblemHead,
				Detail: fmt.Sprintf("the chain head (seq %d) does not match the last entry (seq %d)", h.seq, expSeq-1)}
		}
	}
	return n, unindexed, brk, nil
}

// refIndex sums up a set of object references (object, block id, chain,
// seq) without keeping them: a count and a sum of their hashes under a seed
// chosen per verification, so a changed, added, removed or moved reference
// changes the sum.
type refIndex struct {
	seed maphash.Seed
	n    int64
	sum  uint64
}

func (x *refIndex) add(object, id string, shard int, seq int64) {
	var h maphash.Hash
	h.SetSeed(x.seed)
	h.WriteString(object)
	h.WriteByte(0)
	h.WriteString(id)
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(shard))
	binary.BigEndian.PutUint64(b[8:], uint64(seq))
	h.Write(b[:])
	x.n++
	x.sum += h.Sum64()
}

// verifyRefs checks the object index against the entries: exactly one
// reference per object each indexed block's entries touch, none pointing
// elsewhere. The references are read once; only when they do not add up is
// the index searched for one pointing at entries that are not there, to name
// it. References to blocks at or above upto (read before the chains) are
// left out of the sums: the indexer may have reached them since; one to a
// block it has still not reached was not written by it.
func (l *Log) verifyRefs(ctx context.Context, q store.Querier, want *refIndex, upto map[int]int64) (*Break, error) {
	var shard int
	var seq int64
	var obj, id string
	rows, err := q.Query(ctx, `SELECT object, id, shard, seq FROM pb_audit_refs`)
	if err != nil {
		return nil, fmt.Errorf("reading audit references: %w", err)
	}
	defer rows.Close()
	got := refIndex{seed: want.seed}
	ahead := false
	for rows.Next() {
		if err := rows.Scan(&obj, &id, &shard, &seq); err != nil {
			return nil, fmt.Errorf("reading audit references: %w", err)
		}
		if u, ok := upto[shard]; ok && seq >= u {
			ahead = true
			continue
		}
		got.add(obj, id, shard, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading audit references: %w", err)
	}
	rows.Close()
	if got == *want && !ahead {
		return nil, nil
	}
	// Name a reference that is plainly wrong, when there is one.
	brk, err := badRef(ctx, q, "points at entries that are not there",
		`SELECT r.shard, r.seq, r.object, r.id FROM pb_audit_refs r LEFT JOIN pb_audit_blocks a ON a.shard = r.shard AND a.seq = r.seq
		WHERE a.id IS NULL OR a.id <> r.id LIMIT 1`)
	if brk != nil || err != nil {
		return brk, err
	}
	if ahead {
		brk, err := badRef(ctx, q, "points at entries the index has not reached",
			`SELECT r.shard, r.seq, r.object, r.id FROM pb_audit_refs r JOIN pb_audit_indexed i ON i.shard = r.shard
			WHERE r.seq >= i.upto LIMIT 1`)
		if brk != nil || err != nil || got == *want {
			return brk, err
		}
	}
	if got.n != want.n {
		return &Break{Problem: ProblemIndex, Detail: fmt.Sprintf("%d object references for %d named by the entries", got.n, want.n)}, nil
	}
	return &Break{Problem: ProblemIndex, Detail: fmt.Sprintf("the %d object references are not the objects the entries name (one was changed or moved)", got.n)}, nil
}

// badRef runs query, which finds one reference (chain, seq, object, block
// id) that is wrong in the way what says, and reports it.
func badRef(ctx context.Context, q store.Querier, what, query string) (*Break, error) {
	var shard int
	var seq int64
	var obj, id string
	err := q.QueryRow(ctx, query).Scan(&shard, &seq, &obj, &id)
	switch {
	case err == nil:
		return &Break{Shard: shard, Seq: seq, ID: id, Problem: ProblemIndex, Detail: fmt.Sprintf("the reference to %s %s", obj, what)}, nil
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	}
	return nil, fmt.Errorf("checking audit references: %w", err)
}
