package opentext

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/patchbay/patchbay/internal/sandbox/kit"
)

// The gateway's limits are undocumented; the sandbox assumes a spike-arrest
// style token bucket (default 100 requests/s, burst 200) answering 429 with
// the Apigee fault and a Retry-After header (ASSUMPTION).
func TestRateLimitAssumedSpikeArrest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		requests int
		want429  bool
	}{
		{name: "within the burst none are limited", requests: 5},
		{name: "a burst above the limit gets 429s", requests: 12, want429: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, ts := newServer(t, Options{Kit: kit.Options{Rate: 0.001, Burst: 6}})
			tok := s.IssueToken("")
			limited := 0
			for range tc.requests {
				req, _ := http.NewRequest(http.MethodGet, ts.URL+"/workflow/v1/tasks", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				_, _ = buf.ReadFrom(resp.Body)
				resp.Body.Close()
				validateResponse(t, req, resp, buf.Bytes())
				if resp.StatusCode != http.StatusTooManyRequests {
					continue
				}
				limited++
				var f fault
				_ = json.Unmarshal(buf.Bytes(), &f)
				if resp.Header.Get("Retry-After") == "" || f.Fault.Detail.ErrorCode != "policies.ratelimit.SpikeArrestViolation" {
					t.Errorf("429 without the assumed headers/body: %v %s", resp.Header, buf.Bytes())
				}
			}
			if tc.want429 && limited != tc.requests-6 {
				t.Errorf("limited %d of %d, want %d", limited, tc.requests, tc.requests-6)
			}
			if !tc.want429 && limited > 0 {
				t.Errorf("limited %d requests within the burst", limited)
			}
		})
	}
}

func TestFaultInjection(t *testing.T) {
	t.Parallel()
	s, ts := newServer(t, Options{Seed: true})
	c := newClient(t, s, ts)
	put := func(cfg kit.FaultConfig) {
		b, _ := json.Marshal(cfg)
		req, _ := http.NewRequest(http.MethodPut, ts.URL+"/_sandbox/faults", bytes.NewReader(b))
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("setting faults: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	put(kit.FaultConfig{ErrorRate: map[string]float64{"GET /workflow/v1/tasks": 1}, Storm429: 2})
	var f fault
	for range 2 {
		if st := c.do(http.MethodGet, "/workflow/v1/runtime/models", nil, &f); st != 429 {
			t.Fatalf("storm: %d", st)
		}
	}
	var e errorInfo
	if st := c.do(http.MethodGet, "/workflow/v1/tasks", nil, &e); st != 500 || e.Exception != "injected fault" {
		t.Fatalf("injected error: %d %+v", st, e)
	}
	if st := c.do(http.MethodGet, "/workflow/v1/runtime/models", nil, nil); st != 200 {
		t.Fatalf("other routes unaffected: %d", st)
	}
	if n := s.Kit().Calls.Count(http.MethodGet, "/workflow/v1/tasks"); n != 1 {
		t.Errorf("recorded task calls = %d", n)
	}
	resp, err := http.Post(ts.URL+"/_sandbox/reset", "application/json", nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("reset: %v %v", resp, err)
	}
	resp.Body.Close()
	if st := c.do(http.MethodGet, "/workflow/v1/tasks", nil, nil); st != 200 {
		t.Fatalf("after reset: %d", st)
	}
	if got := len(s.Tasks(TaskFilter{OpenOnly: true})); got != 2 {
		t.Errorf("open tasks after reset (reseeded) = %d, want 2", got)
	}
}
