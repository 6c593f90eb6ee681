package httpapi_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/jobs"
)

// TestBrokerOutage stops the queue broker under a running server: a write
// that creates a job still succeeds and its job stays queued; once the
// broker is back (empty, as Redis without persistence) the sweeper hands
// the job over again and it runs, once.
func TestBrokerOutage(t *testing.T) {
	f := newFixture(t)
	reg := jobs.NewRegistry()
	reg.Register(audit.TypeExport, audit.NewLog(f.db).ExportHandler(f.dataDir))
	w := jobs.NewWorker(f.db, f.redis, reg, 1, nil)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()

	f.broker.Close()
	resp, body := f.do(f.as("auditor", request("POST", "/api/v1/audit/exports", map[string]string{})))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("write during broker outage: %d %s", resp.StatusCode, body)
	}
	job := decode[jobs.Job](t, body)
	resp, body = f.do(request("GET", "/readyz", nil))
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"broker":"unavailable"`) {
		t.Fatalf("/readyz during outage: %d %s", resp.StatusCode, body)
	}
	time.Sleep(200 * time.Millisecond)
	if j, _ := f.queue.Get(context.Background(), job.ID); j.Status != jobs.StatusQueued {
		t.Fatalf("job %s during outage, want queued", j.Status)
	}

	if err := f.broker.Restart(); err != nil {
		t.Fatal(err)
	}
	sw := jobs.NewSweeper(f.db, f.redis, reg, nil, time.Hour)
	sw.Grace = 0
	defer sw.Close()
	if n, err := sw.SweepOnce(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep after restart: %d, %v; want 1 job re-enqueued", n, err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := f.queue.Get(context.Background(), job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status == jobs.StatusSucceeded {
			if j.Attempts != 1 {
				t.Fatalf("job ran %d times, want once", j.Attempts)
			}
			break
		}
		if j.Status == jobs.StatusFailed || time.Now().After(deadline) {
			t.Fatalf("job ended %s: %s", j.Status, j.Error)
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.call("auditor", "GET", "/api/v1/jobs/"+job.ID+"/result", nil, 200)
}

// TestShutdownDrainsRequests starts a request that takes a while, shuts the
// server down meanwhile, and checks that the request still completes and
// that new connections are refused.
func TestShutdownDrainsRequests(t *testing.T) {
	f := newFixture(t)
	started := make(chan struct{})
	f.srv.App().Get("/test/slow", func(c *fiber.Ctx) error {
		close(started)
		time.Sleep(500 * time.Millisecond)
		return c.SendString("done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = f.srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	type result struct {
		status int
		err    error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(url + "/test/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		resp.Body.Close()
		got <- result{status: resp.StatusCode}
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if r := <-got; r.err != nil || r.status != 200 {
		t.Fatalf("in-flight request: %+v, want 200", r)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("server accepted a request after shutdown")
	}
}
