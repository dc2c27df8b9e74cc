package opentext

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime"
	"strings"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/httpx"
	"github.com/patchbay/patchbay/internal/connector/opentext/opentextapi"
	"github.com/patchbay/patchbay/internal/fault"
)

var callbackSpec = connector.TriggerSpec{
	Name: "callback", Title: "Process callback", Kind: connector.Webhook,
	Doc: "Receives the JSON a process model's HTTP task posts to /hooks/<connection>/callback (see the doc page for the " +
		"task to add to a model). The delivery must carry the connection's callback_secret in callback_header " +
		"(X-Callback-Secret); others are rejected. It names its process by processInstanceId (in the body or the query " +
		"string) or by businessKey (the instance is looked up, a running one first). A body whose event is absent or ends " +
		"in \"completed\" becomes process.completed with the same data as the poller's, so one wait can list both " +
		"triggers; any other event name becomes process.callback. The other body fields are the event's variables.",
	EventTypes: []string{ProcessCompleted, "process.callback"},
	Data:       append(processEventData[:len(processEventData):len(processEventData)], connector.Field{Name: "event", Type: connector.String, Doc: "The body's event name."}),
	Examples: []connector.Example{{
		Title: "media_review's callback",
		Input: map[string]any{"event": "media_review.completed", "processInstanceId": "5c9e…", "processDefinitionKey": "media_review",
			"businessKey": "iconik:a1b2:v3", "outcome": "approved", "comment": "ok", "reviewer": "reviewer@example.com",
			"asset_id": "a1b2", "version_id": "v3"},
		Output: map[string]any{"type": ProcessCompleted, "object": "opentext:process/5c9e…",
			"data": map[string]any{"process_id": "5c9e…", "state": "completed", "outcome": "approved", "source": "callback"}},
	}},
}

// envelope fields of a callback body; the rest are variables.
var callbackEnvelope = map[string]bool{
	"event": true, "processInstanceId": true, "process_instance_id": true, "processId": true, "process_id": true,
	"processDefinitionKey": true, "process_definition_key": true, "businessKey": true, "business_key": true,
}

// Receive implements connector.WebhookReceiver.
func (c *Conn) Receive(ctx context.Context, trigger string, req *connector.WebhookRequest) (*connector.WebhookResponse, error) {
	if trigger != "callback" {
		return nil, fault.Errorf(fault.NotFound, "opentext: no webhook trigger %q", trigger)
	}
	if err := c.verifyCallback(req); err != nil {
		return nil, err
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, fault.Errorf(fault.Invalid, "opentext callback: content type %q: want application/json", ct)
		}
	}
	body := map[string]any{}
	if len(strings.TrimSpace(string(req.Body))) > 0 {
		if err := json.Unmarshal(req.Body, &body); err != nil {
			return nil, fault.Errorf(fault.Invalid, "opentext callback: the body is not a JSON object: %v", err)
		}
	}
	query := func(names ...string) string {
		for _, n := range names {
			if v := req.Query.Get(n); v != "" {
				return v
			}
		}
		return ""
	}
	pid := str(body, "processInstanceId", "process_instance_id", "processId", "process_id")
	if pid == "" {
		pid = query("processInstanceId", "process_instance_id", "process_id")
	}
	bk := str(body, "businessKey", "business_key")
	if bk == "" {
		bk = query("businessKey", "business_key")
	}
	defKey := str(body, "processDefinitionKey", "process_definition_key")
	if pid == "" {
		if bk == "" {
			return nil, fault.Errorf(fault.Invalid, "opentext callback: the body names no process: send processInstanceId or businessKey")
		}
		var err error
		if pid, err = c.processByBusinessKey(ctx, bk, defKey); err != nil {
			return nil, err
		}
	}
	vars := map[string]any{}
	for k, v := range body {
		if !callbackEnvelope[k] && !c.hidden[k] {
			vars[k] = c.mask(v)
		}
	}
	name := str(body, "event")
	typ := ProcessCompleted
	if name != "" && !strings.HasSuffix(strings.ToLower(name), "completed") {
		typ = "process.callback"
	}
	data := map[string]any{"process_id": pid, "business_key": bk, "definition_key": defKey, "state": "completed",
		"variables": vars, "source": "callback", "event": name}
	if typ != ProcessCompleted {
		data["state"] = "running"
	}
	c.convenience(data, vars)
	sum := sha256.Sum256(req.Body)
	ev := connector.Event{ID: "callback:" + pid + ":" + hex.EncodeToString(sum[:8]), Type: typ, Object: ProcessRef(pid), Data: data}
	return &connector.WebhookResponse{Events: []connector.Event{ev}}, nil
}

// verifyCallback checks the shared-secret header (in constant time, as the
// http connector's token webhooks do).
func (c *Conn) verifyCallback(req *connector.WebhookRequest) error {
	secret := c.cfg.String("callback_secret")
	if secret == "" {
		return fault.Errorf(fault.Unauthorized, "connection %s has no callback_secret; set one to receive callbacks", c.cfg.Name)
	}
	header := c.cfg.String("callback_header")
	if header == "" {
		header = DefaultCallbackHeader
	}
	return httpx.Verify("token", header, secret, req.Header, req.Body)
}

// processByBusinessKey finds the instance a callback means: the newest
// running one with the business key, else the newest ended one.
func (c *Conn) processByBusinessKey(ctx context.Context, bk, defKey string) (string, error) {
	page, err := c.api.ListHistoricInstances(ctx, opentextapi.HistoricInstanceQuery{BusinessKey: bk, ProcessDefinitionKey: defKey,
		Paging: opentextapi.Paging{Count: 25, Sort: "startTime", Order: "desc"}})
	if err != nil {
		return "", err
	}
	for _, h := range page.Items {
		if h.EndTime == "" {
			return h.ID, nil
		}
	}
	if len(page.Items) > 0 {
		return page.Items[0].ID, nil
	}
	return "", fault.Errorf(fault.NotFound, "opentext callback: no process instance with business key %q", bk)
}
