package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/httpapi"
	"github.com/ipeval/ipeval/internal/web"
)

// multipartOverhead is what the server's body limit allows beyond the
// upload limit, for the form fields and boundaries around a file, so that
// an oversize file reaches the store and gets its explanatory 413.
const multipartOverhead = 1 << 20

// Server assembles the HTTP server on the stores of a, reporting version.
func (a *App) Server(version string) (*httpapi.Server, error) {
	uploadMax := int64(a.cfg.UploadMaxMB) << 20
	return httpapi.New(web.Deps{
		Auth: a.Auth, Regions: a.Regions, Cycles: a.Cycles, Schemes: a.Schemes, Values: a.Values,
		Evidence: a.Evidence, Runs: a.Runs, Reports: a.Reports,
		Surveys: a.Surveys, Audit: a.Audit, Jobs: a.Queue,
		Checks: []web.Check{
			{Name: "database", Fn: func(ctx context.Context) error { return database.Ping(ctx, a.DB) }},
			{Name: "broker", Fn: a.Queue.Ping},
		},
		Log: a.log, Version: version, DataDir: a.cfg.DataDir,
	}, web.Options{SecureCookies: a.cfg.SecureCookies, TrustedProxies: a.cfg.TrustedProxies,
		BodyLimit: int(max(uploadMax, int64(a.cfg.SurveyUploadMaxMB)<<20)) + multipartOverhead})
}

// StartMetrics serves the Prometheus metrics h on addr, a listener apart
// from the public one, tells stdout where, and returns what stops it; an
// empty addr serves nothing.
func StartMetrics(addr string, h http.Handler, log *slog.Logger, stdout io.Writer) (stop func(), err error) {
	if addr == "" {
		log.Info("metrics not served (--metrics-addr is empty)")
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	fmt.Fprintf(stdout, "metrics on %s/metrics\n", BaseURL(ln.Addr()))
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}, nil
}

// BaseURL is the http URL of a listener, naming localhost for a wildcard
// address.
func BaseURL(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if host == "" || host == "::" || host == "0.0.0.0" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Housekeep removes expired browser sessions every few minutes until ctx
// ends, so that the sessions table does not grow with every sign-in.
func (a *App) Housekeep(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := a.Auth.PurgeExpiredSessions(ctx); err != nil {
				a.log.Warn("session purge failed", "err", err)
			} else if n > 0 {
				a.log.Info("expired sessions purged", "count", n)
			}
		}
	}
}
