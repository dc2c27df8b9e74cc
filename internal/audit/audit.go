// Package audit keeps patchbay's audit trail: append-only entries for every
// event received (accepted, rejected, duplicate or echo), run started and
// ended, external write, flow decision, human outcome and user action, each
// indexed by every object reference it touches and written in the same
// transaction as the change it describes.
//
// # The chain
//
// Entries are hash-chained: an entry holds the hash of the entry before it
// (prev); its own hash is SHA-256 over prev and every stored field
// (length-prefixed, so no two field lists hash alike), in unpadded
// base64url. Verify walks a chain in seq order and reports the first broken
// link: a gap in seq (entries deleted), a prev that is not the previous
// entry's hash (deleted or reordered), a hash that does not match the
// content (edited), or a chain head that does not match the last entry (the
// newest entries removed).
//
// There are several chains (shards), each with a head (the last seq and
// hash, a row of pb_audit_heads). An append moves its chain's head by
// compare-and-swap inside the transaction that commits the change, so chain
// order is commit order and a rolled-back transaction leaves no trace.
//
// On PostgreSQL many transactions commit at once. Each process hands its
// chains out one transaction at a time (take/give), so its own appends
// never meet on a head, and remembers each chain's head after a commit. An
// append is then one statement sent in the same round trip as the COMMIT
// (store.Finisher): a CTE moves the head if it is still where this process
// left it and inserts the rows; if another process moved the head, the
// statement aborts the transaction with a serialization failure
// (pb_audit_head_moved) and the store runs the transaction again; for a
// while the process then reads heads under FOR UPDATE. Writing
// the audit trail thus adds no round trip to a transaction. SQLite has a
// single writer: it uses chain 0, keeps the head in memory and re-reads it
// only when the compare-and-swap finds that another process (a CLI command)
// or a rolled-back transaction moved it.
//
// # Storage
//
// Entries are stored in blocks (pb_audit_blocks), one row per append (the
// entries one transaction added to one chain, as a JSON array), keyed by
// chain and position, with the objects the entries touch. On SQLite an
// append's cost is per statement, per row and per page, not per byte
// hashed: an append is a head update and a block insert (at the end of one
// b-tree; ADR 0005), one statement on PostgreSQL, with hashes and JSON
// computed before; the ingest writes the entries of a whole
// group-committed batch of events as one block.
//
// The object index (pb_audit_refs, one row per object a block touches: the
// index behind "everything that happened to this object") is built behind
// the chain, in batches, by Index (ADR 0006; index.go); queries read the
// blocks it has not reached directly, so they never wait for it.
//
// # Retention
//
// Prune removes audit entries older than a policy's age together with old
// finished runs' history and old events. The pruned prefix of each chain is
// replaced by a checkpoint row (the last pruned entry's seq and hash, signed
// with HMAC-SHA256 under a key sealed by the secret keyring), written in the
// transaction that deletes the entries: the first kept entry's prev must
// equal the checkpoint's hash, and a forged checkpoint fails its signature.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/id"
	"github.com/patchbay/patchbay/internal/store"
)

// Entry is one audit record.
type Entry struct {
	ID    string    `json:"id"`
	Shard int       `json:"shard"`
	Seq   int64     `json:"seq"`
	At    time.Time `json:"at"`
	// Kind says what happened: event.received, event.rejected,
	// event.duplicate, event.echo, run.started, run.ended, run.retried,
	// write, decision, wait.held, wait.released, outcome, user.<action>,
	// audit.pruned.
	Kind string `json:"kind"`
	// Actor is who did it: a connection for events, flow/NAME for a run's
	// decisions and writes, the user for user actions, the reviewer for
	// human outcomes when the event names one.
	Actor   string `json:"actor,omitempty"`
	Run     string `json:"run,omitempty"`
	Step    string `json:"step,omitempty"`
	StepSeq int    `json:"step_seq,omitempty"`
	// Objects lists every object reference the entry touches.
	Objects []string        `json:"objects"`
	Summary string          `json:"summary,omitempty"`
	Data    json.RawMessage `json:"data,omitempty"`
	Prev    string          `json:"prev"`
	Hash    string          `json:"hash"`

	// enc is the entry's stored form without prev (set by seal), so the
	// encoding is done before the transaction when entries are prepared.
	enc []byte
}

// Limits on what one entry holds.
const (
	maxObjects   = 32
	maxObjectLen = 512
	maxSummary   = 300
	maxData      = 4 << 10
	maxString    = 256
)

// Shards is how many chains PostgreSQL writers spread over (the migration
// creates this many heads).
const Shards = 32

// Log appends to and reads the audit trail of one store.
type Log struct {
	st     *store.Store
	pg     bool
	now    func() time.Time
	key    KeyFunc
	chains int // PostgreSQL: chains appends spread over (default Shards)

	mu    sync.Mutex
	seen  [Shards]chainHead // the last head this process saw, per chain
	known [Shards]bool
	free  []int         // PostgreSQL: chains no transaction of ours holds, most recently given back last
	slots chan struct{} // one token per free chain
	// lockUntil: until then appends read their head under lock instead of
	// trusting the cached one (another process was seen appending).
	lockUntil time.Time

	wake chan struct{} // an append was made: the indexer has work (index.go)
}

// distrust is how long after a failed append this process reads chain heads
// under lock: long enough for the transaction that failed to run again
// with a head that cannot move.
const distrust = 2 * time.Second

type chainHead struct {
	seq  int64
	hash string
}

// New returns the audit log of a store.
func New(st *store.Store) *Log {
	l := &Log{st: st, pg: st.Driver().Name() == "postgres", now: st.Now, wake: make(chan struct{}, 1)}
	l.SetChains(Shards)
	return l
}

// SetChains limits how many chains PostgreSQL appends spread over (1 to
// Shards); SQLite always appends to one. Call it before the first append.
func (l *Log) SetChains(n int) {
	l.chains = max(1, min(n, Shards))
	// Each process starts at its own chain, so processes sharing a
	// database mostly keep to different chains.
	start := rand.IntN(l.chains)
	l.free = make([]int, 0, l.chains)
	for i := l.chains - 1; i >= 0; i-- {
		l.free = append(l.free, (start+i)%l.chains)
	}
	l.slots = make(chan struct{}, l.chains)
	for range l.chains {
		l.slots <- struct{}{}
	}
}

// take hands a chain to one transaction's append: no other transaction of
// this process appends to it until give. The chain given back last is taken
// first, so a process keeps to as few chains as its concurrency needs.
// The head is reported unknown while this process distrusts its cached
// heads (see give).
func (l *Log) take(ctx context.Context) (int, chainHead, bool, error) {
	select {
	case <-l.slots:
	case <-ctx.Done():
		return 0, chainHead{}, false, ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	shard := l.free[len(l.free)-1]
	l.free = l.free[:len(l.free)-1]
	known := l.known[shard] && !time.Now().Before(l.lockUntil)
	return shard, l.seen[shard], known, nil
}

// give takes a chain back with its head after the append's transaction:
// committed says whether head is where the transaction left it. A
// transaction that did not commit may have met another process's append:
// for a while every append then reads its head under lock, so the
// transaction's next attempt (Store.Tx runs it again) cannot fail the same
// way, whichever chain it gets.
func (l *Log) give(shard int, head chainHead, committed bool) {
	l.mu.Lock()
	l.seen[shard], l.known[shard] = head, committed
	if !committed {
		l.lockUntil = time.Now().Add(distrust)
	}
	l.putBack(shard)
}

// putBack returns a chain to the free list; l.mu is held and released.
func (l *Log) putBack(shard int) {
	l.free = append(l.free, shard)
	l.mu.Unlock()
	l.slots <- struct{}{}
}

// Store returns the log's store.
func (l *Log) Store() *store.Store { return l.st }

// NewEntry returns an entry of kind at the log's current time, with objects
// deduplicated and capped. Data is encoded and capped.
func (l *Log) NewEntry(kind string, objects []string, data map[string]any) *Entry {
	at := l.now().UTC().Truncate(time.Microsecond)
	e := &Entry{ID: id.NewAt(at), At: at, Kind: kind}
	e.Objects = cleanObjects(objects)
	if data != nil {
		e.Data = capData(data)
	}
	return e
}

func cleanObjects(objects []string) []string {
	out := make([]string, 0, len(objects))
	for _, o := range objects {
		if o == "" || len(out) >= maxObjects {
			continue
		}
		if len(o) > maxObjectLen {
			o = o[:maxObjectLen]
		}
		dup := false
		for _, p := range out {
			if p == o {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, o)
		}
	}
	return out
}

// capData encodes data, shortening long strings and replacing values that
// keep it over the cap, so one entry stays small whatever a connector says.
func capData(data map[string]any) json.RawMessage {
	b, err := encodeData(data)
	if err != nil {
		b, _ = encodeData(map[string]any{"$unencodable": err.Error()})
	}
	if len(b) <= maxData {
		return b
	}
	short := make(map[string]any, len(data))
	for k, v := range data {
		short[k] = shorten(v, 2)
	}
	b, _ = encodeData(short)
	if len(b) <= maxData {
		return b
	}
	b, _ = encodeData(map[string]any{"$truncated": len(b)})
	return b
}

func shorten(v any, depth int) any {
	switch x := v.(type) {
	case string:
		return Truncate(x, maxString)
	case map[string]any:
		if depth == 0 {
			return "(object)"
		}
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = shorten(e, depth-1)
		}
		return m
	case []any:
		if depth == 0 || len(x) > 20 {
			return fmt.Sprintf("(list of %d)", len(x))
		}
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = shorten(e, depth-1)
		}
		return l
	}
	return v
}

// Truncate shortens s to at most n bytes (on a rune boundary), marking the cut.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// seal applies the caps NewEntry cannot (fields set afterwards).
func (e *Entry) seal() {
	if e.enc != nil {
		return
	}
	if e.Objects == nil {
		e.Objects = []string{}
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	// What is hashed is what is stored: strings as valid UTF-8 (the stored
	// JSON cannot hold anything else), data as valid JSON.
	e.ID, e.Kind, e.Run, e.Step = validUTF8(e.ID), validUTF8(e.Kind), validUTF8(e.Run), validUTF8(e.Step)
	e.Summary = validUTF8(Truncate(e.Summary, maxSummary))
	e.Actor = validUTF8(Truncate(e.Actor, maxString))
	for i, o := range e.Objects {
		if v := validUTF8(o); v != o {
			e.Objects = slices.Clone(e.Objects)
			e.Objects[i] = v
		}
	}
	if len(e.Data) > 0 {
		// Stored verbatim; reading it back drops only the whitespace around it.
		e.Data = bytes.Trim(e.Data, " \t\r\n")
		if !json.Valid(e.Data) {
			e.Data = json.RawMessage(`{"$invalid":true}`)
		}
	}
	e.enc = e.encodeStored()
}

// hashBufs holds the buffers computeHash writes its input to.
var hashBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// computeHash is the entry's hash over prev and every stored field, each
// string preceded by its length (uvarint), each number a varint. The input
// is written to one buffer and hashed at once (no writes through hash.Hash,
// whose []byte conversions of strings allocate).
func (e *Entry) computeHash() string {
	bp := hashBufs.Get().(*[]byte)
	b := (*bp)[:0]
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	num := func(n int64) { b = binary.AppendVarint(b, n) }
	str("pb-audit-v1")
	str(e.Prev)
	num(int64(e.Shard))
	num(e.Seq)
	str(e.ID)
	num(e.At.UnixMicro())
	str(e.Kind)
	str(e.Actor)
	str(e.Run)
	str(e.Step)
	num(int64(e.StepSeq))
	num(int64(len(e.Objects)))
	for _, o := range e.Objects {
		str(o)
	}
	str(e.Summary)
	b = binary.AppendUvarint(b, uint64(len(e.Data)))
	b = append(b, e.Data...)
	sum := sha256.Sum256(b)
	if cap(b) <= 64<<10 { // a huge entry's buffer is not kept
		*bp = b
		hashBufs.Put(bp)
	}
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// chain links entries onto head, returning the new head.
func chain(entries []*Entry, shard int, head chainHead) chainHead {
	for _, e := range entries {
		head.seq++
		e.Shard, e.Seq, e.Prev = shard, head.seq, head.hash
		e.Hash = e.computeHash()
		head.hash = e.Hash
	}
	return head
}

// Append chains entries and writes them, with the objects they touch,
// inside tx; their object references follow with the indexer (Index).
// Nothing is written when entries is empty.
func (l *Log) Append(ctx context.Context, tx store.Tx, entries ...*Entry) error {
	if len(entries) == 0 {
		return nil
	}
	for _, e := range entries {
		e.seal()
	}
	// A transaction's entries (a commit group's, on SQLite) are chained and
	// written together, in one append, just before it commits: still in the
	// transaction of the change they describe.
	if sg, ok := tx.(store.Stager); ok {
		sg.Stage(l, entries, l.flushStaged)
		return nil
	}
	return l.appendNow(ctx, tx, entries)
}

func (l *Log) flushStaged(ctx context.Context, tx store.Tx, items []any) error {
	var entries []*Entry
	for _, it := range items {
		entries = append(entries, it.([]*Entry)...)
	}
	return l.appendNow(ctx, tx, entries)
}

func (l *Log) appendNow(ctx context.Context, tx store.Tx, entries []*Entry) error {
	var err error
	if l.pg {
		err = l.appendPG(ctx, tx, entries)
	} else {
		err = l.appendLocal(ctx, tx, entries)
	}
	if err != nil {
		return fmt.Errorf("appending audit entries: %w", err)
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return nil
}

// appendLocal is the single-writer (SQLite) append on chain 0, from the
// head this process last saw. When the head had moved (another process
// appended, or a transaction of ours rolled back), the append is redone on
// the head re-read.
func (l *Log) appendLocal(ctx context.Context, tx store.Tx, entries []*Entry) error {
	l.mu.Lock()
	h, known := l.seen[0], l.known[0]
	l.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if !known {
			var err error
			if h, err = readHead(ctx, tx, 0, false); err != nil {
				return err
			}
		}
		next := chain(entries, 0, h)
		blocks, err := newBlocks(entries)
		if err != nil {
			return err
		}
		ok, err := writeBlocks(ctx, tx, blocks, h, next)
		l.mu.Lock()
		l.seen[0], l.known[0] = next, ok && err == nil
		l.mu.Unlock()
		if err != nil || ok {
			return err
		}
		if attempt > 0 {
			return errors.New("audit chain head moved twice during one append")
		}
		known = false
	}
}

func readHead(ctx context.Context, q store.Querier, shard int, lock bool) (chainHead, error) {
	query := `SELECT seq, hash FROM pb_audit_heads WHERE shard = ?`
	if lock {
		query += ` FOR UPDATE`
	}
	var h chainHead
	if err := q.QueryRow(ctx, query, shard).Scan(&h.seq, &h.hash); err != nil {
		return h, fmt.Errorf("reading audit chain head %d: %w", shard, err)
	}
	return h, nil
}

// appendPG appends entries on a chain of this process's (see the package
// doc). In a transaction of Store.Tx the append's statements go with the
// COMMIT; the head is read (and locked) first only when this process does
// not know it, or when the transaction cannot take statements at commit.
func (l *Log) appendPG(ctx context.Context, tx store.Tx, entries []*Entry) error {
	shard, h, known, err := l.take(ctx)
	if err != nil {
		return err
	}
	fin, atCommit := tx.(store.Finisher)
	if !known || !atCommit {
		if h, err = readHead(ctx, tx, shard, true); err != nil {
			l.give(shard, chainHead{}, false)
			return err
		}
	}
	next := chain(entries, shard, h)
	blocks, err := newBlocks(entries)
	if err != nil {
		l.give(shard, h, known)
		return err
	}
	stmts := pgAppend(blocks, shard, h, next)
	if atCommit {
		for _, st := range stmts {
			fin.ExecAtCommit(st.Query, st.Args...)
		}
		fin.AfterCommit(func(err error) { l.give(shard, next, err == nil) })
		return nil
	}
	// The head stays locked until the transaction ends, which this process
	// does not see: the next append re-reads it.
	defer func() {
		l.mu.Lock()
		l.known[shard] = false
		l.putBack(shard)
	}()
	for _, st := range stmts {
		if _, err := tx.Exec(ctx, st.Query, st.Args...); err != nil {
			return err
		}
	}
	return nil
}

// pgAppend returns the statements appending blocks on shard, moving its head
// from old to next: one per block, the first also moving the head. When the
// head is not at old, or another transaction holds it, the first fails with
// a serialization failure and nothing is written. The object references
// are the indexer's (index.go).
func pgAppend(blocks []*block, shard int, old, next chainHead) []store.Statement {
	out := make([]store.Statement, 0, len(blocks))
	for i, b := range blocks {
		f, l := b.first(), b.last()
		var st store.Statement
		if i == 0 {
			st.Query = pgAppendFirst
			st.Args = []any{next.seq, next.hash, blocks[len(blocks)-1].last().At.UnixMicro(), shard, old.seq, old.hash, shard, shard}
		} else {
			st.Query = pgAppendMore
			st.Args = []any{shard}
		}
		st.Args = append(st.Args, f.Seq, len(b.entries), f.ID, l.At.UnixMicro(), string(b.body), l.Hash, string(b.objects))
		out = append(out, st)
	}
	return out
}

// pgAppend's statements: the first block's moves the head (or fails), the
// others' insert.
const (
	pgInsertBlock = `INSERT INTO pb_audit_blocks (shard, seq, n, id, at, entries, hash, objects) VALUES (`
	pgBlockValues = `CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT))`
	pgAppendFirst = `WITH h AS (UPDATE pb_audit_heads SET seq = ?, hash = ?, at = ? WHERE shard = ? AND seq = ? AND hash = ? RETURNING shard) ` +
		pgInsertBlock + `CASE WHEN EXISTS (SELECT 1 FROM h) THEN CAST(? AS INTEGER) ELSE pb_audit_head_moved(CAST(? AS INTEGER)) END, ` + pgBlockValues
	pgAppendMore = pgInsertBlock + `CAST(? AS INTEGER), ` + pgBlockValues
)

// blockMax caps the entries of one block row.
const blockMax = 256

// block is one stored block: consecutive entries of one chain.
type block struct {
	entries []*Entry
	body    []byte
	objects []byte // the distinct objects the entries touch, in order, as a JSON list (the indexer's)
}

// stored is an entry as a block keeps it: its chain position comes from the
// block, its own hash is the next entry's prev (the block's hash for the last).
type stored struct {
	ID      string          `json:"i"`
	At      int64           `json:"t"`
	Kind    string          `json:"k"`
	Actor   string          `json:"a,omitempty"`
	Run     string          `json:"r,omitempty"`
	Step    string          `json:"s,omitempty"`
	StepSeq int             `json:"q,omitempty"`
	Objects []string        `json:"o"`
	Summary string          `json:"m,omitempty"`
	Data    json.RawMessage `json:"d,omitempty"`
	Prev    string          `json:"p,omitempty"` // always written by encodeEntries
}

// encodeEntries writes a block's body: the JSON array of the entries'
// stored forms, each completed with its prev (the only field chaining
// sets; a base64url hash or "", which need no escaping).
func encodeEntries(entries []*Entry) ([]byte, error) {
	n := 2
	for _, e := range entries {
		e.seal()
		n += len(e.enc) + len(e.Prev) + 8
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, e := range entries {
		if len(e.enc) < 2 || e.enc[len(e.enc)-1] != '}' {
			return nil, fmt.Errorf("entry %s: bad encoding", e.ID)
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, e.enc[:len(e.enc)-1]...)
		out = append(out, `,"p":"`...)
		out = append(out, e.Prev...)
		out = append(out, `"}`...)
	}
	return append(out, ']'), nil
}

// decodeEntries is the inverse of encodeEntries for a block at (shard, seq)
// whose last entry's hash is hash.
func decodeEntries(body []byte, shard int, seq int64, hash string) ([]*Entry, error) {
	var ss []stored
	if err := json.Unmarshal(body, &ss); err != nil {
		return nil, err
	}
	out := make([]*Entry, len(ss))
	for i, s := range ss {
		out[i] = &Entry{ID: s.ID, Shard: shard, Seq: seq + int64(i), At: time.UnixMicro(s.At).UTC(), Kind: s.Kind, Actor: s.Actor,
			Run: s.Run, Step: s.Step, StepSeq: s.StepSeq, Objects: s.Objects, Summary: s.Summary, Data: s.Data, Prev: s.Prev}
		if out[i].Objects == nil {
			out[i].Objects = []string{}
		}
		if i > 0 {
			out[i-1].Hash = s.Prev
		}
	}
	if len(out) > 0 {
		out[len(out)-1].Hash = hash
	}
	return out, nil
}

func newBlocks(entries []*Entry) ([]*block, error) {
	var out []*block
	for start := 0; start < len(entries); start += blockMax {
		b, err := newBlock(entries[start:min(start+blockMax, len(entries))])
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func newBlock(entries []*Entry) (*block, error) {
	body, err := encodeEntries(entries)
	if err != nil {
		return nil, fmt.Errorf("encoding audit entries: %w", err)
	}
	return &block{entries: entries, body: body, objects: encodeObjects(blockObjects(entries))}, nil
}

// blockObjects lists the distinct objects a block's entries touch, in
// order: each gets a reference row.
func blockObjects(entries []*Entry) []string {
	var out []string
	seen := make(map[string]struct{}, 4)
	for _, e := range entries {
		for _, o := range e.Objects {
			if _, ok := seen[o]; !ok {
				seen[o] = struct{}{}
				out = append(out, o)
			}
		}
	}
	return out
}

func (b *block) first() *Entry { return b.entries[0] }
func (b *block) last() *Entry  { return b.entries[len(b.entries)-1] }

// blockRow appends the block's row to a VALUES list of pb_audit_blocks
// (SQLite's column order: seq first, the rowid).
func (b *block) blockRow(sb *strings.Builder, args []any) []any {
	f, l := b.first(), b.last()
	if len(args) > 0 {
		sb.WriteString(", ")
	}
	sb.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
	return append(args, f.Seq, f.Shard, len(b.entries), f.ID, l.At.UnixMicro(), string(b.body), l.Hash, string(b.objects))
}

// The SQLite insert. OR FAIL: a failing row fails the transaction anyway
// (the flush returns the error), and without a statement rollback to
// prepare for, SQLite writes no statement journal (a copy of every page a
// multi-row insert touches).
const insertBlocks = `INSERT OR FAIL INTO pb_audit_blocks (seq, shard, n, id, at, entries, hash, objects) VALUES `

// maxArgs bounds the parameters of one multi-row statement. modernc's SQLite
// binds parameters in time quadratic in their number (each is looked up by
// a scan of the arguments): at 4,000 that was ~2 µs per parameter, more
// than the row it carries; at 512 it is a tenth of that.
const maxArgs = 512

// writeBlocks moves chain 0's head from old to next (compare-and-swap) and
// inserts the blocks (SQLite). It reports false, having written nothing,
// when the head was not at old.
func writeBlocks(ctx context.Context, tx store.Tx, blocks []*block, old, next chainHead) (bool, error) {
	at := blocks[len(blocks)-1].last().At.UnixMicro()
	const moveHead = `UPDATE OR FAIL pb_audit_heads SET seq = ?, hash = ?, at = ? WHERE shard = 0 AND seq = ? AND hash = ?`
	moved, err := tx.Exec(ctx, moveHead, next.seq, next.hash, at, old.seq, old.hash)
	if err != nil || moved != 1 {
		return false, err
	}
	var sb strings.Builder
	var args []any
	for i, b := range blocks {
		args = b.blockRow(&sb, args)
		if len(args) < maxArgs && i < len(blocks)-1 {
			continue
		}
		if _, err := tx.Exec(ctx, insertBlocks+sb.String(), args...); err != nil {
			return false, err
		}
		sb.Reset()
		args = args[:0]
	}
	return true, nil
}
