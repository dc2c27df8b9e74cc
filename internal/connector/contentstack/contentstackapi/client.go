// Package contentstackapi is a typed client for Contentstack's Content
// Management API (CMA, /v3) for one stack: region hosts, the api_key +
// management token headers and the optional branch header, skip/limit
// paging (at most 100 per page, include_count), the JSON query language,
// error bodies ({error_message, error_code, errors}) mapped to patchbay
// error kinds, and the documented per-stack rate limits held before the
// provider enforces them: separate read (GET) and write budgets and the
// bulk endpoints' own 1 request/second, with back-off on 429.
//
// It also verifies webhook deliveries: the RSA-PSS request signature
// against the public key served on the region's app host, and the HMAC
// signature where the organization enabled it.
//
// The package imports nothing of the platform but fault and httpclient.
package contentstackapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/httpclient"
)

// MaxLimit is the documented page-size ceiling of list endpoints.
const MaxLimit = 100

// Default rate budgets: the CMA reference documents 10 GET/s and 10
// writes/s per organization and 1 request/s for bulk actions; the
// troubleshooting guides advise staying at or under 8/s (UNCONFIRMED).
const (
	DefaultReadRate  = 8
	DefaultWriteRate = 8
	DefaultBulkRate  = 1
)

// Options configure a Client.
type Options struct {
	// BaseURL is the CMA host ("https://api.contentstack.io"); a trailing
	// "/v3" is tolerated. AppURL is the app host the webhook signing key is
	// fetched from ("https://app.contentstack.com").
	BaseURL, AppURL string
	APIKey          string
	ManagementToken string
	// Branch is sent as the branch header when set (the stack default is main).
	Branch string
	// ReadRate, WriteRate and BulkRate are requests per second (0: the
	// defaults above; negative: unlimited).
	ReadRate, WriteRate, BulkRate float64
	// Timeout bounds one request (default 30s).
	Timeout time.Duration
	// Backoff is the first wait after a 429 that names no delay (default
	// 1s); consecutive 429s double it up to MaxBackoff (default 8 × Backoff:
	// the budgets are per second, longer waits buy nothing).
	Backoff, MaxBackoff time.Duration
	// RateWait is how long one call keeps waiting out rate limits (its own
	// budget and the provider's 429s) before it returns a rate-limited error
	// for the engine to delay the step (default 10s).
	RateWait time.Duration
	// Redact lists further secrets to keep out of errors and logs (webhook
	// tokens sent in webhook definitions); the management token always is.
	Redact []string
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
	Logger    *slog.Logger
	Now       func() time.Time
}

// Client calls the CMA of one stack. It is safe for concurrent use.
type Client struct {
	opts              Options
	base, app         string
	read, write, bulk *httpclient.Client
	plain             *httpclient.Client // public key: no credentials, no budget
	streak            atomic.Int32       // consecutive 429s
	log               *slog.Logger
}

type class int

const (
	classRead class = iota
	classWrite
	classBulk
)

// New builds a client.
func New(opts Options) (*Client, error) {
	base, err := cleanHost(opts.BaseURL)
	if err != nil {
		return nil, fault.E(fault.Invalid, "contentstack: base_url", err)
	}
	app := ""
	if opts.AppURL != "" {
		if app, err = cleanHost(opts.AppURL); err != nil {
			return nil, fault.E(fault.Invalid, "contentstack: app_url", err)
		}
	}
	if opts.APIKey == "" || opts.ManagementToken == "" {
		return nil, fault.Errorf(fault.Invalid, "contentstack: api_key and management_token are required")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Backoff <= 0 {
		opts.Backoff = time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 8 * opts.Backoff
	}
	if opts.MaxBackoff < opts.Backoff {
		opts.MaxBackoff = opts.Backoff
	}
	if opts.RateWait <= 0 {
		opts.RateWait = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	tr := opts.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		t.ResponseHeaderTimeout = opts.Timeout
		tr = t
	}
	tr = captureTransport{base: tr}
	c := &Client{opts: opts, base: base, app: app, log: opts.Logger}
	mk := func(rate, def float64, maxWait time.Duration) *httpclient.Client {
		switch {
		case rate == 0:
			rate = def
		case rate < 0:
			rate = 0
		}
		return httpclient.New(httpclient.Options{
			Name: "contentstack", Timeout: opts.Timeout, Rate: rate, MaxWait: maxWait,
			DecodeError: func(status int, _ http.Header, body []byte) string {
				return strings.TrimPrefix(decodeAPIError(status, body).Error(), strconv.Itoa(status)+" "+http.StatusText(status)+": ")
			},
			RetryAfter:        c.retryAfter,
			DefaultRetryAfter: opts.Backoff,
			Secrets:           append([]string{opts.ManagementToken}, opts.Redact...),
			Transport:         tr, UserAgent: "patchbay-contentstack/1", Logger: opts.Logger, Now: opts.Now,
		})
	}
	c.read = mk(opts.ReadRate, DefaultReadRate, 2*time.Second)
	c.write = mk(opts.WriteRate, DefaultWriteRate, 2*time.Second)
	c.bulk = mk(opts.BulkRate, DefaultBulkRate, 5*time.Second)
	c.plain = httpclient.New(httpclient.Options{Name: "contentstack", Timeout: opts.Timeout, Transport: tr,
		UserAgent: "patchbay-contentstack/1", Logger: opts.Logger, Now: opts.Now})
	return c, nil
}

func cleanHost(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", errors.New("want an absolute URL such as https://api.contentstack.io")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", errors.New("want an http or https URL")
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/v3")
	return u.Scheme + "://" + u.Host + p, nil
}

// BaseURL returns the CMA host in use.
func (c *Client) BaseURL() string { return c.base }

// AppURL returns the app host the signing key is fetched from.
func (c *Client) AppURL() string { return c.app }

// APIKey returns the stack API key.
func (c *Client) APIKey() string { return c.opts.APIKey }

// Branch returns the branch header value ("" for the default).
func (c *Client) Branch() string { return c.opts.Branch }

// retryAfter reads a delay from a 429 answer: X-RateLimit-Reset when
// present (not documented, but some integrations see it), else an
// exponential back-off from Backoff with ±20% jitter.
func (c *Client) retryAfter(h http.Header) time.Duration {
	n := c.streak.Add(1)
	if v := h.Get("X-RateLimit-Reset"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 && s < 3600 {
			return time.Duration(s * float64(time.Second))
		}
	}
	d := time.Duration(float64(c.opts.Backoff) * math.Pow(2, float64(min(n-1, 8))))
	if d > c.opts.MaxBackoff {
		d = c.opts.MaxBackoff
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// errCapture receives the status and body of an error answer, so the
// client can read error_code and errors (the shared HTTP client keeps
// only a message).
type errCapture struct {
	status int
	body   []byte
}

type captureKey struct{}

type captureTransport struct{ base http.RoundTripper }

func (t captureTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	if c, ok := r.Context().Value(captureKey{}).(*errCapture); ok {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		c.status, c.body = resp.StatusCode, b
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}

func (c *Client) client(cl class) *httpclient.Client {
	switch cl {
	case classWrite:
		return c.write
	case classBulk:
		return c.bulk
	}
	return c.read
}

// request is one CMA call.
type request struct {
	class  class
	method string
	path   string // under /v3, e.g. "/content_types"
	query  url.Values
	header http.Header
	body   any
}

// do sends a request and decodes the answer into out. Rate limits (the
// client's own budget and the provider's 429s, which pause every request
// of the stack) are waited out for up to RateWait; transient failures of
// reads are retried twice. Errors carry patchbay kinds.
func (c *Client) do(ctx context.Context, r request, out any) error {
	op := "contentstack: " + r.method + " /v3" + r.path
	u := c.base + "/v3" + escapePath(r.path)
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	h := http.Header{}
	h.Set("api_key", c.opts.APIKey)
	h.Set("authorization", c.opts.ManagementToken)
	if c.opts.Branch != "" {
		h.Set("branch", c.opts.Branch)
	}
	for k, v := range r.header {
		h[k] = v
	}
	hc := c.client(r.class)
	deadline := c.opts.Now().Add(c.opts.RateWait)
	transient := 0
	for {
		if err := ctx.Err(); err != nil {
			return fault.E(fault.Canceled, op, err)
		}
		capture := &errCapture{}
		_, err := hc.JSON(context.WithValue(ctx, captureKey{}, capture), r.method, u, h.Clone(), r.body, out)
		if err == nil {
			c.streak.Store(0)
			return nil
		}
		if capture.status != 0 && capture.status != http.StatusTooManyRequests {
			err = c.classify(op, capture, err)
		}
		switch kind := fault.KindOf(err); {
		case kind == fault.Canceled:
			return err
		case kind == fault.RateLimited:
			d := fault.RetryAfter(err)
			if d <= 0 {
				d = c.opts.Backoff
			}
			if capture.status == http.StatusTooManyRequests {
				// The provider's budget is per stack: slow every class down.
				until := c.opts.Now().Add(d)
				for _, other := range []*httpclient.Client{c.read, c.write, c.bulk} {
					other.Pause(until)
				}
			}
			if c.opts.Now().Add(d).After(deadline) {
				return err
			}
			c.log.Debug("contentstack rate limited; waiting", "path", r.path, "wait_ms", d.Milliseconds())
			if werr := sleep(ctx, d); werr != nil {
				return fault.E(fault.Canceled, op, werr)
			}
		case kind == fault.Transient && r.method == http.MethodGet && transient < 2:
			transient++
			if werr := sleep(ctx, time.Duration(transient*transient)*200*time.Millisecond); werr != nil {
				return fault.E(fault.Canceled, op, werr)
			}
		default:
			return err
		}
	}
}

// classify rebuilds an error answer's error with the kind Contentstack's
// error body implies and the decoded body in the chain.
func (c *Client) classify(op string, capture *errCapture, err error) error {
	ae := decodeAPIError(capture.status, capture.body)
	ae.Message = c.redact(ae.Message)
	for k, msgs := range ae.Errors {
		for i := range msgs {
			msgs[i] = c.redact(msgs[i])
		}
		ae.Errors[k] = msgs
	}
	return &fault.Error{Kind: ae.Kind(), Op: op, Status: capture.status, Safe: fault.IsSafe(err), RetryAfter: fault.RetryAfter(err), Err: ae}
}

func (c *Client) redact(s string) string {
	for _, t := range append([]string{c.opts.ManagementToken}, c.opts.Redact...) {
		if len(t) >= 4 {
			s = strings.ReplaceAll(s, t, "***")
		}
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// escapePath escapes each path segment (uids are [a-z0-9_] but names of
// environments may hold other characters).
func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// AsAPIError returns the decoded Contentstack error in err's chain.
func AsAPIError(err error) (*APIError, bool) {
	var ae *APIError
	ok := errors.As(err, &ae)
	return ae, ok
}
