package iconik

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

// Event types (the "event_type" of a webhook definition and of an event).
const (
	EventAssets      = "assets"
	EventCollections = "collections"
	EventJobs        = "jobs"
)

// Realms the server sends. RealmEntity, RealmContents, RealmMetadata,
// RealmSegments and RealmShares are confirmed by iconik's spec or captured
// payloads; the others are assumptions (iconik's open questions), named here
// so a connector and its tests can refer to them.
const (
	RealmEntity   = "entity"
	RealmContents = "contents"
	RealmMetadata = "metadata"
	RealmSegments = "segments"
	RealmShares   = "shares"
	// RealmVersions is sent when a version is created, updated or deleted (UNCONFIRMED name).
	RealmVersions = "versions"
	// RealmApprovals is sent when an approval request or status changes (UNCONFIRMED:
	// iconik's notes list "entity" update and a dedicated realm as candidates).
	RealmApprovals = "approvals"
	// RealmFormats, RealmProxies and RealmKeyframes are sent by the simulated
	// transcoder and archiver (UNCONFIRMED names).
	RealmFormats   = "formats"
	RealmProxies   = "proxies"
	RealmKeyframes = "keyframes"
	// RealmFiles is sent when a file is created or its status changes (the help
	// page mentions a FILES realm; lowercase spelling UNCONFIRMED).
	RealmFiles = "files"
)

// Operations. Create, update and delete are confirmed lowercase; the spelling
// of purge and restore is UNCONFIRMED.
const (
	OpCreate  = "create"
	OpUpdate  = "update"
	OpDelete  = "delete"
	OpPurge   = "purge"
	OpRestore = "restore"
)

// Event is the JSON body of one webhook delivery (iconik's captured shape).
type Event struct {
	SystemDomainID string          `json:"system_domain_id"`
	EventType      string          `json:"event_type"`
	ObjectID       string          `json:"object_id"`
	UserID         string          `json:"user_id"`
	Realm          string          `json:"realm"`
	Operation      string          `json:"operation"`
	Data           json.RawMessage `json:"data"`
	RequestID      string          `json:"request_id"`
}

type event = Event

// emit queues an event; it is matched and sent when the lock is released.
func (c *call) emit(eventType, realm, op, objectID string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		b = []byte("{}")
	}
	c.s.outbox = append(c.s.outbox, Event{
		SystemDomainID: c.s.opts.SystemDomainID, EventType: eventType, ObjectID: objectID,
		UserID: c.user, Realm: realm, Operation: op, Data: b, RequestID: c.reqID,
	})
}

// dispatch sends each event to every enabled definition whose filter matches.
func (s *Server) dispatch(events []event) {
	if len(events) == 0 {
		return
	}
	s.recordEvents(events)
	type target struct {
		id      string
		url     string
		headers map[string]string
		body    []byte
		ev      int
	}
	var sends []target
	s.mu.Lock()
	hooks := make([]*Webhook, 0, len(s.st.Webhooks))
	for _, h := range s.st.Webhooks {
		hooks = append(hooks, h)
	}
	sort.Slice(hooks, func(i, j int) bool { return hooks[i].DateCreated < hooks[j].DateCreated })
	for i, ev := range events {
		var generic map[string]any
		for _, h := range hooks {
			if !hookMatches(h, ev) {
				continue
			}
			if h.Query != "" {
				fx, err := parseFilter(h.Query)
				if err != nil {
					continue
				}
				if generic == nil {
					b, _ := json.Marshal(ev)
					_ = json.Unmarshal(b, &generic)
				}
				if !fx.eval(generic) {
					continue
				}
			}
			b, _ := json.Marshal(ev)
			hdr := map[string]string{}
			for k, v := range h.Headers {
				hdr[k] = v
			}
			sends = append(sends, target{id: h.ID, url: h.URL, headers: hdr, body: b, ev: i})
		}
	}
	s.mu.Unlock()
	for n, t := range sends {
		h := http.Header{}
		for k, v := range t.headers {
			h.Set(k, v)
		}
		h.Set("Content-Type", "application/json")
		hookID := t.id
		body := t.body
		retries := s.retries
		s.kit.Webhooks.Send(kit.Delivery{
			ID:      fmt.Sprintf("%s/%s/%d", hookID, events[t.ev].RequestID, n),
			URL:     t.url,
			Headers: h,
			Body:    body,
			OnResult: func(attempt, status int, err error) {
				s.noteDelivery(hookID, attempt, retries, status, err, body)
			},
		})
	}
}

// noteDelivery records failures on the definition: after the last retry fails
// it is marked FAILING with last_error (UNCONFIRMED: iconik flips a hook to
// failing after "repeated failures"); a later success re-enables it.
func (s *Server) noteDelivery(hookID string, attempt, retries, status int, err error, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.st.Webhooks[hookID]
	if h == nil {
		return
	}
	if err == nil {
		if h.Status == "FAILING" {
			h.Status = "ENABLED"
			h.FirstFailedAt = ""
		}
		return
	}
	h.LastError = err.Error()
	h.LastPayload = string(body)
	if attempt > retries {
		if h.FirstFailedAt == "" {
			h.FirstFailedAt = s.stamp()
		}
		if h.Status == "ENABLED" {
			h.Status = "FAILING"
		}
	}
}

// hookMatches applies the definition's event_type, realm, operation and object_id filters.
func hookMatches(h *Webhook, ev event) bool {
	if h.Status != "ENABLED" && h.Status != "FAILING" {
		return false
	}
	if h.EventType != ev.EventType {
		return false
	}
	if h.Realm != nil && *h.Realm != "" && !strings.EqualFold(*h.Realm, ev.Realm) {
		return false
	}
	if h.Operation != nil && *h.Operation != "" && !strings.EqualFold(*h.Operation, "all") && !strings.EqualFold(*h.Operation, ev.Operation) {
		return false
	}
	if h.ObjectID != nil && *h.ObjectID != "" && *h.ObjectID != ev.ObjectID {
		return false
	}
	return true
}

// ---- definitions CRUD (/API/notifications/v1/webhooks/) ----

type webhookInput struct {
	Name        *string           `json:"name"`
	Description *string           `json:"description"`
	URL         *string           `json:"url"`
	EventType   *string           `json:"event_type"`
	Realm       *string           `json:"realm"`
	Operation   *string           `json:"operation"`
	ObjectID    *string           `json:"object_id"`
	Query       *string           `json:"query"`
	Headers     map[string]string `json:"headers"`
	Status      *string           `json:"status"`
}

var webhookStatuses = map[string]bool{"ENABLED": true, "DISABLED": true, "FAILING": true, "DELETED": true}

func (c *call) validWebhook(in *webhookInput) (int, any, bool) {
	missing := map[string][]string{}
	if in.URL == nil || *in.URL == "" {
		missing["url"] = []string{"Missing data for required field."}
	}
	if in.EventType == nil || *in.EventType == "" {
		missing["event_type"] = []string{"Missing data for required field."}
	}
	if in.Status == nil {
		missing["status"] = []string{"Missing data for required field."}
	}
	if len(missing) > 0 {
		return http.StatusBadRequest, errorBody{Errors: missing}, false
	}
	if !webhookStatuses[*in.Status] {
		st, b := c.invalid("status", "Must be one of: ENABLED, DISABLED, FAILING, DELETED.")
		return st, b, false
	}
	if u, err := url.Parse(*in.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		st, b := c.invalid("url", "Not a valid URL.")
		return st, b, false
	}
	if in.Query != nil && *in.Query != "" {
		if _, err := parseFilter(*in.Query); err != nil {
			st, b := c.invalid("query", "Invalid query: "+err.Error())
			return st, b, false
		}
	}
	if in.ObjectID != nil && *in.ObjectID != "" && !isUUID(*in.ObjectID) {
		st, b := c.invalid("object_id", "Not a valid UUID.")
		return st, b, false
	}
	return 0, nil, true
}

func (c *call) listWebhooks() (int, any) {
	out := make([]Webhook, 0, len(c.s.st.Webhooks))
	for _, h := range sortedByCreated(c.s.st.Webhooks, func(x *Webhook) (string, string) { return x.DateCreated, x.ID }) {
		out = append(out, *h)
	}
	return http.StatusOK, map[string]any{"objects": out}
}

func (c *call) createWebhook() (int, any) {
	var in webhookInput
	if st, b, ok := c.decode(&in); !ok {
		return st, b
	}
	if st, b, ok := c.validWebhook(&in); !ok {
		return st, b
	}
	now := c.s.stamp()
	h := &Webhook{ID: c.s.newID(), DateCreated: now, DateModified: now}
	applyWebhook(h, &in)
	c.s.st.Webhooks[h.ID] = h
	return http.StatusCreated, *h
}

func applyWebhook(h *Webhook, in *webhookInput) {
	h.URL = *in.URL
	h.EventType = *in.EventType
	h.Status = *in.Status
	h.Name = derefStr(in.Name)
	h.Description = derefStr(in.Description)
	h.Realm = nilIfEmpty(in.Realm)
	h.Operation = nilIfEmpty(in.Operation)
	h.ObjectID = nilIfEmpty(in.ObjectID)
	h.Query = derefStr(in.Query)
	h.Headers = in.Headers
	if h.Status == "ENABLED" {
		h.FirstFailedAt = ""
	}
}

func nilIfEmpty(p *string) *string {
	if p == nil || *p == "" {
		return nil
	}
	v := *p
	return &v
}

func (c *call) getWebhook() (int, any) {
	h := c.s.st.Webhooks[c.path("webhook_id")]
	if h == nil {
		return c.fail(http.StatusNotFound, "Webhook does not exist")
	}
	// The spec documents 201 for this GET; a read answers 200 (assumption).
	return http.StatusOK, *h
}

func (c *call) putWebhook() (int, any) {
	h := c.s.st.Webhooks[c.path("webhook_id")]
	if h == nil {
		return c.fail(http.StatusNotFound, "Webhook does not exist")
	}
	var in webhookInput
	if st, b, ok := c.decode(&in); !ok {
		return st, b
	}
	if st, b, ok := c.validWebhook(&in); !ok {
		return st, b
	}
	applyWebhook(h, &in)
	h.DateModified = c.s.stamp()
	return http.StatusOK, *h
}

func (c *call) deleteWebhook() (int, any) {
	id := c.path("webhook_id")
	if c.s.st.Webhooks[id] == nil {
		return c.fail(http.StatusNotFound, "Webhook does not exist")
	}
	delete(c.s.st.Webhooks, id)
	return http.StatusNoContent, nil
}
