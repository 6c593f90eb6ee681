package evaluation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/evaluation/engine"
)

// Diff is what changed from run A to run B: the inputs that differ, and
// the regions whose score, rank or grade differ.
type Diff struct {
	A             string        `json:"a"`
	B             string        `json:"b"`
	SchemeChanged bool          `json:"scheme_changed"`
	Inputs        []InputChange `json:"inputs"`
	Regions       []RegionDiff  `json:"regions"`
}

// InputChange is one value that differs; nil means absent from that run.
type InputChange struct {
	RegionCode    string        `json:"region_code"`
	IndicatorCode string        `json:"indicator_code"`
	A             *engine.Value `json:"a"`
	B             *engine.Value `json:"b"`
}

// Presence says in which of the two runs a region was assessed.
type Presence string

// Values of RegionDiff.Presence. A region missing from one run has the
// zero score, rank and grade on that side.
const (
	PresenceBoth    Presence = "both"
	PresenceAdded   Presence = "added"   // only in B
	PresenceRemoved Presence = "removed" // only in A
)

// RegionDiff compares one region's result in both runs.
type RegionDiff struct {
	Code     string        `json:"code"`
	Name     string        `json:"name"`
	Presence Presence      `json:"presence"`
	ScoreA   engine.Number `json:"score_a"`
	ScoreB   engine.Number `json:"score_b"`
	RankA    int           `json:"rank_a"`
	RankB    int           `json:"rank_b"`
	GradeA   string        `json:"grade_a"`
	GradeB   string        `json:"grade_b"`
}

// Diff compares two runs; only admins compare runs.
func (s *Store) Diff(ctx context.Context, by auth.Principal, a, b string) (Diff, error) {
	if !by.Is(auth.RoleAdmin) {
		return Diff{}, forbidden()
	}
	runA, resA, err := s.Get(ctx, by, a)
	if err != nil {
		return Diff{}, err
	}
	runB, resB, err := s.Get(ctx, by, b)
	if err != nil {
		return Diff{}, err
	}
	var inA, inB engine.Input
	if err := json.Unmarshal([]byte(runA.Inputs), &inA); err != nil {
		return Diff{}, fmt.Errorf("decode inputs of run %s: %w", a, err)
	}
	if err := json.Unmarshal([]byte(runB.Inputs), &inB); err != nil {
		return Diff{}, fmt.Errorf("decode inputs of run %s: %w", b, err)
	}
	d := Diff{A: a, B: b, SchemeChanged: runA.SchemeID != runB.SchemeID, Inputs: []InputChange{}, Regions: []RegionDiff{}}
	for _, region := range sortedKeys(inA.Values, inB.Values) {
		for _, code := range sortedKeys(inA.Values[region], inB.Values[region]) {
			va, okA := inA.Values[region][code]
			vb, okB := inB.Values[region][code]
			if okA == okB && va == vb {
				continue
			}
			c := InputChange{RegionCode: region, IndicatorCode: code}
			if okA {
				c.A = &va
			}
			if okB {
				c.B = &vb
			}
			d.Inputs = append(d.Inputs, c)
		}
	}
	for _, rb := range resB.Regions {
		ra, ok := resA.Region(rb.Code)
		if !ok {
			d.Regions = append(d.Regions, RegionDiff{Code: rb.Code, Name: rb.Name, Presence: PresenceAdded,
				ScoreB: rb.Score, RankB: rb.Rank, GradeB: rb.Grade})
			continue
		}
		if ra.Score == rb.Score && ra.Rank == rb.Rank && ra.Grade == rb.Grade {
			continue
		}
		d.Regions = append(d.Regions, RegionDiff{Code: rb.Code, Name: rb.Name, Presence: PresenceBoth,
			ScoreA: ra.Score, ScoreB: rb.Score, RankA: ra.Rank, RankB: rb.Rank, GradeA: ra.Grade, GradeB: rb.Grade})
	}
	// A region assessed in A but not in B (it left the assessed set, for
	// example) is a change too, listed after B's regions.
	for _, ra := range resA.Regions {
		if _, ok := resB.Region(ra.Code); !ok {
			d.Regions = append(d.Regions, RegionDiff{Code: ra.Code, Name: ra.Name, Presence: PresenceRemoved,
				ScoreA: ra.Score, RankA: ra.Rank, GradeA: ra.Grade})
		}
	}
	return d, nil
}

// sortedKeys is the sorted union of the keys of a and b.
func sortedKeys[V any](a, b map[string]V) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}
