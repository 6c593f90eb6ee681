package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// liveRedisDB is the Redis database index of the live servers of the
// benchmarks and the load test, apart from the other tests' queues.
const liveRedisDB = 13

// liveServer is `ipeval serve` with the demo data on a free loopback port, with API
// tokens for the demo's provincial manager and its city official of 太原市,
// and the ids the load needs.
type liveServer struct {
	base    string
	backend string // "mysql+redis" or "embedded"
	env     func(string) string
	// pid is the server's process when it runs in one of its own.
	pid int
	// out is what the server printed.
	out         *output
	admin, city string // bearer tokens
	cityRegion  string
	// published is the newest published cycle and its run; collecting is
	// the demo's cycle in collection.
	publishedCycle, publishedRun string
	collecting                   string
}

// startLive starts the server on MySQL and Redis when the tests have them
// (as production runs), else embedded, and stops it when tb ends: in this
// process, or in a process of its own (the test binary run as ipeval,
// see TestMain).
func startLive(tb testing.TB, ownProcess bool, extra ...string) *liveServer {
	tb.Helper()
	vars := map[string]string{"IPEVAL_DATA_DIR": tb.TempDir()}
	backend := "embedded"
	if os.Getenv(testenv.MySQLDSN) != "" || os.Getenv(testenv.RedisAddr) != "" || testenv.InCI() {
		vars["IPEVAL_DB"] = dbtest.EmptyMySQL(tb)
		vars["IPEVAL_REDIS"] = fmt.Sprintf("redis://%s/%d", testenv.Require(tb, testenv.RedisAddr), liveRedisDB)
		backend = "mysql+redis"
	}
	env := envOf(vars)
	// The demo data is loaded before the server starts, so that what the
	// server holds is what serving takes, not what loading left behind.
	if backend != "embedded" {
		cli(tb, env, "migrate")
	}
	cli(tb, env, "demo")
	args := append([]string{"serve", "--addr", "127.0.0.1:0"}, extra...)
	out := &output{}
	s := &liveServer{backend: backend, env: env, cityRegion: "140100"}
	if !ownProcess {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx, args, env, out, io.Discard) }()
		tb.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					tb.Errorf("serve: %v", err)
				}
			case <-time.After(60 * time.Second):
				tb.Error("serve did not stop")
			}
		})
	} else {
		proc := startIpeval(tb, vars, args...)
		tb.Cleanup(func() { proc.signal(tb, syscall.SIGTERM) })
		s.pid, out = proc.cmd.Process.Pid, proc.out
	}
	s.out = out
	s.base = out.waitFor(tb, listening, 120*time.Second)[1]
	s.admin = strings.TrimSpace(cli(tb, env, "user", "token", "admin"))
	s.city = strings.TrimSpace(cli(tb, env, "user", "token", "taiyuan"))

	var cycles struct {
		Items []struct{ ID, Status string }
	}
	s.get(tb, s.admin, "/api/v1/cycles", &cycles)
	for _, c := range cycles.Items {
		switch {
		case c.Status == "published" && s.publishedCycle == "":
			s.publishedCycle = c.ID
		case c.Status == "collecting" && s.collecting == "":
			s.collecting = c.ID
		}
	}
	var runList struct {
		Items []struct {
			ID          string
			PublishedAt *time.Time `json:"published_at"`
		}
	}
	s.get(tb, s.admin, "/api/v1/cycles/"+s.publishedCycle+"/runs", &runList)
	for _, r := range runList.Items {
		if r.PublishedAt != nil {
			s.publishedRun = r.ID
		}
	}
	if s.publishedRun == "" || s.collecting == "" {
		tb.Fatalf("the demo has no published run (%q) or no cycle in collection (%q)", s.publishedRun, s.collecting)
	}
	return s
}

// do sends one request with a bearer token and returns status and body.
func (s *liveServer) do(tb testing.TB, token, method, path string, body any) (int, []byte) {
	tb.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, b
}

// get reads path into v, failing on any status but 200.
func (s *liveServer) get(tb testing.TB, token, path string, v any) {
	tb.Helper()
	code, body := s.do(tb, token, "GET", path, nil)
	if code != http.StatusOK {
		tb.Fatalf("GET %s: %d %s", path, code, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
}

// liveValue is one region's indicator of the collecting cycle that a load
// writes: a number its scheme accepts and the version the next write must
// carry (0 while there is no value).
type liveValue struct {
	Region, Indicator string
	Number            float64
	Version           int
}

// writableValues returns every region's reported indicators in the
// collecting cycle that need no evidence file, with their current versions.
func (s *liveServer) writableValues(tb testing.TB) []liveValue {
	tb.Helper()
	var cy struct {
		SchemeID string `json:"scheme_id"`
	}
	s.get(tb, s.admin, "/api/v1/cycles/"+s.collecting, &cy)
	var sc struct {
		Scheme struct {
			Indicators []struct {
				Code, Source     string
				Min, Max         *float64
				EvidenceRequired bool `json:"evidence_required"`
			}
		}
	}
	s.get(tb, s.admin, "/api/v1/schemes/"+cy.SchemeID, &sc)
	var stored struct {
		Items []struct {
			RegionCode    string `json:"region_code"`
			IndicatorCode string `json:"indicator_code"`
			Version       int    `json:"version"`
		}
	}
	s.get(tb, s.admin, "/api/v1/cycles/"+s.collecting+"/values", &stored)
	version := map[string]int{}
	for _, v := range stored.Items {
		version[v.RegionCode+"/"+v.IndicatorCode] = v.Version
	}
	var out []liveValue
	for _, region := range s.assessedRegions(tb) {
		for _, ind := range sc.Scheme.Indicators {
			// Survey-sourced values are not written by hand, and values
			// that need evidence cannot be verified without a file.
			if strings.HasPrefix(ind.Source, "survey") || ind.EvidenceRequired {
				continue
			}
			// A whole number inside the bounds suits every indicator,
			// counts and yes/no ones included.
			n := 1.0
			if ind.Min != nil && ind.Max != nil {
				n = math.Floor((*ind.Min + *ind.Max) / 2)
			} else if ind.Min != nil {
				n = math.Ceil(*ind.Min) + 1
			}
			out = append(out, liveValue{Region: region, Indicator: ind.Code, Number: n, Version: version[region+"/"+ind.Code]})
		}
	}
	return out
}

// assessedRegions returns the codes of the regions assessed: all but the
// province.
func (s *liveServer) assessedRegions(tb testing.TB) []string {
	tb.Helper()
	var regions struct {
		Items []struct{ Code, Kind string }
	}
	s.get(tb, s.admin, "/api/v1/regions", &regions)
	var out []string
	for _, r := range regions.Items {
		if r.Kind != "province" {
			out = append(out, r.Code)
		}
	}
	return out
}
