package main

import (
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/internal/config"
)

var metricsAt = regexp.MustCompile(`metrics on (http://\S+)`)

// TestProbe11MetricsAddress starts serve with metrics on a loopback port
// of their own: the public address answers /metrics 404, the metrics
// address 200 with the request counter. With --metrics-addr empty no
// metrics address is opened at all.
func TestProbe11MetricsAddress(t *testing.T) {
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	start := func(t *testing.T, extra ...string) *output {
		env := envOf(map[string]string{"IPEVAL_DATA_DIR": t.TempDir()})
		return serveInProcess(t, env, append([]string{"--addr", "127.0.0.1:0", "--workers", "0"}, extra...)...)
	}

	if host, _, err := net.SplitHostPort(config.DefaultMetricsAddr); err != nil || !net.ParseIP(host).IsLoopback() {
		t.Errorf("default metrics address %q is not loopback", config.DefaultMetricsAddr)
	}
	t.Run("own address", func(t *testing.T) {
		out := start(t)
		public := listening.FindStringSubmatch(out.String())[1]
		if status, _ := get(public + "/healthz"); status != http.StatusOK {
			t.Fatalf("public /healthz: %d", status)
		}
		if status, body := get(public + "/metrics"); status != http.StatusNotFound {
			t.Fatalf("public /metrics: %d, want 404: %.200s", status, body)
		}
		m := metricsAt.FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("serve printed no metrics address:\n%s", out.String())
		}
		if !strings.HasPrefix(m[1], "http://127.0.0.1:") {
			t.Errorf("metrics served on %s, want loopback", m[1])
		}
		status, body := get(m[1])
		if status != http.StatusOK || !strings.Contains(body, `ipeval_http_requests_total{method="GET",route="/healthz",status="200"} 1`) {
			t.Fatalf("metrics address: %d, want 200 with the public request counted:\n%.2000s", status, body)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		out := start(t, "--metrics-addr", "")
		if metricsAt.MatchString(out.String()) {
			t.Fatalf("metrics served with --metrics-addr empty:\n%s", out.String())
		}
	})
}
