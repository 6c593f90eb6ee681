package deploy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/go-sql-driver/mysql"

	"github.com/ipeval/ipeval/internal/config"
)

// repoRoot is where docker-compose.yml, the Dockerfile and go.mod live,
// seen from this package's directory (go test runs in it).
const repoRoot = "../.."

// allowedFlags lists, for each ipeval subcommand that the deployment files
// run, the flags it takes and whether each takes a value, as the binary
// itself defines them. "healthcheck" is the subcommand the api container's
// healthcheck runs: it GETs --url and exits 0 on a 2xx.
func allowedFlags(command string) map[string]bool {
	if command == "healthcheck" {
		return map[string]bool{"url": true, "timeout": true}
	}
	names := config.CommandSettings(command)
	if names == nil {
		return nil
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n] = !config.IsBool(n)
	}
	return out
}

// ipevalServices are the compose services that run the ipeval image, with the
// subcommand each must run.
var ipevalServices = map[string]string{
	"migrate": "migrate",
	"api":     "serve",
	"worker":  "worker",
}

// loadCompose loads docker-compose.yml as Docker Compose would, with an empty
// environment so that every ${VAR:-default} takes its default.
func loadCompose(tb testing.TB) *types.Project {
	tb.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		tb.Fatal(err)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithName("ipeval"),
		cli.WithWorkingDirectory(root),
	)
	if err != nil {
		tb.Fatalf("compose options: %v", err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		tb.Fatalf("load docker-compose.yml: %v", err)
	}
	return project
}

// service returns the named service or stops the test.
func service(tb testing.TB, p *types.Project, name string) types.ServiceConfig {
	tb.Helper()
	s, err := p.GetService(name)
	if err != nil {
		tb.Fatalf("service %q: %v", name, err)
	}
	return s
}

// env returns the value of an environment variable set on a service.
func env(s types.ServiceConfig, key string) (string, bool) {
	v, ok := s.Environment[key]
	if !ok || v == nil {
		return "", false
	}
	return *v, true
}

// checkArgs reports whether args is an ipeval command line that the binary
// accepts: a known subcommand followed only by its allowed flags.
func checkArgs(args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("no command: the image's default would run")
	}
	flags := allowedFlags(args[0])
	if flags == nil {
		return fmt.Errorf("%q is not an ipeval subcommand", args[0])
	}
	for i := 1; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") || strings.Trim(arg, "-") == "" {
			return fmt.Errorf("%s: unexpected argument %q", args[0], arg)
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		takesValue, ok := flags[name]
		switch {
		case !ok:
			return fmt.Errorf("%s: unknown flag %q", args[0], arg)
		case takesValue && !hasValue:
			if i+1 == len(args) {
				return fmt.Errorf("%s: flag %q needs a value", args[0], arg)
			}
			i++
		}
	}
	return nil
}

func TestCheckArgs(t *testing.T) {
	tests := []struct {
		args []string
		ok   bool
	}{
		{[]string{"serve"}, true},
		{[]string{"serve", "--workers", "0"}, true},
		{[]string{"serve", "--workers=0", "--demo"}, true},
		{[]string{"worker", "--concurrency", "4"}, true},
		{[]string{"migrate"}, true},
		{nil, false},
		{[]string{"server"}, false},
		{[]string{"serve", "--worker", "0"}, false},
		{[]string{"serve", "--workers"}, false},
		{[]string{"serve", "extra"}, false},
		{[]string{"worker", "--workers", "0"}, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if err := checkArgs(tt.args); (err == nil) != tt.ok {
				t.Errorf("checkArgs(%q) = %v, want ok=%v", tt.args, err, tt.ok)
			}
		})
	}
}

func TestComposeServicesExist(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"mysql", "redis", "migrate", "api", "worker"} {
		t.Run(name, func(t *testing.T) {
			if _, err := p.GetService(name); err != nil {
				t.Errorf("docker-compose.yml has no service %q (has %v)", name, p.ServiceNames())
			}
		})
	}
}

func TestComposeBackingImages(t *testing.T) {
	p := loadCompose(t)
	tests := []struct {
		service, repo, major string
	}{
		{"mysql", "mysql", "8"},
		{"redis", "redis", "7"},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			image := service(t, p, tt.service).Image
			repo, tag, _ := strings.Cut(image, ":")
			if repo != tt.repo && !strings.HasSuffix(repo, "/"+tt.repo) {
				t.Errorf("image %q: want %s", image, tt.repo)
			}
			if !regexp.MustCompile(`^` + tt.major + `($|[^0-9])`).MatchString(tag) {
				t.Errorf("image %q: want major version %s", image, tt.major)
			}
		})
	}
}

func TestComposeMySQL(t *testing.T) {
	p := loadCompose(t)
	s := service(t, p, "mysql")
	args := strings.Join(s.Command, " ")
	for _, want := range []string{"--character-set-server=utf8mb4", "--collation-server=utf8mb4_", "--log-bin-trust-function-creators=ON"} {
		if !strings.Contains(args, want) {
			t.Errorf("mysql command %q lacks %q", args, want)
		}
	}
	for _, key := range []string{"MYSQL_DATABASE", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD"} {
		if v, _ := env(s, key); v == "" {
			t.Errorf("mysql: %s is not set (give it a ${VAR:-default})", key)
		}
	}
}

func TestComposeHealthchecks(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"mysql", "redis", "api"} {
		t.Run(name, func(t *testing.T) {
			hc := service(t, p, name).HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) == 0 {
				t.Fatalf("%s has no healthcheck", name)
			}
		})
	}
	t.Run("api uses the binary", func(t *testing.T) {
		test := service(t, p, "api").HealthCheck.Test
		if len(test) < 2 || test[0] != "CMD" || test[1] != "/ipeval" {
			t.Fatalf("api healthcheck %q: want [CMD /ipeval healthcheck ...] (the image has no shell or curl)", test)
		}
		if err := checkArgs(test[2:]); err != nil {
			t.Errorf("api healthcheck: %v", err)
		}
		if !strings.HasSuffix(test[len(test)-1], ":8080/readyz") {
			t.Errorf("api healthcheck %q: want it to GET :8080/readyz", test)
		}
	})
}

func TestComposeDependencies(t *testing.T) {
	p := loadCompose(t)
	tests := []struct {
		service, dependency, condition string
	}{
		{"migrate", "mysql", types.ServiceConditionHealthy},
		{"api", "mysql", types.ServiceConditionHealthy},
		{"api", "redis", types.ServiceConditionHealthy},
		{"api", "migrate", types.ServiceConditionCompletedSuccessfully},
		{"worker", "mysql", types.ServiceConditionHealthy},
		{"worker", "redis", types.ServiceConditionHealthy},
		{"worker", "migrate", types.ServiceConditionCompletedSuccessfully},
	}
	for _, tt := range tests {
		t.Run(tt.service+" on "+tt.dependency, func(t *testing.T) {
			dep, ok := service(t, p, tt.service).DependsOn[tt.dependency]
			if !ok {
				t.Fatalf("%s does not depend on %s", tt.service, tt.dependency)
			}
			if dep.Condition != tt.condition {
				t.Errorf("%s on %s: condition %q, want %q", tt.service, tt.dependency, dep.Condition, tt.condition)
			}
		})
	}
	t.Run("migrate runs once", func(t *testing.T) {
		if r := service(t, p, "migrate").Restart; r != "" && r != types.RestartPolicyNo {
			t.Errorf("migrate restart %q: a one-shot job must not restart", r)
		}
	})
}

func TestComposeIpevalCommands(t *testing.T) {
	p := loadCompose(t)
	for name, sub := range ipevalServices {
		t.Run(name, func(t *testing.T) {
			s := service(t, p, name)
			if s.Build == nil || filepath.Clean(s.Build.Context) != filepath.Clean(p.WorkingDir) {
				t.Errorf("%s: want build context the repository root", name)
			}
			if len(s.Entrypoint) > 0 {
				t.Errorf("%s: entrypoint %q overrides the image's /ipeval", name, s.Entrypoint)
			}
			if err := checkArgs(s.Command); err != nil {
				t.Errorf("%s: %v", name, err)
			} else if s.Command[0] != sub {
				t.Errorf("%s runs %q, want subcommand %q", name, s.Command, sub)
			}
		})
	}
	t.Run("api runs no workers", func(t *testing.T) {
		if cmd := strings.Join(service(t, p, "api").Command, " "); !regexp.MustCompile(`--workers[= ]0\b`).MatchString(cmd) {
			t.Errorf("api command %q: want --workers 0 (the worker service does the work)", cmd)
		}
	})
	// Every other service that builds this repository must be listed above.
	for _, s := range p.Services {
		if _, ok := ipevalServices[s.Name]; !ok && s.Build != nil {
			t.Errorf("service %s builds the ipeval image but is not checked here", s.Name)
		}
	}
}

func TestComposeEnvironment(t *testing.T) {
	p := loadCompose(t)
	db := service(t, p, "mysql")
	for name := range ipevalServices {
		t.Run(name+" IPEVAL_DB", func(t *testing.T) {
			dsn, ok := env(service(t, p, name), "IPEVAL_DB")
			if !ok {
				t.Fatal("IPEVAL_DB is not set")
			}
			cfg, err := mysql.ParseDSN(strings.TrimPrefix(dsn, "mysql://"))
			if err != nil {
				t.Fatalf("IPEVAL_DB %q: %v", dsn, err)
			}
			if host, _, _ := strings.Cut(cfg.Addr, ":"); cfg.Net != "tcp" || host != "mysql" {
				t.Errorf("IPEVAL_DB %q: want tcp to host mysql, got %s %s", dsn, cfg.Net, cfg.Addr)
			}
			for key, got := range map[string]string{"MYSQL_USER": cfg.User, "MYSQL_PASSWORD": cfg.Passwd, "MYSQL_DATABASE": cfg.DBName} {
				if want, _ := env(db, key); got != want {
					t.Errorf("IPEVAL_DB %q: %s is %q in the mysql service, %q in the DSN", dsn, key, want, got)
				}
			}
		})
		if name == "migrate" {
			continue
		}
		t.Run(name+" IPEVAL_REDIS", func(t *testing.T) {
			addr, _ := env(service(t, p, name), "IPEVAL_REDIS")
			if host, _, _ := strings.Cut(addr, ":"); host != "redis" {
				t.Errorf("IPEVAL_REDIS %q: want host redis", addr)
			}
		})
		t.Run(name+" data volume", func(t *testing.T) {
			s := service(t, p, name)
			if dir, _ := env(s, "IPEVAL_DATA_DIR"); dir != "/data" {
				t.Errorf("IPEVAL_DATA_DIR %q, want /data", dir)
			}
			if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
				return v.Type == types.VolumeTypeVolume && v.Source == "ipeval-data" && v.Target == "/data"
			}) {
				t.Errorf("%s: want named volume ipeval-data mounted at /data, got %+v", name, s.Volumes)
			}
		})
	}
	if _, ok := p.Volumes["ipeval-data"]; !ok {
		t.Error("top-level volume ipeval-data is not declared")
	}
}

func TestComposePorts(t *testing.T) {
	p := loadCompose(t)
	t.Run("api publishes 8080", func(t *testing.T) {
		ports := service(t, p, "api").Ports
		if !slices.ContainsFunc(ports, func(pc types.ServicePortConfig) bool {
			return pc.Target == 8080 && pc.Published != ""
		}) {
			t.Errorf("api ports %+v: want container port 8080 published", ports)
		}
	})
	t.Run("worker scales", func(t *testing.T) {
		s := service(t, p, "worker")
		if s.ContainerName != "" {
			t.Errorf("worker container_name %q: a fixed name prevents --scale", s.ContainerName)
		}
		for _, pc := range s.Ports {
			if pc.Published != "" {
				t.Errorf("worker publishes host port %s: a fixed port prevents --scale", pc.Published)
			}
		}
	})
}

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int    // where it starts
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// stage is a build stage: its FROM and the instructions after it.
type stage struct {
	from         instruction
	image, name  string
	instructions []instruction
}

// loadDockerfile reads the Dockerfile and splits it into stages.
func loadDockerfile(tb testing.TB) []stage {
	tb.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var (
		stages  []stage
		pending strings.Builder
		start   int
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if pending.Len() == 0 {
			start = n
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			pending.WriteString(cont + " ")
			continue
		}
		pending.WriteString(line)
		cmd, args, _ := strings.Cut(pending.String(), " ")
		pending.Reset()
		in := instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			st := stage{from: in}
			fields := strings.Fields(in.args)
			for len(fields) > 0 && strings.HasPrefix(fields[0], "--") { // --platform=...
				fields = fields[1:]
			}
			if len(fields) > 0 {
				st.image = fields[0]
			}
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				st.name = fields[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				tb.Fatalf("Dockerfile:%d: %s before the first FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, in)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(stages) == 0 {
		tb.Fatal("Dockerfile has no FROM")
	}
	return stages
}

// find returns the instructions of a stage with the given command.
func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instructions {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// execForm decodes a JSON-array (exec form) instruction argument.
func execForm(tb testing.TB, in instruction) []string {
	tb.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(in.args), &argv); err != nil {
		tb.Fatalf("Dockerfile:%d: %s %s: want exec form [\"...\"]: %v", in.line, in.cmd, in.args, err)
	}
	return argv
}

// goDirective returns the release go.mod's go directive names, such as 1.27.3.
func goDirective(tb testing.TB) string {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		tb.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+(?:\.\d+)?)\s*$`).FindSubmatch(data)
	if m == nil {
		tb.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

// TestReadmeToolchain checks that the README's two commands take the Go
// release go.mod names: a machine starts on its own, older Go with
// GOTOOLCHAIN=local, and the go command would refuse this module.
func TestReadmeToolchain(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	export := "export GOTOOLCHAIN=go" + goDirective(t) + "\n"
	for _, command := range []string{"make run", "make test"} {
		if !strings.Contains(string(data), "```sh\n"+export+command+"\n```") {
			t.Errorf("README.md: no sh block %q followed by %q", strings.TrimSpace(export), command)
		}
	}
}

func TestDockerfile(t *testing.T) {
	stages := loadDockerfile(t)
	final := stages[len(stages)-1]

	// The stage that runs go build makes the binary.
	var build *stage
	var goBuild instruction
	for i, st := range stages {
		for _, in := range st.find("RUN") {
			if strings.Contains(in.args, "go build") {
				build, goBuild = &stages[i], in
			}
		}
	}

	t.Run("multi-stage", func(t *testing.T) {
		if len(stages) < 2 {
			t.Fatalf("%d FROM, want a build stage and a final stage", len(stages))
		}
		if build == nil || build == &stages[len(stages)-1] {
			t.Fatal("want go build in an earlier stage than the final one")
		}
	})
	if build == nil {
		t.Fatal("no RUN go build")
	}

	t.Run("go version matches go.mod", func(t *testing.T) {
		want := goDirective(t)
		repo, tag, _ := strings.Cut(build.image, ":")
		// The exact release: a patch release is where the standard
		// library's security fixes arrive.
		if repo != "golang" || (tag != want && !strings.HasPrefix(tag, want+"-")) {
			t.Errorf("build stage FROM %s, want golang:%s (go.mod)", build.image, want)
		}
	})

	t.Run("static build", func(t *testing.T) {
		cgoOff := regexp.MustCompile(`\bCGO_ENABLED[= ]0\b`)
		found := cgoOff.MatchString(goBuild.args)
		for _, in := range append(build.find("ENV"), build.find("ARG")...) {
			found = found || cgoOff.MatchString(in.args)
		}
		if !found {
			t.Error("build stage does not set CGO_ENABLED=0")
		}
		for _, want := range []string{"-trimpath", "-X main.version="} {
			if !strings.Contains(goBuild.args, want) {
				t.Errorf("Dockerfile:%d: go build lacks %s", goBuild.line, want)
			}
		}
		if !slices.ContainsFunc(build.find("ARG"), func(in instruction) bool {
			return strings.HasPrefix(in.args, "VERSION")
		}) {
			t.Error("build stage has no ARG VERSION (docker-compose.yml passes it)")
		}
	})

	t.Run("final stage runs as non-root", func(t *testing.T) {
		users := final.find("USER")
		if len(users) == 0 {
			t.Fatal("final stage has no USER: it would run as root")
		}
		user, _, _ := strings.Cut(users[len(users)-1].args, ":")
		if user == "root" || user == "0" {
			t.Errorf("final stage USER %q is root", users[len(users)-1].args)
		}
		if strings.HasPrefix(final.image, "golang") {
			t.Errorf("final stage FROM %s ships the toolchain", final.image)
		}
	})

	t.Run("entrypoint is /ipeval", func(t *testing.T) {
		eps := final.find("ENTRYPOINT")
		if len(eps) == 0 {
			t.Fatal("final stage has no ENTRYPOINT")
		}
		if argv := execForm(t, eps[len(eps)-1]); !slices.Equal(argv, []string{"/ipeval"}) {
			t.Errorf("ENTRYPOINT %q, want [\"/ipeval\"]", argv)
		}
		if !slices.ContainsFunc(final.find("COPY"), func(in instruction) bool {
			return strings.HasPrefix(in.args, "--from=") && strings.HasSuffix(in.args, " /ipeval")
		}) {
			t.Error("final stage does not COPY --from=<build> ... /ipeval")
		}
	})

	t.Run("default command", func(t *testing.T) {
		cmds := final.find("CMD")
		if len(cmds) == 0 {
			t.Fatal("final stage has no CMD")
		}
		if err := checkArgs(execForm(t, cmds[len(cmds)-1])); err != nil {
			t.Errorf("CMD: %v", err)
		}
	})

	t.Run("exposes 8080", func(t *testing.T) {
		if !slices.ContainsFunc(final.find("EXPOSE"), func(in instruction) bool {
			return slices.Contains(strings.Fields(in.args), "8080") || slices.Contains(strings.Fields(in.args), "8080/tcp")
		}) {
			t.Error("final stage does not EXPOSE 8080")
		}
	})
}

func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(data))
	for _, want := range []string{".git", "data/"} {
		t.Run(want, func(t *testing.T) {
			if !slices.Contains(lines, want) && !slices.Contains(lines, strings.TrimSuffix(want, "/")) {
				t.Errorf(".dockerignore does not exclude %s", want)
			}
		})
	}
}

// TestComposeStopGrace checks that Docker waits longer than ipeval's own
// shutdown (25 s of draining requests, then of workers) before killing it.
func TestComposeStopGrace(t *testing.T) {
	p := loadCompose(t)
	for _, name := range []string{"api", "worker"} {
		svc, err := p.GetService(name)
		if err != nil {
			t.Fatal(err)
		}
		if svc.StopGracePeriod == nil || time.Duration(*svc.StopGracePeriod) < 30*time.Second {
			t.Errorf("%s: stop_grace_period %v, want at least 30s", name, svc.StopGracePeriod)
		}
	}
}
