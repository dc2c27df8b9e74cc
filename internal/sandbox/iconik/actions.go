package iconik

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

var actionContexts = set("ASSET", "ASSET_SUBCLIP", "SHARED_ASSET", "COLLECTION", "SHARED_COLLECTION", "BULK", "SAVED_SEARCH", "NONE")

// CustomActionPayload is what iconik POSTs to a custom action's URL when a
// user runs it (shape confirmed by captured payloads).
type CustomActionPayload struct {
	UserID         string          `json:"user_id"`
	SystemDomainID string          `json:"system_domain_id"`
	Context        string          `json:"context"`
	ActionID       string          `json:"action_id"`
	AssetIDs       []string        `json:"asset_ids"`
	CollectionIDs  []string        `json:"collection_ids"`
	SavedSearchIDs []string        `json:"saved_search_ids"`
	MetadataViewID *string         `json:"metadata_view_id"`
	MetadataValues json.RawMessage `json:"metadata_values"`
	DateCreated    string          `json:"date_created"`
	AuthToken      string          `json:"auth_token"`
}

// customActionTokenTTL is how long the auth_token in a custom action payload works (UNCONFIRMED).
const customActionTokenTTL = time.Hour

func (c *call) applyAction(a *CustomAction, p patch, fe fieldErrors) {
	p.str("title", &a.Title, fe)
	p.str("url", &a.URL, fe)
	if p.has("url") {
		if u, err := url.Parse(a.URL); err != nil || u.Scheme == "" {
			fe.add("url", "Not a valid URL.")
		}
	}
	p.enum("type", &a.Type, set("OPEN", "POST"), fe)
	p.boolean("disabled", &a.Disabled, fe)
	if p.has("app_id") {
		var id string
		p.uuid("app_id", &id, fe)
		a.AppID = nilIfEmpty(&id)
	}
	if p.has("metadata_view") {
		var id string
		p.uuid("metadata_view", &id, fe)
		if id != "" && c.s.st.Views[id] == nil {
			fe.add("metadata_view", "Metadata view does not exist")
		}
		a.MetadataView = nilIfEmpty(&id)
	}
	if p.has("headers") {
		var h map[string]string
		if err := json.Unmarshal(p["headers"], &h); err != nil {
			fe.add("headers", "Not a valid mapping type.")
		}
		a.Headers = h
	}
}

func (c *call) listActions() (int, any) {
	ctx := c.path("context")
	out := []CustomAction{}
	for _, a := range sortedByCreated(c.s.st.CustomActions, func(x *CustomAction) (string, string) { return x.DateCreated, x.ID }) {
		if ctx == "" || a.Context == ctx {
			out = append(out, *a)
		}
	}
	return http.StatusOK, map[string]any{"objects": out}
}

func (c *call) createAction() (int, any) {
	ctx := c.path("context")
	if !actionContexts[ctx] {
		return c.fail(http.StatusNotFound, "Unknown custom action context")
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	for _, k := range []string{"title", "url"} {
		if !p.has(k) {
			fe.add(k, "Missing data for required field.")
		}
	}
	a := &CustomAction{Context: ctx, Type: "POST", Status: "HEALTHY", SystemDomainID: c.s.opts.SystemDomainID}
	c.applyAction(a, p, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	now := c.s.stamp()
	a.ID, a.DateCreated, a.DateModified = c.s.newID(), now, now
	c.s.st.CustomActions[a.ID] = a
	return http.StatusCreated, *a
}

func (c *call) action() (*CustomAction, int, any, bool) {
	a := c.s.st.CustomActions[c.path("action_id")]
	if a == nil || a.Context != c.path("context") {
		st, b := c.fail(http.StatusNotFound, "Custom action does not exist")
		return nil, st, b, false
	}
	return a, 0, nil, true
}

func (c *call) getAction() (int, any) {
	a, st, b, ok := c.action()
	if !ok {
		return st, b
	}
	return http.StatusOK, *a
}

func (c *call) updateAction() (int, any) {
	a, st, b, ok := c.action()
	if !ok {
		return st, b
	}
	p, st, b, ok := c.decodePatch()
	if !ok {
		return st, b
	}
	fe := fieldErrors{}
	next := *a
	c.applyAction(&next, p, fe)
	if len(fe) > 0 {
		return c.fieldErrors(fe)
	}
	next.DateModified = c.s.stamp()
	*a = next
	return http.StatusOK, *a
}

func (c *call) deleteAction() (int, any) {
	a, st, b, ok := c.action()
	if !ok {
		return st, b
	}
	delete(c.s.st.CustomActions, a.ID)
	return http.StatusNoContent, nil
}

// callbackAction runs an action as the calling user (POST .../callback/).
func (c *call) callbackAction() (int, any) {
	a, st, b, ok := c.action()
	if !ok {
		return st, b
	}
	var in struct {
		AssetIDs       []string        `json:"asset_ids"`
		CollectionIDs  []string        `json:"collection_ids"`
		SavedSearchIDs []string        `json:"saved_search_ids"`
		MetadataViewID *string         `json:"metadata_view_id"`
		MetadataValues json.RawMessage `json:"metadata_values"`
	}
	if st, b, ok := c.decode(&in); !ok {
		return st, b
	}
	if a.Disabled {
		return c.fail(http.StatusBadRequest, "Custom action is disabled")
	}
	c.runAction(a, in.AssetIDs, in.CollectionIDs, in.SavedSearchIDs, in.MetadataViewID, in.MetadataValues)
	return http.StatusOK, map[string]any{}
}

// runAction queues the POST of a custom action's payload (type OPEN does
// nothing server-side). Failures mark the action FAILING with last_error.
func (c *call) runAction(a *CustomAction, assets, collections, searches []string, viewID *string, values json.RawMessage) CustomActionPayload {
	tok := "ca-" + c.s.newRequestID()
	appID := firstNonEmpty(derefStr(a.AppID), c.s.opts.AppID)
	c.s.st.Tokens[tok] = token{AppID: appID, UserID: c.user, Expires: fmtTime(c.s.now().Add(customActionTokenTTL))}
	nz := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	if len(values) == 0 {
		values = json.RawMessage("null")
	}
	pl := CustomActionPayload{UserID: c.user, SystemDomainID: c.s.opts.SystemDomainID, Context: a.Context, ActionID: a.ID,
		AssetIDs: nz(assets), CollectionIDs: nz(collections), SavedSearchIDs: nz(searches), MetadataViewID: viewID,
		MetadataValues: values, DateCreated: c.s.now().Format("2006-01-02T15:04:05.000000"), AuthToken: tok}
	if a.Type != "POST" {
		return pl
	}
	body, _ := json.Marshal(pl)
	h := http.Header{}
	for k, v := range a.Headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json")
	id := a.ID
	s := c.s
	// A custom action is a user's click: it is sent once, not retried (UNCONFIRMED).
	c.s.rawOut = append(c.s.rawOut, kit.Delivery{ID: "custom_action/" + id + "/" + tok, URL: a.URL, Headers: h, Body: body, MaxAttempts: 1,
		OnResult: func(attempt, status int, err error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			act := s.st.CustomActions[id]
			if act == nil {
				return
			}
			if err == nil {
				act.Status = "HEALTHY"
				return
			}
			act.Status, act.LastError, act.LastErrorDate = "FAILING", err.Error(), s.stamp()
		}})
	return pl
}
