package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/invopop/jsonschema"

	"github.com/ipeval/ipeval/internal/web"
)

var pathParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// openapiPath turns a Fiber pattern (/cycles/:id) into an OpenAPI one (/cycles/{id}).
func openapiPath(p string) string { return pathParam.ReplaceAllString(p, "{$1}") }

// BuildOpenAPI derives the OpenAPI 3.1 document from the route table, so
// the document cannot drift from what the router serves.
func BuildOpenAPI(routes []web.Route, version string) ([]byte, error) {
	ref := &jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true}
	schema := func(v any) (map[string]any, error) {
		b, err := json.Marshal(ref.Reflect(v))
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		delete(m, "$schema")
		delete(m, "$id")
		return m, nil
	}
	problem, err := schema(web.Problem{})
	if err != nil {
		return nil, err
	}
	paths := map[string]map[string]any{}
	for _, r := range routes {
		op := map[string]any{
			"operationId": r.Name,
			"summary":     r.Summary,
			"description": r.SummaryZh,
			"tags":        []string{r.Tag},
			"x-roles":     r.Access.Roles(),
		}
		var params []map[string]any
		for _, m := range pathParam.FindAllStringSubmatch(r.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if !r.Access.IsPublic() {
			op["security"] = []map[string][]string{{"bearer": {}}, {"session": {}}}
		}
		if r.Body != nil {
			sc, err := schema(r.Body)
			if err != nil {
				return nil, fmt.Errorf("schema of %s body: %w", r.Name, err)
			}
			consumes := r.Consumes
			if consumes == "" {
				consumes = fiber.MIMEApplicationJSON
			}
			content := map[string]any{}
			for _, mt := range strings.Split(consumes, ",") {
				content[strings.TrimSpace(mt)] = map[string]any{"schema": sc}
			}
			op["requestBody"] = map[string]any{"required": !r.OptionalBody, "content": content}
		}
		status := r.Status
		if status == 0 {
			status = fiber.StatusOK
		}
		okResp := map[string]any{"description": http.StatusText(status)}
		switch {
		case r.Response != nil:
			sc, err := schema(r.Response)
			if err != nil {
				return nil, fmt.Errorf("schema of %s response: %w", r.Name, err)
			}
			okResp["content"] = map[string]any{"application/json": map[string]any{"schema": sc}}
		case r.Produces != "":
			content := map[string]any{}
			for _, mt := range strings.Split(r.Produces, ", ") {
				content[mt] = map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
			}
			okResp["content"] = content
		case r.Page:
			okResp["content"] = map[string]any{"text/html": map[string]any{}}
		}
		op["responses"] = map[string]any{
			fmt.Sprint(status): okResp,
			"default":          map[string]any{"description": "Problem", "content": map[string]any{"application/problem+json": map[string]any{"schema": problem}}},
		}
		p := openapiPath(r.Path)
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(r.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "ipeval API — 知识产权公共服务考核评估系统",
			"version":     version,
			"description": "Every route of ipeval. Errors are application/problem+json (RFC 9457). Roles per operation in x-roles.",
		},
		"paths": paths,
		"components": map[string]any{"securitySchemes": map[string]any{
			"bearer":  map[string]any{"type": "http", "scheme": "bearer", "description": "API token from `ipeval user token` or POST /api/v1/tokens"},
			"session": map[string]any{"type": "apiKey", "in": "cookie", "name": web.SessionCookie, "description": "Browser session; unsafe methods also need the X-CSRF-Token header"},
		}},
	}
	return json.MarshalIndent(doc, "", "  ")
}
