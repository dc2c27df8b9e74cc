// Package link keeps the links between records in different systems: an
// iconik asset, the Contentstack entry made from it and the OpenText process
// reviewing it share one link group. Each side remembers what patchbay last
// wrote to it (version or content hash, when, by which run), which is how an
// inbound event is recognised as patchbay's own write coming back (an echo)
// rather than a change made by a person.
//
// A side is one object reference; a group is the set of sides with the same
// group id. Sides are looked up by object, so a group is found from any of
// its members. Writes reported by connectors update the sides inside the
// engine's committing transaction; a write made by a step with a link key
// joins the written object to the key's group (merging groups when both
// already had one).
package link

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/id"
	"github.com/patchbay/patchbay/internal/store"
)

// Side is one linked object.
type Side struct {
	Object  string `json:"object"`
	Group   string `json:"group"`
	Version string `json:"version,omitempty"`
	Hash    string `json:"hash,omitempty"`
	recent  string // hashes of the last few writes, newest first
	// Run and Step made the last write.
	Run  string `json:"run,omitempty"`
	Step string `json:"step,omitempty"`
	// WrittenAt is when patchbay last wrote the object; ChangedAt when an
	// inbound event last showed a change patchbay did not make.
	WrittenAt time.Time `json:"written_at,omitzero"`
	ChangedAt time.Time `json:"changed_at,omitzero"`
	CreatedAt time.Time `json:"created_at"`
}

// Group is a link group.
type Group struct {
	ID    string `json:"group"`
	Sides []Side `json:"sides"`
}

// Side returns the group's side for object.
func (g *Group) Side(object string) (Side, bool) {
	if g == nil {
		return Side{}, false
	}
	for _, s := range g.Sides {
		if s.Object == object {
			return s, true
		}
	}
	return Side{}, false
}

// Links reads and writes link groups.
type Links struct {
	st  *store.Store
	now func() time.Time

	mu        sync.Mutex
	inFlight  map[string][]flying // object → writes reported, not yet recorded by Written
	lastSweep time.Time
}

// flying is a write a connector reported whose step may not have committed.
type flying struct {
	w  Write
	at time.Time
}

// inFlightTTL is how long a reported write is remembered before its commit
// records it on the side (commits take milliseconds; a stuck one seconds).
const inFlightTTL = 2 * time.Minute

// New returns the links of a store.
func New(st *store.Store) *Links { return &Links{st: st, now: st.Now} }

// InFlight notes writes a connector reported before the step that made them
// commits. A provider's webhook for such a write can overtake the commit;
// Echo then recognises it from this note. The note is in this process only:
// when webhooks reach a serve process and the write was made by a worker
// process, only the committed side is seen.
func (l *Links) InFlight(ws ...Write) {
	now := l.now().Truncate(time.Microsecond) // as sides store times
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight == nil {
		l.inFlight = map[string][]flying{}
	}
	// Written removes the notes of committed writes; what is left past the
	// TTL belongs to steps that never committed: forget those now and then.
	if now.Sub(l.lastSweep) >= inFlightTTL {
		l.lastSweep = now
		for obj, fs := range l.inFlight {
			if now.Sub(fs[len(fs)-1].at) >= inFlightTTL {
				delete(l.inFlight, obj)
			}
		}
	}
	for _, w := range ws {
		if w.Object == "" || (w.Hash == "" && w.Version == "") {
			continue
		}
		l.inFlight[w.Object] = append(l.inFlight[w.Object], flying{w, now})
	}
}

// flyingMatch returns the in-flight write ev shows, if any. A note older
// than the side's last recorded write is settled: its step committed (or a
// later write did), and the side decides.
func (l *Links) flyingMatch(ev *store.Event, s Side, hasSide bool) (Write, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.inFlight[ev.Object] {
		if now.Sub(f.at) >= inFlightTTL || (hasSide && !s.WrittenAt.Before(f.at)) {
			continue
		}
		if (ev.Hash != "" && f.w.Hash == ev.Hash) || (ev.Hash == "" && ev.Version != "" && f.w.Version == ev.Version) {
			return f.w, true
		}
	}
	return Write{}, false
}

const sideCols = `object, grp, version, hash, recent, run_id, step, written_at, changed_at, created_at`

// recentMax bounds pb_link_sides.recent: eight 64-character hashes and
// their separators.
const recentMax = "520"

func scanSide(r interface{ Scan(...any) error }) (Side, error) {
	var s Side
	var w, c, cr int64
	err := r.Scan(&s.Object, &s.Group, &s.Version, &s.Hash, &s.recent, &s.Run, &s.Step, &w, &c, &cr)
	s.WrittenAt, s.ChangedAt, s.CreatedAt = store.FromMicros(w), store.FromMicros(c), store.FromMicros(cr)
	return s, err
}

// side returns the side of object, or false.
func side(ctx context.Context, q store.Querier, object string) (Side, bool, error) {
	s, err := scanSide(q.QueryRow(ctx, `SELECT `+sideCols+` FROM pb_link_sides WHERE object = ?`, object))
	if errors.Is(err, store.ErrNotFound) {
		return Side{}, false, nil
	}
	if err != nil {
		return Side{}, false, fmt.Errorf("reading link of %s: %w", object, err)
	}
	return s, true, nil
}

// Lookup returns the group object belongs to, or nil when it has none.
func (l *Links) Lookup(ctx context.Context, q store.Querier, object string) (*Group, error) {
	s, ok, err := side(ctx, q, object)
	if err != nil || !ok {
		return nil, err
	}
	rows, err := q.Query(ctx, `SELECT `+sideCols+` FROM pb_link_sides WHERE grp = ? ORDER BY created_at, object`, s.Group)
	if err != nil {
		return nil, fmt.Errorf("reading link group: %w", err)
	}
	defer rows.Close()
	g := &Group{ID: s.Group}
	for rows.Next() {
		side, err := scanSide(rows)
		if err != nil {
			return nil, fmt.Errorf("reading link group: %w", err)
		}
		g.Sides = append(g.Sides, side)
	}
	return g, rows.Err()
}

// ReadLink returns what patchbay knows of the group key belongs to, as
// connectors see it (engine.LinkReader).
func (l *Links) ReadLink(ctx context.Context, key string) (*connector.Link, error) {
	g, err := l.Lookup(ctx, l.st.Reader(), key)
	if err != nil {
		return nil, err
	}
	out := &connector.Link{Key: key}
	if g == nil {
		return out, nil
	}
	for _, s := range g.Sides {
		out.Sides = append(out.Sides, connector.LinkSide{Object: s.Object, Version: s.Version, Hash: s.Hash, At: s.WrittenAt})
	}
	return out, nil
}

// Link puts objects in one group (creating it, or merging the groups they
// already belong to) and returns its id.
func (l *Links) Link(ctx context.Context, tx store.Tx, objects ...string) (string, error) {
	grp := ""
	for _, o := range objects {
		if o == "" {
			continue
		}
		g, err := l.join(ctx, tx, o, grp)
		if err != nil {
			return "", err
		}
		grp = g
	}
	return grp, nil
}

// join puts object in group grp ("" for a new group unless it has one),
// merging its old group into grp, and returns the group.
func (l *Links) join(ctx context.Context, tx store.Tx, object, grp string) (string, error) {
	want := grp
	if want == "" {
		want = id.New()
	}
	var got string
	err := tx.QueryRow(ctx, `INSERT INTO pb_link_sides (object, grp, created_at) VALUES (?, ?, ?)
		ON CONFLICT (object) DO UPDATE SET object = excluded.object RETURNING grp`, object, want, store.Micros(l.now())).Scan(&got)
	if err != nil {
		return "", fmt.Errorf("linking %s: %w", object, err)
	}
	if grp == "" || got == grp {
		return got, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE pb_link_sides SET grp = ? WHERE grp = ?`, grp, got); err != nil {
		return "", fmt.Errorf("merging link groups: %w", err)
	}
	return grp, nil
}

// Write is a write patchbay made, as the links record it.
type Write struct {
	Object  string
	Version string
	Hash    string
	Run     string
	Step    string
	// Link is the step's link key: the written object joins its group.
	Link string
}

// Written records a write on its object's side (creating the side), and
// joins the object to the link key's group when the step named one.
func (l *Links) Written(ctx context.Context, tx store.Tx, w Write) error {
	if w.Object == "" {
		return nil
	}
	grp := ""
	if w.Link != "" && w.Link != w.Object {
		g, err := l.join(ctx, tx, w.Link, "")
		if err != nil {
			return err
		}
		grp = g
	}
	want := grp
	if want == "" {
		want = id.New()
	}
	at := l.now()
	now := store.Micros(at)
	var got string
	// recent keeps the last few written hashes (newest first) until an
	// outside change is seen; recentMax bytes hold about eight sha256 hex.
	err := tx.QueryRow(ctx, `INSERT INTO pb_link_sides (object, grp, version, hash, recent, run_id, step, written_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (object) DO UPDATE SET version = excluded.version, hash = excluded.hash, run_id = excluded.run_id,
			step = excluded.step, written_at = excluded.written_at,
			recent = CASE WHEN excluded.hash = '' THEN pb_link_sides.recent
				WHEN pb_link_sides.changed_at > pb_link_sides.written_at OR pb_link_sides.recent = '' THEN excluded.hash
				ELSE substr(excluded.hash || ' ' || pb_link_sides.recent, 1, `+recentMax+`) END
		RETURNING grp`, w.Object, want, w.Version, w.Hash, w.Hash, w.Run, w.Step, now, now).Scan(&got)
	if err != nil {
		return fmt.Errorf("recording write to %s: %w", w.Object, err)
	}
	if grp != "" && got != grp {
		if _, err := tx.Exec(ctx, `UPDATE pb_link_sides SET grp = ? WHERE grp = ?`, grp, got); err != nil {
			return fmt.Errorf("merging link groups: %w", err)
		}
	}
	l.settle(w.Object, at)
	return nil
}

// settle forgets the in-flight notes of object taken up to at: its side now
// records the write (flyingMatch would skip them anyway). Notes of writes
// still in flight, taken later, stay.
func (l *Links) settle(object string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs := slices.DeleteFunc(l.inFlight[object], func(f flying) bool { return !f.at.After(at) })
	if len(fs) == 0 {
		delete(l.inFlight, object)
	} else {
		l.inFlight[object] = fs
	}
}

// Echo reports whether an inbound event shows exactly what patchbay last
// wrote to its object (same content hash, or same version) with no other
// change seen since: patchbay's own write coming back. Otherwise, when the
// object is linked, it records that the object changed outside patchbay, so
// a later event showing patchbay's old content again is not taken for an
// echo. writer is the run that made the write an echo repeats.
func (l *Links) Echo(ctx context.Context, tx store.Tx, ev *store.Event) (echo bool, reason, writer string, err error) {
	if ev.Object == "" || (ev.Hash == "" && ev.Version == "") {
		return false, "", "", nil
	}
	s, ok, err := side(ctx, tx, ev.Object)
	if err != nil {
		return false, "", "", err
	}
	if f, fly := l.flyingMatch(ev, s, ok); fly {
		// The webhook overtook the commit of the step that wrote.
		what := "content hash " + f.Hash
		if ev.Hash == "" {
			what = "version " + f.Version
		}
		return true, fmt.Sprintf("matches the %s of a write patchbay made to %s moments ago (run %s, step %s), before its step committed",
			what, ev.Object, f.Run, f.Step), f.Run, nil
	}
	if !ok {
		return false, "", "", nil
	}
	earlier := ev.Hash != "" && s.Hash != ev.Hash && slices.Contains(strings.Fields(s.recent), ev.Hash)
	same := (ev.Hash != "" && s.Hash == ev.Hash) || earlier || (ev.Version != "" && s.Version == ev.Version)
	if same && !s.WrittenAt.IsZero() && !s.WrittenAt.Before(s.ChangedAt) {
		what := "content hash " + s.Hash
		switch {
		case earlier:
			what = "content hash " + ev.Hash + " (an earlier write)"
		case ev.Hash == "" || s.Hash != ev.Hash:
			what = "version " + s.Version
		}
		reason = fmt.Sprintf("matches the %s patchbay wrote to %s at %s (run %s, step %s)", what, s.Object,
			s.WrittenAt.Format(time.RFC3339), s.Run, s.Step)
		return true, reason, s.Run, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE pb_link_sides SET changed_at = ? WHERE object = ?`, store.Micros(l.now()), ev.Object); err != nil {
		return false, "", "", fmt.Errorf("recording change of %s: %w", ev.Object, err)
	}
	return false, "", "", nil
}
