// Package opentext is the OpenText Workflow Service connector ("opentext"):
// start, read and act on BPMN process instances and their user tasks, deploy
// models, and follow processes to their end without polling per run.
//
// Two triggers feed waiting runs. process_events polls the history service
// once per connection — finished instances after a persisted cursor, new
// instances and tasks when flows ask for them — in pages, so a thousand runs
// waiting on a thousand processes cost a handful of queries, not a thousand.
// callback receives the POST a process model's HTTP task sends to
// /hooks/<connection>/callback, verified by a shared-secret header, for
// low latency. Both emit process.completed events with object
// opentext:process/<id> and the same data, so one wait can list both:
//
//	wait: {for: [ot.callback, ot.process_events], key: ${{ "opentext:process/" + steps.start.output.id }}}
//
// The REST client (OAuth2 tokens, HAL paging, error kinds) is in the
// opentextapi sub-package.
package opentext

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/opentext/opentextapi"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/httpclient"
)

func init() { connector.Register(Connector{}) }

// Connector is the opentext connector.
type Connector struct{}

// Spec implements connector.Connector.
func (Connector) Spec() *connector.Spec { return spec }

// Defaults that tests and docs refer to.
const (
	DefaultCallbackHeader = "X-Callback-Secret"
	DefaultIdemVariable   = "patchbay_idempotency_key"
	// PollInterval is how often the ingest polls process_events.
	PollInterval = 10 * time.Second
)

var spec = &connector.Spec{
	Name:  "opentext",
	Title: "OpenText Workflow Service",
	Doc: "Starts and follows OpenText Workflow Service (BPMN) processes: typed process variables, user tasks " +
		"(list, claim, complete with an outcome), comments, model deployment; process and task events by polling " +
		"the history service once per connection, and process callbacks posted by the model's HTTP task.",
	Connection: connectionFields,
	Triggers:   []connector.TriggerSpec{processEventsSpec, callbackSpec},
	Actions: []connector.ActionSpec{
		startProcessSpec, getProcessSpec, setVariablesSpec, addCommentSpec, terminateProcessSpec,
		listTasksSpec, getTaskSpec, claimTaskSpec, completeTaskSpec, deployModelSpec,
	},
}

var connectionFields = []connector.Field{
	{Name: "base_url", Type: connector.String, Required: true, Example: "https://na-1.api.opentext.com",
		Doc: "Region host of the OpenText developer cloud. Tokens come from <base_url>/tenants/<tenant_id>/oauth2/token and " +
			"the API is <base_url>/workflow/v1. For the sandbox, its URL."},
	{Name: "tenant_id", Type: connector.String, Required: true, Doc: "Tenant (organization) id; the token is issued under it."},
	{Name: "client_id", Type: connector.String, Required: true, Doc: "Confidential client id of the app registered in Admin Center."},
	{Name: "client_secret", Type: connector.String, Required: true, Secret: true, Doc: "Its client secret."},
	{Name: "username", Type: connector.String,
		Doc: "A tenant user to act as (password grant): tasks are claimed and completed, comments written as this person. " +
			"Empty: the client itself (client_credentials)."},
	{Name: "password", Type: connector.String, Secret: true, Doc: "The user's password (with username)."},
	{Name: "callback_secret", Type: connector.String, Secret: true,
		Doc: "Shared secret the process model's HTTP task sends in callback_header. The callback trigger rejects deliveries " +
			"without it; start_process with callback: true hands it to the process as the callback_secret variable."},
	{Name: "callback_header", Type: connector.String, Default: DefaultCallbackHeader, Doc: "Header carrying the callback secret."},
	{Name: "callback_url", Type: connector.String,
		Doc: "URL processes post callbacks to. Default: <patchbay public URL>/hooks/<connection>/callback; set it when " +
			"OpenText reaches patchbay through another address (a gateway, a tunnel)."},
	{Name: "token_url", Type: connector.String, Doc: "Overrides the token endpoint URL."},
	{Name: "workflow_url", Type: connector.String, Doc: "Overrides the workflow API root (<base_url>/workflow/v1)."},
	{Name: "rate", Type: connector.Number, Default: 20,
		Doc: "Requests per second patchbay allows itself (0: unlimited). OpenText's limit is not published; a 429 spike " +
			"arrest pauses the whole connection for its Retry-After."},
	{Name: "burst", Type: connector.Int, Default: 40, Doc: "Requests allowed at once above the rate."},
	{Name: "timeout", Type: connector.Duration, Default: "30s", Doc: "Bound on one HTTP request."},
	{Name: "page_size", Type: connector.Int, Default: 250,
		Doc: "Items per page when polling history (count; the service's default is 10, its maximum is not published)."},
	{Name: "poll_overlap", Type: connector.Duration, Default: "2s",
		Doc: "How far back each history poll re-reads, so an instance whose end committed late is not missed; repeats are recognised by id."},
	{Name: "late_wait_lookback", Type: connector.Duration, Default: "15m",
		Doc: "When runs start waiting on processes the poller has not watched before, it looks this far back for ones that " +
			"already finished (a process can end before its run parks). 0 turns it off."},
	{Name: "idempotency_variable", Type: connector.String, Default: DefaultIdemVariable,
		Doc: "Process variable start_process stores the step's idempotency key in, so a re-executed step finds its instance instead of starting another. Empty: not stored."},
	{Name: "hidden_variables", Type: connector.List, Items: &connector.Field{Type: connector.String}, Default: []any{"callback_secret"},
		Doc: "Process variables never copied into outputs or events. Values equal to a secret of the connection are masked in any case."},
	{Name: "outcome_variable", Type: connector.String, Default: "outcome",
		Doc: "Variable copied to data.outcome of process events (the approval task's outcome variable)."},
	{Name: "setup_models", Type: connector.List, Items: &connector.Field{Type: connector.String, Enum: []any{"media_review"}},
		Doc: "Bundled models `patchbay connection setup` deploys when missing or changed (media_review)."},
}

// Conn is an opened opentext connection.
type Conn struct {
	cfg      connector.Config
	api      *opentextapi.Client
	log      *slog.Logger
	now      func() time.Time
	secrets  []string
	hidden   map[string]bool
	idemVar  string
	outVar   string
	pageSize int
	overlap  time.Duration
	lookback time.Duration

	mu    sync.Mutex
	known map[string]bool // awaited keys the poller has looked back for
}

// Open implements connector.Connector.
func (Connector) Open(_ context.Context, cfg connector.Config) (connector.Conn, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	c := &Conn{cfg: cfg, log: log.With("connector", "opentext", "connection", cfg.Name), now: now,
		hidden: map[string]bool{}, idemVar: cfg.String("idempotency_variable"), outVar: cfg.String("outcome_variable"),
		pageSize: intSetting(cfg, "page_size", 250), known: map[string]bool{}}
	if _, set := cfg.Values["idempotency_variable"]; !set {
		c.idemVar = DefaultIdemVariable
	}
	if _, set := cfg.Values["outcome_variable"]; !set {
		c.outVar = "outcome"
	}
	var err error
	if c.overlap, err = durSetting(cfg, "poll_overlap", 2*time.Second); err != nil {
		return nil, err
	}
	if c.lookback, err = durSetting(cfg, "late_wait_lookback", 15*time.Minute); err != nil {
		return nil, err
	}
	timeout, err := durSetting(cfg, "timeout", 30*time.Second)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"client_secret", "password", "callback_secret"} {
		if s := cfg.String(name); len(s) >= 4 {
			c.secrets = append(c.secrets, s)
		}
	}
	hidden, ok := cfg.Values["hidden_variables"].([]any)
	if !ok {
		hidden = []any{"callback_secret"}
	}
	for _, h := range hidden {
		c.hidden[fmt.Sprint(h)] = true
	}
	if c.pageSize <= 0 {
		c.pageSize = 250
	}
	rate := floatSetting(cfg, "rate", 20)
	hc := httpclient.New(httpclient.Options{Name: "opentext", Timeout: timeout, Rate: rate, Burst: intSetting(cfg, "burst", 40),
		DecodeError: opentextapi.DecodeError, Secrets: c.secrets, Logger: c.log, Now: cfg.Now})
	c.api, err = opentextapi.New(opentextapi.Config{
		BaseURL: cfg.String("base_url"), TenantID: cfg.String("tenant_id"), ClientID: cfg.String("client_id"),
		ClientSecret: cfg.String("client_secret"), Username: cfg.String("username"), Password: cfg.String("password"),
		TokenURL: cfg.String("token_url"), WorkflowURL: cfg.String("workflow_url"), HTTP: hc, Now: now,
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// API returns the typed client (for tests and tools).
func (c *Conn) API() *opentextapi.Client { return c.api }

// Close implements connector.Conn.
func (c *Conn) Close() error { return nil }

// Test implements connector.Tester: it gets a token and reads one model.
func (c *Conn) Test(ctx context.Context) error {
	if _, err := c.api.Token(ctx); err != nil {
		return err
	}
	_, err := c.api.ListModels(ctx, opentextapi.ModelQuery{Paging: opentextapi.Paging{Count: 1}})
	return err
}

type actionFunc func(c *Conn, ctx context.Context, req *connector.Request) (*connector.Result, error)

var actions = map[string]actionFunc{
	"start_process":     (*Conn).startProcess,
	"get_process":       (*Conn).getProcess,
	"set_variables":     (*Conn).setVariables,
	"add_comment":       (*Conn).addComment,
	"terminate_process": (*Conn).terminateProcess,
	"list_tasks":        (*Conn).listTasks,
	"get_task":          (*Conn).getTask,
	"claim_task":        (*Conn).claimTask,
	"complete_task":     (*Conn).completeTask,
	"deploy_model":      (*Conn).deployModel,
}

// Do implements connector.Conn.
func (c *Conn) Do(ctx context.Context, action string, req *connector.Request) (*connector.Result, error) {
	fn, ok := actions[action]
	if !ok {
		return nil, fault.Errorf(fault.Invalid, "opentext: unknown action %q", action)
	}
	if err := ctx.Err(); err != nil {
		return nil, fault.E(fault.Canceled, "opentext."+action, err)
	}
	if req.Input == nil {
		req.Input = map[string]any{}
	}
	return fn(c, ctx, req)
}

// CallbackURL is where processes post callbacks for this connection.
func (c *Conn) CallbackURL() string {
	if u := c.cfg.String("callback_url"); u != "" {
		return u
	}
	base := strings.TrimRight(c.cfg.PublicURL, "/")
	if base == "" {
		return ""
	}
	return base + "/hooks/" + url.PathEscape(c.cfg.Name) + "/callback"
}

// ---- settings ----

func intSetting(cfg connector.Config, name string, def int) int {
	switch v := cfg.Values[name].(type) {
	case int:
		return v
	case int64:
		return int(v)
	case float64:
		return int(v)
	}
	return def
}

func floatSetting(cfg connector.Config, name string, def float64) float64 {
	switch v := cfg.Values[name].(type) {
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case float64:
		return v
	}
	return def
}

func durSetting(cfg connector.Config, name string, def time.Duration) (time.Duration, error) {
	s, ok := cfg.Values[name].(string)
	if !ok || s == "" {
		return def, nil
	}
	d, err := connector.ParseDuration(s)
	if err != nil {
		return 0, fault.Errorf(fault.Invalid, "opentext: %s: %v", name, err)
	}
	return d, nil
}
