// Package kit holds what the three sandboxes (iconik, Contentstack, OpenText
// Workflow) share: fault injection, rate limiting, a record of the calls
// made, outbound webhook delivery with retries, and the admin endpoints under
// /_sandbox/ that tests use to read and steer a sandbox.
//
// A sandbox wraps its API handler with Kit.Wrap; the order of the middleware
// is: record the call, then faults (latency, 429 storm, error rate), then the
// rate limit, then the sandbox's own auth and routing.
package kit

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// Clock tells the time. Tests inject a fake one so delays run without sleeping.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// RealClock is the wall clock.
var RealClock Clock = realClock{}

// Options configure the shared machinery of one sandbox server.
type Options struct {
	// Name names the sandbox in logs and the admin endpoints ("iconik").
	Name string
	// Rate is the sustained request rate allowed; 0 disables rate limiting.
	Rate float64
	// Burst is the bucket size; defaults to Rate rounded up.
	Burst int
	// RejectRateLimited writes the sandbox-specific 429 response.
	RejectRateLimited func(w http.ResponseWriter, r *http.Request, retryAfter time.Duration, limit float64)
	// RateLimitHeaders, when set, is called on every admitted request with the
	// limit and the tokens remaining so the sandbox can set its documented headers.
	RateLimitHeaders func(h http.Header, limit float64, remaining int)
	// InjectedError writes the response for an injected server error; defaults to a 500 with a JSON body.
	InjectedError func(w http.ResponseWriter, r *http.Request)
	// WebhookRetries is the delay before each retry of a failed webhook delivery.
	WebhookRetries []time.Duration
	// WebhookTimeout bounds one delivery attempt; default 30s.
	WebhookTimeout time.Duration
	// Logger receives debug logs; default discards.
	Logger *slog.Logger
	// Clock defaults to the wall clock.
	Clock Clock
}

// Kit is the shared machinery of one sandbox server.
type Kit struct {
	opts     Options
	Faults   *Faults
	Limiter  *Limiter
	Calls    *Recorder
	Webhooks *Deliverer
	log      *slog.Logger
}

// New builds a Kit. Close it to stop webhook delivery.
func New(opts Options) *Kit {
	if opts.Clock == nil {
		opts.Clock = RealClock
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.InjectedError == nil {
		opts.InjectedError = func(w http.ResponseWriter, r *http.Request) {
			WriteJSON(w, http.StatusInternalServerError, map[string]any{"error": "injected fault"})
		}
	}
	k := &Kit{opts: opts, log: opts.Logger.With("sandbox", opts.Name)}
	k.Faults = NewFaults()
	k.Limiter = NewLimiter(opts.Rate, opts.Burst, opts.Clock)
	k.Calls = NewRecorder(opts.Clock)
	k.Webhooks = NewDeliverer(DelivererOptions{
		Retries: opts.WebhookRetries,
		Timeout: opts.WebhookTimeout,
		Faults:  k.Faults,
		Clock:   opts.Clock,
		Logger:  k.log,
	})
	return k
}

// Clock returns the sandbox's clock.
func (k *Kit) Clock() Clock { return k.opts.Clock }

// Close stops webhook delivery, dropping what is still queued.
func (k *Kit) Close() error {
	k.Webhooks.Close()
	return nil
}

// Wrap returns api wrapped in the shared middleware, with the admin endpoints
// mounted at /_sandbox/. reset is called by POST /_sandbox/reset after the
// kit's own state is cleared; it may be nil.
func (k *Kit) Wrap(api http.Handler, reset func()) http.Handler {
	admin := k.adminMux(reset)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Path) >= 10 && r.URL.Path[:10] == "/_sandbox/" {
			admin.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := k.opts.Clock.Now()
		defer func() { k.Calls.add(r, rec.status, start) }()

		if d := k.Faults.latency(r); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				rec.status = 499
				return
			}
		}
		if k.Faults.take429() {
			k.reject(rec, r, time.Second)
			return
		}
		if k.Faults.injectError(r) {
			k.opts.InjectedError(rec, r)
			return
		}
		if ok, retry, remaining := k.Limiter.Allow(); !ok {
			k.reject(rec, r, retry)
			return
		} else if k.opts.RateLimitHeaders != nil && k.opts.Rate > 0 {
			k.opts.RateLimitHeaders(rec.Header(), k.opts.Rate, remaining)
		}
		api.ServeHTTP(rec, r)
	})
}

func (k *Kit) reject(w http.ResponseWriter, r *http.Request, retry time.Duration) {
	if k.opts.RejectRateLimited != nil {
		k.opts.RejectRateLimited(w, r, retry, k.opts.Rate)
		return
	}
	secs := int(retry.Seconds() + 0.999)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", itoa(secs))
	WriteJSON(w, http.StatusTooManyRequests, map[string]any{"error": "rate limit exceeded"})
}

func (k *Kit) adminMux(reset func()) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sandbox/calls", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, k.Calls.List(r.URL.Query().Get("path")))
	})
	mux.HandleFunc("DELETE /_sandbox/calls", func(w http.ResponseWriter, r *http.Request) {
		k.Calls.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, k.Faults.Config())
	})
	mux.HandleFunc("PUT /_sandbox/faults", func(w http.ResponseWriter, r *http.Request) {
		var c FaultConfig
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&c); err != nil {
			WriteJSON(w, http.StatusBadRequest, map[string]any{"error": "decoding fault config: " + err.Error()})
			return
		}
		if err := k.Faults.Set(c); err != nil {
			WriteJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error()})
			return
		}
		WriteJSON(w, http.StatusOK, k.Faults.Config())
	})
	mux.HandleFunc("GET /_sandbox/webhooks", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, k.Webhooks.Log())
	})
	mux.HandleFunc("POST /_sandbox/webhooks/flush", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		if err := k.Webhooks.Flush(ctx); err != nil {
			WriteJSON(w, http.StatusGatewayTimeout, map[string]any{"error": err.Error()})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /_sandbox/reset", func(w http.ResponseWriter, r *http.Request) {
		k.Reset()
		if reset != nil {
			reset()
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// Reset clears faults, recorded calls, the webhook log and queue, and refills the rate bucket.
func (k *Kit) Reset() {
	k.Faults.Reset()
	k.Calls.Reset()
	k.Webhooks.Reset()
	k.Limiter.Reset()
}

// WriteJSON writes v as JSON with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v == nil {
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status = code
		s.wrote = true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
