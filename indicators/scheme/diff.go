package scheme

import (
	"strconv"
	"strings"
)

// Kinds of Change.
const (
	ChangeAdded   = "added"
	ChangeRemoved = "removed"
	ChangeChanged = "changed"
)

// Change is one difference between two versions of a scheme. Path names
// what changed by code rather than by position (indicators[A1].weight,
// rules[R1].when), because reordering a list changes nothing the engine
// does; an added or removed element has no Field and its Path is the
// element's.
type Change struct {
	Path string
	// Section is "scheme", "dimensions", "indicators", "grades" or "rules".
	Section string
	// Key is the code (or rule id) of the element; empty for the scheme's
	// own fields.
	Key   string
	Field string
	Kind  string
	// From and To are the values as the author writes them; "" for a field
	// that is not set (an absent bound) or on the side that lacks the
	// element.
	From, To string
}

// field is one field of an element as the diff compares it.
type field struct{ name, value string }

// Diff lists what changed from version a to version b: the scheme's own
// settings, then dimensions, indicators, grade bands and rules, each
// added, removed or changed field by field. Elements are matched by code,
// in the order of b with a's removed ones after them. The version number
// itself is not a change.
func Diff(a, b Scheme) []Change {
	var out []Change
	out = append(out, diffFields("scheme", "", "", schemeFields(a), schemeFields(b))...)
	out = append(out, diffKeyed("dimensions", a.Dimensions, b.Dimensions, func(d Dimension) string { return d.Code }, dimensionFields)...)
	out = append(out, diffKeyed("indicators", a.Indicators, b.Indicators, func(i Indicator) string { return i.Code }, indicatorFields)...)
	out = append(out, diffKeyed("grades", a.Grades, b.Grades, func(g Grade) string { return g.Code }, gradeFields)...)
	out = append(out, diffKeyed("rules", a.Rules, b.Rules, func(r Rule) string { return r.ID }, ruleFields)...)
	return out
}

// diffKeyed compares two lists of elements matched by key.
func diffKeyed[T any](section string, a, b []T, key func(T) string, fields func(T) []field) []Change {
	old := make(map[string]T, len(a))
	for _, x := range a {
		old[key(x)] = x
	}
	seen := make(map[string]bool, len(b))
	var out []Change
	for _, y := range b {
		k := key(y)
		seen[k] = true
		path := section + "[" + k + "]"
		x, ok := old[k]
		if !ok {
			out = append(out, Change{Path: path, Section: section, Key: k, Kind: ChangeAdded, To: summary(section, fields(y))})
			continue
		}
		out = append(out, diffFields(section, k, path+".", fields(x), fields(y))...)
	}
	for _, x := range a {
		if k := key(x); !seen[k] {
			out = append(out, Change{Path: section + "[" + k + "]", Section: section, Key: k, Kind: ChangeRemoved, From: summary(section, fields(x))})
		}
	}
	return out
}

// diffFields compares the fields of one element; both lists name the same
// fields in the same order.
func diffFields(section, key, prefix string, a, b []field) []Change {
	var out []Change
	for i := range b {
		if a[i].value != b[i].value {
			out = append(out, Change{Path: prefix + b[i].name, Section: section, Key: key, Field: b[i].name,
				Kind: ChangeChanged, From: a[i].value, To: b[i].value})
		}
	}
	return out
}

// summary is an added or removed element in one line: its name and its
// weight, or a grade band's lower bound.
func summary(section string, fs []field) string {
	var parts []string
	for _, f := range fs {
		if (f.name == "name" || f.name == "weight" || (section == "grades" && f.name == "min")) && f.value != "" {
			parts = append(parts, f.value)
		}
	}
	return strings.Join(parts, " · ")
}

func schemeFields(s Scheme) []field {
	return []field{{"code", s.Code}, {"name", s.Name}, {"name_en", s.NameEn}, {"description", s.Description},
		{"coverage_threshold", Num(s.CoverageThreshold)}, {"aggregation", s.Aggregation},
		{"outlier_treatment", strconv.FormatBool(s.OutlierTreatment)}}
}

func dimensionFields(d Dimension) []field {
	return []field{{"name", d.Name}, {"name_en", d.NameEn}, {"weight", Num(d.Weight)}}
}

func indicatorFields(ind Indicator) []field {
	n := ind.Normalisation
	kinds := make([]string, len(ind.AppliesTo))
	for i, k := range ind.AppliesTo {
		kinds[i] = string(k)
	}
	return []field{{"name", ind.Name}, {"name_en", ind.NameEn}, {"unit", ind.Unit}, {"dimension", ind.Dimension},
		{"weight", Num(ind.Weight)}, {"direction", ind.Direction},
		{"normalisation.method", n.Method}, {"normalisation.lower", optNum(n.Lower)}, {"normalisation.upper", optNum(n.Upper)},
		{"normalisation.worst", optNum(n.Worst)}, {"normalisation.best", optNum(n.Best)},
		{"applies_to", strings.Join(kinds, ", ")}, {"missing", ind.Missing}, {"source", ind.Source},
		{"min", optNum(ind.Min)}, {"max", optNum(ind.Max)}, {"integer", strconv.FormatBool(ind.Integer)},
		{"evidence_required", strconv.FormatBool(ind.EvidenceRequired)}}
}

func gradeFields(g Grade) []field {
	return []field{{"name", g.Name}, {"name_en", g.NameEn}, {"min", Num(g.Min)}}
}

func ruleFields(r Rule) []field {
	effects := make([]string, len(r.Effects))
	for i, e := range r.Effects {
		effects[i] = strings.TrimSuffix(e.Type+" "+e.Grade, " ")
	}
	return []field{{"when", r.When}, {"effects", strings.Join(effects, ", ")}, {"message", r.Message},
		{"message_en", r.MessageEn}, {"basis", r.Basis}, {"basis_en", r.BasisEn}}
}

func optNum(p *float64) string {
	if p == nil {
		return ""
	}
	return Num(*p)
}
