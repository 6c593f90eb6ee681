package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/internal/testing/testproc"
	"github.com/ipeval/ipeval/internal/web"
)

// tcpProxy forwards connections to a server until it is cut, so that a
// test can take the database away from the service and give it back.
type tcpProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func startProxy(tb testing.TB, target string) *tcpProxy {
	tb.Helper()
	p := &tcpProxy{target: target, addr: "127.0.0.1:0"}
	if err := p.listen(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) listen() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return nil
}

// cut closes the listener and every forwarded connection.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestMySQLOutageRecovers cuts the service off from MariaDB: requests are
// answered 503 with nothing stored and /readyz reports the database; when
// the database is reachable again the service recovers by itself.
func TestMySQLOutageRecovers(t *testing.T) {
	cfg, err := mysql.ParseDSN(dbtest.EmptyMySQL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, cfg.Addr)
	cfg.Addr = proxy.addr
	target, err := database.Parse(cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(context.Background(), target, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = database.Close(db) })
	if err := database.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	f := newFixtureOn(t, db, web.Options{LoginRate: 1000})
	f.call("admin", "POST", "/api/v1/cycles", map[string]int{"year": 2030}, 201)

	proxy.cut()
	resp, body := f.do(f.as("admin", request("POST", "/api/v1/cycles", map[string]int{"year": 2031})))
	wantProblem(t, resp, body, http.StatusServiceUnavailable)
	if resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	resp, body = f.do(f.as("city", request("GET", "/api/v1/cycles", nil)))
	wantProblem(t, resp, body, http.StatusServiceUnavailable)
	if resp, _ = f.do(request("GET", "/readyz", nil)); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while the database is away: %d", resp.StatusCode)
	}

	if err := proxy.listen(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, body = f.do(f.as("city", request("GET", "/api/v1/cycles", nil)))
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not recover: %d %s", resp.StatusCode, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cycles := decode[struct{ Items []struct{ Year int } }](t, body)
	if len(cycles.Items) != 1 || cycles.Items[0].Year != 2030 {
		t.Fatalf("cycles after recovery %+v: the acknowledged write must be there, the refused one must not", cycles.Items)
	}
	f.call("admin", "POST", "/api/v1/cycles", map[string]int{"year": 2031}, 201)
}

// TestDatabaseRestartUnderLoad kills a MariaDB server (a throwaway mariadbd
// of the test's own) with SIGKILL while writers and readers use the API,
// and starts it again on the same data. While it is down every request is
// answered promptly with a 503 problem and Retry-After — never a 500, never
// a hang; once it is back the same service answers again, and every write
// it acknowledged is there.
func TestDatabaseRestartUnderLoad(t *testing.T) {
	m := testproc.StartMariaDB(t)
	ctx := context.Background()
	server, err := database.Parse(m.DSN(""))
	if err != nil {
		t.Fatal(err)
	}
	sdb, err := database.Open(ctx, server, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = sdb.Exec("CREATE DATABASE ipeval CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci").Error
	_ = database.Close(sdb)
	if err != nil {
		t.Fatal(err)
	}
	target, err := database.Parse(m.DSN("ipeval"))
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(ctx, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = database.Close(db) })
	if err := database.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	f := newFixtureOn(t, db, web.Options{LoginRate: 1000})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = f.srv.Serve(ln) }()
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = f.srv.Shutdown(sctx)
	})
	base := "http://" + ln.Addr().String()
	// Well below the server's own 30 s bound on a request: an answer that
	// takes this long is a hang.
	const hang = 10 * time.Second
	client := &http.Client{Timeout: 3 * hang}

	var (
		mu       sync.Mutex
		acked    = map[string]string{} // organisation id → name, of every 201
		statuses = map[int]int{}
		since    = map[int]int{} // statuses since the server came back
		back     atomic.Bool
	)
	send := func(who, method, path string, body any) (int, []byte) {
		t.Helper()
		var r io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, base+path, r)
		req.Header.Set("Content-Type", "application/json")
		f.as(who, req)
		began := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			t.Errorf("%s %s: %v", method, path, err)
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if took := time.Since(began); took > hang {
			t.Errorf("%s %s took %v", method, path, took)
		}
		switch {
		case resp.StatusCode < 300:
		case resp.StatusCode == http.StatusServiceUnavailable:
			if resp.Header.Get("Content-Type") != "application/problem+json" || resp.Header.Get("Retry-After") == "" {
				t.Errorf("%s %s: 503 with Content-Type %q, Retry-After %q: %s", method, path,
					resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), b)
			}
		default:
			t.Errorf("%s %s: %d %s, want 2xx or 503", method, path, resp.StatusCode, b)
		}
		mu.Lock()
		statuses[resp.StatusCode]++
		if back.Load() {
			since[resp.StatusCode]++
		}
		mu.Unlock()
		return resp.StatusCode, b
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	t.Cleanup(stopLoad)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("负载机构-%d-%d", w, i)
				code, body := send("secadmin", "POST", "/api/v1/organisations", map[string]string{"name": name, "kind": "contractor"})
				var o struct{ ID string }
				if code == http.StatusCreated {
					if err := json.Unmarshal(body, &o); err != nil || o.ID == "" {
						t.Errorf("created organisation %s: %v", body, err)
					}
					mu.Lock()
					acked[o.ID] = name
					mu.Unlock()
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				send("city", "GET", "/api/v1/cycles", nil)
				send("secadmin", "GET", "/api/v1/organisations", nil)
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	count := func(m map[int]int, code int) int {
		mu.Lock()
		defer mu.Unlock()
		return m[code]
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) || t.Failed() {
				stopLoad()
				t.Fatalf("%s: not within 20s; statuses %v", what, statuses) // the load has stopped
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	waitUntil("writes before the crash", func() bool { return count(statuses, http.StatusCreated) >= 20 })
	m.Kill()
	waitUntil("503s while the database is down", func() bool { return count(statuses, http.StatusServiceUnavailable) >= 20 })
	m.Start()
	back.Store(true)
	waitUntil("writes after the restart", func() bool { return count(since, http.StatusCreated) >= 20 })
	stopLoad()
	if t.Failed() {
		t.FailNow()
	}

	t.Logf("statuses %v; %d writes acknowledged", statuses, len(acked)) // the load has stopped
	for id, name := range maps.Clone(acked) {
		code, body := send("secadmin", "GET", "/api/v1/organisations/"+id, nil)
		if code != http.StatusOK || decode[struct{ Name string }](t, body).Name != name {
			t.Fatalf("acknowledged organisation %s (%s) after the restart: %d %s", id, name, code, body)
		}
	}
	if code, body := send("", "GET", "/readyz", nil); code != http.StatusOK {
		t.Fatalf("/readyz after the restart: %d %s", code, body)
	}
}
