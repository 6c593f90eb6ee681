package textenc

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFileName(t *testing.T) {
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
		if got := FileName(tc.in); got != tc.want {
			t.Errorf("FileName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	huge := strings.Repeat("名", 1<<20) + ".pdf" // the multipart parser allows names this long
	for _, name := range []string{long, huge} {
		got := FileName(name)
		if len(got) > 255 || !strings.HasSuffix(got, ".pdf") || !utf8.ValidString(got) {
			t.Errorf("long name clipped to %d bytes: %q", len(got), got)
		}
	}
}
