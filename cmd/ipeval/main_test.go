package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// output is a goroutine-safe writer that tests can poll.
type output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// waitFor polls the output until re matches, failing after the deadline.
func (o *output) waitFor(tb testing.TB, re *regexp.Regexp, d time.Duration) []string {
	tb.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(o.String()); m != nil {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("output never matched %s:\n%s", re, o.String())
	return nil
}

// envOf is an environment of vars only. Metrics go to a free loopback
// port unless vars say otherwise, so that servers of tests running at once
// do not compete for the default one.
func envOf(vars map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := vars[k]; ok || k != "IPEVAL_METRICS_ADDR" {
			return v
		}
		return "127.0.0.1:0"
	}
}

// cli runs a one-off command and returns its standard output.
func cli(tb testing.TB, getenv func(string) string, args ...string) string {
	tb.Helper()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, getenv, &out, &errOut); err != nil {
		tb.Fatalf("ipeval %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String()
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// TestServeEndToEnd starts the real program on a free port with demo data,
// administers it from the command line beside it, runs a job through the
// queue and shuts it down as SIGTERM would.
func TestServeEndToEnd(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		serveAndUse(t, envOf(map[string]string{"IPEVAL_DATA_DIR": dir}), "--workers", "2")
	})
	t.Run("mysql+redis", func(t *testing.T) {
		dsn := dbtest.EmptyMySQL(t)
		redis := "redis://" + testenv.Require(t, testenv.RedisAddr) + "/12"
		env := envOf(map[string]string{"IPEVAL_DATA_DIR": t.TempDir(), "IPEVAL_DB": dsn, "IPEVAL_REDIS": redis})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		err := run(ctx, []string{"serve", "--addr", "127.0.0.1:0"}, env, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "pending migration") {
			t.Fatalf("serve on an unmigrated MySQL database: %v, want a pending-migration refusal", err)
		}
		cli(t, env, "migrate")
		if got := cli(t, env, "migrate", "status"); strings.Contains(got, "pending") {
			t.Fatalf("migrate status after migrate:\n%s", got)
		}
		serveAndUse(t, env, "--workers", "2")
	})
}

// serveInProcess runs `ipeval serve` with args in this process until the
// test ends, and returns its output once it listens.
func serveInProcess(t *testing.T, getenv func(string) string, args ...string) *output {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &output{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), getenv, out, io.Discard) }()
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

func serveAndUse(t *testing.T, getenv func(string) string, extra ...string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &output{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--demo"}, extra...), getenv, out, io.Discard)
	}()
	base := out.waitFor(t, listening, 60*time.Second)[1]
	if resp, err := http.Get(base + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	for _, name := range []string{"admin", "secadmin", "auditor"} {
		if !regexp.MustCompile(`(?m)^\s+` + name + `\s+\S{12,}`).MatchString(out.String()) {
			t.Fatalf("demo did not print the %s password:\n%s", name, out.String())
		}
	}

	// The command line works on the same database while the server runs.
	tokens := map[string]string{}
	for _, name := range []string{"admin", "secadmin", "auditor"} {
		tokens[name] = strings.TrimSpace(cli(t, getenv, "user", "token", name))
	}
	added := cli(t, getenv, "user", "add", "--username", "jinzhong", "--role", "city", "--region", "140700")
	if !strings.Contains(added, "password (shown once)") {
		t.Fatalf("user add printed %q", added)
	}

	api := func(who, method, path string, body any) (int, []byte) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, r)
		req.Header.Set("Authorization", "Bearer "+tokens[who])
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, body := api("admin", "GET", "/readyz", nil); code != 200 {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	code, body := api("secadmin", "GET", "/api/v1/users", nil)
	if code != 200 || !strings.Contains(string(body), "jinzhong") {
		t.Fatalf("user added from the CLI not visible to the API: %d %s", code, body)
	}
	code, body = api("auditor", "POST", "/api/v1/audit/exports", map[string]string{})
	if code != http.StatusAccepted {
		t.Fatalf("start export: %d %s", code, body)
	}
	var job struct{ ID, Status string }
	_ = json.Unmarshal(body, &job)
	deadline := time.Now().Add(30 * time.Second)
	for job.Status != "succeeded" {
		if time.Now().After(deadline) || job.Status == "failed" {
			t.Fatalf("export job ended %q", job.Status)
		}
		time.Sleep(50 * time.Millisecond)
		_, body = api("auditor", "GET", "/api/v1/jobs/"+job.ID, nil)
		_ = json.Unmarshal(body, &job)
	}
	code, body = api("auditor", "GET", "/api/v1/jobs/"+job.ID+"/result", nil)
	if code != 200 || !strings.Contains(string(body), "users.create") || !strings.Contains(string(body), "tokens.create") {
		t.Fatalf("export file: %d %q", code, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop after cancellation")
	}
}

func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	env := envOf(map[string]string{"IPEVAL_DATA_DIR": dir})
	tests := []struct {
		args    []string
		wantErr error
		wantOut string
	}{
		{[]string{"version"}, nil, "ipeval dev"},
		{[]string{}, errUsage, ""},
		{[]string{"frobnicate"}, errUsage, ""},
		{[]string{"user"}, errUsage, ""},
		{[]string{"migrate", "status"}, nil, "pending  0001_core"},
		{[]string{"migrate"}, nil, "applied  0001_core"},
		{[]string{"migrate", "status"}, nil, "applied  0001_core"},
		{[]string{"migrate", "--log-format", "json", "status"}, nil, "applied  0001_core"},
		{[]string{"migrate", "sideways"}, errUsage, ""},
		{[]string{"serve", "--addr", "127.0.0.1:0", "extra"}, errUsage, ""},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--upload-max-mb", "0"}, nil, ""},
		{[]string{"serve", "--addr", "127.0.0.1:0", "--upload-max-mb", "101"}, nil, ""},
		{[]string{"user", "init"}, nil, "created secadmin secadmin"},
		{[]string{"user", "init"}, errUsage, ""},
		{[]string{"user", "add", "--username", "c1", "--role", "city", "--org", "某机构"}, errUsage, ""},
		{[]string{"user", "add", "--username", "boss", "--role", "admin"}, nil, "password (shown once)"},
		{[]string{"user", "add", "--username", "boss", "--role", "admin"}, nil, ""},
		{[]string{"user", "add", "--username", "x1", "--role", "mayor"}, nil, ""},
		{[]string{"user", "passwd", "boss"}, nil, "new password for boss"},
		{[]string{"user", "revoke", "boss"}, nil, "revoked 0 token(s)"},
		{[]string{"user", "list"}, nil, "boss"},
		{[]string{"worker"}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tt.args, env, &out, io.Discard)
			switch {
			case tt.wantOut != "" && err != nil:
				t.Fatalf("error %v", err)
			case tt.wantOut == "" && err == nil:
				t.Fatalf("succeeded, want an error; printed %q", out.String())
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("printed %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}

func TestSchemeCommand(t *testing.T) {
	env := envOf(nil)
	def := cli(t, env, "scheme", "default")
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte(def), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(strings.Replace(def, "lower: 0", "lower: 50", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := cli(t, env, "scheme", "validate", good); !strings.Contains(out, "ok: shanxi-ipps v1") {
		t.Fatalf("validate default: %q", out)
	}
	err := run(context.Background(), []string{"scheme", "validate", bad}, env, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "normalisation") {
		t.Fatalf("validate broken scheme: %v, want the problem's path", err)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	for url, healthy := range map[string]bool{ok.URL: true, down.URL: false, "http://127.0.0.1:1/": false} {
		err := run(context.Background(), []string{"healthcheck", "--url", url, "--timeout", "1s"}, envOf(nil), io.Discard, io.Discard)
		if (err == nil) != healthy {
			t.Errorf("healthcheck %s: %v, want healthy=%v", url, err, healthy)
		}
	}
}
