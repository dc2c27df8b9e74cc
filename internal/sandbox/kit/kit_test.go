package kit

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) Now() time.Time      { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) Add(d time.Duration) { c.t.Add(int64(d)) }
func newFakeClock() *fakeClock           { c := &fakeClock{}; c.t.Store(time.Unix(1000, 0).UnixNano()); return c }

func TestLimiterAdmitsBurstThenRejects(t *testing.T) {
	t.Parallel()
	clk := newFakeClock()
	l := NewLimiter(10, 10, clk)
	for i := range 10 {
		if ok, _, _ := l.Allow(); !ok {
			t.Fatalf("request %d rejected within burst", i)
		}
	}
	ok, retry, _ := l.Allow()
	if ok {
		t.Fatal("request past burst admitted")
	}
	if retry <= 0 || retry > 100*time.Millisecond {
		t.Fatalf("retry after = %v, want (0,100ms]", retry)
	}
	clk.Add(100 * time.Millisecond)
	if ok, _, _ := l.Allow(); !ok {
		t.Fatal("request after refill rejected")
	}
}

func TestWrapStormAndAdmin(t *testing.T) {
	t.Parallel()
	k := New(Options{Name: "t"})
	defer k.Close()
	h := k.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }), nil)
	srv := httptest.NewServer(h)
	defer srv.Close()

	put, _ := http.NewRequest("PUT", srv.URL+"/_sandbox/faults", strings.NewReader(`{"storm_429":2}`))
	resp, err := http.DefaultClient.Do(put)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("set faults: %v %v", err, resp)
	}
	var codes []int
	for range 3 {
		resp, err := http.Get(srv.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 429 || codes[1] != 429 || codes[2] != 204 {
		t.Fatalf("codes = %v, want [429 429 204]", codes)
	}
	resp, err = http.Get(srv.URL + "/_sandbox/calls")
	if err != nil {
		t.Fatal(err)
	}
	var calls []Call
	if err := json.NewDecoder(resp.Body).Decode(&calls); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 3 || calls[2].Status != 204 {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestDelivererRetriesUntilSuccess(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if string(b) != `{"a":1}` || r.Header.Get("X-Custom") != "v" {
			t.Errorf("body %q header %q", b, r.Header.Get("X-Custom"))
		}
		if hits.Add(1) < 3 {
			w.WriteHeader(500)
			return
		}
		w.WriteHeader(200)
	}))
	defer recv.Close()
	d := NewDeliverer(DelivererOptions{Retries: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}})
	defer d.Close()
	d.Send(Delivery{ID: "e1", URL: recv.URL, Headers: http.Header{"X-Custom": {"v"}}, Body: []byte(`{"a":1}`)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 3 {
		t.Fatalf("hits = %d, want 3", hits.Load())
	}
	log := d.Log()
	if len(log) != 3 || log[2].Status != 200 || log[0].Status != 500 {
		t.Fatalf("log = %+v", log)
	}
}

func TestDelivererDuplicateAndDrop(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer recv.Close()
	f := NewFaults()
	d := NewDeliverer(DelivererOptions{Faults: f})
	defer d.Close()
	_ = f.Set(FaultConfig{DuplicateWebhooks: 1})
	d.Send(Delivery{ID: "dup", URL: recv.URL, Body: []byte(`{}`)})
	_ = f.Set(FaultConfig{DropWebhooks: 1})
	d.Send(Delivery{ID: "drop", URL: recv.URL, Body: []byte(`{}`)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 2 {
		t.Fatalf("hits = %d, want 2 (one duplicated, one dropped)", hits.Load())
	}
}
