// Package indicators owns assessment schemes (评价方案) and the collection of
// region indicator values: entry, evidence, review status, optimistic
// locking and revision history, and bulk import from Excel and CSV.
package indicators
