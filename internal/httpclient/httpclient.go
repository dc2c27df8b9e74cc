// Package httpclient is outbound HTTP for connectors: timeouts, a
// per-connection rate limit enforced before the provider's, a 429 or
// Retry-After that pauses the whole connection (not one request), errors
// mapped to fault kinds with the provider's own message, and credentials
// kept out of errors and logs.
package httpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/patchbay/patchbay/internal/fault"
)

// Options configure a Client.
type Options struct {
	// Name prefixes errors ("iconik").
	Name string
	// Timeout bounds one request (default 30s).
	Timeout time.Duration
	// Rate is requests per second allowed (0: unlimited); Burst defaults to Rate.
	Rate  float64
	Burst int
	// MaxWait is the longest a request waits for the limiter (or a pause
	// after a 429) before failing with a rate-limited error that tells the
	// engine how long to delay the step (default 2s).
	MaxWait time.Duration
	// DecodeError extracts the provider's message from an error response.
	DecodeError func(status int, header http.Header, body []byte) string
	// RetryAfter reads a provider-specific back-off from a 429 answer when
	// there is no Retry-After header (e.g. X-RateLimit-Reset).
	RetryAfter func(header http.Header) time.Duration
	// DefaultRetryAfter is assumed on a 429 that says nothing (default 1s).
	DefaultRetryAfter time.Duration
	// Secrets are values never to appear in errors or logs (tokens, keys).
	Secrets []string
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
	// CheckURL vets each request's URL (the generic http connector's allowlist).
	CheckURL  func(u *url.URL) error
	UserAgent string
	Logger    *slog.Logger
	Now       func() time.Time
}

// Client is an HTTP client for one connection.
type Client struct {
	opts Options
	hc   *http.Client
	lim  *limiter
	log  *slog.Logger
}

// New returns a client.
func New(opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 2 * time.Second
	}
	if opts.DefaultRetryAfter <= 0 {
		opts.DefaultRetryAfter = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "patchbay/1"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	tr := opts.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		t.ResponseHeaderTimeout = opts.Timeout
		tr = t
	}
	c := &Client{opts: opts, log: opts.Logger, lim: newLimiter(opts.Rate, opts.Burst, opts.Now)}
	c.hc = &http.Client{Transport: tr, Timeout: opts.Timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("stopped after 5 redirects")
		}
		if opts.CheckURL != nil {
			return opts.CheckURL(req.URL)
		}
		return nil
	}}
	return c
}

// SetRate changes the rate limit.
func (c *Client) SetRate(rate float64, burst int) { c.lim.set(rate, burst) }

// Pause stops every request of this client until t (a provider asked for it).
func (c *Client) Pause(until time.Time) { c.lim.pause(until) }

// Do sends req after the rate limiter admits it and maps failures to
// fault kinds. A non-2xx answer is returned as an error (the body read and
// closed); a 2xx answer's body is the caller's to close.
func (c *Client) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	op := c.opts.Name + ": " + req.Method + " " + c.redact(req.URL.Path)
	if c.opts.CheckURL != nil {
		if err := c.opts.CheckURL(req.URL); err != nil {
			return nil, fault.E(fault.Forbidden, op, err)
		}
	}
	if wait := c.lim.reserve(c.opts.MaxWait); wait > 0 {
		// Too long to wait here: let the engine delay the step (nothing was sent).
		return nil, fault.Safe(fault.E(fault.RateLimited, op, "rate limit of the connection reached", wait))
	} else if wait < 0 {
		t := time.NewTimer(-wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fault.E(fault.Canceled, op, ctx.Err())
		}
	}
	req = req.WithContext(ctx)
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
	start := c.opts.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, op, err)
	}
	c.log.Debug("http", "method", req.Method, "path", c.redact(req.URL.Path), "status", resp.StatusCode, "ms", c.opts.Now().Sub(start).Milliseconds())
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return nil, c.statusError(op, resp, body)
}

func (c *Client) transportError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil {
		return fault.E(fault.Canceled, op, ctx.Err())
	}
	msg := c.redact(err.Error())
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return fault.E(fault.Transient, op, "timed out: "+msg)
	}
	// Nothing reached the provider when the connection was refused or the
	// name did not resolve: safe to retry any action.
	var dnsErr *net.DNSError
	var opErr *net.OpError
	if errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &dnsErr) || (errors.As(err, &opErr) && opErr.Op == "dial") {
		return fault.Safe(fault.E(fault.Transient, op, msg))
	}
	var pe *policyError
	if errors.As(err, &pe) {
		return fault.E(fault.Forbidden, op, msg)
	}
	return fault.E(fault.Transient, op, msg)
}

func (c *Client) statusError(op string, resp *http.Response, body []byte) error {
	msg := ""
	if c.opts.DecodeError != nil {
		msg = c.opts.DecodeError(resp.StatusCode, resp.Header, body)
	}
	if msg == "" {
		msg = strings.TrimSpace(string(body))
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
	}
	msg = c.redact(fmt.Sprintf("%d %s: %s", resp.StatusCode, http.StatusText(resp.StatusCode), msg))
	kind := fault.FromStatus(resp.StatusCode)
	if resp.StatusCode == http.StatusTooManyRequests || (resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "") {
		d := ParseRetryAfter(resp.Header.Get("Retry-After"), c.opts.Now())
		if d <= 0 && c.opts.RetryAfter != nil {
			d = c.opts.RetryAfter(resp.Header)
		}
		if d <= 0 {
			d = c.opts.DefaultRetryAfter
		}
		// The whole connection slows down, not just this request.
		c.lim.pause(c.opts.Now().Add(d))
		return fault.Safe(fault.E(fault.RateLimited, op, msg, d, resp.StatusCode))
	}
	err := fault.E(kind, op, msg, resp.StatusCode)
	if resp.StatusCode == http.StatusServiceUnavailable {
		return fault.Safe(err)
	}
	return err
}

// redact removes secrets from a message.
func (c *Client) redact(s string) string {
	for _, sec := range c.opts.Secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

// ParseRetryAfter reads a Retry-After value: seconds or an HTTP date.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 || math.IsNaN(n) {
			return 0
		}
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now)
	}
	return 0
}

// JSON sends a JSON request and decodes a JSON answer into out (when not
// nil). body may be nil, []byte (sent as is) or a value to encode. It returns
// the response headers.
func (c *Client) JSON(ctx context.Context, method, rawURL string, header http.Header, body, out any) (http.Header, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(body)
		if err != nil {
			return nil, fault.E(fault.Invalid, "encoding request body", err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, fault.E(fault.Invalid, c.opts.Name+": building request", errors.New(c.redact(err.Error())))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if rd != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return resp.Header, nil
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fault.E(fault.Transient, c.opts.Name+": reading response", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return resp.Header, nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return nil, fault.E(fault.Permanent, c.opts.Name+": decoding response", err)
	}
	return resp.Header, nil
}

// policyError marks a URL refused by CheckURL.
type policyError struct{ msg string }

func (e *policyError) Error() string { return e.msg }

// Refuse builds the error CheckURL returns for a refused URL.
func Refuse(format string, args ...any) error { return &policyError{msg: fmt.Sprintf(format, args...)} }

// limiter is a token bucket that a 429 can pause.
type limiter struct {
	mu          sync.Mutex
	rate, burst float64
	tokens      float64
	last        time.Time
	pausedUntil time.Time
	now         func() time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	l := &limiter{now: now, last: now()}
	l.set(rate, burst)
	return l
}

func (l *limiter) set(rate float64, burst int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate, l.burst = rate, float64(burst)
	if l.burst <= 0 {
		l.burst = math.Max(1, math.Ceil(rate))
	}
	l.tokens = l.burst
}

func (l *limiter) pause(until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
	l.tokens = 0
}

// reserve takes a token. It returns 0 to go at once, a negative duration to
// wait that long (the token is taken), or a positive duration when the wait
// would exceed maxWait (nothing taken; try again after it).
func (l *limiter) reserve(maxWait time.Duration) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	if now.Before(l.pausedUntil) {
		wait = l.pausedUntil.Sub(now)
	}
	if l.rate <= 0 {
		if wait > maxWait {
			return wait
		}
		return -wait
	}
	l.tokens = math.Min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	if l.tokens < 1 {
		need := time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
		if need > wait {
			wait = need
		}
	}
	if wait > maxWait {
		return wait
	}
	l.tokens--
	return -wait
}
