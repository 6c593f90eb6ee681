// Package testproc starts throwaway server processes for tests that take a
// server away and bring it back: a redis-server without persistence and a
// mariadbd on its own data directory, each on a free loopback port and
// owned by one test. A test kills and restarts them at will; they are
// killed when the test ends.
//
// The programs must be installed: without one a test skips on a laptop and
// fails under CI=true, as with testenv.Require.
package testproc

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 30 * time.Second

// Program returns the path of an installed program: name on the PATH, or
// the first of the given fallbacks (Debian installs mariadbd in /usr/sbin,
// which a user's PATH often lacks) that exists. Without it the test skips
// on a laptop and fails under CI=true.
func Program(tb testing.TB, name string, fallbacks ...string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range fallbacks {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if testenv.InCI() {
		tb.Fatalf("%s must be installed when CI=true", name)
	}
	tb.Skipf("%s not installed", name)
	return ""
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// server is a process that a test starts, kills and starts again with the
// same command line.
type server struct {
	tb   testing.TB
	name string
	addr string
	args func() []string
	bin  string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been reaped
	out    *output
}

// output collects a process's stdout and stderr while the test reads it.
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

func newServer(tb testing.TB, name, bin, addr string, args func() []string) *server {
	s := &server{tb: tb, name: name, bin: bin, addr: addr, args: args}
	tb.Cleanup(func() {
		if tb.Failed() {
			s.mu.Lock()
			if s.out != nil {
				tb.Logf("%s output:\n%s", name, s.out.String())
			}
			s.mu.Unlock()
		}
		s.Kill()
	})
	return s
}

// Start starts the process and waits until it accepts connections.
func (s *server) Start() {
	s.tb.Helper()
	s.mu.Lock()
	if s.cmd != nil {
		s.mu.Unlock()
		s.tb.Fatalf("%s already running", s.name)
	}
	cmd := exec.Command(s.bin, s.args()...)
	out := &output{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		s.tb.Fatalf("start %s: %v", s.name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.cmd, s.exited, s.out = cmd, exited, out
	s.mu.Unlock()
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			s.tb.Fatalf("%s exited at start: %s", s.name, out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("%s not accepting connections on %s within %v", s.name, s.addr, startTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the process with SIGKILL, as a crash or an OOM kill would, and
// waits until it is gone. It does nothing when the process is not running.
func (s *server) Kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	// Reaped, the process has released its port and files, so that a
	// restart does not race it.
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		s.tb.Errorf("%s still running 10s after SIGKILL", s.name)
	}
}

// Redis is a throwaway redis-server without persistence.
type Redis struct {
	*server
	// Addr is host:port.
	Addr string
}

// StartRedis starts redis-server on a free loopback port, saving nothing,
// so that Restart brings it back empty as a Redis without persistence
// comes back after a crash.
func StartRedis(tb testing.TB) *Redis {
	tb.Helper()
	bin := Program(tb, "redis-server")
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(tb)))
	_, port, _ := net.SplitHostPort(addr)
	dir := tb.TempDir()
	args := func() []string {
		return []string{"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}
	}
	r := &Redis{server: newServer(tb, "redis-server", bin, addr, args), Addr: addr}
	r.Start()
	return r
}

// Restart kills the server and starts it again, empty.
func (r *Redis) Restart() {
	r.tb.Helper()
	r.Kill()
	r.Start()
}

// MariaDB is a throwaway mariadbd with its own data directory, reachable
// as root without a password over TCP on a loopback port.
type MariaDB struct {
	*server
	// Addr is host:port.
	Addr string
}

// StartMariaDB creates a data directory with mariadb-install-db and starts
// mariadbd on it. Kill and Start take it away and bring it back with its
// data, after InnoDB's crash recovery.
func StartMariaDB(tb testing.TB) *MariaDB {
	tb.Helper()
	bin := Program(tb, "mariadbd", "/usr/sbin/mariadbd", "/usr/sbin/mysqld")
	install := Program(tb, "mariadb-install-db", "/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db")
	dir := tb.TempDir()
	data := filepath.Join(dir, "data")
	// mariadbd refuses to run as root unless told to; as another user the
	// option would make it try to switch users.
	var user []string
	if os.Geteuid() == 0 {
		user = []string{"--user=root"}
	}
	cmd := exec.Command(install, append([]string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal",
		"--skip-test-db"}, user...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("mariadb-install-db: %v\n%s", err, out)
	}
	port := strconv.Itoa(FreePort(tb))
	addr := net.JoinHostPort("127.0.0.1", port)
	args := func() []string {
		return append([]string{"--no-defaults", "--datadir=" + data, "--port=" + port, "--bind-address=127.0.0.1",
			"--socket=" + filepath.Join(dir, "mysqld.sock"), "--pid-file=" + filepath.Join(dir, "mysqld.pid"),
			"--skip-name-resolve",
			"--innodb-buffer-pool-size=32M", "--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"}, user...)
	}
	m := &MariaDB{server: newServer(tb, "mariadbd", bin, addr, args), Addr: addr}
	m.Start()
	return m
}

// DSN returns the go-sql-driver DSN of database name (created by the
// caller) as root.
func (m *MariaDB) DSN(name string) string {
	return fmt.Sprintf("root@tcp(%s)/%s", m.Addr, name)
}
