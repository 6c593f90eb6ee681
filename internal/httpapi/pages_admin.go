package httpapi

import (
	"net/url"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/jobs"
)

// usersData is the security administrator's users page.
type usersData struct {
	Users []web.UserView
	// Reset is the user whose password was just reset, with the new
	// password shown this once.
	Reset *web.UserCreated
}

// usersPage lists every user with the security administrator's actions.
func (s *Server) usersPage(c *fiber.Ctx, _ auth.Principal) error {
	return s.renderUsers(c, nil)
}

func (s *Server) renderUsers(c *fiber.Ctx, reset *web.UserCreated) error {
	us, err := s.deps.Auth.ListUsers(c.UserContext())
	if err != nil {
		return err
	}
	d := usersData{Reset: reset}
	for _, u := range us {
		d.Users = append(d.Users, s.edge.ManagedUser(u))
	}
	return s.render(c, fiber.StatusOK, "users", "users.title", d)
}

// userDisabledForm enables or disables a user from the users page.
func (s *Server) userDisabledForm(c *fiber.Ctx, p auth.Principal) error {
	if err := s.edge.SetDisabledOf(c, p, web.Param(c, "id"), web.FormValue(c, "disabled") == "true"); err != nil {
		return err
	}
	return c.Redirect("/users", fiber.StatusSeeOther)
}

// userPasswordForm resets a password from the users page and shows the new
// one once.
func (s *Server) userPasswordForm(c *fiber.Ctx, _ auth.Principal) error {
	shown, err := s.edge.ResetPasswordOf(c)
	if err != nil {
		return err
	}
	return s.renderUsers(c, &shown)
}

// userThrottleForm clears a user's sign-in throttle from the users page.
func (s *Server) userThrottleForm(c *fiber.Ctx, _ auth.Principal) error {
	if _, err := s.edge.ClearThrottleOf(c); err != nil {
		return err
	}
	return c.Redirect("/users", fiber.StatusSeeOther)
}

// auditData is the auditor's audit-log page.
type auditData struct {
	Filter  audit.Filter
	Query   string
	Entries []audit.Entry
	// Exports are the caller's latest audit exports, newest first.
	Exports []jobs.Job
}

// auditPage shows the audit log, filtered as the query asks, with the
// caller's CSV exports.
func (s *Server) auditPage(c *fiber.Ctx, p auth.Principal) error {
	f, err := web.AuditFilter(func(key string) string { return web.Query(c, key) })
	if err != nil {
		return err
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	ctx := c.UserContext()
	es, err := s.deps.Audit.List(ctx, f)
	if err != nil {
		return err
	}
	exports, err := s.deps.Jobs.List(ctx, jobs.Filter{CreatedBy: p.UserID, Kind: audit.TypeExport, Limit: 10})
	if err != nil {
		return err
	}
	q := string(c.Request().URI().QueryString())
	return s.render(c, fiber.StatusOK, "audit", "audit.title", auditData{Filter: f, Query: q, Entries: es, Exports: exports})
}

// auditExportForm starts a CSV export of the audit log filtered as the
// page's form says, and goes back to the page, where it is listed.
func (s *Server) auditExportForm(c *fiber.Ctx, p auth.Principal) error {
	f, err := web.AuditFilter(func(key string) string { return web.FormValue(c, key) })
	if err != nil {
		return err
	}
	f.Limit, f.Before = 0, 0
	j, err := s.deps.Jobs.Submit(c.UserContext(), audit.TypeExport, audit.ExportPayload{Filter: f}, p.UserID)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "job:"+j.ID)
	back := url.Values{}
	for k, v := range map[string]string{"username": f.Username, "action": f.Action, "object": f.Object, "result": f.Result} {
		if v != "" {
			back.Set(k, v)
		}
	}
	for k, t := range map[string]time.Time{"from": f.From, "to": f.To} {
		if !t.IsZero() {
			back.Set(k, t.Format(time.RFC3339))
		}
	}
	return c.Redirect("/audit?"+back.Encode(), fiber.StatusSeeOther)
}
