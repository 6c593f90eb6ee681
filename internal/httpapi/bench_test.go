package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
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
	// The reference is timed by hand: testing.Benchmark cannot run inside
	// a running benchmark.
	const refRuns = 2000
	start := time.Now()
	for range refRuns {
		send(b, plain, request("GET", "/", nil))
	}
	refPerOp := float64(time.Since(start).Nanoseconds()) / refRuns
	b.ResetTimer()
	for b.Loop() {
		send(b, f.srv.App(), f.as("city", request("GET", "/api/v1/cycles", nil)))
	}
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(perOp/refPerOp, "x-plain")
}
