package auth

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/ipeval/ipeval/internal/fault"
)

// Login throttling. Guessing is slowed, never stopped by a lock: a lock that
// a stranger can trigger is a way to keep the owner out, and one that only
// real accounts get tells which names exist. Every rule is keyed on the
// username as typed, so that an unknown name is throttled exactly like a
// real one.
const (
	// FreeFailures wrong passwords for one name from one client network
	// are answered at once; after that each attempt waits NetworkDelay,
	// doubling with every further failure up to NetworkMaxDelay.
	FreeFailures    = 5
	NetworkDelay    = time.Minute
	NetworkMaxDelay = 15 * time.Minute
	// AccountFreeFailures wrong passwords for one name from all networks
	// together are allowed before attempts from anywhere are spaced by
	// AccountDelay, doubling up to AccountMaxDelay. The ceiling only
	// slows, and not from a network the name signed in from within
	// KnownNetworkMemory: otherwise a stranger who spends one guess each
	// time the spacing ends would keep the owner waiting for good.
	AccountFreeFailures = 20
	AccountDelay        = time.Second
	AccountMaxDelay     = time.Minute
	// ThrottleMemory is how long failures are remembered after the last.
	ThrottleMemory = 24 * time.Hour
	// KnownNetworkMemory is how long a network a name signed in from
	// stays exempt from the name's account-wide ceiling.
	KnownNetworkMemory = 90 * 24 * time.Hour
)

// Bounds on what the throttle remembers, so that guesses at random names
// from many networks cannot grow it without limit; the least recently
// guessed names are forgotten first.
const (
	throttleNames       = 16384
	throttleNetsPerName = 256
	maxThrottleKey      = 128
)

// ErrThrottled marks the refusal of a sign-in attempt that comes too soon
// after failed ones. The refusal is the same for every name and also wraps
// fault.ErrTooManyRequests with the wait in whole seconds as Ext
// "retry_after" (see throttledError).
var ErrThrottled = errors.New("sign-in throttled")

// failures counts wrong passwords and when the last came.
type failures struct {
	n    int
	last time.Time
}

// wait is how long after now an attempt must wait given f, free failures
// without delay and the delay doubling from base up to ceiling; step is
// that rule's full delay, which is what the caller is told to wait, so
// that equal histories get equal answers whatever the clock's jitter.
func (f failures) wait(now time.Time, free int, base, ceiling time.Duration) (wait, step time.Duration) {
	if f.n < free {
		return 0, 0
	}
	step = ceiling
	if shift := f.n - free; shift < 30 && base<<shift < ceiling {
		step = base << shift
	}
	return f.last.Add(step).Sub(now), step
}

// nameRecord is the throttle's memory of one name.
type nameRecord struct {
	all  failures
	nets map[string]*failures
}

// throttle slows password guessing per name and client network and per
// name across networks. It is per process: a deployment with several
// servers multiplies the rates by their number.
type throttle struct {
	mu    sync.Mutex
	names *lru.Cache[string, *nameRecord]
	// known holds, by name and network, when the name last signed in from
	// that network.
	known *lru.Cache[[2]string, time.Time]
}

func newThrottle() *throttle {
	names, err := lru.New[string, *nameRecord](throttleNames)
	if err != nil { // only for a size below 1
		panic(err)
	}
	known, err := lru.New[[2]string, time.Time](throttleNames)
	if err != nil {
		panic(err)
	}
	return &throttle{names: names, known: known}
}

// throttleKey is the name as the throttle knows it: normalised like a
// login, and cut short, since longer names cannot exist.
func throttleKey(username string) string {
	k := normaliseUsername(username)
	if len(k) > maxThrottleKey {
		k = k[:maxThrottleKey]
	}
	return k
}

// ClientNetwork is the network a client address is throttled by: the /24
// of an IPv4 address, the /64 of an IPv6 one (a household or office usually
// holds a whole /64), or the text itself when it is not an address.
func ClientNetwork(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ip
	}
	return p.String()
}

// begin decides whether an attempt for name from network may be checked
// now and, if so, counts it as a failure until succeed says otherwise:
// counting before the check means parallel guesses cannot all slip in
// under the limit. A refusal is ErrThrottled with the wait.
func (t *throttle) begin(name, network string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := throttleKey(name)
	rec, ok := t.names.Get(key)
	if !ok || now.Sub(rec.all.last) > ThrottleMemory {
		rec = &nameRecord{nets: map[string]*failures{}}
		t.names.Add(key, rec)
	}
	net := rec.nets[network]
	if net == nil || now.Sub(net.last) > ThrottleMemory {
		net = &failures{}
	}
	w1, s1 := net.wait(now, FreeFailures, NetworkDelay, NetworkMaxDelay)
	var w2, s2 time.Duration
	if at, ok := t.known.Get([2]string{key, network}); !ok || now.Sub(at) > KnownNetworkMemory {
		w2, s2 = rec.all.wait(now, AccountFreeFailures, AccountDelay, AccountMaxDelay)
	}
	if w1 > 0 || w2 > 0 {
		step := s1
		if w2 > 0 && (w1 <= 0 || s2 > s1) {
			step = s2
		}
		return throttledError(step)
	}
	net.n++
	net.last = now
	rec.all.n++
	rec.all.last = now
	if len(rec.nets) >= throttleNetsPerName {
		rec.prune(now)
	}
	rec.nets[network] = net
	return nil
}

// prune forgets the networks whose failures are old, or, when none is,
// the one whose last failure is oldest, to make room for another.
func (r *nameRecord) prune(now time.Time) {
	var oldest string
	for k, f := range r.nets {
		if now.Sub(f.last) > ThrottleMemory {
			delete(r.nets, k)
		} else if oldest == "" || f.last.Before(r.nets[oldest].last) {
			oldest = k
		}
	}
	if len(r.nets) >= throttleNetsPerName {
		delete(r.nets, oldest)
	}
}

// cancel undoes begin's count for an attempt whose password was never
// checked (the server was too busy): it was no guess.
func (t *throttle) cancel(name, network string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec, ok := t.names.Get(throttleKey(name))
	if !ok {
		return
	}
	if rec.all.n > 0 {
		rec.all.n--
	}
	if net := rec.nets[network]; net != nil && net.n > 0 {
		net.n--
	}
}

// succeed records a right password for name from network: its failures
// are forgotten (clear) and the network is known to the name from now on.
func (t *throttle) succeed(name, network string, now time.Time) {
	t.clear(name)
	t.known.Add([2]string{throttleKey(name), network}, now)
}

// clear forgets every failure of name: after a right password, because
// whoever knows it has nothing left to guess, from every network; or when
// the security administrator lifts a throttle.
func (t *throttle) clear(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.names.Remove(throttleKey(name))
}

// until reports until when attempts for name are slowed from at least one
// network, or the zero time.
func (t *throttle) until(name string, now time.Time) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec, ok := t.names.Get(throttleKey(name))
	if !ok {
		return time.Time{}
	}
	var latest time.Time
	consider := func(f failures, free int, base, ceiling time.Duration) {
		if w, _ := f.wait(now, free, base, ceiling); w > 0 && now.Add(w).After(latest) {
			latest = now.Add(w)
		}
	}
	consider(rec.all, AccountFreeFailures, AccountDelay, AccountMaxDelay)
	for _, f := range rec.nets {
		consider(*f, FreeFailures, NetworkDelay, NetworkMaxDelay)
	}
	return latest
}

// throttledError is ErrThrottled telling the caller to wait d.
func throttledError(d time.Duration) error {
	secs := int(math.Ceil(d.Seconds()))
	return fmt.Errorf("%w: %w", fault.With(fault.ErrTooManyRequests,
		fmt.Sprintf("too many failed sign-in attempts, try again in %d seconds", secs),
		fmt.Sprintf("登录失败次数过多，请 %d 秒后再试", secs),
		map[string]any{"retry_after": secs}), ErrThrottled)
}
