// Package evaluation owns scoring: the pure engine that turns a scheme,
// regions and indicator values into scores, grades, capped grades and their
// explanations, and, beside it, the runs that freeze those inputs and the
// publication of one run per cycle. The engine imports no database, HTTP or
// queue package, so that the same code scores in a worker, from files and
// in tests.
package evaluation
