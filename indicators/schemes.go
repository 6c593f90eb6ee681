package indicators

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
)

// StoredScheme is one version of a scheme as kept in the database: the
// document itself (canonical JSON) and what identifies it.
type StoredScheme struct {
	ID        string    `json:"id" gorm:"primaryKey"`
	Code      string    `json:"code"`
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	Body      string    `json:"-"`
	Digest    string    `json:"digest"`
	CreatedBy *string   `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// TableName is the schemes table.
func (StoredScheme) TableName() string { return "schemes" }

// SchemeStore keeps scheme versions.
type SchemeStore struct {
	db *gorm.DB
	// decoded holds parsed documents by digest. Parsing validates the
	// scheme and compiles its rules (about a millisecond), and every value
	// write needs its cycle's scheme, so each document is parsed once. A
	// digest names one document for good; there are few versions.
	decoded sync.Map
}

// NewSchemeStore returns a SchemeStore on db.
func NewSchemeStore(db *gorm.DB) *SchemeStore { return &SchemeStore{db: db} }

// Decode returns the scheme stored in st. The result shares nothing with
// other callers' copies at its top level, so a caller may change its
// fields and lists; the documents inside the lists are shared and must not
// be changed in place.
func (s *SchemeStore) Decode(st StoredScheme) (scheme.Scheme, error) {
	if v, ok := s.decoded.Load(st.Digest); ok {
		return detach(v.(scheme.Scheme)), nil
	}
	sc, err := scheme.Parse([]byte(st.Body))
	if err != nil {
		return sc, fmt.Errorf("stored scheme %s: %w", st.ID, err)
	}
	s.decoded.Store(st.Digest, sc)
	return detach(sc), nil
}

func detach(sc scheme.Scheme) scheme.Scheme {
	sc.Dimensions = slices.Clone(sc.Dimensions)
	sc.Indicators = slices.Clone(sc.Indicators)
	sc.Grades = slices.Clone(sc.Grades)
	sc.Rules = slices.Clone(sc.Rules)
	return sc
}

// Create validates sc and stores it as the next version of its code.
func (s *SchemeStore) Create(ctx context.Context, sc scheme.Scheme, createdBy string) (StoredScheme, error) {
	var out StoredScheme
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		out, err = insertVersion(tx, sc, createdBy)
		return err
	})
	return out, err
}

func insertVersion(tx *gorm.DB, sc scheme.Scheme, createdBy string) (StoredScheme, error) {
	if err := sc.Validate(); err != nil {
		return StoredScheme{}, err
	}
	var last int
	if err := tx.Model(&StoredScheme{}).Where("code = ?", sc.Code).Select("COALESCE(MAX(version), 0)").Scan(&last).Error; err != nil {
		return StoredScheme{}, fmt.Errorf("read scheme versions: %w", err)
	}
	sc.Version = last + 1
	body, err := sc.JSON()
	if err != nil {
		return StoredScheme{}, fmt.Errorf("encode scheme: %w", err)
	}
	sum := sha256.Sum256(body)
	out := StoredScheme{ID: uuid.Must(uuid.NewV7()).String(), Code: sc.Code, Version: sc.Version, Name: sc.Name,
		Body: string(body), Digest: hex.EncodeToString(sum[:])}
	if createdBy != "" {
		out.CreatedBy = &createdBy
	}
	if err := tx.Create(&out).Error; err != nil {
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return out, fmt.Errorf("scheme %s version %d: %w", sc.Code, sc.Version, fault.ErrConflict)
		}
		return out, fmt.Errorf("store scheme: %w", err)
	}
	return out, nil
}

// Get returns a stored scheme version.
func (s *SchemeStore) Get(ctx context.Context, id string) (StoredScheme, error) {
	var out StoredScheme
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&out).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return out, fmt.Errorf("scheme %s: %w", id, fault.ErrNotFound)
	}
	if err != nil {
		return out, fmt.Errorf("get scheme: %w", err)
	}
	return out, nil
}

// List returns every stored version, by code and newest version first.
func (s *SchemeStore) List(ctx context.Context) ([]StoredScheme, error) {
	var out []StoredScheme
	if err := s.db.WithContext(ctx).Omit("body").Order("code, version DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list schemes: %w", err)
	}
	return out, nil
}

// Replace puts sc in place of the version id. A version that a cycle has
// been scored with is immutable, so the change becomes a new version
// instead, and created is true. The code cannot change.
func (s *SchemeStore) Replace(ctx context.Context, id string, sc scheme.Scheme, by string) (out StoredScheme, created bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var cur StoredScheme
		if err := tx.Where("id = ?", id).Take(&cur).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return fmt.Errorf("scheme %s: %w", id, fault.ErrNotFound)
			}
			return fmt.Errorf("get scheme: %w", err)
		}
		if sc.Code != cur.Code {
			return fault.Invalid(fault.Field("code", "code_changed", "方案代码不能修改；新方案请新建", "the code of a scheme cannot change; create a new scheme instead"))
		}
		var used int64
		scored := []cycles.Status{cycles.Scoring, cycles.Published, cycles.Archived}
		if err := tx.Table("cycles").Where("scheme_id = ? AND status IN ?", id, scored).Count(&used).Error; err != nil {
			return fmt.Errorf("check scheme use: %w", err)
		}
		if used > 0 {
			created = true
			out, err = insertVersion(tx, sc, by)
			return err
		}
		if err := sc.Validate(); err != nil {
			return err
		}
		sc.Version = cur.Version
		body, err := sc.JSON()
		if err != nil {
			return fmt.Errorf("encode scheme: %w", err)
		}
		sum := sha256.Sum256(body)
		cur.Name, cur.Body, cur.Digest = sc.Name, string(body), hex.EncodeToString(sum[:])
		if err := tx.Model(&StoredScheme{}).Where("id = ?", id).
			Updates(map[string]any{"name": cur.Name, "body": cur.Body, "digest": cur.Digest}).Error; err != nil {
			return fmt.Errorf("update scheme: %w", err)
		}
		out = cur
		return nil
	})
	return out, created, err
}

// CreateUnlessStored stores sc as the next version of its code unless a
// stored version of that code already says the same (every field but the
// version), which it then returns with created false: adding the built-in
// default twice must not make two versions that only their numbers tell
// apart.
func (s *SchemeStore) CreateUnlessStored(ctx context.Context, sc scheme.Scheme, createdBy string) (out StoredScheme, created bool, err error) {
	want, err := comparable(sc)
	if err != nil {
		return out, false, err
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var same []StoredScheme
		if err := tx.Where("code = ?", sc.Code).Order("version DESC").Find(&same).Error; err != nil {
			return fmt.Errorf("read scheme versions: %w", err)
		}
		for _, st := range same {
			got, err := s.Decode(st)
			if err != nil {
				return err
			}
			if body, err := comparable(got); err != nil {
				return err
			} else if body == want {
				out = st
				return nil
			}
		}
		created = true
		out, err = insertVersion(tx, sc, createdBy)
		return err
	})
	return out, created, err
}

// comparable is sc's document without its version number.
func comparable(sc scheme.Scheme) (string, error) {
	sc.Version = 0
	b, err := sc.JSON()
	return string(b), err
}
