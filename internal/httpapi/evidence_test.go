package httpapi_test

import (
	"bytes"
	"io/fs"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestEvidenceAPI uploads, lists, downloads and withdraws evidence files,
// and names the bad uploads: each is refused whole, with nothing stored.
func TestEvidenceAPI(t *testing.T) {
	f := newFixture(t)
	cy := f.collectingCycle()
	base := "/api/v1/cycles/" + cy.ID + "/evidence"
	fields := map[string]string{"region_code": "140100", "indicator_code": "F1"}

	for _, tc := range []struct {
		name   string
		req    *http.Request
		status int
		want   string
	}{
		{"text named .pdf", upload("POST", base, fields, "file", "预算.pdf", []byte("not a pdf at all")), http.StatusUnsupportedMediaType, "不是 PDF"},
		{"over the size limit", upload("POST", base, fields, "file", "big.pdf", append(bytes.Clone(samplePDF), make([]byte, fixtureUploadMax)...)), http.StatusRequestEntityTooLarge, "MiB"},
		{"no file field", upload("POST", base, fields, "", "", nil), http.StatusBadRequest, "file"},
		{"not multipart", request("POST", base, fields), http.StatusUnsupportedMediaType, "multipart"},
		{"another region", upload("POST", base, map[string]string{"region_code": "140200", "indicator_code": "F1"}, "file", "a.pdf", samplePDF), http.StatusForbidden, ""},
		{"survey-sourced indicator", upload("POST", base, map[string]string{"region_code": "140100", "indicator_code": "D1"}, "file", "a.pdf", samplePDF), http.StatusBadRequest, "survey_sourced"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.do(f.as("city", tc.req))
			wantProblem(t, resp, body, tc.status)
			if !strings.Contains(string(body), tc.want) {
				t.Fatalf("problem lacks %q: %s", tc.want, body)
			}
			if n := f.storedFiles(t, "evidence"); n != 0 {
				t.Fatalf("a refused upload left %d files", n)
			}
		})
	}
	if list := decode[struct{ Items []any }](t, f.call("admin", "GET", base, nil, http.StatusOK)); len(list.Items) != 0 {
		t.Fatalf("refused uploads listed: %v", list.Items)
	}

	resp, body := f.do(f.as("city", upload("POST", base, fields, "file", "太原市2025年预算.pdf", samplePDF)))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	ev := decode[struct {
		ID, SHA256 string
		MediaType  string `json:"media_type"`
	}](t, body)
	if ev.MediaType != "application/pdf" || len(ev.SHA256) != 64 || f.storedFiles(t, "evidence") != 1 {
		t.Fatalf("uploaded %+v, %d files stored", ev, f.storedFiles(t, "evidence"))
	}

	resp, body = f.do(f.as("city", upload("POST", base, fields, "file", "太原市2025年预算.pdf", samplePDF)))
	if again := decode[struct{ ID string }](t, body); resp.StatusCode != http.StatusOK || again.ID != ev.ID {
		t.Fatalf("retried upload: %d %s, want 200 with the first file", resp.StatusCode, body)
	}

	resp, body = f.do(f.as("admin", request("GET", base+"/"+ev.ID, nil)))
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, samplePDF) {
		t.Fatalf("download: %d %q", resp.StatusCode, body)
	}
	cd := resp.Header.Get("Content-Disposition")
	if !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "filename*=utf-8''%E5%A4%AA%E5%8E%9F") ||
		resp.Header.Get("Content-Type") != "application/pdf" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("download headers: %v", resp.Header)
	}
	f.call("city2", "GET", base+"/"+ev.ID, nil, http.StatusNotFound)
	f.call("contractor", "GET", base+"/"+ev.ID, nil, http.StatusForbidden)
	f.call("city2", "POST", base+"/"+ev.ID+"/withdraw", nil, http.StatusNotFound)

	w := decode[struct {
		WithdrawnAt *string `json:"withdrawn_at"`
	}](t, f.call("city", "POST", base+"/"+ev.ID+"/withdraw", nil, http.StatusOK))
	if w.WithdrawnAt == nil {
		t.Fatal("withdrawn evidence has no withdrawn_at")
	}
	f.call("admin", "GET", base+"/"+ev.ID, nil, http.StatusOK)
}

// storedFiles counts the files in one of the fixture's blob stores:
// "evidence" or "surveys".
func (f *fixture) storedFiles(tb testing.TB, store string) int {
	tb.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(f.dataDir, store), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
