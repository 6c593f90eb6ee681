// Package broker runs the embedded message broker: an in-process,
// Redis-compatible server (miniredis) listening on a local TCP port, so that
// the embedded mode drives the very same asynq client, server and inspector
// as the distributed mode does against a real Redis. asynq's CLI and web UI
// can inspect it at Addr.
//
// miniredis keeps data in memory only and, by default, never lets a key
// expire on its own. asynq relies on expiring keys (server and worker
// heartbeats, uniqueness locks, daily statistics), so the broker switches on
// miniredis's ClockTTL: TTLs run down with the wall clock and expired keys
// are dropped on the next access — what a ticker calling FastForward by the
// elapsed time would do, but exact and without a goroutine. asynq's task
// leases are scores in sorted sets compared with the caller's clock and need
// nothing from the server's.
//
// asynq v0.26 runs unchanged against miniredis: its Lua scripts (EVALSHA with
// EVAL fallback), sorted sets, lists, hashes, pub/sub cancellation and the
// inspector's commands all work; no command had to be patched.
package broker

import (
	"fmt"
	"sync"

	"github.com/alicebob/miniredis/v2"
)

// DefaultAddr is where StartEmbedded listens when given no address: the
// loopback interface on a port chosen by the kernel.
const DefaultAddr = "127.0.0.1:0"

// Embedded is a running in-process broker. It is safe for concurrent use.
type Embedded struct {
	mu   sync.Mutex
	srv  *miniredis.Miniredis
	addr string
}

// StartEmbedded starts a broker listening on addr ("" for DefaultAddr).
func StartEmbedded(addr string) (*Embedded, error) {
	if addr == "" {
		addr = DefaultAddr
	}
	srv, err := start(addr)
	if err != nil {
		return nil, err
	}
	return &Embedded{srv: srv, addr: srv.Addr()}, nil
}

func start(addr string) (*miniredis.Miniredis, error) {
	srv := miniredis.NewMiniRedis()
	srv.ClockTTL(true)
	if err := srv.StartAddr(addr); err != nil {
		return nil, fmt.Errorf("start embedded broker on %s: %w", addr, err)
	}
	return srv, nil
}

// Addr returns the host:port the broker listens on, also while it is closed.
func (e *Embedded) Addr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addr
}

// Close stops the broker, dropping every connection and all data. It may be
// called more than once.
func (e *Embedded) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv != nil {
		e.srv.Close()
		e.srv = nil
	}
}

// Restart closes the broker if it is running and starts an empty one on the
// same address, as a Redis server without persistence comes back after a
// restart. Tests use it to simulate a broker outage.
func (e *Embedded) Restart() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv != nil {
		e.srv.Close()
		e.srv = nil
	}
	srv, err := start(e.addr)
	if err != nil {
		return err
	}
	e.srv = srv
	return nil
}
