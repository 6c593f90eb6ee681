// Package reports serves what people look at, from what the other
// domains store; drawing is package render's, and the browser assets are
// package static's.
//
// It keeps the rendered business-environment report of each run
// (知识产权营商环境评价报告, Store): a job renders it with package render when
// the run is published, or when an admin asks, and stores the document
// whole beside the run, with its SHA-256, size, the job that rendered it
// and when. Readers get the province report (admins) or a region's
// edition cut from it (that region's city official): the front, the
// region's own page and the back, never another region's page.
//
// The document is kept in a table column rather than in internal/blobs:
// it is small (about 0.7 MB for 120 regions), belongs to its run like the
// run's results, is written in one transaction with its metadata, and
// needs no directory shared by every server and worker.
//
// Views assembles the view models of the result pages — the province
// overview, a region's dashboard and the comparison of two runs — so that
// the site's handlers join no stores themselves.
package reports
