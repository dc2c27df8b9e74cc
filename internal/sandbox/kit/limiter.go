package kit

import (
	"math"
	"sync"
	"time"
)

// Limiter is a token bucket: Rate tokens a second, at most Burst banked.
type Limiter struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	clock  Clock
}

// NewLimiter returns a limiter; rate 0 admits everything.
func NewLimiter(rate float64, burst int, clock Clock) *Limiter {
	if clock == nil {
		clock = RealClock
	}
	b := float64(burst)
	if b <= 0 {
		b = math.Ceil(rate)
	}
	return &Limiter{rate: rate, burst: b, tokens: b, last: clock.Now(), clock: clock}
}

// SetRate changes the rate and burst (burst <= 0 means the rate rounded up).
func (l *Limiter) SetRate(rate float64, burst int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate = rate
	l.burst = float64(burst)
	if l.burst <= 0 {
		l.burst = math.Ceil(rate)
	}
	l.tokens = l.burst
}

// Allow takes a token. When none is left it reports how long until one is.
func (l *Limiter) Allow() (ok bool, retryAfter time.Duration, remaining int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate <= 0 {
		return true, 0, 0
	}
	now := l.clock.Now()
	l.tokens = math.Min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	if l.tokens >= 1 {
		l.tokens--
		return true, 0, int(l.tokens)
	}
	need := (1 - l.tokens) / l.rate
	return false, time.Duration(need * float64(time.Second)), 0
}

// Reset refills the bucket.
func (l *Limiter) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.tokens = l.burst
	l.last = l.clock.Now()
}
