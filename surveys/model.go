package surveys

import (
	"time"

	"github.com/ipeval/ipeval/surveys/quality"
	"github.com/ipeval/ipeval/surveys/questionnaire"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

// StoredQuestionnaire is a questionnaire document as stored: immutable,
// versioned by code, so that a project always scores its answers with the
// instrument they were collected with.
type StoredQuestionnaire struct {
	ID        string    `json:"id" gorm:"primaryKey"`
	Code      string    `json:"code"`
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	Body      string    `json:"-"`
	Digest    string    `json:"digest"`
	CreatedBy *string   `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Questionnaire is Body decoded; filled by the store's readers.
	Questionnaire questionnaire.Questionnaire `json:"questionnaire" gorm:"-"`
}

// TableName is the questionnaires table of migration 0006.
func (StoredQuestionnaire) TableName() string { return "questionnaires" }

// ProjectStatus is where a survey project is in its life.
type ProjectStatus string

// Project statuses. A contractor uploads while the project is open or
// returned, and submits it; an admin accepts or returns a submitted
// project, and locks an accepted one for good.
const (
	ProjectOpen      ProjectStatus = "open"
	ProjectSubmitted ProjectStatus = "submitted"
	ProjectAccepted  ProjectStatus = "accepted"
	ProjectReturned  ProjectStatus = "returned"
	ProjectLocked    ProjectStatus = "locked"
)

// ProjectRegion is one region a project surveys, with its sample targets.
type ProjectRegion struct {
	Code string `json:"code"`
	// Target is the sample the contractor aims for; Minimum the valid
	// sample below which the region's index is flagged insufficient.
	Target  int `json:"target"`
	Minimum int `json:"minimum"`
}

// Project is a survey commissioned from a contractor organisation for a
// cycle. The JSON-valued columns are decoded into the fields below them.
type Project struct {
	ID              string        `json:"id" gorm:"primaryKey"`
	CycleID         string        `json:"cycle_id"`
	OrganisationID  string        `json:"organisation_id"`
	QuestionnaireID string        `json:"questionnaire_id"`
	Name            string        `json:"name"`
	FieldworkStart  time.Time     `json:"fieldwork_start"`
	FieldworkEnd    time.Time     `json:"fieldwork_end"`
	Status          ProjectStatus `json:"status"`
	StatusReason    string        `json:"status_reason"`
	CreatedBy       string        `json:"created_by"`
	CreatedAt       time.Time     `json:"created_at"`
	UpdatedAt       time.Time     `json:"updated_at"`

	RegionsJSON    string `json:"-" gorm:"column:regions"`
	ThresholdsJSON string `json:"-" gorm:"column:thresholds"`
	StrataJSON     string `json:"-" gorm:"column:strata"`
	MappingJSON    string `json:"-" gorm:"column:mapping"`

	Regions    []ProjectRegion    `json:"regions" gorm:"-"`
	Thresholds quality.Thresholds `json:"thresholds" gorm:"-"`
	// Strata are the population shares per respondent type used to weight
	// the index; empty means unweighted.
	Strata  map[string]float64   `json:"strata" gorm:"-"`
	Mapping responsefile.Mapping `json:"mapping" gorm:"-"`
}

// TableName is the survey_projects table of migration 0006.
func (Project) TableName() string { return "survey_projects" }

// BatchStatus is where an uploaded batch is.
type BatchStatus string

// Batch statuses. A batch is queued until its job starts reading it, and
// loading while the job stores its responses; then it is imported whole
// (valid) or not at all (invalid, with its problems, or failed, when the
// file could not be read). Only a valid batch's responses are read: those
// of a loading batch are not yet, and are deleted if it is refused. A
// valid batch can be withdrawn or replaced by a later one until its
// project is accepted.
const (
	BatchQueued    BatchStatus = "queued"
	BatchLoading   BatchStatus = "loading"
	BatchValid     BatchStatus = "valid"
	BatchInvalid   BatchStatus = "invalid"
	BatchFailed    BatchStatus = "failed"
	BatchWithdrawn BatchStatus = "withdrawn"
	BatchReplaced  BatchStatus = "replaced"
)

// Batch is one uploaded file of responses.
type Batch struct {
	ID           string      `json:"id" gorm:"primaryKey"`
	ProjectID    string      `json:"project_id"`
	FileName     string      `json:"file_name"`
	Format       string      `json:"format"`
	SHA256       string      `json:"sha256" gorm:"column:sha256"`
	Size         int64       `json:"size"`
	Status       BatchStatus `json:"status"`
	JobID        *string     `json:"job_id"`
	Replaces     *string     `json:"replaces"`
	ReplacedBy   *string     `json:"replaced_by"`
	Rows         int         `json:"rows"`
	ValidRows    int         `json:"valid_rows"`
	ProblemCount int         `json:"problem_count"`
	// Problems are the first problems found (row, column, code, message),
	// as JSON; the full report is a download.
	Problems   string    `json:"-"`
	Error      string    `json:"error"`
	UploadedBy string    `json:"uploaded_by"`
	CreatedAt  time.Time `json:"created_at"`
	// ProcessedAt is when the batch was read; while it is loading, when
	// the attempt reading it started, which is also that attempt's claim
	// on the batch.
	ProcessedAt *time.Time `json:"processed_at"`
	WithdrawnAt *time.Time `json:"withdrawn_at"`
	WithdrawnBy string     `json:"withdrawn_by"`

	// PurgedAt is when the file of a refused, withdrawn or replaced batch
	// was removed, after the retention period (package retention); the
	// batch and its report stay.
	PurgedAt *time.Time `json:"purged_at,omitempty"`
}

// TableName is the survey_batches table of migration 0006.
func (Batch) TableName() string { return "survey_batches" }

// response is one stored answer sheet. Answers keep one character per
// questionnaire item ('0' unanswered, then '1'…'9', ':' and ';' for 10 and
// 11), compact enough for millions of rows and read back without parsing.
type response struct {
	ID             uint64 `gorm:"primaryKey"`
	ProjectID      string
	RegionCode     string
	BatchID        string
	RowNo          int
	RespondentType string
	RespondentID   string
	ContactHash    string
	Seconds        *float64
	SubmittedAt    *time.Time
	Answers        string
	Attention      int
	Flags          int
}

func (response) TableName() string { return "survey_responses" }

// storedIndex is a region's computed index and quality summary.
type storedIndex struct {
	ProjectID  string `gorm:"primaryKey"`
	RegionCode string `gorm:"primaryKey"`
	Body       string
	ComputedAt time.Time
}

func (storedIndex) TableName() string { return "survey_indices" }

// RegionIndex is one region's satisfaction index and quality summary in a
// project.
type RegionIndex struct {
	ProjectID  string    `json:"project_id"`
	RegionCode string    `json:"region_code"`
	RegionName string    `json:"region_name"`
	Target     int       `json:"target"`
	ComputedAt time.Time `json:"computed_at"`
	quality.Index
}
