package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/flow"
	"github.com/patchbay/patchbay/internal/store"
)

// Flows keeps compiled flow versions (each compiled once) and the active
// version of every flow, indexed by the event source its trigger listens on.
type Flows struct {
	st  *store.Store
	reg *connector.Registry

	mu        sync.Mutex
	loadMu    sync.Mutex // one reload at a time
	versions  map[flowKey]*flow.Flow
	active    map[string]*flow.Flow   // name → active version (enabled heads only)
	bySource  map[string][]*flow.Flow // "conn/trigger" → active flows
	gen       int64
	checkedAt time.Time
	epoch     int64 // bumped by Invalidate; a load that saw an older epoch is not trusted
	now       func() time.Time
}

type flowKey struct {
	name    string
	version int
}

// NewFlows returns an empty cache.
func NewFlows(st *store.Store, reg *connector.Registry) *Flows {
	return &Flows{st: st, reg: reg, versions: map[flowKey]*flow.Flow{}, now: time.Now}
}

// Get returns a compiled flow version.
func (f *Flows) Get(ctx context.Context, name string, version int) (*flow.Flow, error) {
	f.mu.Lock()
	fl, ok := f.versions[flowKey{name, version}]
	f.mu.Unlock()
	if ok {
		return fl, nil
	}
	v, err := f.st.GetFlowVersion(ctx, f.st.Reader(), name, version)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fault.Errorf(fault.NotFound, "flow %s version %d not found", name, version)
		}
		return nil, err
	}
	fl, err = flow.Load(v.File, []byte(v.Source), f.reg)
	if err != nil {
		return nil, fault.E(fault.Permanent, fmt.Sprintf("compiling stored flow %s v%d", name, version), err)
	}
	fl.Version = version
	f.mu.Lock()
	f.versions[flowKey{name, version}] = fl
	f.mu.Unlock()
	return fl, nil
}

// Source returns the event source a flow's trigger listens on, as
// "<connection>/<trigger>".
func Source(fl *flow.Flow) string {
	switch fl.Trigger.Kind {
	case flow.TriggerConnector:
		return fl.Connections[fl.Trigger.Role].Connection + "/" + fl.Trigger.Name
	case flow.TriggerWebhook:
		return "flow:" + fl.Name + "/webhook"
	case flow.TriggerSchedule:
		return "schedule/" + fl.Name
	}
	return "manual/" + fl.Name
}

// refresh reloads the active set when the flows generation moved; it looks
// at most every interval (0: every call). One caller loads while the others
// wait for it, and the check time is set only after a load, so no caller
// sees a set older than the generation it observed.
func (f *Flows) refresh(ctx context.Context, interval time.Duration) error {
	f.mu.Lock()
	fresh := f.active != nil && interval > 0 && f.now().Sub(f.checkedAt) < interval
	f.mu.Unlock()
	if fresh {
		return nil
	}
	f.loadMu.Lock()
	defer f.loadMu.Unlock()
	f.mu.Lock()
	fresh = f.active != nil && interval > 0 && f.now().Sub(f.checkedAt) < interval
	f.mu.Unlock()
	if fresh {
		return nil // loaded by the caller we waited for
	}
	checked := f.now()
	f.mu.Lock()
	epoch := f.epoch
	f.mu.Unlock()
	gen, err := f.st.Generation(ctx, f.st.Reader(), "flows")
	if err != nil {
		return err
	}
	f.mu.Lock()
	same := f.active != nil && gen == f.gen && epoch == f.epoch
	if same {
		f.checkedAt = checked
	}
	f.mu.Unlock()
	if same {
		return nil
	}
	heads, err := f.st.ListFlowHeads(ctx, f.st.Reader())
	if err != nil {
		return err
	}
	active := map[string]*flow.Flow{}
	bySource := map[string][]*flow.Flow{}
	for _, h := range heads {
		if !h.Enabled {
			continue
		}
		fl, err := f.Get(ctx, h.Name, h.Version)
		if err != nil {
			return fmt.Errorf("loading active flows: %w", err)
		}
		active[h.Name] = fl
		src := Source(fl)
		bySource[src] = append(bySource[src], fl)
	}
	f.mu.Lock()
	if epoch == f.epoch {
		f.active, f.bySource, f.gen, f.checkedAt = active, bySource, gen, checked
	} else {
		// Invalidated while loading (a flow was applied meanwhile): keep the
		// set for now but make the next lookup load again.
		f.active, f.bySource = active, bySource
	}
	f.mu.Unlock()
	return nil
}

// Invalidate makes the next lookup reload the active set.
func (f *Flows) Invalidate() {
	f.mu.Lock()
	f.checkedAt = time.Time{}
	f.gen = -1
	f.epoch++
	f.mu.Unlock()
}

// ForSource returns the active flows listening on a source ("conn/trigger").
func (f *Flows) ForSource(ctx context.Context, source string) ([]*flow.Flow, error) {
	if err := f.refresh(ctx, time.Second); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.bySource[source], nil
}

// Active returns the active version of a flow.
func (f *Flows) Active(ctx context.Context, name string) (*flow.Flow, error) {
	if err := f.refresh(ctx, time.Second); err != nil {
		return nil, err
	}
	f.mu.Lock()
	fl, ok := f.active[name]
	f.mu.Unlock()
	if !ok {
		return nil, fault.Errorf(fault.NotFound, "no active flow named %q (see patchbay flow ls)", name)
	}
	return fl, nil
}

// All returns every active flow.
func (f *Flows) All(ctx context.Context) ([]*flow.Flow, error) {
	if err := f.refresh(ctx, time.Second); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]*flow.Flow, 0, len(f.active))
	for _, fl := range f.active {
		out = append(out, fl)
	}
	return out, nil
}

// Applied says what Apply did.
type Applied struct {
	Flow      *flow.Flow
	Version   int
	Unchanged bool // the same content was already the active version
}

// Apply validates a flow file and stores it as the flow's new active
// version inside tx. A file that declares a version must not reuse a stored
// version number for other content; without one the next number is taken.
// Connections the flow names must exist and use the declared connectors.
func (f *Flows) Apply(ctx context.Context, tx store.Tx, file string, src []byte, by string) (*Applied, error) {
	fl, err := flow.Load(file, src, f.reg)
	if err != nil {
		return nil, err
	}
	if err := f.checkConnections(ctx, tx, fl); err != nil {
		return nil, err
	}
	latest, err := f.st.LatestFlowVersion(ctx, tx, fl.Name)
	if err != nil {
		return nil, err
	}
	head, err := f.st.GetFlowHead(ctx, tx, fl.Name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	version := fl.Version
	switch {
	case version > 0:
		existing, err := f.st.GetFlowVersion(ctx, tx, fl.Name, version)
		if err == nil {
			if existing.Hash != fl.Hash {
				return nil, fault.Errorf(fault.Conflict, "%s: flow %s version %d is already stored with other content; raise the version or remove it to number versions automatically", file, fl.Name, version)
			}
			unchanged := head != nil && head.Version == version && head.Enabled
			if !unchanged {
				if err := f.setHead(ctx, tx, fl, version); err != nil {
					return nil, err
				}
			}
			fl.Version = version
			return &Applied{Flow: fl, Version: version, Unchanged: unchanged}, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if latest != nil && version < latest.Version {
			return nil, fault.Errorf(fault.Conflict, "%s: flow %s version %d is older than the stored version %d", file, fl.Name, version, latest.Version)
		}
	case latest != nil && latest.Hash == fl.Hash:
		unchanged := head != nil && head.Version == latest.Version && head.Enabled
		if !unchanged {
			if err := f.setHead(ctx, tx, fl, latest.Version); err != nil {
				return nil, err
			}
		}
		fl.Version = latest.Version
		return &Applied{Flow: fl, Version: latest.Version, Unchanged: unchanged}, nil
	case latest != nil:
		version = latest.Version + 1
	default:
		version = 1
	}
	if err := f.st.InsertFlowVersion(ctx, tx, &store.FlowVersion{Name: fl.Name, Version: version, Source: string(src),
		Hash: fl.Hash, File: file, AppliedAt: f.now(), AppliedBy: by}); err != nil {
		return nil, err
	}
	if err := f.setHead(ctx, tx, fl, version); err != nil {
		return nil, err
	}
	fl.Version = version
	return &Applied{Flow: fl, Version: version}, nil
}

func (f *Flows) setHead(ctx context.Context, tx store.Tx, fl *flow.Flow, version int) error {
	fl.Version = version
	return f.st.SetFlowHead(ctx, tx, &store.FlowHead{Name: fl.Name, Version: version, Enabled: true, Source: Source(fl), UpdatedAt: f.now()})
}

// SetEnabled turns a flow's trigger on or off.
func (f *Flows) SetEnabled(ctx context.Context, tx store.Tx, name string, enabled bool) error {
	h, err := f.st.GetFlowHead(ctx, tx, name)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fault.Errorf(fault.NotFound, "no flow named %q", name)
		}
		return err
	}
	h.Enabled, h.UpdatedAt = enabled, f.now()
	return f.st.SetFlowHead(ctx, tx, h)
}

func (f *Flows) checkConnections(ctx context.Context, q store.Querier, fl *flow.Flow) error {
	var problems []string
	for role, ref := range fl.Connections {
		sc, err := f.st.GetConnection(ctx, q, ref.Connection)
		if errors.Is(err, store.ErrNotFound) {
			if c, ok := f.reg.Lookup(ref.Connector); ok && c.Spec().Builtin && ref.Connection == ref.Connector {
				continue
			}
			problems = append(problems, fmt.Sprintf("role %s: connection %q does not exist (add it with: patchbay connection add %s --connector %s …)", role, ref.Connection, ref.Connection, ref.Connector))
			continue
		}
		if err != nil {
			return err
		}
		if sc.Connector != ref.Connector {
			problems = append(problems, fmt.Sprintf("role %s: connection %q uses connector %s, the flow expects %s", role, ref.Connection, sc.Connector, ref.Connector))
		}
	}
	if len(problems) > 0 {
		msg := fl.File + ": flow " + fl.Name + ":"
		for _, p := range problems {
			msg += "\n  " + p
		}
		return fault.E(fault.Invalid, msg)
	}
	return nil
}
