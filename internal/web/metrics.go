package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus series of one server, in its own registry.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// viewCache counts lookups in the cache of published pages by result.
	viewCache *prometheus.CounterVec
	// handler serves the registry; it is not a route of the public
	// application (see Edge.MetricsHandler).
	handler http.Handler
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipeval_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ipeval_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		viewCache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ipeval_view_cache_lookups_total", Help: "Lookups in the cache of published pages, by result (hit, miss).",
		}, []string{"result"}),
	}
	reg.MustRegister(m.requests, m.duration, m.viewCache, collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	return m
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
}

// MetricsHandler serves the server's Prometheus metrics. It is deliberately
// not on the public address, where anyone could read the traffic of every
// route: cmd/ipeval serves it on a listener of its own (--metrics-addr,
// loopback by default).
func (e *Edge) MetricsHandler() http.Handler { return e.metrics.handler }
