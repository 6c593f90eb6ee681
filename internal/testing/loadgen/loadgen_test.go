package loadgen_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/internal/testing/loadgen"
)

// serve starts a Fiber app on a loopback port and returns its base URL.
func serve(tb testing.TB, app *fiber.App) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	tb.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + ln.Addr().String()
}

func TestRun(t *testing.T) {
	var hits, posted atomic.Int64
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/ok", func(c *fiber.Ctx) error { hits.Add(1); return c.SendString("ok") })
	app.Get("/slow", func(c *fiber.Ctx) error { time.Sleep(50 * time.Millisecond); return c.SendString("ok") })
	app.Get("/boom", func(c *fiber.Ctx) error { return c.SendStatus(fiber.StatusServiceUnavailable) })
	app.Post("/echo", func(c *fiber.Ctx) error {
		posted.Add(1)
		if c.Get(fiber.HeaderContentType) != "text/plain" || c.Get("X-Who") != "tester" {
			return c.SendStatus(fiber.StatusBadRequest)
		}
		if (c.Query("odd") == "1") != (string(c.Body()) != "" && (c.Body()[len(c.Body())-1]-'0')%2 == 1) {
			return c.SendStatus(fiber.StatusBadRequest)
		}
		return c.Send(c.Body())
	})
	base := serve(t, app)
	ctx := context.Background()

	t.Run("closed loop answers every request it sends", func(t *testing.T) {
		res, err := loadgen.Run(ctx, loadgen.Target{Method: "GET", URL: base + "/ok"}, loadgen.Config{Concurrency: 4, Duration: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent == 0 || res.Failures != 0 || res.Status[200] != res.Sent || int64(res.Sent) != hits.Load() {
			t.Fatalf("sent %d, failures %d (%s), statuses %v; the server saw %d", res.Sent, res.Failures, res.FirstFailure, res.Status, hits.Load())
		}
		if res.Throughput() <= 0 || res.Percentile(0.5) > res.Percentile(0.99) || res.Percentile(1) != res.Latencies[len(res.Latencies)-1] {
			t.Fatalf("throughput %.0f, p50 %s, p99 %s", res.Throughput(), res.Percentile(0.5), res.Percentile(0.99))
		}
	})

	t.Run("open loop keeps its rate", func(t *testing.T) {
		res, err := loadgen.Run(ctx, loadgen.Target{Method: "GET", URL: base + "/ok"}, loadgen.Config{Rate: 200, Concurrency: 8, Duration: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent < 180 || res.Sent > 201 {
			t.Fatalf("sent %d requests in 1 s at 200/s", res.Sent)
		}
	})

	t.Run("open loop counts the wait of a server that falls behind", func(t *testing.T) {
		// One worker, 50 ms per request, 100 requests/s due: each request
		// waits for the ones before it, and the percentiles must say so.
		res, err := loadgen.Run(ctx, loadgen.Target{Method: "GET", URL: base + "/slow"}, loadgen.Config{Rate: 100, Concurrency: 1, Duration: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if p99 := res.Percentile(0.99); p99 < 150*time.Millisecond {
			t.Fatalf("p99 %s of a server answering every 50 ms while 10 ms apart were due: the queueing is not counted", p99)
		}
	})

	t.Run("bodies, headers and checks", func(t *testing.T) {
		before := posted.Load()
		target := loadgen.Target{Method: "POST", URL: base + "/echo", Header: map[string]string{"X-Who": "tester"},
			Prepare: func(c loadgen.Call, r *loadgen.Request) {
				r.Body, r.ContentType = []byte(strconv.Itoa(c.I)), "text/plain"
				if c.I%2 == 1 {
					r.Path += "?odd=1"
				}
			},
			Check: func(c loadgen.Call, status int, body []byte) error {
				if string(body) != strconv.Itoa(c.I) {
					return fmt.Errorf("request %d echoed %q", c.I, body)
				}
				if c.Worker < 0 || c.Worker > 1 {
					return fmt.Errorf("worker %d of 2", c.Worker)
				}
				if c.I == 3 {
					return errors.New("refused by the check")
				}
				return nil
			}}
		res, err := loadgen.Run(ctx, target, loadgen.Config{Concurrency: 2, Duration: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent < 4 || res.Failures != 1 || res.FirstFailure == "" || int64(res.Sent) != posted.Load()-before {
			t.Fatalf("sent %d, failures %d (%q), statuses %v", res.Sent, res.Failures, res.FirstFailure, res.Status)
		}
	})

	t.Run("5xx and refused connections are failures", func(t *testing.T) {
		res, err := loadgen.Run(ctx, loadgen.Target{Method: "GET", URL: base + "/boom"}, loadgen.Config{Concurrency: 1, Duration: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent == 0 || res.Count5xx() != res.Sent || res.Failures != res.Sent {
			t.Fatalf("sent %d, 5xx %d, failures %d", res.Sent, res.Count5xx(), res.Failures)
		}
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		closed := ln.Addr().String()
		ln.Close()
		res, err = loadgen.Run(ctx, loadgen.Target{Method: "GET", URL: "http://" + closed + "/"}, loadgen.Config{Concurrency: 1, Duration: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent == 0 || res.Status[0] != res.Sent || res.Failures != res.Sent {
			t.Fatalf("refused connections: sent %d, statuses %v, failures %d", res.Sent, res.Status, res.Failures)
		}
	})

	t.Run("refuses targets off this machine and bad configs", func(t *testing.T) {
		for _, c := range []struct {
			url string
			cfg loadgen.Config
		}{
			{"http://192.168.1.1/", loadgen.Config{Concurrency: 1, Duration: time.Second}},
			{"http://example.org/", loadgen.Config{Concurrency: 1, Duration: time.Second}},
			{base + "/ok", loadgen.Config{Concurrency: 0, Duration: time.Second}},
			{base + "/ok", loadgen.Config{Concurrency: 1}},
		} {
			if _, err := loadgen.Run(ctx, loadgen.Target{Method: "GET", URL: c.url}, c.cfg); err == nil {
				t.Errorf("%s %+v: want an error", c.url, c.cfg)
			}
		}
		_, err := loadgen.Run(ctx, loadgen.Target{Method: "GET", URL: "http://10.0.0.1/"}, loadgen.Config{Concurrency: 1, Duration: time.Second})
		if !errors.Is(err, loadgen.ErrNotLoopback) {
			t.Errorf("private address: %v, want ErrNotLoopback", err)
		}
	})
}
