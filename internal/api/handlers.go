// Package api is the JSON API of ipeval: the handlers of the /api/v1
// routes and the operations routes, and the OpenAPI document derived from
// the route table. Handlers decode, authorise, call a package and encode —
// nothing more. The route table (internal/httpapi), the middleware and the
// problem mapping are shared with the HTML site through internal/web.
package api

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/web"
)

// Handlers answer the routes of the JSON API that the route table names.
type Handlers struct {
	deps web.Deps
	edge *web.Edge
	log  *slog.Logger
	// openapi is the document derived from the route table (SetOpenAPI).
	openapi []byte
}

// New returns the API's handlers over the packages and middleware of edge.
func New(edge *web.Edge) *Handlers {
	return &Handlers{deps: edge.Deps(), edge: edge, log: edge.Deps().Log}
}

// SetOpenAPI sets the document that OpenAPIJSON serves: it is derived
// from the route table, which names these handlers, so it comes after New.
func (h *Handlers) SetOpenAPI(doc []byte) { h.openapi = doc }

// OpenAPIJSON serves the OpenAPI document.
func (h *Handlers) OpenAPIJSON(c *fiber.Ctx, _ auth.Principal) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(h.openapi)
}
