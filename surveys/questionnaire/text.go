package questionnaire

import (
	"fmt"

	"github.com/ipeval/ipeval/internal/textguard"
)

// checkText refuses control and bidi characters in the questionnaire's
// words (package textguard). Every text is a single line: names, labels
// and item texts become cells and column headers of the upload template,
// where a line break would split a header a contractor must match.
func (q Questionnaire) checkText(p *problems) {
	line := func(path, v string) {
		if fe := textguard.Check(path, v, textguard.Line); fe != nil {
			*p = append(*p, *fe)
		}
	}
	line("name", q.Name)
	line("name_en", q.NameEn)
	for i, l := range q.Labels {
		line(fmt.Sprintf("labels[%d].text", i), l.Text)
		line(fmt.Sprintf("labels[%d].text_en", i), l.TextEn)
	}
	for i, t := range q.RespondentTypes {
		line(fmt.Sprintf("respondent_types[%d].name", i), t.Name)
		line(fmt.Sprintf("respondent_types[%d].name_en", i), t.NameEn)
	}
	for i, it := range q.Items {
		line(fmt.Sprintf("items[%d].text", i), it.Text)
		line(fmt.Sprintf("items[%d].text_en", i), it.TextEn)
	}
	if a := q.Attention; a != nil {
		line("attention_check.text", a.Text)
		line("attention_check.text_en", a.TextEn)
	}
}
