package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

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
		ctx, cancel := context.WithCancel(context.Background())
		out := &output{}
		done := make(chan error, 1)
		env := envOf(map[string]string{"IPEVAL_DATA_DIR": t.TempDir()})
		go func() {
			done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--workers", "0"}, extra...), env, out, io.Discard)
		}()
		t.Cleanup(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serve: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Error("serve did not stop")
			}
		})
		out.waitFor(t, listening, 60*time.Second)
		return out
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
