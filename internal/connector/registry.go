package connector

import (
	"fmt"
	"sort"
	"sync"
)

// Registry holds connectors by name.
type Registry struct {
	mu sync.RWMutex
	m  map[string]Connector
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: map[string]Connector{}} }

// Default is the registry connector packages add themselves to from init.
var Default = NewRegistry()

// Register adds c to the default registry. It panics on a duplicate name or a
// malformed spec: both are programming errors caught at start-up.
func Register(c Connector) { Default.Register(c) }

// Register adds c; see the package-level Register.
func (r *Registry) Register(c Connector) {
	s := c.Spec()
	if err := s.Check(); err != nil {
		panic(fmt.Sprintf("connector: registering %q: %v", s.Name, err))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[s.Name]; dup {
		panic(fmt.Sprintf("connector: %q registered twice", s.Name))
	}
	r.m[s.Name] = c
}

// Lookup returns the named connector.
func (r *Registry) Lookup(name string) (Connector, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.m[name]
	return c, ok
}

// All returns the connectors sorted by name.
func (r *Registry) All() []Connector {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Connector, 0, len(r.m))
	for _, c := range r.m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec().Name < out[j].Spec().Name })
	return out
}

// Specs returns every connector's spec sorted by name.
func (r *Registry) Specs() []*Spec {
	all := r.All()
	out := make([]*Spec, len(all))
	for i, c := range all {
		out[i] = c.Spec()
	}
	return out
}
