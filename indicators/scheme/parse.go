package scheme

import (
	"sort"
	"strconv"

	"github.com/ipeval/ipeval/internal/strictyaml"
)

// MaxSize bounds a scheme document. A real scheme is a few kilobytes; the
// bound keeps a hostile upload from costing more than a moment to refuse.
const MaxSize = 1 << 20

// Parse reads a scheme from YAML or JSON (JSON is read as YAML, so both go
// through one decoder and one set of error paths). Decoding is strict: an
// unknown field or a value of the wrong type is reported by path, for
// example "indicators[2].weigth: unknown field". Absent fields get their
// defaults — version 1, coverage threshold 0.65, arithmetic aggregation and,
// per indicator, direction "+", missing policy "reweight" and source
// "reported" — and the result must pass Validate. Grades come back ordered
// by Min, highest first.
//
// Every error is a *fault.ValidationError; a syntax error has an empty
// Field and the line in its message.
func Parse(data []byte) (Scheme, error) {
	// Scheme-level defaults are set before decoding so that only an absent
	// field gets them: an explicit coverage_threshold of 0 is refused, not
	// silently replaced.
	s := Scheme{Version: 1, CoverageThreshold: DefaultCoverageThreshold, Aggregation: AggregationArithmetic}
	if err := strictyaml.Decode(data, &s, decodeOptions()); err != nil {
		return Scheme{}, err
	}
	s.applyIndicatorDefaults()
	if err := s.Validate(); err != nil {
		return Scheme{}, err
	}
	sort.SliceStable(s.Grades, func(i, j int) bool { return s.Grades[i].Min > s.Grades[j].Min })
	return s, nil
}

// decodeOptions reads schemes: messages name a scheme document, and rules
// are named by id, as Validate names them.
func decodeOptions() strictyaml.Options {
	return strictyaml.Options{
		Subject:     "方案文件",
		SubjectEn:   "scheme document",
		MaxSize:     MaxSize,
		ElementPath: elementPath,
	}
}

// applyIndicatorDefaults fills per-indicator defaults. An empty string
// cannot be told from an absent field here, and means the same.
func (s *Scheme) applyIndicatorDefaults() {
	for i := range s.Indicators {
		ind := &s.Indicators[i]
		if ind.Direction == "" {
			ind.Direction = DirectionUp
		}
		if ind.Missing == "" {
			ind.Missing = MissingReweight
		}
		if ind.Source == "" {
			ind.Source = SourceReported
		}
	}
}

// elementPath names rules by id in decoding errors, as Validate names them,
// because an id survives reordering and is what the author wrote; every
// other list element is named by index.
func elementPath(path string, i int, field func(key string) (string, bool)) string {
	if path != "rules" {
		return ""
	}
	if id, ok := field("id"); ok {
		return rulePath(i, id)
	}
	return ""
}

// rulePath names rule i by its id when the id is usable in a path.
func rulePath(i int, id string) string {
	if ruleIDPattern.MatchString(id) {
		return "rules[" + id + "]"
	}
	return "rules[" + strconv.Itoa(i) + "]"
}
