package audit

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/secret"
	"github.com/patchbay/patchbay/internal/store"
)

// Policy says how long history is kept. A zero age keeps that history forever.
type Policy struct {
	// Audit is the age after which audit entries are pruned (behind a
	// signed checkpoint).
	Audit time.Duration `json:"audit,omitempty"`
	// Runs is the age (since they ended) after which finished runs and
	// their step history are pruned.
	Runs time.Duration `json:"runs,omitempty"`
	// Events is the age after which events no remaining run refers to are pruned.
	Events time.Duration `json:"events,omitempty"`
}

// Empty reports whether the policy keeps everything.
func (p Policy) Empty() bool { return p.Audit <= 0 && p.Runs <= 0 && p.Events <= 0 }

// Environment variables of the retention policy (durations such as 90d or 720h).
const (
	EnvRetainAudit  = "PATCHBAY_RETAIN_AUDIT"
	EnvRetainRuns   = "PATCHBAY_RETAIN_RUNS"
	EnvRetainEvents = "PATCHBAY_RETAIN_EVENTS"
)

// PolicyFromEnv reads the retention policy from the environment.
func PolicyFromEnv() (Policy, error) {
	var p Policy
	for _, v := range []struct {
		env string
		d   *time.Duration
	}{{EnvRetainAudit, &p.Audit}, {EnvRetainRuns, &p.Runs}, {EnvRetainEvents, &p.Events}} {
		s := strings.TrimSpace(os.Getenv(v.env))
		if s == "" {
			continue
		}
		d, err := connector.ParseDuration(s)
		if err != nil || d < 0 {
			return p, fmt.Errorf("%s=%q: want a duration such as 90d or 720h", v.env, s)
		}
		*v.d = d
	}
	return p, nil
}

// KeyFunc returns the checkpoint signing key and its id.
type KeyFunc func(ctx context.Context) (key []byte, keyID string, err error)

// SetKey installs the checkpoint key (see SealedKey).
func (l *Log) SetKey(k KeyFunc) { l.key = k }

const metaCheckpointKey = "audit:checkpoint_key"

// SealedKey returns the checkpoint key kept in the store sealed by the
// secret keyring, creating it on first use: whoever can read the database
// but not the keyring cannot sign a checkpoint.
func SealedKey(st *store.Store, keys *secret.Keyring) KeyFunc {
	return func(ctx context.Context) ([]byte, string, error) {
		if keys == nil {
			return nil, "", errors.New("no secret keyring to sign audit checkpoints with")
		}
		read := func() ([]byte, bool, error) {
			v, ok, err := st.GetMeta(ctx, st.Reader(), metaCheckpointKey)
			if err != nil || !ok {
				return nil, false, err
			}
			sealed, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return nil, false, fmt.Errorf("decoding the audit checkpoint key: %w", err)
			}
			key, err := keys.Open(sealed)
			if err != nil {
				return nil, false, fmt.Errorf("opening the audit checkpoint key: %w", err)
			}
			return key, true, nil
		}
		key, ok, err := read()
		if err != nil {
			return nil, "", err
		}
		if !ok {
			fresh := make([]byte, 32)
			if _, err := rand.Read(fresh); err != nil {
				return nil, "", err
			}
			sealed, err := keys.Seal(fresh)
			if err != nil {
				return nil, "", err
			}
			err = st.Tx(ctx, func(tx store.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO pb_meta (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING`,
					metaCheckpointKey, base64.StdEncoding.EncodeToString(sealed))
				return err
			})
			if err != nil {
				return nil, "", fmt.Errorf("storing the audit checkpoint key: %w", err)
			}
			if key, ok, err = read(); err != nil || !ok {
				return nil, "", fmt.Errorf("reading the audit checkpoint key back: %v", err)
			}
		}
		sum := sha256.Sum256(key)
		return key, hex.EncodeToString(sum[:4]), nil
	}
}

// Checkpoint stands for a pruned chain prefix.
type Checkpoint struct {
	Shard int `json:"shard"`
	// Seq and Hash are those of the last pruned entry.
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	// Pruned counts the entries pruned behind this checkpoint.
	Pruned int64     `json:"pruned"`
	Cutoff time.Time `json:"cutoff"`
	At     time.Time `json:"at"`
	KeyID  string    `json:"key_id"`
	MAC    string    `json:"mac"`
}

func (c *Checkpoint) sign(key []byte) string {
	m := hmac.New(sha256.New, key)
	var buf [binary.MaxVarintLen64]byte
	num := func(n int64) { m.Write(buf[:binary.PutVarint(buf[:], n)]) }
	m.Write([]byte("pb-audit-checkpoint-v1\x00"))
	num(int64(c.Shard))
	num(c.Seq)
	m.Write([]byte(c.Hash + "\x00"))
	num(c.Pruned)
	num(c.Cutoff.UnixMicro())
	num(c.At.UnixMicro())
	return hex.EncodeToString(m.Sum(nil))
}

func (l *Log) checkCheckpoint(ctx context.Context, c *Checkpoint) error {
	if l.key == nil {
		return errors.New("no key to check the checkpoint's signature with")
	}
	key, keyID, err := l.key(ctx)
	if err != nil {
		return err
	}
	if keyID != c.KeyID {
		return fmt.Errorf("checkpoint signed with key %s, not this installation's key %s", c.KeyID, keyID)
	}
	if !hmac.Equal([]byte(c.sign(key)), []byte(c.MAC)) {
		return errors.New("the checkpoint's signature does not match: it was forged or edited")
	}
	return nil
}

func (l *Log) checkpoints(ctx context.Context, q store.Querier) (map[int]*Checkpoint, error) {
	rows, err := q.Query(ctx, `SELECT shard, seq, hash, pruned, cutoff, at, key_id, mac FROM pb_audit_checkpoints`)
	if err != nil {
		return nil, fmt.Errorf("reading audit checkpoints: %w", err)
	}
	defer rows.Close()
	out := map[int]*Checkpoint{}
	for rows.Next() {
		var c Checkpoint
		var cutoff, at int64
		if err := rows.Scan(&c.Shard, &c.Seq, &c.Hash, &c.Pruned, &cutoff, &at, &c.KeyID, &c.MAC); err != nil {
			return nil, err
		}
		c.Cutoff, c.At = time.UnixMicro(cutoff).UTC(), time.UnixMicro(at).UTC()
		out[c.Shard] = &c
	}
	return out, rows.Err()
}

// PruneResult says what Prune removed.
type PruneResult struct {
	Entries     int64 `json:"entries"`
	Checkpoints int   `json:"checkpoints"`
	Runs        int64 `json:"runs"`
	Steps       int64 `json:"steps"`
	Events      int64 `json:"events"`
}

const pruneBatch = 500

// Prune removes history older than the policy allows, in small
// transactions, and records what it did as an audit entry.
func (l *Log) Prune(ctx context.Context, p Policy) (*PruneResult, error) {
	now := l.now()
	res := &PruneResult{}
	if p.Audit > 0 {
		if err := l.pruneAudit(ctx, now.Add(-p.Audit), res); err != nil {
			return res, err
		}
	}
	if p.Runs > 0 {
		if err := l.pruneRuns(ctx, now.Add(-p.Runs), res); err != nil {
			return res, err
		}
	}
	if p.Events > 0 {
		if err := l.pruneEvents(ctx, now.Add(-p.Events), res); err != nil {
			return res, err
		}
	}
	if res.Entries+res.Runs+res.Events == 0 {
		return res, nil
	}
	e := l.NewEntry("audit.pruned", []string{"audit/retention"}, map[string]any{
		"policy": map[string]string{"audit": p.Audit.String(), "runs": p.Runs.String(), "events": p.Events.String()},
		"result": res})
	e.Actor = "patchbay"
	e.Summary = fmt.Sprintf("retention pruned %d audit entries, %d runs (%d steps), %d events", res.Entries, res.Runs, res.Steps, res.Events)
	err := l.st.Tx(ctx, func(tx store.Tx) error { return l.Append(ctx, tx, e) })
	return res, err
}

func (l *Log) pruneAudit(ctx context.Context, cutoff time.Time, res *PruneResult) error {
	if l.key == nil {
		return errors.New("pruning the audit trail needs a checkpoint key")
	}
	key, keyID, err := l.key(ctx)
	if err != nil {
		return err
	}
	heads, err := l.heads(ctx, l.st.Reader())
	if err != nil {
		return err
	}
	for _, h := range heads {
		if h.seq == 0 {
			continue // a chain never written (SQLite writes chain 0 only)
		}
		touched := false
		for {
			done, n, err := l.pruneChainBatch(ctx, h.shard, cutoff, key, keyID)
			if err != nil {
				return err
			}
			res.Entries += n
			touched = touched || n > 0
			if done {
				break
			}
		}
		if touched {
			res.Checkpoints++
		}
	}
	return nil
}

// pruneChainBatch prunes up to pruneBatch of a chain's oldest entries made
// before cutoff and moves its checkpoint past them, in one transaction.
func (l *Log) pruneChainBatch(ctx context.Context, shard int, cutoff time.Time, key []byte, keyID string) (bool, int64, error) {
	done := false
	var pruned int64
	err := l.st.Tx(ctx, func(tx store.Tx) error {
		done, pruned = false, 0
		// The chain's index position is held first, so no indexer adds
		// references to the blocks being pruned (ADR 0006).
		q := `SELECT upto FROM pb_audit_indexed WHERE shard = ?`
		if l.pg {
			q += ` FOR UPDATE`
		}
		var upto int64
		if err := tx.QueryRow(ctx, q, shard).Scan(&upto); err != nil {
			return fmt.Errorf("reading the audit index's position: %w", err)
		}
		cps, err := l.checkpointOf(ctx, tx, shard)
		if err != nil {
			return err
		}
		from := int64(0)
		if cps != nil {
			from = cps.Seq
		}
		rows, err := tx.Query(ctx, `SELECT `+blockCols+` FROM pb_audit_blocks a WHERE a.shard = ? AND a.seq > ? ORDER BY a.seq LIMIT ?`,
			shard, from, pruneBatch)
		if err != nil {
			return err
		}
		var vs []*storedBlock
		next := from + 1
		seen := 0
		for rows.Next() {
			b, err := scanBlock(rows)
			if err != nil {
				rows.Close()
				return err
			}
			seen++
			if b.at >= cutoff.UnixMicro() || b.seq != next || b.bad != nil {
				// Keep this block and all after it; never prune across a gap.
				done = true
				break
			}
			vs = append(vs, b)
			next = b.seq + int64(b.n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if seen < pruneBatch {
			done = true
		}
		if len(vs) == 0 {
			done = true
			return nil
		}
		var args []any
		var sb strings.Builder
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			_, err := tx.Exec(ctx, `DELETE FROM pb_audit_refs WHERE (object, id) IN (VALUES `+sb.String()+`)`, args...)
			sb.Reset()
			args = args[:0]
			if err != nil {
				return fmt.Errorf("pruning audit references: %w", err)
			}
			return nil
		}
		for _, v := range vs {
			for _, o := range blockObjects(v.entries) {
				if len(args) > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(?, ?)")
				args = append(args, o, v.id)
				if len(args) >= maxArgs {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		entries := int64(0)
		for _, v := range vs {
			entries += int64(v.n)
		}
		last := vs[len(vs)-1]
		lastSeq := last.seq + int64(last.n) - 1
		if _, err := tx.Exec(ctx, `DELETE FROM pb_audit_blocks WHERE shard = ? AND seq <= ?`, shard, last.seq); err != nil {
			return fmt.Errorf("pruning audit entries: %w", err)
		}
		if upto <= lastSeq {
			if _, err := tx.Exec(ctx, `UPDATE pb_audit_indexed SET upto = ? WHERE shard = ?`, lastSeq+1, shard); err != nil {
				return fmt.Errorf("moving the audit index's position: %w", err)
			}
		}
		cp := &Checkpoint{Shard: shard, Seq: lastSeq, Hash: last.hash, Pruned: entries, Cutoff: cutoff.UTC().Truncate(time.Microsecond),
			At: l.now().UTC().Truncate(time.Microsecond), KeyID: keyID}
		if cps != nil {
			cp.Pruned += cps.Pruned
		}
		cp.MAC = cp.sign(key)
		var n int64
		if cps == nil {
			n, err = tx.Exec(ctx, `INSERT INTO pb_audit_checkpoints (shard, seq, hash, pruned, cutoff, at, key_id, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				cp.Shard, cp.Seq, cp.Hash, cp.Pruned, cp.Cutoff.UnixMicro(), cp.At.UnixMicro(), cp.KeyID, cp.MAC)
		} else {
			n, err = tx.Exec(ctx, `UPDATE pb_audit_checkpoints SET seq = ?, hash = ?, pruned = ?, cutoff = ?, at = ?, key_id = ?, mac = ? WHERE shard = ? AND seq = ?`,
				cp.Seq, cp.Hash, cp.Pruned, cp.Cutoff.UnixMicro(), cp.At.UnixMicro(), cp.KeyID, cp.MAC, shard, cps.Seq)
		}
		if err != nil {
			return fmt.Errorf("writing audit checkpoint: %w", err)
		}
		if n != 1 {
			return errors.New("audit checkpoint moved concurrently")
		}
		pruned = entries
		return nil
	})
	return done, pruned, err
}

func (l *Log) checkpointOf(ctx context.Context, q store.Querier, shard int) (*Checkpoint, error) {
	var c Checkpoint
	var cutoff, at int64
	err := q.QueryRow(ctx, `SELECT shard, seq, hash, pruned, cutoff, at, key_id, mac FROM pb_audit_checkpoints WHERE shard = ?`, shard).
		Scan(&c.Shard, &c.Seq, &c.Hash, &c.Pruned, &cutoff, &at, &c.KeyID, &c.MAC)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading audit checkpoint: %w", err)
	}
	c.Cutoff, c.At = time.UnixMicro(cutoff).UTC(), time.UnixMicro(at).UTC()
	return &c, nil
}

// pruneRuns removes finished runs that ended before cutoff, with their steps.
func (l *Log) pruneRuns(ctx context.Context, cutoff time.Time, res *PruneResult) error {
	for {
		runs, steps, err := l.st.PruneRuns(ctx, cutoff, pruneBatch)
		if err != nil {
			return fmt.Errorf("pruning runs: %w", err)
		}
		res.Runs += runs
		res.Steps += steps
		if runs < pruneBatch {
			return nil
		}
	}
}

// pruneEvents removes events received before cutoff that no run refers to.
func (l *Log) pruneEvents(ctx context.Context, cutoff time.Time, res *PruneResult) error {
	for {
		n, err := l.st.PruneEvents(ctx, cutoff, pruneBatch)
		if err != nil {
			return fmt.Errorf("pruning events: %w", err)
		}
		res.Events += n
		if n < pruneBatch {
			return nil
		}
	}
}
