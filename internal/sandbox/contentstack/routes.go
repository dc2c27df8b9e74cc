package contentstack

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

// routes builds the whole handler: the public-key and asset-download paths
// (no credentials, like the real app and assets hosts), the snapshot admin
// endpoint, and the CMA behind the kit middleware, rate limits and auth.
func (s *Server) routes() http.Handler {
	api := http.NewServeMux()

	// Content types.
	api.HandleFunc("GET /v3/content_types", s.h(s.listContentTypes))
	api.HandleFunc("POST /v3/content_types", s.h(s.createContentType))
	api.HandleFunc("POST /v3/content_types/import", s.h(s.importContentType))
	api.HandleFunc("GET /v3/content_types/{ct}", s.h(s.getContentType))
	api.HandleFunc("PUT /v3/content_types/{ct}", s.h(s.updateContentType))
	api.HandleFunc("DELETE /v3/content_types/{ct}", s.h(s.deleteContentType))
	api.HandleFunc("GET /v3/content_types/{ct}/references", s.h(s.contentTypeReferences))
	api.HandleFunc("GET /v3/content_types/{ct}/export", s.h(s.exportContentType))

	// Entries.
	api.HandleFunc("GET /v3/content_types/{ct}/entries", s.h(s.listEntries))
	api.HandleFunc("POST /v3/content_types/{ct}/entries", s.h(s.createEntry))
	api.HandleFunc("POST /v3/content_types/{ct}/entries/import", s.h(s.importEntry))
	api.HandleFunc("GET /v3/content_types/{ct}/entries/{uid}", s.h(s.getEntry))
	api.HandleFunc("PUT /v3/content_types/{ct}/entries/{uid}", s.h(s.updateEntry))
	api.HandleFunc("DELETE /v3/content_types/{ct}/entries/{uid}", s.h(s.deleteEntry))
	api.HandleFunc("POST /v3/content_types/{ct}/entries/{uid}/import", s.h(s.importEntry))
	api.HandleFunc("GET /v3/content_types/{ct}/entries/{uid}/export", s.h(s.exportEntry))
	api.HandleFunc("GET /v3/content_types/{ct}/entries/{uid}/versions", s.h(s.entryVersions))
	api.HandleFunc("POST /v3/content_types/{ct}/entries/{uid}/versions/{n}/name", s.h(s.nameEntryVersion))
	api.HandleFunc("DELETE /v3/content_types/{ct}/entries/{uid}/versions/{n}/name", s.h(s.unnameEntryVersion))
	api.HandleFunc("GET /v3/content_types/{ct}/entries/{uid}/locales", s.h(s.entryLocales))
	api.HandleFunc("POST /v3/content_types/{ct}/entries/{uid}/unlocalize", s.h(s.unlocalizeEntry))
	api.HandleFunc("GET /v3/content_types/{ct}/entries/{uid}/references", s.h(s.entryReferences))
	api.HandleFunc("POST /v3/content_types/{ct}/entries/{uid}/publish", s.h(s.publishEntry))
	api.HandleFunc("POST /v3/content_types/{ct}/entries/{uid}/unpublish", s.h(s.unpublishEntry))
	api.HandleFunc("POST /v3/content_types/{ct}/entries/{uid}/workflow", s.h(s.setEntryWorkflow))

	// Bulk operations and their jobs.
	api.HandleFunc("POST /v3/bulk/publish", s.h(s.bulkPublish))
	api.HandleFunc("POST /v3/bulk/unpublish", s.h(s.bulkUnpublish))
	api.HandleFunc("POST /v3/bulk/delete", s.h(s.bulkDelete))
	api.HandleFunc("POST /v3/bulk/workflow", s.h(s.bulkWorkflow))
	api.HandleFunc("GET /v3/bulk/jobs", s.h(s.listJobs))
	api.HandleFunc("GET /v3/bulk/jobs/{id}", s.h(s.getJob))
	api.HandleFunc("GET /v3/bulk/jobs/{id}/items", s.h(s.getJobItems))

	// Assets (basic) and folders.
	api.HandleFunc("GET /v3/assets", s.h(s.listAssets))
	api.HandleFunc("POST /v3/assets", s.h(s.uploadAsset))
	api.HandleFunc("GET /v3/assets/{uid}", s.h(s.getAsset))
	api.HandleFunc("PUT /v3/assets/{uid}", s.h(s.updateAsset))
	api.HandleFunc("DELETE /v3/assets/{uid}", s.h(s.deleteAsset))
	api.HandleFunc("GET /v3/assets/{a}/{b}", s.h(s.assetSubresource)) // folders/{uid} and {uid}/versions
	api.HandleFunc("POST /v3/assets/{uid}/publish", s.h(s.publishAsset))
	api.HandleFunc("POST /v3/assets/{uid}/unpublish", s.h(s.unpublishAsset))
	api.HandleFunc("POST /v3/assets/folders", s.h(s.createFolder))
	api.HandleFunc("PUT /v3/assets/folders/{uid}", s.h(s.updateFolder))
	api.HandleFunc("DELETE /v3/assets/folders/{uid}", s.h(s.deleteFolder))

	// Environments and locales.
	api.HandleFunc("GET /v3/environments", s.h(s.listEnvironments))
	api.HandleFunc("POST /v3/environments", s.h(s.createEnvironment))
	api.HandleFunc("GET /v3/environments/{name}", s.h(s.getEnvironment))
	api.HandleFunc("PUT /v3/environments/{name}", s.h(s.updateEnvironment))
	api.HandleFunc("DELETE /v3/environments/{name}", s.h(s.deleteEnvironment))
	api.HandleFunc("GET /v3/locales", s.h(s.listLocales))
	api.HandleFunc("POST /v3/locales", s.h(s.createLocale))
	api.HandleFunc("GET /v3/locales/{code}", s.h(s.getLocale))
	api.HandleFunc("PUT /v3/locales/{code}", s.h(s.updateLocale))
	api.HandleFunc("DELETE /v3/locales/{code}", s.h(s.deleteLocale))

	// Workflows.
	api.HandleFunc("GET /v3/workflows", s.h(s.listWorkflows))
	api.HandleFunc("POST /v3/workflows", s.h(s.createWorkflow))
	api.HandleFunc("GET /v3/workflows/{uid}", s.h(s.getWorkflow))
	api.HandleFunc("PUT /v3/workflows/{uid}", s.h(s.updateWorkflow))
	api.HandleFunc("DELETE /v3/workflows/{uid}", s.h(s.deleteWorkflow))
	api.HandleFunc("GET /v3/workflows/{uid}/disable", s.h(s.disableWorkflow))
	api.HandleFunc("GET /v3/workflows/{uid}/enable", s.h(s.enableWorkflow))

	// Webhooks, their executions and logs.
	api.HandleFunc("GET /v3/webhooks", s.h(s.listWebhooks))
	api.HandleFunc("POST /v3/webhooks", s.h(s.createWebhook))
	api.HandleFunc("POST /v3/webhooks/import", s.h(s.importWebhook))
	api.HandleFunc("GET /v3/webhooks/{uid}", s.h(s.getWebhook))
	api.HandleFunc("PUT /v3/webhooks/{uid}", s.h(s.updateWebhook))
	api.HandleFunc("DELETE /v3/webhooks/{uid}", s.h(s.deleteWebhook))
	api.HandleFunc("GET /v3/webhooks/{uid}/export", s.h(s.exportWebhook))
	api.HandleFunc("POST /v3/webhooks/{uid}/import", s.h(s.importWebhook))
	api.HandleFunc("GET /v3/webhooks/{uid}/executions", s.h(s.webhookExecutions))
	api.HandleFunc("POST /v3/webhooks/{uid}/retry", s.h(s.retryExecution))
	api.HandleFunc("GET /v3/webhooks/{uid}/logs", s.h(s.executionLogs))

	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { writeError(w, errNotFoundRoute()) })

	wrapped := s.kit.Wrap(s.limit(s.auth(api)), s.reset)

	outer := http.NewServeMux()
	outer.HandleFunc("GET /.well-known/public-keys.json", s.servePublicKey)
	outer.HandleFunc("GET /v3/assets/{apikey}/{uid}/{upload}/{file}", s.downloadAsset)
	outer.HandleFunc("POST /_sandbox/snapshot", func(w http.ResponseWriter, r *http.Request) {
		if s.opts.SnapshotPath == "" {
			writeJSON(w, http.StatusConflict, map[string]any{"error": "no snapshot path configured"})
			return
		}
		if err := s.SaveSnapshot(); err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	outer.HandleFunc("POST /_sandbox/bad-signatures", func(w http.ResponseWriter, r *http.Request) {
		n, ok := queryInt(r, "count", 1)
		if !ok || n < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "count must be a non-negative integer"})
			return
		}
		s.BadSignatures(n)
		w.WriteHeader(http.StatusNoContent)
	})
	outer.Handle("/", wrapped)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.noteHost(r)
		outer.ServeHTTP(w, r)
	})
}

// noteHost remembers the base URL from the first request when SetURL was not called.
func (s *Server) noteHost(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.baseURL != "" || r.Host == "" {
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	s.baseURL = scheme + "://" + r.Host
}

// auth checks the api_key header, then the management token (authorization)
// or user authtoken (authtoken), then the optional branch header.
// Credentials passed as query parameters are not looked at, as on the real API.
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("api_key") != s.opts.APIKey {
			writeError(w, errBadAPIKey())
			return
		}
		c := caller{}
		authz := strings.TrimSpace(r.Header.Get("authorization"))
		authtoken := strings.TrimSpace(r.Header.Get("authtoken"))
		switch {
		case authz != "" && authz == s.opts.ManagementToken:
			c = caller{user: SystemUser, managementToken: true}
		case authtoken != "" && authtoken == s.opts.Authtoken:
			c = caller{user: EditorUser}
		case authz != "":
			writeError(w, errNotLoggedIn("authorization"))
			return
		default:
			writeError(w, errNotLoggedIn("authtoken"))
			return
		}
		if b := r.Header.Get("branch"); b != "" && !contains(s.opts.Branches, b) {
			writeError(w, errBranch())
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	})
}

// branchOf is the branch a request addresses (main by default).
func branchOf(r *http.Request) string {
	if b := r.Header.Get("branch"); b != "" {
		return b
	}
	return "main"
}

// apiError is Contentstack's error body: {error_message, error_code, errors}.
type apiError struct {
	Status  int
	Message string
	Code    int
	Errors  map[string][]string
}

func (e *apiError) Error() string {
	if len(e.Errors) == 0 {
		return fmt.Sprintf("%d %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%d %s %v", e.Status, e.Message, e.Errors)
}

func writeError(w http.ResponseWriter, e *apiError) {
	errs := e.Errors
	if errs == nil {
		errs = map[string][]string{}
	}
	kit.WriteJSON(w, e.Status, map[string]any{"error_message": e.Message, "error_code": e.Code, "errors": errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) { kit.WriteJSON(w, status, v) }

func notice(w http.ResponseWriter, status int, msg string, extra ...any) {
	body := map[string]any{"notice": msg}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i].(string)] = extra[i+1]
	}
	writeJSON(w, status, body)
}

// Error constructors. Codes and texts follow the documented samples where
// they exist; the rest are assumptions listed in docs/sandbox/contentstack.md.

func errBadAPIKey() *apiError {
	return &apiError{Status: http.StatusPreconditionFailed, Code: 109,
		Message: "We can't find that Stack. Please try again.",
		Errors:  map[string][]string{"api_key": {"is not valid."}}}
}

func errNotLoggedIn(field string) *apiError {
	return &apiError{Status: http.StatusUnauthorized, Code: 105,
		Message: "You're not allowed in here unless you're logged in.",
		Errors:  map[string][]string{field: {"is not valid."}}}
}

func errBranch() *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: 903,
		Message: "The requested branch does not exist.",
		Errors:  map[string][]string{"branch": {"is not valid."}}}
}

func errInternal() *apiError {
	return &apiError{Status: http.StatusInternalServerError, Code: 500,
		Message: "We're sorry, but something went wrong. We've been notified about this issue and will take a look at it shortly. Please contact support@contentstack.com for assistance."}
}

func errNotFoundRoute() *apiError {
	return &apiError{Status: http.StatusNotFound, Code: 404, Message: "The requested URL was not found on this server."}
}

func errCTNotFound(uid string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: 118,
		Message: fmt.Sprintf("The Content Type '%s' was not found. Please try again.", uid),
		Errors:  map[string][]string{"uid": {"is not valid."}}}
}

// errEntryNotFound is the documented 422 "UID is not valid" for a missing,
// deleted or wrong-content-type entry.
func errEntryNotFound() *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: 141,
		Message: "The requested entry doesn't exist.",
		Errors:  map[string][]string{"uid": {"is not valid."}}}
}

func errNotFound(what string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: 141,
		Message: fmt.Sprintf("The requested %s doesn't exist.", what),
		Errors:  map[string][]string{"uid": {"is not valid."}}}
}

func errInvalid(code int, msg string, errs map[string][]string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: code, Message: msg, Errors: errs}
}

func errFetch(what, field, problem string) *apiError {
	return &apiError{Status: http.StatusUnprocessableEntity, Code: 141,
		Message: fmt.Sprintf("Failed to fetch %s. Please try again with valid parameters.", what),
		Errors:  map[string][]string{field: {problem}}}
}

func errBadBody(err error) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: 102,
		Message: "Please send a valid JSON request body.",
		Errors:  map[string][]string{"body": {err.Error()}}}
}

// readBody decodes a JSON request body (numbers kept as json.Number).
// An empty body decodes to an empty object.
func readBody(r *http.Request) (doc, *apiError) {
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, 16<<20))
	if err != nil {
		return nil, errBadBody(fmt.Errorf("reading body: %w", err))
	}
	if strings.TrimSpace(string(b)) == "" {
		return doc{}, nil
	}
	var d doc
	if err := decodeJSON(b, &d); err != nil {
		return nil, errBadBody(fmt.Errorf("decoding body: %w", err))
	}
	if d == nil {
		d = doc{}
	}
	return d, nil
}

func qbool(r *http.Request, name string) bool {
	return strings.EqualFold(r.URL.Query().Get(name), "true")
}

// caller is who makes a request: the management token, the authtoken user
// or the sandbox's editor (helpers).
type caller struct {
	user            string
	managementToken bool
}

type ctxKey struct{}

func callerOf(r *http.Request) caller {
	if c, ok := r.Context().Value(ctxKey{}).(caller); ok {
		return c
	}
	return caller{user: SystemUser, managementToken: true}
}

// handlerFunc is an API handler returning an error to write.
type handlerFunc func(w http.ResponseWriter, r *http.Request) *apiError

func (s *Server) h(fn handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e := fn(w, r); e != nil {
			writeError(w, e)
		}
	}
}

// queryInt reads an integer query parameter; absent gives def.
func queryInt(r *http.Request, name string, def int) (int, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// rateLimits holds the three documented buckets: reads (GET), writes
// (POST/PUT/DELETE) and bulk actions (/v3/bulk/ writes), each rate per
// second with a burst of the same size.
type rateLimits struct {
	read, write, bulk *bucket
}

type bucket struct {
	limit float64
	l     *kit.Limiter
}

func newBucket(rate, def float64, clock kit.Clock) *bucket {
	if rate == 0 {
		rate = def
	}
	if rate < 0 {
		return nil
	}
	return &bucket{limit: rate, l: kit.NewLimiter(rate, int(math.Ceil(rate)), clock)}
}

func newRateLimits(o Options, clock kit.Clock) *rateLimits {
	return &rateLimits{
		read:  newBucket(o.ReadRate, 10, clock),
		write: newBucket(o.WriteRate, 10, clock),
		bulk:  newBucket(o.BulkRate, 1, clock),
	}
}

func (rl *rateLimits) reset() {
	for _, b := range []*bucket{rl.read, rl.write, rl.bulk} {
		if b != nil {
			b.l.Reset()
		}
	}
}

// classify picks the bucket a request counts against.
func (rl *rateLimits) classify(r *http.Request) *bucket {
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return rl.read
	case strings.HasPrefix(r.URL.Path, "/v3/bulk/"):
		return rl.bulk
	default:
		return rl.write
	}
}

// limit admits a request against its bucket, setting X-RateLimit-Limit and
// X-RateLimit-Remaining, or answers 429.
func (s *Server) limit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := s.rl.classify(r)
		if b == nil {
			next.ServeHTTP(w, r)
			return
		}
		ok, retry, remaining := b.l.Allow()
		if !ok {
			s.rejectRateLimited(w, r, retry, b.limit)
			return
		}
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(int(b.limit)))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
		next.ServeHTTP(w, r)
	})
}

// rejectRateLimited writes the 429 answer (also used by the kit's 429 storm).
func (s *Server) rejectRateLimited(w http.ResponseWriter, r *http.Request, retry time.Duration, limit float64) {
	if limit <= 0 {
		if b := s.rl.classify(r); b != nil {
			limit = b.limit
		}
	}
	w.Header().Set("X-RateLimit-Limit", strconv.Itoa(int(limit)))
	w.Header().Set("X-RateLimit-Remaining", "0")
	if s.opts.RetryAfterHeader {
		secs := int(math.Ceil(retry.Seconds()))
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	writeError(w, &apiError{Status: http.StatusTooManyRequests, Code: 429,
		Message: "Rate limit exceeded. Please try again after some time.",
		Errors:  map[string][]string{}})
}
