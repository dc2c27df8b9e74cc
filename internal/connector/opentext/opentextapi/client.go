// Package opentextapi is a typed REST client for OpenText Workflow Service
// (the /workflow/v1 API of OpenText's developer cloud): OAuth2 tokens from
// <host>/tenants/{tenant}/oauth2/token (client_credentials, or the password
// grant to act as a person) cached and refreshed before they expire and once
// on a 401; the HAL list envelope with offset/count paging (and the
// {links, content} rendering of the same model); Flowable error bodies
// ({message, exception}) and Apigee gateway faults mapped to fault kinds;
// retries with backoff for reads and for calls that provably applied
// nothing. Rate limiting and Retry-After come from package httpclient.
//
// It imports nothing of patchbay's platform except fault and httpclient.
package opentextapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/httpclient"
)

// Config configures a Client.
type Config struct {
	// BaseURL is the region host, e.g. https://na-1.api.opentext.com.
	BaseURL string
	// TenantID names the tenant the token is issued under.
	TenantID     string
	ClientID     string
	ClientSecret string
	// Username and Password, when set, select the password grant: calls act
	// as that tenant user (claims, completions and comments are theirs).
	Username string
	Password string
	// TokenURL overrides <BaseURL>/tenants/<TenantID>/oauth2/token.
	TokenURL string
	// WorkflowURL overrides <BaseURL>/workflow/v1.
	WorkflowURL string
	// RefreshBefore renews a token this long before it expires (default
	// 60s, at most half the token's lifetime).
	RefreshBefore time.Duration
	// Retries is how many more times a read (GET, PUT, DELETE) is tried
	// after a transient failure, and any call after a failure that provably
	// applied nothing (default 2; negative: none).
	Retries int
	// Backoff is the first delay between tries, doubled each time (default 250ms).
	Backoff time.Duration
	// HTTP sends the requests (rate limit, timeouts, redaction). Required.
	HTTP *httpclient.Client
	Now  func() time.Time
}

// Client talks to one tenant. It is safe for concurrent use.
type Client struct {
	cfg      Config
	http     *httpclient.Client
	tokenURL string
	wfURL    string

	mu  sync.Mutex
	tok token
	sem chan struct{} // one token fetch at a time
}

type token struct {
	value   string
	expires time.Time
	renewAt time.Time
	refresh string
}

// New returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.HTTP == nil {
		return nil, fault.Errorf(fault.Invalid, "opentextapi: no HTTP client")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = time.Minute
	}
	if cfg.Retries == 0 {
		cfg.Retries = 2
	} else if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 250 * time.Millisecond
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	c := &Client{cfg: cfg, http: cfg.HTTP, tokenURL: cfg.TokenURL, wfURL: strings.TrimRight(cfg.WorkflowURL, "/"), sem: make(chan struct{}, 1)}
	if c.tokenURL == "" || c.wfURL == "" {
		u, err := url.Parse(base)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fault.Errorf(fault.Invalid, "opentext: base_url %q is not an absolute URL (want e.g. https://na-1.api.opentext.com)", cfg.BaseURL)
		}
	}
	if c.tokenURL == "" {
		if cfg.TenantID == "" {
			return nil, fault.Errorf(fault.Invalid, "opentext: tenant_id is required")
		}
		c.tokenURL = base + "/tenants/" + url.PathEscape(cfg.TenantID) + "/oauth2/token"
	}
	if c.wfURL == "" {
		c.wfURL = base + "/workflow/v1"
	}
	return c, nil
}

// Grant names the OAuth2 grant the client uses.
func (c *Client) Grant() string {
	if c.cfg.Username != "" {
		return "password"
	}
	return "client_credentials"
}

// Token returns a valid access token, fetching one when none is cached or
// the cached one is about to expire.
func (c *Client) Token(ctx context.Context) (string, error) {
	if v, ok := c.cached(); ok {
		return v, nil
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", fault.E(fault.Canceled, "opentext: getting token", ctx.Err())
	}
	defer func() { <-c.sem }()
	if v, ok := c.cached(); ok {
		return v, nil
	}
	return c.fetch(ctx)
}

func (c *Client) cached() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok.value == "" || !c.cfg.Now().Before(c.tok.renewAt) {
		return "", false
	}
	return c.tok.value, true
}

// Invalidate forgets tok if it is the cached token (a 401 proved it dead).
func (c *Client) Invalidate(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok.value == tok {
		c.tok.value = ""
	}
}

type tokenResponse struct {
	AccessToken  string      `json:"access_token"`
	ExpiresIn    json.Number `json:"expires_in"`
	RefreshToken string      `json:"refresh_token"`
	TokenType    string      `json:"token_type"`
}

// DefaultTokenLifetime is assumed when the token response has no expires_in
// (UNCONFIRMED: the notes do not say how long OpenText tokens live).
const DefaultTokenLifetime = time.Hour

func (c *Client) fetch(ctx context.Context) (string, error) {
	c.mu.Lock()
	refresh := c.tok.refresh
	c.mu.Unlock()
	body := map[string]string{"client_id": c.cfg.ClientID, "client_secret": c.cfg.ClientSecret, "grant_type": c.Grant()}
	if c.cfg.Username != "" {
		body["username"], body["password"] = c.cfg.Username, c.cfg.Password
	}
	var resp tokenResponse
	var err error
	if refresh != "" {
		// A refresh token (password grant) saves sending the password again;
		// when it is refused, fall back to the grant itself.
		rb := map[string]string{"client_id": c.cfg.ClientID, "client_secret": c.cfg.ClientSecret, "grant_type": "refresh_token", "refresh_token": refresh}
		if _, err = c.http.JSON(ctx, http.MethodPost, c.tokenURL, nil, rb, &resp); err != nil && fault.Is(err, fault.Canceled) {
			return "", err
		}
	}
	if refresh == "" || err != nil {
		resp = tokenResponse{}
		if _, err = c.http.JSON(ctx, http.MethodPost, c.tokenURL, nil, body, &resp); err != nil {
			switch fault.KindOf(err) {
			case fault.Invalid, fault.Unauthorized, fault.Forbidden:
				// invalid_client (401) or invalid_grant (400): the credentials are wrong.
				return "", fault.E(fault.Unauthorized, "opentext: getting token ("+c.Grant()+" grant)", err)
			}
			return "", err
		}
	}
	if resp.AccessToken == "" {
		return "", fault.E(fault.Unauthorized, "opentext: getting token", "the token endpoint answered without an access_token")
	}
	life := DefaultTokenLifetime
	if n, err := resp.ExpiresIn.Float64(); err == nil && n > 0 {
		life = time.Duration(n * float64(time.Second))
	}
	early := min(c.cfg.RefreshBefore, life/2)
	now := c.cfg.Now()
	c.mu.Lock()
	c.tok = token{value: resp.AccessToken, expires: now.Add(life), renewAt: now.Add(life - early), refresh: resp.RefreshToken}
	c.mu.Unlock()
	return resp.AccessToken, nil
}

// call sends one /workflow/v1 request with the bearer token. A 401 drops
// the token and tries once more with a fresh one; reads and calls that
// failed safely are retried with backoff.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body, out any) error {
	u := c.wfURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	refreshed := false
	delay := c.cfg.Backoff
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return fault.E(fault.Canceled, "opentext: "+method+" "+path, err)
		}
		tok, err := c.Token(ctx)
		if err != nil {
			return err
		}
		_, err = c.http.JSON(ctx, method, u, http.Header{"Authorization": {"Bearer " + tok}}, body, out)
		if err == nil {
			return nil
		}
		if fault.Is(err, fault.Unauthorized) && !refreshed {
			// Expired or revoked: get a new token and try once more.
			c.Invalidate(tok)
			refreshed = true
			attempt--
			continue
		}
		if attempt >= c.cfg.Retries || !retryable(method, err) {
			return refine(err)
		}
		if fault.Is(err, fault.RateLimited) {
			// The HTTP client has paused the whole connection for the
			// provider's Retry-After; the next request waits it out there.
			continue
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fault.E(fault.Canceled, "opentext: "+method+" "+path, ctx.Err())
		}
		delay *= 2
	}
}

// maxRetryWait caps a provider-requested delay the client waits out itself;
// a longer one is the engine's to schedule.
const maxRetryWait = 2 * time.Second

func retryable(method string, err error) bool {
	switch fault.KindOf(err) {
	case fault.RateLimited:
		return fault.IsSafe(err) && fault.RetryAfter(err) <= maxRetryWait
	case fault.Transient:
		return fault.IsSafe(err) || method == http.MethodGet || method == http.MethodPut || method == http.MethodDelete
	}
	return false
}

// deterministic lists process failures (answered 500 by the service) that
// come from the request's content, so trying again cannot help.
var deterministic = []string{
	"Unknown property used in expression",
	"Error while evaluating expression",
	"No outgoing sequence flow",
	"Cannot resolve identifier",
}

// refine turns a 500 caused by the request's own content (a missing process
// variable, say) into kind Invalid.
func refine(err error) error {
	var fe *fault.Error
	if !errors.As(err, &fe) || fe.Kind != fault.Transient || fe.Status != http.StatusInternalServerError {
		return err
	}
	msg := err.Error()
	for _, d := range deterministic {
		if strings.Contains(msg, d) {
			return &fault.Error{Kind: fault.Invalid, Status: fe.Status, Err: err}
		}
	}
	return err
}

// DecodeError extracts the service's message from an error body: the
// Flowable-style {message, exception}, the Apigee gateway fault
// {fault: {faultstring, detail: {errorcode}}}, or an OAuth2 error
// {error, error_description}. It is meant for httpclient.Options.DecodeError.
func DecodeError(_ int, _ http.Header, body []byte) string {
	var b struct {
		Message   string `json:"message"`
		Exception string `json:"exception"`
		Fault     *struct {
			FaultString string `json:"faultstring"`
			Detail      struct {
				ErrorCode string `json:"errorcode"`
			} `json:"detail"`
		} `json:"fault"`
		Error       any    `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &b) != nil {
		return ""
	}
	switch {
	case b.Fault != nil:
		if b.Fault.Detail.ErrorCode != "" {
			return fmt.Sprintf("%s (%s)", b.Fault.FaultString, b.Fault.Detail.ErrorCode)
		}
		return b.Fault.FaultString
	case b.Exception != "":
		return b.Exception
	case b.Description != "":
		return fmt.Sprintf("%v: %s", b.Error, b.Description)
	case b.Message != "":
		return b.Message
	case b.Error != nil:
		return fmt.Sprint(b.Error)
	}
	return ""
}
