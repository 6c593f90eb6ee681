package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/web"
)

// BenchmarkAuthenticatedRead measures an authenticated API read (token
// lookup, role check, query, JSON) against a plain Fiber handler returning a
// constant, both driven the same way in the same process; x-plain is the
// ratio of their times per request.
func BenchmarkAuthenticatedRead(b *testing.B) {
	f := newFixture(b)
	plain := fiber.New(fiber.Config{DisableStartupMessage: true})
	plain.Get("/", func(c *fiber.Ctx) error { return c.JSON(map[string]string{"status": "ok"}) })
	send := func(tb testing.TB, app *fiber.App, req *http.Request) {
		resp, err := app.Test(req, -1)
		if err != nil || resp.StatusCode != http.StatusOK {
			tb.Fatalf("status %v, err %v", resp, err)
		}
		resp.Body.Close()
	}
	refPerOp := timePerOp(2000, func() { send(b, plain, request("GET", "/", nil)) })
	b.ResetTimer()
	for b.Loop() {
		send(b, f.srv.App(), f.as("city", request("GET", "/api/v1/cycles", nil)))
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/refPerOp, "x-plain")
}

// BenchmarkRegionDashboard measures a city official's dashboard page of a
// published run served from the cache of published pages. References, in
// the same process: the same page built afresh each time, by a server
// with the cache turned off (x-uncached), and the plain Fiber handler
// (x-plain).
func BenchmarkRegionDashboard(b *testing.B) {
	plain := fiber.New(fiber.Config{DisableStartupMessage: true})
	plain.Get("/", func(c *fiber.Ctx) error { return c.JSON(map[string]string{"status": "ok"}) })
	send := func(app *fiber.App, req *http.Request) {
		resp, err := app.Test(req, -1)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("status %v, err %v", resp, err)
		}
		resp.Body.Close()
	}
	fresh := newFixtureOn(b, dbtest.New(b), web.Options{LoginRate: 1000, ViewCache: -1})
	freshPage := "/cycles/" + fresh.fullCycle().ID + "/regions/140100"
	f := newFixture(b)
	page := "/cycles/" + f.fullCycle().ID + "/regions/140100"

	plainPerOp := timePerOp(2000, func() { send(plain, request("GET", "/", nil)) })
	freshPerOp := timePerOp(100, func() { send(fresh.srv.App(), fresh.as("city", request("GET", freshPage, nil))) })
	send(f.srv.App(), f.as("city", request("GET", page, nil))) // fills the cache
	b.ResetTimer()
	for b.Loop() {
		send(f.srv.App(), f.as("city", request("GET", page, nil)))
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/plainPerOp, "x-plain")
	b.ReportMetric(perOp/freshPerOp, "x-uncached")
}

// timePerOp is the mean time of n calls of fn, in nanoseconds. References
// are timed by hand: testing.Benchmark cannot run inside a running
// benchmark.
func timePerOp(n int, fn func()) float64 {
	start := time.Now()
	for range n {
		fn()
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n)
}
