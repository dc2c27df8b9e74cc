// Package iconikapi is a typed client for the iconik REST API
// (https://app.iconik.io/API/): App-ID and Auth-Token authentication,
// iconik's error body ({"errors": [...]} or {"errors": {field: ...}})
// decoded into fault kinds, page-number, cursor (last_id) and search_after
// pagination, and a per-connection rate limit that a 429 slows down as a
// whole. It knows nothing of patchbay beyond packages fault and httpclient.
package iconikapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/httpclient"
)

// DefaultBaseURL is iconik's US deployment.
const DefaultBaseURL = "https://app.iconik.io"

// DefaultRate is the default request rate per connection: below the roughly
// 50 requests per second iconik is said to allow per application (UNCONFIRMED).
const DefaultRate = 40

// Options configure a Client.
type Options struct {
	// BaseURL is the tenant's address ("https://app.iconik.io"); a trailing
	// "/API" is accepted and ignored.
	BaseURL   string
	AppID     string
	AuthToken string
	// Rate is requests per second (0: DefaultRate; negative: unlimited):
	// a token bucket (Burst defaults to a tenth of Rate, at least 1) and, as
	// iconik counts per window, at most Rate requests sent in any second.
	Rate  float64
	Burst int
	// Timeout bounds one request (default 30s).
	Timeout time.Duration
	// Retries429 is how often one call is retried after a 429 or a full
	// rate budget before the error is returned (default 5; negative: never).
	// The whole connection pauses for the Retry-After either way.
	Retries429 int
	// MaxRetryWait is the longest Retry-After waited out inside one call
	// (default 10s); a longer one is returned as a rate-limited error so the
	// caller can reschedule.
	MaxRetryWait time.Duration
	Transport    http.RoundTripper
	Logger       *slog.Logger
	Now          func() time.Time
}

// Client calls one iconik tenant. It is safe for concurrent use.
type Client struct {
	http      *httpclient.Client
	base      string // ".../API"
	appID     string
	token     string
	retries   int
	retryWait time.Duration
}

// New returns a client.
func New(o Options) (*Client, error) {
	base := strings.TrimRight(o.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	base = strings.TrimSuffix(base, "/API")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fault.Errorf(fault.Invalid, "iconik: base_url %q is not an http(s) URL", o.BaseURL)
	}
	if o.AppID == "" || o.AuthToken == "" {
		return nil, fault.Errorf(fault.Invalid, "iconik: app_id and auth_token are required")
	}
	rate := o.Rate
	switch {
	case rate == 0:
		rate = DefaultRate
	case rate < 0:
		rate = 0
	}
	burst := o.Burst
	if burst <= 0 && rate > 0 {
		burst = max(1, int(rate/10))
	}
	if o.Retries429 == 0 {
		o.Retries429 = 5
	}
	if o.MaxRetryWait <= 0 {
		o.MaxRetryWait = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	tr := o.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		t.ResponseHeaderTimeout = o.Timeout
		tr = t
	}
	if rate > 0 {
		n := max(1, int(math.Floor(rate)))
		window := max(time.Second, time.Duration(float64(n)/rate*float64(time.Second)))
		tr = newWindowTransport(tr, n, window+windowMargin)
	}
	hc := httpclient.New(httpclient.Options{
		Name: "iconik", Timeout: o.Timeout, Rate: rate, Burst: burst,
		DecodeError: DecodeError, Secrets: []string{o.AuthToken, o.AppID},
		Transport: tr, Logger: o.Logger, Now: o.Now,
	})
	return &Client{http: hc, base: base + "/API", appID: o.AppID, token: o.AuthToken,
		retries: max(o.Retries429, 0), retryWait: o.MaxRetryWait}, nil
}

// SetRate changes the connection's rate limit.
func (c *Client) SetRate(rate float64, burst int) { c.http.SetRate(rate, burst) }

// Do calls path (below /API, e.g. "/assets/v1/assets/ID/") and decodes the
// JSON answer into out when out is not nil. A 429 pauses the whole client
// for the Retry-After and the call is tried again up to Retries429 times.
func (c *Client) Do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	hdr := http.Header{}
	hdr.Set("App-ID", c.appID)
	hdr.Set("Auth-Token", c.token)
	for attempt := 0; ; attempt++ {
		_, err := c.http.JSON(ctx, method, u, hdr, body, out)
		if err == nil {
			return nil
		}
		if !fault.Is(err, fault.RateLimited) || attempt >= c.retries {
			return err
		}
		d := fault.RetryAfter(err)
		if d <= 0 {
			d = time.Second
		}
		if d > c.retryWait {
			return err
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fault.E(fault.Canceled, "iconik: "+method+" "+path, ctx.Err())
		}
	}
}

// DecodeError turns iconik's error body into a message: the list joined
// with "; ", or "field: message" pairs for field-keyed validation errors.
func DecodeError(_ int, _ http.Header, body []byte) string {
	var eb struct {
		Errors json.RawMessage `json:"errors"`
		Error  string          `json:"error"`
	}
	if json.Unmarshal(body, &eb) != nil {
		return ""
	}
	if len(eb.Errors) == 0 {
		return eb.Error
	}
	var list []any
	if json.Unmarshal(eb.Errors, &list) == nil {
		parts := make([]string, 0, len(list))
		for _, v := range list {
			parts = append(parts, flatten(v))
		}
		return strings.Join(parts, "; ")
	}
	var m map[string]any
	if json.Unmarshal(eb.Errors, &m) == nil {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+flatten(m[k]))
		}
		return strings.Join(parts, "; ")
	}
	var s string
	if json.Unmarshal(eb.Errors, &s) == nil {
		return s
	}
	return string(eb.Errors)
}

func flatten(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, flatten(e))
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+flatten(x[k]))
		}
		return strings.Join(parts, "; ")
	}
	return fmt.Sprint(v)
}

// Page is iconik's page-number list envelope.
type Page[T any] struct {
	Objects []T    `json:"objects"`
	Page    int    `json:"page"`
	Pages   int    `json:"pages"`
	PerPage int    `json:"per_page"`
	Total   int    `json:"total"`
	NextURL string `json:"next_url"`
}

// EachPage calls fn for every object of a page-number list (page, per_page)
// until the last page or until fn returns false. It returns the pages fetched.
func EachPage[T any](ctx context.Context, c *Client, path string, q url.Values, perPage int, fn func(T) bool) (int, error) {
	q = cloneQuery(q)
	if perPage <= 0 {
		perPage = 100
	}
	q.Set("per_page", fmt.Sprint(perPage))
	for page := 1; ; page++ {
		q.Set("page", fmt.Sprint(page))
		var p Page[T]
		if err := c.Do(ctx, http.MethodGet, path, q, nil, &p); err != nil {
			if page > 1 && fault.Is(err, fault.NotFound) {
				return page - 1, nil // a page past the end: the list shrank meanwhile
			}
			return page - 1, err
		}
		for _, o := range p.Objects {
			if !fn(o) {
				return page, nil
			}
		}
		switch {
		case len(p.Objects) == 0:
			return page, nil
		case p.Pages > 0 && page >= p.Pages:
			return page, nil
		case p.Pages == 0 && p.NextURL == "":
			return page, nil
		}
	}
}

// cursorPage is the files service's list envelope (per_page + last_id).
type cursorPage[T any] struct {
	Objects []T    `json:"objects"`
	NextURL string `json:"next_url"`
}

// EachCursor calls fn for every object of a files-service list, which pages
// by last_id (the id of the previous page's last object).
func EachCursor[T any](ctx context.Context, c *Client, path string, q url.Values, perPage int, idOf func(T) string, fn func(T) bool) error {
	q = cloneQuery(q)
	if perPage <= 0 {
		perPage = 100
	}
	q.Set("per_page", fmt.Sprint(perPage))
	for {
		var p cursorPage[T]
		if err := c.Do(ctx, http.MethodGet, path, q, nil, &p); err != nil {
			return err
		}
		for _, o := range p.Objects {
			if !fn(o) {
				return nil
			}
		}
		if p.NextURL == "" || len(p.Objects) == 0 {
			return nil
		}
		q.Set("last_id", idOf(p.Objects[len(p.Objects)-1]))
	}
}

func cloneQuery(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// esc escapes one path segment.
func esc(s string) string { return url.PathEscape(s) }
