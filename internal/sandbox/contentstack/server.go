// Package contentstack is a stateful local stand-in for Contentstack's
// Content Management API (CMA, /v3), built for patchbay's tests, benchmarks
// and demo. It speaks the documented paths, headers, JSON shapes, status
// codes and error bodies ({error_message, error_code, errors}) of the real
// service as recorded in ../shared/apis/contentstack.md and the vendor files
// in ../shared/apis/specs/contentstack/.
//
// What it keeps in memory: content types (schema with groups, modular
// blocks, JSON/custom and reference fields), entries with per-locale
// versions, assets, environments, locales, workflows with stages, webhooks
// with their executions, and bulk jobs. Publishing is asynchronous like the
// real one: the API answers "The requested action has been performed." and
// the entry's publish_details change after a delay scaled by
// Options.TimeScale. Webhooks are signed with RSA-PSS (SHA-256, salt 32)
// using a key pair generated at start; the public key is served at
// /.well-known/public-keys.json relative to the sandbox URL, the path the
// real one is fetched from on the region's app host.
//
// Rate limits follow the documented split: one token bucket for GET, one
// for writes, one for /v3/bulk/ actions, each answering 429 with
// X-RateLimit-Limit and X-RateLimit-Remaining.
//
// Invariants (each proven by a test in this package):
//   - every mutation through the API or the Editor fires the webhooks whose
//     channels match, signed so that the served public key verifies them
//     (TestWebhookSignatureVerifiesWithServedKey);
//   - an entry's _version increases by one on every save and never on a
//     workflow-stage change (TestEntryVersioning, TestWorkflowStage);
//   - publish state changes only after the scaled delay
//     (TestPublishIsAsynchronous);
//   - Close stops every timer and delivery; no goroutine outlives it
//     (TestCloseStopsBackgroundWork).
package contentstack

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

// Options configure a sandbox server. The zero value is a working server
// with fixed demo credentials, realistic delays and documented rate limits.
type Options struct {
	// APIKey is the stack API key accepted in the api_key header; empty
	// means a fixed demo key.
	APIKey string
	// ManagementToken is accepted in the authorization header; empty means
	// a fixed demo token.
	ManagementToken string
	// Authtoken is a user session token accepted in the authtoken header
	// (some Postman requests use it); empty means a fixed demo token.
	Authtoken string
	// Branches lists the branch uids accepted in the branch header; empty
	// means just "main". Content is not isolated per branch.
	Branches []string

	// Seed loads the demo data set (content types video and campaign,
	// environments, locales, a workflow and a few entries).
	Seed bool
	// SnapshotPath, when set, is loaded at New and saved on Close and by
	// POST /_sandbox/snapshot.
	SnapshotPath string
	// Kit overrides the shared machinery (clock, logger, retries). Rate
	// limiting is done by this package (ReadRate, WriteRate, BulkRate); a
	// Kit.Rate adds the kit's single bucket on top.
	Kit kit.Options
	// TimeScale multiplies every built-in delay (publishing, bulk jobs,
	// webhook retries); 0 means 1.
	TimeScale float64

	// ReadRate, WriteRate and BulkRate are requests per second for GET,
	// POST/PUT/DELETE and /v3/bulk/ actions. 0 means the documented
	// defaults (10, 10, 1); a negative value disables that bucket.
	ReadRate, WriteRate, BulkRate float64
	// RetryAfterHeader adds Retry-After to 429 answers. Contentstack does not
	// document one, so it is off by default.
	RetryAfterHeader bool

	// PublishDelay is how long a publish or unpublish stays queued before
	// publish_details change (then scaled by TimeScale); 0 means 2s.
	PublishDelay time.Duration
	// ClampLimit makes limit > 100 silently return 100 items instead of the
	// 422 error the sandbox answers by default (an assumption; see the doc).
	ClampLimit bool
	// IgnoreUnknownFields drops entry fields that are not in the content
	// type's schema instead of answering 422 (an assumption; see the doc).
	IgnoreUnknownFields bool
	// WorkflowEvent is the "event" value of workflow-stage webhooks; empty
	// means "workflow_stage_change" (unconfirmed; see the doc).
	WorkflowEvent string
	// HMACSecrets, when set, adds x-contentstack-hmac-signature
	// (t=<unix>,v1=<hex>[,v1=...]) to every delivery, one v1 per secret.
	HMACSecrets []string
	// SigningKey is the RSA key webhooks are signed with; nil generates a
	// 2048-bit key at New (or reuses the one in the snapshot).
	SigningKey *rsa.PrivateKey
	// CircuitBreakerThreshold is the number of consecutive failed deliveries
	// that mark a webhook unhealthy and disable it; 0 means 10, negative
	// disables the breaker.
	CircuitBreakerThreshold int
}

// Fixed demo credentials, used when Options leave them empty.
const (
	DemoAPIKey          = "blt5a1d0c3e9f7b2a64"
	DemoManagementToken = "cs8f3e1a7d6b2c4e9a0f5d1b37"
	DemoAuthtoken       = "blt9c2e6a1f4d8b3e07a5c1"
	// SystemUser is the uid recorded as created_by/updated_by for writes
	// made with the management token.
	SystemUser = "blt1f0c9a8e7d6b5a43"
	// EditorUser is the uid recorded for writes made through Editor.
	EditorUser = "blt7e2d4c6a8b0f1e35"
)

// Server is the Contentstack sandbox. It is an http.Handler.
type Server struct {
	opts    Options
	snaps   kit.Snapshots
	kit     *kit.Kit
	handler http.Handler
	rl      *rateLimits
	clock   kit.Clock
	scale   float64
	retries []time.Duration

	mu      sync.Mutex
	st      *state
	key     *rsa.PrivateKey
	baseURL string
	closed  bool

	sched *scheduler

	badSignatures atomic.Int64 // deliveries left to sign wrongly
}

// New builds a server, loading the snapshot and the seed data when asked.
func New(opts Options) (*Server, error) {
	if opts.APIKey == "" {
		opts.APIKey = DemoAPIKey
	}
	if opts.ManagementToken == "" {
		opts.ManagementToken = DemoManagementToken
	}
	if opts.Authtoken == "" {
		opts.Authtoken = DemoAuthtoken
	}
	if len(opts.Branches) == 0 {
		opts.Branches = []string{"main"}
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if opts.PublishDelay <= 0 {
		opts.PublishDelay = 2 * time.Second
	}
	if opts.WorkflowEvent == "" {
		opts.WorkflowEvent = "workflow_stage_change"
	}
	if opts.CircuitBreakerThreshold == 0 {
		opts.CircuitBreakerThreshold = 10
	}
	s := &Server{opts: opts, scale: opts.TimeScale}
	s.snaps.Path = opts.SnapshotPath

	ko := opts.Kit
	if ko.Name == "" {
		ko.Name = "contentstack"
	}
	if ko.Clock == nil {
		ko.Clock = kit.RealClock
	}
	if ko.WebhookRetries == nil {
		// Documented schedule: 4 retries at about 5, 25, 125 and 625 s.
		for _, d := range []time.Duration{5 * time.Second, 25 * time.Second, 125 * time.Second, 625 * time.Second} {
			ko.WebhookRetries = append(ko.WebhookRetries, s.scaled(d))
		}
	}
	ko.RejectRateLimited = s.rejectRateLimited
	ko.InjectedError = func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errInternal())
	}
	s.retries = ko.WebhookRetries
	s.clock = ko.Clock
	s.kit = kit.New(ko)
	s.rl = newRateLimits(opts, ko.Clock)
	s.sched = newScheduler()

	if err := s.initState(); err != nil {
		s.kit.Close()
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

func (s *Server) initState() error {
	s.st = newState()
	loaded := false
	if s.opts.SnapshotPath != "" {
		ok, err := kit.LoadJSON(s.opts.SnapshotPath, s.st)
		if err != nil {
			return fmt.Errorf("loading contentstack snapshot: %w", err)
		}
		loaded = ok
		s.st.fixup()
	}
	switch {
	case s.opts.SigningKey != nil:
		s.key = s.opts.SigningKey
	case s.st.SigningKeyPEM != "":
		k, err := parsePrivateKeyPEM(s.st.SigningKeyPEM)
		if err != nil {
			return fmt.Errorf("reading signing key from snapshot: %w", err)
		}
		s.key = k
	default:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return fmt.Errorf("generating signing key: %w", err)
		}
		s.key = k
	}
	s.st.SigningKeyPEM = privateKeyPEM(s.key)
	if !loaded {
		s.resetData()
	}
	return nil
}

// resetData replaces the content with the empty stack or the seed set.
// The caller holds s.mu or is the only user of s.
func (s *Server) resetData() {
	keyPEM := s.st.SigningKeyPEM
	s.st = newState()
	s.st.SigningKeyPEM = keyPEM
	s.st.addLocale("en-us", "English - United States", "", s.now(), SystemUser)
	if s.opts.Seed {
		s.seed()
	}
}

func (s *Server) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.scale)
}

func (s *Server) now() string { return formatTime(s.clock.Now()) }

func formatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// ServeHTTP serves the CMA under /v3, the public key under
// /.well-known/public-keys.json, asset downloads, and the admin endpoints
// under /_sandbox/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// SetURL tells the server its own base URL, used in the asset URLs it hands
// out. Before it is called the URL is derived from each request's Host.
func (s *Server) SetURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.baseURL = strings.TrimRight(u, "/")
}

// URL returns the base URL set with SetURL (or last seen in a request).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// Credentials returns the accepted credentials under the real API's names.
func (s *Server) Credentials() map[string]string {
	return map[string]string{"api_key": s.opts.APIKey, "management_token": s.opts.ManagementToken}
}

// APIKey returns the stack API key.
func (s *Server) APIKey() string { return s.opts.APIKey }

// ManagementToken returns the accepted management token.
func (s *Server) ManagementToken() string { return s.opts.ManagementToken }

// Authtoken returns the accepted user authtoken.
func (s *Server) Authtoken() string { return s.opts.Authtoken }

// Kit returns the shared machinery (faults, recorded calls, webhook log).
func (s *Server) Kit() *kit.Kit { return s.kit }

// Flush waits until no publish or bulk job is queued and no webhook is in
// flight or waiting for a retry.
func (s *Server) Flush(ctx context.Context) error {
	for {
		if err := s.sched.wait(ctx); err != nil {
			return err
		}
		if err := s.kit.Webhooks.Flush(ctx); err != nil {
			return err
		}
		if s.sched.idle() {
			return nil
		}
	}
}

// Close stops background work (queued publishes, webhook deliveries and
// retries) and writes the snapshot when configured.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.sched.close()
	_ = s.kit.Close()
	if s.opts.SnapshotPath != "" {
		return s.SaveSnapshot()
	}
	return nil
}

// SaveSnapshot writes the state to Options.SnapshotPath now, unless it is
// what the file already holds.
func (s *Server) SaveSnapshot() error {
	s.mu.Lock()
	b, err := json.Marshal(s.st)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encoding contentstack snapshot: %w", err)
	}
	if _, err := s.snaps.Save(json.RawMessage(b), b); err != nil {
		return fmt.Errorf("saving contentstack snapshot: %w", err)
	}
	return nil
}

// reset is called by POST /_sandbox/reset after the kit cleared its state.
func (s *Server) reset() {
	s.sched.cancelAll()
	s.rl.reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetData()
}

// scheduler runs delayed work (queued publishes, bulk jobs) on real timers
// and lets tests wait until nothing is queued. Close stops every timer and
// waits for work already running.
type scheduler struct {
	mu      sync.Mutex
	timers  map[int]*time.Timer
	next    int
	pending int
	closed  bool
	idleCh  chan struct{}
	wg      sync.WaitGroup
}

func newScheduler() *scheduler {
	return &scheduler{timers: map[int]*time.Timer{}, idleCh: make(chan struct{})}
}

// after runs fn once d has passed, unless the scheduler is closed or reset first.
func (sc *scheduler) after(d time.Duration, fn func()) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return
	}
	if d < 0 {
		d = 0
	}
	id := sc.next
	sc.next++
	sc.pending++
	sc.wg.Add(1)
	sc.timers[id] = time.AfterFunc(d, func() {
		defer sc.wg.Done()
		sc.mu.Lock()
		if _, ok := sc.timers[id]; !ok {
			sc.mu.Unlock()
			return
		}
		delete(sc.timers, id)
		sc.mu.Unlock()
		fn()
		sc.done()
	})
}

func (sc *scheduler) done() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.pending--
	if sc.pending == 0 {
		close(sc.idleCh)
		sc.idleCh = make(chan struct{})
	}
}

// cancelAll drops every queued timer (used by reset).
func (sc *scheduler) cancelAll() {
	sc.mu.Lock()
	n := 0
	for id, t := range sc.timers {
		if t.Stop() {
			sc.wg.Done() // the timer's func will never run
		}
		// A func that already fired finds its id gone and returns without
		// counting itself done; it is counted here instead.
		delete(sc.timers, id)
		n++
	}
	sc.mu.Unlock()
	for range n {
		sc.done()
	}
}

func (sc *scheduler) close() {
	sc.mu.Lock()
	sc.closed = true
	sc.mu.Unlock()
	sc.cancelAll()
	sc.wg.Wait()
}

func (sc *scheduler) idle() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.pending == 0
}

// wait blocks until nothing is queued or running.
func (sc *scheduler) wait(ctx context.Context) error {
	for {
		sc.mu.Lock()
		if sc.pending == 0 {
			sc.mu.Unlock()
			return nil
		}
		ch := sc.idleCh
		sc.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
