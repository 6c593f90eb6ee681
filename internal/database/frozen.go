package database

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// The frozen models of migrations 0001 to 0007: copies of the tables as
// each migration created them, never edited, so that a later change to a
// live model cannot change what an old migration does. Later migrations
// keep theirs in their own files.

// Frozen model of migration 0007.
type runReportV7 struct {
	RunID          string    `gorm:"primaryKey;size:36"`
	Run            *runV5    `gorm:"foreignKey:RunID;constraint:OnDelete:RESTRICT"`
	JobID          *string   `gorm:"size:36"`
	SHA256         string    `gorm:"column:sha256;size:64;not null"`
	Size           int64     `gorm:"not null"`
	RenderedAt     time.Time `gorm:"not null"`
	RunPublishedAt *time.Time
	Layout         string `gorm:"size:16777215;not null"`   // MEDIUMTEXT: where each region's page lies, as JSON
	Body           []byte `gorm:"size:4294967295;not null"` // LONGBLOB on MySQL: the HTML document
}

func (runReportV7) TableName() string { return "run_reports" }

// Frozen models of migration 0006.
type questionnaireV6 struct {
	ID        string  `gorm:"primaryKey;size:36"`
	Code      string  `gorm:"size:32;not null;uniqueIndex:idx_questionnaires_code_version,priority:1"`
	Version   int     `gorm:"not null;uniqueIndex:idx_questionnaires_code_version,priority:2"`
	Name      string  `gorm:"size:191;not null"`
	Body      string  `gorm:"size:1048576;not null"` // MEDIUMTEXT on MySQL
	Digest    string  `gorm:"size:64;not null"`
	CreatedBy *string `gorm:"size:36"`
	CreatedAt time.Time
}

func (questionnaireV6) TableName() string { return "questionnaires" }

type surveyProjectV6 struct {
	ID              string           `gorm:"primaryKey;size:36"`
	CycleID         string           `gorm:"size:36;not null;index"`
	Cycle           *cycleV2         `gorm:"constraint:OnDelete:RESTRICT"`
	OrganisationID  string           `gorm:"size:36;not null;index"`
	Organisation    *organisationV1  `gorm:"constraint:OnDelete:RESTRICT"`
	QuestionnaireID string           `gorm:"size:36;not null"`
	Questionnaire   *questionnaireV6 `gorm:"constraint:OnDelete:RESTRICT"`
	Name            string           `gorm:"size:191;not null"`
	Regions         string           `gorm:"size:1048576;not null"` // JSON: code, target, minimum
	FieldworkStart  time.Time        `gorm:"not null"`
	FieldworkEnd    time.Time        `gorm:"not null"`
	Thresholds      string           `gorm:"size:4096;not null"`
	Strata          string           `gorm:"size:4096;not null"`
	Mapping         string           `gorm:"size:65536;not null"`
	Status          string           `gorm:"size:16;not null;index"`
	StatusReason    string           `gorm:"size:1000;not null"`
	CreatedBy       string           `gorm:"size:36;not null"`
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (surveyProjectV6) TableName() string { return "survey_projects" }

type surveyBatchV6 struct {
	ID           string           `gorm:"primaryKey;size:36"`
	ProjectID    string           `gorm:"size:36;not null;index:idx_survey_batches_hash,priority:1"`
	Project      *surveyProjectV6 `gorm:"constraint:OnDelete:RESTRICT"`
	FileName     string           `gorm:"size:255;not null"`
	Format       string           `gorm:"size:8;not null"`
	SHA256       string           `gorm:"column:sha256;size:64;not null;index:idx_survey_batches_hash,priority:2"`
	Size         int64            `gorm:"not null"`
	Status       string           `gorm:"size:16;not null;index"`
	JobID        *string          `gorm:"size:36"`
	Replaces     *string          `gorm:"size:36"`
	ReplacedBy   *string          `gorm:"size:36"`
	Rows         int              `gorm:"not null"`
	ValidRows    int              `gorm:"not null"`
	ProblemCount int              `gorm:"not null"`
	Problems     string           `gorm:"size:16777215;not null"` // MEDIUMTEXT: the first problems, as JSON
	Error        string           `gorm:"size:1000;not null"`
	UploadedBy   string           `gorm:"size:36;not null"`
	CreatedAt    time.Time        `gorm:"not null"`
	ProcessedAt  *time.Time
	WithdrawnAt  *time.Time
	WithdrawnBy  string `gorm:"size:36;not null"`
}

func (surveyBatchV6) TableName() string { return "survey_batches" }

type surveyResponseV6 struct {
	ID             uint64     `gorm:"primaryKey;autoIncrement"`
	ProjectID      string     `gorm:"size:36;not null;index:idx_survey_responses_region,priority:1"`
	RegionCode     string     `gorm:"size:32;not null;index:idx_survey_responses_region,priority:2"`
	BatchID        string     `gorm:"size:36;not null;index"`
	RowNo          int        `gorm:"not null"`
	RespondentType string     `gorm:"size:32;not null"`
	RespondentID   string     `gorm:"size:128;not null"`
	ContactHash    string     `gorm:"size:64;not null"`
	Seconds        *float64   `gorm:""`
	SubmittedAt    *time.Time `gorm:""`
	Answers        string     `gorm:"size:255;not null"`
	Attention      int        `gorm:"not null"`
	Flags          int        `gorm:"not null"`
}

func (surveyResponseV6) TableName() string { return "survey_responses" }

type surveyIndexV6 struct {
	ProjectID  string    `gorm:"primaryKey;size:36"`
	RegionCode string    `gorm:"primaryKey;size:32"`
	Body       string    `gorm:"size:1048576;not null"` // quality.Index as JSON
	ComputedAt time.Time `gorm:"not null"`
}

func (surveyIndexV6) TableName() string { return "survey_indices" }

type indicatorValueV6 struct {
	ID      string   `gorm:"primaryKey;size:36"`
	CILower *float64 `gorm:"column:ci_lower"`
	CIUpper *float64 `gorm:"column:ci_upper"`
}

func (indicatorValueV6) TableName() string { return "indicator_values" }

// Frozen model of migration 0005.
type runV5 struct {
	ID            string    `gorm:"primaryKey;size:36"`
	CycleID       string    `gorm:"size:36;not null;index"`
	Cycle         *cycleV2  `gorm:"constraint:OnDelete:RESTRICT"`
	JobID         *string   `gorm:"size:36;uniqueIndex"` // null for a run made in process (demo)
	SchemeID      string    `gorm:"size:36;not null"`
	Scheme        *schemeV2 `gorm:"constraint:OnDelete:RESTRICT"`
	SchemeVersion int       `gorm:"not null"`
	EngineVersion string    `gorm:"size:16;not null"`
	Seed          int64     `gorm:"not null"`
	InputsHash    string    `gorm:"size:64;not null"`
	Inputs        string    `gorm:"size:4294967295;not null"` // LONGTEXT on MySQL
	ResultsHash   string    `gorm:"size:64;not null"`
	Results       string    `gorm:"size:4294967295;not null"`
	Sensitivity   string    `gorm:"size:4294967295;not null"`
	Regions       int       `gorm:"not null"`
	CreatedBy     string    `gorm:"size:36;not null"`
	CreatedAt     time.Time `gorm:"not null"`
	PublishedAt   *time.Time
	PublishedBy   string `gorm:"size:36;not null"`
}

func (runV5) TableName() string { return "runs" }

// Frozen model of migration 0004.
type evidenceV4 struct {
	ID            string    `gorm:"primaryKey;size:36"`
	CycleID       string    `gorm:"size:36;not null;index:idx_evidence_key,priority:1"`
	Cycle         *cycleV2  `gorm:"constraint:OnDelete:RESTRICT"`
	RegionCode    string    `gorm:"size:32;not null;index:idx_evidence_key,priority:2"`
	Region        *regionV1 `gorm:"foreignKey:RegionCode;references:Code;constraint:OnUpdate:CASCADE,OnDelete:RESTRICT"`
	IndicatorCode string    `gorm:"size:32;not null;index:idx_evidence_key,priority:3"`
	FileName      string    `gorm:"size:255;not null"`
	MediaType     string    `gorm:"size:127;not null"`
	Size          int64     `gorm:"not null"`
	SHA256        string    `gorm:"column:sha256;size:64;not null;index:idx_evidence_key,priority:4"`
	UploadedBy    string    `gorm:"size:36;not null"`
	UploadedAt    time.Time `gorm:"not null"`
	WithdrawnAt   *time.Time
	WithdrawnBy   string `gorm:"size:36;not null"`
}

func (evidenceV4) TableName() string { return "evidence_files" }

// Frozen models of migration 0003. UpdatedBy and UserID carry no foreign
// key, so that the CLI and system jobs can write values too.
type indicatorValueV3 struct {
	ID              string    `gorm:"primaryKey;size:36"`
	CycleID         string    `gorm:"size:36;not null;uniqueIndex:idx_indicator_values_key,priority:1"`
	Cycle           *cycleV2  `gorm:"constraint:OnDelete:RESTRICT"`
	RegionCode      string    `gorm:"size:32;not null;uniqueIndex:idx_indicator_values_key,priority:2;index"`
	Region          *regionV1 `gorm:"foreignKey:RegionCode;references:Code;constraint:OnUpdate:CASCADE,OnDelete:RESTRICT"`
	IndicatorCode   string    `gorm:"size:32;not null;uniqueIndex:idx_indicator_values_key,priority:3"`
	Number          *float64
	NotApplicable   bool   `gorm:"not null"`
	Note            string `gorm:"size:1000;not null"`
	Status          string `gorm:"size:16;not null;index"`
	ReviewerComment string `gorm:"size:1000;not null"`
	Version         int    `gorm:"not null"`
	UpdatedBy       string `gorm:"size:36;not null"`
	UpdatedAt       time.Time
	CreatedAt       time.Time
}

type indicatorValueRevisionV3 struct {
	ID        uint64            `gorm:"primaryKey;autoIncrement"`
	ValueID   string            `gorm:"size:36;not null;index"`
	Value     *indicatorValueV3 `gorm:"constraint:OnDelete:RESTRICT"`
	Version   int               `gorm:"not null"`
	At        time.Time         `gorm:"not null"`
	UserID    string            `gorm:"size:36;not null"`
	Username  string            `gorm:"size:64;not null"`
	Action    string            `gorm:"size:16;not null"`
	OldNumber *float64
	NewNumber *float64
	OldNA     bool   `gorm:"column:old_na;not null"`
	NewNA     bool   `gorm:"column:new_na;not null"`
	OldNote   string `gorm:"size:1000;not null"`
	NewNote   string `gorm:"size:1000;not null"`
	OldStatus string `gorm:"size:16;not null"`
	NewStatus string `gorm:"size:16;not null"`
	Reason    string `gorm:"size:1000;not null"`
}

func (indicatorValueV3) TableName() string         { return "indicator_values" }
func (indicatorValueRevisionV3) TableName() string { return "indicator_value_revisions" }

// Frozen models of migration 0002.
type schemeV2 struct {
	ID        string  `gorm:"primaryKey;size:36"`
	Code      string  `gorm:"size:64;not null;uniqueIndex:idx_schemes_code_version,priority:1"`
	Version   int     `gorm:"not null;uniqueIndex:idx_schemes_code_version,priority:2"`
	Name      string  `gorm:"size:191;not null"`
	Body      string  `gorm:"size:4194304;not null"` // MEDIUMTEXT on MySQL: a scheme may exceed TEXT's 64 KiB
	Digest    string  `gorm:"size:64;not null"`
	CreatedBy *string `gorm:"size:36"`
	CreatedAt time.Time
}

type cycleV2 struct {
	ID        string    `gorm:"primaryKey;size:36"`
	Year      int       `gorm:"not null;uniqueIndex"`
	Name      string    `gorm:"size:191;not null"`
	Status    string    `gorm:"size:16;not null;index"`
	SchemeID  *string   `gorm:"size:36;index"`
	Scheme    *schemeV2 `gorm:"constraint:OnDelete:RESTRICT"`
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (schemeV2) TableName() string { return "schemes" }
func (cycleV2) TableName() string  { return "cycles" }

// Frozen models of migration 0001.
type regionV1 struct {
	Code       string    `gorm:"primaryKey;size:32"`
	Name       string    `gorm:"size:128;not null"`
	Kind       string    `gorm:"size:32;not null;index"`
	ParentCode *string   `gorm:"size:32;index"`
	Parent     *regionV1 `gorm:"foreignKey:ParentCode;references:Code;constraint:OnUpdate:CASCADE,OnDelete:RESTRICT"`
	CreatedAt  time.Time
	UpdatedAt  time.Time
}
type organisationV1 struct {
	ID        string `gorm:"primaryKey;size:36"`
	Name      string `gorm:"size:191;not null;uniqueIndex"`
	Kind      string `gorm:"size:32;not null"`
	CreatedAt time.Time
	UpdatedAt time.Time
}
type userV1 struct {
	ID                string          `gorm:"primaryKey;size:36"`
	Username          string          `gorm:"size:64;not null;uniqueIndex"`
	DisplayName       string          `gorm:"size:128;not null"`
	Role              string          `gorm:"size:16;not null;index"`
	RegionCode        *string         `gorm:"size:32;index"`
	Region            *regionV1       `gorm:"foreignKey:RegionCode;references:Code;constraint:OnUpdate:CASCADE,OnDelete:RESTRICT"`
	OrganisationID    *string         `gorm:"size:36;index"`
	Organisation      *organisationV1 `gorm:"constraint:OnDelete:RESTRICT"`
	PasswordHash      string          `gorm:"size:255;not null"`
	PasswordChangedAt time.Time
	FailedLogins      int `gorm:"not null;default:0"`
	LockedUntil       *time.Time
	LastLoginAt       *time.Time
	Disabled          bool `gorm:"not null;default:false"`
	CreatedAt         time.Time
	UpdatedAt         time.Time
}
type apiTokenV1 struct {
	ID         string  `gorm:"primaryKey;size:36"`
	UserID     string  `gorm:"size:36;not null;index"`
	User       *userV1 `gorm:"constraint:OnDelete:CASCADE"`
	Name       string  `gorm:"size:100;not null"`
	Prefix     string  `gorm:"size:16;not null"`
	Hash       string  `gorm:"size:64;not null;uniqueIndex"`
	ExpiresAt  time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
	CreatedAt  time.Time
}
type sessionV1 struct {
	ID         string  `gorm:"primaryKey;size:64"`
	UserID     string  `gorm:"size:36;not null;index"`
	User       *userV1 `gorm:"constraint:OnDelete:CASCADE"`
	CSRFToken  string  `gorm:"column:csrf_token;size:64;not null"`
	ClientIP   string  `gorm:"size:64;not null"`
	UserAgent  string  `gorm:"size:255;not null"`
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time `gorm:"index"`
}
type cycleV1 struct {
	ID        string `gorm:"primaryKey;size:36"`
	Year      int    `gorm:"not null;uniqueIndex"`
	Name      string `gorm:"size:191;not null"`
	Status    string `gorm:"size:16;not null;index"`
	CreatedAt time.Time
	UpdatedAt time.Time
}
type jobV1 struct {
	ID          string  `gorm:"primaryKey;size:36"`
	Kind        string  `gorm:"size:64;not null;index"`
	Payload     string  `gorm:"type:text;not null"`
	Status      string  `gorm:"size:16;not null;index:idx_jobs_status_updated,priority:1"`
	Progress    int     `gorm:"not null;default:0"`
	Message     string  `gorm:"size:500;not null;default:''"`
	Attempts    int     `gorm:"not null;default:0"`
	Result      string  `gorm:"type:text;not null"`
	Error       string  `gorm:"size:1000;not null;default:''"`
	CreatedBy   *string `gorm:"size:36;index"`
	Creator     *userV1 `gorm:"foreignKey:CreatedBy;constraint:OnDelete:SET NULL"`
	CreatedAt   time.Time
	UpdatedAt   time.Time `gorm:"index:idx_jobs_status_updated,priority:2"`
	StartedAt   *time.Time
	FinishedAt  *time.Time
	HeartbeatAt *time.Time
}
type auditEntryV1 struct {
	ID        uint64    `gorm:"primaryKey;autoIncrement"`
	At        time.Time `gorm:"not null;index"`
	UserID    string    `gorm:"size:36;not null;index"`
	Username  string    `gorm:"size:64;not null"`
	Role      string    `gorm:"size:16;not null"`
	Action    string    `gorm:"size:64;not null;index"`
	Object    string    `gorm:"size:191;not null;index"`
	Result    string    `gorm:"size:16;not null"`
	Status    int       `gorm:"not null"`
	ClientIP  string    `gorm:"size:64;not null"`
	RequestID string    `gorm:"size:64;not null"`
	Detail    string    `gorm:"size:1000;not null"`
}

func (regionV1) TableName() string       { return "regions" }
func (organisationV1) TableName() string { return "organisations" }
func (userV1) TableName() string         { return "users" }
func (apiTokenV1) TableName() string     { return "api_tokens" }
func (sessionV1) TableName() string      { return "sessions" }
func (cycleV1) TableName() string        { return "cycles" }
func (jobV1) TableName() string          { return "jobs" }
func (auditEntryV1) TableName() string   { return "audit_log" }

// appendOnly installs triggers that refuse UPDATE and DELETE on table, so
// that not even a bug in ipeval can rewrite history. Each trigger is dropped
// first: MySQL runs DDL outside transactions, so a migration interrupted
// between the two statements must be able to run again.
func appendOnly(tx *gorm.DB, table string) error {
	for _, op := range []string{"UPDATE", "DELETE"} {
		name := fmt.Sprintf("%s_no_%s", table, strings.ToLower(op))
		create := fmt.Sprintf("CREATE TRIGGER %s BEFORE %s ON %s BEGIN SELECT RAISE(ABORT, '%s is append-only'); END",
			name, op, table, table)
		if tx.Dialector.Name() == MySQL {
			create = fmt.Sprintf("CREATE TRIGGER %s BEFORE %s ON %s FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '%s is append-only'",
				name, op, table, table)
		}
		for _, stmt := range []string{"DROP TRIGGER IF EXISTS " + name, create} {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("append-only trigger on %s: %w", table, err)
			}
		}
	}
	return nil
}
