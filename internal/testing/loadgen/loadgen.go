// Package loadgen drives an HTTP server on this machine with a load bounded
// in time and measures what it answers: throughput, latency percentiles and
// status codes. It is the load generator of `make bench` and `make loadtest`.
//
// Two shapes of load are offered. A closed loop (Rate 0) keeps Concurrency
// requests in flight and shows the most a server can answer. An open loop
// (Rate > 0) sends at a fixed rate whatever the server does, and measures
// each request from the moment it was due, not from the moment a worker got
// to it, so that a server which falls behind shows it in its percentiles
// (no "coordinated omission").
//
// Requests go through fasthttp's client, which Fiber already brings in: a
// generator much cheaper than the server it measures leaves the machine's
// two cores to the server, and keeps the ratio to a plain handler honest.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Target is one kind of request of a load.
type Target struct {
	// Method and URL of the request; the URL's host must be a loopback
	// address (see Run).
	Method, URL string
	// Header is sent with every request (for example Authorization).
	Header map[string]string
	// Prepare, when set, shapes each request before it is sent: given
	// the call and a Request holding the Target's method, path (with
	// query) and headers, it may change any of them and add a body. The
	// host stays the URL's.
	Prepare func(c Call, r *Request)
	// Check, when set, is called with a 2xx answer's status and body and
	// returns an error for an answer that is wrong although its status
	// looks right; a nil Check accepts any 2xx.
	Check func(c Call, status int, body []byte) error
}

// Config bounds a load.
type Config struct {
	// Rate is requests per second to send; 0 sends as fast as the
	// Concurrency workers are answered.
	Rate float64
	// Concurrency is the number of requests in flight at most (and of
	// connections).
	Concurrency int
	// Duration is how long requests are started for.
	Duration time.Duration
	// Timeout bounds one request; 0 means 10 s.
	Timeout time.Duration
}

// Result is what a load measured.
type Result struct {
	// Sent is the number of requests completed or failed.
	Sent int
	// Status counts answers by status code; transport failures count under 0.
	Status map[int]int
	// Failures is the number of requests that failed: transport errors,
	// non-2xx statuses and answers refused by Target.Check.
	Failures int
	// FirstFailure describes one failure, for the report.
	FirstFailure string
	// Elapsed is the time from the first request to the last answer.
	Elapsed time.Duration
	// Latencies of every request, sorted ascending.
	Latencies []time.Duration
}

// Throughput is answered requests per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

// Percentile returns the latency at or below which a fraction q (0 < q ≤ 1)
// of the requests were answered, by the nearest-rank method.
func (r Result) Percentile(q float64) time.Duration {
	n := len(r.Latencies)
	if n == 0 {
		return 0
	}
	i := int(float64(n)*q+0.999999) - 1
	return r.Latencies[min(max(i, 0), n-1)]
}

// Count5xx is the number of answers with a 5xx status.
func (r Result) Count5xx() int {
	n := 0
	for code, c := range r.Status {
		if code >= 500 {
			n += c
		}
	}
	return n
}

// ErrNotLoopback is returned for a target outside this machine: the load
// generator never sends traffic anywhere else.
var ErrNotLoopback = errors.New("load targets must be on loopback")

// Run sends the load described by cfg to target until cfg.Duration has
// passed or ctx ends, waits for the requests in flight, and returns what
// it measured.
func Run(ctx context.Context, target Target, cfg Config) (Result, error) {
	u, err := url.Parse(target.URL)
	if err != nil {
		return Result{}, fmt.Errorf("target url: %w", err)
	}
	if !loopback(u.Hostname()) {
		return Result{}, fmt.Errorf("%s: %w", u.Host, ErrNotLoopback)
	}
	if cfg.Concurrency < 1 {
		return Result{}, fmt.Errorf("concurrency %d: want at least 1", cfg.Concurrency)
	}
	if cfg.Duration <= 0 {
		return Result{}, fmt.Errorf("duration %s: want a positive duration", cfg.Duration)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	client := &fasthttp.HostClient{
		Addr:                      u.Host,
		MaxConns:                  cfg.Concurrency,
		NoDefaultUserAgentHeader:  true,
		ReadTimeout:               timeout,
		WriteTimeout:              timeout,
		MaxIdemponentCallAttempts: 1,
	}
	defer client.CloseIdleConnections()
	sd := sender{client: client, t: target, origin: u.Scheme + "://" + u.Host, path: u.RequestURI(), timeout: timeout}

	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	due := make(chan call)
	go schedule(ctx, cfg, due)

	var (
		mu  sync.Mutex
		res = Result{Status: map[int]int{}}
		wg  sync.WaitGroup
	)
	start := time.Now()
	for w := range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []outcome
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for c := range due {
				local = append(local, sd.send(Call{I: c.i, Worker: w}, c.due, req, resp))
			}
			mu.Lock()
			defer mu.Unlock()
			for _, o := range local {
				res.Sent++
				res.Status[o.status]++
				res.Latencies = append(res.Latencies, o.latency)
				if o.err != nil {
					res.Failures++
					if res.FirstFailure == "" {
						res.FirstFailure = o.err.Error()
					}
				}
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(res.Latencies)
	return res, nil
}

// Request is what Prepare may shape of a request.
type Request struct {
	Method string
	// Path is the path and query, as "/api/v1/cycles?x=1".
	Path   string
	Header map[string]string
	Body   []byte
	// ContentType of Body.
	ContentType string
}

// Call identifies one request to Prepare and Check.
type Call struct {
	// I counts requests from 0 over the whole load.
	I int
	// Worker is the worker sending it, from 0 to Concurrency-1. A worker
	// sends one request at a time, so state kept per worker (such as the
	// version of a value it writes) needs no lock.
	Worker int
}

// call is one request due: its number and the time it was due.
type call struct {
	i   int
	due time.Time
}

type outcome struct {
	status  int
	latency time.Duration
	err     error
}

// schedule hands out calls until ctx ends: at cfg.Rate, or as fast as the
// workers take them.
func schedule(ctx context.Context, cfg Config, due chan<- call) {
	defer close(due)
	start := time.Now()
	for i := 0; ; i++ {
		// A closed loop's call is timed from when a worker takes it.
		var at time.Time
		if cfg.Rate > 0 {
			at = start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
			if wait := time.Until(at); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case due <- call{i: i, due: at}:
		}
	}
}

// sender sends the requests of one Target.
type sender struct {
	client *fasthttp.HostClient
	t      Target
	// origin is the URL's scheme and host, path its path and query.
	origin, path string
	timeout      time.Duration
}

func (sd sender) send(c Call, due time.Time, req *fasthttp.Request, resp *fasthttp.Response) outcome {
	t, timeout := sd.t, sd.timeout
	req.Reset()
	resp.Reset()
	method, uri := t.Method, t.URL
	if t.Prepare != nil {
		r := Request{Method: t.Method, Path: sd.path, Header: maps.Clone(t.Header)}
		t.Prepare(c, &r)
		method, uri = r.Method, sd.origin+r.Path
		req.Header.SetMethod(method)
		req.SetRequestURI(uri)
		for k, v := range r.Header {
			req.Header.Set(k, v)
		}
		if r.Body != nil {
			req.SetBodyRaw(r.Body)
			req.Header.SetContentType(r.ContentType)
		}
	} else {
		req.Header.SetMethod(method)
		req.SetRequestURI(uri)
		for k, v := range t.Header {
			req.Header.Set(k, v)
		}
	}
	from := due
	if from.IsZero() {
		from = time.Now()
	}
	err := sd.client.DoTimeout(req, resp, timeout)
	o := outcome{latency: time.Since(from)}
	if err != nil {
		o.err = fmt.Errorf("%s %s: %w", method, uri, err)
		return o
	}
	o.status = resp.StatusCode()
	switch {
	case o.status < 200 || o.status > 299:
		o.err = fmt.Errorf("%s %s: status %d: %.200s", method, uri, o.status, resp.Body())
	case t.Check != nil:
		if err := t.Check(c, o.status, resp.Body()); err != nil {
			o.err = fmt.Errorf("%s %s: %w", method, uri, err)
		}
	}
	return o
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
