package demo

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/regions"
	"github.com/ipeval/ipeval/surveys"
	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// SurveyRespondents is about how many people the demo survey asks per
// region, comfortably above the default minimum sample.
const SurveyRespondents = 160

// survey commissions the current cycle's satisfaction survey from the demo
// contractor, uploads its generated answers — with a few speeders and
// duplicates for the quality screens to catch — and accepts it, so that
// the cycle's D1 values come from the survey as they would in production.
func survey(ctx context.Context, tx *gorm.DB, store *surveys.Store, cy cycles.Cycle, org auth.Organisation,
	manager, contractor auth.Principal) (surveys.Project, error) {
	sv := store.On(tx)
	year := cy.Year
	p, err := sv.CreateProject(ctx, manager, cy.ID, surveys.ProjectInput{
		OrganisationID: org.ID, Name: fmt.Sprintf("%d年度知识产权公共服务社会满意度调查", year),
		FieldworkStart: fmt.Sprintf("%d-09-01", year), FieldworkEnd: fmt.Sprintf("%d-10-31", year),
	})
	if err != nil {
		return p, fmt.Errorf("demo survey project: %w", err)
	}
	var rs []regions.Region
	if err := tx.Scopes(regions.Assessed).Order("code").Find(&rs).Error; err != nil {
		return p, fmt.Errorf("list regions: %w", err)
	}
	file, err := SurveyAnswers(questionnaire.Default(), rs, year)
	if err != nil {
		return p, err
	}
	b, err := sv.IngestNow(ctx, contractor, p.ID, "满意度调查数据.csv", bytes.NewReader(file))
	if err != nil {
		return p, fmt.Errorf("demo survey upload: %w", err)
	}
	if b.Status != surveys.BatchValid {
		return p, fmt.Errorf("demo survey upload is %s: %s", b.Status, b.Problems)
	}
	if _, _, err := sv.Move(ctx, contractor, p.ID, surveys.Submit, ""); err != nil {
		return p, fmt.Errorf("demo survey submit: %w", err)
	}
	p, _, err = sv.Move(ctx, manager, p.ID, surveys.Accept, "演示数据")
	if err != nil {
		return p, fmt.Errorf("demo survey accept: %w", err)
	}
	return p, nil
}

// SurveyAnswers writes the survey file a contractor would hand over: one
// row per respondent, answers as label text the way survey tools export
// them, the completion time in seconds. Satisfaction follows each region's
// strength, so the index agrees with the rest of the demo.
func SurveyAnswers(q questionnaire.Questionnaire, rs []regions.Region, year int) ([]byte, error) {
	rng := rand.New(rand.NewPCG(uint64(year), 5))
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	header := []string{"region", "respondent_type", "respondent_id", "seconds", "submitted_at"}
	for _, it := range q.Items {
		header = append(header, it.Code)
	}
	if err := w.Write(header); err != nil {
		return nil, err
	}
	labels := map[int]string{}
	for _, l := range q.Labels {
		labels[l.Value] = l.Text
	}
	start := time.Date(year, 9, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))
	id := 0
	for i, r := range rs {
		level := 2.6 + 2.2*strength(i, len(rs), year) // mean answer, about 3.9–4.7
		n := SurveyRespondents + rng.IntN(40)
		var last []string
		for k := range n {
			id++
			row := []string{r.Code, q.RespondentTypes[rng.IntN(len(q.RespondentTypes))].Code,
				"R" + strconv.Itoa(id), strconv.Itoa(150 + rng.IntN(240)),
				start.Add(time.Duration(rng.IntN(60*24)) * time.Minute * 40 / 24).Format("2006-01-02 15:04:05")}
			for range q.Items {
				x := int(math.Round(level + rng.NormFloat64()*0.7))
				row = append(row, labels[min(5, max(1, x))])
			}
			switch {
			case k%37 == 5: // a speeder: five seconds for the whole questionnaire
				row[3] = "5"
			case k%53 == 7 && last != nil: // the same respondent sent twice
				row = append([]string(nil), last...)
			}
			if err := w.Write(row); err != nil {
				return nil, err
			}
			last = row
		}
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}
