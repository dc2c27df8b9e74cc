package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/patchbay/patchbay/internal/connector"
	"github.com/patchbay/patchbay/internal/connector/connectortest"
	"github.com/patchbay/patchbay/internal/fault"
)

func TestConformance(t *testing.T) {
	var mu sync.Mutex
	keys := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys[r.Header.Get("Idempotency-Key")] = true
		mu.Unlock()
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		case "/bad":
			w.WriteHeader(422)
			w.Write([]byte(`{"error":"bad input"}`))
		default:
			w.Write([]byte(`{"ok":true}`))
		}
	}))
	defer srv.Close()
	connectortest.Run(t, connectortest.Config{
		Connector: Connector{},
		Values: map[string]any{"base_url": srv.URL, "allow": []any{"127.0.0.1"},
			"headers": map[string]any{"Authorization": "Bearer very-secret-token"}, "webhook_secret": "hook-secret-value"},
		OK:       &connectortest.Call{Action: "request", Input: map[string]any{"url": "/ok"}},
		NotFound: &connectortest.Call{Action: "request", Input: map[string]any{"url": "/missing"}},
		Invalid:  &connectortest.Call{Action: "request", Input: map[string]any{"url": "/bad", "method": "POST", "json": map[string]any{}}},
		Write:    &connectortest.Call{Action: "request", Input: map[string]any{"url": "/items", "method": "POST", "json": map[string]any{"a": 1}}},
		SawKey: func(k string) bool {
			mu.Lock()
			defer mu.Unlock()
			return keys[k]
		},
		Trigger:    "webhook",
		BadWebhook: &connector.WebhookRequest{Method: "POST", Header: http.Header{"X-Patchbay-Token": {"nope"}}, Body: []byte(`{}`)},
	})
}

func TestAllowlistAndPublicOnly(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }))
	defer srv.Close()
	open := func(values map[string]any) connector.Conn {
		v, err := connector.Prepare(spec.Connection, values, false)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Connector{}.Open(t.Context(), connector.Config{Name: "t", Values: v})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	call := func(c connector.Conn, url string) error {
		_, err := c.Do(t.Context(), "request", &connector.Request{Input: map[string]any{"url": url, "method": "GET"}})
		return err
	}
	tests := []struct {
		name        string
		values      map[string]any
		url         string
		errContains string
	}{
		{name: "loopback refused without allow list", values: map[string]any{}, url: srv.URL, errContains: "not public"},
		{name: "allow list admits loopback", values: map[string]any{"allow": []any{"127.0.0.1"}}, url: srv.URL},
		{name: "host not in allow list", values: map[string]any{"allow": []any{"*.example.com"}}, url: srv.URL, errContains: "not in the connection's allow list"},
		{name: "scheme refused", values: map[string]any{"allow": []any{"*"}}, url: "ftp://127.0.0.1/x", errContains: "scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := call(open(tt.values), tt.url)
			if tt.errContains == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errContains) {
				t.Fatalf("err = %v, want containing %q", err, tt.errContains)
			}
			if k := fault.KindOf(err); k != fault.Forbidden && k != fault.Transient {
				t.Errorf("kind = %v", k)
			}
		})
	}
}

func TestWebhookDecodeAndVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"item":{"id":42,"name":"x"}}`)
	req := &connector.WebhookRequest{Header: http.Header{"Content-Type": {"application/json"}, "X-Event-Id": {"e-1"}}, Body: body}
	ev, err := Decode(req, "item.id", "sink:item", "item")
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "e-1" || ev.Object != "sink:item/42" || ev.Hash != ContentHash([]byte(`{"name":"x","id":42}`)) {
		t.Fatalf("event = %+v", ev)
	}
	if _, err := Decode(&connector.WebhookRequest{Header: http.Header{"Content-Type": {"text/plain"}}, Body: body}, "", "", ""); !fault.Is(err, fault.Invalid) {
		t.Fatalf("text body: err = %v", err)
	}
	if err := Verify("hmac", "", "k", http.Header{"X-Patchbay-Signature": {"sha256=00"}}, body); !fault.Is(err, fault.Unauthorized) {
		t.Fatalf("bad hmac: err = %v", err)
	}
}
