package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/internal/testing/loadgen"
)

// The API benchmark's loads: each target first as fast as it is answered
// (closed loop), then at the 500 requests per second (open loop).
const (
	benchConcurrency = 16
	benchDuration    = 3 * time.Second
	benchRate        = 500
)

// BenchmarkServeAPI drives `ipeval serve` (MySQL and Redis when the tests
// have them, else embedded) over loopback with the in-repo load generator,
// against a plain Fiber handler returning a constant, served by the same
// process under the same load:
//
//   - dashboard: a city official's published region result
//     (GET /api/v1/runs/:id/regions/:code, what the dashboard shows);
//   - write: a provincial manager rewriting indicator values of the cycle in
//     collection, one value per worker, each write carrying the version the
//     last one returned.
//
// Each reports req/s at full load, p50-ms and p99-ms at 500 requests/s,
// and x-plain, its throughput over the plain handler's.
func BenchmarkServeAPI(b *testing.B) {
	s := startLive(b, false)
	plainApp := fiber.New(fiber.Config{DisableStartupMessage: true})
	plainApp.Get("/", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = plainApp.Listener(ln) }()
	b.Cleanup(func() { _ = plainApp.Shutdown() })

	var plainRPS float64
	for _, t := range []struct {
		name   string
		target func(tb testing.TB) loadgen.Target
	}{
		{"plain", func(testing.TB) loadgen.Target {
			return loadgen.Target{Method: "GET", URL: "http://" + ln.Addr().String() + "/"}
		}},
		{"dashboard", s.dashboardTarget},
		{"write", s.writeTarget},
	} {
		b.Run(t.name, func(b *testing.B) {
			full, paced := measure(b, t.target(b))
			b.ReportMetric(full.Throughput(), "req/s")
			b.ReportMetric(ms(paced.Percentile(0.50)), "p50-ms")
			b.ReportMetric(ms(paced.Percentile(0.99)), "p99-ms")
			if t.name == "plain" {
				plainRPS = full.Throughput()
			} else if plainRPS > 0 {
				b.ReportMetric(full.Throughput()/plainRPS, "x-plain")
			}
		})
	}
}

// measure runs target's closed and open loops, failing on any failure.
func measure(b *testing.B, target loadgen.Target) (full, paced loadgen.Result) {
	b.Helper()
	ctx := context.Background()
	for _, l := range []struct {
		res *loadgen.Result
		cfg loadgen.Config
	}{
		{&full, loadgen.Config{Concurrency: benchConcurrency, Duration: benchDuration}},
		{&paced, loadgen.Config{Rate: benchRate, Concurrency: 4 * benchConcurrency, Duration: benchDuration}},
	} {
		res, err := loadgen.Run(ctx, target, l.cfg)
		if err != nil {
			b.Fatal(err)
		}
		if res.Failures > 0 {
			b.Fatalf("%d of %d requests failed; first: %s", res.Failures, res.Sent, res.FirstFailure)
		}
		*l.res = res
	}
	return full, paced
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// dashboardTarget reads the city official's own region of the published
// run, checking that the answer is that region's result.
func (s *liveServer) dashboardTarget(testing.TB) loadgen.Target {
	want := []byte(`"code":"` + s.cityRegion + `"`)
	return loadgen.Target{Method: "GET", URL: s.base + "/api/v1/runs/" + s.publishedRun + "/regions/" + s.cityRegion,
		Header: map[string]string{"Authorization": "Bearer " + s.city},
		Check: func(_ loadgen.Call, _ int, body []byte) error {
			if !bytes.Contains(body, want) {
				return fmt.Errorf("not the region's result: %.200s", body)
			}
			return nil
		}}
}

// writeTarget rewrites values of the collecting cycle as the manager: each
// worker owns one value and sends the version its previous write returned,
// so that every write is a real, conflict-free revision.
func (s *liveServer) writeTarget(tb testing.TB) loadgen.Target {
	values := s.writableValues(tb)
	if len(values) < 4*benchConcurrency {
		tb.Fatalf("%d writable values for %d workers", len(values), 4*benchConcurrency)
	}
	owned := values[:4*benchConcurrency]
	return loadgen.Target{Method: "POST", URL: s.base + "/api/v1/cycles/" + s.collecting + "/values",
		Header: map[string]string{"Authorization": "Bearer " + s.admin},
		Prepare: func(c loadgen.Call, r *loadgen.Request) {
			v := owned[c.Worker]
			r.Body, _ = json.Marshal(map[string]any{"items": []map[string]any{{
				"region_code": v.Region, "indicator_code": v.Indicator, "number": v.Number + float64(c.I%2), "version": v.Version,
				"reason": "load " + strconv.Itoa(c.I)}}})
			r.ContentType = "application/json"
		},
		Check: func(c loadgen.Call, _ int, body []byte) error {
			var got struct {
				Items []struct{ Version int }
			}
			if err := json.Unmarshal(body, &got); err != nil || len(got.Items) != 1 {
				return fmt.Errorf("write answered %.200s", body)
			}
			owned[c.Worker].Version = got.Items[0].Version
			return nil
		}}
}

// BenchmarkServeRSS measures the resident memory of `ipeval serve` in a
// process of its own: idle once started with the demo data (idle-MB), then
// while the dashboard and the write loads of BenchmarkServeAPI run at once
// (loaded-MB at their end, peak-MB the kernel's high-water mark).
func BenchmarkServeRSS(b *testing.B) {
	s := startLive(b, true)
	idle := rss(b, s.pid, "VmRSS")

	var wg sync.WaitGroup
	for _, target := range []loadgen.Target{s.dashboardTarget(b), s.writeTarget(b)} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := loadgen.Run(context.Background(), target, loadgen.Config{Concurrency: benchConcurrency, Duration: benchDuration})
			if err == nil && res.Failures > 0 {
				err = fmt.Errorf("%d of %d requests failed; first: %s", res.Failures, res.Sent, res.FirstFailure)
			}
			if err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(idle, "idle-MB")
	b.ReportMetric(rss(b, s.pid, "VmRSS"), "loaded-MB")
	b.ReportMetric(rss(b, s.pid, "VmHWM"), "peak-MB")
}

// rss reads a memory figure of a process from /proc, in MiB.
func rss(tb testing.TB, pid int, field string) float64 {
	tb.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Skipf("no /proc on this system: %v", err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				tb.Fatalf("%s: %q", field, line)
			}
			return float64(kb) / 1024
		}
	}
	tb.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
