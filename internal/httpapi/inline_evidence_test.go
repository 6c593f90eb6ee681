package httpapi_test

import (
	"archive/zip"
	"bytes"
	"image"
	pngenc "image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/indicators"
)

// TestInlineEvidence asks for evidence with ?inline=1: a PDF and an image
// come inline with their sniffed type, sandboxed, framable by the site's
// own pages only; an office document stays a download; the download
// itself and the pages stay unframable; a city official reads only its
// region's evidence, inline or not.
func TestInlineEvidence(t *testing.T) {
	f := newFixture(t)
	cy, pdf := f.evidenceOf("140100")
	var png bytes.Buffer
	if err := pngenc.Encode(&png, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	add := func(region, code, name string, data []byte) string {
		t.Helper()
		resp, b := f.do(f.as("admin", upload("POST", "/api/v1/cycles/"+cy+"/evidence",
			map[string]string{"region_code": region, "indicator_code": code}, "file", name, data)))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("upload %s: %d %s", name, resp.StatusCode, b)
		}
		return decode[indicators.Evidence](t, b).ID
	}
	img := add("140100", "A3", "照片.png", png.Bytes())
	other := add("140200", "A3", "他市照片.png", png.Bytes())
	var docx bytes.Buffer
	zw := zip.NewWriter(&docx)
	for _, part := range []string{"[Content_Types].xml", "word/document.xml"} {
		w, _ := zw.Create(part)
		_, _ = w.Write([]byte("<?xml version=\"1.0\"?><x/>"))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	office := add("140100", "A2", "名录.docx", docx.Bytes())
	url := func(id string) string { return "/api/v1/cycles/" + cy + "/evidence/" + id + "?inline=1" }

	for name, c := range map[string]struct{ id, mediaType string }{"pdf": {pdf, "application/pdf"}, "image": {img, "image/png"}} {
		t.Run("inline "+name, func(t *testing.T) {
			f.t = t
			for _, who := range []string{"admin", "city"} {
				resp, _ := f.do(f.as(who, request("GET", url(c.id), nil)))
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s: status %d", who, resp.StatusCode)
				}
				for h, want := range map[string]string{"Content-Type": c.mediaType, "X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN"} {
					if got := resp.Header.Get(h); got != want {
						t.Errorf("%s: %s = %q, want %q", who, h, got, want)
					}
				}
				if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "inline;") {
					t.Errorf("%s: Content-Disposition %q, want inline", who, cd)
				}
				csp := resp.Header.Get("Content-Security-Policy")
				for _, want := range []string{"sandbox", "default-src 'none'", "frame-ancestors 'self'"} {
					if !strings.Contains(csp, want) {
						t.Errorf("%s: CSP %q lacks %q", who, csp, want)
					}
				}
			}
		})
	}

	t.Run("office document stays a download", func(t *testing.T) {
		f.t = t
		resp, _ := f.do(f.as("admin", request("GET", url(office), nil)))
		if cd := resp.Header.Get("Content-Disposition"); resp.StatusCode != http.StatusOK || !strings.HasPrefix(cd, "attachment;") {
			t.Errorf("status %d, Content-Disposition %q: want a download", resp.StatusCode, cd)
		}
	})

	t.Run("download stays unframable", func(t *testing.T) {
		f.t = t
		resp, _ := f.do(f.as("admin", request("GET", "/api/v1/cycles/"+cy+"/evidence/"+img, nil)))
		if cd := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
			t.Errorf("Content-Disposition %q, want attachment", cd)
		}
		if xfo, csp := resp.Header.Get("X-Frame-Options"), resp.Header.Get("Content-Security-Policy"); xfo != "DENY" || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("X-Frame-Options %q, CSP %q: want no framing", xfo, csp)
		}
		resp, _ = f.do(f.as("admin", request("GET", "/cycles/"+cy+"/review", nil)))
		if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("the review page may be framed")
		}
	})

	t.Run("another region's evidence", func(t *testing.T) {
		f.t = t
		resp, body := f.do(f.as("city", request("GET", url(other), nil)))
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusForbidden {
			t.Errorf("a city official read another region's evidence inline: %d", resp.StatusCode)
		}
		if bytes.Contains(body, png.Bytes()[:8]) {
			t.Errorf("the answer holds the file")
		}
	})
}
