package textenc_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/ipeval/ipeval/internal/textenc"
)

func TestToUTF8(t *testing.T) {
	const text = "code,name\n140100,太原市\n"
	gbk, err := simplifiedchinese.GBK.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	gb18030, _ := simplifiedchinese.GB18030.NewEncoder().String(text)
	for name, in := range map[string]string{"utf-8": text, "utf-8 with BOM": "\ufeff" + text, "gbk": gbk, "gb18030": gb18030} {
		t.Run(name, func(t *testing.T) {
			got, err := textenc.ToUTF8([]byte(in))
			if err != nil || string(got) != text {
				t.Fatalf("ToUTF8 = %q, %v; want %q", got, err, text)
			}
		})
	}
	if _, err := textenc.ToUTF8([]byte{0x81, 0x20, 0xff, 0xfe}); !errors.Is(err, textenc.ErrUnknownEncoding) {
		t.Fatalf("garbage decoded without error: %v", err)
	}
}

func FuzzToUTF8(f *testing.F) {
	f.Add([]byte("太原市"))
	f.Add([]byte{0xcc, 0xab, 0xd4, 0xad})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := textenc.ToUTF8(b)
		if err == nil && !utf8.Valid(out) {
			t.Fatalf("ToUTF8 returned invalid UTF-8 without error")
		}
	})
}

func TestClip(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"太原市知识产权局", 3, "太原市"},
		{"ab\xffcd", 3, "ab\uFFFD"},
		{"", 0, ""},
	} {
		if got := textenc.Clip(tt.in, tt.n); got != tt.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestGuardFormula(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"=1+1", "'=1+1"},
		{"+86 123", "'+86 123"},
		{"-5", "'-5"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"'=x", "''=x"},
		{"'plain", "'plain"},
		{"见附件", "见附件"},
		{"", ""},
	} {
		got := textenc.GuardFormula(tc.in)
		if got != tc.want {
			t.Errorf("GuardFormula(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if back := textenc.UnguardFormula(got); back != tc.in {
			t.Errorf("UnguardFormula(%q) = %q, want %q", got, back, tc.in)
		}
	}
}

func TestExcelCSV(t *testing.T) {
	var b strings.Builder
	cw, err := textenc.ExcelCSV(&b)
	if err != nil {
		t.Fatal(err)
	}
	if err := cw.WriteAll([][]string{{"地区", "得分"}, {"太原市", "91.5"}}); err != nil {
		t.Fatal(err)
	}
	if want := "\ufeff地区,得分\r\n太原市,91.5\r\n"; b.String() != want {
		t.Errorf("ExcelCSV wrote %q, want %q", b.String(), want)
	}
}
