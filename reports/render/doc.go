// Package render draws what people look at from results already computed,
// touching no storage: go-echarts dashboards, the business-environment
// report and the exports of published runs (workbook, handover files).
// Package reports above it stores the rendered reports; package static
// holds the browser assets.
package render
