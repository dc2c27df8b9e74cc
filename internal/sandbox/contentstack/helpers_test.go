package contentstack

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// sharedKey avoids generating an RSA key per test server.
func sharedKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

// harness is a sandbox behind an httptest server with a JSON client.
type harness struct {
	t      *testing.T
	s      *Server
	srv    *httptest.Server
	client *http.Client // nil means http.DefaultClient
}

// fast returns options with tiny delays and rate limits off.
func fast(seed bool) Options {
	return Options{Seed: seed, TimeScale: 0.0005, ReadRate: -1, WriteRate: -1, BulkRate: -1}
}

func newHarness(t *testing.T, o Options) *harness {
	t.Helper()
	if o.SigningKey == nil {
		o.SigningKey = sharedKey(t)
	}
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(s)
	s.SetURL(srv.URL)
	t.Cleanup(func() {
		srv.Close()
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return &harness{t: t, s: s, srv: srv}
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

// do sends a request with the management token. body may be a map
// (JSON-encoded), []byte or nil.
func (h *harness) do(method, path string, body any) resp {
	h.t.Helper()
	return h.doWith(method, path, body, map[string]string{"api_key": h.s.APIKey(), "authorization": h.s.ManagementToken()})
}

func (h *harness) doWith(method, path string, body any, headers map[string]string) resp {
	h.t.Helper()
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
		ctype = "application/json"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
		ctype = "application/json"
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range headers {
		req.Header[k] = []string{v} // keep api_key lower-case like the real clients
	}
	client := h.client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{status: res.StatusCode, header: res.Header, raw: raw}
	_ = decodeJSON(raw, &r.body)
	return r
}

// must asserts a status and returns the body.
func (r resp) must(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.raw)
	}
	return r.body
}

func (h *harness) flush() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.s.Flush(ctx); err != nil {
		h.t.Fatalf("Flush: %v", err)
	}
}

func q(path string, params map[string]string) string {
	v := url.Values{}
	for k, x := range params {
		v.Set(k, x)
	}
	return path + "?" + v.Encode()
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func arr(v any) []any {
	a, _ := v.([]any)
	return a
}
