package textenc

import (
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

// FileName keeps the base name of a client's file name, so that no path
// reaches storage or a download header, without
// control or format characters (a right-to-left override could disguise
// the extension), at most maxName bytes with its extension kept.
func FileName(name string) string {
	const maxName = 255
	if len(name) > 4*maxName {
		// Keep the end, where the base name and extension are; the
		// multipart parser allows names of megabytes.
		name = name[len(name)-4*maxName:]
	}
	name = strings.ToValidUTF8(name, "")
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '"' || r == '/' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		return ""
	}
	if len(name) > maxName {
		ext := filepath.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		base := name[:maxName-len(ext)]
		for len(base) > 0 && !utf8.RuneStart(name[len(base)]) {
			base = base[:len(base)-1]
		}
		name = base + ext
	}
	return name
}
