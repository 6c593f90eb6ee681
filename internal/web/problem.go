package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/fault"
)

// Problem is an RFC 9457 problem document, with Chinese beside English.
type Problem struct {
	Type      string             `json:"type"`
	Title     string             `json:"title"`
	TitleZh   string             `json:"title_zh"`
	Status    int                `json:"status"`
	Detail    string             `json:"detail,omitempty"`
	DetailZh  string             `json:"detail_zh,omitempty"`
	Instance  string             `json:"instance,omitempty"`
	RequestID string             `json:"request_id,omitempty"`
	Errors    []fault.FieldError `json:"errors,omitempty"`
	Ext       map[string]any     `json:"-"`
}

// problemMembers are the JSON members of Problem itself.
var problemMembers = []string{"type", "title", "title_zh", "status", "detail", "detail_zh", "instance", "request_id", "errors"}

// MarshalJSON flattens extension members into the document, as RFC 9457
// asks. An extension never replaces a member of the problem itself: a
// "status" extension would turn the HTTP status into a string.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Ext) == 0 {
		return b, err
	}
	extra := make(map[string]any, len(p.Ext))
	for k, v := range p.Ext {
		if !slices.Contains(problemMembers, k) {
			extra[k] = v
		}
	}
	if len(extra) == 0 {
		return b, nil
	}
	ext, err := json.Marshal(extra)
	if err != nil {
		return nil, err
	}
	return append(append(b[:len(b)-1], ','), ext[1:]...), nil
}

// kind is one row of the error table.
type kind struct {
	err     error
	status  int
	slug    string
	title   string
	titleZh string
}

// errorTable maps every error kind to its HTTP status: the only place where
// that mapping is made. Order matters: the first match wins.
var errorTable = []kind{
	{fault.ErrBadRequest, fiber.StatusBadRequest, "invalid-request", "Invalid request", "请求无效"},
	{fault.ErrUnauthenticated, fiber.StatusUnauthorized, "unauthenticated", "Authentication required", "需要登录或有效令牌"},
	{fault.ErrForbidden, fiber.StatusForbidden, "forbidden", "Forbidden", "无权访问"},
	{fault.ErrNotFound, fiber.StatusNotFound, "not-found", "Not found", "资源不存在"},
	{fault.ErrConflict, fiber.StatusConflict, "conflict", "Conflict", "状态冲突"},
	{fault.ErrTooLarge, fiber.StatusRequestEntityTooLarge, "too-large", "Request too large", "请求内容过大"},
	{fault.ErrUnsupportedMedia, fiber.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported file type", "不支持的文件类型"},
	{fault.ErrTooManyRequests, fiber.StatusTooManyRequests, "too-many-requests", "Too many requests", "请求过于频繁，请稍后再试"},
	{fault.ErrUnavailable, fiber.StatusServiceUnavailable, "unavailable", "Service unavailable", "服务暂不可用"},
	{fault.ErrFailed, fiber.StatusInternalServerError, "failed", "Internal server error", "服务器内部错误"},
}

var unavailable = kind{fault.ErrUnavailable, fiber.StatusServiceUnavailable, "unavailable", "Service unavailable", "服务暂不可用"}

// classify finds the table row of err; ok is false for an internal error.
func classify(err error) (kind, bool) {
	if database.IsUnavailable(err) {
		return unavailable, true
	}
	for _, k := range errorTable {
		if errors.Is(err, k.err) {
			return k, true
		}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) && fe.Code < 500 {
		return kind{err: fe, status: fe.Code, slug: "http-" + fmt.Sprint(fe.Code), title: fe.Message, titleZh: httpTitlesZh[fe.Code]}, true
	}
	return kind{}, false
}

// httpTitlesZh names the statuses that Fiber itself raises.
var httpTitlesZh = map[int]string{
	fiber.StatusNotFound:              "资源不存在",
	fiber.StatusMethodNotAllowed:      "不支持的请求方法",
	fiber.StatusRequestEntityTooLarge: "请求内容过大",
	fiber.StatusTooManyRequests:       "请求过于频繁，请稍后再试",
	fiber.StatusUnsupportedMediaType:  "不支持的内容类型",
	fiber.StatusBadRequest:            "请求无效",
	fiber.StatusLengthRequired:        "须提供请求体长度",
}

// StatusOf is the HTTP status that err will be answered with.
func StatusOf(err error) int {
	if err == nil {
		return fiber.StatusOK
	}
	if k, ok := classify(err); ok {
		return k.status
	}
	return fiber.StatusInternalServerError
}

// ProblemFor builds the problem document for err. Internal errors get a
// generic text: no SQL, path or stack ever reaches the caller.
func ProblemFor(err error) Problem {
	k, ok := classify(err)
	if !ok {
		return Problem{Type: "about:blank", Title: "Internal server error", TitleZh: "服务器内部错误", Status: 500,
			Detail: "The error has been logged with the request id.", DetailZh: "错误已按请求编号记录。"}
	}
	p := Problem{Type: "/problems/" + k.slug, Title: k.title, TitleZh: k.titleZh, Status: k.status}
	var ve *fault.ValidationError
	var d *fault.Detailed
	switch {
	case errors.As(err, &ve):
		p.Errors = ve.Errors
		p.Detail = fmt.Sprintf("%d problem(s) found; nothing was stored.", len(ve.Errors))
		p.DetailZh = fmt.Sprintf("发现%d处问题，未保存任何内容。", len(ve.Errors))
	case errors.As(err, &d):
		p.Detail, p.DetailZh, p.Ext = d.Detail, d.DetailZh, d.Ext
	}
	return p
}

// ErrorHandler is Fiber's error handler: it answers every error as a problem
// document (or an HTML page for browser pages) and logs internal errors.
func (e *Edge) ErrorHandler(c *fiber.Ctx, err error) error {
	p := ProblemFor(err)
	p.RequestID = RequestID(c)
	p.Instance = c.Path()
	if p.Status >= 500 {
		e.log.Error("request failed", "request_id", p.RequestID, "method", c.Method(), "path", c.Path(), "err", err)
	}
	if p.Status == fiber.StatusTooManyRequests || p.Status == fiber.StatusServiceUnavailable {
		c.Set(fiber.HeaderRetryAfter, RetryAfter(p))
	}
	if IsPage(c) {
		return e.renderError(c, p)
	}
	c.Status(p.Status)
	c.Set(fiber.HeaderContentType, "application/problem+json")
	body, _ := json.Marshal(p)
	return c.Send(body)
}

// RetryAfter is the Retry-After of a 429 or 503 answer: the wait the error
// names as "retry_after", or half a minute.
func RetryAfter(p Problem) string {
	if n, ok := p.Ext["retry_after"].(int); ok && n > 0 {
		return strconv.Itoa(n)
	}
	return "30"
}

// MaxJSON bounds a JSON request body; larger bodies get 413.
const MaxJSON = 1 << 20

// DecodeJSON reads the body strictly into v: JSON content type, no unknown
// fields, no trailing data, every type error named by its field.
func DecodeJSON(c *fiber.Ctx, v any) error {
	if ct := string(c.Request().Header.ContentType()); !strings.HasPrefix(ct, fiber.MIMEApplicationJSON) {
		return fiber.NewError(fiber.StatusUnsupportedMediaType, "Content-Type must be application/json")
	}
	body := c.Body()
	if len(body) > MaxJSON {
		return fault.With(fault.ErrTooLarge, fmt.Sprintf("JSON body exceeds %d bytes", MaxJSON), fmt.Sprintf("JSON 请求体超过 %d 字节", MaxJSON), nil)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fault.Invalid(fault.Field("", "trailing_data", "JSON 之后有多余内容", "unexpected data after the JSON value"))
	}
	return nil
}

func jsonProblem(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return fault.Invalid(fault.Field("", "empty_body", "请求体为空", "request body is empty"))
	case errors.As(err, &syn):
		return fault.Invalid(fault.Field("", "malformed_json", fmt.Sprintf("JSON 格式错误（第%d字节）", syn.Offset), fmt.Sprintf("malformed JSON at byte %d", syn.Offset)))
	case errors.As(err, &typ):
		return fault.Invalid(fault.Field(typ.Field, "wrong_type", "类型错误，应为 "+typ.Type.String(), "wrong type, expected "+typ.Type.String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return fault.Invalid(fault.Field(name, "unknown_field", "未知字段："+name, "unknown field: "+name))
	default:
		return fault.Invalid(fault.Field("", "malformed_json", "JSON 格式错误", "malformed JSON"))
	}
}
