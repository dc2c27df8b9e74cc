// Package app is patchbay's composition root: it opens the store, builds the
// queue, engine, ingest and HTTP server in order and stops them in reverse.
// Every command (up, serve, worker, and the CLI's direct store commands) and
// every end-to-end test builds patchbay through Open.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/audit"
	"github.com/patchbay/patchbay/internal/connection"
	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/engine"
	"github.com/patchbay/patchbay/internal/ingest"
	"github.com/patchbay/patchbay/internal/queue"
	"github.com/patchbay/patchbay/internal/secret"
	"github.com/patchbay/patchbay/internal/store"
	"github.com/patchbay/patchbay/internal/store/postgres"
	"github.com/patchbay/patchbay/internal/store/sqlite"
)

// Role says which parts of patchbay a process runs.
type Role string

// Roles.
const (
	RoleAll    Role = "all"    // HTTP, ingest and workers (patchbay up)
	RoleServe  Role = "serve"  // HTTP and ingest, no workers
	RoleWorker Role = "worker" // workers, pollers and schedules, no HTTP
	RoleClient Role = "client" // CLI commands: store access, no workers, no HTTP
)

// Config configures an App.
type Config struct {
	// DataDir holds the SQLite database and key files (default ./patchbay-data).
	DataDir string
	// DBURL selects PostgreSQL instead of SQLite.
	DBURL string
	Role  Role
	// Addr is the HTTP listen address (default 127.0.0.1:8080; ":0" picks a port).
	Addr string
	// PublicURL is how providers reach this patchbay (default http://<addr>).
	PublicURL string
	// Workers and ControlWorkers size River's queues (defaults 64 and 16).
	Workers        int
	ControlWorkers int
	// FetchCooldown and FetchPollInterval tune job pickup latency.
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
	// RescueAfter is how long a job may run before another node retries it (default 15m).
	RescueAfter time.Duration
	// APIToken guards /api/v1 (default: PATCHBAY_API_TOKEN, else a token file in DataDir).
	APIToken string
	// Builtin holds settings for built-in connectors used without a stored
	// connection, such as the http connector's allow list.
	Builtin  map[string]map[string]any
	Registry *connector.Registry
	Engine   engine.Config
	Ingest   ingest.Config
	Logger   *slog.Logger
	// Extra registers additional HTTP handlers (the demo's sandboxes).
	Extra func(mux *http.ServeMux)
	// ReconcileEvery is how often pollers and schedules are re-derived (default 5s).
	ReconcileEvery time.Duration
}

// App is a running (or ready to run) patchbay.
type App struct {
	cfg     Config
	log     *slog.Logger
	Store   *store.Store
	Queue   queue.Queue
	Conns   *connection.Manager
	Flows   *engine.Flows
	Engine  *engine.Engine
	Ingest  *ingest.Ingest
	Keys    *secret.Keyring
	Addr    string // the HTTP address bound, after Start
	Handler http.Handler

	lock     *sqlite.Lock
	server   *http.Server
	listener net.Listener
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	started  bool
	extras   []func(context.Context, *App) error
	userObs  UserObserver
	audit    *audit.Log // with its checkpoint key
}

// DefaultDataDir is used when neither a data dir nor a database URL is given.
const DefaultDataDir = "patchbay-data"

// Open builds an App: opens and migrates the store and wires every part. It
// starts nothing; call Start.
func Open(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Role == "" {
		cfg.Role = RoleAll
	}
	if cfg.DBURL == "" && cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.ControlWorkers <= 0 {
		cfg.ControlWorkers = 16
	}
	if cfg.FetchCooldown <= 0 {
		cfg.FetchCooldown = 20 * time.Millisecond
	}
	if cfg.FetchPollInterval <= 0 {
		cfg.FetchPollInterval = 100 * time.Millisecond
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = 15 * time.Minute
	}
	if cfg.ReconcileEvery <= 0 {
		cfg.ReconcileEvery = 5 * time.Second
	}
	if cfg.Registry == nil {
		cfg.Registry = connector.Default
	}
	a := &App{cfg: cfg, log: cfg.Logger}
	if err := a.open(ctx); err != nil {
		a.closeStore()
		return nil, err
	}
	return a, nil
}

func (a *App) open(ctx context.Context) error {
	cfg := a.cfg
	var newQueue func(queue.Config) queue.Queue
	var keyFile string
	if cfg.DBURL != "" {
		drv, err := postgres.Open(ctx, cfg.DBURL)
		if err != nil {
			return err
		}
		a.Store = store.New(drv)
		newQueue = drv.NewQueue
	} else {
		dir, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return err
		}
		a.cfg.DataDir = dir
		if cfg.Role == RoleAll || cfg.Role == RoleWorker {
			if a.lock, err = sqlite.LockDir(dir); err != nil {
				return err
			}
		}
		drv, err := sqlite.OpenDir(ctx, dir)
		if err != nil {
			return err
		}
		a.Store = store.New(drv)
		newQueue = drv.NewQueue
		keyFile = filepath.Join(dir, "secret.key")
		if err := a.Store.Migrate(ctx); err != nil {
			return fmt.Errorf("migrating %s: %w", drv.Path(), err)
		}
		if a.lock != nil {
			n, err := drv.RecoverOrphans(ctx)
			if err != nil {
				return err
			}
			if n > 0 {
				a.log.Info("recovered jobs a stopped process left running", "jobs", n)
			}
		}
	}
	if cfg.DBURL != "" {
		if err := a.Store.Migrate(ctx); err != nil {
			return fmt.Errorf("migrating database: %w", err)
		}
	}
	keys, err := secret.Load(keyFile, keyFile != "")
	if err != nil {
		return err
	}
	a.Keys = keys

	workers, control := 0, 0
	if cfg.Role == RoleAll || cfg.Role == RoleWorker {
		workers, control = cfg.Workers, cfg.ControlWorkers
	}
	a.Queue = newQueue(queue.Config{Workers: workers, ControlWorkers: control, FetchCooldown: cfg.FetchCooldown,
		FetchPollInterval: cfg.FetchPollInterval, RescueAfter: cfg.RescueAfter, JobTimeout: -1, MaxAttempts: 25, Logger: a.log})
	a.Conns = connection.New(a.Store, keys, cfg.Registry, connection.Options{PublicURL: cfg.PublicURL, Logger: a.log, Builtin: cfg.Builtin})
	a.Flows = engine.NewFlows(a.Store, cfg.Registry)
	ecfg := cfg.Engine
	if ecfg.Logger == nil {
		ecfg.Logger = a.log
	}
	a.Engine = engine.New(a.Store, a.Queue, a.Conns, a.Flows, ecfg)
	icfg := cfg.Ingest
	if icfg.Logger == nil {
		icfg.Logger = a.log
	}
	a.Ingest = ingest.New(a.Engine, icfg)
	a.Engine.Register()
	a.Ingest.Register()
	a.installAudit()
	return nil
}

// Config returns the configuration in effect.
func (a *App) Config() Config { return a.cfg }

// Logger returns the app's logger.
func (a *App) Logger() *slog.Logger { return a.log }

// OnStart registers work to run when the app starts (after the queue).
func (a *App) OnStart(fn func(context.Context, *App) error) { a.extras = append(a.extras, fn) }

// Start starts the workers, the group-commit loop, pollers and the HTTP server, as the role says.
func (a *App) Start(ctx context.Context) error {
	if a.started {
		return errors.New("app already started")
	}
	a.started = true
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a.cancel = cancel
	a.Ingest.Start()
	if a.audit != nil {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.audit.RunIndexer(runCtx, a.log)
		}()
	}
	if a.cfg.Role == RoleAll || a.cfg.Role == RoleWorker {
		if err := a.Queue.Start(runCtx); err != nil {
			return err
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.Ingest.RunReconciler(runCtx, a.cfg.ReconcileEvery)
		}()
	}
	if a.cfg.Role == RoleAll || a.cfg.Role == RoleServe {
		if err := a.serveHTTP(); err != nil {
			return err
		}
	}
	for _, fn := range a.extras {
		if err := fn(runCtx, a); err != nil {
			return err
		}
	}
	a.log.Info("patchbay started", "role", a.cfg.Role, "store", a.Store.Driver().Name(), "addr", a.Addr, "data", a.cfg.DataDir)
	return nil
}

func (a *App) serveHTTP() error {
	token, err := a.apiToken()
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	a.routes(mux, token)
	if a.cfg.Extra != nil {
		a.cfg.Extra(mux)
	}
	a.Handler = mux
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", a.cfg.Addr, err)
	}
	a.listener = ln
	a.Addr = ln.Addr().String()
	if a.cfg.PublicURL == "" {
		a.Conns.SetPublicURL("http://" + a.Addr)
	}
	a.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelDebug)}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("http server stopped", "error", err)
		}
	}()
	return nil
}

// URL returns the base URL of the HTTP server.
func (a *App) URL() string {
	if a.cfg.PublicURL != "" {
		return strings.TrimRight(a.cfg.PublicURL, "/")
	}
	return "http://" + a.Addr
}

// APIToken returns the token guarding /api/v1.
func (a *App) APIToken() (string, error) { return a.apiToken() }

func (a *App) apiToken() (string, error) {
	if a.cfg.APIToken != "" {
		return a.cfg.APIToken, nil
	}
	if t := os.Getenv("PATCHBAY_API_TOKEN"); t != "" {
		return t, nil
	}
	if a.cfg.DataDir == "" {
		return "", errors.New("no API token: set PATCHBAY_API_TOKEN")
	}
	path := filepath.Join(a.cfg.DataDir, "api.token")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	t := "pb_" + hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing API token: %w", err)
	}
	return t, nil
}

// Stop stops in reverse order: HTTP (no new webhooks), ingest (drain the
// group commit), workers (finish or hand back jobs), then the store.
func (a *App) Stop(ctx context.Context) error {
	var errs []error
	if a.server != nil {
		errs = append(errs, a.server.Shutdown(ctx))
	}
	if a.Ingest != nil {
		a.Ingest.Stop()
	}
	if a.cancel != nil {
		a.cancel()
	}
	if a.Queue != nil {
		if err := a.Queue.Stop(ctx); err != nil && !errors.Is(err, context.Canceled) {
			errs = append(errs, err)
		}
	}
	a.wg.Wait()
	if a.started && a.audit != nil && a.Store != nil {
		// What the last runs appended is indexed before the store closes.
		if _, err := a.audit.Index(ctx); err != nil {
			a.log.Warn("indexing the audit trail at shutdown", "error", err)
		}
	}
	if a.Conns != nil {
		errs = append(errs, a.Conns.Close())
	}
	errs = append(errs, a.closeStore())
	return errors.Join(errs...)
}

func (a *App) closeStore() error {
	var err error
	if a.Store != nil {
		err = a.Store.Close()
		a.Store = nil
	}
	if a.lock != nil {
		_ = a.lock.Unlock()
		a.lock = nil
	}
	return err
}
