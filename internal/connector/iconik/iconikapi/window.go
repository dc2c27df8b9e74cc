package iconikapi

import (
	"net/http"
	"sync"
	"time"

	"github.com/patchbay/patchbay/internal/fault"
)

// windowMargin widens the one-second window so that timer lateness and
// network jitter cannot squeeze one request too many into a second as the
// provider counts them.
const windowMargin = 25 * time.Millisecond

// windowTransport lets at most n requests leave in any window of length
// window: iconik counts requests per window (UNCONFIRMED: 50 per second, or
// 1000 per 20 seconds), and a token bucket alone lets burst+rate through in
// a second. It wraps the transport, so the time it keeps is when the
// request is actually sent, after the client's token bucket admitted it.
type windowTransport struct {
	next   http.RoundTripper
	window time.Duration

	mu   sync.Mutex
	sent []time.Time // ring of the last n send times, oldest at i
	i    int
}

func newWindowTransport(next http.RoundTripper, n int, window time.Duration) *windowTransport {
	return &windowTransport{next: next, window: window, sent: make([]time.Time, max(n, 1))}
}

func (w *windowTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	w.mu.Lock()
	now := time.Now()
	at := now
	if oldest := w.sent[w.i]; !oldest.IsZero() && oldest.Add(w.window).After(now) {
		at = oldest.Add(w.window)
	}
	w.sent[w.i] = at
	w.i = (w.i + 1) % len(w.sent)
	w.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-req.Context().Done():
			t.Stop()
			return nil, fault.E(fault.Canceled, "iconik: waiting for the rate window", req.Context().Err())
		}
	}
	return w.next.RoundTrip(req)
}
