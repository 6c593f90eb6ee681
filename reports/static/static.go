// Package static holds every browser asset the dashboards, pages and
// reports load, embedded in the binary: vendor/ is filled by `make assets`
// from the npm lockfile, so that pages refer to no other host (DESIGN.md
// section 7).
package static

import (
	"embed"
	"io/fs"
)

//go:embed *.css vendor
var files embed.FS

// Vendored assets a page needs; a binary built without `make assets`
// lacks them.
const (
	EChartsAsset = "vendor/echarts.min.js"
	ShanxiAsset  = "vendor/maps/shanxi.js"
)

// FS returns the assets, with paths such as "vendor/echarts.min.js".
func FS() fs.FS { return files }

// Missing lists the vendored assets this binary was built without, so that
// serve can say at start that charts will not draw, rather than a page
// failing quietly.
func Missing() []string {
	var out []string
	for _, name := range []string{EChartsAsset, ShanxiAsset} {
		if _, err := fs.Stat(files, name); err != nil {
			out = append(out, name)
		}
	}
	return out
}
