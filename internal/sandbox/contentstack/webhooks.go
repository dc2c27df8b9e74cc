package contentstack

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

// maxWebhooks is the documented per-stack limit.
const maxWebhooks = 100

// maxExecutions bounds the execution log kept in memory.
const maxExecutions = 5000

// webhook is a stored webhook definition. Doc keeps the secrets; views mask
// http_basic_password.
type webhook struct {
	Doc      doc `json:"doc"`
	Failures int `json:"failures"`
}

// execution is one triggered delivery of an event to one destination and
// every attempt made for it.
type execution struct {
	UID        string         `json:"uid"`
	WebhookUID string         `json:"webhook_uid"`
	Channel    []string       `json:"channel"`
	CreatedAt  string         `json:"created_at"`
	UpdatedAt  string         `json:"updated_at"`
	URL        string         `json:"url"`
	Body       string         `json:"body"`
	Headers    map[string]any `json:"headers"`
	Attempts   []attempt      `json:"attempts"`
	Status     *int           `json:"status"`
	Seq        int64          `json:"seq"`
}

type attempt struct {
	ID          string `json:"id"`
	RetryNumber int    `json:"retry_number"`
	Status      int    `json:"status"`
	Message     string `json:"message"`
	CreatedAt   string `json:"created_at"`
}

// event is something that happened, to be delivered to matching webhooks.
type event struct {
	module   string
	name     string
	branch   string
	channels []string
	data     doc // full payload data
	concise  doc // concise payload data
}

// ---- events ----

func branchDoc(b string) doc { return doc{"uid": b, "source": "", "alias": []any{}} }

// ctPayload is the content type as webhook payloads show it.
func ctPayload(ct doc) doc {
	out := doc{}
	for _, k := range []string{"created_at", "created_by", "updated_at", "updated_by", "title", "uid", "description", "schema", "options"} {
		if v, ok := ct[k]; ok {
			out[k] = clone(v)
		}
	}
	return out
}

func conciseEntry(d doc, ct doc) doc {
	return doc{
		"entry":        doc{"uid": d["uid"], "title": d[titleField(ct)], "locale": d["locale"], "_version": d["_version"]},
		"content_type": doc{"uid": ct["uid"], "title": ct["title"]},
	}
}

// entryEvent builds create/update/delete events. The caller holds s.mu and
// calls it while the entry copy still exists.
func (s *Server) entryEvent(kind string, e *entry, locale string, extra doc) event {
	ct := s.st.ContentTypes[e.ContentType]
	d, _ := s.render(e, locale, renderOpts{publish: true, resolveFS: true})
	ev := event{module: "entry", name: kind, branch: "main",
		data:    doc{"entry": d, "content_type": ctPayload(ct), "branch": branchDoc("main")},
		concise: conciseEntry(d, ct),
		channels: []string{
			"content_types.entries." + kind,
			"content_types." + e.ContentType + ".entries." + kind,
		}}
	if kind != "create" {
		ev.channels = append(ev.channels, "content_types."+e.ContentType+".entries."+e.UID+"."+kind)
	}
	for k, v := range extra {
		ev.data[k] = v
	}
	return ev
}

// entryPublishEvent builds publish/unpublish success events for one
// environment and locale. srcLocale is the copy that was published.
func (s *Server) entryPublishEvent(action string, e *entry, srcLocale string, env doc, locale string) event {
	ev := s.entryEvent(action, e, srcLocale, nil)
	envView := cloneDoc(env)
	ev.data["environment"] = envView
	ev.data["action"] = action
	ev.data["status"] = "success"
	ev.data["locale"] = locale
	ev.concise["environment"] = doc{"uid": env["uid"], "name": env["name"]}
	ev.concise["action"] = action
	ev.concise["status"] = "success"
	ev.concise["locale"] = locale
	envUID, envName := str(env["uid"]), str(env["name"])
	ct, uid := e.ContentType, e.UID
	ev.channels = []string{
		"content_types.entries." + action,
		"content_types." + ct + ".entries." + action,
		"content_types." + ct + ".entries." + uid + "." + action,
		"content_types.entries.environments." + action + ".success",
		"content_types.entries.environments." + envUID + "." + action + ".success",
		"content_types.entries.environments." + envName + "." + action + ".success",
		"content_types." + ct + ".entries.environments." + action + ".success",
		"content_types." + ct + ".entries.environments." + envUID + "." + action + ".success",
		"content_types." + ct + ".entries." + uid + ".environments." + action + ".success",
		"content_types." + ct + ".entries." + uid + ".environments." + envUID + "." + action + ".success",
	}
	return ev
}

// workflowEvent builds the stage-change event (payload shape unconfirmed:
// entry-centred plus workflow, workflow_stage and previous_workflow_stage).
func (s *Server) workflowEvent(e *entry, locale string, wf, stage doc, extra doc) event {
	ev := s.entryEvent(s.opts.WorkflowEvent, e, locale, extra)
	d, _ := s.render(e, locale, renderOpts{publish: true, workflow: true, resolveFS: true})
	ev.data["entry"] = d
	ev.concise["entry"].(doc)["_workflow"] = doc{"uid": stage["uid"]}
	for k, v := range extra {
		ev.concise[k] = v
	}
	w, st, ct, uid := str(wf["uid"]), str(stage["uid"]), e.ContentType, e.UID
	ev.channels = nil
	for _, prefix := range []string{"content_types.entries.workflows", "content_types." + ct + ".entries.workflows", "content_types." + ct + ".entries." + uid + ".workflows"} {
		ev.channels = append(ev.channels, prefix, prefix+"."+w, prefix+"."+w+"."+st)
	}
	return ev
}

func (s *Server) contentTypeEvent(kind string, ct doc) event {
	uid := str(ct["uid"])
	chs := []string{"content_types." + kind}
	if kind != "create" {
		chs = append(chs, "content_types."+uid+"."+kind)
	}
	return event{module: "content_type", name: kind, branch: "main", channels: chs,
		data:    doc{"content_type": ctPayload(ct), "branch": branchDoc("main")},
		concise: doc{"content_type": doc{"uid": uid, "title": ct["title"]}}}
}

// ---- dispatch ----

type payloadFull struct {
	Module      string `json:"module"`
	APIKey      string `json:"api_key"`
	Data        any    `json:"data"`
	Event       string `json:"event"`
	TriggeredAt string `json:"triggered_at"`
}

type payloadConcise struct {
	Module      string `json:"module"`
	APIKey      string `json:"api_key"`
	Event       string `json:"event"`
	TriggeredAt string `json:"triggered_at"`
	Data        any    `json:"data"`
}

// csKeys renames object keys starting with "$" to "cs$…", as the real
// service does in payload data.
func csKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			if strings.HasPrefix(k, "$") {
				k = "cs" + k
			}
			m[k] = csKeys(x)
		}
		return m
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = csKeys(x)
		}
		return out
	}
	return v
}

func marshalNoEscape(v any) ([]byte, error) {
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(sb.String(), "\n")), nil
}

// dispatch delivers events to every enabled webhook whose channels match.
// It must be called without s.mu held.
func (s *Server) dispatch(evs []event) {
	for _, ev := range evs {
		s.dispatchOne(ev)
	}
}

type outbound struct {
	exec  *execution
	dest  doc
	body  []byte
	hook  string
	retry string
}

func (s *Server) dispatchOne(ev event) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	now := s.now()
	uids := make([]string, 0, len(s.st.Webhooks))
	for uid := range s.st.Webhooks {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	var out []outbound
	for _, uid := range uids {
		wh := s.st.Webhooks[uid]
		if asBool(wh.Doc["disabled"]) {
			continue
		}
		if br := asStrings(wh.Doc["branches"]); len(br) > 0 && !contains(br, ev.branch) {
			continue
		}
		var matched []string
		for _, ch := range asStrings(wh.Doc["channels"]) {
			if contains(ev.channels, ch) {
				matched = append(matched, ch)
			}
		}
		if len(matched) == 0 {
			continue
		}
		var body []byte
		var err error
		if asBool(wh.Doc["concise_payload"]) {
			body, err = marshalNoEscape(payloadConcise{Module: ev.module, APIKey: s.opts.APIKey, Event: ev.name, TriggeredAt: now, Data: csKeys(ev.concise)})
		} else {
			body, err = marshalNoEscape(payloadFull{Module: ev.module, APIKey: s.opts.APIKey, Data: csKeys(ev.data), Event: ev.name, TriggeredAt: now})
		}
		if err != nil {
			continue
		}
		for _, dest := range asObjects(wh.Doc["destinations"]) {
			target := str(dest["target_url"])
			if target == "" {
				continue
			}
			s.st.Seq++
			ex := &execution{UID: s.st.csUID("execution"), WebhookUID: uid, Channel: ev.channels, CreatedAt: now,
				UpdatedAt: now, URL: target, Body: string(body), Seq: s.st.Seq}
			s.st.Executions[ex.UID] = ex
			out = append(out, outbound{exec: ex, dest: cloneDoc(dest), body: body, hook: uid, retry: str(wh.Doc["retry_policy"])})
		}
	}
	s.trimExecutions()
	s.mu.Unlock()
	for _, o := range out {
		if strings.EqualFold(str(o.dest["authentication_type"]), "OAuth2") {
			o := o
			// Fetching the token blocks; do it off the request path.
			s.sched.after(0, func() { s.send(o, 0) })
			continue
		}
		s.send(o, 0)
	}
}

func (s *Server) trimExecutions() {
	if len(s.st.Executions) <= maxExecutions {
		return
	}
	all := make([]*execution, 0, len(s.st.Executions))
	for _, e := range s.st.Executions {
		all = append(all, e)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	for _, e := range all[:len(all)-maxExecutions] {
		delete(s.st.Executions, e.UID)
	}
}

// headers builds the delivery headers for a destination: content type,
// user agent, signatures, destination auth and custom headers.
func (s *Server) headers(o outbound) (http.Header, map[string]any) {
	h := http.Header{}
	logged := map[string]any{}
	set := func(k, v string) {
		h.Set(k, v)
		logged[k] = v
	}
	set("Content-Type", "application/json")
	set("User-Agent", "Contentstack")
	set("X-Contentstack-Signature", legacySignature(o.hook, o.body))
	signed := o.body
	if s.takeBadSignature() {
		signed = append(append([]byte(nil), o.body...), ' ') // well-formed, but not over the sent body
	}
	if sig, err := s.sign(signed); err == nil {
		set("X-Contentstack-Request-Signature", sig)
	}
	if len(s.opts.HMACSecrets) > 0 {
		set("X-Contentstack-Hmac-Signature", hmacSignature(s.opts.HMACSecrets, s.clock.Now().Unix(), o.body))
	}
	logged["Authorization"] = nil
	switch strings.ToLower(str(o.dest["authentication_type"])) {
	case "bearer":
		if t := str(o.dest["bearer_token"]); t != "" {
			h.Set("Authorization", "Bearer "+t)
			logged["Authorization"] = "Bearer ********"
		}
	case "oauth2":
		if t, err := s.fetchOAuthToken(o.dest); err == nil {
			h.Set("Authorization", "Bearer "+t)
			logged["Authorization"] = "Bearer ********"
		}
	case "none":
	default: // Basic (the default when credentials are given)
		if u := str(o.dest["http_basic_auth"]); u != "" {
			cred := base64.StdEncoding.EncodeToString([]byte(u + ":" + str(o.dest["http_basic_password"])))
			h.Set("Authorization", "Basic "+cred)
			logged["Authorization"] = "Basic ********"
		}
	}
	for _, ch := range asObjects(o.dest["custom_header"]) {
		if name := str(ch["header_name"]); name != "" {
			h.Set(name, str(ch["value"]))
			logged[name] = str(ch["value"])
		}
	}
	return h, logged
}

// BadSignatures makes the next n deliveries carry a well-formed
// X-Contentstack-Request-Signature that does not verify (for testing a
// receiver's rejection path). Also settable with
// POST /_sandbox/bad-signatures?count=n.
func (s *Server) BadSignatures(n int) { s.badSignatures.Store(int64(n)) }

func (s *Server) takeBadSignature() bool {
	for {
		n := s.badSignatures.Load()
		if n <= 0 {
			return false
		}
		if s.badSignatures.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// fetchOAuthToken does the OAuth2 client-credentials grant for a destination.
func (s *Server) fetchOAuthToken(dest doc) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {str(dest["client_id"])}, "client_secret": {str(dest["client_secret"])}}
	if extra, err := url.ParseQuery(str(dest["request_query_parameters"])); err == nil {
		for k, v := range extra {
			if k != "" {
				form[k] = v
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, str(dest["access_token_url"]), strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("building token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetching oauth2 token: %w", err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil || tok.AccessToken == "" {
		return "", errors.New("token endpoint gave no access_token")
	}
	return tok.AccessToken, nil
}

// send hands one execution to the kit deliverer. firstRetry numbers the
// attempts (0 for the original trigger, n for a manual retry).
func (s *Server) send(o outbound, firstRetry int) {
	h, logged := s.headers(o)
	s.mu.Lock()
	o.exec.Headers = logged
	s.mu.Unlock()
	maxAttempts := 0
	if o.retry == "manual" || firstRetry > 0 {
		maxAttempts = 1
	}
	s.kit.Webhooks.Send(kit.Delivery{
		ID: o.exec.UID, URL: o.exec.URL, Headers: h, Body: o.body, MaxAttempts: maxAttempts,
		OnResult: func(n int, status int, err error) { s.recordAttempt(o.exec.UID, o.hook, firstRetry+n-1, status, err) },
	})
}

// recordAttempt logs an attempt and runs the circuit breaker: consecutive
// failures mark the webhook unhealthy and disable it; a 2xx resets the count.
func (s *Server) recordAttempt(execUID, hookUID string, retryNumber, status int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, ok := s.st.Executions[execUID]
	if !ok {
		return
	}
	now := s.now()
	a := attempt{ID: s.st.csUID("attempt"), RetryNumber: retryNumber, Status: status, CreatedAt: now}
	if err != nil {
		a.Message = err.Error()
	}
	ex.Attempts = append(ex.Attempts, a)
	ex.UpdatedAt = now
	if status != 0 {
		st := status
		ex.Status = &st
	} else {
		ex.Status = nil
	}
	wh, ok := s.st.Webhooks[hookUID]
	if !ok {
		return
	}
	if err == nil {
		wh.Failures = 0
		return
	}
	wh.Failures++
	if th := s.opts.CircuitBreakerThreshold; th > 0 && wh.Failures >= th {
		wh.Doc["disabled"] = true
		wh.Doc["unhealthy"] = doc{"state": true}
	}
}

// ---- definitions ----

func (s *Server) webhookView(wh *webhook) doc {
	d := cloneDoc(wh.Doc)
	for _, dest := range asObjects(d["destinations"]) {
		if str(dest["http_basic_password"]) != "" {
			dest["http_basic_password"] = "********"
		}
	}
	return d
}

// normalizeWebhook validates a webhook body and fills the system fields.
func (s *Server) normalizeWebhook(body doc, uid, user string, prev *webhook) (doc, *apiError) {
	p := map[string][]string{}
	if str(body["name"]) == "" {
		p["name"] = []string{"is a required field."}
	}
	dests := asObjects(body["destinations"])
	if len(dests) == 0 {
		p["destinations"] = []string{"is a required field."}
	}
	for _, d := range dests {
		if str(d["target_url"]) == "" {
			p["destinations.target_url"] = []string{"is a required field."}
		}
	}
	chs := asStrings(body["channels"])
	if len(chs) == 0 {
		p["channels"] = []string{"is a required field."}
	}
	if len(chs) > 200 {
		p["channels"] = []string{"should not exceed 200 conditions."}
	}
	notifiers := asStrings(body["notifiers"])
	if len(notifiers) > 10 {
		p["notifiers"] = []string{"should not exceed 10."}
	}
	if len(p) > 0 {
		return nil, errInvalid(141, "The webhook could not be saved. Please enter valid data.", p)
	}
	now := s.now()
	destinations := clone(body["destinations"])
	for _, dest := range asObjects(destinations) {
		for k, v := range map[string]any{"http_basic_auth": "", "http_basic_password": "", "request_query_parameters": "", "custom_header": []any{}} {
			if _, ok := dest[k]; !ok {
				dest[k] = v
			}
		}
	}
	d := doc{
		"name": body["name"], "destinations": destinations, "channels": toAnySlice(chs),
		"retry_policy": "automatic", "branches": []any{"main"}, "notifiers": toAnySlice(notifiers),
		"disabled": asBool(body["disabled"]), "concise_payload": asBool(body["concise_payload"]),
		"org_uid": "blt0e1d2c3b4a596877", "applikation_id": s.opts.APIKey, "app_user_object_uid": "system",
		"uid": uid, "created_by": user, "updated_by": user, "created_at": now, "updated_at": now, "__v": 0,
		"unhealthy": doc{"state": false},
	}
	if rp := str(body["retry_policy"]); rp != "" {
		d["retry_policy"] = rp
	}
	if br := asStrings(body["branches"]); len(br) > 0 {
		d["branches"] = toAnySlice(br)
	}
	if r, ok := body["retry"].(map[string]any); ok {
		d["retry"] = clone(r)
	}
	if prev != nil {
		d["created_by"], d["created_at"] = prev.Doc["created_by"], prev.Doc["created_at"]
		// A masked password sent back keeps the stored one.
		old := asObjects(prev.Doc["destinations"])
		for i, dest := range asObjects(d["destinations"]) {
			if str(dest["http_basic_password"]) == "********" && i < len(old) {
				dest["http_basic_password"] = old[i]["http_basic_password"]
			}
		}
	}
	return d, nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	docs := make([]doc, 0, len(s.st.Webhooks))
	for _, wh := range s.st.Webhooks {
		docs = append(docs, s.webhookView(wh))
	}
	s.mu.Unlock()
	sort.Slice(docs, func(i, j int) bool {
		return str(docs[i]["created_at"])+str(docs[i]["uid"]) < str(docs[j]["created_at"])+str(docs[j]["uid"])
	})
	page, total, ae := s.page(r, docs, "webhooks", nil)
	if ae != nil {
		return ae
	}
	body := map[string]any{"webhooks": page, "destination": doc{}}
	if qbool(r, "include_count") {
		body["count"] = total
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	wh, ok := s.st.Webhooks[r.PathValue("uid")]
	if !ok {
		return errNotFound("webhook")
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhook": s.webhookView(wh)})
	return nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	wb, _ := body["webhook"].(map[string]any)
	if wb == nil {
		return errInvalid(141, "The webhook could not be saved. Please enter valid data.", map[string][]string{"webhook": {"is a required field."}})
	}
	d, ae := s.storeWebhook(wb, "", callerOf(r).user)
	if ae != nil {
		return ae
	}
	writeJSON(w, http.StatusCreated, map[string]any{"notice": "The webhook was created successfully", "webhook": d})
	return nil
}

// storeWebhook creates (uid "") or replaces a webhook and returns its view.
func (s *Server) storeWebhook(wb doc, uid, user string) (doc, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var prev *webhook
	if uid == "" {
		if len(s.st.Webhooks) >= maxWebhooks {
			return nil, errInvalid(141, "You have reached the maximum limit of 100 webhooks per stack.", map[string][]string{"webhook": {"limit exceeded."}})
		}
		uid = s.st.csUID("webhook")
	} else {
		var ok bool
		if prev, ok = s.st.Webhooks[uid]; !ok {
			return nil, errNotFound("webhook")
		}
	}
	d, ae := s.normalizeWebhook(wb, uid, user, prev)
	if ae != nil {
		return nil, ae
	}
	wh := &webhook{Doc: d}
	if prev != nil && !asBool(d["disabled"]) {
		// Re-enabling clears the unhealthy mark; missed events are not replayed.
		wh.Doc["unhealthy"] = doc{"state": false}
	}
	s.st.Webhooks[uid] = wh
	return s.webhookView(wh), nil
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	wb, _ := body["webhook"].(map[string]any)
	if wb == nil {
		return errInvalid(141, "The webhook could not be saved. Please enter valid data.", map[string][]string{"webhook": {"is a required field."}})
	}
	d, ae := s.storeWebhook(wb, r.PathValue("uid"), callerOf(r).user)
	if ae != nil {
		return ae
	}
	writeJSON(w, http.StatusOK, map[string]any{"notice": "The Webhook was updated successfully", "webhook": d})
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	uid := r.PathValue("uid")
	if _, ok := s.st.Webhooks[uid]; !ok {
		return errNotFound("webhook")
	}
	delete(s.st.Webhooks, uid)
	notice(w, http.StatusOK, "The Webhook was deleted successfully")
	return nil
}

func (s *Server) exportWebhook(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	wh, ok := s.st.Webhooks[r.PathValue("uid")]
	if !ok {
		return errNotFound("webhook")
	}
	v := s.webhookView(wh)
	delete(v, "unhealthy")
	writeJSON(w, http.StatusOK, v)
	return nil
}

// importWebhook creates (POST /v3/webhooks/import) or replaces
// (POST /v3/webhooks/{uid}/import) a webhook from the multipart "webhook" file.
func (s *Server) importWebhook(w http.ResponseWriter, r *http.Request) *apiError {
	wb, ae := readMultipartJSON(r, "webhook")
	if ae != nil {
		return ae
	}
	if wb["retry"] == nil {
		wb["retry"] = doc{"auto": true}
	}
	d, ae := s.storeWebhook(wb, r.PathValue("uid"), callerOf(r).user)
	if ae != nil {
		return ae
	}
	writeJSON(w, http.StatusOK, map[string]any{"notice": "webhook was imported successfully", "webhook": d})
	return nil
}

// ---- executions ----

func (s *Server) executionView(ex *execution, latestOnly bool) doc {
	var payload doc
	_ = decodeJSON([]byte(ex.Body), &payload)
	eventData := cloneDoc(payload)
	delete(eventData, "triggered_at")
	headers := map[string]any{}
	for k, v := range ex.Headers {
		headers[k] = v
	}
	details := make([]any, 0, len(ex.Attempts))
	for _, a := range ex.Attempts {
		var statusCode any
		code := ""
		msg := a.Message
		if a.Status != 0 {
			statusCode = a.Status
		}
		if a.Status == 0 && msg != "" {
			code = "ECONNRESET"
		} else if a.Status >= 400 {
			code = "ERR_BAD_REQUEST"
			if a.Status >= 500 {
				code = "ERR_BAD_RESPONSE"
			}
			msg = fmt.Sprintf("Request failed with status code %d", a.Status)
		}
		req := doc{"method": "POST", "followAllRedirects": true, "uri": ex.URL, "body": clone(payload),
			"headers": clone(headers), "json": true, "resolveWithFullResponse": true, "timeout": 30000}
		resp := doc{"message": msg, "statusCode": statusCode, "code": code, "body": nil, "headers": nil,
			"request": doc{"uri": doc{"href": ex.URL}, "method": "POST", "headers": clone(headers)}}
		if a.Status >= 200 && a.Status < 300 {
			resp["message"] = "OK"
			resp["code"] = ""
		}
		details = append(details, doc{"_id": a.ID, "retry_number": a.RetryNumber, "request": req, "response": resp, "created_at": a.CreatedAt})
	}
	var status any
	if ex.Status != nil {
		status = *ex.Status
	}
	v := doc{"uid": ex.UID, "channel": toAnySlice(ex.Channel), "created_at": ex.CreatedAt, "event_data": eventData,
		"event_headers": headers, "org_uid": "blt0e1d2c3b4a596877", "request_details": details,
		"retry_count": max(len(ex.Attempts)-1, 0), "status": status, "updated_at": ex.UpdatedAt,
		"webhooks": []any{ex.WebhookUID}, "projectUid": s.opts.APIKey, "destination": doc{}}
	if latestOnly {
		if len(details) > 0 {
			v["request_details"] = details[len(details)-1]
		} else {
			v["request_details"] = doc{}
		}
		if wh, ok := s.st.Webhooks[ex.WebhookUID]; ok {
			v["webhooks"] = []any{s.webhookView(wh)}
		}
	}
	return v
}

// webhookExecutions is GET /v3/webhooks/{uid}/executions?from&to&query.
func (s *Server) webhookExecutions(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	uid := r.PathValue("uid")
	if _, ok := s.st.Webhooks[uid]; !ok {
		s.mu.Unlock()
		return errNotFound("webhook")
	}
	from := strings.Trim(r.URL.Query().Get("from"), `"`)
	to := strings.Trim(r.URL.Query().Get("to"), `"`)
	var list []*execution
	for _, ex := range s.st.Executions {
		if ex.WebhookUID != uid || (from != "" && ex.CreatedAt < from) || (to != "" && ex.CreatedAt > to) {
			continue
		}
		list = append(list, ex)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Seq > list[j].Seq })
	views := make([]doc, len(list))
	for i, ex := range list {
		views[i] = s.executionView(ex, false)
	}
	s.mu.Unlock()
	page, total, ae := s.page(r, views, "executions", nil)
	if ae != nil {
		return ae
	}
	body := map[string]any{"webhooks": page}
	if qbool(r, "include_count") {
		body["count"] = total
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// retryExecution is POST /v3/webhooks/{execution_uid}/retry (docs) or
// POST /v3/webhooks/{webhook_uid}/retry with {"execution_uid"} (JS SDK).
func (s *Server) retryExecution(w http.ResponseWriter, r *http.Request) *apiError {
	body, ae := readBody(r)
	if ae != nil {
		return ae
	}
	s.mu.Lock()
	uid := r.PathValue("uid")
	ex, ok := s.st.Executions[uid]
	if !ok {
		if _, isHook := s.st.Webhooks[uid]; isHook {
			ex, ok = s.st.Executions[str(body["execution_uid"])]
		}
	}
	if !ok {
		s.mu.Unlock()
		return errNotFound("execution")
	}
	wh, ok := s.st.Webhooks[ex.WebhookUID]
	if !ok {
		s.mu.Unlock()
		return errNotFound("webhook")
	}
	var dest doc
	for _, d := range asObjects(wh.Doc["destinations"]) {
		if str(d["target_url"]) == ex.URL {
			dest = cloneDoc(d)
		}
	}
	if dest == nil {
		dest = doc{"target_url": ex.URL}
	}
	o := outbound{exec: ex, dest: dest, body: []byte(ex.Body), hook: ex.WebhookUID, retry: "manual"}
	next := len(ex.Attempts)
	s.mu.Unlock()
	s.sched.after(0, func() { s.send(o, max(next, 1)) })
	notice(w, http.StatusOK, "Webhook retry scheduled")
	return nil
}

// executionLogs is GET /v3/webhooks/{execution_uid}/logs: the latest attempt.
func (s *Server) executionLogs(w http.ResponseWriter, r *http.Request) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	ex, ok := s.st.Executions[r.PathValue("uid")]
	if !ok {
		return errNotFound("execution")
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhook": s.executionView(ex, true)})
	return nil
}
