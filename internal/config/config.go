// Package config owns ipeval's settings: every flag, its environment
// variable and its default, so that the CLI, docker-compose and the README
// describe one set of names.
package config

import (
	"cmp"
	"flag"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Config is the union of the settings of every subcommand.
type Config struct {
	Addr        string
	DB          string
	Redis       string
	DataDir     string
	LogFormat   string
	Workers     int
	Concurrency int
	Demo        bool
	Migrate     bool
	// SecureCookies marks cookies Secure, for a service reached over HTTPS.
	SecureCookies bool
	// TrustedProxies lists the addresses (IPs or CIDRs) of reverse proxies
	// whose X-Forwarded-For names the client; empty trusts none.
	TrustedProxies []string
	// UploadMaxMB caps an evidence file, in MiB.
	UploadMaxMB int
	// EvidenceDir keeps evidence files and survey uploads; empty means
	// <data-dir>/evidence.
	EvidenceDir string
	// SurveyUploadMaxMB caps a survey upload, in MiB.
	SurveyUploadMaxMB int
	// ContactKey is the secret that survey contacts are hashed with; empty
	// means a key file in the data directory.
	ContactKey string
	// RetentionDays is how long the content of a withdrawn or refused
	// upload is kept before it is removed (package retention).
	RetentionDays int
	// MetricsAddr is where Prometheus metrics are served, apart from the
	// public address; see MetricsListenAddr.
	MetricsAddr string
}

// DefaultMetricsAddr keeps the metrics on loopback: a scraper on the same
// host (or a sidecar) reads them, the network does not.
const DefaultMetricsAddr = "127.0.0.1:9464"

// setting is one flag with its environment variable and default.
type setting struct {
	Name, Env, Default, Usage string
}

// settings lists every flag of ipeval; read only.
var settings = []setting{
	{"addr", "IPEVAL_ADDR", ":8080", "HTTP listen address"},
	{"db", "IPEVAL_DB", "", "SQLite file or MySQL DSN (default <data-dir>/ipeval.db)"},
	{"redis", "IPEVAL_REDIS", "", "Redis address or redis:// URL; empty runs an embedded broker"},
	{"data-dir", "IPEVAL_DATA_DIR", "./data", "directory for the SQLite file, uploads and exports"},
	{"log-format", "IPEVAL_LOG_FORMAT", "text", "log format: text or json"},
	{"workers", "IPEVAL_WORKERS", "4", "in-process job workers (0 = API only)"},
	{"concurrency", "IPEVAL_CONCURRENCY", "4", "jobs run at once by this worker"},
	{"demo", "IPEVAL_DEMO", "false", "load demo data into an empty database"},
	{"migrate", "IPEVAL_MIGRATE", "false", "apply pending migrations at start (MySQL)"},
	{"secure-cookies", "IPEVAL_SECURE_COOKIES", "false", "mark cookies Secure (serve over HTTPS)"},
	{"trusted-proxies", "IPEVAL_TRUSTED_PROXIES", "", "comma-separated proxy IPs/CIDRs whose X-Forwarded-For is believed"},
	{"evidence-dir", "IPEVAL_EVIDENCE_DIR", "", "directory for evidence files (default <data-dir>/evidence); shared by every serve replica"},
	{"upload-max-mb", "IPEVAL_UPLOAD_MAX_MB", "20", "largest evidence file, in MiB (1–100)"},
	{"survey-upload-max-mb", "IPEVAL_SURVEY_UPLOAD_MAX_MB", "100", "largest survey upload, in MiB (1–1024)"},
	{"retention-days", "IPEVAL_RETENTION_DAYS", "30", "days the content of withdrawn, refused and replaced uploads is kept before it is removed (1–3650)"},
	{"metrics-addr", "IPEVAL_METRICS_ADDR", DefaultMetricsAddr, "Prometheus metrics listen address, apart from --addr (loopback by default; empty or off serves none)"},
	{"contact-key", "IPEVAL_CONTACT_KEY", "", "secret for hashing survey contacts, at least 32 characters (default: <data-dir>/contact.key, created on first use); the same for every serve and worker"},
}

// Bind registers the named flags on fs, their defaults taken from the
// environment (getenv) when set there.
func Bind(fs *flag.FlagSet, getenv func(string) string, names ...string) (*Config, error) {
	c := &Config{}
	for _, n := range names {
		var s *setting
		for i := range settings {
			if settings[i].Name == n {
				s = &settings[i]
			}
		}
		if s == nil {
			return nil, fmt.Errorf("unknown setting %q", n)
		}
		def := s.Default
		if v := getenv(s.Env); v != "" {
			def = v
		}
		usage := s.Usage + " ($" + s.Env + ")"
		var err error
		switch n {
		case "addr":
			fs.StringVar(&c.Addr, n, def, usage)
		case "db":
			fs.StringVar(&c.DB, n, def, usage)
		case "redis":
			fs.StringVar(&c.Redis, n, def, usage)
		case "data-dir":
			fs.StringVar(&c.DataDir, n, def, usage)
		case "log-format":
			fs.StringVar(&c.LogFormat, n, def, usage)
		case "workers":
			c.Workers, err = strconv.Atoi(def)
			fs.IntVar(&c.Workers, n, c.Workers, usage)
		case "concurrency":
			c.Concurrency, err = strconv.Atoi(def)
			fs.IntVar(&c.Concurrency, n, c.Concurrency, usage)
		case "demo":
			c.Demo, err = strconv.ParseBool(def)
			fs.BoolVar(&c.Demo, n, c.Demo, usage)
		case "migrate":
			c.Migrate, err = strconv.ParseBool(def)
			fs.BoolVar(&c.Migrate, n, c.Migrate, usage)
		case "secure-cookies":
			c.SecureCookies, err = strconv.ParseBool(def)
			fs.BoolVar(&c.SecureCookies, n, c.SecureCookies, usage)
		case "evidence-dir":
			fs.StringVar(&c.EvidenceDir, n, def, usage)
		case "upload-max-mb":
			c.UploadMaxMB, err = strconv.Atoi(def)
			fs.IntVar(&c.UploadMaxMB, n, c.UploadMaxMB, usage)
		case "survey-upload-max-mb":
			c.SurveyUploadMaxMB, err = strconv.Atoi(def)
			fs.IntVar(&c.SurveyUploadMaxMB, n, c.SurveyUploadMaxMB, usage)
		case "contact-key":
			fs.StringVar(&c.ContactKey, n, def, usage)
		case "retention-days":
			c.RetentionDays, err = strconv.Atoi(def)
			fs.IntVar(&c.RetentionDays, n, c.RetentionDays, usage)
		case "metrics-addr":
			fs.StringVar(&c.MetricsAddr, n, def, usage)
		case "trusted-proxies":
			c.TrustedProxies = splitList(def)
			fs.Func(n, usage, func(v string) error { c.TrustedProxies = splitList(v); return nil })
		}
		if err != nil {
			return nil, fmt.Errorf("$%s: %w", s.Env, err)
		}
	}
	return c, nil
}

// DatabaseAddr is the --db value, defaulting to a SQLite file in the data directory.
func (c *Config) DatabaseAddr() string {
	if strings.TrimSpace(c.DB) != "" {
		return c.DB
	}
	dir := c.DataDir
	if dir == "" {
		dir = "./data"
	}
	return filepath.Join(dir, "ipeval.db")
}

// EvidencePath is the --evidence-dir value, defaulting to a directory in
// the data directory.
func (c *Config) EvidencePath() string {
	if strings.TrimSpace(c.EvidenceDir) != "" {
		return c.EvidenceDir
	}
	return filepath.Join(cmp.Or(c.DataDir, "./data"), "evidence")
}

// MetricsListenAddr is the --metrics-addr value, or "" when metrics are
// not to be served ("off" in the environment, where an empty variable means
// unset).
func (c *Config) MetricsListenAddr() string {
	if a := strings.TrimSpace(c.MetricsAddr); a != "off" {
		return a
	}
	return ""
}

// ContactKeyPath is the key file used when no contact key is given.
func (c *Config) ContactKeyPath() string {
	return filepath.Join(cmp.Or(c.DataDir, "./data"), "contact.key")
}

// CommandSettings lists the settings (flag names) a subcommand takes, so that
// the CLI and the deployment files' test share one list.
func CommandSettings(command string) []string {
	switch command {
	case "serve":
		return []string{"addr", "db", "redis", "data-dir", "log-format", "workers", "demo", "migrate", "secure-cookies", "trusted-proxies", "upload-max-mb", "evidence-dir",
			"survey-upload-max-mb", "contact-key", "retention-days", "metrics-addr"}
	case "worker":
		return []string{"db", "redis", "data-dir", "log-format", "concurrency", "evidence-dir", "contact-key", "retention-days"}
	case "migrate":
		return []string{"db", "data-dir", "log-format"}
	case "store":
		return []string{"db", "data-dir", "log-format", "evidence-dir", "contact-key", "survey-upload-max-mb"}
	}
	return nil
}

// IsBool reports whether the named setting is a boolean flag (one that takes no value).
func IsBool(name string) bool { return name == "demo" || name == "migrate" || name == "secure-cookies" }

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
