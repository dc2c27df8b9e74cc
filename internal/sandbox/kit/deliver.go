package kit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// Delivery is one outbound webhook request.
type Delivery struct {
	// ID identifies the delivery in the log (the sandbox's event or execution id).
	ID      string
	URL     string
	Method  string // default POST
	Headers http.Header
	Body    []byte
	// OnResult, if set, is called after every attempt (for a sandbox that
	// keeps its own execution log, like Contentstack's).
	OnResult func(attempt int, status int, err error)
	// MaxAttempts, when positive, caps the attempts for this delivery below
	// the deliverer's retry schedule (1 means no automatic retry).
	MaxAttempts int
}

// DeliveryRecord is one attempt in the log served at GET /_sandbox/webhooks.
type DeliveryRecord struct {
	ID      string    `json:"id"`
	URL     string    `json:"url"`
	Attempt int       `json:"attempt"`
	Status  int       `json:"status"`
	Error   string    `json:"error,omitempty"`
	Time    time.Time `json:"time"`
	Body    string    `json:"body"`
	// Dropped is true when a fault dropped the webhook instead of sending it.
	Dropped bool `json:"dropped,omitempty"`
}

// DelivererOptions configure a Deliverer.
type DelivererOptions struct {
	Retries []time.Duration
	Timeout time.Duration
	Faults  *Faults
	Clock   Clock
	Logger  *slog.Logger
	Client  *http.Client
}

// Deliverer sends webhooks in the background, retrying failures on a schedule.
// Non-2xx answers and transport errors count as failures.
type Deliverer struct {
	opts    DelivererOptions
	client  *http.Client
	mu      sync.Mutex
	log     []DeliveryRecord
	pending int
	held    []Delivery
	idle    *sync.Cond
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// NewDeliverer starts a deliverer.
func NewDeliverer(opts DelivererOptions) *Deliverer {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = RealClock
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Faults == nil {
		opts.Faults = NewFaults()
	}
	client := opts.Client
	if client == nil {
		client = &http.Client{Timeout: opts.Timeout}
	}
	ctx, cancel := context.WithCancel(context.Background())
	d := &Deliverer{opts: opts, client: client, ctx: ctx, cancel: cancel}
	d.idle = sync.NewCond(&d.mu)
	return d
}

// SetRetries replaces the retry schedule.
func (d *Deliverer) SetRetries(r []time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.opts.Retries = append([]time.Duration(nil), r...)
}

// Send queues a delivery, applying the drop/duplicate/reorder faults.
func (d *Deliverer) Send(dl Delivery) {
	if dl.Method == "" {
		dl.Method = http.MethodPost
	}
	drop, dup, reorder := d.opts.Faults.webhookFate()
	if drop {
		d.record(DeliveryRecord{ID: dl.ID, URL: dl.URL, Time: d.opts.Clock.Now(), Body: string(dl.Body), Dropped: true})
		return
	}
	n := 1
	if dup {
		n = 2
	}
	for range n {
		if reorder {
			d.hold(dl)
			continue
		}
		d.start(dl, 1)
	}
}

func (d *Deliverer) hold(dl Delivery) {
	d.mu.Lock()
	d.held = append(d.held, dl)
	d.pending++
	first := len(d.held) == 1
	d.mu.Unlock()
	if !first {
		return
	}
	// Release the held batch in reverse order a little later.
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		select {
		case <-time.After(100 * time.Millisecond):
		case <-d.ctx.Done():
		}
		d.mu.Lock()
		batch := d.held
		d.held = nil
		d.pending -= len(batch)
		d.mu.Unlock()
		for i := len(batch) - 1; i >= 0; i-- {
			d.start(batch[i], 1)
		}
		d.signalIfIdle()
	}()
}

func (d *Deliverer) start(dl Delivery, attempt int) {
	d.mu.Lock()
	d.pending++
	d.mu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.attempt(dl, attempt)
	}()
}

func (d *Deliverer) attempt(dl Delivery, attempt int) {
	defer func() {
		d.mu.Lock()
		d.pending--
		d.mu.Unlock()
		d.signalIfIdle()
	}()
	status, err := d.post(dl)
	rec := DeliveryRecord{ID: dl.ID, URL: dl.URL, Attempt: attempt, Status: status, Time: d.opts.Clock.Now(), Body: string(dl.Body)}
	if err != nil {
		rec.Error = err.Error()
	}
	d.record(rec)
	if dl.OnResult != nil {
		dl.OnResult(attempt, status, err)
	}
	if err == nil {
		return
	}
	d.mu.Lock()
	retries := d.opts.Retries
	d.mu.Unlock()
	if attempt > len(retries) || (dl.MaxAttempts > 0 && attempt >= dl.MaxAttempts) {
		d.opts.Logger.Debug("webhook delivery gave up", "id", dl.ID, "url", dl.URL, "attempts", attempt, "error", err)
		return
	}
	delay := retries[attempt-1]
	d.mu.Lock()
	d.pending++ // the scheduled retry
	d.mu.Unlock()
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		select {
		case <-time.After(delay):
			d.mu.Lock()
			d.pending--
			d.mu.Unlock()
			d.start(dl, attempt+1)
		case <-d.ctx.Done():
			d.mu.Lock()
			d.pending--
			d.mu.Unlock()
			d.signalIfIdle()
		}
	}()
}

var errInjected = errors.New("injected delivery failure")

func (d *Deliverer) post(dl Delivery) (int, error) {
	if d.opts.Faults.takeWebhookFailure() {
		return 0, errInjected
	}
	ctx, cancel := context.WithTimeout(d.ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, dl.Method, dl.URL, bytes.NewReader(dl.Body))
	if err != nil {
		return 0, err
	}
	for k, v := range dl.Headers {
		req.Header[k] = append([]string(nil), v...)
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, errors.New(resp.Status)
	}
	return resp.StatusCode, nil
}

func (d *Deliverer) record(r DeliveryRecord) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.log) >= 50_000 {
		d.log = append(d.log[:0], d.log[len(d.log)/2:]...)
	}
	d.log = append(d.log, r)
}

func (d *Deliverer) signalIfIdle() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending == 0 {
		d.idle.Broadcast()
	}
}

// Log returns every delivery attempt so far.
func (d *Deliverer) Log() []DeliveryRecord {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]DeliveryRecord(nil), d.log...)
}

// Flush waits until nothing is queued, in flight or waiting for a retry.
func (d *Deliverer) Flush(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		d.mu.Lock()
		for d.pending > 0 && ctx.Err() == nil {
			d.idle.Wait()
		}
		d.mu.Unlock()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		d.idle.Broadcast()
		<-done
		return ctx.Err()
	}
}

// Reset forgets the log. Deliveries in flight continue.
func (d *Deliverer) Reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.log = nil
}

// Close stops delivering; queued retries are abandoned.
func (d *Deliverer) Close() {
	d.cancel()
	d.wg.Wait()
	d.idle.Broadcast()
}
