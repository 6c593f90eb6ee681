package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
)

// The server streams request bodies (Fiber's StreamRequestBody): a handler
// runs once the headers and at most 8 KiB of the body have arrived, and the
// rest stays in the connection until something reads it. Nothing reads it
// before the caller is authenticated and the route admits them; then
// admitBody sets how much may be read, by route and caller.
const (
	// anonymousBody is what a caller without a credential may send: a
	// sign-in, as JSON or a form, is far smaller.
	anonymousBody = 64 << 10
	// drainBody is how much of a body nobody read the server discards to
	// keep the connection; past it, the connection is closed instead.
	drainBody = 64 << 10
)

// bodyLimit is the largest body the route reads from this caller. Only an
// authenticated caller on a route that takes a file may send an upload
// (the server's BodyLimit); everything else is JSON or a small form.
func (e *Edge) bodyLimit(r Route, p auth.Principal) int {
	switch {
	case !p.Authenticated():
		return anonymousBody
	case r.TakesFile():
		return e.opts.BodyLimit
	}
	return MaxJSON
}

// TakesFile reports whether the Route's body is a file rather than JSON:
// those bodies are streamed to the store, not held in memory.
func (r Route) TakesFile() bool {
	return strings.Contains(r.Consumes, fiber.MIMEMultipartForm) || strings.Contains(r.Consumes, "text/csv")
}

// admitBody checks the request's body against the Route's limit for the
// caller before any of it is read: a declared length over the limit is a
// 413 at once, and a body of unknown length (chunked) is read into memory
// only up to the limit of a route that holds its body anyway. A route that
// streams a file needs the length up front (411 without it), so that what
// its handler reads is bounded by it. Compressed request bodies are
// refused: a small one may inflate without bound.
func (e *Edge) admitBody(c *fiber.Ctx, r Route, p auth.Principal) (err error) {
	if !p.Authenticated() {
		// Refused at the door, like a caller without access: there is
		// nothing to audit, and auditing it would let anyone fill the log.
		defer func() {
			if err != nil {
				c.Locals(skipAuditKey, true)
			}
		}()
	}
	h := &c.Request().Header
	if enc := strings.TrimSpace(string(h.Peek(fiber.HeaderContentEncoding))); enc != "" && !strings.EqualFold(enc, "identity") {
		return fault.With(fault.ErrUnsupportedMedia, "request bodies are accepted uncompressed only (no Content-Encoding)",
			"请求体不可压缩（不接受 Content-Encoding）", nil)
	}
	limit := e.bodyLimit(r, p)
	n := h.ContentLength()
	if n > limit {
		return tooLarge(limit)
	}
	if n != -1 { // a known length (or none at all) bounds what is read
		return nil
	}
	if r.TakesFile() && p.Authenticated() {
		return fault.With(errLengthRequired, "send an upload with a Content-Length", "上传文件须提供 Content-Length", nil)
	}
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return nil
	}
	body, err := io.ReadAll(io.LimitReader(stream, int64(limit)+1))
	if err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "the request body could not be read")
	}
	if len(body) > limit {
		return tooLarge(limit)
	}
	c.Request().SetBodyRaw(body)
	return nil
}

// errLengthRequired is answered 411: the server will not read an upload
// whose size it cannot check first.
var errLengthRequired = fiber.NewError(fiber.StatusLengthRequired, "Length required")

func tooLarge(limit int) error {
	size := fmt.Sprintf("%d KiB", limit>>10)
	if limit >= 1<<20 {
		size = fmt.Sprintf("%d MiB", limit>>20)
	}
	return fault.With(fault.ErrTooLarge, "the request body exceeds "+size+" for this route and caller",
		"请求体超过此接口对当前用户的上限 "+size, nil)
}

// BodyReader reads the request's body from the connection, for a handler
// that streams it (within the length admitBody let through).
func BodyReader(c *fiber.Ctx) io.Reader {
	if stream := c.Context().RequestBodyStream(); stream != nil {
		return stream
	}
	return bytes.NewReader(c.Body())
}

// settleBody leaves the connection ready for its next request once the
// answer is decided: what remains of a body nobody read (a refused upload,
// a body sent to a route that takes none) is discarded when it is short,
// and the connection is closed when it is not, so that the server neither
// reads an unwanted upload nor mistakes its rest for the next request.
func settleBody(c *fiber.Ctx) {
	stream := c.Context().RequestBodyStream()
	if stream == nil {
		return
	}
	if _, err := io.CopyN(io.Discard, stream, drainBody); !errors.Is(err, io.EOF) {
		c.Context().SetConnectionClose()
	}
}
