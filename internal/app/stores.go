package app

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/config"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/reports"
	"github.com/ipeval/ipeval/surveys"
)

// Core are the stores that need nothing but the database: all that the
// command line's user administration works on, so that it creates no
// files and no contact key.
type Core struct {
	DB      *gorm.DB
	Auth    *auth.Store
	Regions *regions.Store
	Cycles  *cycles.Store
	Schemes *indicators.SchemeStore
	Audit   *audit.Log
}

// NewCore builds the stores that need only db.
func NewCore(db *gorm.DB) *Core {
	return &Core{DB: db, Auth: auth.NewStore(db, nil), Regions: regions.NewStore(db), Cycles: cycles.NewStore(db),
		Schemes: indicators.NewSchemeStore(db), Audit: audit.NewLog(db)}
}

// Stores are every store of one process, each built once on one
// database and shared by the HTTP server, the job handlers and the
// demo loader.
type Stores struct {
	*Core
	// Files keeps evidence and survey uploads: one directory that every
	// serve and worker shares.
	Files    *blobs.Store
	Values   *indicators.ValueStore
	Evidence *indicators.EvidenceStore
	Surveys  *surveys.Store
	Runs     *evaluation.Store
	Reports  *reports.Store
}

// NewStores builds every store of a process on db. Jobs go to queue, which
// may be nil where nothing is queued (the demo command). Survey contacts
// are hashed with the shared contact key; a run's publication queues the
// rendering of its report.
func NewStores(cfg *config.Config, db *gorm.DB, queue *jobs.Queue) (*Stores, error) {
	files, err := blobs.New(cfg.EvidencePath())
	if err != nil {
		return nil, err
	}
	key, err := contactKey(cfg)
	if err != nil {
		return nil, err
	}
	s := &Stores{Core: NewCore(db), Files: files}
	s.Values = indicators.NewValueStore(db, s.Schemes)
	s.Evidence = indicators.NewEvidenceStore(db, s.Values, files, int64(cfg.UploadMaxMB)<<20)
	s.Surveys = surveys.NewStore(db, queue, s.Values, files, key, int64(cfg.SurveyUploadMaxMB)<<20)
	s.Runs = evaluation.NewStore(db, queue, s.Schemes, evaluation.WithPublishHook(reports.PublishHook(queue)))
	s.Reports = reports.NewStore(db, queue, s.Runs, s.Schemes, s.Cycles)
	return s, nil
}

// MinContactKey is the length of the shortest contact key accepted: the
// key is all that stands between a stored hash and the phone number
// behind it.
const MinContactKey = 32

// contactKey returns the --contact-key, or the key kept in the data
// directory, created (at random, readable by the owner only) the first
// time. The key is written whole to a temporary file and linked into place,
// so that processes starting together on one shared directory all read
// the same complete key, and a crash never leaves an empty one.
func contactKey(cfg *config.Config) ([]byte, error) {
	if k := strings.TrimSpace(cfg.ContactKey); k != "" {
		if len(k) < MinContactKey {
			return nil, fmt.Errorf("--contact-key must have at least %d characters", MinContactKey)
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
	if k := bytes.TrimSpace(b); len(k) >= MinContactKey {
		return k, nil
	}
	return nil, fmt.Errorf("contact key file %s is shorter than %d characters", path, MinContactKey)
}
