package site

import "testing"

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/":                      "/",
		"/docs?lang=en":          "/docs?lang=en",
		"/api/v1/cycles#x":       "/api/v1/cycles#x",
		"":                       "",
		"https://evil.example/":  "",
		"//evil.example":         "",
		"/\\evil.example":        "",
		"/\t/evil.example":       "",
		"/\n/evil.example":       "",
		"/%2F/evil.example":      "",
		"/%5C/evil.example":      "",
		"javascript:alert(1)":    "",
		"/\x7f/evil.example":     "",
		"relative/path":          "",
		"/ok/%E4%B8%AD%E6%96%87": "/ok/%E4%B8%AD%E6%96%87",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
