package reports

import (
	"embed"
	"io/fs"
)

// staticFS holds every browser asset the dashboards and reports load:
// vendor/ is filled by `make assets` from the npm lockfile, so that pages
// refer to no other host (DESIGN.md section 7).
//
//go:embed static
var staticFS embed.FS

// Vendored assets a page needs; a binary built without `make assets`
// lacks them.
const (
	EChartsAsset = "vendor/echarts.min.js"
	ShanxiAsset  = "vendor/maps/shanxi.js"
)

// Static returns the assets, with paths such as "vendor/echarts.min.js".
func Static() fs.FS {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // "static" is a valid, embedded path
	}
	return sub
}

// Missing lists the vendored assets this binary was built without, so that
// serve can say at start that charts will not draw, rather than a page
// failing quietly.
func Missing() []string {
	var out []string
	for _, name := range []string{EChartsAsset, ShanxiAsset} {
		if _, err := fs.Stat(Static(), name); err != nil {
			out = append(out, name)
		}
	}
	return out
}
