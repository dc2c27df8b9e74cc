package kit

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Call is one request a sandbox received, as listed by GET /_sandbox/calls.
type Call struct {
	Time   time.Time `json:"time"`
	Method string    `json:"method"`
	Path   string    `json:"path"`
	Query  string    `json:"query,omitempty"`
	Status int       `json:"status"`
	// Headers holds the request headers with credentials masked.
	Headers map[string]string `json:"headers,omitempty"`
}

// Recorder keeps the calls a sandbox received, newest last, up to a bound.
type Recorder struct {
	mu    sync.Mutex
	calls []Call
	max   int
	clock Clock
}

// NewRecorder returns a recorder keeping the last 100,000 calls.
func NewRecorder(clock Clock) *Recorder { return &Recorder{max: 100_000, clock: clock} }

var maskedHeaders = map[string]bool{
	"Authorization": true, "Auth-Token": true, "Authtoken": true, "Api_key": true,
	"Cookie": true, "Access_token": true,
}

func (rc *Recorder) add(r *http.Request, status int, at time.Time) {
	h := make(map[string]string, len(r.Header))
	for k, v := range r.Header {
		if maskedHeaders[http.CanonicalHeaderKey(k)] {
			h[k] = "***"
			continue
		}
		h[k] = strings.Join(v, ",")
	}
	c := Call{Time: at, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Status: status, Headers: h}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.calls) >= rc.max {
		rc.calls = append(rc.calls[:0], rc.calls[len(rc.calls)/2:]...)
	}
	rc.calls = append(rc.calls, c)
}

// List returns the calls whose path starts with prefix ("" for all).
func (rc *Recorder) List(prefix string) []Call {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make([]Call, 0, len(rc.calls))
	for _, c := range rc.calls {
		if strings.HasPrefix(c.Path, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// Count returns how many calls matched method (or "" for any) and path prefix.
func (rc *Recorder) Count(method, prefix string) int {
	n := 0
	for _, c := range rc.List(prefix) {
		if method == "" || c.Method == method {
			n++
		}
	}
	return n
}

// Reset forgets every call.
func (rc *Recorder) Reset() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls = nil
}
