package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/config"
	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/demo"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/reports"
	"github.com/ipeval/ipeval/surveys"
)

// bindStore binds the flags of a command that opens the database.
func bindStore(fs *flag.FlagSet, e env) (*config.Config, error) {
	return config.Bind(fs, e.getenv, config.CommandSettings("store")...)
}

// flags parses a subcommand's flags, bound to their environment variables.
func flags(e env, name string, args []string, settings ...string) (*config.Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet("ipeval "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	cfg, err := config.Bind(fs, e.getenv, settings...)
	if err != nil {
		return nil, nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	return cfg, fs, nil
}

// noArgs refuses positional arguments that a command would otherwise
// silently ignore (such as a word placed after the flags).
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q: %w", fs.Name(), fs.Arg(0), errUsage)
	}
	return nil
}

func newLogger(e env, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(e.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(e.stderr, opts))
}

// openDB connects to the configured database. The embedded SQLite default
// migrates itself; MySQL must be migrated explicitly (ipeval migrate, or
// --migrate) so that several processes never race to change the schema.
func openDB(ctx context.Context, cfg *config.Config, log *slog.Logger, autoMigrate bool) (*gorm.DB, error) {
	target, err := database.Parse(cfg.DatabaseAddr())
	if err != nil {
		return nil, err
	}
	db, err := database.Open(ctx, target, log)
	if err != nil {
		return nil, err
	}
	if target.Dialect == database.SQLite || autoMigrate {
		if err := database.Migrate(ctx, db); err != nil {
			_ = database.Close(db)
			return nil, err
		}
		return db, nil
	}
	pending, err := database.Pending(ctx, db)
	if err != nil {
		_ = database.Close(db)
		return nil, err
	}
	if len(pending) > 0 {
		_ = database.Close(db)
		return nil, fmt.Errorf("%d pending migration(s) %v: run `ipeval migrate` or pass --migrate", len(pending), pending)
	}
	return db, nil
}

// services are the stores every command builds on one database.
type services struct {
	cfg     *config.Config
	db      *gorm.DB
	auth    *auth.Store
	regions *regions.Store
	cycles  *cycles.Store
	schemes *indicators.SchemeStore
	audit   *audit.Log
}

func newServices(cfg *config.Config, db *gorm.DB) services {
	return services{cfg: cfg, db: db, auth: auth.NewStore(db, nil), regions: regions.NewStore(db), cycles: cycles.NewStore(db),
		schemes: indicators.NewSchemeStore(db), audit: audit.NewLog(db)}
}

// cliAudit records a write made from the command line.
func (s services) cliAudit(ctx context.Context, e env, action, object, detail string) {
	name := "cli"
	if u := e.getenv("USER"); u != "" {
		name = "cli:" + u
	}
	_ = s.audit.Record(ctx, audit.Entry{Username: name, Role: "system", Action: action, Object: object,
		Result: audit.Success, Status: 0, ClientIP: "local", RequestID: fmt.Sprintf("cli-%d", time.Now().UnixNano()), Detail: detail})
}

// loadDemo fills an empty database with the demo data set and prints how to sign in.
func loadDemo(ctx context.Context, e env, s services, baseURL string) error {
	empty, err := demo.Empty(ctx, s.db)
	if err != nil {
		return err
	}
	if !empty {
		fmt.Fprintln(e.stdout, "demo: the database already has users; nothing loaded (reset a password with `ipeval user passwd NAME`).")
		return nil
	}
	surveys, err := s.surveyStore(nil)
	if err != nil {
		return err
	}
	res, err := demo.Load(ctx, s.db, demo.Options{Surveys: surveys})
	if err != nil {
		return err
	}
	s.cliAudit(ctx, e, "demo.load", "cycle:"+res.Cycle.ID, fmt.Sprintf("%d regions, %d users", res.Regions, len(res.Accounts)))
	fmt.Fprintf(e.stdout, "\nDemo data loaded: %d regions, scheme %s v%d, cycle %d (%s).\n", res.Regions, res.Scheme.Code, res.Scheme.Version, res.Cycle.Year, res.Cycle.Status)
	if n := len(res.PastCycles); n > 0 {
		last := res.PastCycles[n-1].Year
		fmt.Fprintf(e.stdout, "Cycles %d–%d are scored and published; in %d rule R1 caps 太原市 at 良好 (no funding allocated).\n",
			res.PastCycles[0].Year, last, last)
	}
	fmt.Fprintf(e.stdout, "Sign in at %s/login — the passwords are shown only now:\n", baseURL)
	for _, a := range res.Accounts {
		fmt.Fprintf(e.stdout, "  %-8s  %-22s  %s\n", a.Username, a.Password, a.Note)
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// surveyStore returns the survey store of this process: uploads kept
// beside the evidence files (one directory every serve and worker shares),
// contacts hashed with the shared key. queue may be nil where nothing is
// queued (the demo loader).
func (s services) surveyStore(queue *jobs.Queue) (*surveys.Store, error) {
	files, err := blobs.New(s.cfg.EvidencePath())
	if err != nil {
		return nil, err
	}
	key, err := contactKey(s.cfg)
	if err != nil {
		return nil, err
	}
	values := indicators.NewValueStore(s.db, s.schemes)
	return surveys.NewStore(s.db, queue, values, files, key, int64(s.cfg.SurveyUploadMaxMB)<<20), nil
}

// runStores returns the runs of this process, whose publication queues
// the rendering of the run's report, and the archive of those reports.
func (s services) runStores(queue *jobs.Queue) (*evaluation.Store, *reports.Store) {
	rs := evaluation.NewStore(s.db, queue, s.schemes, evaluation.WithPublishHook(reports.PublishHook(queue)))
	return rs, reports.NewStore(s.db, queue, rs, s.schemes, s.cycles)
}

// minContactKey is the shortest contact key accepted: the key is all that
// stands between a stored hash and the phone number behind it.
const minContactKey = 32

// contactKey returns the --contact-key, or the key kept in the data
// directory, created (at random, readable by the owner only) the first
// time. The key is written whole to a temporary file and linked into place,
// so that processes starting together on one shared directory all read
// the same complete key, and a crash never leaves an empty one.
func contactKey(cfg *config.Config) ([]byte, error) {
	if k := strings.TrimSpace(cfg.ContactKey); k != "" {
		if len(k) < minContactKey {
			return nil, fmt.Errorf("--contact-key must have at least %d characters", minContactKey)
		}
		return []byte(k), nil
	}
	path := cfg.ContactKeyPath()
	if key, err := readKey(path); !errors.Is(err, os.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("generate contact key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".contact-key-*")
	if err != nil {
		return nil, fmt.Errorf("create contact key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(raw))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("write contact key: %w", err)
	}
	// CreateTemp made the file 0600. If another process linked its key
	// first, that key is the one to use.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("store contact key: %w", err)
	}
	return readKey(path)
}

// readKey reads a contact key file.
func readKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read contact key: %w", err)
	}
	if k := bytes.TrimSpace(b); len(k) >= minContactKey {
		return k, nil
	}
	return nil, fmt.Errorf("contact key file %s is shorter than %d characters", path, minContactKey)
}
