package httpapi_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestProbe09BodyLimits checks the body policy route by route: what a
// caller may send depends on who they are and what the route takes, a
// body of unknown length is read only up to that limit, an upload must
// state its length and a compressed body is refused — each answered with a
// problem document, nothing stored and, for an anonymous caller, nothing
// audited. TestProbe09BodiesBeforeIdentity (cmd/ipeval) shows on a real
// server that the refused bodies are not held.
func TestProbe09BodyLimits(t *testing.T) {
	f := newFixture(t)
	cycle := f.collectingCycle()
	evidence := "/api/v1/cycles/" + cycle.ID + "/evidence"
	login := `{"username": "admin", "password": "` + fixturePassword + `", "padding": "`
	cycleJSON := func(pad int) string {
		return `{"year": 2031, "name": "` + strings.Repeat("x", pad) + `"}`
	}
	tests := []struct {
		name, who, method, path, contentType string
		body                                 string
		chunked                              bool
		encoding                             string
		status                               int
	}{
		{"anonymous sign-in over 64 KiB", "", "POST", "/api/v1/auth/login", "application/json", login + strings.Repeat("x", 64<<10) + `"}`, false, "", http.StatusRequestEntityTooLarge},
		{"anonymous sign-in over 64 KiB, chunked", "", "POST", "/api/v1/auth/login", "application/json", login + strings.Repeat("x", 64<<10) + `"}`, true, "", http.StatusRequestEntityTooLarge},
		{"anonymous upload", "", "POST", evidence, "multipart/form-data; boundary=x", strings.Repeat("x", 1<<20), false, "", http.StatusUnauthorized},
		{"a role the route refuses", "contractor", "POST", evidence, "multipart/form-data; boundary=x", strings.Repeat("x", 1<<20), false, "", http.StatusForbidden},
		{"JSON over 1 MiB", "admin", "POST", "/api/v1/cycles", "application/json", cycleJSON(1 << 20), false, "", http.StatusRequestEntityTooLarge},
		{"JSON over 1 MiB, chunked", "admin", "POST", "/api/v1/cycles", "application/json", cycleJSON(1 << 20), true, "", http.StatusRequestEntityTooLarge},
		{"chunked JSON within the limit", "admin", "POST", "/api/v1/cycles", "application/json", `{"year": 2031, "name": "分块"}`, true, "", http.StatusCreated},
		{"chunked upload", "admin", "POST", evidence, "multipart/form-data; boundary=x", strings.Repeat("x", 10), true, "", http.StatusLengthRequired},
		{"chunked regions file", "admin", "POST", "/api/v1/regions/import", "text/csv", "code,name,kind,parent\n", true, "", http.StatusLengthRequired},
		{"compressed JSON", "admin", "POST", "/api/v1/cycles", "application/json", "\x1f\x8b", false, "gzip", http.StatusUnsupportedMediaType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.t = t
			before, audited := f.count("cycles"), f.count("audit_log")
			req := request(tt.method, tt.path, nil)
			req.Header.Set("Content-Type", tt.contentType)
			if tt.encoding != "" {
				req.Header.Set("Content-Encoding", tt.encoding)
			}
			if tt.chunked {
				// App.Test sends the length it is given beside the chunked
				// encoding, and the server reads the encoding.
				req.Body, req.ContentLength, req.TransferEncoding = io.NopCloser(strings.NewReader(tt.body)), 0, []string{"chunked"}
			} else {
				req.Body, req.ContentLength = io.NopCloser(bytes.NewReader([]byte(tt.body))), int64(len(tt.body))
			}
			resp, body := f.do(f.as(tt.who, req))
			if tt.status < 400 {
				if resp.StatusCode != tt.status {
					t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, tt.status, body)
				}
				return
			}
			wantProblem(t, resp, body, tt.status)
			if f.count("cycles") != before {
				t.Error("a refused body stored a cycle")
			}
			// A caller without a credential refused at the door leaves no
			// trace in the append-only log, which anyone could fill else.
			if n := f.count("audit_log") - audited; tt.who == "" && n != 0 {
				t.Errorf("%d audit entries for an anonymous body refused", n)
			}
		})
	}
}
