// Package site is the HTML site of ipeval: the server-rendered pages,
// their templates, style sheets and scripts, and the message catalogue
// (i18n). Page handlers render view models that the owning domain
// assembles (reports.Views, indicators.Collection, surveys.Views); the
// route table (internal/httpapi), the middleware and the problem mapping
// are shared with the JSON API through internal/web.
package site

import (
	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/reports"
	"github.com/ipeval/ipeval/surveys"
)

// Handlers answer the page routes that the route table names.
type Handlers struct {
	deps  web.Deps
	edge  *web.Edge
	opts  web.Options
	pages *Renderer
	// docs are the groups of operations the /docs page lists (SetOpenAPI).
	docs []docGroup
	// viewModels assembles the result pages' view models from the stores.
	viewModels *reports.Views
	// collection assembles the data-collection page from the stores.
	collection *indicators.Collection
	// review assembles the review queue from the stores.
	review *indicators.ReviewQueue
	// surveyViews assembles the survey pages from the stores.
	surveyViews *surveys.Views
	// checklists assembles the manager's cycle pages from the stores.
	checklists *reports.Checklists
	// runs assembles a cycle's runs page from the stores.
	runs *reports.Runs
	// schemeViews assembles the scheme pages from the stores.
	schemeViews *indicators.SchemeViews
	// jobs assembles the jobs page from the job queue.
	jobs *reports.Jobs
}

// New returns the site's handlers over the packages and middleware of
// edge, drawing with pages.
func New(edge *web.Edge, pages *Renderer) *Handlers {
	deps := edge.Deps()
	pages.cityCycle = currentCycle(deps.Cycles.List)
	return &Handlers{deps: deps, edge: edge, opts: edge.Options(), pages: pages,
		viewModels:  reports.NewViews(deps.Cycles, deps.Runs, deps.Schemes, deps.Surveys, deps.Values, deps.Regions),
		collection:  indicators.NewCollection(deps.Cycles, deps.Schemes, deps.Values, deps.Evidence),
		review:      indicators.NewReviewQueue(deps.Cycles, deps.Schemes, deps.Values, deps.Evidence),
		surveyViews: surveys.NewViews(deps.Surveys, deps.Cycles, deps.Auth),
		checklists:  reports.NewChecklists(deps.Cycles, deps.Schemes, deps.Values, deps.Surveys, deps.Runs),
		runs:        reports.NewRuns(deps.Cycles, deps.Runs, deps.Auth, deps.Reports),
		schemeViews: indicators.NewSchemeViews(deps.Schemes, deps.Cycles),
		jobs:        reports.NewJobs(deps.Jobs, deps.Auth),
	}
}

// SetOpenAPI reads the OpenAPI document into what the /docs page shows:
// the document is derived from the route table, which names these
// handlers, so it comes after New.
func (h *Handlers) SetOpenAPI(doc []byte) error {
	docs, err := buildDocs(doc)
	if err != nil {
		return err
	}
	h.docs = docs
	return nil
}
