package questionnaire

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
)

//go:embed default.yaml
var defaultYAML []byte

// Default returns the satisfaction questionnaire of DESIGN.md section 5.
// It is kept as YAML, not Go, so that it reads like the questionnaires
// administrators upload; it is parsed on every call so that callers never
// share (and mutate) one value. A test guarantees it parses.
func Default() Questionnaire {
	q, err := Parse(defaultYAML)
	if err != nil {
		panic(fmt.Sprintf("questionnaire: embedded default.yaml is invalid: %v", err))
	}
	return q
}

// DefaultLabels returns the labels of the five-point scale used across
// Chinese government-service ratings (好差评), which Parse gives a
// five-point questionnaire that names none. The slice is fresh on every
// call.
func DefaultLabels() []Label {
	return []Label{
		{Value: 5, Text: "非常满意", TextEn: "very satisfied"},
		{Value: 4, Text: "满意", TextEn: "satisfied"},
		{Value: 3, Text: "基本满意", TextEn: "fairly satisfied"},
		{Value: 2, Text: "不满意", TextEn: "dissatisfied"},
		{Value: 1, Text: "非常不满意", TextEn: "very dissatisfied"},
	}
}

// YAML encodes the questionnaire as YAML with two-space indentation, the
// form administrators edit. Parse reads the result back to an equal value.
func (q Questionnaire) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(q); err != nil {
		return nil, fmt.Errorf("encode questionnaire yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode questionnaire yaml: %w", err)
	}
	return buf.Bytes(), nil
}

// JSON encodes the questionnaire as indented JSON, the form the API
// serves. Parse reads the result back to an equal value.
func (q Questionnaire) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(q, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode questionnaire json: %w", err)
	}
	return append(b, '\n'), nil
}
