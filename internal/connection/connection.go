// Package connection manages configured connections: it validates settings
// against the connector's spec, seals secret settings before they reach the
// store, opens connector instances and caches them until the connection
// changes (on any node: a store generation counter says when to look again).
package connection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/secret"
	"github.com/patchbay/patchbay/internal/store"
)

// Manager opens and caches connections.
type Manager struct {
	st        *store.Store
	keys      *secret.Keyring
	reg       *connector.Registry
	publicURL string
	log       *slog.Logger
	now       func() time.Time
	// Builtin holds settings for built-in connectors used without a stored
	// connection (the http connector's allowlist in the demo, say).
	builtin map[string]map[string]any

	mu        sync.Mutex
	open      map[string]*entry
	gen       int64
	checkedAt time.Time
}

type entry struct {
	version int
	conn    connector.Conn
	spec    *connector.Spec
}

// Options configure a Manager.
type Options struct {
	PublicURL string
	Logger    *slog.Logger
	Builtin   map[string]map[string]any
}

// New returns a manager.
func New(st *store.Store, keys *secret.Keyring, reg *connector.Registry, opts Options) *Manager {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{st: st, keys: keys, reg: reg, publicURL: opts.PublicURL, log: log, now: time.Now,
		builtin: opts.Builtin, open: map[string]*entry{}}
}

// SetPublicURL sets the URL connectors register webhooks with.
func (m *Manager) SetPublicURL(u string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.publicURL = u
}

// PublicURL returns patchbay's public base URL.
func (m *Manager) PublicURL() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.publicURL
}

// Registry returns the connector registry.
func (m *Manager) Registry() *connector.Registry { return m.reg }

// Put validates values against the connector's connection spec and stores
// the connection in tx, secrets sealed.
func (m *Manager) Put(ctx context.Context, tx store.Tx, name, connectorName string, values map[string]any) error {
	c, ok := m.reg.Lookup(connectorName)
	if !ok {
		return fault.Errorf(fault.Invalid, "unknown connector %q (see patchbay connector ls)", connectorName)
	}
	if !validName(name) {
		return fault.Errorf(fault.Invalid, "connection name %q: use lower-case letters, digits, - and _", name)
	}
	spec := c.Spec()
	prepared, err := connector.Prepare(spec.Connection, values, false)
	if err != nil {
		return fmt.Errorf("connection %s: %w", name, err)
	}
	plain := map[string]any{}
	secrets := map[string]any{}
	for _, f := range spec.Connection {
		v, ok := prepared[f.Name]
		if !ok {
			continue
		}
		if f.Secret {
			secrets[f.Name] = v
		} else {
			plain[f.Name] = v
		}
	}
	var sealed []byte
	if len(secrets) > 0 {
		b, err := json.Marshal(secrets)
		if err != nil {
			return fmt.Errorf("encoding secrets: %w", err)
		}
		if sealed, err = m.keys.Seal(b); err != nil {
			return fmt.Errorf("sealing secrets: %w", err)
		}
	}
	return m.st.PutConnection(ctx, tx, &store.Connection{Name: name, Connector: connectorName, Config: plain, Secrets: sealed})
}

// Merge returns the stored values of a connection (secrets opened) with
// updates applied, for commands that change one setting.
func (m *Manager) Merge(ctx context.Context, name string, updates map[string]any) (string, map[string]any, error) {
	sc, err := m.st.GetConnection(ctx, m.st.Reader(), name)
	if err != nil {
		return "", nil, err
	}
	values, err := m.values(sc)
	if err != nil {
		return "", nil, err
	}
	for k, v := range updates {
		if v == nil {
			delete(values, k)
			continue
		}
		values[k] = v
	}
	return sc.Connector, values, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, c := range s {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' && i > 0 || (c == '-' || c == '_') && i > 0 {
			continue
		}
		return false
	}
	return true
}

func (m *Manager) values(sc *store.Connection) (map[string]any, error) {
	values := map[string]any{}
	for k, v := range sc.Config {
		values[k] = v
	}
	if len(sc.Secrets) > 0 {
		pt, err := m.keys.Open(sc.Secrets)
		if err != nil {
			return nil, fmt.Errorf("connection %s: %w", sc.Name, err)
		}
		var sec map[string]any
		if err := json.Unmarshal(pt, &sec); err != nil {
			return nil, fmt.Errorf("connection %s: decoding secrets: %w", sc.Name, err)
		}
		for k, v := range sec {
			values[k] = v
		}
	}
	return values, nil
}

// Info describes a connection for display: settings with secrets masked.
type Info struct {
	Name      string         `json:"name"`
	Connector string         `json:"connector"`
	Config    map[string]any `json:"config"`
	Version   int            `json:"version"`
	Builtin   bool           `json:"builtin,omitempty"`
	UpdatedAt time.Time      `json:"updated_at,omitzero"`
}

// List describes every stored connection.
func (m *Manager) List(ctx context.Context) ([]Info, error) {
	conns, err := m.st.ListConnections(ctx, m.st.Reader())
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(conns))
	for _, sc := range conns {
		out = append(out, m.info(sc))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Describe describes one connection.
func (m *Manager) Describe(ctx context.Context, name string) (Info, error) {
	sc, err := m.st.GetConnection(ctx, m.st.Reader(), name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Info{}, fault.Errorf(fault.NotFound, "no connection named %q", name)
		}
		return Info{}, err
	}
	return m.info(sc), nil
}

func (m *Manager) info(sc *store.Connection) Info {
	cfg := map[string]any{}
	for k, v := range sc.Config {
		cfg[k] = v
	}
	if c, ok := m.reg.Lookup(sc.Connector); ok {
		for _, f := range c.Spec().Connection {
			if f.Secret {
				cfg[f.Name] = "***"
			}
		}
	}
	return Info{Name: sc.Name, Connector: sc.Connector, Config: cfg, Version: sc.Version, UpdatedAt: sc.UpdatedAt}
}

// Get returns the opened connection and its connector's spec. A built-in
// connector's name works without a stored connection.
func (m *Manager) Get(ctx context.Context, name string) (connector.Conn, *connector.Spec, error) {
	if err := m.refresh(ctx); err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	if e, ok := m.open[name]; ok {
		m.mu.Unlock()
		return e.conn, e.spec, nil
	}
	m.mu.Unlock()

	sc, err := m.st.GetConnection(ctx, m.st.Reader(), name)
	var c connector.Connector
	var values map[string]any
	version := 0
	switch {
	case err == nil:
		var ok bool
		if c, ok = m.reg.Lookup(sc.Connector); !ok {
			return nil, nil, fault.Errorf(fault.Permanent, "connection %s uses connector %q, which this binary does not include", name, sc.Connector)
		}
		if values, err = m.values(sc); err != nil {
			return nil, nil, fault.E(fault.Permanent, err)
		}
		version = sc.Version
	case errors.Is(err, store.ErrNotFound):
		bc, ok := m.reg.Lookup(name)
		if !ok || !bc.Spec().Builtin {
			return nil, nil, fault.Errorf(fault.NotFound, "no connection named %q (add it with: patchbay connection add %s --connector …)", name, name)
		}
		c = bc
		values = map[string]any{}
		for k, v := range m.builtin[name] {
			values[k] = v
		}
	default:
		return nil, nil, err
	}
	spec := c.Spec()
	prepared, err := connector.Prepare(spec.Connection, values, true)
	if err != nil {
		return nil, nil, fmt.Errorf("connection %s: %w", name, err)
	}
	conn, err := c.Open(ctx, connector.Config{Name: name, Values: prepared, PublicURL: m.PublicURL(),
		Logger: m.log.With("connection", name, "connector", spec.Name), Now: m.now})
	if err != nil {
		return nil, nil, fmt.Errorf("opening connection %s: %w", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.open[name]; ok { // opened concurrently
		_ = conn.Close()
		return e.conn, e.spec, nil
	}
	m.open[name] = &entry{version: version, conn: conn, spec: spec}
	return conn, spec, nil
}

// Connector returns the connector a connection (or built-in name) uses.
func (m *Manager) Connector(ctx context.Context, name string) (string, error) {
	sc, err := m.st.GetConnection(ctx, m.st.Reader(), name)
	if err == nil {
		return sc.Connector, nil
	}
	if errors.Is(err, store.ErrNotFound) {
		if c, ok := m.reg.Lookup(name); ok && c.Spec().Builtin {
			return name, nil
		}
		return "", fault.Errorf(fault.NotFound, "no connection named %q", name)
	}
	return "", err
}

// refresh drops cached connections when the store's generation moved, at
// most once a second.
func (m *Manager) refresh(ctx context.Context) error {
	m.mu.Lock()
	if m.now().Sub(m.checkedAt) < time.Second {
		m.mu.Unlock()
		return nil
	}
	m.checkedAt = m.now()
	m.mu.Unlock()
	gen, err := m.st.Generation(ctx, m.st.Reader(), "connections")
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if gen != m.gen {
		// Dropped instances are not closed: steps may still be using them.
		m.gen = gen
		clear(m.open)
	}
	return nil
}

// Invalidate forgets cached instances at once (after a local change).
func (m *Manager) Invalidate() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.open)
	m.checkedAt = time.Time{}
}

// Close closes every opened connection.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for name, e := range m.open {
		errs = append(errs, e.conn.Close())
		delete(m.open, name)
	}
	return errors.Join(errs...)
}
