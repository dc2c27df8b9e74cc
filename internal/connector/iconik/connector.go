// Package iconik is the iconik connector: flows react to changes in an
// iconik tenant (webhooks, a search-based poll for tenants without
// webhooks, custom actions) and act on it (assets, metadata, approvals,
// collections, shares, comments, jobs, history, archive and delete).
//
// Every write reports the object it changed and a content hash built so
// that the webhook iconik sends for the same change hashes the same (see
// hash.go): the echo of patchbay's own write is recognisable. Writes are
// idempotent under re-execution of a step: they read before they write and
// skip what is already done, find or create by a stable key (external_id,
// title under a parent, the step's link), or store the step's idempotency
// key with the object where iconik has a place for it (a comment's
// external_id, a job's metadata, a history entry's description).
//
// The REST client is package iconikapi.
package iconik

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/iconik/iconikapi"
	"github.com/patchbay/patchbay/internal/fault"
)

func init() {
	byName = make(map[string]*action, len(actions))
	for _, a := range actions {
		byName[a.spec.Name] = a
		spec.Actions = append(spec.Actions, a.spec)
	}
	connector.Register(Connector{})
}

// Connector is the iconik connector.
type Connector struct{}

// action is one action: its declared spec and its implementation.
type action struct {
	spec connector.ActionSpec
	run  func(c *Conn, ctx context.Context, req *connector.Request) (*connector.Result, error)
}

// actions lists every action in the order the docs show them.
var actions = []*action{
	&actGetAsset, &actSearchAssets, &actCreateAsset, &actUpdateAsset, &actBlockAsset,
	&actGetMetadata, &actSetMetadata,
	&actGetApproval, &actSetApproval, &actRequestApproval,
	&actCreateCollection, &actFindOrCreateCollection, &actAddToCollection, &actRemoveFromCollection,
	&actCreateShare, &actDeleteShare,
	&actGetMediaURLs, &actAddComment,
	&actCreateJob, &actUpdateJob, &actAddHistory,
	&actArchiveAsset, &actRestoreArchivedAsset, &actDeleteAsset, &actRestoreAsset, &actPurgeAsset,
}

var byName map[string]*action

const str = connector.String

var spec = &connector.Spec{
	Name:  "iconik",
	Title: "iconik",
	Doc: "Media asset management in iconik: react to asset, metadata, approval, collection and job changes " +
		"(webhooks, or a search poll where webhooks are not allowed, and custom actions), and read and write " +
		"assets, metadata, approvals, collections, shares, comments, jobs and history.",
	Connection: []connector.Field{
		{Name: "base_url", Type: str, Default: iconikapi.DefaultBaseURL,
			Doc: "The tenant's iconik address (the API is below /API/). US: https://app.iconik.io. EU: https://eu.iconik.io (UNCONFIRMED as an API base; check with your tenant)."},
		{Name: "app_id", Type: str, Required: true, Secret: true, Example: "6f1e0c9a-3b7d-4c2e-9a41-5d8f2b7c1e01",
			Doc: "Application id (iconik Admin > Settings > Application Tokens), sent as App-ID."},
		{Name: "auth_token", Type: str, Required: true, Secret: true,
			Doc: "The application's token, sent as Auth-Token. Give its user the roles the actions need (can_write_metadata_values, can_write_webhooks, can_purge_assets…)."},
		{Name: "rate", Type: connector.Number, Default: iconikapi.DefaultRate,
			Doc: "Requests per second patchbay allows itself on this connection, before iconik's own limit (said to be about 50 per application, UNCONFIRMED). A 429 pauses the whole connection for its Retry-After."},
		{Name: "burst", Type: connector.Int, Default: 4, Doc: "Requests that may go at once after a quiet spell (the token bucket's size)."},
		{Name: "timeout", Type: connector.Duration, Default: "30s", Doc: "Bound on one HTTP request."},
		{Name: "webhook_secret", Type: str, Secret: true,
			Doc: "Shared secret iconik sends in webhook_header with every webhook and custom action call; setup registers it with them. Deliveries without it are rejected (401). Required for the webhook triggers."},
		{Name: "webhook_header", Type: str, Default: "X-Patchbay-Secret", Doc: "Header carrying webhook_secret."},
		{Name: "webhook_events", Type: connector.List, Items: &connector.Field{Type: str, Enum: []any{"assets", "collections", "jobs"}},
			Default: []any{"assets", "collections", "jobs"},
			Doc:     "iconik event types setup subscribes asset_events to (one webhook definition each); deliveries of other types are ignored."},
		{Name: "webhook_realms", Type: connector.List, Items: &connector.Field{Type: str},
			Doc: "Realms to subscribe to and accept (entity, versions, metadata, approvals, segments, shares, contents, formats, files, proxies, keyframes). Empty: all."},
		{Name: "webhook_query", Type: str, Example: `realm="metadata" AND data.metadata_view_id="9a1f…"`,
			Doc: "iconik event filter (its query language: field op value, AND/OR, regex) setup puts on every webhook definition, so iconik sends only matching events: narrow by operation, metadata view, status…"},
		{Name: "system_domain_id", Type: str,
			Doc: "The tenant's id (setup reports it). When set, deliveries from another tenant are rejected."},
		{Name: "metadata_view", Type: str, Example: "patchbay",
			Doc: "Metadata view (name or id) metadata is read and written through when an action names none. Empty: read and write without a view, which iconik allows admins only."},
		{Name: "custom_actions", Type: connector.List, Items: &connector.Field{Type: connector.Object, Fields: []connector.Field{
			{Name: "title", Type: str, Required: true, Doc: "The menu entry users see."},
			{Name: "context", Type: str, Default: "ASSET", Enum: []any{"ASSET", "ASSET_SUBCLIP", "SHARED_ASSET", "COLLECTION", "SHARED_COLLECTION", "BULK", "SAVED_SEARCH", "NONE"}, Doc: "Where iconik offers it."},
		}}, Doc: "Custom actions setup registers (or repairs) in iconik, posting to the custom_action trigger with the webhook secret."},
		{Name: "poll_lag", Type: connector.Duration, Default: "10s",
			Doc: "The poll trigger only reads changes older than this, so iconik's search index has caught up (the index delay is UNCONFIRMED)."},
		{Name: "poll_page_size", Type: connector.Int, Default: 100, Doc: "Assets per search page for the poll trigger (at most 500)."},
	},
	Triggers: []connector.TriggerSpec{assetEventsTrigger, pollTrigger, customActionTrigger},
}

// Spec implements connector.Connector.
func (Connector) Spec() *connector.Spec { return spec }

// settings are the connection's options, parsed once.
type settings struct {
	webhookSecret  string
	webhookHeader  string
	webhookEvents  []string
	webhookRealms  []string
	webhookQuery   string
	systemDomainID string
	metadataView   string
	appID          string
	customActions  []customActionSetting
	pollLag        time.Duration
	pollPageSize   int
}

type customActionSetting struct {
	Title, Context string
}

// Conn is an opened iconik connection.
type Conn struct {
	name string
	api  *iconikapi.Client
	set  settings
	log  *slog.Logger
	now  func() time.Time

	mu      sync.Mutex
	views   []iconikapi.View
	viewsAt time.Time
	selfID  string
}

// Open implements connector.Connector. It makes no call to iconik.
func (Connector) Open(_ context.Context, cfg connector.Config) (connector.Conn, error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout, _ := connector.ParseDuration(cfg.String("timeout"))
	api, err := iconikapi.New(iconikapi.Options{
		BaseURL: cfg.String("base_url"), AppID: cfg.String("app_id"), AuthToken: cfg.String("auth_token"),
		Rate: number(cfg.Values["rate"]), Burst: int(number(cfg.Values["burst"])), Timeout: timeout,
		Logger: log, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	s := settings{
		webhookSecret: cfg.String("webhook_secret"), webhookHeader: cfg.String("webhook_header"),
		webhookEvents: stringList(cfg.Values["webhook_events"]), webhookRealms: stringList(cfg.Values["webhook_realms"]),
		webhookQuery: cfg.String("webhook_query"), systemDomainID: cfg.String("system_domain_id"), metadataView: cfg.String("metadata_view"),
		appID: cfg.String("app_id"), pollPageSize: int(number(cfg.Values["poll_page_size"])),
	}
	if s.webhookHeader == "" {
		s.webhookHeader = "X-Patchbay-Secret"
	}
	if cfg.Values["webhook_events"] == nil {
		s.webhookEvents = []string{"assets", "collections", "jobs"}
	}
	if d, err := connector.ParseDuration(cfg.String("poll_lag")); err == nil {
		s.pollLag = d
	} else if cfg.String("poll_lag") == "" {
		s.pollLag = 10 * time.Second
	}
	if s.pollPageSize <= 0 {
		s.pollPageSize = 100
	}
	s.pollPageSize = min(s.pollPageSize, 500)
	if list, ok := cfg.Values["custom_actions"].([]any); ok {
		for _, it := range list {
			m, _ := it.(map[string]any)
			title, _ := m["title"].(string)
			ctxName, _ := m["context"].(string)
			if title == "" {
				return nil, fault.Errorf(fault.Invalid, "iconik: custom_actions: every entry needs a title")
			}
			if ctxName == "" {
				ctxName = "ASSET"
			}
			s.customActions = append(s.customActions, customActionSetting{Title: title, Context: ctxName})
		}
	}
	return &Conn{name: cfg.Name, api: api, set: s, log: log, now: now}, nil
}

// Close implements connector.Conn.
func (c *Conn) Close() error { return nil }

// Do implements connector.Conn.
func (c *Conn) Do(ctx context.Context, name string, req *connector.Request) (*connector.Result, error) {
	a := byName[name]
	if a == nil {
		return nil, fault.Errorf(fault.Invalid, "iconik: no action %q", name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fault.E(fault.Canceled, "iconik "+name, err)
	}
	if req == nil {
		req = &connector.Request{}
	}
	if req.Input == nil {
		req.Input = map[string]any{}
	}
	res, err := a.run(c, ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return res, nil
}

// Test implements connector.Tester: the credentials are checked.
func (c *Conn) Test(ctx context.Context) error {
	return c.api.CheckToken(ctx)
}

// self returns the id of the user the token belongs to (cached).
func (c *Conn) self(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.selfID
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	u, err := c.api.CurrentUser(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.selfID = u.ID
	c.mu.Unlock()
	return u.ID, nil
}

// ---- input helpers (input is already checked against the spec) ----

func number(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case int:
		return float64(n)
	case int64:
		return float64(n)
	case float32:
		return float64(n)
	}
	return 0
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, x := range list {
		if s, ok := x.(string); ok && s != "" {
			out = append(out, s)
		}
	}
	return out
}

func inStr(in map[string]any, k string) string {
	s, _ := in[k].(string)
	return strings.TrimSpace(s)
}

func inBool(in map[string]any, k string) bool {
	b, _ := in[k].(bool)
	return b
}

func inInt(in map[string]any, k string) (int64, bool) {
	v, ok := in[k]
	if !ok || v == nil {
		return 0, false
	}
	return int64(number(v)), true
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// toList turns an input value into a list of metadata values.
func toList(v any) []any {
	switch x := v.(type) {
	case nil:
		return []any{}
	case []any:
		out := make([]any, 0, len(x))
		for _, e := range x {
			if e != nil {
				out = append(out, e)
			}
		}
		return out
	}
	return []any{v}
}

func invalid(format string, args ...any) error { return fault.Errorf(fault.Invalid, format, args...) }
