package questionnaire

import (
	"github.com/ipeval/ipeval/internal/strictyaml"
)

// MaxSize bounds a questionnaire document. A real one is a few kilobytes;
// the bound keeps a hostile upload from costing more than a moment to
// refuse.
const MaxSize = 1 << 20

// DefaultScale is the number of answer points of a questionnaire that does
// not name one: the five-point scale of DESIGN.md section 5.
const DefaultScale = 5

// Parse reads a questionnaire from YAML or JSON. Decoding is strict: an
// unknown field or a value of the wrong type is reported by path, for
// example "items[2].wieght: unknown field". Absent fields get their
// defaults — scale 5, item weight 1, and the labels of DefaultLabels for a
// five-point questionnaire that names none — and the result must pass
// Validate. An explicit zero is not a default: "weight: 0" is refused, not
// read as 1. An item's absent or zero scale means the questionnaire's.
//
// Every error is a *fault.ValidationError listing every problem.
func Parse(data []byte) (Questionnaire, error) {
	doc := document{Scale: DefaultScale}
	opts := strictyaml.Options{Subject: "问卷文件", SubjectEn: "questionnaire document", MaxSize: MaxSize}
	if err := strictyaml.Decode(data, &doc, opts); err != nil {
		return Questionnaire{}, err
	}
	q := doc.questionnaire()
	if err := q.Validate(); err != nil {
		return Questionnaire{}, err
	}
	return q, nil
}

// document is Questionnaire as written in a file. It differs only in
// itemDocument's Weight, a pointer so that an absent weight (default 1)
// can be told from an explicit 0 (refused); a test keeps the two field
// sets equal.
type document struct {
	Code            string           `yaml:"code"`
	Name            string           `yaml:"name"`
	NameEn          string           `yaml:"name_en"`
	Scale           int              `yaml:"scale"`
	Labels          []Label          `yaml:"labels"`
	RespondentTypes []RespondentType `yaml:"respondent_types"`
	Items           []itemDocument   `yaml:"items"`
	Attention       *AttentionCheck  `yaml:"attention_check"`
}

// itemDocument is Item as written in a file.
type itemDocument struct {
	Code     string   `yaml:"code"`
	Text     string   `yaml:"text"`
	TextEn   string   `yaml:"text_en"`
	Scale    int      `yaml:"scale"`
	Weight   *float64 `yaml:"weight"`
	Reverse  bool     `yaml:"reverse"`
	Group    string   `yaml:"group"`
	Optional bool     `yaml:"optional"`
}

// questionnaire applies the defaults that depend on what was absent.
func (d document) questionnaire() Questionnaire {
	q := Questionnaire{
		Code:            d.Code,
		Name:            d.Name,
		NameEn:          d.NameEn,
		Scale:           d.Scale,
		Labels:          d.Labels,
		RespondentTypes: d.RespondentTypes,
		Attention:       d.Attention,
	}
	switch {
	case len(q.Labels) == 0 && q.Scale == DefaultScale:
		q.Labels = DefaultLabels()
	case len(q.Labels) == 0:
		q.Labels = nil // "labels: []" and no labels are one questionnaire
	}
	if d.Items != nil {
		q.Items = make([]Item, len(d.Items))
	}
	for i, it := range d.Items {
		w := 1.0
		if it.Weight != nil {
			w = *it.Weight
		}
		q.Items[i] = Item{
			Code: it.Code, Text: it.Text, TextEn: it.TextEn, Scale: it.Scale, Weight: w,
			Reverse: it.Reverse, Group: it.Group, Optional: it.Optional,
		}
	}
	return q
}
