// Package httpx is the built-in generic HTTP connector ("http"): a request
// action for any JSON or text API, with a destination allowlist, and a
// webhook trigger for any system that can post JSON, verified by a shared
// token or an HMAC-SHA256 signature.
//
// Without an allowlist, requests may go to public addresses only: loopback,
// private and link-local addresses are refused when dialing, so a flow
// cannot be turned against the network patchbay runs in.
package httpx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/fault"
	"github.com/patchbay/patchbay/internal/httpclient"
)

func init() { connector.Register(Connector{}) }

// Connector is the http connector.
type Connector struct{}

var spec = &connector.Spec{
	Name:    "http",
	Title:   "HTTP",
	Doc:     "Calls any HTTP API and receives JSON webhooks from any system.",
	Builtin: true,
	Connection: []connector.Field{
		{Name: "base_url", Type: connector.String, Doc: "Prefix for relative request URLs."},
		{Name: "headers", Type: connector.Object, Open: true, Secret: true, Doc: "Headers sent with every request (credentials go here; stored encrypted)."},
		{Name: "allow", Type: connector.List, Items: &connector.Field{Type: connector.String},
			Doc: "Destinations requests may reach: host, host:port, *.domain or *. Empty: public addresses only."},
		{Name: "timeout", Type: connector.Duration, Default: "30s"},
		{Name: "rate", Type: connector.Number, Default: 0, Doc: "Requests per second allowed (0: unlimited)."},
		{Name: "idempotency_header", Type: connector.String, Default: "Idempotency-Key", Doc: "Header carrying the step's idempotency key (empty: not sent)."},
		{Name: "webhook_verify", Type: connector.String, Default: "token", Enum: []any{"none", "token", "hmac"},
			Doc: "How inbound webhooks are verified: a shared token header, an HMAC-SHA256 signature of the body, or not at all."},
		{Name: "webhook_secret", Type: connector.String, Secret: true, Doc: "The shared token or HMAC key for inbound webhooks."},
		{Name: "webhook_header", Type: connector.String, Doc: "Header holding the token (default X-Patchbay-Token) or signature (default X-Patchbay-Signature, sha256=<hex>)."},
		{Name: "webhook_object", Type: connector.String, Doc: "Dotted path in the JSON body of the object id (makes event.object)."},
		{Name: "webhook_object_type", Type: connector.String, Default: "http:object", Doc: "Prefix of event.object: <type>/<id>."},
		{Name: "webhook_hash", Type: connector.String, Doc: "Dotted path in the body whose content is hashed to recognise patchbay's own writes coming back (default: the whole body)."},
	},
	Triggers: []connector.TriggerSpec{{
		Name: "webhook", Title: "JSON webhook", Kind: connector.Webhook,
		Doc: "POST /hooks/<connection>/webhook with a JSON body. The event's id comes from an X-Event-Id or Idempotency-Key " +
			"header when present (else a hash of the body), its type is webhook.received and its data holds body and query.",
		EventTypes: []string{"webhook.received"},
		Data: []connector.Field{
			{Name: "body", Type: connector.Any, Doc: "The decoded JSON body."},
			{Name: "query", Type: connector.Object, Open: true, Doc: "Query parameters."},
		},
	}},
	Actions: []connector.ActionSpec{{
		Name: "request", Title: "Send an HTTP request", Writes: true,
		Doc: "Sends a request and returns status, headers and the decoded body. Non-2xx answers fail the step with the " +
			"matching error kind. GET, HEAD, PUT, DELETE and OPTIONS are retried on transient failures; POST and PATCH only " +
			"when idempotent is true or nothing reached the server.",
		Input: []connector.Field{
			{Name: "method", Type: connector.String, Default: "GET", Enum: []any{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}, Doc: "HTTP method."},
			{Name: "url", Type: connector.String, Required: true, Doc: "Absolute, or relative to the connection's base_url."},
			{Name: "headers", Type: connector.Object, Open: true, Doc: "Request headers (added to the connection's)."},
			{Name: "query", Type: connector.Object, Open: true, Doc: "Query parameters."},
			{Name: "json", Type: connector.Any, Doc: "Body sent as JSON."},
			{Name: "body", Type: connector.String, Doc: "Body sent as is (with json unset)."},
			{Name: "idempotent", Type: connector.Bool, Doc: "Declare a POST or PATCH safe to repeat (the server dedupes by the idempotency key)."},
			{Name: "object", Type: connector.String, Doc: "Reference of the object the request writes (\"sink:item/42\"), for the audit trail and echo suppression."},
		},
		Output: []connector.Field{
			{Name: "status", Type: connector.Int},
			{Name: "headers", Type: connector.Object, Open: true},
			{Name: "json", Type: connector.Any, Doc: "The decoded body when it is JSON."},
			{Name: "body", Type: connector.String, Doc: "The body when it is not JSON (first 64 KiB)."},
		},
		Examples: []connector.Example{{
			Title: "Post a mapped record",
			Input: map[string]any{"method": "POST", "url": "https://example.com/items", "json": map[string]any{"title": "Trailer"}},
		}},
	}},
}

// Spec implements connector.Connector.
func (Connector) Spec() *connector.Spec { return spec }

// Conn is an opened http connection.
type Conn struct {
	cfg    connector.Config
	base   *url.URL
	hdr    map[string]any
	client *httpclient.Client
	idemH  string
}

// Open implements connector.Connector.
func (Connector) Open(_ context.Context, cfg connector.Config) (connector.Conn, error) {
	c := &Conn{cfg: cfg, idemH: cfg.String("idempotency_header")}
	if b := cfg.String("base_url"); b != "" {
		u, err := url.Parse(b)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fault.Errorf(fault.Invalid, "http: base_url %q is not an absolute URL", b)
		}
		c.base = u
	}
	c.hdr, _ = cfg.Values["headers"].(map[string]any)
	var allow []string
	if list, ok := cfg.Values["allow"].([]any); ok {
		for _, a := range list {
			allow = append(allow, fmt.Sprint(a))
		}
	}
	timeout := 30 * time.Second
	if s := cfg.String("timeout"); s != "" {
		if d, err := connector.ParseDuration(s); err == nil && d > 0 {
			timeout = d
		}
	}
	rate, _ := cfg.Values["rate"].(float64)
	if n, ok := cfg.Values["rate"].(int); ok {
		rate = float64(n)
	}
	var secrets []string
	for _, v := range c.hdr {
		secrets = append(secrets, fmt.Sprint(v))
	}
	if s := cfg.String("webhook_secret"); s != "" {
		secrets = append(secrets, s)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	if len(allow) == 0 {
		dialer.Control = publicOnly
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = dialer.DialContext
	tr.MaxIdleConnsPerHost = 64
	c.client = httpclient.New(httpclient.Options{Name: "http", Timeout: timeout, Rate: rate, Secrets: secrets,
		Transport: tr, CheckURL: allowlist(allow), Logger: cfg.Logger, Now: cfg.Now})
	return c, nil
}

// Close implements connector.Conn.
func (c *Conn) Close() error { return nil }

// allowlist returns a URL check for the patterns (nil check when empty:
// the dialer then refuses non-public addresses).
func allowlist(patterns []string) func(*url.URL) error {
	return func(u *url.URL) error {
		if u.Scheme != "http" && u.Scheme != "https" {
			return httpclient.Refuse("scheme %q not allowed", u.Scheme)
		}
		if len(patterns) == 0 {
			return nil
		}
		host, port := u.Hostname(), u.Port()
		for _, p := range patterns {
			if p == "*" {
				return nil
			}
			ph, pp, hasPort := strings.Cut(p, ":")
			if hasPort && pp != "*" && pp != port {
				continue
			}
			if ok, _ := path.Match(ph, host); ok {
				return nil
			}
		}
		return httpclient.Refuse("destination %s is not in the connection's allow list", u.Host)
	}
}

func publicOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() {
		return httpclient.Refuse("address %s is not public; add the host to the connection's allow list", host)
	}
	return nil
}

// Do implements connector.Conn.
func (c *Conn) Do(ctx context.Context, action string, req *connector.Request) (*connector.Result, error) {
	if action != "request" {
		return nil, fault.Errorf(fault.Invalid, "http: unknown action %q", action)
	}
	in := req.Input
	method, _ := in["method"].(string)
	if method == "" {
		method = http.MethodGet
	}
	raw, _ := in["url"].(string)
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fault.Errorf(fault.Invalid, "http: bad url %q: %v", raw, err)
	}
	if !u.IsAbs() {
		if c.base == nil {
			return nil, fault.Errorf(fault.Invalid, "http: url %q is relative and the connection has no base_url", raw)
		}
		u = c.base.ResolveReference(u)
	}
	if q, ok := in["query"].(map[string]any); ok {
		vals := u.Query()
		for k, v := range q {
			vals.Set(k, fmt.Sprint(v))
		}
		u.RawQuery = vals.Encode()
	}
	var body io.Reader
	var sent []byte
	if j, ok := in["json"]; ok && j != nil {
		sent, err = json.Marshal(j)
		if err != nil {
			return nil, fault.E(fault.Invalid, "http: encoding json", err)
		}
		body = bytes.NewReader(sent)
	} else if s, ok := in["body"].(string); ok {
		sent = []byte(s)
		body = bytes.NewReader(sent)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fault.Errorf(fault.Invalid, "http: building request: %v", err)
	}
	for k, v := range c.hdr {
		hreq.Header.Set(k, fmt.Sprint(v))
	}
	if h, ok := in["headers"].(map[string]any); ok {
		for k, v := range h {
			hreq.Header.Set(k, fmt.Sprint(v))
		}
	}
	if _, ok := in["json"]; ok && hreq.Header.Get("Content-Type") == "" {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if c.idemH != "" && req.IdempotencyKey != "" && hreq.Header.Get(c.idemH) == "" {
		hreq.Header.Set(c.idemH, req.IdempotencyKey)
	}
	resp, err := c.client.Do(ctx, hreq)
	if err != nil {
		idem, _ := in["idempotent"].(bool)
		if idem || safeMethod(method) {
			return nil, fault.Safe(err)
		}
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, fault.E(fault.Transient, "http: reading response", err)
	}
	headers := map[string]any{}
	for k := range resp.Header {
		headers[k] = resp.Header.Get(k)
	}
	out := map[string]any{"status": resp.StatusCode, "headers": headers}
	var decoded any
	if len(bytes.TrimSpace(data)) > 0 && json.Unmarshal(data, &decoded) == nil {
		out["json"] = decoded
	} else {
		if len(data) > 64<<10 {
			data = data[:64<<10]
		}
		out["body"] = string(data)
	}
	res := &connector.Result{Output: out}
	if obj, _ := in["object"].(string); obj != "" && !safeRead(method) {
		w := connector.Write{Object: obj, Op: strings.ToLower(method), Summary: map[string]any{"url": redactURL(u), "status": resp.StatusCode}}
		if sent != nil {
			w.Hash = ContentHash(sent)
		}
		res.Writes = append(res.Writes, w)
	}
	return res, nil
}

func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func safeRead(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

func redactURL(u *url.URL) string {
	cp := *u
	cp.User = nil
	cp.RawQuery = ""
	return cp.String()
}

// ContentHash is the hash patchbay uses to recognise JSON content: SHA-256
// of the canonical encoding (keys sorted), so the same data hashes the same
// however it was formatted. Non-JSON content is hashed as is.
func ContentHash(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) == nil {
		if canon, err := json.Marshal(v); err == nil {
			b = canon
		}
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
