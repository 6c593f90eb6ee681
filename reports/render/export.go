package render

import (
	"fmt"
	"time"

	"github.com/ipeval/ipeval/evaluation/engine"
	"github.com/ipeval/ipeval/internal/textenc"
)

// RunInfo says which run an export comes from; the About sheet and every
// hand-over row repeat it, so that a file separated from its download
// still names its source.
type RunInfo struct {
	ID            string
	CycleID       string
	CycleName     string
	CycleYear     int
	SchemeID      string
	SchemeVersion int
	EngineVersion string
	Seed          int64
	InputsHash    string
	ResultsHash   string
	CreatedAt     time.Time
	PublishedAt   *time.Time
	// Region is the one region whose detail the export holds; empty when
	// it holds every region's.
	Region string
}

// RunData is a run as an export shows it, already cut by the server to
// what its reader may see: the writers show everything they are given.
type RunData struct {
	Info RunInfo
	// Input is the snapshot the run scored (its regions and values those
	// of the detail).
	Input  engine.Input
	Result engine.Result
	// Sensitivity is nil when the run has no analysis.
	Sensitivity *engine.SensitivityResult
}

// FileName names a download of the run: what it is, the cycle year, the
// region of the detail when there is one, and the run id, with ext. Every
// part is the server's own (a year, a region code, a UUID), so the name
// needs no escaping beyond the attachment header's.
func FileName(what string, info RunInfo, ext string) string {
	name := fmt.Sprintf("%s-%d", what, info.CycleYear)
	if info.Region != "" {
		name += "-" + info.Region
	}
	return textenc.FileName(name + "-" + info.ID + "." + ext)
}

// text is a text cell of a spreadsheet or CSV: text a spreadsheet would
// run as a formula gets a leading apostrophe (the one guard every export
// shares with the value templates).
func text(s string) string { return textenc.GuardFormula(s) }

// number is a numeric cell at full precision, or an empty cell for an
// absent number.
func number(n engine.Number) any {
	if !n.Valid {
		return nil
	}
	return n.Value
}

// rank is a rank cell: empty for 0, which means "not ranked".
func rank(r int) any {
	if r == 0 {
		return nil
	}
	return r
}

// bilingual joins a Chinese and an English text, Chinese first.
func bilingual(zh, en string) string {
	if en == "" || en == zh {
		return zh
	}
	return zh + " " + en
}

// yesNo is a bilingual yes or no.
func yesNo(b bool) string {
	if b {
		return "是 Yes"
	}
	return "否 No"
}
