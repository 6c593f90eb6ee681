// Package httpapi puts the two HTTP edges of ipeval together: the JSON API
// (internal/api) and the HTML site (internal/site) behind one Fiber
// application and one route table, in which every route names its access
// rule, its handler and what the OpenAPI document says of it. The
// middleware, the access rules and the problem mapping both edges share
// are internal/web's.
package httpapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/ipeval/ipeval/internal/api"
	"github.com/ipeval/ipeval/internal/site"
	"github.com/ipeval/ipeval/internal/web"
)

// Server is the configured Fiber application.
type Server struct {
	app    *fiber.App
	routes []web.Route
	// edge is the middleware, problem mapping and view cache that the
	// API and the site share.
	edge *web.Edge
	// api and site hold the handlers of the two edges.
	api  *api.Handlers
	site *site.Handlers
}

// New builds the application and registers every route of the table.
func New(deps web.Deps, opts web.Options) (*Server, error) {
	pages, err := site.NewRenderer()
	if err != nil {
		return nil, err
	}
	s := &Server{edge: web.NewEdge(deps, opts, pages.Error)}
	deps, opts = s.edge.Deps(), s.edge.Options()
	s.api, s.site = api.New(s.edge), site.New(s.edge, pages)
	cfg := fiber.Config{
		AppName:               "ipeval",
		ErrorHandler:          s.edge.ErrorHandler,
		BodyLimit:             opts.BodyLimit,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		DisableStartupMessage: true,
		EnableIPValidation:    true,
		// Every string Fiber hands out is a copy: otherwise it points into
		// a buffer that the next request on the pool overwrites, and any
		// that outlives a handler (a metrics label, a cache key, an audit
		// entry, a limiter key, a log attribute) silently changes. One
		// setting instead of a copy at each use; see BenchmarkAuthenticatedRead.
		Immutable: true,
	}
	// Bodies stay in the connection until a handler reads them, which it
	// does only once the caller is known (see web.Edge.admitBody);
	// fasthttp's own reading of a multipart form would take all of it
	// before that.
	cfg.StreamRequestBody, cfg.DisablePreParseMultipartForm = true, true
	if len(opts.TrustedProxies) > 0 {
		cfg.ProxyHeader = fiber.HeaderXForwardedFor
		cfg.EnableTrustedProxyCheck = true
		cfg.TrustedProxies = opts.TrustedProxies
	}
	s.app = fiber.New(cfg)
	s.app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: s.edge.LogPanic}))
	s.app.Use(s.edge.RequestContext)
	s.routes = s.routeTable()
	doc, err := api.BuildOpenAPI(s.routes, deps.Version)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	s.api.SetOpenAPI(doc)
	if err := s.site.SetOpenAPI(doc); err != nil {
		return nil, err
	}
	for _, r := range s.routes {
		s.app.Add(r.Method, r.Path, s.edge.Handle(r))
	}
	return s, nil
}

// App returns the Fiber application, for tests (app.Test) and listeners.
func (s *Server) App() *fiber.App { return s.app }

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for in-flight requests.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

// MetricsHandler serves the server's Prometheus metrics (see
// web.Edge.MetricsHandler): not a route of the public application.
func (s *Server) MetricsHandler() http.Handler { return s.edge.MetricsHandler() }
