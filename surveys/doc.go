// Package surveys owns the third-party satisfaction surveys: questionnaires,
// survey projects, contractor uploads, quality screens and the per-region
// satisfaction index that feeds the evaluation.
package surveys
