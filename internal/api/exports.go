package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/evaluation"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/reports/render"
)

// Formats of the hand-over package.
const (
	handoverCSV  = "csv"
	handoverJSON = "json"
)

// RunWorkbook answers runs.workbook (The run as an Excel workbook: results,
// indicator scores, fired rules, sensitivity, about (?region=CODE: that
// region's detail; city officials: a published run, the province ranking
// and their own region's detail)).
func (h *Handlers) RunWorkbook(c *fiber.Ctx, p auth.Principal) error {
	ex, err := h.deps.Runs.Export(c.UserContext(), p, web.Param(c, "id"), web.Query(c, "region"))
	if err != nil {
		return err
	}
	d := exportData(ex)
	var buf bytes.Buffer
	if err := render.Workbook(&buf, d); err != nil {
		return err
	}
	return sendFile(c, MIMEXLSX, render.FileName("评价结果", d.Info, "xlsx"), buf.Bytes())
}

// RunHandover answers runs.handover (Hand-over package for the
// business-environment evaluation: one row per region × indicator with the
// value the run scored, unit, source, review status, run and scheme version
// (?format=csv|json&region=CODE; city officials: a published run, their own
// region)).
func (h *Handlers) RunHandover(c *fiber.Ctx, p auth.Principal) error {
	format := cmp.Or(strings.ToLower(strings.TrimSpace(web.Query(c, "format"))), handoverCSV)
	if format != handoverCSV && format != handoverJSON {
		return fault.Invalid(fault.Field("format", "unknown_format", "格式须为 csv 或 json", "format must be csv or json"))
	}
	ex, err := h.deps.Runs.Export(c.UserContext(), p, web.Param(c, "id"), web.Query(c, "region"))
	if err != nil {
		return err
	}
	d := exportData(ex)
	rows := render.Handover(d)
	name := render.FileName("营商环境评价移交数据", d.Info, format)
	if format == handoverJSON {
		// encoding/json escapes <, > and &: user text stays intact, and inert.
		b, err := json.Marshal(web.ListOf(rows))
		if err != nil {
			return err
		}
		return sendFile(c, fiber.MIMEApplicationJSONCharsetUTF8, name, b)
	}
	var buf bytes.Buffer
	if err := render.WriteHandoverCSV(&buf, rows); err != nil {
		return err
	}
	return sendFile(c, MIMECSV, name, buf.Bytes())
}

// exportData is an export of a run as the writers of package reports take it.
func exportData(ex evaluation.Export) render.RunData {
	r := ex.Run
	return render.RunData{
		Info: render.RunInfo{ID: r.ID, CycleID: r.CycleID, CycleName: ex.Cycle.Name, CycleYear: ex.Cycle.Year,
			SchemeID: r.SchemeID, SchemeVersion: r.SchemeVersion, EngineVersion: r.EngineVersion, Seed: r.Seed,
			InputsHash: r.InputsHash, ResultsHash: r.ResultsHash, CreatedAt: r.CreatedAt, PublishedAt: r.PublishedAt,
			Region: ex.Region},
		Input: ex.Input, Result: ex.Result, Sensitivity: ex.Sensitivity,
	}
}
