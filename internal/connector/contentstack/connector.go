// Package contentstack is the Contentstack connector: it reacts to and acts
// on one Contentstack stack through the Content Management API.
//
// Connection: a region (NA, EU, AU, Azure NA/EU, GCP NA/EU) or a base_url
// override, the stack API key, a management token (stored encrypted) and an
// optional branch. Reads and writes have separate rate budgets and bulk
// actions their own (1/s), held before Contentstack enforces them; a 429
// pauses the whole connection and is waited out (or handed to the engine,
// which delays the step without using an attempt).
//
// Triggers: entry_events (webhook, verified with the RSA-PSS request
// signature against the region's published key, or HMAC) and poll (on
// updated_at). Actions read, query, create, update (partial and
// version-aware), upsert (by field value or by link, idempotent), delete,
// publish and unpublish (following the asynchronous publish), bulk publish,
// set workflow stages and read schemas, workflows and environments. Setup
// verifies the credentials, lists what the mapping editor needs and
// registers the webhook.
//
// Echo recognition: every write reports the entry's reference
// (contentstack:entry/<content_type>/<uid>) and a hash computed exactly as
// entry_events computes it for the webhook the same change produces
// (TestWriteHashMatchesWebhookEvent).
package contentstack

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/contentstack/contentstackapi"
	"github.com/patchbay/patchbay/internal/fault"
)

func init() { connector.Register(Connector{}) }

// Connector is the Contentstack connector.
type Connector struct{}

// Spec implements connector.Connector.
func (Connector) Spec() *connector.Spec { return spec }

// Name is the connector's name.
const Name = "contentstack"

// RefPrefix starts every entry reference.
const RefPrefix = "contentstack:entry/"

// Ref is an entry's object reference.
func Ref(contentType, uid string) string { return RefPrefix + contentType + "/" + uid }

// ParseRef splits "contentstack:entry/<content_type>/<uid>".
func ParseRef(ref string) (contentType, uid string, ok bool) {
	rest, found := strings.CutPrefix(ref, RefPrefix)
	if !found {
		return "", "", false
	}
	contentType, uid, ok = strings.Cut(rest, "/")
	return contentType, uid, ok && contentType != "" && uid != "" && !strings.Contains(uid, "/")
}

// Conn is an opened Contentstack connection.
type Conn struct {
	name   string
	api    *contentstackapi.Client
	log    *slog.Logger
	now    func() time.Time
	set    settings
	caches caches
	idem   *idemCache
}

// settings are the connection values Open read.
type settings struct {
	verify       string // signature | hmac | none
	hmacSecrets  []string
	token        string // custom header secret
	maxAge       time.Duration
	concise      bool
	refetch      string // auto | always | never
	publishWait  time.Duration
	branch       string
	webhookName  string
	schemaMaxAge time.Duration
}

// TokenHeader carries the connection's webhook_token on deliveries
// (registered by setup as a custom header of the webhook destination).
const TokenHeader = "X-Patchbay-Webhook-Token"

// Open implements connector.Connector. It does not call Contentstack.
func (Connector) Open(_ context.Context, cfg connector.Config) (connector.Conn, error) {
	v := values(cfg.Values)
	region, ok := contentstackapi.LookupRegion(v.str("region"))
	if !ok {
		return nil, fault.Errorf(fault.Invalid, "contentstack: unknown region %q (one of %s)", v.str("region"), strings.Join(contentstackapi.RegionIDs(), ", "))
	}
	base, app := region.CMA, region.App
	if s := v.str("base_url"); s != "" {
		base = s
		app = s // a custom CMA host (the sandbox) serves the key too unless app_url says otherwise
	}
	if s := v.str("app_url"); s != "" {
		app = s
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	api, err := contentstackapi.New(contentstackapi.Options{
		BaseURL: base, AppURL: app,
		APIKey: v.str("api_key"), ManagementToken: v.str("management_token"), Branch: v.str("branch"),
		ReadRate: v.num("read_rate"), WriteRate: v.num("write_rate"), BulkRate: v.num("bulk_rate"),
		Timeout: v.dur("timeout", 30*time.Second), Backoff: v.dur("rate_limit_backoff", time.Second),
		RateWait: v.dur("rate_limit_wait", 10*time.Second), Logger: log, Now: now,
		Redact: append([]string{v.str("webhook_token")}, strings.Split(v.str("hmac_secrets"), ",")...),
	})
	if err != nil {
		return nil, err
	}
	s := settings{
		verify: v.str("webhook_verify"), token: v.str("webhook_token"), maxAge: v.dur("webhook_max_age", 0),
		concise: v.boolean("concise_payload", true), refetch: v.str("refetch"), publishWait: v.dur("publish_wait", 20*time.Second),
		branch: v.str("branch"), webhookName: v.str("webhook_name"), schemaMaxAge: 5 * time.Minute,
	}
	if s.verify == "" {
		s.verify = "signature"
	}
	if s.refetch == "" {
		s.refetch = "auto"
	}
	if s.webhookName == "" {
		s.webhookName = "patchbay " + cfg.Name
	}
	for _, sec := range strings.Split(v.str("hmac_secrets"), ",") {
		if sec = strings.TrimSpace(sec); sec != "" {
			s.hmacSecrets = append(s.hmacSecrets, sec)
		}
	}
	if s.verify == "hmac" && len(s.hmacSecrets) == 0 {
		return nil, fault.Errorf(fault.Invalid, "contentstack: webhook_verify is hmac but hmac_secrets is empty")
	}
	return &Conn{name: cfg.Name, api: api, log: log, now: now, set: s, caches: newCaches(), idem: newIdemCache(4096)}, nil
}

// Close implements connector.Conn. The connection holds no goroutines.
func (c *Conn) Close() error { return nil }

// API returns the typed client (for tests and tools).
func (c *Conn) API() *contentstackapi.Client { return c.api }

// Test implements connector.Tester: the credentials can read the stack.
func (c *Conn) Test(ctx context.Context) error {
	if _, err := c.api.ContentTypes(ctx); err != nil {
		return fmt.Errorf("contentstack: checking credentials: %w", err)
	}
	return nil
}

type handler func(c *Conn, ctx context.Context, req *connector.Request) (*connector.Result, error)

var handlers = map[string]handler{
	"get_entry":          (*Conn).getEntry,
	"query_entries":      (*Conn).queryEntries,
	"create_entry":       (*Conn).createEntry,
	"update_entry":       (*Conn).updateEntry,
	"upsert_entry":       (*Conn).upsertEntry,
	"delete_entry":       (*Conn).deleteEntry,
	"publish_entry":      (*Conn).publishEntry,
	"unpublish_entry":    (*Conn).unpublishEntry,
	"bulk_publish":       (*Conn).bulkPublish,
	"set_workflow_stage": (*Conn).setWorkflowStage,
	"get_content_type":   (*Conn).getContentType,
	"list_content_types": (*Conn).listContentTypes,
	"list_workflows":     (*Conn).listWorkflows,
	"list_environments":  (*Conn).listEnvironments,
	"list_locales":       (*Conn).listLocales,
}

// Do implements connector.Conn.
func (c *Conn) Do(ctx context.Context, action string, req *connector.Request) (*connector.Result, error) {
	h, ok := handlers[action]
	if !ok {
		return nil, fault.Errorf(fault.Invalid, "contentstack: unknown action %q", action)
	}
	if req == nil {
		req = &connector.Request{}
	}
	if req.Input == nil {
		req.Input = map[string]any{}
	}
	if err := ctx.Err(); err != nil {
		return nil, fault.E(fault.Canceled, "contentstack: "+action, err)
	}
	return h(c, ctx, req)
}

// ---- settings ----

type values map[string]any

func (v values) str(k string) string {
	s, _ := v[k].(string)
	return strings.TrimSpace(s)
}

func (v values) num(k string) float64 {
	switch n := v[k].(type) {
	case float64:
		return n
	case int:
		return float64(n)
	case int64:
		return float64(n)
	}
	return 0
}

func (v values) dur(k string, def time.Duration) time.Duration {
	s := v.str(k)
	if s == "" {
		return def
	}
	d, err := connector.ParseDuration(s)
	if err != nil {
		return def
	}
	return d
}

func (v values) boolean(k string, def bool) bool {
	b, ok := v[k].(bool)
	if !ok {
		return def
	}
	return b
}

// ---- caches ----

// caches keep what changes rarely: schemas, workflows, environments,
// locales and the webhook signing key.
type caches struct {
	mu       sync.Mutex
	schemas  map[string]cached[*contentstackapi.ContentType]
	wfs      cached[[]contentstackapi.Workflow]
	envs     cached[[]contentstackapi.Environment]
	locales  cached[[]contentstackapi.Locale]
	key      cached[keyEntry]
	keyTried time.Time
}

type cached[T any] struct {
	val T
	at  time.Time
	ok  bool
}

func newCaches() caches {
	return caches{schemas: map[string]cached[*contentstackapi.ContentType]{}}
}

func (c *Conn) fresh(at time.Time, ok bool, maxAge time.Duration) bool {
	return ok && c.now().Sub(at) < maxAge
}

// contentType returns a content type's schema (cached for a few minutes).
func (c *Conn) contentType(ctx context.Context, uid string, refresh bool) (*contentstackapi.ContentType, error) {
	c.caches.mu.Lock()
	e := c.caches.schemas[uid]
	c.caches.mu.Unlock()
	if !refresh && c.fresh(e.at, e.ok, c.set.schemaMaxAge) {
		return e.val, nil
	}
	ct, err := c.api.ContentType(ctx, uid)
	if err != nil {
		return nil, err
	}
	c.caches.mu.Lock()
	c.caches.schemas[uid] = cached[*contentstackapi.ContentType]{val: ct, at: c.now(), ok: true}
	c.caches.mu.Unlock()
	return ct, nil
}

func (c *Conn) workflows(ctx context.Context, refresh bool) ([]contentstackapi.Workflow, error) {
	c.caches.mu.Lock()
	e := c.caches.wfs
	c.caches.mu.Unlock()
	if !refresh && c.fresh(e.at, e.ok, time.Minute) {
		return e.val, nil
	}
	wfs, err := c.api.Workflows(ctx)
	if err != nil {
		return nil, err
	}
	c.caches.mu.Lock()
	c.caches.wfs = cached[[]contentstackapi.Workflow]{val: wfs, at: c.now(), ok: true}
	c.caches.mu.Unlock()
	return wfs, nil
}

func (c *Conn) environments(ctx context.Context, refresh bool) ([]contentstackapi.Environment, error) {
	c.caches.mu.Lock()
	e := c.caches.envs
	c.caches.mu.Unlock()
	if !refresh && c.fresh(e.at, e.ok, 5*time.Minute) {
		return e.val, nil
	}
	envs, err := c.api.Environments(ctx)
	if err != nil {
		return nil, err
	}
	c.caches.mu.Lock()
	c.caches.envs = cached[[]contentstackapi.Environment]{val: envs, at: c.now(), ok: true}
	c.caches.mu.Unlock()
	return envs, nil
}

func (c *Conn) locales(ctx context.Context) ([]contentstackapi.Locale, error) {
	c.caches.mu.Lock()
	e := c.caches.locales
	c.caches.mu.Unlock()
	if c.fresh(e.at, e.ok, 5*time.Minute) {
		return e.val, nil
	}
	ls, err := c.api.Locales(ctx)
	if err != nil {
		return nil, err
	}
	c.caches.mu.Lock()
	c.caches.locales = cached[[]contentstackapi.Locale]{val: ls, at: c.now(), ok: true}
	c.caches.mu.Unlock()
	return ls, nil
}

// resolveEnvironments maps environment names or uids to environments,
// refreshing the cache once when one is unknown.
func (c *Conn) resolveEnvironments(ctx context.Context, names []string) ([]contentstackapi.Environment, error) {
	for attempt := 0; ; attempt++ {
		envs, err := c.environments(ctx, attempt > 0)
		if err != nil {
			return nil, err
		}
		var out []contentstackapi.Environment
		var missing []string
		for _, n := range names {
			found := false
			for _, e := range envs {
				if e.Name == n || e.UID == n {
					out = append(out, e)
					found = true
					break
				}
			}
			if !found {
				missing = append(missing, n)
			}
		}
		if len(missing) == 0 {
			return out, nil
		}
		if attempt > 0 {
			known := make([]string, len(envs))
			for i, e := range envs {
				known[i] = e.Name
			}
			return nil, fault.Errorf(fault.Invalid, "contentstack: unknown environment %s (the stack has %s)", strings.Join(missing, ", "), strings.Join(known, ", "))
		}
	}
}

func (c *Conn) envName(ctx context.Context, uid string) string {
	envs, err := c.environments(ctx, false)
	if err != nil {
		return ""
	}
	for _, e := range envs {
		if e.UID == uid {
			return e.Name
		}
	}
	return ""
}

// idemCache remembers which entry a create with an idempotency key made,
// so a step re-executed in this process finds it instead of creating a
// second one. Bounded; the oldest half is dropped when full.
type idemCache struct {
	mu    sync.Mutex
	max   int
	m     map[string]string
	order []string
}

func newIdemCache(max int) *idemCache { return &idemCache{max: max, m: map[string]string{}} }

func (ic *idemCache) get(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	ic.mu.Lock()
	defer ic.mu.Unlock()
	v, ok := ic.m[key]
	return v, ok
}

func (ic *idemCache) put(key, ref string) {
	if key == "" {
		return
	}
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if _, ok := ic.m[key]; !ok {
		ic.order = append(ic.order, key)
	}
	ic.m[key] = ref
	if len(ic.order) > ic.max {
		drop := ic.order[:len(ic.order)/2]
		for _, k := range drop {
			delete(ic.m, k)
		}
		ic.order = append([]string(nil), ic.order[len(ic.order)/2:]...)
	}
}
