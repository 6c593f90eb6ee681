// Package scheme owns the assessment scheme (评价方案): the versioned,
// declarative definition of what is assessed and how — dimensions and their
// weights, indicators with their normalisation, applicability, missing-data
// policy and valid range, grade bands, and the policy rules that cap or set a
// grade. A scheme is data, not code: it is read from and written to YAML or
// JSON, validated as a whole (every problem reported by path), and shipped
// with a default for Shanxi (DESIGN.md section 4).
//
// The package is pure — no database, HTTP or queue — so that the evaluation
// engine, the CLI and the HTTP layer all judge a scheme by the same code.
package scheme

import (
	"bytes"
	"cmp"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ipeval/ipeval/regions/kind"
)

// Values of Scheme.Aggregation: how indicator scores combine into dimension
// and total scores.
const (
	AggregationArithmetic = "arithmetic"
	AggregationGeometric  = "geometric"
)

// Values of Normalisation.Method: how a raw value becomes a 0–100 score.
const (
	MethodMinMax    = "minmax"    // relative to the lowest and highest region
	MethodGoalposts = "goalposts" // fixed Lower (0) and Upper (100), clamped
	MethodDTF       = "dtf"       // distance to frontier between Worst and Best
	MethodZScore    = "zscore"    // standardised across regions
	MethodRank      = "rank"      // by rank among regions
	MethodBinary    = "binary"    // yes (1) = 100, no (0) = 0
)

// Values of Indicator.Direction.
const (
	DirectionUp   = "+" // more is better
	DirectionDown = "-" // less is better
)

// Values of Indicator.Missing: what the engine does with a missing value.
const (
	MissingZero      = "zero"       // score it as 0
	MissingReweight  = "reweight"   // drop it and share its weight among the rest
	MissingGroupMean = "group_mean" // impute the mean of regions of the same kind
)

// Values of Indicator.Source. A survey source is SourceSurveyPrefix followed
// by the questionnaire code, for example "survey:satisfaction".
const (
	SourceReported     = "reported"
	SourceSurveyPrefix = "survey:"
)

// Values of Effect.Type: what a fired rule does to a region's result.
const (
	EffectCapGrade        = "cap_grade"        // the grade is at most Effect.Grade
	EffectSetGrade        = "set_grade"        // the grade is Effect.Grade (veto, 一票否决)
	EffectAwardIneligible = "award_ineligible" // 不得参与评选表彰
	EffectFlag            = "flag"             // shown to reviewers, no effect on the grade
)

// DefaultCoverageThreshold is the share of a region's applicable weight that
// must be backed by verified values before it is given a grade; below it the
// result would say more about missing data than about the region.
const DefaultCoverageThreshold = 0.65

// Scheme is one version of an assessment scheme. A version that has scored a
// cycle is never changed; an edit makes a new version with the same Code.
type Scheme struct {
	Code        string `json:"code" yaml:"code"`
	Version     int    `json:"version" yaml:"version"`
	Name        string `json:"name" yaml:"name"`
	NameEn      string `json:"name_en" yaml:"name_en"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// CoverageThreshold is the share (0,1] of applicable weight that must be
	// verified for a region to be graded; Parse defaults it to 0.65.
	CoverageThreshold float64 `json:"coverage_threshold" yaml:"coverage_threshold"`
	// Aggregation is "arithmetic" (the default) or "geometric"; geometric
	// means punish a weak dimension that an arithmetic mean would hide.
	Aggregation string `json:"aggregation" yaml:"aggregation"`
	// OutlierTreatment asks the engine to winsorise relative normalisations
	// (minmax, zscore) so that one extreme region does not flatten the rest.
	OutlierTreatment bool        `json:"outlier_treatment" yaml:"outlier_treatment"`
	Dimensions       []Dimension `json:"dimensions" yaml:"dimensions"`
	Indicators       []Indicator `json:"indicators" yaml:"indicators"`
	// Grades are the score bands; Parse orders them by Min, highest first.
	Grades []Grade `json:"grades" yaml:"grades"`
	Rules  []Rule  `json:"rules,omitempty" yaml:"rules,omitempty"`
}

// Dimension is a first-level indicator (一级指标). Dimension weights are
// relative: each is divided by their sum.
type Dimension struct {
	Code   string  `json:"code" yaml:"code"`
	Name   string  `json:"name" yaml:"name"`
	NameEn string  `json:"name_en" yaml:"name_en"`
	Weight float64 `json:"weight" yaml:"weight"`
}

// Indicator is a second-level indicator (二级指标): one number a region
// reports, or a survey index.
type Indicator struct {
	// Code names the indicator in data files and in rule expressions, so it
	// must be an identifier (letter first, then letters, digits or _).
	Code   string `json:"code" yaml:"code"`
	Name   string `json:"name" yaml:"name"`
	NameEn string `json:"name_en" yaml:"name_en"`
	Unit   string `json:"unit" yaml:"unit"`
	// Dimension is the code of the dimension the indicator scores in. It may
	// be empty only when Weight is 0: such an indicator (like F1, the funding
	// figure) is collected for rules, not scored.
	Dimension string `json:"dimension,omitempty" yaml:"dimension,omitempty"`
	// Weight is relative within the dimension: each is divided by the sum of
	// the weights of the dimension's indicators that apply to the region.
	Weight float64 `json:"weight" yaml:"weight"`
	// Direction is "+" (more is better, the default) or "-".
	Direction     string        `json:"direction" yaml:"direction"`
	Normalisation Normalisation `json:"normalisation" yaml:"normalisation,omitempty"`
	// AppliesTo lists the region kinds the indicator applies to; empty means
	// every kind. For other kinds the value is not applicable, not missing.
	AppliesTo []kind.Kind `json:"applies_to,omitempty" yaml:"applies_to,omitempty"`
	// Missing is the missing-data policy: zero, reweight (default) or group_mean.
	Missing string `json:"missing" yaml:"missing"`
	// Source is "reported" (entered by the region, the default) or
	// "survey:<questionnaire code>" (a satisfaction index from that survey).
	Source string `json:"source" yaml:"source"`
	// Min and Max bound a valid value (inclusive); nil means unbounded.
	Min *float64 `json:"min,omitempty" yaml:"min,omitempty"`
	Max *float64 `json:"max,omitempty" yaml:"max,omitempty"`
	// Integer marks counts: a fractional value is refused.
	Integer bool `json:"integer,omitempty" yaml:"integer,omitempty"`
	// EvidenceRequired means a value is verified only with an evidence file.
	EvidenceRequired bool `json:"evidence_required,omitempty" yaml:"evidence_required,omitempty"`
}

// Normalisation says how a raw value becomes a 0–100 score. Only the bounds
// of the chosen method may be set. Method may be empty only for an indicator
// of weight 0, which is never scored.
type Normalisation struct {
	Method string `json:"method,omitempty" yaml:"method,omitempty"`
	// Lower and Upper are the goalposts: Lower scores 0, Upper scores 100.
	Lower *float64 `json:"lower,omitempty" yaml:"lower,omitempty"`
	Upper *float64 `json:"upper,omitempty" yaml:"upper,omitempty"`
	// Worst and Best are the distance-to-frontier bounds.
	Worst *float64 `json:"worst,omitempty" yaml:"worst,omitempty"`
	Best  *float64 `json:"best,omitempty" yaml:"best,omitempty"`
}

// Grade is a score band (等次). A score gets the band with the highest Min
// not above it.
type Grade struct {
	Code   string `json:"code" yaml:"code"`
	Name   string `json:"name" yaml:"name"`
	NameEn string `json:"name_en" yaml:"name_en"`
	// Min is the inclusive lower bound of the band on the 0–100 score scale.
	Min float64 `json:"min" yaml:"min"`
}

// GradeNames maps the codes of grades gs to their names: Chinese, or
// English when en and the grade has an English name.
func GradeNames(gs []Grade, en bool) map[string]string {
	out := make(map[string]string, len(gs))
	for _, g := range gs {
		out[g.Code] = g.Name
		if en && g.NameEn != "" {
			out[g.Code] = g.NameEn
		}
	}
	return out
}

// DescribeEffects says in Chinese words what effects do, for reports: a
// grade by its name in grades (its code when unnamed).
func DescribeEffects(effects []Effect, grades map[string]string) string {
	out := make([]string, 0, len(effects))
	for _, e := range effects {
		out = append(out, effectWords(e, cmp.Or(grades[e.Grade], e.Grade)).Zh)
	}
	return strings.Join(out, "；")
}

// effectWords says what one effect does, naming its grade as grade.
func effectWords(e Effect, grade string) Words {
	switch e.Type {
	case EffectCapGrade:
		return Words{"等次最高为“" + grade + "”", "the grade is at most “" + grade + "”"}
	case EffectSetGrade:
		return Words{"等次确定为“" + grade + "”（一票否决）", "the grade is “" + grade + "” (veto)"}
	case EffectAwardIneligible:
		return Words{"不得参与评选表彰", "not eligible for awards"}
	case EffectFlag:
		return Words{"提示复核", "flagged for review"}
	}
	return Words{e.Type, e.Type}
}

// Rule is a policy rule: when the expression When holds for a region, its
// Effects apply and the result records the rule, its basis and the values
// it read.
//
// When is an expr-lang expression (https://expr-lang.org) that must be
// boolean. It is type-checked when the scheme is validated, against exactly
// these names:
//
//	F1 (any indicator code)  float64  its value; 0 when missing or not applicable
//	kind                     string   the region kind, e.g. "prefecture_city"
//	code                     string   the region code
//	missing("F1")            bool     no value has been given
//	not_applicable("F1")     bool     the indicator does not apply to the region
//	value("F1")              float64  the same as F1
//	in_kinds("a", "b", ...)  bool     kind is one of the arguments
//
// A missing value reads as 0 so that arithmetic stays total; a rule that must
// tell "missing" from "0" tests missing("X") first, as R1 does with
// `missing("F1") or F1 <= 0`. The helpers take quoted indicator codes or
// region kinds, and region kinds compared with kind must be known, so that a
// typo is refused when the scheme is saved rather than silently never firing.
type Rule struct {
	ID string `json:"id" yaml:"id"`
	// Basis cites the policy text the rule implements, so that a capped grade
	// can be justified to the region.
	Basis   string   `json:"basis,omitempty" yaml:"basis,omitempty"`
	BasisEn string   `json:"basis_en,omitempty" yaml:"basis_en,omitempty"`
	When    string   `json:"when" yaml:"when"`
	Effects []Effect `json:"effects" yaml:"effects"`
	// Message is shown with the result of a region for which the rule fired.
	Message   string `json:"message" yaml:"message"`
	MessageEn string `json:"message_en,omitempty" yaml:"message_en,omitempty"`
}

// Effect is one consequence of a fired rule.
type Effect struct {
	Type string `json:"type" yaml:"type"`
	// Grade is the grade code for cap_grade and set_grade, empty otherwise.
	Grade string `json:"grade,omitempty" yaml:"grade,omitempty"`
}

//go:embed default.yaml
var defaultYAML string

// Default returns the default Shanxi scheme of DESIGN.md section 4. It is
// kept as YAML, not Go, so that it reads like the schemes administrators
// upload; it is parsed on every call so that callers can never share (and
// mutate) one value. A test guarantees it validates.
func Default() Scheme {
	s, err := Parse([]byte(defaultYAML))
	if err != nil {
		panic(fmt.Sprintf("scheme: embedded default.yaml is invalid: %v", err))
	}
	return s
}

// YAML encodes the scheme as YAML with two-space indentation. Parse reads
// the result back to an equal Scheme.
func (s Scheme) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(s); err != nil {
		return nil, fmt.Errorf("encode scheme yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode scheme yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// JSON encodes the scheme as indented JSON. Parse reads the result back to
// an equal Scheme.
func (s Scheme) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode scheme json: %w", err)
	}
	return append(b, '\n'), nil
}

// Indicator returns the indicator with code.
func (s Scheme) Indicator(code string) (Indicator, bool) {
	for _, ind := range s.Indicators {
		if ind.Code == code {
			return ind, true
		}
	}
	return Indicator{}, false
}

// Dimension returns the dimension with code.
func (s Scheme) Dimension(code string) (Dimension, bool) {
	for _, d := range s.Dimensions {
		if d.Code == code {
			return d, true
		}
	}
	return Dimension{}, false
}

// Grade returns the grade band with code, for applying rule effects.
func (s Scheme) Grade(code string) (Grade, bool) {
	for _, g := range s.Grades {
		if g.Code == code {
			return g, true
		}
	}
	return Grade{}, false
}

// AppliesTo reports whether ind applies to regions of kind; a value of an
// indicator that does not apply is "not applicable", never "missing", and
// its weight is shared among the indicators that do apply.
func (s Scheme) AppliesTo(ind Indicator, kind kind.Kind) bool {
	if len(ind.AppliesTo) == 0 {
		return true
	}
	for _, k := range ind.AppliesTo {
		if k == kind {
			return true
		}
	}
	return false
}

// GradeFor returns the band of score: the one with the highest Min not above
// score. A score below every band (or NaN) gets the lowest band, so every
// region has a grade; a valid scheme has a band starting at 0 or below. It
// does not rely on the order of s.Grades, so it also works on a Scheme built
// in code. It returns the zero Grade only when there are no bands.
func (s Scheme) GradeFor(score float64) Grade {
	var best, lowest Grade
	found := false
	for i, g := range s.Grades {
		if i == 0 || g.Min < lowest.Min {
			lowest = g
		}
		if score >= g.Min && (!found || g.Min > best.Min) {
			best, found = g, true
		}
	}
	if !found {
		return lowest
	}
	return best
}

// finite reports whether x is a real number; YAML can spell .nan and .inf.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
