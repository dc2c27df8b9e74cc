package contentstack

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/contentstack/contentstackapi"
	"github.com/patchbay/patchbay/internal/fault"
)

// keyEntry is the cached webhook signing key.
type keyEntry struct{ key *rsa.PublicKey }

// keyMaxAge is how long the signing key is trusted before it is fetched
// again; a signature that fails against a key older than keyRecheck makes
// one early refetch (the key rotated), at most once per keyRecheck.
const (
	keyMaxAge  = 6 * time.Hour
	keyRecheck = time.Minute
)

// publicKey returns the cached signing key, fetching it when missing,
// stale, or (refresh) when a signature did not verify and the key may have
// rotated. It reports whether a fresh fetch happened.
func (c *Conn) publicKey(ctx context.Context, refresh bool) (*rsa.PublicKey, bool, error) {
	c.caches.mu.Lock()
	e := c.caches.key
	tried := c.caches.keyTried
	c.caches.mu.Unlock()
	now := c.now()
	if e.ok && now.Sub(e.at) < keyMaxAge && (!refresh || now.Sub(tried) < keyRecheck) {
		return e.val.key, false, nil
	}
	c.caches.mu.Lock()
	c.caches.keyTried = now
	c.caches.mu.Unlock()
	k, err := c.api.PublicKey(ctx)
	if err != nil {
		if e.ok && refresh {
			return e.val.key, false, nil
		}
		return nil, false, err
	}
	c.caches.mu.Lock()
	c.caches.key = cached[keyEntry]{val: keyEntry{key: k}, at: c.now(), ok: true}
	c.caches.mu.Unlock()
	return k, true, nil
}

// verify checks a delivery: the shared token header when configured, then
// the signature the connection asks for. Failures have kind Unauthorized;
// a signing key that cannot be fetched is Transient (Contentstack retries).
func (c *Conn) verify(ctx context.Context, req *connector.WebhookRequest) error {
	if c.set.token != "" {
		got := req.Header.Get(TokenHeader)
		if got == "" {
			return fault.Errorf(fault.Unauthorized, "contentstack: missing %s header", TokenHeader)
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(c.set.token)) != 1 {
			return fault.Errorf(fault.Unauthorized, "contentstack: wrong %s", TokenHeader)
		}
	}
	switch c.set.verify {
	case "none":
		return nil
	case "hmac":
		return contentstackapi.VerifyHMAC(c.set.hmacSecrets, req.Header.Get(contentstackapi.HMACSignatureHeader), req.Body, c.now(), c.set.maxAge)
	}
	sig := req.Header.Get(contentstackapi.SignatureHeader)
	if sig == "" {
		return fault.Errorf(fault.Unauthorized, "contentstack: missing %s header", contentstackapi.SignatureHeader)
	}
	key, fetched, err := c.publicKey(ctx, false)
	if err != nil {
		return err
	}
	err = contentstackapi.VerifySignature(key, sig, req.Body)
	if errors.Is(err, contentstackapi.ErrBadSignature) && !fetched {
		// The key may have rotated: fetch it again (rate-limited) and retry.
		if k2, fetched2, kerr := c.publicKey(ctx, true); kerr == nil && fetched2 {
			err = contentstackapi.VerifySignature(k2, sig, req.Body)
		}
	}
	if err != nil {
		return fmt.Errorf("contentstack: webhook signature check failed: %w", err)
	}
	return nil
}

// payload is a webhook body (full or concise).
type payload struct {
	Module      string         `json:"module"`
	APIKey      string         `json:"api_key"`
	Event       string         `json:"event"`
	TriggeredAt string         `json:"triggered_at"`
	Data        map[string]any `json:"data"`
	Source      map[string]any `json:"source"`
}

// Receive implements connector.WebhookReceiver for entry_events.
func (c *Conn) Receive(ctx context.Context, trigger string, req *connector.WebhookRequest) (*connector.WebhookResponse, error) {
	if trigger != "entry_events" {
		return nil, fault.Errorf(fault.NotFound, "contentstack: no webhook trigger %q", trigger)
	}
	if err := c.verify(ctx, req); err != nil {
		return nil, err
	}
	var p payload
	if err := json.Unmarshal(req.Body, &p); err != nil {
		return nil, fault.Errorf(fault.Invalid, "contentstack: decoding webhook body: %v", err)
	}
	if p.APIKey != "" && p.APIKey != c.api.APIKey() {
		return nil, fault.Errorf(fault.Unauthorized, "contentstack: delivery is for stack %s, not this connection's", p.APIKey)
	}
	if c.set.maxAge > 0 && p.TriggeredAt != "" {
		if t, err := time.Parse(time.RFC3339, p.TriggeredAt); err == nil {
			if age := c.now().Sub(t); age > c.set.maxAge || age < -c.set.maxAge {
				return nil, fault.Errorf(fault.Unauthorized, "contentstack: delivery triggered at %s is older than webhook_max_age %s", p.TriggeredAt, c.set.maxAge)
			}
		}
	}
	ev, ok, err := c.normalize(ctx, &p)
	if err != nil {
		return nil, err
	}
	resp := &connector.WebhookResponse{}
	if ok {
		resp.Events = []connector.Event{ev}
	}
	return resp, nil
}

// eventType maps Contentstack's event (and data.status) to a normalized type.
func eventType(event string, data map[string]any) (string, bool) {
	e := strings.ToLower(event)
	failed := strings.Contains(e, "fail") || strings.EqualFold(str(data["status"]), "fail") || strings.EqualFold(str(data["status"]), "failed")
	switch {
	case strings.Contains(e, "workflow"):
		return EventStageChanged, true
	case strings.HasPrefix(e, "unpublish"):
		if failed {
			return EventUnpublishFailed, true
		}
		return EventUnpublished, true
	case strings.HasPrefix(e, "publish"):
		if failed {
			return EventPublishFailed, true
		}
		return EventPublished, true
	case e == "create":
		return EventCreated, true
	case e == "update":
		return EventUpdated, true
	case e == "delete":
		return EventDeleted, true
	}
	return "", false
}

func str(v any) string { s, _ := v.(string); return s }

// concise reports whether a payload entry carries only the concise keys.
func conciseEntry(e map[string]any) bool {
	for k := range e {
		switch k {
		case "uid", "title", "locale", "_version", "_workflow":
		default:
			return false
		}
	}
	return true
}

// normalize turns a payload into an event; ok is false for payloads that
// are not entry events (assets, content types, releases).
func (c *Conn) normalize(ctx context.Context, p *payload) (connector.Event, bool, error) {
	if p.Module != "entry" {
		return connector.Event{}, false, nil
	}
	typ, ok := eventType(p.Event, p.Data)
	if !ok {
		return connector.Event{}, false, nil
	}
	entry, _ := p.Data["entry"].(map[string]any)
	ctm, _ := p.Data["content_type"].(map[string]any)
	ct, uid := str(ctm["uid"]), str(entry["uid"])
	if ct == "" || uid == "" {
		return connector.Event{}, false, fault.Errorf(fault.Invalid, "contentstack: %s webhook without data.entry.uid or data.content_type.uid", p.Event)
	}
	version := contentstackapi.Entry(entry).Version()
	srcLocale := str(entry["locale"])
	data := map[string]any{"content_type": ct, "uid": uid, "version": version, "title": str(entry["title"]),
		"event": p.Event, "triggered_at": p.TriggeredAt, "source_locale": srcLocale}
	isConcise := conciseEntry(entry)
	data["concise"] = isConcise

	var env map[string]any
	if e, ok := p.Data["environment"].(map[string]any); ok {
		env = map[string]any{"uid": str(e["uid"]), "name": str(e["name"])}
		data["environment"] = env
	}
	locale := srcLocale
	if l := str(p.Data["locale"]); l != "" {
		locale = l
	}
	data["locale"] = locale
	if b, ok := p.Data["branch"].(map[string]any); ok {
		data["branch"] = str(b["uid"])
	}
	if p.Source != nil {
		data["release"] = p.Source
	}
	var stage map[string]any
	if s, ok := p.Data["workflow_stage"].(map[string]any); ok {
		stage = map[string]any{"uid": str(s["uid"]), "name": str(s["name"])}
	} else if w, ok := entry["_workflow"].(map[string]any); ok && str(w["uid"]) != "" {
		stage = map[string]any{"uid": str(w["uid"]), "name": ""}
	}
	if s, ok := p.Data["previous_workflow_stage"].(map[string]any); ok {
		data["previous_stage"] = map[string]any{"uid": str(s["uid"]), "name": str(s["name"])}
	}
	if w, ok := p.Data["workflow"].(map[string]any); ok {
		data["workflow"] = map[string]any{"uid": str(w["uid"]), "name": str(w["name"])}
	}

	// Complete concise payloads (and stage events without a stage) from the CMA.
	refetch := false
	switch c.set.refetch {
	case "always":
		refetch = typ != EventDeleted
	case "auto":
		refetch = typ != EventDeleted && (isConcise || (typ == EventStageChanged && stage == nil))
	}
	if refetch {
		o := contentstackapi.GetOptions{Locale: srcLocale, IncludeWorkflow: true, IncludePublishDetails: true}
		if typ == EventCreated || typ == EventUpdated {
			o.Version = version // exactly the version the event is about
		}
		fetched, err := c.api.Entry(ctx, ct, uid, o)
		switch {
		case err == nil:
			entry = fetched
			data["refetched"] = true
			if version == 0 {
				version = fetched.Version()
				data["version"] = version
			}
			if stage == nil && fetched.WorkflowStage() != "" {
				stage = map[string]any{"uid": fetched.WorkflowStage(), "name": ""}
			}
		case fault.KindOf(err) == fault.NotFound:
			// Gone since (deleted, or the version no longer exists): keep the payload.
		default:
			// The event cannot be completed now; answering 5xx makes Contentstack retry.
			return connector.Event{}, false, &fault.Error{Kind: fault.Transient, Op: "contentstack: re-reading entry " + Ref(ct, uid), Err: err}
		}
	}
	if stage != nil {
		if str(stage["name"]) == "" {
			info := c.stageInfo(ctx, ct, str(stage["uid"]))
			stage["name"] = info["name"]
			if w, ok := info["workflow"]; ok && data["workflow"] == nil {
				data["workflow"] = w
			}
		}
		data["stage"] = stage
	}
	if env != nil && env["name"] == "" {
		env["name"] = c.envName(ctx, str(env["uid"]))
	}
	data["entry"] = entry
	if t := str(entry["title"]); t != "" {
		data["title"] = t
	}

	ev := connector.Event{Type: typ, Object: Ref(ct, uid), Data: data}
	if t, err := time.Parse(time.RFC3339, p.TriggeredAt); err == nil {
		ev.Time = t
	}
	switch typ {
	case EventCreated, EventUpdated:
		// Only content events carry the version: publishing and stage
		// changes do not change _version, and the links take an event whose
		// version equals the last one patchbay wrote for an echo.
		ev.Hash = ContentHash(entry)
		ev.Version = strconv.Itoa(version)
	case EventPublished, EventUnpublished:
		ev.Hash = publishHash(strings.TrimSuffix(strings.TrimPrefix(typ, "entry."), "ed"), str(env["uid"]), locale, version)
	case EventStageChanged:
		if stage != nil {
			ev.Hash = stageHash(str(stage["uid"]))
		}
	case EventDeleted:
		ev.Hash = deleteHash()
	}
	data["content_hash"] = ""
	if !isConcise || data["refetched"] == true {
		data["content_hash"] = ContentHash(entry)
	}
	// A stable id: the same delivery retried, or duplicated, dedupes.
	h := sha256.New()
	for _, part := range []string{p.APIKey, p.Module, p.Event, ct, uid, srcLocale, locale, strconv.Itoa(version), p.TriggeredAt, str(env["uid"]), str(stage["uid"])} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	ev.ID = "cs:" + hex.EncodeToString(h.Sum(nil))[:40]
	return ev, true, nil
}

// MatchEvent reports whether an event passes a flow's trigger config
// (content_types, environments, locales, stages, events). The ingest
// applies it per flow where the SDK offers the hook; flows can also filter
// with the same values in filter:.
func (c *Conn) MatchEvent(trigger string, config map[string]any, ev *connector.Event) bool {
	return matchConfig(config, ev)
}

func matchConfig(config map[string]any, ev *connector.Event) bool {
	in := input(config)
	d := ev.Data
	anyOf := func(list []string, vals ...string) bool {
		for _, want := range list {
			for _, v := range vals {
				if v != "" && strings.EqualFold(want, v) {
					return true
				}
			}
		}
		return false
	}
	if l := in.list("content_types"); len(l) > 0 && !anyOf(l, str(d["content_type"])) {
		return false
	}
	if l := in.list("locales"); len(l) > 0 && !anyOf(l, str(d["locale"])) {
		return false
	}
	if l := in.list("environments"); len(l) > 0 {
		env, _ := d["environment"].(map[string]any)
		if !anyOf(l, str(env["uid"]), str(env["name"])) {
			return false
		}
	}
	if l := in.list("stages"); len(l) > 0 {
		st, _ := d["stage"].(map[string]any)
		if !anyOf(l, str(st["uid"]), str(st["name"])) {
			return false
		}
	}
	if l := in.list("events"); len(l) > 0 && !anyOf(l, ev.Type, strings.TrimPrefix(ev.Type, "entry.")) {
		return false
	}
	return true
}
