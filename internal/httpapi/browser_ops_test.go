package httpapi_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	pngenc "image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// onePagePDF is a valid one-page PDF saying text, with its cross-reference
// table computed, so that a browser's viewer draws it.
func onePagePDF(text string) []byte {
	stream := fmt.Sprintf("BT /F1 28 Tf 60 700 Td (%s) Tj ET", text)
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// TestBrowserOps drives Chromium as the provincial manager through the
// jobs page (a running and a failed job, the failed filter) and the
// review queue's inline evidence: a PDF and an image load only when their
// preview is opened, and then show in the page.
func TestBrowserOps(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	cy, _ := f.reviewValues(map[string]map[string]float64{"140100": {"A2": 4, "A3": 2}})
	var png bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 120, 80))
	for x := range 120 {
		for y := range 80 {
			img.Set(x, y, color.RGBA{R: uint8(x * 2), G: 90, B: uint8(y * 3), A: 255})
		}
	}
	if err := pngenc.Encode(&png, img); err != nil {
		t.Fatal(err)
	}
	for code, file := range map[string]struct {
		name string
		data []byte
	}{"A2": {"网点名录.pdf", onePagePDF("Evidence PDF preview")}, "A3": {"工作站照片.png", png.Bytes()}} {
		resp, body := f.do(f.as("admin", upload("POST", "/api/v1/cycles/"+cy+"/evidence",
			map[string]string{"region_code": "140100", "indicator_code": code}, "file", file.name, file.data)))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("attach %s: %d %s", file.name, resp.StatusCode, body)
		}
	}
	f.insertJob("admin", "evaluation:run", "running", `{"cycle_id":"`+cy+`"}`, "正在计算各地区得分", "")
	f.insertJob("admin", "evaluation:run", "failed", `{"cycle_id":"`+cy+`"}`, "缺少数据：140100 的 A2", "missing values: 140100 A2")

	base := serveFixture(t, f)
	browser := browsertest.Start(t, exe)
	tab := browsertest.NewTab(t, browser, base)
	tab.Navigate("/jobs")
	if resp := tab.SignIn("admin", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("jobs page after sign-in: status %d", resp.Status)
	}
	tab.WantLocation("/jobs")
	if got := tab.Texts("table.jobs > tbody > tr"); len(got) < 2 {
		t.Errorf("the jobs page lists %d jobs, want the running and the failed", len(got))
	}
	if got := tab.Text(`nav a[aria-current="page"]`); got != "后台任务" {
		t.Errorf("current section %q, want 后台任务", got)
	}
	tab.Screenshot("jobs.png")
	tab.Axe("jobs page")
	if err := chromedp.Do(tab.Ctx, chromedp.SetValue(`#filter-jobs select[name="state"]`, "failed")); err != nil {
		t.Fatal(err)
	}
	if resp := tab.Submit(`#filter-jobs button[type="submit"]`); resp.Status != http.StatusOK {
		t.Fatalf("filter: status %d", resp.Status)
	}
	if got := tab.Text("table.jobs td.reason"); !strings.Contains(got, "缺少数据") {
		t.Errorf("failure reason %q", got)
	}
	tab.Screenshot("jobs-failed.png")

	inline := func() int {
		n := 0
		for _, u := range tab.WantOwnHost() {
			if strings.Contains(u, "inline=1") {
				n++
			}
		}
		return n
	}
	tab.Navigate("/cycles/" + cy + "/review")
	if n := inline(); n != 0 {
		t.Errorf("%d previews loaded before any was opened", n)
	}
	tab.Screenshot("review-previews-closed.png")
	tab.Axe("review queue")
	for _, sel := range []string{`details.evidence-preview:has(iframe) summary`, `details.evidence-preview:has(img) summary`} {
		if err := chromedp.Do(tab.Ctx, chromedp.Click(sel)); err != nil {
			t.Fatalf("open %s: %v", sel, err)
		}
	}
	if _, err := chromedp.Run(tab.Ctx, chromedp.Poll[bool](`document.querySelector("details.evidence-preview img").complete`)); err != nil {
		t.Fatal(err)
	}
	if w, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[int](`document.querySelector("details.evidence-preview img").naturalWidth`)); err != nil || w != 120 {
		t.Errorf("the image preview is %d wide (%v), want 120", w, err)
	}
	if _, err := chromedp.Run(tab.Ctx, chromedp.Poll[bool](`(function(){var n=0;performance.getEntriesByType("resource").forEach(function(e){if(e.name.indexOf("inline=1")>=0)n++});return n>=2})()`)); err != nil {
		t.Errorf("the previews did not load: %v", err)
	}
	if n := inline(); n < 2 {
		t.Errorf("%d previews loaded after opening both, want 2", n)
	}
	if err := chromedp.Do(tab.Ctx, chromedp.Sleep(1500*1e6)); err != nil {
		t.Fatal(err)
	}
	tab.Screenshot("review-previews-open.png")
}
