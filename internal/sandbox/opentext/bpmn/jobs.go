package bpmn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxJobWorkers bounds the jobs (timers, HTTP calls) run at once.
const maxJobWorkers = 8

// Start runs the job scheduler until Close.
func (e *Engine) Start() {
	e.startOnce.Do(func() {
		e.wg.Add(1)
		go e.loop()
	})
}

// Close stops the scheduler and waits for running jobs.
func (e *Engine) Close() {
	e.cancel()
	e.wg.Wait()
}

func (e *Engine) kick() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

type jobRef struct{ inst, job string }

func (e *Engine) loop() {
	defer e.wg.Done()
	sem := make(chan struct{}, maxJobWorkers)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		e.mu.Lock()
		due, next := e.collectDueLocked(cap(sem) - len(sem))
		e.mu.Unlock()
		for _, r := range due {
			sem <- struct{}{}
			e.wg.Add(1)
			go func(r jobRef) {
				defer e.wg.Done()
				defer func() { <-sem; e.kick() }()
				e.runJob(r)
			}(r)
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(e.now()), time.Millisecond)
		}
		if len(due) > 0 && len(sem) == cap(sem) {
			wait = 5 * time.Millisecond
		}
		timer.Reset(wait)
		select {
		case <-e.ctx.Done():
			return
		case <-e.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// collectDueLocked marks up to limit due jobs running and returns them with
// the due time of the next job that is not due yet.
func (e *Engine) collectDueLocked(limit int) ([]jobRef, time.Time) {
	now := e.now()
	var due []jobRef
	var next time.Time
	ids := sortedKeys(e.jobInst)
	for _, id := range ids {
		in := e.inst[id]
		if in == nil || in.Ended || len(in.Jobs) == 0 {
			delete(e.jobInst, id)
			continue
		}
		if in.Suspended {
			continue
		}
		for _, j := range in.Jobs {
			if j.running || j.Dead {
				continue
			}
			if !j.Due.After(now) {
				if len(due) < limit {
					j.running = true
					e.running++
					due = append(due, jobRef{in.ID, j.ID})
				}
				continue
			}
			if next.IsZero() || j.Due.Before(next) {
				next = j.Due
			}
		}
	}
	return due, next
}

func (in *Instance) job(id string) *Job {
	for _, j := range in.Jobs {
		if j.ID == id {
			return j
		}
	}
	return nil
}

func (e *Engine) runJob(r jobRef) {
	e.mu.Lock()
	in := e.inst[r.inst]
	var j *Job
	if in != nil && !in.Ended {
		j = in.job(r.job)
	}
	if j == nil {
		e.running--
		e.mu.Unlock()
		return
	}
	if j.Type == "timer" {
		t := e.begin("", j.AuthToken)
		if err := t.fireTimer(in, j); err != nil {
			t.rollback()
			e.jobFailedLocked(r, err)
		}
		e.running--
		e.mu.Unlock()
		return
	}
	call, err := e.prepareHTTPLocked(in, j)
	e.mu.Unlock()
	var res *httpResult
	if err == nil {
		res = e.doHTTP(call)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	defer func() { e.running-- }()
	if err != nil {
		e.jobFailedLocked(r, err)
		return
	}
	e.finishHTTPLocked(r, call, res)
}

// jobFailedLocked records a failed attempt and schedules a retry or
// dead-letters the job.
func (e *Engine) jobFailedLocked(r jobRef, cause error) bool {
	in := e.inst[r.inst]
	if in == nil {
		return false
	}
	j := in.job(r.job)
	if j == nil {
		return false
	}
	j.running = false
	j.Attempt++
	j.Exception = cause.Error()
	if j.Attempt < e.opts.HTTPAttempts {
		j.Due = e.now().Add(e.scale(e.opts.HTTPRetryDelay))
		return true
	}
	j.Dead = true
	in.Incident = fmt.Sprintf("job %s on %s failed after %d attempts: %v", j.ID, j.ElementID, j.Attempt, cause)
	e.opts.Logger.Debug("job dead-lettered", "instance", in.ID, "element", j.ElementID, "error", cause)
	return false
}

// RetryDeadJobs makes the dead-lettered jobs of an instance (or of all
// instances, for id "") due again and returns how many.
func (e *Engine) RetryDeadJobs(instanceID string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for id := range e.jobInst {
		if instanceID != "" && id != instanceID {
			continue
		}
		in := e.inst[id]
		if in == nil {
			continue
		}
		for _, j := range in.Jobs {
			if j.Dead {
				j.Dead, j.Attempt, j.Due = false, 0, e.now()
				n++
			}
		}
		in.Incident = ""
	}
	e.kick()
	return n
}

// FireTimers makes the pending timers of an instance (or of all instances,
// for id "") due now and returns how many.
func (e *Engine) FireTimers(instanceID string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for id := range e.jobInst {
		if instanceID != "" && id != instanceID {
			continue
		}
		if in := e.inst[id]; in != nil {
			for _, j := range in.Jobs {
				if j.Type == "timer" && !j.Dead {
					j.Due = e.now()
					n++
				}
			}
		}
	}
	e.kick()
	return n
}

// WaitIdle waits until no job is running or due (timers due later and
// dead-lettered jobs do not count).
func (e *Engine) WaitIdle(ctx context.Context) error {
	for {
		if !e.busy() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the workflow engine to be idle: %w", ctx.Err())
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (e *Engine) busy() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running > 0 {
		return true
	}
	now := e.now()
	for id := range e.jobInst {
		in := e.inst[id]
		if in == nil || in.Ended || in.Suspended {
			continue
		}
		for _, j := range in.Jobs {
			if !j.Dead && !j.Due.After(now) {
				return true
			}
		}
	}
	return false
}

// ---- HTTP tasks ----

type httpCall struct {
	method, url, body string
	headers           http.Header
	timeout           time.Duration
	auth              *HTTPAuth
	attempt           int
	spec              *HTTPSpec
	el                *Element
}

type httpResult struct {
	status  int
	reason  string
	headers http.Header
	body    []byte
	err     error
	elapsed time.Duration
}

func (e *Engine) prepareHTTPLocked(in *Instance, j *Job) (*httpCall, error) {
	def := e.models[in.ModelID].def
	el := def.Elements[j.ElementID]
	if el == nil || el.HTTP == nil {
		return nil, fmt.Errorf("element %s is not an HTTP task", j.ElementID)
	}
	h := el.HTTP
	t := e.begin("", j.AuthToken)
	sc := &scope{t: t, in: in, ex: in.execution(j.ExecutionID), el: el}
	render := func(s string) (string, error) { return evalStr(s, sc) }
	c := &httpCall{headers: http.Header{}, attempt: j.Attempt + 1, spec: h, el: el, timeout: 30 * time.Second}
	var err error
	if c.method, err = render(h.Method); err != nil {
		return nil, err
	}
	c.method = strings.ToUpper(strings.TrimSpace(c.method))
	if c.method == "" {
		c.method = http.MethodGet
	}
	switch c.method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		return nil, fmt.Errorf("HTTP task %s: request method %q is not supported", el.ID, c.method)
	}
	if c.url, err = render(h.URL); err != nil {
		return nil, err
	}
	c.url = strings.TrimSpace(c.url)
	u, perr := url.Parse(c.url)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("HTTP task %s: request URL %q is not an absolute http(s) URL", el.ID, c.url)
	}
	hdrs, err := render(h.Headers)
	if err != nil {
		return nil, err
	}
	for _, line := range strings.Split(hdrs, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if name = strings.TrimSpace(name); ok && name != "" {
			c.headers.Add(name, strings.TrimSpace(value))
		}
	}
	if c.method != http.MethodGet && c.method != http.MethodDelete {
		if c.body, err = render(h.Body); err != nil {
			return nil, err
		}
	}
	if h.TimeoutMS != "" {
		ms, err := render(h.TimeoutMS)
		if err != nil {
			return nil, err
		}
		if n, perr := strconv.Atoi(strings.TrimSpace(ms)); perr == nil && n > 0 {
			c.timeout = time.Duration(n) * time.Millisecond
		}
	}
	if h.UseCurrentToken && j.AuthToken != "" && c.headers.Get("Authorization") == "" {
		c.headers.Set("Authorization", "Bearer "+j.AuthToken)
	}
	if a := h.Auth; a != nil {
		ra := &HTTPAuth{ContentType: a.ContentType}
		for _, f := range []struct {
			dst *string
			src string
		}{{&ra.URL, a.URL}, {&ra.ClientID, a.ClientID}, {&ra.ClientSecret, a.ClientSecret}, {&ra.GrantType, a.GrantType},
			{&ra.Username, a.Username}, {&ra.Password, a.Password}} {
			if *f.dst, err = render(f.src); err != nil {
				return nil, err
			}
		}
		c.auth = ra
	}
	return c, nil
}

func (e *Engine) doHTTP(c *httpCall) *httpResult {
	start := time.Now()
	res := &httpResult{}
	ctx, cancel := context.WithTimeout(e.ctx, c.timeout)
	defer cancel()
	if c.auth != nil {
		tok, err := e.fetchToken(ctx, c.auth)
		if err != nil {
			res.err = fmt.Errorf("fetching token for HTTP task: %w", err)
			return res
		}
		c.headers.Set("Authorization", "Bearer "+tok)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, strings.NewReader(c.body))
	if err != nil {
		res.err = err
		return res
	}
	req.Header = c.headers.Clone()
	client := e.opts.HTTPClient
	if c.spec.DisallowRedirects {
		cp := *client
		cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		client = &cp
	}
	resp, err := client.Do(req)
	res.elapsed = time.Since(start)
	if err != nil {
		res.err = err
		return res
	}
	defer resp.Body.Close()
	res.status, res.reason, res.headers = resp.StatusCode, resp.Status, resp.Header
	res.body, res.err = io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return res
}

func (e *Engine) fetchToken(ctx context.Context, a *HTTPAuth) (string, error) {
	body, _ := json.Marshal(map[string]string{"client_id": a.ClientID, "client_secret": a.ClientSecret,
		"grant_type": a.GrantType, "username": a.Username, "password": a.Password})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.opts.HTTPClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("token endpoint %s answered %s without an access_token", a.URL, resp.Status)
	}
	return out.AccessToken, nil
}

// statusMatches reports whether code matches a list like "400, 5XX".
func statusMatches(list string, code int) bool {
	c := strconv.Itoa(code)
	for _, p := range strings.Split(list, ",") {
		p = strings.ToUpper(strings.TrimSpace(p))
		if len(p) != 3 {
			continue
		}
		ok := true
		for i := range 3 {
			if p[i] != 'X' && p[i] != c[i] {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (e *Engine) finishHTTPLocked(r jobRef, c *httpCall, res *httpResult) {
	rec := HTTPCall{InstanceID: r.inst, ActivityID: c.el.ID, ElementName: c.el.Name, Attempt: c.attempt, Method: c.method, URL: c.url,
		Headers: map[string]string{}, Body: c.body, Status: res.status, Time: e.now(), ElapsedMS: res.elapsed.Milliseconds()}
	for k := range c.headers {
		rec.Headers[k] = c.headers.Get(k)
	}
	if len(res.body) > 0 {
		rec.Response = string(res.body)
		if len(rec.Response) > 4096 {
			rec.Response = rec.Response[:4096]
		}
	}
	failure := res.err
	h := c.spec
	if failure == nil {
		switch {
		case h.FailStatusCodes != "" && statusMatches(h.FailStatusCodes, res.status):
			failure = fmt.Errorf("HTTP%d: request to %s failed with status %s", res.status, c.url, res.reason)
		case h.HandleStatusCodes != "" && statusMatches(h.HandleStatusCodes, res.status):
			failure = fmt.Errorf("HTTP%d: error boundary events are not supported by the sandbox; status %s treated as a failure", res.status, res.reason)
		}
	}
	if failure != nil && h.IgnoreException {
		failure = nil
	}
	defer func() { e.httpLog = append(e.httpLog, rec) }()
	in := e.inst[r.inst]
	var j *Job
	if in != nil && !in.Ended {
		j = in.job(r.job)
	}
	if j == nil {
		rec.Error = "instance or job gone before the response arrived"
		return
	}
	if failure != nil {
		rec.Error = failure.Error()
		rec.WillRetry = e.jobFailedLocked(r, failure)
		rec.DeadLetter = !rec.WillRetry
		return
	}
	t := e.begin("", j.AuthToken)
	if err := t.httpDone(in, j, c, res); err != nil {
		t.rollback()
		rec.Error = err.Error()
		rec.WillRetry = e.jobFailedLocked(r, err)
		rec.DeadLetter = !rec.WillRetry
		return
	}
	rec.Succeeded = true
}

// httpDone stores the response and continues the execution.
func (t *tx) httpDone(in *Instance, j *Job, c *httpCall, res *httpResult) error {
	t.touch(in)
	t.dropJob(in, j.ID)
	ex := in.execution(j.ExecutionID)
	if ex == nil {
		return nil
	}
	sc := &scope{t: t, in: in, ex: ex, el: c.el}
	h := c.spec
	prefix := h.ResultVariablePrefix
	if prefix == "" {
		prefix = c.el.ID + "."
	}
	if res.err == nil {
		var body any = string(res.body)
		if h.SaveResponseAsJSON && len(bytes.TrimSpace(res.body)) > 0 {
			if v, err := DecodeJSON(res.body); err == nil {
				body = v
			}
		}
		if h.ResponseVariable != "" {
			name, err := evalStr(h.ResponseVariable, sc)
			if err != nil {
				return err
			}
			sc.setVar(name, body)
		}
		if h.SaveResponseParameters {
			sc.setVar(prefix+"responseStatusCode", int64(res.status))
			sc.setVar(prefix+"responseReason", strings.TrimSpace(strings.TrimPrefix(res.reason, strconv.Itoa(res.status))))
			sc.setVar(prefix+"responseProtocol", "HTTP/1.1")
			var hl []string
			for _, k := range sortedKeys(res.headers) {
				hl = append(hl, k+": "+res.headers.Get(k))
			}
			sc.setVar(prefix+"responseHeaders", strings.Join(hl, "\n"))
			if h.ResponseVariable == "" {
				sc.setVar(prefix+"responseBody", body)
			}
		}
	}
	if h.SaveRequestVariables {
		sc.setVar(prefix+"requestMethod", c.method)
		sc.setVar(prefix+"requestUrl", c.url)
		var hl []string
		keys := make([]string, 0, len(c.headers))
		for k := range c.headers {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			hl = append(hl, k+": "+c.headers.Get(k))
		}
		sc.setVar(prefix+"requestHeaders", strings.Join(hl, "\n"))
		sc.setVar(prefix+"requestBody", c.body)
	}
	ex.Waiting = ""
	return t.leave(in, ex, c.el)
}
