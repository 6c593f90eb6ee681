// Package responsefile reads the files of survey responses that third-party
// contractors upload, and writes the templates and validation reports that go
// with them.
//
// Contractors export from whatever tool they fielded the survey with
// (问卷星/Wenjuanxing, LimeSurvey, KoboToolbox, ODK, a call centre's
// spreadsheet), so the reader does not insist on its own template: it
// resolves the header row through the project's saved column mapping first
// and then by matching item codes, item texts and the usual metadata column
// names of those tools. Files run to a million rows, so Read streams: it
// holds one row at a time, reuses its buffers, and hands each valid row to
// the caller, which stores a batch atomically.
//
// It is file-format code only: no database or HTTP. Problems with single
// rows are counted and listed in the Summary (Chinese first, English
// beside); a file that cannot be read at all is an error.
package responsefile

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// File formats. The format is chosen by the caller from the upload's name
// (FormatOf) and then checked against the content, so that a workbook
// renamed to .csv is refused rather than read as garbage.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
)

// FormatOf returns the format for an upload's file name (by extension,
// case-insensitive), so that an unsupported file is refused before any
// byte of it is read.
func FormatOf(name string) (string, error) {
	switch ext := strings.ToLower(path.Ext(strings.ReplaceAll(name, `\`, "/"))); ext {
	case ".csv":
		return FormatCSV, nil
	case ".xlsx":
		return FormatXLSX, nil
	case ".xls", ".et":
		return "", fault.With(fault.ErrUnsupportedMedia,
			"old-format Excel (.xls) workbooks are not supported; save the file as .xlsx or .csv and upload it again",
			"不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 .csv 后重新上传", map[string]any{"file_name": name})
	default:
		return "", fault.With(fault.ErrUnsupportedMedia,
			"upload the responses as an Excel workbook (.xlsx) or a CSV file (.csv)",
			"请以 Excel 工作簿（.xlsx）或 CSV 文件（.csv）上传答卷数据", map[string]any{"file_name": name})
	}
}

// Targets a column can map to, besides item codes and the attention-check
// code. They are also the canonical column names of the template, so that a
// filled-in template needs no mapping.
const (
	TargetRegion         = "region"
	TargetRespondentType = "respondent_type"
	TargetRespondentID   = "respondent_id"
	TargetContact        = "contact"
	TargetSeconds        = "seconds"
	TargetSubmittedAt    = "submitted_at"
)

// metaTargets lists the metadata targets in template order.
func metaTargets() []string {
	return []string{TargetRegion, TargetRespondentType, TargetRespondentID, TargetContact, TargetSeconds, TargetSubmittedAt}
}

// Mapping is the column mapping saved per survey project, so that a
// contractor whose tool names columns its own way maps them once rather
// than renaming them in every export: header text (trimmed, as in the file)
// → target ("" = ignore the column, even if it would match automatically).
type Mapping struct {
	Columns map[string]string `json:"columns"`
}

// Region is a region as the template lists it, so that contractors can see
// which codes and names a cell may hold.
type Region struct{ Code, Name string }

// Rules are what a row is checked against: the questionnaire, the project
// and the environment that the file itself cannot tell.
type Rules struct {
	Questionnaire questionnaire.Questionnaire
	// Project holds the region codes of the survey project. When empty,
	// every known region is accepted.
	Project map[string]bool
	// Known maps every region code known to the system to its name; a
	// cell may give the code or the exact name.
	Known map[string]string
	// WindowStart and WindowEnd are the fieldwork window [start, end); a
	// zero time leaves that side unbounded.
	WindowStart, WindowEnd time.Time
	// Location is the zone of timestamps that carry none; nil means
	// Asia/Shanghai (fixed +08:00 when the zone database is missing).
	Location *time.Location
	// ContactKey is the HMAC key for contact hashes. It must be set when a
	// file has a contact column: an unkeyed hash of an 11-digit phone
	// number is no protection at all.
	ContactKey []byte
	// MaxProblems bounds the problems listed (default 1000); more are
	// counted only, since past that a list stops helping anyone.
	MaxProblems int
}

// Summary reports one read, so that the caller can accept or refuse the
// batch and show the contractor what to fix.
type Summary struct {
	// Rows counts data rows read (excluding the header and blank rows).
	Rows int
	// Valid counts rows emitted.
	Valid int
	// Problems lists the first MaxProblems problems, by row then column.
	Problems []fault.FieldError
	// ProblemCount counts all problems.
	ProblemCount int
	// Columns is the resolved header → target actually used, for the
	// caller to show and to offer as the project's saved mapping.
	Columns map[string]string
}

// Limits on an upload. The caller limits its bytes; these keep what those
// bytes expand to bounded, so that a hostile file fails with a 400 instead
// of exhausting memory.
const (
	// maxColumns bounds the header; survey exports have tens of columns.
	maxColumns = 512
	// maxCell bounds a cell of a mapped column.
	maxCell = 4 << 10
	// maxRecord bounds one CSV record (all its cells, quoted line breaks
	// included).
	maxRecord = 1 << 20
	// maxDataRows is twice the largest survey foreseen, and above what
	// an xlsx sheet can hold.
	maxDataRows = 2_000_000
	// headerScan is how many rows may precede the header (titles).
	headerScan = 10
	// defaultMaxProblems is Rules.MaxProblems when unset.
	defaultMaxProblems = 1000
	// maxRespondentID bounds a respondent id (bytes); tool ids are UUIDs
	// or numbers.
	maxRespondentID = 128
)

// errBad returns a file-level error with a detail in English and Chinese.
func errBad(en, zh string, ext map[string]any) error {
	return fault.With(fault.ErrBadRequest, en, zh, ext)
}

func errEmpty() error {
	return errBad("the file is empty", "文件为空", nil)
}

func errNoData() error {
	return errBad("the file has a header row but no data rows", "文件只有表头，没有数据行", nil)
}

func errTooManyColumns(row int) error {
	return errBad(fmt.Sprintf("row %d has more than %d columns", row, maxColumns),
		fmt.Sprintf("第 %d 行超过 %d 列", row, maxColumns), map[string]any{"row": row, "max_columns": maxColumns})
}

func errTooManyRows() error {
	return errBad(fmt.Sprintf("the file has more than %d data rows; split it into several batches", maxDataRows),
		fmt.Sprintf("文件数据超过 %d 行，请拆分为多个批次上传", maxDataRows), map[string]any{"max_rows": maxDataRows})
}
