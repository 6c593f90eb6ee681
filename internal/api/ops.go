package api

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/reports"
)

// Health is the answer of the liveness and readiness probes.
type Health struct {
	Status  string            `json:"status"`
	Version string            `json:"version,omitempty"`
	Checks  map[string]string `json:"checks,omitempty"`
}

// Healthz answers health.live (Liveness).
func (h *Handlers) Healthz(c *fiber.Ctx, _ auth.Principal) error {
	return c.JSON(Health{Status: "ok", Version: h.deps.Version})
}

// Readyz runs every readiness check in parallel, each bounded in time. The
// answer names which part is down but never why: details go to the log.
func (h *Handlers) Readyz(c *fiber.Ctx, _ auth.Principal) error {
	out := Health{Status: "ok", Checks: map[string]string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, chk := range h.deps.Checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
			defer cancel()
			err := chk.Fn(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				h.log.Warn("readiness check failed", "check", chk.Name, "err", err)
				out.Checks[chk.Name] = "unavailable"
				out.Status = "unavailable"
				return
			}
			out.Checks[chk.Name] = "ok"
		}()
	}
	wg.Wait()
	if out.Status != "ok" {
		c.Set(fiber.HeaderRetryAfter, "5")
		return c.Status(fiber.StatusServiceUnavailable).JSON(out)
	}
	return c.JSON(out)
}

// ListAudit answers audit.list (Search the audit log).
func (h *Handlers) ListAudit(c *fiber.Ctx, _ auth.Principal) error {
	f, err := web.AuditFilter(func(key string) string { return web.Query(c, key) })
	if err != nil {
		return err
	}
	es, err := h.deps.Audit.List(c.UserContext(), f)
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(es))
}

// ExportAudit starts a job that writes the filtered audit log to a CSV file.
// An empty body exports everything.
func (h *Handlers) ExportAudit(c *fiber.Ctx, p auth.Principal) error {
	var f audit.Filter
	if len(c.Body()) > 0 {
		if err := web.DecodeJSON(c, &f); err != nil {
			return err
		}
	}
	j, err := h.deps.Jobs.Submit(c.UserContext(), audit.TypeExport, audit.ExportPayload{Filter: f}, p.UserID)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "job:"+j.ID)
	c.Location("/api/v1/jobs/" + j.ID)
	return c.Status(fiber.StatusAccepted).JSON(j)
}

// ListJobs answers jobs.list (The caller's jobs (an admin: all but audit
// exports)).
func (h *Handlers) ListJobs(c *fiber.Ctx, p auth.Principal) error {
	f := jobs.Filter{Kind: web.Query(c, "kind"), Status: jobs.Status(web.Query(c, "status")), Limit: 100}
	if !p.Is(auth.RoleAdmin) {
		f.CreatedBy = p.UserID
	}
	js, err := h.deps.Jobs.List(c.UserContext(), f)
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(slices.DeleteFunc(js, func(j jobs.Job) bool { return !jobVisible(p, j) })))
}

// jobVisible reports whether p may see job j: the one rule of the API
// and the jobs page (reports.JobVisible).
func jobVisible(p auth.Principal, j jobs.Job) bool { return reports.JobVisible(p, j) }

// visibleJob returns the job if jobVisible; any other job is not found, so
// that ids reveal nothing.
func (h *Handlers) visibleJob(c *fiber.Ctx, p auth.Principal) (jobs.Job, error) {
	j, err := h.deps.Jobs.Get(c.UserContext(), web.Param(c, "id"))
	if err != nil {
		return j, err
	}
	if !jobVisible(p, j) {
		return jobs.Job{}, fault.ErrNotFound
	}
	return j, nil
}

// GetJob answers jobs.get (A job and its progress).
func (h *Handlers) GetJob(c *fiber.Ctx, p auth.Principal) error {
	j, err := h.visibleJob(c, p)
	if err != nil {
		return err
	}
	return c.JSON(j)
}

// JobResult downloads the file a finished job produced.
func (h *Handlers) JobResult(c *fiber.Ctx, p auth.Principal) error {
	j, err := h.visibleJob(c, p)
	if err != nil {
		return err
	}
	if j.Status != jobs.StatusSucceeded {
		return fault.With(fault.ErrConflict, "the job has not finished", "任务尚未完成", map[string]any{"job_status": j.Status})
	}
	var a jobs.Artifact
	if err := json.Unmarshal([]byte(j.Result), &a); err != nil || a.File == "" {
		return fault.With(fault.ErrNotFound, "this job produced no file", "此任务没有结果文件", nil)
	}
	path := filepath.Join(h.deps.DataDir, filepath.FromSlash(a.File))
	if rel, err := filepath.Rel(h.deps.DataDir, path); err != nil || strings.HasPrefix(rel, "..") {
		return errors.New("job artifact outside the data directory")
	}
	c.Set(fiber.HeaderContentType, a.ContentType)
	return c.Download(path, a.Name)
}
