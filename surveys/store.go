package surveys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/jobs"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// JobKind is the job that reads an uploaded batch into a project.
const JobKind = "surveys:ingest"

// Store keeps questionnaires, survey projects, their batches, responses
// and indices. Every method authorises its caller (DESIGN.md section 2):
// admins everything; contractors only their organisation's projects and
// batches; city officials only their region's published index.
type Store struct {
	db         *gorm.DB
	queue      *jobs.Queue
	values     *indicators.ValueStore
	files      *blobs.Store
	contactKey []byte
	maxBytes   int64
}

// NewStore returns a Store on db. Uploads are kept in files, at most
// maxBytes each (no limit when 0); ingestion jobs go to queue; an accepted project's indices
// are written through values; contact fields are hashed with contactKey.
func NewStore(db *gorm.DB, queue *jobs.Queue, values *indicators.ValueStore, files *blobs.Store, contactKey []byte, maxBytes int64) *Store {
	return &Store{db: db, queue: queue, values: values, files: files, contactKey: contactKey, maxBytes: maxBytes}
}

// On returns a copy of the store that works within tx, for a caller that
// makes a survey part of a larger transaction (the demo loader).
func (s *Store) On(tx *gorm.DB) *Store {
	c := *s
	c.db = tx
	return &c
}

// CreateQuestionnaire stores a questionnaire read from YAML or JSON as the
// next version of its code. A document identical to the latest version of
// its code returns that version, created false. Only admins add
// questionnaires.
func (s *Store) CreateQuestionnaire(ctx context.Context, by auth.Principal, body []byte) (StoredQuestionnaire, bool, error) {
	if !by.Is(auth.RoleAdmin) {
		return StoredQuestionnaire{}, false, forbidden()
	}
	q, err := questionnaire.Parse(body)
	if err != nil {
		return StoredQuestionnaire{}, false, err
	}
	return s.storeQuestionnaire(ctx, q, &by.UserID)
}

// EnsureQuestionnaire stores q unless the latest version of its code
// already is q, and returns the stored version: how the embedded default
// reaches a new database.
func (s *Store) EnsureQuestionnaire(ctx context.Context, q questionnaire.Questionnaire) (StoredQuestionnaire, error) {
	sq, _, err := s.storeQuestionnaire(ctx, q, nil)
	return sq, err
}

func (s *Store) storeQuestionnaire(ctx context.Context, q questionnaire.Questionnaire, by *string) (StoredQuestionnaire, bool, error) {
	body, err := q.JSON()
	if err != nil {
		return StoredQuestionnaire{}, false, fmt.Errorf("encode questionnaire: %w", err)
	}
	sum := sha256.Sum256(body)
	digest := hex.EncodeToString(sum[:])
	var out StoredQuestionnaire
	created := false
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var latest []StoredQuestionnaire
		if err := tx.Where("code = ?", q.Code).Order("version DESC").Limit(1).Find(&latest).Error; err != nil {
			return fmt.Errorf("find questionnaire: %w", err)
		}
		if len(latest) == 1 && latest[0].Digest == digest {
			out = latest[0]
			return nil
		}
		version := 1
		if len(latest) == 1 {
			version = latest[0].Version + 1
		}
		out = StoredQuestionnaire{ID: uuid.Must(uuid.NewV7()).String(), Code: q.Code, Version: version, Name: q.Name,
			Body: string(body), Digest: digest, CreatedBy: by, CreatedAt: now()}
		if err := tx.Create(&out).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return fault.With(fault.ErrConflict, "another version of the questionnaire was stored at the same time",
					"问卷的另一版本正在同时保存，请重试", nil)
			}
			return fmt.Errorf("store questionnaire: %w", err)
		}
		created = true
		return nil
	})
	if err != nil {
		return StoredQuestionnaire{}, false, err
	}
	out.Questionnaire = q
	return out, created, nil
}

// ListQuestionnaires returns every stored questionnaire, newest version
// first within each code. Admins only: a contractor reads its project's
// questionnaire through the project.
func (s *Store) ListQuestionnaires(ctx context.Context, by auth.Principal) ([]StoredQuestionnaire, error) {
	if !by.Is(auth.RoleAdmin) {
		return nil, forbidden()
	}
	var out []StoredQuestionnaire
	if err := s.db.WithContext(ctx).Order("code, version DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list questionnaires: %w", err)
	}
	for i := range out {
		if err := out[i].decode(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetQuestionnaire returns one stored questionnaire (admins).
func (s *Store) GetQuestionnaire(ctx context.Context, by auth.Principal, id string) (StoredQuestionnaire, error) {
	if !by.Is(auth.RoleAdmin) {
		return StoredQuestionnaire{}, forbidden()
	}
	return getQuestionnaire(s.db.WithContext(ctx), id)
}

func getQuestionnaire(db *gorm.DB, id string) (StoredQuestionnaire, error) {
	var sq StoredQuestionnaire
	if err := db.Where("id = ?", id).Take(&sq).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return sq, fmt.Errorf("questionnaire %s: %w", id, fault.ErrNotFound)
		}
		return sq, fmt.Errorf("get questionnaire: %w", err)
	}
	return sq, sq.decode()
}

// decode fills Questionnaire from Body. Stored documents were validated
// on the way in, so a failure here is corruption, not bad input.
func (sq *StoredQuestionnaire) decode() error {
	if err := json.Unmarshal([]byte(sq.Body), &sq.Questionnaire); err != nil {
		return fmt.Errorf("decode questionnaire %s: %w", sq.ID, err)
	}
	return nil
}

func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func forbidden() error {
	return fault.With(fault.ErrForbidden, "not allowed for your role or organisation", "无权访问：角色或所属机构不符", nil)
}
