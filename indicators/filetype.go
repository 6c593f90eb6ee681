package indicators

import (
	"archive/zip"
	"bytes"
	"path/filepath"
	"strings"

	"github.com/gabriel-vasile/mimetype"

	"github.com/ipeval/ipeval/internal/fault"
)

// evidenceType is an accepted kind of evidence file: the media types its
// content may be detected as, and the part a zip container must hold when
// the detector stops short of naming the format (it reads only the first
// few KiB, and office documents may list their parts later).
type evidenceType struct {
	label   string
	media   []string
	zipPart string
}

const oleStorage = "application/x-ole-storage"

// evidenceTypes maps a file extension to what its content must be: PDF,
// images, Microsoft and WPS office documents, and OFD, China's standard
// format for electronic official documents.
var evidenceTypes = map[string]evidenceType{
	".pdf":  {label: "PDF", media: []string{"application/pdf"}},
	".png":  {label: "PNG", media: []string{"image/png"}},
	".jpg":  {label: "JPEG", media: []string{"image/jpeg"}},
	".jpeg": {label: "JPEG", media: []string{"image/jpeg"}},
	".tif":  {label: "TIFF", media: []string{"image/tiff"}},
	".tiff": {label: "TIFF", media: []string{"image/tiff"}},
	".webp": {label: "WebP", media: []string{"image/webp"}},
	".doc":  {label: "Word", media: []string{"application/msword", oleStorage}},
	".xls":  {label: "Excel", media: []string{"application/vnd.ms-excel", oleStorage}},
	".ppt":  {label: "PowerPoint", media: []string{"application/vnd.ms-powerpoint", oleStorage}},
	".wps":  {label: "WPS", media: []string{"application/msword", oleStorage}},
	".et":   {label: "WPS", media: []string{"application/vnd.ms-excel", oleStorage}},
	".docx": {label: "Word", media: []string{"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}, zipPart: "word/document.xml"},
	".xlsx": {label: "Excel", media: []string{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}, zipPart: "xl/workbook.xml"},
	".pptx": {label: "PowerPoint", media: []string{"application/vnd.openxmlformats-officedocument.presentationml.presentation"}, zipPart: "ppt/presentation.xml"},
	".ofd":  {label: "OFD", media: []string{"application/ofd"}, zipPart: "OFD.xml"},
}

// detectEvidence checks that data is what its file name claims and is an
// accepted kind of evidence, and returns the media type to serve it with.
// The name is never trusted alone: a file named .pdf must be a PDF.
func detectEvidence(name string, data []byte) (string, error) {
	ext := strings.ToLower(filepath.Ext(name))
	want, ok := evidenceTypes[ext]
	if !ok {
		return "", fault.With(fault.ErrUnsupportedMedia,
			"evidence must be a PDF, an image (PNG, JPEG, TIFF, WebP), an office document (Word, Excel, PowerPoint, WPS) or OFD",
			"佐证材料须为 PDF、图片（PNG、JPEG、TIFF、WebP）、办公文档（Word、Excel、PowerPoint、WPS）或 OFD 文件",
			map[string]any{"file_name": name})
	}
	detected := mimetype.Detect(data)
	for _, m := range want.media {
		// A zip container is recognised by its first member; one cut
		// short has lost its central directory and opens nowhere.
		if detected.Is(m) && (want.zipPart == "" || zipHas(data, want.zipPart)) {
			return want.media[0], nil
		}
	}
	if want.zipPart != "" && detected.Is("application/zip") && zipHas(data, want.zipPart) {
		return want.media[0], nil
	}
	return "", fault.With(fault.ErrUnsupportedMedia,
		"the file is named "+ext+" but its content is not "+want.label+" (detected "+detected.String()+")",
		"文件扩展名为 "+ext+"，但内容不是 "+want.label+" 文件", map[string]any{"file_name": name, "detected": detected.String()})
}

// zipHas reports whether the zip archive data lists a member named part.
// Only the central directory is read, so a zip bomb costs nothing here.
func zipHas(data []byte, part string) bool {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return false
	}
	for _, f := range zr.File {
		if f.Name == part {
			return true
		}
	}
	return false
}
