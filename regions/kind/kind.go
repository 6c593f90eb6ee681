// Package kind names the kinds of assessed region. It holds no storage, so
// that the pure scheme model and the scoring engine can use the kinds
// without importing a database package.
package kind

// Kind classifies a region; the policy's hard rule applies to some kinds only.
type Kind string

// Region kinds of DESIGN.md section 3.
const (
	Province       Kind = "province"
	PrefectureCity Kind = "prefecture_city"
	ReformZone     Kind = "reform_zone"
	PilotCity      Kind = "pilot_city"
	PilotCounty    Kind = "pilot_county"
	PilotPark      Kind = "pilot_park"
	County         Kind = "county"
	Park           Kind = "park"
)

// Name returns the Chinese name of the kind, or "" for an unknown kind.
func (k Kind) Name() string {
	switch k {
	case Province:
		return "省"
	case PrefectureCity:
		return "设区市"
	case ReformZone:
		return "综改示范区"
	case PilotCity:
		return "知识产权试点示范城市"
	case PilotCounty:
		return "知识产权试点示范县域"
	case PilotPark:
		return "知识产权试点示范园区"
	case County:
		return "县（市、区）"
	case Park:
		return "园区"
	}
	return ""
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k.Name() != "" }

// All lists the kinds in the order of DESIGN.md section 3, for the
// choices of a form.
func All() []Kind {
	return []Kind{Province, PrefectureCity, ReformZone, PilotCity, PilotCounty, PilotPark, County, Park}
}
