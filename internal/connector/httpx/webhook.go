package httpx

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/fault"
)

// Receive implements connector.WebhookReceiver.
func (c *Conn) Receive(_ context.Context, trigger string, req *connector.WebhookRequest) (*connector.WebhookResponse, error) {
	if trigger != "webhook" {
		return nil, fault.Errorf(fault.NotFound, "http: no trigger %q", trigger)
	}
	mode := c.cfg.String("webhook_verify")
	if mode == "" {
		mode = "token"
	}
	secret := c.cfg.String("webhook_secret")
	if mode != "none" && secret == "" {
		return nil, fault.Errorf(fault.Unauthorized, "connection %s has no webhook_secret; set one or webhook_verify=none", c.cfg.Name)
	}
	if err := Verify(mode, c.cfg.String("webhook_header"), secret, req.Header, req.Body); err != nil {
		return nil, err
	}
	ev, err := Decode(req, c.cfg.String("webhook_object"), c.cfg.String("webhook_object_type"), c.cfg.String("webhook_hash"))
	if err != nil {
		return nil, err
	}
	return &connector.WebhookResponse{Events: []connector.Event{ev}}, nil
}

// Verify checks a shared-secret token header (mode "token", header default
// X-Patchbay-Token) or an HMAC-SHA256 signature of the body (mode "hmac",
// header default X-Patchbay-Signature, value "sha256=<hex>" or bare hex).
// Failures have kind fault.Unauthorized.
func Verify(mode, header, secret string, h http.Header, body []byte) error {
	switch mode {
	case "token":
		if header == "" {
			header = "X-Patchbay-Token"
		}
		got := h.Get(header)
		if got == "" {
			return fault.Errorf(fault.Unauthorized, "missing %s header", header)
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(secret)) != 1 {
			return fault.Errorf(fault.Unauthorized, "wrong %s", header)
		}
		return nil
	case "hmac":
		if header == "" {
			header = "X-Patchbay-Signature"
		}
		got := strings.TrimPrefix(h.Get(header), "sha256=")
		if got == "" {
			return fault.Errorf(fault.Unauthorized, "missing %s header", header)
		}
		sig, err := hex.DecodeString(got)
		if err != nil {
			return fault.Errorf(fault.Unauthorized, "%s is not hex", header)
		}
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		if !hmac.Equal(sig, mac.Sum(nil)) {
			return fault.Errorf(fault.Unauthorized, "signature in %s does not match the body", header)
		}
		return nil
	case "none":
		return nil
	}
	return fault.Errorf(fault.Permanent, "unknown verification mode %q", mode)
}

// Decode turns a generic JSON delivery into an event. objectPath (dotted)
// names the object id in the body, objectType prefixes it; hashPath names
// the part of the body hashed for echo recognition (default: all of it).
func Decode(req *connector.WebhookRequest, objectPath, objectType, hashPath string) (connector.Event, error) {
	if ct := req.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return connector.Event{}, fault.Errorf(fault.Invalid, "content type %q: want application/json", ct)
		}
	}
	var body any
	if len(req.Body) > 0 {
		if err := json.Unmarshal(req.Body, &body); err != nil {
			return connector.Event{}, fault.Errorf(fault.Invalid, "decoding JSON body: %v", err)
		}
	}
	data := map[string]any{"body": body}
	if len(req.Query) > 0 {
		q := map[string]any{}
		for k, v := range req.Query {
			q[k] = strings.Join(v, ",")
		}
		data["query"] = q
	}
	ev := connector.Event{Type: "webhook.received", Data: data}
	for _, h := range []string{"X-Event-Id", "Idempotency-Key", "X-Request-Id"} {
		if v := req.Header.Get(h); v != "" {
			ev.ID = v
			break
		}
	}
	if objectPath != "" {
		if v := dig(body, objectPath); v != nil {
			if objectType == "" {
				objectType = "http:object"
			}
			ev.Object = objectType + "/" + fmt.Sprint(v)
		}
	}
	hashed := body
	if hashPath != "" {
		hashed = dig(body, hashPath)
	}
	if hashed != nil {
		if b, err := json.Marshal(hashed); err == nil {
			ev.Hash = ContentHash(b)
		}
	}
	return ev, nil
}

func dig(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}
