// Package opentext is a local, stateful stand-in for OpenText Workflow
// Service (the Flowable-derived BPMN service of OpenText's developer cloud)
// that speaks its REST API as documented in ../shared/apis/opentext-workflow.md:
// the OAuth2 token endpoint under /tenants/{id}/oauth2/token and the
// /workflow/v1 runtime models, process instances, tasks and history, with
// the HAL list envelope, Flowable error bodies and Apigee gateway faults.
//
// Deployed models run on the BPMN-subset executor in the bpmn sub-package,
// so processes really wait on user tasks, branch on gateways, fire timers
// and call back into patchbay through HTTP tasks. A server-rendered inbox at
// /sandbox/opentext/inbox lets a person claim and complete tasks.
//
// The real service lives at https://<region>.api.opentext.com; the sandbox
// serves one host, so a connector's base URL is simply the sandbox URL:
// <url>/tenants/<tenant_id>/oauth2/token and <url>/workflow/v1/....
package opentext

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
	"github.com/patchbay/patchbay/internal/sandbox/opentext/bpmn"
)

// Demo credentials used when Options leaves them empty.
const (
	DefaultTenantID     = "5f0c6b8e-2d4a-4c1e-9b7a-0e3d2c1b4a59"
	DefaultClientID     = "patchbay-sandbox"
	DefaultClientSecret = "sandbox-client-secret"
	DefaultSubscription = "c0a80101-0000-4000-8000-00000000c0de"
)

// DefaultUsers are the tenant users the password grant accepts when Options.Users is empty.
var DefaultUsers = []User{
	{Username: "reviewer@example.com", Password: "reviewer-password", Groups: []string{"media_reviewers", "line_managers"}},
	{Username: "approver@example.com", Password: "approver-password", Groups: []string{"media_reviewers", "risk_managers"}},
	{Username: "editor@example.com", Password: "editor-password", Groups: []string{"editors"}},
}

// User is a tenant user (OTDS identity) for the password grant and for
// resolving candidate groups in task queries.
type User struct {
	Username string   `json:"username"`
	Password string   `json:"password"`
	Groups   []string `json:"groups"`
}

// Options configure a Server.
type Options struct {
	// TenantID, ClientID and ClientSecret are the accepted confidential
	// client; empty means the Default* demo values.
	TenantID     string
	ClientID     string
	ClientSecret string
	// Users are the tenant users; empty means DefaultUsers.
	Users []User
	// Seed deploys the demo models and starts a few instances.
	Seed bool
	// SnapshotPath, if set, is loaded at New and saved on Close and by POST /_sandbox/snapshot.
	SnapshotPath string
	// SampleModels is the folder of OpenText's sample .otwf models the seed
	// deploys beside media_review (default: SampleModelsDir()).
	SampleModels string
	// Kit overrides rate limit, clock and logger. Rate 0 means the assumed
	// default (100 requests/s, burst 200); a negative Rate disables the limit.
	Kit kit.Options
	// TimeScale multiplies timer durations and HTTP-task retry delays; 0 means 1.
	TimeScale float64
	// TokenLifetime is the access-token lifetime; 0 means one hour (assumed).
	TokenLifetime time.Duration
	// KeepEndedInRuntime makes GET /process-instances/{id} return ended
	// instances instead of 404 (assumed real behaviour: 404, as Flowable).
	KeepEndedInRuntime bool
	// MaxPageSize caps the count parameter of list calls; 0 means 1000.
	MaxPageSize int
	// HTTPClient runs HTTP tasks; default a client with a 30 s timeout.
	HTTPClient *http.Client
	// HTTPAttempts is how often a failing HTTP task is tried; 0 means 3.
	HTTPAttempts int
	// HTTPRetryDelay is the wait between HTTP-task attempts before TimeScale; 0 means 10 s.
	HTTPRetryDelay time.Duration
}

// Server is the OpenText Workflow sandbox. It is an http.Handler.
type Server struct {
	opts    Options
	snaps   kit.Snapshots
	kit     *kit.Kit
	engine  *bpmn.Engine
	log     *slog.Logger
	api     *http.ServeMux
	admin   *http.ServeMux
	inbox   *http.ServeMux
	handler http.Handler

	mu      sync.Mutex
	baseURL string
	tokens  map[string]*token
	refresh map[string]*token
	skipped map[string]string // seed models not deployed, with the reason

	closeOnce sync.Once
	closeErr  error
}

// New builds a server, loading the snapshot or the seed data.
func New(opts Options) (*Server, error) {
	if opts.SampleModels == "" {
		opts.SampleModels = SampleModelsDir()
	}
	if opts.TenantID == "" {
		opts.TenantID = DefaultTenantID
	}
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if len(opts.Users) == 0 {
		opts.Users = DefaultUsers
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = 1000
	}
	ko := opts.Kit
	ko.Name = "opentext"
	switch {
	case ko.Rate == 0:
		ko.Rate, ko.Burst = 100, 200
	case ko.Rate < 0:
		ko.Rate, ko.Burst = 0, 0
	}
	if ko.RejectRateLimited == nil {
		ko.RejectRateLimited = rejectRateLimited
	}
	if ko.InjectedError == nil {
		ko.InjectedError = func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusInternalServerError, "injected fault")
		}
	}
	k := kit.New(ko)
	log := ko.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		opts: opts, kit: k, log: log.With("sandbox", "opentext"),
		tokens: map[string]*token{}, refresh: map[string]*token{},
	}
	s.snaps.Path = opts.SnapshotPath
	s.engine = bpmn.NewEngine(bpmn.Options{
		Now: k.Clock().Now, TimeScale: opts.TimeScale, HTTPClient: opts.HTTPClient,
		HTTPAttempts: opts.HTTPAttempts, HTTPRetryDelay: opts.HTTPRetryDelay, TenantID: opts.TenantID, Logger: s.log,
	})
	s.routes()
	s.handler = k.Wrap(http.HandlerFunc(s.serveAPI), s.reset)
	loaded := false
	if opts.SnapshotPath != "" {
		var err error
		if loaded, err = s.loadSnapshot(); err != nil {
			return nil, err
		}
	}
	if opts.Seed && !loaded {
		if err := s.seed(); err != nil {
			return nil, fmt.Errorf("seeding: %w", err)
		}
	}
	s.engine.Start()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/_sandbox/opentext/") || p == "/_sandbox/snapshot":
		s.admin.ServeHTTP(w, r)
	case p == "/sandbox/opentext" || strings.HasPrefix(p, "/sandbox/opentext/"):
		s.inbox.ServeHTTP(w, r)
	default:
		s.handler.ServeHTTP(w, r)
	}
}

// SetURL sets the server's own base URL (used in HAL links).
func (s *Server) SetURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimRight(u, "/")
}

func (s *Server) url(r *http.Request) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// Credentials returns the accepted credentials under the real API's names.
func (s *Server) Credentials() map[string]string {
	u := s.opts.Users[0]
	return map[string]string{
		"tenant_id": s.opts.TenantID, "client_id": s.opts.ClientID, "client_secret": s.opts.ClientSecret,
		"username": u.Username, "password": u.Password,
	}
}

// Kit returns the shared sandbox machinery (faults, limiter, call log).
func (s *Server) Kit() *kit.Kit { return s.kit }

// Engine returns the BPMN engine, for tests that need more than the helpers.
func (s *Server) Engine() *bpmn.Engine { return s.engine }

// Close stops timers and HTTP tasks and writes the snapshot if configured.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.engine.Close()
		_ = s.kit.Close()
		if s.opts.SnapshotPath != "" {
			s.closeErr = s.SaveSnapshot()
		}
	})
	return s.closeErr
}

// reset is called by POST /_sandbox/reset: it forgets every model and
// instance and reloads the seed data when Seed is set. Issued tokens stay valid.
func (s *Server) reset() {
	s.engine.Reset()
	if s.opts.Seed {
		if err := s.seed(); err != nil {
			s.log.Error("reseeding after reset failed", "error", err)
		}
	}
}

// WaitIdle waits until no HTTP task or due timer is pending.
func (s *Server) WaitIdle(ctx context.Context) error { return s.engine.WaitIdle(ctx) }
