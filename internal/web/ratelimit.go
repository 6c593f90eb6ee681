package web

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter allows a number of events per minute per key (a client IP), with
// the whole allowance available as a burst. Idle keys are forgotten.
type limiter struct {
	mu      sync.Mutex
	perMin  int
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	lim     *rate.Limiter
	seen    time.Time
	refused bool
}

func newLimiter(perMinute int) *limiter {
	return &limiter{perMin: perMinute, buckets: map[string]*bucket{}}
}

// Allow reports whether key may act now, and counts the attempt. first is
// true for an allowed attempt and for the first refusal after it, so that a
// caller hammering the limit is recorded once per burst, not once per try.
func (l *limiter) Allow(key string) (ok, first bool) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(rate.Every(time.Minute/time.Duration(l.perMin)), l.perMin)}
		l.buckets[key] = b
	}
	b.seen = now
	if b.lim.AllowN(now, 1) {
		b.refused = false
		return true, true
	}
	first = !b.refused
	b.refused = true
	return false, first
}
