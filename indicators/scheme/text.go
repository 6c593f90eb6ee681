package scheme

import (
	"fmt"

	"github.com/ipeval/ipeval/internal/textguard"
)

// checkText refuses control and bidi characters in the scheme's words
// (package textguard). Codes need no check here: their patterns allow only
// letters, digits and a few marks. Names and units are single lines; the
// description, rule conditions, messages and policy basis may span lines.
func (s Scheme) checkText(p *problems) {
	line := func(path, v string) { p.guard(path, v, textguard.Line) }
	text := func(path, v string) { p.guard(path, v, textguard.Text) }
	line("name", s.Name)
	line("name_en", s.NameEn)
	text("description", s.Description)
	for i, d := range s.Dimensions {
		path := fmt.Sprintf("dimensions[%d].", i)
		line(path+"name", d.Name)
		line(path+"name_en", d.NameEn)
	}
	for i, ind := range s.Indicators {
		path := fmt.Sprintf("indicators[%d].", i)
		line(path+"name", ind.Name)
		line(path+"name_en", ind.NameEn)
		line(path+"unit", ind.Unit)
	}
	for i, g := range s.Grades {
		path := fmt.Sprintf("grades[%d].", i)
		line(path+"name", g.Name)
		line(path+"name_en", g.NameEn)
	}
	for i, r := range s.Rules {
		path := rulePath(i, r.ID) + "."
		text(path+"when", r.When)
		text(path+"message", r.Message)
		text(path+"message_en", r.MessageEn)
		text(path+"basis", r.Basis)
		text(path+"basis_en", r.BasisEn)
	}
}

// guard adds the problem of one text field, if it has one.
func (p *problems) guard(path, v string, mode textguard.Mode) {
	if fe := textguard.Check(path, v, mode); fe != nil {
		*p = append(*p, *fe)
	}
}
