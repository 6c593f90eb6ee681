package indicators

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/indicators/valuecheck"
	"github.com/ipeval/ipeval/internal/blobs"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textenc"
	"github.com/ipeval/ipeval/regions"
)

// maxEvidencePerValue bounds the files ever attached to one value,
// withdrawn ones included (their content is kept), so that one account
// cannot fill the disk through a single indicator.
const maxEvidencePerValue = 30

// Evidence is a file backing the value of one indicator for one region in
// one cycle (the funding document behind F1, say). The content is kept in
// the blob store under its SHA-256; a withdrawn file keeps its row.
type Evidence struct {
	ID            string     `json:"id" gorm:"primaryKey"`
	CycleID       string     `json:"cycle_id"`
	RegionCode    string     `json:"region_code"`
	IndicatorCode string     `json:"indicator_code"`
	FileName      string     `json:"file_name"`
	MediaType     string     `json:"media_type"`
	Size          int64      `json:"size"`
	SHA256        string     `json:"sha256" gorm:"column:sha256"`
	UploadedBy    string     `json:"uploaded_by"`
	UploadedAt    time.Time  `json:"uploaded_at"`
	WithdrawnAt   *time.Time `json:"withdrawn_at"`
	WithdrawnBy   string     `json:"withdrawn_by,omitempty"`

	// PurgedAt is when the content of a withdrawn file was removed, after
	// the retention period (package retention); the row stays.
	PurgedAt *time.Time `json:"purged_at,omitempty"`
}

// TableName is the evidence_files table of migration 0004.
func (Evidence) TableName() string { return "evidence_files" }

// Upload is an evidence file as a caller sends it.
type Upload struct {
	RegionCode    string
	IndicatorCode string
	FileName      string
	Data          []byte
}

// EvidenceStore keeps evidence files: who may attach, see and withdraw
// them follows the values they back (DESIGN.md section 2).
type EvidenceStore struct {
	db       *gorm.DB
	values   *ValueStore
	blobs    *blobs.Store
	maxBytes int64
}

// NewEvidenceStore returns an EvidenceStore that keeps rows in db, file
// contents in files, and refuses files over maxBytes.
func NewEvidenceStore(db *gorm.DB, values *ValueStore, files *blobs.Store, maxBytes int64) *EvidenceStore {
	return &EvidenceStore{db: db, values: values, blobs: files, maxBytes: maxBytes}
}

// MaxBytes is the largest file Add accepts.
func (s *EvidenceStore) MaxBytes() int64 { return s.maxBytes }

// Add attaches a file to the value of (region, indicator) in a collecting
// cycle; the value itself need not exist yet. Admins attach to any region,
// city officials to their own. The content must match the file name's
// type (a ".pdf" must be a PDF) and be at most MaxBytes; nothing is
// recorded otherwise. The same content attached again to the same value
// (a retried upload) returns the existing file with created false.
func (s *EvidenceStore) Add(ctx context.Context, by auth.Principal, cycleID string, up Upload) (ev Evidence, created bool, err error) {
	up.RegionCode = valuecheck.NormRegion(up.RegionCode)
	up.IndicatorCode = strings.TrimSpace(up.IndicatorCode)
	if !by.Is(auth.RoleAdmin, auth.RoleCity) || !by.CanAccessRegion(up.RegionCode) {
		return ev, false, forbidden()
	}
	if int64(len(up.Data)) > s.maxBytes {
		return ev, false, fault.With(fault.ErrTooLarge,
			fmt.Sprintf("an evidence file is at most %d MiB", s.maxBytes>>20),
			fmt.Sprintf("佐证材料不能超过 %d MiB", s.maxBytes>>20), map[string]any{"max_bytes": s.maxBytes})
	}
	name := textenc.FileName(up.FileName)
	var errs []fault.FieldError
	if name == "" {
		errs = append(errs, fault.Field("file", "required", "请选择要上传的文件", "choose a file to upload"))
	}
	if len(up.Data) == 0 {
		errs = append(errs, fault.Field("file", "empty", "文件为空", "the file is empty"))
	}
	if err := fault.Invalid(errs...); err != nil {
		return ev, false, err
	}
	media, err := detectEvidence(name, up.Data)
	if err != nil {
		return ev, false, err
	}
	sum := blobs.Sum(up.Data)
	ev = Evidence{ID: uuid.Must(uuid.NewV7()).String(), CycleID: cycleID, RegionCode: up.RegionCode,
		IndicatorCode: up.IndicatorCode, FileName: name, MediaType: media, Size: int64(len(up.Data)), SHA256: sum,
		UploadedBy: by.UserID, UploadedAt: now()}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, sc, err := s.values.openCycle(tx, cycleID)
		if err != nil {
			return err
		}
		if err := checkTarget(tx, sc, up.RegionCode, up.IndicatorCode); err != nil {
			return err
		}
		var same []Evidence
		if err := live(tx, cycleID, up.RegionCode, up.IndicatorCode).Where("sha256 = ?", sum).Limit(1).Find(&same).Error; err != nil {
			return fmt.Errorf("find evidence: %w", err)
		}
		if len(same) > 0 {
			ev = same[0]
			return nil
		}
		var n int64
		if err := tx.Model(&Evidence{}).Where("cycle_id = ? AND region_code = ? AND indicator_code = ?",
			cycleID, up.RegionCode, up.IndicatorCode).Count(&n).Error; err != nil {
			return fmt.Errorf("count evidence: %w", err)
		}
		if n >= maxEvidencePerValue {
			return fault.With(fault.ErrConflict,
				fmt.Sprintf("a value keeps at most %d evidence files, withdrawn ones included", maxEvidencePerValue),
				fmt.Sprintf("每项指标最多保存 %d 个佐证材料（含已撤回的）", maxEvidencePerValue), nil)
		}
		// The content is stored before the row is committed; it is
		// content-addressed, so a rolled-back upload leaves at most an
		// unreferenced copy, never a row without its file.
		if _, err := s.blobs.Put(up.Data); err != nil {
			return err
		}
		if err := tx.Create(&ev).Error; err != nil {
			return fmt.Errorf("record evidence: %w", err)
		}
		created = true
		return nil
	})
	return ev, created, err
}

// checkTarget checks that evidence may be attached to (region, indicator):
// a known region, and an indicator of the scheme entered by hand (survey
// results are evidence enough for survey-sourced indicators).
func checkTarget(tx *gorm.DB, sc scheme.Scheme, regionCode, indicatorCode string) error {
	var errs []fault.FieldError
	var n int64
	if err := tx.Model(&regions.Region{}).Where("code = ?", regionCode).Count(&n).Error; err != nil {
		return fmt.Errorf("read region: %w", err)
	}
	if n == 0 {
		errs = append(errs, fault.Field("region_code", "unknown_region", "未知地区代码："+regionCode, "unknown region code: "+regionCode))
	}
	ind, ok := sc.Indicator(indicatorCode)
	switch {
	case !ok:
		errs = append(errs, fault.FieldError{Field: "indicator_code", Indicator: indicatorCode, Code: "unknown_indicator",
			Message: "评价方案中没有指标：" + indicatorCode, MessageEn: "the scheme has no indicator " + indicatorCode})
	case ind.SurveySourced():
		errs = append(errs, valuecheck.SurveySourced("indicator_code", ind))
	}
	return fault.Invalid(errs...)
}

// live selects the evidence of one value that is not withdrawn.
func live(tx *gorm.DB, cycleID, regionCode, indicatorCode string) *gorm.DB {
	return tx.Model(&Evidence{}).Where("cycle_id = ? AND region_code = ? AND indicator_code = ? AND withdrawn_at IS NULL",
		cycleID, regionCode, indicatorCode)
}

// List returns the evidence of a cycle, withdrawn files included, by
// region, indicator and upload time. An empty regionCode means every region
// the caller may see.
func (s *EvidenceStore) List(ctx context.Context, by auth.Principal, cycleID, regionCode string) ([]Evidence, error) {
	return listOfCycle[Evidence](s.db.WithContext(ctx), by, cycleID, regionCode, "region_code, indicator_code, uploaded_at, id")
}

// Open returns an evidence file and its content, checked against its
// checksum. A file of a region the caller may not see is not found, so
// that ids reveal nothing.
func (s *EvidenceStore) Open(ctx context.Context, by auth.Principal, cycleID, id string) (Evidence, []byte, error) {
	ev, err := s.get(s.db.WithContext(ctx), by, cycleID, id)
	if err != nil {
		return ev, nil, err
	}
	if ev.PurgedAt != nil {
		return ev, nil, fault.With(fault.ErrNotFound,
			"the file was withdrawn and its content removed after the retention period; its record stays",
			"该佐证材料已撤回，内容已在保留期满后清除（记录保留）", map[string]any{"purged_at": ev.PurgedAt})
	}
	data, err := s.blobs.Get(ev.SHA256)
	if err != nil {
		return ev, nil, fmt.Errorf("evidence %s: %w", ev.ID, err)
	}
	return ev, data, nil
}

func (s *EvidenceStore) get(db *gorm.DB, by auth.Principal, cycleID, id string) (Evidence, error) {
	if !by.Is(auth.RoleAdmin, auth.RoleCity) {
		return Evidence{}, forbidden()
	}
	var ev Evidence
	err := db.Where("id = ? AND cycle_id = ?", id, cycleID).Take(&ev).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || (err == nil && !by.CanAccessRegion(ev.RegionCode)) {
		return Evidence{}, fmt.Errorf("evidence %s: %w", id, fault.ErrNotFound)
	}
	if err != nil {
		return Evidence{}, fmt.Errorf("read evidence: %w", err)
	}
	return ev, nil
}

// Withdraw marks a file as no longer backing its value, while the cycle is
// collecting. The file stays on record. Evidence of a verified value
// cannot be withdrawn: the verification rested on it.
func (s *EvidenceStore) Withdraw(ctx context.Context, by auth.Principal, cycleID, id string) (Evidence, error) {
	var ev Evidence
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if _, _, err := s.values.openCycle(tx, cycleID); err != nil {
			return err
		}
		var err error
		if ev, err = s.get(tx, by, cycleID, id); err != nil {
			return err
		}
		if ev.WithdrawnAt != nil {
			return nil
		}
		v, found, err := findValue(tx, cycleID, ev.RegionCode, ev.IndicatorCode)
		if err != nil {
			return err
		}
		if found && v.Status == StatusVerified {
			return fault.With(fault.ErrConflict, "evidence of a verified value cannot be withdrawn",
				"数据已审核通过，其佐证材料不能撤回", map[string]any{"value_status": v.Status})
		}
		at := now()
		ev.WithdrawnAt, ev.WithdrawnBy = &at, by.UserID
		if err := tx.Model(&Evidence{}).Where("id = ?", ev.ID).
			Updates(map[string]any{"withdrawn_at": at, "withdrawn_by": by.UserID}).Error; err != nil {
			return fmt.Errorf("withdraw evidence: %w", err)
		}
		return nil
	})
	return ev, err
}
