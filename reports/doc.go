// Package reports owns what people look at: go-echarts dashboards, the
// business-environment report and the exports of published runs, every
// asset served by the binary itself.
package reports
