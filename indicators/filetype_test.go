package indicators

import (
	"archive/zip"
	"bytes"
	"errors"
	"testing"

	"github.com/ipeval/ipeval/internal/fault"
)

func FuzzDetectEvidence(f *testing.F) {
	var docx bytes.Buffer
	zw := zip.NewWriter(&docx)
	if _, err := zw.Create("word/document.xml"); err != nil {
		f.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		f.Fatal(err)
	}
	f.Add("a.pdf", []byte("%PDF-1.7\n%%EOF\n"))
	f.Add("a.docx", docx.Bytes())
	f.Add("a.ofd", docx.Bytes())
	f.Add("a.png", []byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		media, err := detectEvidence(name, data)
		if err != nil && !errors.Is(err, fault.ErrUnsupportedMedia) {
			t.Fatalf("err = %v, want unsupported media", err)
		}
		if err == nil && media == "" {
			t.Fatal("accepted without a media type")
		}
	})
}
