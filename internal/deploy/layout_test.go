package deploy_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// module is the module path go list reports packages under.
const module = "github.com/ipeval/ipeval/"

// domains are the top-level packages of the domain. Within each, the root
// package is the service and its store and every other package is pure,
// except test support (a name ending in "test").
var domains = []string{"audit", "auth", "cycles", "evaluation", "indicators", "jobs", "regions", "reports", "surveys"}

// edges are the packages under internal/ that may import the domain: the
// HTTP edges, the demo and the wiring.
var edges = []string{"internal/api", "internal/app", "internal/demo", "internal/httpapi", "internal/site", "internal/web"}

// storage lists the imports that make a package touch a database, a queue
// or an HTTP server.
var storage = []string{"gorm.io/gorm", "database/sql", "github.com/hibiken/asynq", "github.com/redis/go-redis/v9", "github.com/gofiber/fiber/v2"}

// listed is one package as go list reports it.
type listed struct {
	path          string // relative to the module
	imports, deps []string
	dir           string
	files         []string
}

func goList(tb testing.TB) []listed {
	tb.Helper()
	cmd := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports ","}}|{{join .Deps ","}}|{{.Dir}}|{{join .GoFiles ","}}`, "./...")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("go list: %v", err)
	}
	var pkgs []listed
	for line := range strings.Lines(string(out)) {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) != 5 {
			tb.Fatalf("go list line %q", line)
		}
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		pkgs = append(pkgs, listed{path: strings.TrimPrefix(f[0], module), imports: split(f[1]), deps: split(f[2]), dir: f[3], files: split(f[4])})
	}
	return pkgs
}

func isDomain(path string) bool {
	top, _, _ := strings.Cut(path, "/")
	return slices.Contains(domains, top)
}

// TestLayout checks the layout the README's Architecture section states:
// pure sub-packages touch no storage (the engine no HTTP either), only
// the edges and the wiring under internal/ import the domain, no source
// file is over 700 lines and the command line stays an edge.
func TestLayout(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	pkgs := goList(t)
	t.Run("pure sub-packages", func(t *testing.T) {
		for _, p := range pkgs {
			if !isDomain(p.path) || !strings.Contains(p.path, "/") || strings.HasSuffix(p.path, "test") {
				continue
			}
			banned := storage
			if p.path == "evaluation/engine" {
				banned = append(slices.Clone(storage), "net/http")
			}
			for _, d := range p.deps {
				if slices.Contains(banned, d) {
					t.Errorf("%s depends on %s", p.path, d)
				}
			}
		}
	})
	t.Run("internal imports no domain", func(t *testing.T) {
		for _, p := range pkgs {
			if !strings.HasPrefix(p.path, "internal/") || slices.ContainsFunc(edges, func(e string) bool { return p.path == e || strings.HasPrefix(p.path, e+"/") }) {
				continue
			}
			for _, imp := range p.imports {
				if rel, ok := strings.CutPrefix(imp, module); ok && isDomain(rel) {
					t.Errorf("%s imports the domain package %s", p.path, rel)
				}
			}
		}
	})
	t.Run("file sizes", func(t *testing.T) {
		cmdLines := 0
		for _, p := range pkgs {
			for _, name := range p.files {
				n := countLines(t, filepath.Join(p.dir, name))
				if n > 700 {
					t.Errorf("%s/%s has %d lines, want at most 700", p.path, name, n)
				}
				if p.path == "cmd/ipeval" {
					cmdLines += n
				}
			}
		}
		if cmdLines == 0 || cmdLines >= 1000 {
			t.Errorf("cmd/ipeval has %d lines outside tests, want some, under 1,000", cmdLines)
		}
	})
}

func countLines(tb testing.TB, path string) int {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return n
}
