package opentext

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// newServer starts a sandbox behind an httptest server. Rate limiting is off
// unless opts.Kit says otherwise.
func newServer(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.Kit.Rate == 0 {
		opts.Kit.Rate = -1
	}
	if opts.TimeScale == 0 {
		opts.TimeScale = 0.001
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts := httptest.NewServer(s)
	s.SetURL(ts.URL)
	t.Cleanup(func() {
		ts.Close()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, ts
}

// client calls the sandbox API with a bearer token and validates every
// response against testdata/openapi.yaml.
type client struct {
	t     *testing.T
	base  string
	token string
	// noValidate turns off the schema check (for deliberately odd calls).
	noValidate bool
}

func newClient(t *testing.T, s *Server, ts *httptest.Server) *client {
	t.Helper()
	c := &client{t: t, base: ts.URL}
	c.token = c.fetchToken(s, "client_credentials")
	return c
}

func (c *client) fetchToken(s *Server, grant string) string {
	c.t.Helper()
	cred := s.Credentials()
	body := map[string]string{"client_id": cred["client_id"], "client_secret": cred["client_secret"], "grant_type": grant}
	if grant == "password" {
		body["username"], body["password"] = cred["username"], cred["password"]
	}
	var tok tokenResponse
	status := c.call(http.MethodPost, "/tenants/"+cred["tenant_id"]+"/oauth2/token", body, &tok, false)
	if status != http.StatusOK || tok.AccessToken == "" {
		c.t.Fatalf("token request: status %d", status)
	}
	return tok.AccessToken
}

// do sends a JSON request and decodes the JSON answer into out (may be nil).
func (c *client) do(method, path string, body, out any) int {
	c.t.Helper()
	return c.call(method, path, body, out, true)
}

func (c *client) call(method, path string, body, out any, auth bool) int {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatalf("encoding body: %v", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatalf("building request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth && c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if !c.noValidate {
		validateResponse(c.t, req, resp, data)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: decoding %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

func loadSpec() (routers.Router, error) {
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(filepath.Join("testdata", "openapi.yaml"))
		if err != nil {
			specErr = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			specErr = err
			return
		}
		specRouter, specErr = gorillamux.NewRouter(doc)
	})
	return specRouter, specErr
}

// validateResponse checks a response against testdata/openapi.yaml: the
// notes-derived description of the API (OpenText publishes no schema).
func validateResponse(t *testing.T, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	router, err := loadSpec()
	if err != nil {
		t.Fatalf("loading testdata/openapi.yaml: %v", err)
	}
	u, _ := url.Parse("http://sandbox.test" + req.URL.RequestURI())
	vreq := req.Clone(context.Background())
	vreq.URL, vreq.Host, vreq.Body = u, "sandbox.test", http.NoBody
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		if strings.HasPrefix(req.URL.Path, "/_sandbox") || strings.HasPrefix(req.URL.Path, "/sandbox") {
			return
		}
		t.Errorf("%s %s: not in testdata/openapi.yaml: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s -> %d does not match testdata/openapi.yaml: %v\nbody: %s", req.Method, req.URL.RequestURI(), resp.StatusCode, err, body)
	}
}

// specsDir finds ../shared/apis/specs beside the repository, or skips.
func specsDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the test directory")
		}
		dir = parent
	}
	specs := filepath.Join(dir, "..", "shared", "apis", "specs")
	if _, err := os.Stat(filepath.Join(specs, "opentext")); err != nil {
		t.Skipf("OpenText specs not found at %s; contract tests need ../shared beside the clone", specs)
	}
	return specs
}

// halPage is a decoded HAL list.
type halPage[T any] struct {
	Embedded map[string][]T `json:"_embedded"`
	Links    map[string]struct {
		Href string `json:"href"`
	} `json:"_links"`
	Page pageInfo `json:"page"`
}

func (p halPage[T]) items(rel string) []T { return p.Embedded[rel] }

// callbackReceiver records the callbacks an HTTP task posts.
type callbackReceiver struct {
	mu       sync.Mutex
	got      []receivedCallback
	status   []int // answers to give, in order; 200 after they run out
	srv      *httptest.Server
	received chan struct{}
}

type receivedCallback struct {
	Header http.Header
	Body   map[string]any
	Raw    string
}

func newReceiver(t *testing.T, statuses ...int) *callbackReceiver {
	t.Helper()
	rc := &callbackReceiver{status: statuses, received: make(chan struct{}, 100)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		rc.mu.Lock()
		rc.got = append(rc.got, receivedCallback{Header: r.Header.Clone(), Body: m, Raw: string(b)})
		st := http.StatusOK
		if len(rc.status) > 0 {
			st, rc.status = rc.status[0], rc.status[1:]
		}
		rc.mu.Unlock()
		w.WriteHeader(st)
		rc.received <- struct{}{}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *callbackReceiver) calls() []receivedCallback {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]receivedCallback(nil), rc.got...)
}

func waitIdle(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
}

// vars builds a variables array.
func vars(kv ...any) []map[string]any {
	var out []map[string]any
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, map[string]any{"name": kv[i], "value": kv[i+1]})
	}
	return out
}

// deployMediaReview deploys the embedded media_review model through the API.
func deployMediaReview(t *testing.T, c *client) modelDTO {
	t.Helper()
	return deployModel(t, c, MediaReviewModel())
}

// deployStrictMediaReview deploys media_review with its callback task
// failing on errors (retried, then dead-lettered) instead of ignoring them
// as the bundled model does.
func deployStrictMediaReview(t *testing.T, c *client) modelDTO {
	t.Helper()
	strict := bytes.Replace(MediaReviewModel(), []byte(`"httptaskignoreexception": "true"`), []byte(`"httptaskignoreexception": ""`), 1)
	if bytes.Equal(strict, MediaReviewModel()) {
		t.Fatal("media_review no longer sets httptaskignoreexception")
	}
	return deployModel(t, c, strict)
}

func deployModel(t *testing.T, c *client, otwf []byte) modelDTO {
	t.Helper()
	var raw struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(otwf, &raw); err != nil {
		t.Fatal(err)
	}
	var m modelDTO
	if st := c.do(http.MethodPost, "/workflow/v1/runtime/models", map[string]any{"modelType": "json", "modelContent": raw.Data}, &m); st != http.StatusCreated {
		t.Fatalf("deploy media_review: status %d", st)
	}
	return m
}
