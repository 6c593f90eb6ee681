package surveys_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
	"github.com/ipeval/ipeval/surveys"
)

// TestSummaries lists projects with their counts as each caller may see
// them: a valid and an invalid batch are counted by status, and only the
// valid one's rows are responses; another organisation's contractor sees
// none of them and a city official is refused.
func TestSummaries(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		p := f.project(t)
		empty := f.project(t)
		f.upload(t, p.ID, answers(), "")
		f.upload(t, p.ID, header+row("140100", "R1", 300, 6, 5, 5, 5, 5, 5), "")

		list, err := f.store.Summaries(ctx, f.contractor, "")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]surveys.ProjectSummary{}
		for _, s := range list {
			got[s.ID] = s
		}
		s := got[p.ID]
		if len(list) != 2 || s.Batches[surveys.BatchValid] != 1 || s.Batches[surveys.BatchInvalid] != 1 || s.Responses != 10 {
			t.Fatalf("summaries %+v", list)
		}
		if s.QuestionnaireName == "" || s.QuestionnaireVersion != 1 {
			t.Errorf("questionnaire %q version %d", s.QuestionnaireName, s.QuestionnaireVersion)
		}
		if e := got[empty.ID]; len(e.Batches) != 0 || e.Responses != 0 {
			t.Errorf("a project without uploads: %+v", e)
		}

		for _, tc := range []struct {
			name string
			by   auth.Principal
			n    int
			err  error
		}{
			{"admin", f.admin, 2, nil},
			{"another organisation", f.outsider, 0, nil},
			{"city official", f.city, 0, fault.ErrForbidden},
		} {
			t.Run(tc.name, func(t *testing.T) {
				list, err := f.store.Summaries(ctx, tc.by, "")
				if !errors.Is(err, tc.err) || len(list) != tc.n {
					t.Fatalf("%d projects, %v; want %d, %v", len(list), err, tc.n, tc.err)
				}
			})
		}
	})
}
