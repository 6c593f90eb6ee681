package api

import (
	"bytes"
	"cmp"
	"fmt"
	"path"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/internal/web"
	"github.com/ipeval/ipeval/surveys"
	"github.com/ipeval/ipeval/surveys/questionnaire"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

// Media types of the survey downloads.
const (
	MIMEXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	MIMECSV  = "text/csv; charset=utf-8"
)

// BatchForm documents the multipart form of a survey upload.
type BatchForm struct {
	File string `json:"file" jsonschema:"format=binary"`
	// Replaces names a valid batch of the project that the upload replaces
	// once it has been read without problems.
	Replaces string `json:"replaces,omitempty"`
}

// MoveRequest is the optional body of a project transition.
type MoveRequest struct {
	// Reason is required to return a project; recorded for the others.
	Reason string `json:"reason"`
}

// AcceptView is a project just accepted and what accepting it wrote.
type AcceptView struct {
	Project    surveys.Project    `json:"project"`
	Acceptance surveys.Acceptance `json:"acceptance"`
}

// ListQuestionnaires answers questionnaires.list (List questionnaire
// versions).
func (h *Handlers) ListQuestionnaires(c *fiber.Ctx, p auth.Principal) error {
	qs, err := h.deps.Surveys.ListQuestionnaires(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(qs))
}

// GetQuestionnaire answers questionnaires.get (A questionnaire version).
func (h *Handlers) GetQuestionnaire(c *fiber.Ctx, p auth.Principal) error {
	sq, err := h.deps.Surveys.GetQuestionnaire(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(sq)
}

// CreateQuestionnaire stores a questionnaire sent as JSON or YAML: 201 for
// a new version, 200 with the latest version when it is the same document.
func (h *Handlers) CreateQuestionnaire(c *fiber.Ctx, p auth.Principal) error {
	ct := string(c.Request().Header.ContentType())
	if !strings.HasPrefix(ct, fiber.MIMEApplicationJSON) && !strings.Contains(ct, "yaml") {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "Content-Type must be application/json or application/yaml")
	}
	if len(c.Body()) > questionnaire.MaxSize {
		return fault.With(fault.ErrTooLarge, "a questionnaire is at most 1 MiB", "问卷文件不能超过1 MiB", nil)
	}
	sq, created, err := h.deps.Surveys.CreateQuestionnaire(c.UserContext(), p, c.Body())
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "questionnaire:"+sq.ID)
	if !created {
		web.SetAuditDetail(c, "identical to the latest version")
		return c.JSON(sq)
	}
	c.Location("/api/v1/questionnaires/" + sq.ID)
	return c.Status(fiber.StatusCreated).JSON(sq)
}

// CreateSurveyProject answers survey_projects.create (Commission a
// satisfaction survey of a cycle from a contractor).
func (h *Handlers) CreateSurveyProject(c *fiber.Ctx, p auth.Principal) error {
	var in surveys.ProjectInput
	if err := web.DecodeJSON(c, &in); err != nil {
		return err
	}
	pr, err := h.deps.Surveys.CreateProject(c.UserContext(), p, web.Param(c, "id"), in)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "survey_project:"+pr.ID)
	c.Location("/api/v1/survey-projects/" + pr.ID)
	return c.Status(fiber.StatusCreated).JSON(pr)
}

// ListSurveyProjects answers survey_projects.list (Survey projects (a
// contractor: its organisation's; ?cycle=ID)).
func (h *Handlers) ListSurveyProjects(c *fiber.Ctx, p auth.Principal) error {
	ps, err := h.deps.Surveys.ListProjects(c.UserContext(), p, web.Query(c, "cycle"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(ps))
}

// GetSurveyProject answers survey_projects.get (A survey project with its
// questionnaire).
func (h *Handlers) GetSurveyProject(c *fiber.Ctx, p auth.Principal) error {
	v, err := h.deps.Surveys.GetProject(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// SetSurveyMapping answers survey_projects.mapping (Save the column mapping
// used to read the project's uploads).
func (h *Handlers) SetSurveyMapping(c *fiber.Ctx, p auth.Principal) error {
	var m responsefile.Mapping
	if err := web.DecodeJSON(c, &m); err != nil {
		return err
	}
	pr, err := h.deps.Surveys.SetMapping(c.UserContext(), p, web.Param(c, "id"), m)
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, fmt.Sprintf("%d mapped columns", len(m.Columns)))
	return c.JSON(pr)
}

// MoveSurveyProject returns the handler of one transition. Its body is
// optional: {"reason": "..."}, required by the store to return a project.
func (h *Handlers) MoveSurveyProject(t surveys.Transition) func(c *fiber.Ctx, p auth.Principal) error {
	return func(c *fiber.Ctx, p auth.Principal) error {
		var req MoveRequest
		if len(c.Body()) > 0 {
			if err := web.DecodeJSON(c, &req); err != nil {
				return err
			}
		}
		pr, acc, err := h.deps.Surveys.Move(c.UserContext(), p, web.Param(c, "id"), t, req.Reason)
		if err != nil {
			return err
		}
		if acc == nil {
			return c.JSON(pr)
		}
		web.SetAuditDetail(c, fmt.Sprintf("indicators %s: %d regions written, %d skipped",
			strings.Join(acc.Indicators, " "), len(acc.Regions), len(acc.Skipped)))
		return c.JSON(AcceptView{Project: pr, Acceptance: *acc})
	}
}

// SurveyTemplate sends a project's empty upload template (?format=xlsx|csv).
func (h *Handlers) SurveyTemplate(c *fiber.Ctx, p auth.Principal) error {
	format, err := fileFormat(c, responsefile.FormatXLSX)
	if err != nil {
		return err
	}
	id := web.Param(c, "id")
	v, err := h.deps.Surveys.GetProject(c.UserContext(), p, id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := h.deps.Surveys.Template(c.UserContext(), p, id, format, &buf); err != nil {
		return err
	}
	return sendFile(c, mediaTypeOf(format), "满意度调查模板-"+fileSafe(v.Name)+"."+format, buf.Bytes())
}

// UploadSurveyBatch stores the file of a multipart form (file, replaces)
// as a batch and queues its reading: 202 with the batch, or 200 with the
// batch already holding the same file.
func (h *Handlers) UploadSurveyBatch(c *fiber.Ctx, p auth.Principal) error {
	b, created, err := h.edge.SurveyUpload(c, p)
	if err != nil {
		return err
	}
	if !created {
		return c.JSON(b)
	}
	c.Location("/api/v1/survey-batches/" + b.ID)
	return c.Status(fiber.StatusAccepted).JSON(b)
}

// ListSurveyBatches answers survey_batches.list (Uploaded batches of a
// project).
func (h *Handlers) ListSurveyBatches(c *fiber.Ctx, p auth.Principal) error {
	bs, err := h.deps.Surveys.ListBatches(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(bs))
}

// SurveyQuality answers survey_projects.quality (Quality summary and
// satisfaction index per region).
func (h *Handlers) SurveyQuality(c *fiber.Ctx, p auth.Principal) error {
	idx, err := h.deps.Surveys.Quality(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(idx))
}

// GetSurveyBatch answers survey_batches.get (A batch with its first
// problems and its job's progress).
func (h *Handlers) GetSurveyBatch(c *fiber.Ctx, p auth.Principal) error {
	v, err := h.deps.Surveys.GetBatch(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// SurveyReport sends a batch's validation report (?format=csv|xlsx).
func (h *Handlers) SurveyReport(c *fiber.Ctx, p auth.Principal) error {
	format, err := fileFormat(c, responsefile.FormatCSV)
	if err != nil {
		return err
	}
	id := web.Param(c, "id")
	v, err := h.deps.Surveys.GetBatch(c.UserContext(), p, id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := h.deps.Surveys.Report(c.UserContext(), p, id, format, &buf); err != nil {
		return err
	}
	base := cmp.Or(strings.TrimSuffix(v.FileName, path.Ext(v.FileName)), v.ID)
	return sendFile(c, mediaTypeOf(format), "校验报告-"+fileSafe(base)+"."+format, buf.Bytes())
}

// WithdrawSurveyBatch answers survey_batches.withdraw (Withdraw a batch:
// its responses leave the indices (it stays on record)).
func (h *Handlers) WithdrawSurveyBatch(c *fiber.Ctx, p auth.Principal) error {
	b, err := h.deps.Surveys.Withdraw(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(b)
}

// CycleSurveyIndices answers survey_indices.list (Satisfaction indices of a
// cycle's accepted surveys (city officials: their region, once published)).
func (h *Handlers) CycleSurveyIndices(c *fiber.Ctx, p auth.Principal) error {
	idx, err := h.deps.Surveys.CycleIndices(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(idx))
}

// fileFormat reads the format of a spreadsheet download, def when absent.
func fileFormat(c *fiber.Ctx, def string) (string, error) {
	switch f := cmp.Or(strings.ToLower(strings.TrimSpace(web.Query(c, "format"))), def); f {
	case responsefile.FormatXLSX, responsefile.FormatCSV:
		return f, nil
	}
	return "", fault.Invalid(fault.Field("format", "unknown_format", "格式须为 xlsx 或 csv", "format must be xlsx or csv"))
}

func mediaTypeOf(format string) string {
	if format == responsefile.FormatCSV {
		return MIMECSV
	}
	return MIMEXLSX
}

// fileSafe keeps a name usable as a file name: no path separators or
// characters that file systems refuse.
func fileSafe(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || strings.ContainsRune(`/\:*?"<>|`, r) {
			return '_'
		}
		return r
	}, strings.TrimSpace(name))
}
