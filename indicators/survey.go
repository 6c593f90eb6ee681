package indicators

import (
	"context"
	"fmt"
	"math"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/indicators/scheme"
)

// SurveyValue is one region's satisfaction index, to be stored as the value
// of every indicator sourced from the questionnaire that measured it.
type SurveyValue struct {
	RegionCode       string
	Number           float64
	CILower, CIUpper float64
	Note             string
}

// SetSurveyTx stores the indices of an accepted survey project as the
// values of the cycle's indicators with source "survey:<questionnaire>",
// within tx, the caller's transaction accepting the project. Survey values
// skip the review workflow: they arrive verified, with their confidence
// interval, and each change is a "survey" revision. A region missing from
// vals keeps what it has (a value from an earlier survey of the cycle, if
// any): acceptance adds evidence, it never erases it. Only admins accept
// surveys, and only while the cycle is collecting. It returns the codes of
// the indicators written, none when the cycle's scheme takes nothing from
// this questionnaire.
func (s *ValueStore) SetSurveyTx(tx *gorm.DB, by auth.Principal, cycleID, questionnaire string, vals []SurveyValue) ([]string, error) {
	if !by.Is(auth.RoleAdmin) {
		return nil, forbidden()
	}
	_, sc, err := s.openCycle(tx, cycleID)
	if err != nil {
		return nil, err
	}
	codes, writes, err := surveyWrites(tx, sc, questionnaire, vals)
	if err != nil {
		return nil, err
	}
	for _, w := range writes {
		if err := setSurveyValue(tx, by, cycleID, w.Indicator, w.SurveyValue); err != nil {
			return nil, err
		}
	}
	return codes, nil
}

// SurveyWrite is one value that accepting a survey writes: a region's
// index as the value of one survey-sourced indicator.
type SurveyWrite struct {
	Indicator string
	SurveyValue
	// Current is the value it replaces, if any.
	Current *Value
}

// surveyWrites lists what SetSurveyTx writes of vals under the cycle's
// scheme sc, indicator by indicator, and the codes of the indicators that
// take values from the questionnaire. SetSurveyTx and SurveyPreview share
// it, so that the preview an admin reads is what acceptance writes.
func surveyWrites(tx *gorm.DB, sc scheme.Scheme, questionnaire string, vals []SurveyValue) ([]string, []SurveyWrite, error) {
	items := make([]ValueInput, len(vals))
	for i, sv := range vals {
		items[i].RegionCode = sv.RegionCode
	}
	kinds, err := regionKinds(tx, items)
	if err != nil {
		return nil, nil, err
	}
	var codes []string
	var out []SurveyWrite
	for _, ind := range sc.Indicators {
		if ind.Source != scheme.SourceSurveyPrefix+questionnaire {
			continue
		}
		codes = append(codes, ind.Code)
		for _, sv := range vals {
			// As for hand entry: no value where the indicator does not apply.
			if !sc.AppliesTo(ind, kinds[sv.RegionCode]) {
				continue
			}
			out = append(out, SurveyWrite{Indicator: ind.Code, SurveyValue: sv})
		}
	}
	return codes, out, nil
}

// SurveyPreview returns, without writing anything, what SetSurveyTx would
// write of vals into the cycle now, each with the value it replaces: the
// confirmation an admin reads before accepting a survey. It reads the
// cycle in any state; acceptance itself still requires collection open.
func (s *ValueStore) SurveyPreview(ctx context.Context, by auth.Principal, cycleID, questionnaire string, vals []SurveyValue) ([]SurveyWrite, error) {
	if !by.Is(auth.RoleAdmin) {
		return nil, forbidden()
	}
	db := s.db.WithContext(ctx)
	c, err := getCycle(db, cycleID)
	if err != nil {
		return nil, err
	}
	sc, err := s.cycleScheme(db, c)
	if err != nil {
		return nil, err
	}
	_, writes, err := surveyWrites(db, sc, questionnaire, vals)
	if err != nil {
		return nil, err
	}
	for i, w := range writes {
		cur, found, err := findValue(db, cycleID, w.RegionCode, w.Indicator)
		if err != nil {
			return nil, err
		}
		if found {
			writes[i].Current = &cur
		}
	}
	return writes, nil
}

func setSurveyValue(tx *gorm.DB, by auth.Principal, cycleID, code string, sv SurveyValue) error {
	if math.IsNaN(sv.Number) || math.IsInf(sv.Number, 0) {
		return fmt.Errorf("survey value of %s is not a number", sv.RegionCode)
	}
	num, lo, hi := sv.Number, sv.CILower, sv.CIUpper
	cur, found, err := findValue(tx, cycleID, sv.RegionCode, code)
	if err != nil {
		return err
	}
	at := now()
	rev := Revision{At: at, UserID: by.UserID, Username: by.Username, Action: ActionSurvey,
		NewNumber: &num, NewNote: sv.Note, NewStatus: StatusVerified}
	if !found {
		v := Value{ID: uuid.Must(uuid.NewV7()).String(), CycleID: cycleID, RegionCode: sv.RegionCode,
			IndicatorCode: code, Number: &num, CILower: &lo, CIUpper: &hi, Note: sv.Note, Status: StatusVerified,
			Version: 1, UpdatedBy: by.UserID, UpdatedAt: at, CreatedAt: at}
		rev.ValueID, rev.Version = v.ID, 1
		if err := tx.Create(&v).Error; err != nil {
			return fmt.Errorf("create survey value: %w", err)
		}
		return recordRevision(tx, rev)
	}
	if cur.Number != nil && *cur.Number == num && !cur.NotApplicable && cur.Status == StatusVerified &&
		eqPtr(cur.CILower, lo) && eqPtr(cur.CIUpper, hi) && cur.Note == sv.Note {
		return nil
	}
	rev.ValueID, rev.Version = cur.ID, cur.Version+1
	rev.OldNumber, rev.OldNA, rev.OldNote, rev.OldStatus = cur.Number, cur.NotApplicable, cur.Note, cur.Status
	ok, err := update(tx, cur, map[string]any{"number": num, "not_applicable": false, "ci_lower": lo, "ci_upper": hi,
		"note": sv.Note, "status": StatusVerified, "version": cur.Version + 1, "updated_by": by.UserID, "updated_at": at})
	if err != nil {
		return err
	}
	if !ok {
		// Impossible under the cycle lock, as in writeItems.
		return fmt.Errorf("survey value of %s changed under the cycle lock", sv.RegionCode)
	}
	return recordRevision(tx, rev)
}

func recordRevision(tx *gorm.DB, rev Revision) error {
	if err := tx.Create(&rev).Error; err != nil {
		return fmt.Errorf("record revision: %w", err)
	}
	return nil
}

func eqPtr(p *float64, x float64) bool { return p != nil && *p == x }
