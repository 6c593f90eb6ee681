package httpapi

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
	mimeXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	mimeCSV  = "text/csv; charset=utf-8"
)

// batchForm documents the multipart form of a survey upload.
type batchForm struct {
	File string `json:"file" jsonschema:"format=binary"`
	// Replaces names a valid batch of the project that the upload replaces
	// once it has been read without problems.
	Replaces string `json:"replaces,omitempty"`
}

// moveRequest is the optional body of a project transition.
type moveRequest struct {
	// Reason is required to return a project; recorded for the others.
	Reason string `json:"reason"`
}

// acceptView is a project just accepted and what accepting it wrote.
type acceptView struct {
	Project    surveys.Project    `json:"project"`
	Acceptance surveys.Acceptance `json:"acceptance"`
}

func (s *Server) listQuestionnaires(c *fiber.Ctx, p auth.Principal) error {
	qs, err := s.deps.Surveys.ListQuestionnaires(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(qs))
}

func (s *Server) getQuestionnaire(c *fiber.Ctx, p auth.Principal) error {
	sq, err := s.deps.Surveys.GetQuestionnaire(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(sq)
}

// createQuestionnaire stores a questionnaire sent as JSON or YAML: 201 for
// a new version, 200 with the latest version when it is the same document.
func (s *Server) createQuestionnaire(c *fiber.Ctx, p auth.Principal) error {
	ct := string(c.Request().Header.ContentType())
	if !strings.HasPrefix(ct, fiber.MIMEApplicationJSON) && !strings.Contains(ct, "yaml") {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "Content-Type must be application/json or application/yaml")
	}
	if len(c.Body()) > questionnaire.MaxSize {
		return fault.With(fault.ErrTooLarge, "a questionnaire is at most 1 MiB", "问卷文件不能超过1 MiB", nil)
	}
	sq, created, err := s.deps.Surveys.CreateQuestionnaire(c.UserContext(), p, c.Body())
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

func (s *Server) createSurveyProject(c *fiber.Ctx, p auth.Principal) error {
	var in surveys.ProjectInput
	if err := web.DecodeJSON(c, &in); err != nil {
		return err
	}
	pr, err := s.deps.Surveys.CreateProject(c.UserContext(), p, web.Param(c, "id"), in)
	if err != nil {
		return err
	}
	web.SetAuditObject(c, "survey_project:"+pr.ID)
	c.Location("/api/v1/survey-projects/" + pr.ID)
	return c.Status(fiber.StatusCreated).JSON(pr)
}

func (s *Server) listSurveyProjects(c *fiber.Ctx, p auth.Principal) error {
	ps, err := s.deps.Surveys.ListProjects(c.UserContext(), p, web.Query(c, "cycle"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(ps))
}

func (s *Server) getSurveyProject(c *fiber.Ctx, p auth.Principal) error {
	v, err := s.deps.Surveys.GetProject(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) setSurveyMapping(c *fiber.Ctx, p auth.Principal) error {
	var m responsefile.Mapping
	if err := web.DecodeJSON(c, &m); err != nil {
		return err
	}
	pr, err := s.deps.Surveys.SetMapping(c.UserContext(), p, web.Param(c, "id"), m)
	if err != nil {
		return err
	}
	web.SetAuditDetail(c, fmt.Sprintf("%d mapped columns", len(m.Columns)))
	return c.JSON(pr)
}

// moveSurveyProject returns the handler of one transition. Its body is
// optional: {"reason": "..."}, required by the store to return a project.
func (s *Server) moveSurveyProject(t surveys.Transition) func(c *fiber.Ctx, p auth.Principal) error {
	return func(c *fiber.Ctx, p auth.Principal) error {
		var req moveRequest
		if len(c.Body()) > 0 {
			if err := web.DecodeJSON(c, &req); err != nil {
				return err
			}
		}
		pr, acc, err := s.deps.Surveys.Move(c.UserContext(), p, web.Param(c, "id"), t, req.Reason)
		if err != nil {
			return err
		}
		if acc == nil {
			return c.JSON(pr)
		}
		web.SetAuditDetail(c, fmt.Sprintf("indicators %s: %d regions written, %d skipped",
			strings.Join(acc.Indicators, " "), len(acc.Regions), len(acc.Skipped)))
		return c.JSON(acceptView{Project: pr, Acceptance: *acc})
	}
}

// surveyTemplate sends a project's empty upload template (?format=xlsx|csv).
func (s *Server) surveyTemplate(c *fiber.Ctx, p auth.Principal) error {
	format, err := fileFormat(c, responsefile.FormatXLSX)
	if err != nil {
		return err
	}
	id := web.Param(c, "id")
	v, err := s.deps.Surveys.GetProject(c.UserContext(), p, id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := s.deps.Surveys.Template(c.UserContext(), p, id, format, &buf); err != nil {
		return err
	}
	return sendFile(c, mediaTypeOf(format), "满意度调查模板-"+fileSafe(v.Name)+"."+format, buf.Bytes())
}

// uploadSurveyBatch stores the file of a multipart form (file, replaces)
// as a batch and queues its reading: 202 with the batch, or 200 with the
// batch already holding the same file.
func (s *Server) uploadSurveyBatch(c *fiber.Ctx, p auth.Principal) error {
	b, created, err := s.edge.SurveyUpload(c, p)
	if err != nil {
		return err
	}
	if !created {
		return c.JSON(b)
	}
	c.Location("/api/v1/survey-batches/" + b.ID)
	return c.Status(fiber.StatusAccepted).JSON(b)
}

func (s *Server) listSurveyBatches(c *fiber.Ctx, p auth.Principal) error {
	bs, err := s.deps.Surveys.ListBatches(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(bs))
}

func (s *Server) surveyQuality(c *fiber.Ctx, p auth.Principal) error {
	idx, err := s.deps.Surveys.Quality(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(idx))
}

func (s *Server) getSurveyBatch(c *fiber.Ctx, p auth.Principal) error {
	v, err := s.deps.Surveys.GetBatch(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}

// surveyReport sends a batch's validation report (?format=csv|xlsx).
func (s *Server) surveyReport(c *fiber.Ctx, p auth.Principal) error {
	format, err := fileFormat(c, responsefile.FormatCSV)
	if err != nil {
		return err
	}
	id := web.Param(c, "id")
	v, err := s.deps.Surveys.GetBatch(c.UserContext(), p, id)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := s.deps.Surveys.Report(c.UserContext(), p, id, format, &buf); err != nil {
		return err
	}
	base := cmp.Or(strings.TrimSuffix(v.FileName, path.Ext(v.FileName)), v.ID)
	return sendFile(c, mediaTypeOf(format), "校验报告-"+fileSafe(base)+"."+format, buf.Bytes())
}

func (s *Server) withdrawSurveyBatch(c *fiber.Ctx, p auth.Principal) error {
	b, err := s.deps.Surveys.Withdraw(c.UserContext(), p, web.Param(c, "id"))
	if err != nil {
		return err
	}
	return c.JSON(b)
}

func (s *Server) cycleSurveyIndices(c *fiber.Ctx, p auth.Principal) error {
	idx, err := s.deps.Surveys.CycleIndices(c.UserContext(), p, web.Param(c, "id"))
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
		return mimeCSV
	}
	return mimeXLSX
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
