package engine

import (
	"fmt"

	"github.com/ipeval/ipeval/indicators/scheme"
)

// The small enumerations of the result are bytes in memory, so that a
// national result stays compact, and strings in JSON.

// ValueStatus is the review status of an indicator value, spelt as in
// the indicator-value workflow. Only verified values are scored; the
// engine treats any other (and an empty status) as missing.
type ValueStatus string

// Review statuses.
const (
	StatusDraft     ValueStatus = "draft"
	StatusSubmitted ValueStatus = "submitted"
	StatusVerified  ValueStatus = "verified"
	StatusRejected  ValueStatus = "rejected"
)

// statusCode and statusOf keep a status in one byte of a cell.
func statusCode(s ValueStatus) uint8 {
	switch s {
	case StatusDraft:
		return 1
	case StatusSubmitted:
		return 2
	case StatusVerified:
		return 3
	case StatusRejected:
		return 4
	case "":
		return 0
	}
	return 5
}

func statusOf(c uint8) ValueStatus {
	switch c {
	case 1:
		return StatusDraft
	case 2:
		return StatusSubmitted
	case 3:
		return StatusVerified
	case 4:
		return StatusRejected
	case 5:
		return "unknown"
	}
	return ""
}

// Imputation is what was done with a missing value.
type Imputation uint8

// Imputations; ImputationNone for a value that is not missing.
const (
	ImputationNone Imputation = iota
	ImputationZero
	ImputationGroupMean
	ImputationReweight
)

func (m Imputation) String() string {
	switch m {
	case ImputationNone:
		return ""
	case ImputationZero:
		return scheme.MissingZero
	case ImputationGroupMean:
		return scheme.MissingGroupMean
	case ImputationReweight:
		return scheme.MissingReweight
	}
	return unknown(m)
}

// MarshalText implements encoding.TextMarshaler.
func (m Imputation) MarshalText() ([]byte, error) { return enumText(m, ImputationReweight) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Imputation) UnmarshalText(b []byte) error {
	return enumParse(b, m, ImputationReweight, "imputation")
}

// TreatmentMethod is an outlier treatment.
type TreatmentMethod uint8

// Outlier treatments.
const (
	TreatmentNone TreatmentMethod = iota
	TreatmentWinsorise
	TreatmentLog
)

func (m TreatmentMethod) String() string {
	switch m {
	case TreatmentNone:
		return ""
	case TreatmentWinsorise:
		return "winsorise"
	case TreatmentLog:
		return "log"
	}
	return unknown(m)
}

// MarshalText implements encoding.TextMarshaler.
func (m TreatmentMethod) MarshalText() ([]byte, error) { return enumText(m, TreatmentLog) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *TreatmentMethod) UnmarshalText(b []byte) error {
	return enumParse(b, m, TreatmentLog, "treatment")
}

// Reason says why a path step is impossible.
type Reason uint8

// Reasons; ReasonNone for a possible step.
const (
	ReasonNone       Reason = iota
	ReasonAtCeiling         // the indicator already scores its maximum
	ReasonNotEnough         // even its maximum score would not suffice
	ReasonOutOfRange        // the value needed lies outside the indicator's valid range
)

func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return ""
	case ReasonAtCeiling:
		return "at_ceiling"
	case ReasonNotEnough:
		return "not_enough"
	case ReasonOutOfRange:
		return "out_of_range"
	}
	return unknown(r)
}

// MarshalText implements encoding.TextMarshaler.
func (r Reason) MarshalText() ([]byte, error) { return enumText(r, ReasonOutOfRange) }

// UnmarshalText implements encoding.TextUnmarshaler.
func (r *Reason) UnmarshalText(b []byte) error { return enumParse(b, r, ReasonOutOfRange, "reason") }

type enum interface {
	~uint8
	String() string
}

func unknown[E ~uint8](e E) string { return fmt.Sprintf("unknown(%d)", uint8(e)) }

func enumText[E enum](e, last E) ([]byte, error) {
	if e > last {
		return nil, fmt.Errorf("unknown value %d", uint8(e))
	}
	return []byte(e.String()), nil
}

func enumParse[E enum](b []byte, e *E, last E, what string) error {
	for i := E(0); i <= last; i++ {
		if i.String() == string(b) {
			*e = i
			return nil
		}
	}
	return fmt.Errorf("unknown %s %q", what, b)
}
