package indicators

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

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

func TestCleanFileName(t *testing.T) {
	long := string(bytes.Repeat([]byte("名"), 200)) + ".pdf"
	for _, tc := range []struct{ in, want string }{
		{"report.pdf", "report.pdf"},
		{`C:\fakepath\资金文件.pdf`, "资金文件.pdf"},
		{"../../etc/passwd", "passwd"},
		{"a\x00b\n.pdf", "ab.pdf"},
		{`say "hi".png`, "say hi.png"},
		{"..", ""},
		{"invoice\u202efdp.exe", "invoicefdp.exe"},
		{"bad\xffutf8.pdf", "badutf8.pdf"},
		{"", ""},
	} {
		if got := cleanFileName(tc.in); got != tc.want {
			t.Errorf("cleanFileName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	huge := strings.Repeat("名", 1<<20) + ".pdf" // the multipart parser allows names this long
	for _, name := range []string{long, huge} {
		got := cleanFileName(name)
		if len(got) > 255 || !strings.HasSuffix(got, ".pdf") || !utf8.ValidString(got) {
			t.Errorf("long name clipped to %d bytes: %q", len(got), got)
		}
	}
}
