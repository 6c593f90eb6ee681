package indicators

import (
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
	items := make([]ValueInput, len(vals))
	for i, sv := range vals {
		items[i].RegionCode = sv.RegionCode
	}
	kinds, err := regionKinds(tx, items)
	if err != nil {
		return nil, err
	}
	var codes []string
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
			if err := setSurveyValue(tx, by, cycleID, ind.Code, sv); err != nil {
				return nil, err
			}
		}
	}
	return codes, nil
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
