package kit

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"path"
	"sync"
	"time"
)

// FaultConfig is the fault-injection setting of a sandbox, as read and written
// by GET/PUT /_sandbox/faults.
type FaultConfig struct {
	// LatencyMS delays every API request by this many milliseconds.
	LatencyMS int `json:"latency_ms,omitempty"`
	// RouteLatencyMS delays requests whose "METHOD path" matches a glob key
	// ("GET /API/assets/v1/assets/*"); it replaces LatencyMS for those routes.
	RouteLatencyMS map[string]int `json:"route_latency_ms,omitempty"`
	// ErrorRate answers requests whose "METHOD path" matches a glob key with an
	// injected server error at this probability (0..1).
	ErrorRate map[string]float64 `json:"error_rate,omitempty"`
	// Storm429 answers the next N API requests with 429.
	Storm429 int `json:"storm_429,omitempty"`
	// DropWebhooks drops each outbound webhook at this probability.
	DropWebhooks float64 `json:"drop_webhooks,omitempty"`
	// DuplicateWebhooks delivers each outbound webhook twice at this probability.
	DuplicateWebhooks float64 `json:"duplicate_webhooks,omitempty"`
	// ReorderWebhooks holds each webhook back and delivers queued ones in reverse order.
	ReorderWebhooks bool `json:"reorder_webhooks,omitempty"`
	// FailWebhooks makes the first N delivery attempts fail as if the receiver timed out.
	FailWebhooks int `json:"fail_webhooks,omitempty"`
}

// Faults is the live fault-injection state.
type Faults struct {
	mu   sync.Mutex
	cfg  FaultConfig
	rand *rand.Rand
}

// NewFaults returns a Faults with nothing injected.
func NewFaults() *Faults {
	return &Faults{rand: rand.New(rand.NewPCG(1, 2))}
}

// Set replaces the configuration.
func (f *Faults) Set(c FaultConfig) error {
	for _, p := range []float64{c.DropWebhooks, c.DuplicateWebhooks} {
		if p < 0 || p > 1 {
			return fmt.Errorf("probability %v out of range 0..1", p)
		}
	}
	for k, p := range c.ErrorRate {
		if p < 0 || p > 1 {
			return fmt.Errorf("error_rate[%q]: probability %v out of range 0..1", k, p)
		}
		if _, err := path.Match(k, ""); err != nil {
			return fmt.Errorf("error_rate[%q]: bad pattern: %w", k, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg = c
	return nil
}

// Update applies fn to the configuration under the lock.
func (f *Faults) Update(fn func(c *FaultConfig)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.cfg)
}

// Config returns a copy of the configuration.
func (f *Faults) Config() FaultConfig {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

// Reset removes every fault.
func (f *Faults) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cfg = FaultConfig{}
}

func routeKey(r *http.Request) string { return r.Method + " " + r.URL.Path }

func matchRoute(pattern, key string) bool {
	ok, _ := path.Match(pattern, key)
	return ok
}

func (f *Faults) latency(r *http.Request) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := routeKey(r)
	for p, ms := range f.cfg.RouteLatencyMS {
		if matchRoute(p, key) {
			return time.Duration(ms) * time.Millisecond
		}
	}
	return time.Duration(f.cfg.LatencyMS) * time.Millisecond
}

func (f *Faults) take429() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cfg.Storm429 > 0 {
		f.cfg.Storm429--
		return true
	}
	return false
}

func (f *Faults) injectError(r *http.Request) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := routeKey(r)
	for p, prob := range f.cfg.ErrorRate {
		if matchRoute(p, key) && f.rand.Float64() < prob {
			return true
		}
	}
	return false
}

// webhookFate decides what happens to one outbound webhook.
func (f *Faults) webhookFate() (drop, dup, reorder bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	drop = f.cfg.DropWebhooks > 0 && f.rand.Float64() < f.cfg.DropWebhooks
	dup = f.cfg.DuplicateWebhooks > 0 && f.rand.Float64() < f.cfg.DuplicateWebhooks
	return drop, dup, f.cfg.ReorderWebhooks
}

func (f *Faults) takeWebhookFailure() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cfg.FailWebhooks > 0 {
		f.cfg.FailWebhooks--
		return true
	}
	return false
}
