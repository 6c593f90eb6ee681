package broker_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ipeval/ipeval/internal/broker"
)

func startBroker(t *testing.T) *broker.Embedded {
	t.Helper()
	b, err := broker.StartEmbedded("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStartEmbeddedListensOnLoopback(t *testing.T) {
	b := startBroker(t)
	if !strings.HasPrefix(b.Addr(), "127.0.0.1:") || strings.HasSuffix(b.Addr(), ":0") {
		t.Fatalf("Addr() = %q, want 127.0.0.1 with a chosen port", b.Addr())
	}
	if err := client(t, b.Addr()).Ping(context.Background()).Err(); err != nil {
		t.Fatalf("ping: %v", err)
	}
}

func TestKeysExpireWithTheClock(t *testing.T) {
	ctx := context.Background()
	c := client(t, startBroker(t).Addr())
	tests := []struct {
		name string
		set  func(key string) error
	}{
		{"SET PX", func(k string) error { return c.Set(ctx, k, "v", 200*time.Millisecond).Err() }},
		{"SET NX EX", func(k string) error { return c.SetNX(ctx, k, "v", time.Second).Err() }},
		{"PEXPIREAT", func(k string) error {
			if err := c.Set(ctx, k, "v", 0).Err(); err != nil {
				return err
			}
			return c.PExpireAt(ctx, k, time.Now().Add(200*time.Millisecond)).Err()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "k:" + tt.name
			if err := tt.set(key); err != nil {
				t.Fatal(err)
			}
			if n := c.Exists(ctx, key).Val(); n != 1 {
				t.Fatalf("key missing right after it was set")
			}
			eventually(t, 3*time.Second, "key expiry", func() bool { return c.Exists(ctx, key).Val() == 0 })
		})
	}
}

func TestCloseAndRestart(t *testing.T) {
	ctx := context.Background()
	b := startBroker(t)
	addr := b.Addr()
	c := client(t, addr)
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b.Close() // idempotent
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("ping succeeded on a closed broker")
	}
	if b.Addr() != addr {
		t.Fatalf("Addr() after Close = %q, want %q", b.Addr(), addr)
	}
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	if b.Addr() != addr {
		t.Fatalf("Addr() after Restart = %q, want %q", b.Addr(), addr)
	}
	eventually(t, 2*time.Second, "reconnect", func() bool { return c.Ping(ctx).Err() == nil })
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET after restart: %v, want an empty broker", err)
	}
	if err := b.Restart(); err != nil { // restart while running
		t.Fatal(err)
	}
}

// TestAsynqRunsUnchanged drives asynq's client, server and inspector against
// the embedded broker: enqueue with a task id, retry, completion, uniqueness
// locks that must expire, and the inspector's views.
func TestAsynqRunsUnchanged(t *testing.T) {
	b := startBroker(t)
	opt := asynq.RedisClientOpt{Addr: b.Addr()}

	c := asynq.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	in := asynq.NewInspector(opt)
	t.Cleanup(func() { _ = in.Close() })

	// Uniqueness locks are keys with a TTL: the second enqueue is refused
	// until the lock expires.
	if _, err := c.Enqueue(asynq.NewTask("u", nil), asynq.Unique(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(asynq.NewTask("u", nil), asynq.Unique(time.Second)); !errors.Is(err, asynq.ErrDuplicateTask) {
		t.Fatalf("second unique enqueue: %v, want ErrDuplicateTask", err)
	}
	eventually(t, 3*time.Second, "unique lock expiry", func() bool {
		_, err := c.Enqueue(asynq.NewTask("u", nil), asynq.Unique(time.Second))
		return err == nil
	})
	if _, err := in.DeleteAllPendingTasks("default"); err != nil {
		t.Fatal(err)
	}

	var calls atomic.Int32
	done := make(chan struct{})
	mux := asynq.NewServeMux()
	mux.HandleFunc("t", func(ctx context.Context, task *asynq.Task) error {
		if calls.Add(1) == 1 {
			return errors.New("first attempt fails")
		}
		close(done)
		return nil
	})
	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency:              2,
		TaskCheckInterval:        50 * time.Millisecond,
		DelayedTaskCheckInterval: 50 * time.Millisecond,
		RetryDelayFunc:           func(int, error, *asynq.Task) time.Duration { return 10 * time.Millisecond },
		LogLevel:                 asynq.FatalLevel,
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)

	if _, err := c.Enqueue(asynq.NewTask("t", []byte("x")), asynq.TaskID("task-1"), asynq.MaxRetry(2)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(asynq.NewTask("t", nil), asynq.TaskID("task-1")); !errors.Is(err, asynq.ErrTaskIDConflict) {
		t.Fatalf("enqueue with a held task id: %v, want ErrTaskIDConflict", err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("task did not complete")
	}
	eventually(t, 5*time.Second, "task removed after success", func() bool {
		_, err := in.GetTaskInfo("default", "task-1")
		return errors.Is(err, asynq.ErrTaskNotFound)
	})
	q, err := in.GetQueueInfo("default")
	if err != nil {
		t.Fatal(err)
	}
	if q.Processed != 2 || q.Failed != 1 {
		t.Errorf("queue stats processed=%d failed=%d, want 2 and 1", q.Processed, q.Failed)
	}
	eventually(t, 5*time.Second, "server listed", func() bool {
		servers, err := in.Servers()
		return err == nil && len(servers) == 1
	})
}
