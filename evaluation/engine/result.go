package engine

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ipeval/ipeval/indicators/scheme"
	"github.com/ipeval/ipeval/regions/kind"
)

// Number is a float that may be absent; it encodes as a JSON number or null.
type Number struct {
	Value float64
	Valid bool
}

func num(x float64) Number { return Number{Value: x, Valid: true} }

// MarshalJSON implements json.Marshaler.
func (n Number) MarshalJSON() ([]byte, error) {
	if !n.Valid {
		return []byte("null"), nil
	}
	return json.Marshal(n.Value)
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Number) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*n = Number{}
		return nil
	}
	v, err := strconv.ParseFloat(string(bytes.TrimSpace(b)), 64)
	if err != nil {
		return fmt.Errorf("number: %w", err)
	}
	*n = Number{Value: v, Valid: true}
	return nil
}

// Region statuses.
const (
	// StatusOK: scored, ranked and graded.
	StatusOK = "ok"
	// StatusInsufficientData: scored for information, but verified data
	// cover less than the scheme's threshold of the applicable weight, so
	// the region gets no rank and no grade.
	StatusInsufficientData = "insufficient_data"
	// StatusNoWeight: no weight is left for the region (nothing applies, or
	// nothing that applies has a usable value); no score, rank or grade.
	StatusNoWeight = "no_weight"
	// StatusUnscorable: a value of the region cannot be scored (beyond
	// ±scheme.MaxMagnitude, or a computation with it overflowed); Error
	// names the indicators. No score, rank or grade.
	StatusUnscorable = "unscorable"
)

// Result is one evaluation. Identical inputs give an identical Result,
// byte for byte once encoded: regions are ordered by code, indicators and
// dimensions in scheme order, and nothing depends on map order or the clock.
type Result struct {
	EngineVersion string `json:"engine_version"`
	SchemeCode    string `json:"scheme_code"`
	SchemeVersion int    `json:"scheme_version"`
	// Aggregation actually used (after Options).
	Aggregation string `json:"aggregation"`
	// CoverageThreshold is the scheme's; a region below it is not graded.
	CoverageThreshold float64 `json:"coverage_threshold"`
	// Grades are the bands, highest first.
	Grades     []scheme.Grade     `json:"grades"`
	Indicators []IndicatorSummary `json:"indicators"`
	Regions    []RegionResult     `json:"regions"`
	Warnings   []Warning          `json:"warnings"`
}

// Region returns the result of the region with code.
func (r *Result) Region(code string) (*RegionResult, bool) {
	i, ok := slices.BinarySearchFunc(r.Regions, code, func(rr RegionResult, code string) int {
		return strings.Compare(rr.Code, code)
	})
	if !ok {
		return nil, false
	}
	return &r.Regions[i], true
}

// Ranked lists every region in the order rankings show them: the ranked
// regions by rank, ties by code, then the unranked ones by code. It is a
// new slice; r is left as it is.
func (r *Result) Ranked() []RegionResult {
	out := slices.Clone(r.Regions)
	slices.SortStableFunc(out, func(a, b RegionResult) int {
		switch {
		case a.Rank == b.Rank:
			return strings.Compare(a.Code, b.Code)
		case a.Rank == 0:
			return 1
		case b.Rank == 0:
			return -1
		}
		return cmp.Compare(a.Rank, b.Rank)
	})
	return out
}

// IndicatorSummary describes how one indicator was scored in the run.
type IndicatorSummary struct {
	Code      string `json:"code"`
	Dimension string `json:"dimension,omitempty"`
	Scored    bool   `json:"scored"`
	Method    string `json:"method,omitempty"`
	Direction string `json:"direction"`
	// Weight is the indicator's relative weight within its dimension and
	// DimensionWeight its dimension's, both as used (after Options).
	Weight          float64 `json:"weight"`
	DimensionWeight float64 `json:"dimension_weight"`
	Observed        int     `json:"observed"`
	Imputed         int     `json:"imputed"`
	Reweighted      int     `json:"reweighted"`
	NotApplicable   int     `json:"not_applicable"`
	// Min, Max, Mean and SD describe the observed values after treatment;
	// relative normalisations are computed from them.
	Min       Number     `json:"min"`
	Max       Number     `json:"max"`
	Mean      Number     `json:"mean"`
	SD        Number     `json:"sd"`
	Treatment *Treatment `json:"treatment,omitempty"`
}

// Treatment records an outlier treatment of one indicator.
type Treatment struct {
	Method TreatmentMethod `json:"method"`
	// Skewness and Kurtosis (excess) of the observed values before and after.
	Skewness      float64 `json:"skewness"`
	Kurtosis      float64 `json:"kurtosis"`
	SkewnessAfter float64 `json:"skewness_after"`
	KurtosisAfter float64 `json:"kurtosis_after"`
	// Every point whose value changed, by region code.
	Points []TreatedPoint `json:"points"`
}

// TreatedPoint is one value changed by outlier treatment.
type TreatedPoint struct {
	Region  string  `json:"region"`
	Raw     float64 `json:"raw"`
	Treated float64 `json:"treated"`
}

// Warning is something a reader of the results should know.
type Warning struct {
	Code      string `json:"code"`
	Region    string `json:"region,omitempty"`
	Indicator string `json:"indicator,omitempty"`
	Message   string `json:"message"`
	MessageEn string `json:"message_en"`
}

// Problem is why a region has no score.
type Problem struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	MessageEn string `json:"message_en"`
}

// RegionResult is the assessment of one region.
type RegionResult struct {
	Code  string    `json:"code"`
	Name  string    `json:"name"`
	Kind  kind.Kind `json:"kind"`
	Group string    `json:"group,omitempty"`
	// Status is StatusOK, StatusInsufficientData, StatusNoWeight or
	// StatusUnscorable.
	Status string   `json:"status"`
	Error  *Problem `json:"error,omitempty"`
	// Coverage is the share of the region's applicable weight backed by
	// verified values, in [0, 1].
	Coverage float64 `json:"coverage"`
	// Score is the composite score (0–100); null when Status is no_weight
	// or unscorable.
	Score Number `json:"score"`
	// Rank among graded regions, 1 best; equal scores share a rank and the
	// next rank is skipped (1, 2, 2, 4). 0 when not ranked.
	Rank int `json:"rank"`
	// BandGrade is the grade code of the score's band, before rules; Grade
	// is the final grade after rules. Both empty when not graded.
	BandGrade string `json:"band_grade,omitempty"`
	Grade     string `json:"grade,omitempty"`
	// GradeRule is the rule that decided the final grade when rules changed
	// it.
	GradeRule     string            `json:"grade_rule,omitempty"`
	AwardEligible bool              `json:"award_eligible"`
	Dimensions    []DimensionResult `json:"dimensions"`
	Indicators    []IndicatorResult `json:"indicators"`
	// Rules lists every rule that fired, in scheme order.
	Rules       []FiredRule `json:"rules"`
	Path        *Path       `json:"path,omitempty"`
	Warnings    []Warning   `json:"warnings"`
	Explanation Explanation `json:"explanation"`
}

// DimensionResult is one dimension of a region.
type DimensionResult struct {
	Code string `json:"code"`
	// Weight is the dimension's share of the composite as applied to this
	// region (0 when nothing in it could be scored).
	Weight float64 `json:"weight"`
	// Score is null when the dimension could not be scored for the region.
	Score Number `json:"score"`
	// Contribution is the sum of its indicators' contributions.
	Contribution float64 `json:"contribution"`
}

// IndicatorResult is one indicator of a region. Its dimension is the
// scheme's (IndicatorSummary repeats it).
type IndicatorResult struct {
	Code string `json:"code"`
	// Scored is false for an indicator without weight (read by rules only).
	Scored bool `json:"scored"`
	// Observed: a verified (or survey) value was used as reported.
	Observed bool `json:"observed"`
	// Missing: the indicator applies but no usable value was given;
	// Imputation says what was done (zero, group_mean or reweight) and
	// Imputed whether a value or score was put in its place.
	Missing    bool       `json:"missing"`
	Imputed    bool       `json:"imputed"`
	Imputation Imputation `json:"imputation,omitempty"`
	// Unverified is the status of a value that was given but is not
	// verified, and was therefore treated as missing.
	Unverified    ValueStatus `json:"unverified,omitempty"`
	NotApplicable bool        `json:"not_applicable"`
	// Treated: outlier treatment changed the value; Treatment says how.
	Treated   bool            `json:"treated"`
	Treatment TreatmentMethod `json:"treatment,omitempty"`
	// Raw is the verified value as reported; Value is what was normalised
	// (after imputation and outlier treatment); Z is the z-score as is
	// (zscore method only); Score is the normalised score, 0–100.
	Raw   Number `json:"raw"`
	Value Number `json:"value"`
	Z     Number `json:"z"`
	Score Number `json:"score"`
	// Weight is the share of the composite actually applied to this
	// indicator for this region; the weights of a region sum to 1.
	Weight float64 `json:"weight"`
	// Contribution is this indicator's part of the composite; the
	// contributions of a region sum to its composite score.
	Contribution float64 `json:"contribution"`
}

// FiredRule is a rule that fired for a region, with what it read.
type FiredRule struct {
	ID        string          `json:"id"`
	Basis     string          `json:"basis,omitempty"`
	BasisEn   string          `json:"basis_en,omitempty"`
	Message   string          `json:"message"`
	MessageEn string          `json:"message_en,omitempty"`
	Effects   []scheme.Effect `json:"effects"`
	// Read holds every value the rule's condition names: a number, null
	// when missing, or "not_applicable"; plus kind and code when named.
	Read map[string]any `json:"read"`
}

// Path is what would lift a region to the next grade above its final
// grade.
type Path struct {
	// Target is the grade code sought, Threshold the lower bound of its band.
	Target    string  `json:"target"`
	Threshold float64 `json:"threshold"`
	// Gap is Threshold minus the score; ≤ 0 when the score already reaches
	// the band and only a rule stands in the way.
	Gap float64 `json:"gap"`
	// Steps holds, for each indicator scored for the region, the smallest
	// change of that indicator alone that lifts the score into the band.
	Steps []PathStep `json:"steps"`
	// Blocked lists the rules that would keep the grade below Target
	// whatever the score.
	Blocked []Block `json:"blocked"`
}

// PathStep is the change of one indicator that would reach the target band
// with everything else unchanged: the other regions' data, the run's
// outlier treatment and this region's other values.
type PathStep struct {
	Indicator string `json:"indicator"`
	Possible  bool   `json:"possible"`
	Reason    Reason `json:"reason,omitempty"`
	// From is the value scored now (imputed when FromImputed; null when a
	// missing value was scored as zero); Target the value needed; Change
	// the difference, in the indicator's unit. When Exceed is set the value
	// must be strictly beyond Target (rank normalisation: beat that value).
	From        Number `json:"from"`
	FromImputed bool   `json:"from_imputed,omitempty"`
	Target      Number `json:"target"`
	Change      Number `json:"change"`
	Exceed      bool   `json:"exceed,omitempty"`
	// Score is the normalised score the indicator needs (more than 100 when
	// that is what it would take; null when astronomically more), ScoreNow
	// its score now.
	Score    Number  `json:"score"`
	ScoreNow float64 `json:"score_now"`
}

// Block is a rule that keeps a region below the grade its score would earn.
type Block struct {
	Rule string `json:"rule"`
	// Grade is the grade code the rule caps or sets.
	Grade       string `json:"grade"`
	Statement   string `json:"statement"`
	StatementEn string `json:"statement_en"`
}
