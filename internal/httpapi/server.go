// Package httpapi is the HTTP edge of ipeval: the Fiber application, every
// route in one table, authentication and authorisation per route, problem
// documents, metrics, the OpenAPI document and the server-rendered pages.
// Handlers decode, authorise, call a package and encode — nothing more.
package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/pubcache"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/reports"
	"github.com/ipeval/ipeval/surveys"
)

// Check is one readiness probe, such as the database or the queue broker.
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Deps are the packages the HTTP edge calls.
type Deps struct {
	Auth     *auth.Store
	Regions  *regions.Store
	Cycles   *cycles.Store
	Schemes  *indicators.SchemeStore
	Values   *indicators.ValueStore
	Audit    *audit.Log
	Evidence *indicators.EvidenceStore
	Runs     *evaluation.Store
	Reports  *reports.Store
	Surveys  *surveys.Store
	Jobs     *jobs.Queue
	Checks   []Check
	Log      *slog.Logger
	Version  string
	// DataDir is where job artifacts (exports) are kept.
	DataDir string
}

// Options tune the edge; zero values give production defaults.
type Options struct {
	// SecureCookies marks cookies Secure; set it when served over HTTPS.
	SecureCookies bool
	// LoginRate is the number of login attempts allowed per client IP per minute.
	LoginRate int
	// BodyLimit caps the body of an upload from an authenticated caller,
	// in bytes; other bodies get far smaller limits (see bodyLimit).
	BodyLimit int
	// TrustedProxies lists the reverse proxies (IPs or CIDRs) whose
	// X-Forwarded-For header names the client; from anyone else it is ignored.
	TrustedProxies []string
	// ViewCache is how many page views of published runs are kept
	// (internal/pubcache): 0 means 256, a negative number none.
	ViewCache int
}

// Server is the configured Fiber application.
type Server struct {
	app        *fiber.App
	deps       Deps
	opts       Options
	log        *slog.Logger
	routes     []route
	metrics    *metrics
	pages      *pages
	loginLimit *limiter
	// proxies are the trusted proxies of opts.TrustedProxies (clientIP).
	proxies []netip.Prefix
	openapi []byte
	docs    []docGroup
	// views caches pages of published runs; nil when disabled.
	views *pubcache.Cache
	// viewModels assembles the result pages' view models from the stores.
	viewModels *reports.Views
	// collection assembles the data-collection page from the stores.
	collection *indicators.Collection
	// surveyViews assembles the survey pages from the stores.
	surveyViews *surveys.Views
}

// New builds the application and registers every route of the table.
func New(deps Deps, opts Options) (*Server, error) {
	if opts.LoginRate == 0 {
		opts.LoginRate = 10
	}
	if opts.BodyLimit == 0 {
		opts.BodyLimit = 32 << 20
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{deps: deps, opts: opts, log: deps.Log, loginLimit: newLimiter(opts.LoginRate), proxies: proxyPrefixes(opts.TrustedProxies)}
	p, err := newPages()
	if err != nil {
		return nil, err
	}
	s.pages = p
	s.viewModels = reports.NewViews(deps.Cycles, deps.Runs, deps.Schemes, deps.Surveys, deps.Values, deps.Regions)
	s.collection = indicators.NewCollection(deps.Cycles, deps.Schemes, deps.Values, deps.Evidence)
	s.surveyViews = surveys.NewViews(deps.Surveys, deps.Cycles, deps.Auth)
	if opts.ViewCache >= 0 {
		s.views = pubcache.New(cmp.Or(opts.ViewCache, 256))
	}
	s.metrics = newMetrics(prometheus.NewRegistry())
	cfg := fiber.Config{
		AppName:               "ipeval",
		ErrorHandler:          s.errorHandler,
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
	// does only once the caller is known (see admitBody); fasthttp's own
	// reading of a multipart form would take all of it before that.
	cfg.StreamRequestBody, cfg.DisablePreParseMultipartForm = true, true
	if len(opts.TrustedProxies) > 0 {
		cfg.ProxyHeader = fiber.HeaderXForwardedFor
		cfg.EnableTrustedProxyCheck = true
		cfg.TrustedProxies = opts.TrustedProxies
	}
	s.app = fiber.New(cfg)
	s.app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: s.logPanic}))
	s.app.Use(s.requestContext)
	s.routes = s.routeTable()
	if s.openapi, err = buildOpenAPI(s.routes, deps.Version); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	if s.docs, err = buildDocs(s.openapi); err != nil {
		return nil, err
	}
	for _, r := range s.routes {
		s.app.Add(r.Method, r.Path, s.handle(r))
	}
	return s, nil
}

// App returns the Fiber application, for tests (app.Test) and listeners.
func (s *Server) App() *fiber.App { return s.app }

// Serve answers requests on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.app.Listener(ln) }

// Shutdown stops accepting connections and waits for in-flight requests.
func (s *Server) Shutdown(ctx context.Context) error { return s.app.ShutdownWithContext(ctx) }

func (s *Server) logPanic(c *fiber.Ctx, e any) {
	s.log.Error("handler panic", "request_id", requestID(c), "path", c.Path(), "panic", e)
}
