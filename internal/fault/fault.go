// Package fault owns the error vocabulary shared by every package: a few
// sentinel kinds (not found, conflict, …) that the HTTP layer maps to status
// codes in one table, and validation errors that list every problem by field
// or by row, in Chinese and English.
package fault

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel kinds. Packages wrap them with context (fmt.Errorf("cycle %s: %w",
// id, fault.ErrNotFound)) and callers test them with errors.Is.
var (
	ErrNotFound        = errors.New("not found")
	ErrConflict        = errors.New("conflict")
	ErrForbidden       = errors.New("forbidden")
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrTooManyRequests is a caller who must slow down; a Detailed error
	// of this kind may carry "retry_after" (whole seconds) in its Ext.
	ErrTooManyRequests = errors.New("too many requests")
	ErrUnavailable     = errors.New("unavailable")
	ErrTooLarge        = errors.New("too large")
	ErrBadRequest      = errors.New("bad request")
	// ErrUnsupportedMedia is an upload whose content is not of an accepted
	// type, or not of the type its name claims.
	ErrUnsupportedMedia = errors.New("unsupported media type")
	// ErrFailed is work of the server's that failed in a way the caller
	// may be told about, such as a report whose rendering failed: answered
	// 500 with the words given to With, never with the cause.
	ErrFailed = errors.New("failed")
)

// FieldError is one problem with the input, located by field path or by
// row and column of an uploaded file.
type FieldError struct {
	Row    int    `json:"row,omitempty"`
	Column string `json:"column,omitempty"`
	// Indicator is the indicator code the problem concerns, if any.
	Indicator string `json:"indicator_code,omitempty"`
	Field     string `json:"field,omitempty"`
	Code      string `json:"code"`
	Message   string `json:"message"`
	MessageEn string `json:"message_en"`
}

// ValidationError lists every problem found in one input. Nothing of an
// input that fails validation is stored.
type ValidationError struct {
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for _, fe := range e.Errors {
		loc := fe.Field
		if fe.Row > 0 {
			loc = fmt.Sprintf("row %d %s", fe.Row, fe.Column)
		}
		parts = append(parts, strings.TrimSpace(loc)+": "+fe.MessageEn)
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrBadRequest) hold for validation errors.
func (e *ValidationError) Is(target error) bool { return target == ErrBadRequest }

// Field returns a FieldError for a named field.
func Field(field, code, zh, en string) FieldError {
	return FieldError{Field: field, Code: code, Message: zh, MessageEn: en}
}

// Invalid returns a *ValidationError, or nil when errs is empty, so that a
// validator can end with `return fault.Invalid(errs...)`.
func Invalid(errs ...FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Errors: errs}
}

// Detailed carries, beside a wrapped kind, a detail text that is safe to show
// to the caller and extension members for the problem document (for example
// the transitions a cycle allows).
type Detailed struct {
	Err      error
	Detail   string
	DetailZh string
	Ext      map[string]any
}

func (d *Detailed) Error() string { return d.Detail + ": " + d.Err.Error() }
func (d *Detailed) Unwrap() error { return d.Err }

// With wraps kind with a caller-safe detail (English, Chinese) and extension members.
func With(kind error, en, zh string, ext map[string]any) error {
	return &Detailed{Err: kind, Detail: en, DetailZh: zh, Ext: ext}
}
