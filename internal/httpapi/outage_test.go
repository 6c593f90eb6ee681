package httpapi_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/dbtest"
	"github.com/ipeval/ipeval/internal/httpapi"
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
	f := newFixtureOn(t, db, httpapi.Options{LoginRate: 1000})
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
