package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/audit"
	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/engine"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/ingest"
	"github.com/patchbay/patchbay/internal/link"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/store"
)

// EnvAudit turns the audit trail off ("off"); it is on by default. Links
// and echo suppression work either way.
const EnvAudit = "PATCHBAY_AUDIT"

// EnvRetainEvery is how often the retention policy runs (default 1h).
const EnvRetainEvery = "PATCHBAY_RETAIN_EVERY"

// installAudit wires the audit trail and the links into the engine, the
// ingest and the user operations, and schedules retention.
func (a *App) installAudit() {
	links := link.New(a.Store)
	obs := &observer{links: links}
	a.audit = audit.New(a.Store)
	a.audit.SetKey(audit.SealedKey(a.Store, a.Keys))
	if !strings.EqualFold(strings.TrimSpace(os.Getenv(EnvAudit)), "off") {
		obs.rec = audit.NewRecorder(a.audit, a.Flows)
		a.SetUserObserver(obs)
	}
	a.Engine.SetObserver(obs)
	a.Ingest.SetObserver(obs)
	if a.cfg.Role == RoleAll || a.cfg.Role == RoleWorker {
		a.Queue.Handle(queue.KindChore, a.workChore)
		policy, err := audit.PolicyFromEnv()
		if err != nil {
			a.log.Error("retention policy ignored", "error", err)
			return
		}
		if policy.Empty() {
			return
		}
		every := time.Hour
		if s := os.Getenv(EnvRetainEvery); s != "" {
			if d, err := connector.ParseDuration(s); err == nil && d > 0 {
				every = d
			}
		}
		a.Queue.SetPeriodic("audit", []queue.Periodic{{ID: choreAuditPrune, Schedule: queue.Every(every),
			Job: queue.Job{Kind: queue.KindChore, Payload: chore{Chore: choreAuditPrune}, Unique: true}}})
		a.log.Info("retention policy in force", "audit", policy.Audit, "runs", policy.Runs, "events", policy.Events, "every", every)
	}
}

const choreAuditPrune = "audit.prune"

// chore is the payload of a chore job.
type chore struct {
	Chore string `json:"chore"`
}

func (a *App) workChore(ctx context.Context, job *queue.Info) error {
	var c chore
	if err := json.Unmarshal(job.Payload, &c); err != nil {
		a.log.Error("dropping malformed chore job", "job_id", job.ID, "error", err)
		return nil
	}
	switch c.Chore {
	case choreAuditPrune:
		policy, err := audit.PolicyFromEnv()
		if err != nil || policy.Empty() {
			return nil
		}
		res, err := a.AuditPrune(ctx, policy)
		if err != nil {
			return err
		}
		a.log.Info("retention pruned history", "audit_entries", res.Entries, "runs", res.Runs, "steps", res.Steps, "events", res.Events)
		return nil
	}
	a.log.Warn("dropping chore job of unknown kind", "job_id", job.ID, "chore", c.Chore)
	return nil
}

// observer is the engine, ingest and user-action observer: it keeps links
// current and recognises echoes, and (unless auditing is off) records the
// audit trail, all inside the observed transactions.
type observer struct {
	links *link.Links
	rec   *audit.Recorder // nil: auditing off
}

var (
	_ engine.Observer       = (*observer)(nil)
	_ engine.CommitPreparer = (*observer)(nil)
	_ engine.WriteNoter     = (*observer)(nil)
	_ engine.LinkReader     = (*observer)(nil)
	_ ingest.Observer       = (*observer)(nil)
	_ UserObserver          = (*observer)(nil)
)

func (o *observer) StepsCommitted(ctx context.Context, tx store.Tx, c *engine.Commit) error {
	for _, w := range c.Writes {
		runID := ""
		if c.Run != nil {
			runID = c.Run.ID
		}
		if err := o.links.Written(ctx, tx, link.Write{Object: w.Write.Object, Version: w.Write.Version, Hash: w.Write.Hash,
			Run: runID, Step: w.StepID, Link: w.Link}); err != nil {
			return err
		}
	}
	if o.rec == nil {
		return nil
	}
	return o.rec.Commit(ctx, tx, c)
}

// WritesReported notes writes before their step commits, so their
// webhooks are recognised as echoes even when they overtake the commit.
func (o *observer) WritesReported(run *store.Run, step string, writes []connector.Write) {
	ws := make([]link.Write, 0, len(writes))
	for _, w := range writes {
		ws = append(ws, link.Write{Object: w.Object, Version: w.Version, Hash: w.Hash, Run: run.ID, Step: step})
	}
	o.links.InFlight(ws...)
}

// PrepareCommit builds the commit's audit entries before its transaction.
func (o *observer) PrepareCommit(ctx context.Context, c *engine.Commit) {
	if o.rec != nil {
		c.Prepared = o.rec.PrepareCommit(ctx, c)
	}
}

func (o *observer) ReadLink(ctx context.Context, key string) (*connector.Link, error) {
	return o.links.ReadLink(ctx, key)
}

func (o *observer) Echo(ctx context.Context, tx store.Tx, ev *store.Event) (bool, string, string, error) {
	echo, reason, writer, err := o.links.Echo(ctx, tx, ev)
	if err != nil || !echo {
		return false, "", "", err
	}
	if o.rec != nil {
		if err := o.rec.Echo(ctx, tx, ev, reason, writer); err != nil {
			return false, "", "", err
		}
	}
	return true, reason, writer, nil
}

func (o *observer) Accepted(ctx context.Context, tx store.Tx, ev *store.Event, runs []*store.Run, resumed []*store.Wait) error {
	if o.rec == nil {
		return nil
	}
	return o.rec.Accepted(ctx, tx, ev, runs, resumed)
}

func (o *observer) Rejected(ctx context.Context, tx store.Tx, ev *store.Event) error {
	if o.rec == nil {
		return nil
	}
	return o.rec.Rejected(ctx, tx, ev)
}

func (o *observer) Duplicate(ctx context.Context, tx store.Tx, prev *store.Event) error {
	if o.rec == nil {
		return nil
	}
	return o.rec.Duplicate(ctx, tx, prev)
}

func (o *observer) UserAction(ctx context.Context, tx store.Tx, actor, action, object string, details map[string]any) error {
	if o.rec == nil {
		return nil
	}
	return o.rec.User(ctx, tx, actor, action, object, details)
}

// AuditList returns the audit entries touching object (all entries when
// empty) made since since, oldest first.
func (a *App) AuditList(ctx context.Context, object string, since time.Time, limit int) ([]*audit.Entry, error) {
	return a.audit.List(ctx, audit.Filter{Object: object, Since: since, Limit: limit})
}

// AuditVerify walks the audit chains and reports the first broken link.
func (a *App) AuditVerify(ctx context.Context) (*audit.Report, error) {
	return a.audit.Verify(ctx)
}

// AuditExport writes the audit entries touching object (all when empty)
// since since as JSON lines and returns how many it wrote.
func (a *App) AuditExport(ctx context.Context, w io.Writer, since time.Time, object string) (int, error) {
	return a.audit.Export(ctx, w, audit.Filter{Object: object, Since: since})
}

// AuditPrune applies a retention policy now.
func (a *App) AuditPrune(ctx context.Context, p audit.Policy) (*audit.PruneResult, error) {
	return a.audit.Prune(ctx, p)
}

// LinksFor returns the link group object belongs to (nil when none).
func (a *App) LinksFor(ctx context.Context, object string) (*link.Group, error) {
	return link.New(a.Store).Lookup(ctx, a.Store.Reader(), object)
}

// auditRoutes mounts GET /api/v1/audit, /api/v1/audit/verify and
// /api/v1/links with routes' api helper (token check, errors by kind).
func (a *App) auditRoutes(api func(pattern string, h func(w http.ResponseWriter, r *http.Request) (any, error))) {
	api("GET /api/v1/audit", func(_ http.ResponseWriter, r *http.Request) (any, error) {
		q := r.URL.Query()
		since, err := parseSince(q.Get("since"), time.Now())
		if err != nil {
			return nil, err
		}
		limit, _ := strconv.Atoi(q.Get("limit"))
		es, err := a.AuditList(r.Context(), q.Get("object"), since, limit)
		if es == nil {
			es = []*audit.Entry{}
		}
		return es, err
	})
	api("GET /api/v1/audit/verify", func(_ http.ResponseWriter, r *http.Request) (any, error) { return a.AuditVerify(r.Context()) })
	api("GET /api/v1/links", func(_ http.ResponseWriter, r *http.Request) (any, error) {
		obj := r.URL.Query().Get("object")
		if obj == "" {
			return nil, fault.Errorf(fault.Invalid, "object is required")
		}
		g, err := a.LinksFor(r.Context(), obj)
		if err != nil {
			return nil, err
		}
		if g == nil {
			return nil, fault.Errorf(fault.NotFound, "%s is not linked", obj)
		}
		return g, nil
	})
}

// ParseSince reads a --since value: an RFC 3339 time, a date, or an age
// such as 24h or 7d counted back from now.
func ParseSince(s string) (time.Time, error) { return parseSince(s, time.Now()) }

func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	if d, err := connector.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fault.Errorf(fault.Invalid, "since %q: want an RFC 3339 time, a date (2006-01-02) or an age such as 24h or 7d", s)
}
