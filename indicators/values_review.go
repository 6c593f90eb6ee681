package indicators

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/indicators/valuecheck"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textguard"
)

// Review of indicator values: a region submits them, a provincial manager
// verifies or rejects them.

// Submit hands values of a region to review: each named value in draft or
// rejected becomes submitted (version+1, a "submit" revision). Values
// already submitted or verified are left as they are. Empty codes means
// every draft or rejected value of the region. Admins may submit for any
// region, city officials for their own; the cycle must be collecting. It
// returns the named values (or, for empty codes, those it submitted).
func (s *ValueStore) Submit(ctx context.Context, by auth.Principal, cycleID, regionCode string, codes []string) ([]Value, error) {
	regionCode = valuecheck.NormRegion(regionCode)
	if !by.Is(auth.RoleAdmin, auth.RoleCity) || !by.CanAccessRegion(regionCode) {
		return nil, forbidden()
	}
	var out []Value
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, sc, err := s.openCycle(tx, cycleID)
		if err != nil {
			return err
		}
		out, err = submitTx(tx, by, sc, cycleID, regionCode, codes)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// submitTx is Submit inside a transaction that holds the cycle.
func submitTx(tx *gorm.DB, by auth.Principal, sc scheme.Scheme, cycleID, regionCode string, codes []string) ([]Value, error) {
	var vals []Value
	if err := tx.Where("cycle_id = ? AND region_code = ?", cycleID, regionCode).Order("indicator_code").Find(&vals).Error; err != nil {
		return nil, fmt.Errorf("read indicator values: %w", err)
	}
	var targets []Value
	if len(codes) == 0 {
		for _, v := range vals {
			if v.Status == StatusDraft || v.Status == StatusRejected {
				targets = append(targets, v)
			}
		}
	} else {
		var errs []fault.FieldError
		for i, code := range codes {
			code = strings.TrimSpace(code)
			field := fmt.Sprintf("codes[%d]", i)
			if _, ok := sc.Indicator(code); !ok {
				errs = append(errs, fault.FieldError{Field: field, Indicator: code, Code: "unknown_indicator",
					Message: "评价方案中没有指标：" + code, MessageEn: "the scheme has no indicator " + code})
				continue
			}
			j := slices.IndexFunc(vals, func(v Value) bool { return v.IndicatorCode == code })
			if j < 0 {
				errs = append(errs, fault.FieldError{Field: field, Indicator: code, Code: "missing",
					Message: "指标 " + code + " 尚未填报，不能提交", MessageEn: "indicator " + code + " has no value to submit"})
				continue
			}
			targets = append(targets, vals[j])
		}
		if err := fault.Invalid(errs...); err != nil {
			return nil, err
		}
	}
	out := make([]Value, 0, len(targets))
	for _, cur := range targets {
		if cur.Status != StatusDraft && cur.Status != StatusRejected {
			out = append(out, cur)
			continue
		}
		v, err := changeStatus(tx, by, cur, StatusSubmitted, ActionSubmit, "", nil)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// changeStatus moves cur to status with one revision. comment, when not
// nil, becomes the reviewer comment.
func changeStatus(tx *gorm.DB, by auth.Principal, cur Value, status Status, action, reason string, comment *string) (Value, error) {
	v := cur
	v.Status, v.Version, v.UpdatedBy, v.UpdatedAt = status, cur.Version+1, by.UserID, now()
	cols := map[string]any{"status": v.Status, "version": v.Version, "updated_by": v.UpdatedBy, "updated_at": v.UpdatedAt}
	if comment != nil {
		v.ReviewerComment = *comment
		cols["reviewer_comment"] = v.ReviewerComment
	}
	ok, err := update(tx, cur, cols)
	if err != nil {
		return v, err
	}
	if !ok {
		// Impossible under the cycle lock, as in writeItems.
		return v, fault.With(fault.ErrConflict, "stale version", "数据已被他人修改", nil)
	}
	rev := Revision{ValueID: v.ID, Version: v.Version, At: v.UpdatedAt, UserID: by.UserID, Username: by.Username,
		Action: action, OldNumber: cur.Number, NewNumber: v.Number, OldNA: cur.NotApplicable, NewNA: v.NotApplicable,
		OldNote: cur.Note, NewNote: v.Note, OldStatus: cur.Status, NewStatus: v.Status, Reason: reason}
	if err := tx.Create(&rev).Error; err != nil {
		return v, fmt.Errorf("record revision: %w", err)
	}
	return v, nil
}

// Review verifies (verify) or rejects a submitted value; only admins
// review, and only while the cycle is collecting. A rejection needs a
// comment, which the region sees as the reviewer comment. version is the
// version the reviewer saw; a stale one is a conflict with the current
// version, recorded as a "conflict" revision.
// A number of an indicator marked EvidenceRequired is verified only when
// at least one evidence file backs it.
func (s *ValueStore) Review(ctx context.Context, by auth.Principal, cycleID, valueID string, verify bool, comment string, version int) (Value, error) {
	if !by.Is(auth.RoleAdmin) {
		return Value{}, forbidden()
	}
	comment = strings.TrimSpace(comment)
	switch {
	case !verify && comment == "":
		return Value{}, fault.Invalid(fault.Field("comment", "required", "退回时须填写审核意见", "a rejection needs a comment"))
	case utf8.RuneCountInString(comment) > maxText:
		return Value{}, fault.Invalid(fault.Field("comment", "too_long",
			fmt.Sprintf("审核意见不超过 %d 字", maxText), fmt.Sprintf("comment must be at most %d characters", maxText)))
	}
	if fe := textguard.Check("comment", comment, textguard.Text); fe != nil {
		return Value{}, fault.Invalid(*fe)
	}
	var out Value
	var conflict *Value
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, sc, err := s.openCycle(tx, cycleID)
		if err != nil {
			return err
		}
		var cur Value
		err = tx.Where("id = ? AND cycle_id = ?", valueID, cycleID).Take(&cur).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("indicator value %s: %w", valueID, fault.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read indicator value: %w", err)
		}
		if cur.Version != version {
			conflict = &cur
			return errStale
		}
		if cur.Status != StatusSubmitted {
			return fault.With(fault.ErrConflict, fmt.Sprintf("only a submitted value can be reviewed; it is %s", cur.Status),
				fmt.Sprintf("只能审核已提交的数据（当前状态：%s）", cur.Status), map[string]any{"value_status": cur.Status})
		}
		if verify {
			if err := requireEvidence(tx, sc, cur); err != nil {
				return err
			}
		}
		status, action := StatusVerified, ActionVerify
		if !verify {
			status, action = StatusRejected, ActionReject
		}
		out, err = changeStatus(tx, by, cur, status, action, comment, &comment)
		return err
	})
	if errors.Is(err, errStale) {
		cur := *conflict
		rev := Revision{ValueID: cur.ID, Version: cur.Version, At: now(), UserID: by.UserID,
			Username: by.Username, Action: ActionConflict, OldNumber: cur.Number, NewNumber: cur.Number,
			OldNA: cur.NotApplicable, NewNA: cur.NotApplicable, OldNote: cur.Note, NewNote: cur.Note,
			OldStatus: cur.Status, NewStatus: cur.Status, Reason: comment}
		if err := s.db.WithContext(ctx).Create(&rev).Error; err != nil {
			return Value{}, fmt.Errorf("record conflict: %w", err)
		}
		return Value{}, fault.With(fault.ErrConflict, "stale version", "数据已被他人修改",
			map[string]any{"current_version": cur.Version, "current": cur})
	}
	return out, err
}

// requireEvidence refuses to verify a number that its indicator says
// must be backed by evidence when no file backs it.
func requireEvidence(tx *gorm.DB, sc scheme.Scheme, v Value) error {
	ind, ok := sc.Indicator(v.IndicatorCode)
	if !ok || !ind.EvidenceRequired || v.NotApplicable {
		return nil
	}
	var n int64
	if err := live(tx, v.CycleID, v.RegionCode, v.IndicatorCode).Count(&n).Error; err != nil {
		return fmt.Errorf("count evidence: %w", err)
	}
	if n == 0 {
		return fault.With(fault.ErrConflict, "indicator "+ind.Code+" needs an evidence file before it can be verified",
			"指标 "+ind.Code+" 须上传佐证材料后才能审核通过", map[string]any{"code": "evidence_required"})
	}
	return nil
}
