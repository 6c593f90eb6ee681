// Package web is what the two HTTP edges of ipeval, the JSON API
// (internal/api) and the HTML site (internal/site), share: the route type
// and its access rules, the problem mapping, the middleware every request
// passes (request context, authentication, authorisation, CSRF, body
// limits, audit, metrics), request helpers, and the sign-in, account and
// upload steps that an API call and a form both take. The one route table
// that uses it is internal/httpapi's.
package web

import (
	"cmp"
	"context"
	"log/slog"
	"net/netip"

	"github.com/gofiber/fiber/v2"
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

// Deps are the packages the HTTP edges call.
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
	// in bytes; other bodies get far smaller limits (see Edge.bodyLimit).
	BodyLimit int
	// TrustedProxies lists the reverse proxies (IPs or CIDRs) whose
	// X-Forwarded-For header names the client; from anyone else it is ignored.
	TrustedProxies []string
	// ViewCache is how many page views of published runs are kept
	// (internal/pubcache): 0 means 256, a negative number none.
	ViewCache int
}

// Edge is what the JSON API and the HTML site share around their handlers:
// the middleware of every request (request context, authentication,
// authorisation, CSRF, body limits, audit, metrics), the problem mapping,
// the sign-in throttle and the cache of published views.
type Edge struct {
	deps       Deps
	opts       Options
	log        *slog.Logger
	loginLimit *limiter
	// proxies are the trusted proxies of opts.TrustedProxies (ClientIP).
	proxies []netip.Prefix
	metrics *metrics
	// views caches views of published runs; nil when disabled.
	views *pubcache.Cache
	// renderError draws the problem of a failed page request as HTML.
	renderError func(c *fiber.Ctx, p Problem) error
}

// NewEdge builds the shared middleware over deps, with opts' zero values
// replaced by production defaults. renderError answers a page route's
// failure as HTML (the site's error page); API routes answer problem
// documents.
func NewEdge(deps Deps, opts Options, renderError func(c *fiber.Ctx, p Problem) error) *Edge {
	if opts.LoginRate == 0 {
		opts.LoginRate = 10
	}
	if opts.BodyLimit == 0 {
		opts.BodyLimit = 32 << 20
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	e := &Edge{deps: deps, opts: opts, log: deps.Log, loginLimit: newLimiter(opts.LoginRate),
		proxies: proxyPrefixes(opts.TrustedProxies), metrics: newMetrics(prometheus.NewRegistry()), renderError: renderError}
	if opts.ViewCache >= 0 {
		e.views = pubcache.New(cmp.Or(opts.ViewCache, 256))
	}
	return e
}

// Deps returns the packages the edges call, with the logger defaulted.
func (e *Edge) Deps() Deps { return e.deps }

// Options returns the edge's options, defaults applied.
func (e *Edge) Options() Options { return e.opts }

// Views is the cache of views of published runs, nil when disabled.
func (e *Edge) Views() *pubcache.Cache { return e.views }

// CountView counts a lookup in the view cache for the metrics.
func (e *Edge) CountView(hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	e.metrics.viewCache.WithLabelValues(result).Inc()
}

// LogPanic logs a panic that Fiber's recover middleware caught.
func (e *Edge) LogPanic(c *fiber.Ctx, v any) {
	e.log.Error("handler panic", "request_id", RequestID(c), "path", c.Path(), "panic", v)
}
