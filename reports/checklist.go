package reports

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/surveys"
)

// CycleLister reads and lists cycles, as cycles.Store does.
type CycleLister interface {
	CycleReader
	List(ctx context.Context) ([]cycles.Cycle, error)
}

// SchemeLister reads and lists scheme versions, as
// indicators.SchemeStore does.
type SchemeLister interface {
	Get(ctx context.Context, id string) (indicators.StoredScheme, error)
	List(ctx context.Context) ([]indicators.StoredScheme, error)
}

// CompletenessReader counts a cycle's values per region and dimension, as
// indicators.ValueStore does.
type CompletenessReader interface {
	Completeness(ctx context.Context, by auth.Principal, cycleID string) ([]indicators.Completeness, error)
}

// ProjectSummarizer lists a cycle's survey projects with their batches, as
// surveys.Store does.
type ProjectSummarizer interface {
	Summaries(ctx context.Context, by auth.Principal, cycleID string) ([]surveys.ProjectSummary, error)
}

// RunLister lists a cycle's runs, as evaluation.Store does.
type RunLister interface {
	List(ctx context.Context, by auth.Principal, cycleID string) ([]evaluation.Run, error)
}

// Checklists assembles the manager's cycle pages — the list of cycles
// and a cycle's home, the year's checklist — from the stores that hold
// their parts. Words are left as message keys for the site to translate.
type Checklists struct {
	cycles   CycleLister
	schemes  SchemeLister
	values   CompletenessReader
	projects ProjectSummarizer
	runs     RunLister
}

// NewChecklists returns the cycle pages' assembler over the stores.
func NewChecklists(cs CycleLister, schemes SchemeLister, values CompletenessReader, projects ProjectSummarizer, runs RunLister) *Checklists {
	return &Checklists{cycles: cs, schemes: schemes, values: values, projects: projects, runs: runs}
}

// CycleList is the list of cycles with the scheme versions a new cycle
// may be assessed with.
type CycleList struct {
	Cycles []CycleRow
	// Schemes are the stored scheme versions, by code, newest version
	// first.
	Schemes []indicators.StoredScheme
}

// CycleRow is a cycle with the label of its scheme version ("" for none).
type CycleRow struct {
	cycles.Cycle
	Scheme string
}

// SchemeLabel names a scheme version as the pages show it.
func SchemeLabel(st indicators.StoredScheme) string {
	return st.Name + " · " + st.Code + " v" + strconv.Itoa(st.Version)
}

// List lists every cycle, newest year first, and the scheme versions.
func (c *Checklists) List(ctx context.Context) (CycleList, error) {
	cs, err := c.cycles.List(ctx)
	if err != nil {
		return CycleList{}, err
	}
	ss, err := c.schemes.List(ctx)
	if err != nil {
		return CycleList{}, err
	}
	label := make(map[string]string, len(ss))
	for _, st := range ss {
		label[st.ID] = SchemeLabel(st)
	}
	d := CycleList{Cycles: make([]CycleRow, len(cs)), Schemes: ss}
	for i, cy := range cs {
		d.Cycles[i] = CycleRow{Cycle: cy}
		if cy.SchemeID != nil {
			d.Cycles[i].Scheme = label[*cy.SchemeID]
		}
	}
	return d, nil
}

// CycleHome is a cycle's home: the year's checklist as the office thinks
// of it, and the state changes the cycle may make next.
type CycleHome struct {
	Cycle cycles.Cycle
	Lines []Line
	// Actions are the state changes the cycle may make from its state;
	// publication is not one of them (a run is published, package
	// evaluation).
	Actions []Action
	// Schemes are the stored versions the cycle may be assessed with
	// instead, offered while SchemeChangeable: before scoring starts.
	// SchemeID is the version it is assessed with now ("" for none).
	Schemes          []indicators.StoredScheme
	SchemeID         string
	SchemeChangeable bool
}

// Line is one line of the checklist: a message key naming it, whether it
// is done, what stands now (Value, after the message ValueKey when set)
// and where it is done (Href; "" when that page does not exist).
type Line struct {
	Key      string
	Done     bool
	ValueKey string
	Value    string
	Href     string
	// Deadline is the collection line's announced deadline, if any.
	Deadline *Deadline
}

// Deadline is a collection deadline as the pages show it: the day and,
// while collection is open, the days left until it (Days ≥ 0) or past it
// (Overdue, Days > 0). It informs; nothing is refused after it.
type Deadline struct {
	Day     string
	Open    bool
	Overdue bool
	Days    int
}

// DeadlineOf is cy's collection deadline seen on the day of now, or nil
// when it has none.
func DeadlineOf(cy cycles.Cycle, now time.Time) *Deadline {
	if cy.CollectionDeadline == nil {
		return nil
	}
	day := cy.CollectionDeadline.UTC()
	days := int(day.Sub(cycles.Today(now)).Hours() / 24)
	d := &Deadline{Day: day.Format(time.DateOnly), Open: cy.Status == cycles.Collecting, Days: days}
	if days < 0 {
		d.Overdue, d.Days = true, -days
	}
	return d
}

// Action is a state change offered on the cycle home: the state it moves
// to and the message key prefix of its button and confirmation
// ("cycles.act.<from>.<to>").
type Action struct {
	To  cycles.Status
	Key string
}

// Home assembles the home of cycle cycleID for by (an admin).
func (c *Checklists) Home(ctx context.Context, by auth.Principal, cycleID string) (CycleHome, error) {
	cy, err := c.cycles.Get(ctx, cycleID)
	if err != nil {
		return CycleHome{}, err
	}
	h := CycleHome{Cycle: cy}
	for _, to := range cy.Status.Next() {
		if to != cycles.Published {
			h.Actions = append(h.Actions, Action{To: to, Key: fmt.Sprintf("cycles.act.%s.%s", cy.Status, to)})
		}
	}
	base := "/cycles/" + cy.ID
	scheme := Line{Key: "cycles.line.scheme", ValueKey: "cycles.none"}
	if cy.SchemeID != nil {
		st, err := c.schemes.Get(ctx, *cy.SchemeID)
		if err != nil {
			return CycleHome{}, err
		}
		scheme = Line{Key: "cycles.line.scheme", Done: true, Value: SchemeLabel(st), Href: "/schemes/" + st.ID}
		h.SchemeID = st.ID
	}
	if cy.Status == cycles.Draft || cy.Status == cycles.Collecting {
		if h.Schemes, err = c.schemes.List(ctx); err != nil {
			return CycleHome{}, err
		}
		h.SchemeChangeable = true
	}
	past := func(s cycles.Status) bool {
		order := []cycles.Status{cycles.Draft, cycles.Collecting, cycles.Scoring, cycles.Published, cycles.Archived}
		return slices.Index(order, cy.Status) >= slices.Index(order, s)
	}
	h.Lines = append(h.Lines, scheme,
		Line{Key: "cycles.line.collection", Done: past(cycles.Scoring), ValueKey: "status." + string(cy.Status), Href: base + "/collect",
			Deadline: DeadlineOf(cy, time.Now())})
	lines, err := c.collection(ctx, by, cy)
	if err != nil {
		return CycleHome{}, err
	}
	h.Lines = append(h.Lines, lines...)
	if lines, err = c.survey(ctx, by, cy); err != nil {
		return CycleHome{}, err
	}
	h.Lines = append(h.Lines, lines...)
	runs, err := c.runs.List(ctx, by, cy.ID)
	if err != nil {
		return CycleHome{}, err
	}
	runLine := Line{Key: "cycles.line.runs", Done: len(runs) > 0, Value: strconv.Itoa(len(runs)), Href: base + "/runs"}
	if len(runs) > 0 {
		runLine.Value += " · " + runs[0].CreatedAt.UTC().Format("2006-01-02 15:04")
	}
	published := Line{Key: "cycles.line.published", Done: past(cycles.Published), ValueKey: "cycles.no"}
	if i := slices.IndexFunc(runs, func(r evaluation.Run) bool { return r.PublishedAt != nil }); i >= 0 {
		published.ValueKey, published.Value, published.Href = "cycles.yes", " · "+runs[i].PublishedAt.UTC().Format("2006-01-02 15:04"), base+"/report"
	}
	h.Lines = append(h.Lines, runLine, published)
	return h, nil
}

// collection is the checklist's lines on the values: regions submitted,
// values awaiting review and evidence missing. A cycle without a scheme
// has none to count yet.
func (c *Checklists) collection(ctx context.Context, by auth.Principal, cy cycles.Cycle) ([]Line, error) {
	href := "/cycles/" + cy.ID + "/collect"
	if cy.SchemeID == nil {
		return []Line{{Key: "cycles.line.regions", Value: "—"}, {Key: "cycles.line.review", Value: "—"},
			{Key: "cycles.line.evidence", Value: "—"}}, nil
	}
	comp, err := c.values.Completeness(ctx, by, cy.ID)
	if err != nil && !errors.Is(err, fault.ErrNotFound) {
		return nil, err
	}
	open := map[string]bool{} // regions with values still to enter or correct
	all := map[string]bool{}
	awaiting, evidence := 0, 0
	for _, r := range comp {
		all[r.RegionCode] = true
		if r.Draft+r.Rejected+r.Missing > 0 {
			open[r.RegionCode] = true
		}
		awaiting += r.Submitted
		evidence += len(r.EvidenceMissing)
	}
	submitted := len(all) - len(open)
	return []Line{
		{Key: "cycles.line.regions", Done: len(all) > 0 && submitted == len(all), Value: fmt.Sprintf("%d/%d", submitted, len(all)), Href: href},
		{Key: "cycles.line.review", Done: len(all) > 0 && awaiting == 0 && submitted == len(all), Value: strconv.Itoa(awaiting), Href: "/cycles/" + cy.ID + "/review"},
		{Key: "cycles.line.evidence", Done: evidence == 0, Value: strconv.Itoa(evidence), Href: href},
	}, nil
}

// survey is the checklist's lines on the satisfaction survey: projects
// commissioned, those with valid uploads, and those accepted.
func (c *Checklists) survey(ctx context.Context, by auth.Principal, cy cycles.Cycle) ([]Line, error) {
	ps, err := c.projects.Summaries(ctx, by, cy.ID)
	if err != nil {
		return nil, err
	}
	uploaded, accepted := 0, 0
	for _, p := range ps {
		if p.Batches[surveys.BatchValid] > 0 {
			uploaded++
		}
		if p.Status == surveys.ProjectAccepted || p.Status == surveys.ProjectLocked {
			accepted++
		}
	}
	href := "/surveys?cycle=" + cy.ID
	n := len(ps)
	return []Line{
		{Key: "cycles.line.commissioned", Done: n > 0, Value: strconv.Itoa(n), Href: href},
		{Key: "cycles.line.uploaded", Done: n > 0 && uploaded == n, Value: fmt.Sprintf("%d/%d", uploaded, n), Href: href},
		{Key: "cycles.line.accepted", Done: n > 0 && accepted == n, Value: fmt.Sprintf("%d/%d", accepted, n), Href: href},
	}, nil
}
