// Package iconik is a stateful, in-memory stand-in for the iconik REST API
// (https://app.iconik.io/API/), used by patchbay's tests, benchmarks and demo.
//
// It speaks the documented paths (with their trailing slashes), the App-ID and
// Auth-Token headers, iconik's JSON shapes and its error body
// ({"errors": [...]} or {"errors": {field: ...}}) for the services patchbay
// uses: assets (assets, versions, history, collections, segments, shares,
// approvals, delete queue, custom actions), metadata (fields, views, values),
// files (formats, file sets, files, proxies, keyframes, archive/restore,
// download URLs), search, jobs and notifications (webhook definitions). Events
// are delivered to every matching webhook definition with the definition's
// headers and retried on failure; assets created through the API are
// "transcoded" after a delay (scaled by Options.TimeScale) into an original
// format, a proxy and keyframes whose URLs the server itself serves.
//
// Where the reference notes leave a behaviour unconfirmed, the server picks
// the most likely one; each such choice is named in docs/sandbox/iconik.md and
// the realm/operation names it sends are the exported Realm* and Op* constants.
//
// Invariants (proved by the package tests):
//   - every response of an implemented endpoint validates against iconik's
//     published OpenAPI document for that operation (contract_test.go);
//   - a request without valid App-ID/Auth-Token gets 401 {"errors": [...]};
//   - each App-ID has its own token bucket; a refused request gets 429 with
//     Retry-After and RateLimit-Remaining;
//   - search pages through any number of assets with page/per_page (up to the
//     result window) and without limit with search_after;
//   - Close stops every timer and delivery goroutine the server started.
package iconik

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

// Fixed demo credentials and identities used when Options leaves them empty.
const (
	DefaultAppID          = "6f1e0c9a-3b7d-4c2e-9a41-5d8f2b7c1e01"
	DefaultAuthToken      = "sandbox-iconik-token-3c9f7a1e5b2d4f60a8e1c7b9d2f4a6e8"
	DefaultSystemDomainID = "4a2b8c1d-9e3f-4a5b-8c7d-1e2f3a4b5c6d"

	// APIUserID is the user the default token belongs to (the integration user).
	APIUserID = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
	// EditorUserID is the person the User* helpers act as (a media editor in the iconik UI).
	EditorUserID = "1c2d3e4f-5061-4b7c-9d8e-0f1a2b3c4d5e"
	// ReviewerUserID is the person UserSetApproval acts as by default.
	ReviewerUserID = "2d3e4f50-6172-4c8d-8e9f-1a2b3c4d5e6f"
)

// Options configure a Server. The zero value gives a realistic server with
// the demo credentials and no data.
type Options struct {
	// AppID and AuthToken are the credentials the server accepts; empty means
	// DefaultAppID / DefaultAuthToken.
	AppID     string
	AuthToken string
	// SystemDomainID is the tenant id sent in webhook events; empty means DefaultSystemDomainID.
	SystemDomainID string

	// Seed loads the demo data set (see seed.go and docs/sandbox/iconik.md).
	Seed bool
	// SeedAssetCount is how many assets the seed creates; 0 means 300.
	SeedAssetCount int
	// SnapshotPath, if set, is loaded at New and written on Close and by POST /_sandbox/snapshot.
	SnapshotPath string
	// Kit overrides the shared machinery. Kit.Rate/Kit.Burst are the per-App-ID
	// limit (0 means 50 req/s with a burst of 50; negative disables it).
	Kit kit.Options
	// TimeScale multiplies every built-in delay (transcode, archive, webhook
	// retries); 0 means 1. Tests use e.g. 0.001.
	TimeScale float64

	// TranscodeDelay is how long the simulated transcoder takes before an
	// asset's proxy and keyframes appear (before TimeScale); 0 means 3s.
	TranscodeDelay time.Duration
	// DisableTranscode turns the simulated transcoder off.
	DisableTranscode bool
	// MaxPerPage bounds per_page on search and asset lists; 0 means 500 (UNCONFIRMED).
	MaxPerPage int
	// SearchMaxWindow bounds page*per_page for page-based search; 0 means
	// 10,000 (Elasticsearch's default result window, UNCONFIRMED for iconik).
	SearchMaxWindow int
	// SignedURLTTL is the lifetime of signed media URLs; 0 means 1h (UNCONFIRMED).
	SignedURLTTL time.Duration
	// RequireApprovalRequest makes PUT .../approvals/ fail with 400 unless an
	// approval request exists for the object (iconik's UI requires one). Nil means true.
	RequireApprovalRequest *bool
}

// Server is the iconik sandbox. It is an http.Handler.
type Server struct {
	opts    Options
	snaps   kit.Snapshots
	kit     *kit.Kit
	handler http.Handler
	mux     *http.ServeMux
	scale   float64
	secret  []byte
	retries int // number of webhook retries after the first attempt

	mu     sync.Mutex // guards st, outbox, rawOut, base
	st     *state
	outbox []event
	rawOut []kit.Delivery // custom action calls queued under the lock
	base   string
	fixed  bool // base set by SetURL

	evMu   sync.Mutex
	events []Event // recent events, for tests

	limMu    sync.Mutex
	limiters map[string]*kit.Limiter
	rate     float64
	burst    int

	tmu     sync.Mutex
	timers  map[uint64]*time.Timer
	timerID uint64
	pending int
	closed  bool
	idle    *sync.Cond
	running sync.WaitGroup
}

// New builds a server, loading the snapshot or the seed data if asked.
func New(opts Options) (*Server, error) {
	if opts.AppID == "" {
		opts.AppID = DefaultAppID
	}
	if opts.AuthToken == "" {
		opts.AuthToken = DefaultAuthToken
	}
	if opts.SystemDomainID == "" {
		opts.SystemDomainID = DefaultSystemDomainID
	}
	if opts.SeedAssetCount <= 0 {
		opts.SeedAssetCount = 300
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	if opts.TranscodeDelay <= 0 {
		opts.TranscodeDelay = 3 * time.Second
	}
	if opts.MaxPerPage <= 0 {
		opts.MaxPerPage = 500
	}
	if opts.SearchMaxWindow <= 0 {
		opts.SearchMaxWindow = 10_000
	}
	if opts.SignedURLTTL <= 0 {
		opts.SignedURLTTL = time.Hour
	}
	if opts.RequireApprovalRequest == nil {
		t := true
		opts.RequireApprovalRequest = &t
	}
	s := &Server{opts: opts, scale: opts.TimeScale, limiters: map[string]*kit.Limiter{}, timers: map[uint64]*time.Timer{}}
	s.snaps.Path = opts.SnapshotPath
	s.idle = sync.NewCond(&s.tmu)
	s.secret = []byte("iconik-sandbox-signing-" + opts.AuthToken)

	ko := opts.Kit
	if ko.Name == "" {
		ko.Name = "iconik"
	}
	s.rate, s.burst = ko.Rate, ko.Burst
	if s.rate == 0 {
		s.rate = DefaultRateLimit
	}
	if s.burst <= 0 && s.rate > 0 {
		s.burst = int(math.Ceil(s.rate))
	}
	// The kit's own (global) bucket stays off: iconik limits per App-ID, which
	// this package does itself after authentication.
	ko.Rate, ko.Burst = 0, 0
	if ko.RejectRateLimited == nil {
		ko.RejectRateLimited = func(w http.ResponseWriter, r *http.Request, retry time.Duration, _ float64) {
			writeRateLimited(w, retry)
		}
	}
	if ko.InjectedError == nil {
		ko.InjectedError = func(w http.ResponseWriter, r *http.Request) {
			kit.WriteJSON(w, http.StatusInternalServerError, errList("Internal server error"))
		}
	}
	if ko.WebhookRetries == nil {
		for _, d := range DefaultWebhookRetries {
			ko.WebhookRetries = append(ko.WebhookRetries, s.scaled(d))
		}
	}
	if ko.WebhookTimeout == 0 {
		ko.WebhookTimeout = 10 * time.Second
	}
	s.retries = len(ko.WebhookRetries)
	s.kit = kit.New(ko)

	if err := s.load(); err != nil {
		s.kit.Close()
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.routes()
	s.handler = s.kit.Wrap(http.HandlerFunc(s.serveAPI), s.reset)
	return s, nil
}

// DefaultRateLimit is the per-App-ID request rate (UNCONFIRMED: iconik is said
// to allow about 50 requests per second per application).
const DefaultRateLimit = 50

// DefaultWebhookRetries is the delay before each retry of a failed delivery,
// before TimeScale (UNCONFIRMED: iconik does not document its schedule).
var DefaultWebhookRetries = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute}

func (s *Server) load() error {
	if s.opts.SnapshotPath != "" {
		var st state
		ok, err := kit.LoadJSON(s.opts.SnapshotPath, &st)
		if err != nil {
			return fmt.Errorf("loading iconik snapshot: %w", err)
		}
		if ok {
			st.init()
			s.st = &st
			return nil
		}
	}
	s.st = s.freshState()
	return nil
}

func (s *Server) freshState() *state {
	st := newState()
	s.st = st
	s.seedBase()
	if s.opts.Seed {
		s.seedDemo(s.opts.SeedAssetCount)
	}
	return st
}

// reset is called by POST /_sandbox/reset: the data returns to its initial state.
func (s *Server) reset() {
	s.stopTimers()
	s.mu.Lock()
	s.freshState()
	s.outbox, s.rawOut = nil, nil
	s.mu.Unlock()
	s.limMu.Lock()
	s.limiters = map[string]*kit.Limiter{}
	s.limMu.Unlock()
	s.evMu.Lock()
	s.events = nil
	s.evMu.Unlock()
}

// ServeHTTP serves the iconik API, the media and share URLs it hands out, and
// the /_sandbox/ admin endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sandbox/snapshot" {
		s.handleSnapshot(w, r)
		return
	}
	s.handler.ServeHTTP(w, r)
}

// SetURL sets the server's own base URL, used for the URLs it hands out.
func (s *Server) SetURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base = strings.TrimRight(u, "/")
	s.fixed = true
}

// URL returns the base URL the server believes it has ("" before the first request or SetURL).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.base
}

// Credentials returns the accepted credentials under iconik's own names.
func (s *Server) Credentials() map[string]string {
	return map[string]string{"app_id": s.opts.AppID, "auth_token": s.opts.AuthToken}
}

// SystemDomainID is the tenant id sent in webhook events.
func (s *Server) SystemDomainID() string { return s.opts.SystemDomainID }

// Kit returns the shared sandbox machinery (faults, calls, webhook log).
func (s *Server) Kit() *kit.Kit { return s.kit }

// SetRateLimit changes the per-App-ID limit; rate <= 0 disables it.
func (s *Server) SetRateLimit(rate float64, burst int) {
	s.limMu.Lock()
	defer s.limMu.Unlock()
	s.rate, s.burst = rate, burst
	if s.burst <= 0 && rate > 0 {
		s.burst = int(math.Ceil(rate))
	}
	s.limiters = map[string]*kit.Limiter{}
}

// Close stops the transcoder and webhook delivery and writes the snapshot if configured.
func (s *Server) Close() error {
	s.tmu.Lock()
	already := s.closed
	s.tmu.Unlock()
	if already {
		return nil
	}
	s.stopTimers()
	s.tmu.Lock()
	s.closed = true
	s.idle.Broadcast()
	s.tmu.Unlock()
	s.running.Wait()
	err := s.kit.Close()
	if s.opts.SnapshotPath != "" {
		if serr := s.SaveSnapshot(); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	return err
}

// SaveSnapshot writes the state to Options.SnapshotPath now, unless it is
// what the file already holds.
func (s *Server) SaveSnapshot() error {
	s.mu.Lock()
	b, err := json.Marshal(s.st)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encoding snapshot: %w", err)
	}
	_, err = s.snaps.Save(json.RawMessage(b), b)
	return err
}

func (s *Server) handleSnapshot(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		kit.WriteJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "use POST"})
		return
	}
	if err := s.SaveSnapshot(); err != nil {
		kit.WriteJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Settle waits until the simulated transcoder and archiver are idle and every
// webhook has been delivered (or given up).
func (s *Server) Settle(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		s.tmu.Lock()
		for s.pending > 0 && !s.closed && ctx.Err() == nil {
			s.idle.Wait()
		}
		s.tmu.Unlock()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		s.tmu.Lock()
		s.idle.Broadcast()
		s.tmu.Unlock()
		<-done
		return ctx.Err()
	}
	return s.kit.Webhooks.Flush(ctx)
}

// scaled applies TimeScale to a built-in delay.
func (s *Server) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.scale)
}

// after runs fn after d unless the server is closed or reset first.
func (s *Server) after(d time.Duration, fn func()) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if s.closed {
		return
	}
	s.timerID++
	id := s.timerID
	s.pending++
	s.timers[id] = time.AfterFunc(d, func() {
		s.tmu.Lock()
		if _, ok := s.timers[id]; !ok || s.closed {
			s.tmu.Unlock()
			return
		}
		delete(s.timers, id)
		s.running.Add(1)
		s.tmu.Unlock()
		defer func() {
			s.tmu.Lock()
			s.pending--
			s.idle.Broadcast()
			s.tmu.Unlock()
			s.running.Done()
		}()
		fn()
	})
}

func (s *Server) stopTimers() {
	s.tmu.Lock()
	for id, t := range s.timers {
		// A callback that already fired finds its entry gone and returns
		// without running, so every entry's pending count is released here.
		t.Stop()
		delete(s.timers, id)
		s.pending--
	}
	s.idle.Broadcast()
	s.tmu.Unlock()
}

// ---- request plumbing ----

// call is one API request (or one background/user action) being handled
// under the state lock.
type call struct {
	s      *Server
	r      *http.Request
	user   string
	appID  string
	reqID  string
	base   string
	header http.Header // extra response headers
	// objType is the object type of routes registered per type ("assets", "collections").
	objType string
}

type handlerFunc func(c *call) (int, any)

// route registers an API handler. Patterns ending in "/" are anchored.
func (s *Server) route(pattern string, h handlerFunc) {
	if strings.HasSuffix(pattern, "/") {
		pattern += "{$}"
	}
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { s.run(w, r, h) })
}

// routeObject registers suffix under /API/assets/v1/{assets|collections}/{object_id}.
func (s *Server) routeObject(method, suffix string, h handlerFunc) {
	for _, ot := range []string{"assets", "collections"} {
		s.route(method+" /API/assets/v1/"+ot+"/{object_id}"+suffix, func(c *call) (int, any) {
			c.objType = ot
			return h(c)
		})
	}
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	s.noteBase(r)
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, mediaPrefix):
		s.serveMedia(w, r)
		return
	case strings.HasPrefix(p, sharePrefix):
		s.serveSharePage(w, r)
		return
	case !strings.HasPrefix(p, "/API/"):
		kit.WriteJSON(w, http.StatusNotFound, errList("Not found"))
		return
	}
	if !strings.HasSuffix(p, "/") {
		// iconik's documented paths end in "/"; like a Werkzeug app with
		// strict slashes, the slash-less form is redirected (UNCONFIRMED).
		u := *r.URL
		u.Path += "/"
		http.Redirect(w, r, u.String(), http.StatusPermanentRedirect)
		return
	}
	appID, user, ok := s.authenticate(r)
	if !ok {
		kit.WriteJSON(w, http.StatusUnauthorized, errList("Token is invalid"))
		return
	}
	if ok, retry, remaining := s.allow(appID); !ok {
		writeRateLimited(w, retry)
		return
	} else if remaining >= 0 {
		w.Header().Set("RateLimit-Remaining", strconv.Itoa(remaining))
	}
	r = r.WithContext(context.WithValue(r.Context(), authKey{}, authInfo{appID: appID, user: user}))
	s.mux.ServeHTTP(w, r)
}

type authKey struct{}

type authInfo struct{ appID, user string }

func (s *Server) noteBase(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fixed {
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	s.base = scheme + "://" + r.Host
}

// authenticate checks App-ID and Auth-Token (header names are case-insensitive).
func (s *Server) authenticate(r *http.Request) (appID, user string, ok bool) {
	appID = r.Header.Get("App-ID")
	token := r.Header.Get("Auth-Token")
	if appID == "" || token == "" {
		return "", "", false
	}
	if appID == s.opts.AppID && token == s.opts.AuthToken {
		return appID, APIUserID, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, found := s.st.Tokens[token]
	if !found || t.AppID != appID || (t.Expires != "" && parseTime(t.Expires).Before(s.now())) {
		return "", "", false
	}
	return appID, t.UserID, true
}

// allow takes a token from the App-ID's bucket; remaining is -1 when unlimited.
func (s *Server) allow(appID string) (bool, time.Duration, int) {
	s.limMu.Lock()
	if s.rate <= 0 {
		s.limMu.Unlock()
		return true, 0, -1
	}
	l := s.limiters[appID]
	if l == nil {
		l = kit.NewLimiter(s.rate, s.burst, s.kit.Clock())
		s.limiters[appID] = l
	}
	s.limMu.Unlock()
	ok, retry, remaining := l.Allow()
	return ok, retry, remaining
}

// writeRateLimited writes iconik's 429 (headers UNCONFIRMED: Retry-After in
// whole seconds, RateLimit-Remaining 0).
func writeRateLimited(w http.ResponseWriter, retry time.Duration) {
	secs := int(math.Ceil(retry.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	w.Header().Set("RateLimit-Remaining", "0")
	kit.WriteJSON(w, http.StatusTooManyRequests, errList("Too many requests"))
}

func (s *Server) run(w http.ResponseWriter, r *http.Request, h handlerFunc) {
	ai, _ := r.Context().Value(authKey{}).(authInfo)
	s.mu.Lock()
	c := &call{s: s, r: r, user: ai.user, appID: ai.appID, reqID: s.newRequestID(), base: s.base, header: http.Header{}}
	status, body := h(c)
	var b []byte
	var err error
	if body != nil {
		b, err = marshal(body)
	}
	out := s.takeOutbox()
	s.mu.Unlock()
	s.send(out)
	if err != nil {
		kit.WriteJSON(w, http.StatusInternalServerError, errList("encoding response: "+err.Error()))
		return
	}
	for k, v := range c.header {
		w.Header()[k] = v
	}
	if body == nil {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// background runs fn under the lock as the given user, then sends its events.
func (s *Server) background(user string, fn func(c *call)) {
	s.mu.Lock()
	c := &call{s: s, user: user, appID: s.opts.AppID, reqID: s.newRequestID(), base: s.base, header: http.Header{}}
	fn(c)
	out := s.takeOutbox()
	s.mu.Unlock()
	s.send(out)
}

type pendingOut struct {
	events []event
	raw    []kit.Delivery
}

// takeOutbox empties the queued events and deliveries (under the lock).
func (s *Server) takeOutbox() pendingOut {
	out := pendingOut{events: s.outbox, raw: s.rawOut}
	s.outbox, s.rawOut = nil, nil
	return out
}

// send delivers what takeOutbox returned (without the lock).
func (s *Server) send(out pendingOut) {
	s.dispatch(out.events)
	for _, d := range out.raw {
		s.kit.Webhooks.Send(d)
	}
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ---- errors ----

type errorBody struct {
	Errors any `json:"errors"`
}

func errList(msgs ...string) errorBody { return errorBody{Errors: msgs} }

func (c *call) fail(status int, msg string) (int, any) { return status, errList(msg) }

// invalid answers 400 with marshmallow-style field errors.
func (c *call) invalid(field, msg string) (int, any) {
	return http.StatusBadRequest, errorBody{Errors: map[string][]string{field: {msg}}}
}

// decode reads the JSON body into v.
func (c *call) decode(v any) (int, any, bool) {
	if c.r == nil || c.r.Body == nil {
		return 0, nil, true
	}
	b, err := readBody(c.r)
	if err != nil {
		st, body := c.fail(http.StatusBadRequest, "reading body: "+err.Error())
		return st, body, false
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return 0, nil, true
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			st, body := c.invalid(te.Field, "Not a valid "+te.Type.String()+".")
			return st, body, false
		}
		st, body := c.fail(http.StatusBadRequest, "Invalid JSON body")
		return st, body, false
	}
	return 0, nil, true
}

func readBody(r *http.Request) ([]byte, error) {
	var buf bytes.Buffer
	_, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, 10<<20))
	return buf.Bytes(), err
}

// ---- query helpers ----

func (c *call) q(name string) string {
	if c.r == nil {
		return ""
	}
	return c.r.URL.Query().Get(name)
}

func (c *call) qBool(name string, def bool) bool {
	v := strings.ToLower(c.q(name))
	switch v {
	case "true", "1", "yes":
		return true
	case "false", "0", "no":
		return false
	}
	return def
}

func (c *call) path(name string) string {
	if c.r == nil {
		return ""
	}
	return c.r.PathValue(name)
}

// listEnvelope is iconik's page-number list envelope.
type listEnvelope struct {
	Objects  any            `json:"objects"`
	Page     int            `json:"page"`
	Pages    int            `json:"pages"`
	PerPage  int            `json:"per_page"`
	Total    int            `json:"total"`
	FirstURL string         `json:"first_url,omitempty"`
	LastURL  string         `json:"last_url,omitempty"`
	NextURL  string         `json:"next_url,omitempty"`
	PrevURL  string         `json:"prev_url,omitempty"`
	Facets   map[string]any `json:"facets,omitempty"`
}

type paging struct{ page, perPage int }

// paging reads page/per_page (1-based page; per_page default def, at most max).
func (c *call) paging(def, max int) (paging, int, any, bool) {
	p := paging{page: 1, perPage: def}
	if v := c.q("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			st, b := c.invalid("page", "Must be greater than or equal to 1.")
			return p, st, b, false
		}
		p.page = n
	}
	if v := c.q("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > max {
			st, b := c.invalid("per_page", fmt.Sprintf("Must be greater than or equal to 1 and less than or equal to %d.", max))
			return p, st, b, false
		}
		p.perPage = n
	}
	return p, 0, nil, true
}

// pageOf cuts items to the requested page; ok is false when the page does not exist.
func pageOf[T any](c *call, items []T, p paging) (listEnvelope, bool) {
	total := len(items)
	pages := (total + p.perPage - 1) / p.perPage
	env := listEnvelope{Page: p.page, Pages: pages, PerPage: p.perPage, Total: total}
	if p.page > 1 && p.page > pages {
		return env, false
	}
	start := (p.page - 1) * p.perPage
	end := min(start+p.perPage, total)
	out := make([]T, 0, max(end-start, 0))
	if start < total {
		out = append(out, items[start:end]...)
	}
	env.Objects = out
	c.pageURLs(&env)
	return env, true
}

// pageURLs fills first/last/next/prev as host-relative paths.
func (c *call) pageURLs(env *listEnvelope) {
	if c.r == nil {
		return
	}
	mk := func(page int) string {
		q := c.r.URL.Query()
		q.Set("page", strconv.Itoa(page))
		q.Set("per_page", strconv.Itoa(env.PerPage))
		return c.r.URL.Path + "?" + q.Encode()
	}
	last := max(env.Pages, 1)
	env.FirstURL = mk(1)
	env.LastURL = mk(last)
	if env.Page < env.Pages {
		env.NextURL = mk(env.Page + 1)
	}
	if env.Page > 1 {
		env.PrevURL = mk(env.Page - 1)
	}
}
