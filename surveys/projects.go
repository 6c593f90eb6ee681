package surveys

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/textguard"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/surveys/quality"
	"github.com/ipeval/ipeval/surveys/questionnaire"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

// Default sample sizes of a project region: DESIGN.md leaves them to the
// province; 400 respondents give a margin of error of about ±5 points on a
// 0–100 index with the spread seen in service ratings.
const (
	DefaultTarget  = 400
	DefaultMinimum = 100
)

// dateLayout is how fieldwork dates travel: calendar days in China time.
const dateLayout = "2006-01-02"

// ProjectInput is what an admin gives to commission a survey.
type ProjectInput struct {
	OrganisationID string `json:"organisation_id"`
	// QuestionnaireID defaults to the latest version of the default
	// questionnaire.
	QuestionnaireID string `json:"questionnaire_id,omitempty"`
	Name            string `json:"name"`
	// Regions default to every assessed region, each with Target and
	// Minimum.
	Regions []ProjectRegion `json:"regions,omitempty"`
	Target  int             `json:"target,omitempty"`
	Minimum int             `json:"minimum,omitempty"`
	// FieldworkStart and FieldworkEnd are days (2006-01-02), both included.
	FieldworkStart string              `json:"fieldwork_start"`
	FieldworkEnd   string              `json:"fieldwork_end"`
	Thresholds     *quality.Thresholds `json:"thresholds,omitempty"`
	Strata         map[string]float64  `json:"strata,omitempty"`
}

// CreateProject commissions a survey of a cycle from a contractor
// organisation (admins only). Every problem of the input is reported at
// once, by field.
func (s *Store) CreateProject(ctx context.Context, by auth.Principal, cycleID string, in ProjectInput) (Project, error) {
	if !by.Is(auth.RoleAdmin) {
		return Project{}, forbidden()
	}
	db := s.db.WithContext(ctx)
	var c cycles.Cycle
	if err := db.Where("id = ?", cycleID).Take(&c).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Project{}, fmt.Errorf("cycle %s: %w", cycleID, fault.ErrNotFound)
		}
		return Project{}, fmt.Errorf("get cycle: %w", err)
	}
	if c.Status == cycles.Published || c.Status == cycles.Archived {
		return Project{}, fault.With(fault.ErrConflict, fmt.Sprintf("the cycle is %s: no new surveys", c.Status),
			fmt.Sprintf("考核周期已%s，不能再新建调查项目", c.Status), map[string]any{"cycle_status": c.Status})
	}
	// The default questionnaire is checked as a document and stored only
	// once the input is accepted: a refused input stores nothing.
	var sq StoredQuestionnaire
	var err error
	if in.QuestionnaireID == "" {
		def := questionnaire.Default()
		sq = StoredQuestionnaire{Code: def.Code, Questionnaire: def}
	} else {
		sq, err = getQuestionnaire(db, in.QuestionnaireID)
		if errors.Is(err, fault.ErrNotFound) {
			return Project{}, fault.Invalid(fault.Field("questionnaire_id", "unknown_questionnaire", "问卷不存在", "no such questionnaire"))
		}
		if err != nil {
			return Project{}, err
		}
	}
	p, err := s.checkProject(db, in, sq.Questionnaire)
	if err != nil {
		return Project{}, err
	}
	if err := feedsScheme(db, c, sq.Code); err != nil {
		return Project{}, err
	}
	if in.QuestionnaireID == "" {
		if sq, err = s.EnsureQuestionnaire(ctx, sq.Questionnaire); err != nil {
			return Project{}, err
		}
	}
	p.ID, p.CycleID, p.QuestionnaireID = uuid.Must(uuid.NewV7()).String(), cycleID, sq.ID
	p.Status, p.CreatedBy = ProjectOpen, by.UserID
	p.CreatedAt = now()
	p.UpdatedAt = p.CreatedAt
	if err := p.encode(); err != nil {
		return Project{}, err
	}
	if err := db.Create(&p).Error; err != nil {
		return Project{}, fmt.Errorf("create survey project: %w", err)
	}
	return p, nil
}

// feedsScheme requires the cycle's scheme to take values from the
// questionnaire: otherwise accepting the survey could write nothing.
func feedsScheme(db *gorm.DB, c cycles.Cycle, code string) error {
	if c.SchemeID == nil {
		return fault.With(fault.ErrConflict, "the cycle has no scheme yet", "考核周期尚未指定评价方案",
			map[string]any{"cycle_status": c.Status})
	}
	var st indicators.StoredScheme
	if err := db.Where("id = ?", *c.SchemeID).Take(&st).Error; err != nil {
		return fmt.Errorf("get scheme of cycle: %w", err)
	}
	sc, err := indicators.NewSchemeStore(db).Decode(st)
	if err != nil {
		return err
	}
	for _, ind := range sc.Indicators {
		if ind.Source == scheme.SourceSurveyPrefix+code {
			return nil
		}
	}
	return fault.Invalid(fault.Field("questionnaire_id", "not_in_scheme",
		fmt.Sprintf("考核周期的评价方案没有取自问卷 %s 的指标", code),
		fmt.Sprintf("the cycle's scheme has no indicator with source survey:%s", code)))
}

// checkProject validates in and returns the project it describes, without
// ids.
func (s *Store) checkProject(db *gorm.DB, in ProjectInput, q questionnaire.Questionnaire) (Project, error) {
	var errs []fault.FieldError
	bad := func(field, code, zh, en string) { errs = append(errs, fault.Field(field, code, zh, en)) }
	p := Project{Name: strings.TrimSpace(in.Name), OrganisationID: in.OrganisationID, Strata: in.Strata,
		Thresholds: quality.DefaultThresholds(), Mapping: responsefile.Mapping{Columns: map[string]string{}}}
	if p.Name == "" || len([]rune(p.Name)) > 120 {
		bad("name", "invalid_name", "项目名称不能为空，且不超过 120 字", "the name is required, at most 120 characters")
	}
	errs = append(errs, textguard.Fields(textguard.Line, "name", p.Name)...)
	var org auth.Organisation
	switch err := db.Where("id = ?", in.OrganisationID).Take(&org).Error; {
	case errors.Is(err, gorm.ErrRecordNotFound) || in.OrganisationID == "":
		bad("organisation_id", "unknown_organisation", "机构不存在", "no such organisation")
	case err != nil:
		return Project{}, fmt.Errorf("get organisation: %w", err)
	case org.Kind != auth.OrgKindContractor:
		bad("organisation_id", "not_contractor", "只能委托第三方调查机构", "the organisation is not a survey contractor")
	}
	start, err1 := time.ParseInLocation(dateLayout, in.FieldworkStart, china())
	end, err2 := time.ParseInLocation(dateLayout, in.FieldworkEnd, china())
	switch {
	case err1 != nil:
		bad("fieldwork_start", "invalid_date", "日期格式应为 YYYY-MM-DD", "a date must read YYYY-MM-DD")
	case err2 != nil:
		bad("fieldwork_end", "invalid_date", "日期格式应为 YYYY-MM-DD", "a date must read YYYY-MM-DD")
	case end.Before(start):
		bad("fieldwork_end", "end_before_start", "调查结束日期早于开始日期", "fieldwork ends before it starts")
	}
	p.FieldworkStart, p.FieldworkEnd = start.UTC(), end.UTC()
	if in.Thresholds != nil {
		p.Thresholds = *in.Thresholds
		if err := p.Thresholds.Validate(); err != nil {
			errs = append(errs, prefixed("thresholds.", err)...)
		}
	}
	if err := (quality.Options{Strata: in.Strata}).Validate(q); err != nil {
		errs = append(errs, prefixed("", err)...)
	}
	target, minimum := cmp.Or(in.Target, DefaultTarget), cmp.Or(in.Minimum, DefaultMinimum)
	if minimum < 1 || target < minimum {
		bad("minimum", "invalid_sample", "最低样本量须至少为 1，且不大于目标样本量", "the minimum sample must be at least 1 and at most the target")
	}
	var assessed []regions.Region
	if err := db.Scopes(regions.Assessed).Order("code").Find(&assessed).Error; err != nil {
		return Project{}, fmt.Errorf("list regions: %w", err)
	}
	known := map[string]bool{}
	for _, r := range assessed {
		known[r.Code] = true
	}
	if len(in.Regions) == 0 {
		for _, r := range assessed {
			p.Regions = append(p.Regions, ProjectRegion{Code: r.Code, Target: target, Minimum: minimum})
		}
	}
	seen := map[string]bool{}
	for i, r := range in.Regions {
		field := fmt.Sprintf("regions[%d]", i)
		r.Code = strings.TrimSpace(r.Code)
		r.Target, r.Minimum = cmp.Or(r.Target, target), cmp.Or(r.Minimum, minimum)
		switch {
		case !known[r.Code]:
			bad(field+".code", "unknown_region", "不是参评地区："+r.Code, "not an assessed region: "+r.Code)
		case seen[r.Code]:
			bad(field+".code", "duplicate_region", "地区重复："+r.Code, "region listed twice: "+r.Code)
		}
		if r.Minimum < 1 || r.Target < r.Minimum {
			bad(field, "invalid_sample", "最低样本量须至少为 1，且不大于目标样本量", "the minimum sample must be at least 1 and at most the target")
		}
		seen[r.Code] = true
		p.Regions = append(p.Regions, r)
	}
	if len(p.Regions) == 0 {
		bad("regions", "no_regions", "项目须至少包含一个地区", "a project needs at least one region")
	}
	return p, fault.Invalid(errs...)
}

// prefixed returns the field errors of a validation error, their fields
// prefixed; any other error becomes one problem.
func prefixed(prefix string, err error) []fault.FieldError {
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		return []fault.FieldError{fault.Field(prefix, "invalid", err.Error(), err.Error())}
	}
	out := slices.Clone(ve.Errors)
	for i := range out {
		out[i].Field = prefix + out[i].Field
	}
	return out
}

// china is the zone fieldwork days are counted in.
func china() *time.Location { return time.FixedZone("CST", 8*3600) }

// encode writes the JSON-valued columns from their fields.
func (p *Project) encode() error {
	for _, c := range []struct {
		dst *string
		v   any
	}{{&p.RegionsJSON, p.Regions}, {&p.ThresholdsJSON, p.Thresholds}, {&p.StrataJSON, p.Strata}, {&p.MappingJSON, p.Mapping}} {
		b, err := json.Marshal(c.v)
		if err != nil {
			return fmt.Errorf("encode survey project: %w", err)
		}
		*c.dst = string(b)
	}
	return nil
}

// decode fills the fields from the JSON-valued columns.
func (p *Project) decode() error {
	for _, c := range []struct {
		src string
		v   any
	}{{p.RegionsJSON, &p.Regions}, {p.ThresholdsJSON, &p.Thresholds}, {p.StrataJSON, &p.Strata}, {p.MappingJSON, &p.Mapping}} {
		if err := json.Unmarshal([]byte(c.src), c.v); err != nil {
			return fmt.Errorf("decode survey project %s: %w", p.ID, err)
		}
	}
	if p.Mapping.Columns == nil {
		p.Mapping.Columns = map[string]string{}
	}
	return nil
}

// ListProjects returns the projects the caller may see, newest first:
// every project for admins, their organisation's for contractors. cycleID
// narrows the list when not empty.
func (s *Store) ListProjects(ctx context.Context, by auth.Principal, cycleID string) ([]Project, error) {
	q := s.db.WithContext(ctx).Order("created_at DESC, id")
	switch {
	case by.Is(auth.RoleAdmin):
	case by.Is(auth.RoleContractor) && by.OrganisationID != "":
		q = q.Where("organisation_id = ?", by.OrganisationID)
	default:
		return nil, forbidden()
	}
	if cycleID != "" {
		q = q.Where("cycle_id = ?", cycleID)
	}
	var out []Project
	if err := q.Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list survey projects: %w", err)
	}
	for i := range out {
		if err := out[i].decode(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ProjectView is a project with its questionnaire, as its contractor and
// the admins see it.
type ProjectView struct {
	Project
	Questionnaire StoredQuestionnaire `json:"questionnaire"`
}

// GetProject returns a project the caller may see, with its questionnaire.
func (s *Store) GetProject(ctx context.Context, by auth.Principal, id string) (ProjectView, error) {
	db := s.db.WithContext(ctx)
	p, err := getProject(db, by, id)
	if err != nil {
		return ProjectView{}, err
	}
	sq, err := getQuestionnaire(db, p.QuestionnaireID)
	if err != nil {
		return ProjectView{}, err
	}
	return ProjectView{Project: p, Questionnaire: sq}, nil
}

// getProject reads a project and checks that by may see it: admins any,
// contractors their organisation's. Another organisation's project is not
// found, with the very error of a missing one, so that a contractor cannot
// tell which ids exist (TestProbe07ExistenceOracle).
func getProject(db *gorm.DB, by auth.Principal, id string) (Project, error) {
	if !by.Is(auth.RoleAdmin, auth.RoleContractor) {
		return Project{}, forbidden()
	}
	notFound := fmt.Errorf("survey project %s: %w", id, fault.ErrNotFound)
	var p Project
	if err := db.Where("id = ?", id).Take(&p).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return p, notFound
		}
		return p, fmt.Errorf("get survey project: %w", err)
	}
	if !by.CanAccessOrganisation(p.OrganisationID) {
		return Project{}, notFound
	}
	return p, p.decode()
}

// lockProject starts a write on a project: the no-op UPDATEs take the
// row locks of its cycle and then of the project (the database lock on
// SQLite) before anything is read, so that uploads, withdrawals and
// transitions of one project queue behind each other, and a transition
// of the cycle waits for them (see editable).
func lockProject(tx *gorm.DB, by auth.Principal, id string) (Project, error) {
	if err := lockCycleOf(tx, "SELECT cycle_id FROM survey_projects WHERE id = ?", id); err != nil {
		return Project{}, err
	}
	if err := tx.Exec("UPDATE survey_projects SET status = status WHERE id = ?", id).Error; err != nil {
		return Project{}, fmt.Errorf("lock survey project: %w", err)
	}
	return getProject(tx, by, id)
}

// SetMapping saves the column mapping used to read the project's uploads,
// while the contractor may still upload.
func (s *Store) SetMapping(ctx context.Context, by auth.Principal, id string, m responsefile.Mapping) (Project, error) {
	var p Project
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var err error
		if p, err = lockProject(tx, by, id); err != nil {
			return err
		}
		if err := editable(tx, p); err != nil {
			return err
		}
		sq, err := getQuestionnaire(tx, p.QuestionnaireID)
		if err != nil {
			return err
		}
		if m.Columns == nil {
			m.Columns = map[string]string{}
		}
		if err := m.Validate(sq.Questionnaire); err != nil {
			return err
		}
		p.Mapping = m
		if err := p.encode(); err != nil {
			return err
		}
		p.UpdatedAt = now()
		return tx.Model(&Project{}).Where("id = ?", id).
			Updates(map[string]any{"mapping": p.MappingJSON, "updated_at": p.UpdatedAt}).Error
	})
	return p, err
}

// uploadable refuses a change of a project's data once it is accepted:
// until then the contractor may upload, withdraw and replace batches, even
// while the project is submitted (acceptance takes the data as they are
// at that moment, under the project's lock).
func uploadable(p Project) error {
	if p.Status == ProjectOpen || p.Status == ProjectSubmitted || p.Status == ProjectReturned {
		return nil
	}
	return projectConflict(p, "the project's data are final once it is accepted", "项目已验收，数据不能再上传、撤回或修改")
}

// Editable reports whether the project's survey data may change now:
// uploads, withdrawals, replacements and submission, by the project's status
// and its cycle's (editable), so that a page offers only what the store
// would accept.
func (s *Store) Editable(ctx context.Context, p Project) bool {
	return editable(s.db.WithContext(ctx), p) == nil
}

// Submittable reports whether the project's status lets it be submitted
// for acceptance: open or returned. Whether it has the data to be is
// checked when it is submitted.
func (p Project) Submittable() bool { return p.Status == ProjectOpen || p.Status == ProjectReturned }

func projectConflict(p Project, en, zh string) error {
	return fault.With(fault.ErrConflict, fmt.Sprintf("%s: the survey project is %s", en, p.Status),
		fmt.Sprintf("%s（项目状态：%s）", zh, p.Status), map[string]any{"project_status": p.Status})
}

// regionCodes lists a project's region codes in order.
func (p Project) regionCodes() []string {
	out := make([]string, len(p.Regions))
	for i, r := range p.Regions {
		out[i] = r.Code
	}
	return out
}
