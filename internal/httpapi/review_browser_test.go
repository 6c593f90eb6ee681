package httpapi_test

import (
	"bytes"
	"image"
	pngenc "image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/indicators"
	"github.com/ipeval/ipeval/internal/testing/browsertest"
	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// TestBrowserReview drives Chromium through the review queue as the
// provincial manager: from the collection page to the queue, one value
// returned with a reason, the rest of the region verified in bulk.
func TestBrowserReview(t *testing.T) {
	exe := testenv.Require(t, testenv.Chromium)
	f := newFixture(t)
	cy, ids := f.reviewValues(map[string]map[string]float64{
		"140100": {"A2": 4, "A3": 2, "B3": 1},
		"140200": {"A2": 5},
	})
	var png bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = 0xc0
	}
	if err := pngenc.Encode(&png, img); err != nil {
		t.Fatal(err)
	}
	resp, body := f.do(f.as("admin", upload("POST", "/api/v1/cycles/"+cy+"/evidence",
		map[string]string{"region_code": "140100", "indicator_code": "A3"}, "file", "工作站照片.png", png.Bytes())))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("attach an image: %d %s", resp.StatusCode, body)
	}
	base := serveFixture(t, f)
	browser := browsertest.Start(t, exe)
	tab := browsertest.NewTab(t, browser, base)
	tab.Navigate("/cycles/" + cy + "/collect")
	if resp := tab.SignIn("admin", fixturePassword); resp.Status != http.StatusOK {
		t.Fatalf("collection page after sign-in: status %d", resp.Status)
	}
	if resp := tab.Submit("#review-link"); resp.Status != http.StatusOK {
		t.Fatalf("review queue: status %d", resp.Status)
	}
	tab.WantLocation("/cycles/" + cy + "/review")
	tab.Screenshot("review-queue.png")
	if err := chromedp.Do(tab.Ctx, chromedp.Click(`details.evidence-preview summary`)); err != nil {
		t.Fatalf("open the preview: %v", err)
	}
	if _, err := chromedp.Run(tab.Ctx, chromedp.Poll[bool](`document.querySelector("details.evidence-preview img").complete`)); err != nil {
		t.Fatalf("the preview does not load: %v", err)
	}
	width, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[int](`document.querySelector("details.evidence-preview img").naturalWidth`))
	if err != nil || width != 40 {
		t.Errorf("the evidence image is not previewed: width %d, %v", width, err)
	}
	if got := tab.Texts("table.review > tbody > tr"); len(got) != 4 {
		t.Errorf("the queue shows %d values, want 4", len(got))
	}

	// Return 140100's A2 with a reason.
	row := `tr[data-region="140100"][data-code="A2"] `
	if err := chromedp.Do(tab.Ctx, chromedp.SendKeys(row+`textarea[name="comment"]`, "网点数与名录不符，请核实")); err != nil {
		t.Fatalf("type the reason: %v", err)
	}
	if resp := tab.Submit(row + `form[action$="/return"] button`); resp.Status != http.StatusOK {
		tab.Screenshot("review-return.png")
		t.Fatalf("return: status %d", resp.Status)
	}
	if got := tab.Text("main p.notice"); !strings.Contains(got, "已退回 1 项") {
		t.Errorf("notice = %q, want one value returned", got)
	}
	tab.Screenshot("review-returned.png")

	// Verify the rest of 140100 at once.
	for _, act := range []chromedp.Action[chromedp.Void]{chromedp.SetValue(`#bulk select[name="region_code"]`, "140100"),
		chromedp.Click(`#bulk input[name="confirm"]`)} {
		if err := chromedp.Do(tab.Ctx, act); err != nil {
			t.Fatalf("fill the bulk form: %v", err)
		}
	}
	if resp := tab.Submit(`#bulk button[type="submit"]`); resp.Status != http.StatusOK {
		tab.Screenshot("review-bulk.png")
		t.Fatalf("bulk verify: status %d", resp.Status)
	}
	if got := tab.Text("main p.notice"); !strings.Contains(got, "已批量审核通过 2 项") {
		t.Errorf("notice = %q, want two values verified", got)
	}
	tab.Screenshot("review-bulk.png")
	for k, want := range map[string]indicators.Status{"140100/A2": indicators.StatusRejected, "140100/A3": indicators.StatusVerified,
		"140100/B3": indicators.StatusVerified, "140200/A2": indicators.StatusSubmitted} {
		if v := f.valueRow(ids[k]); v.Status != want {
			t.Errorf("%s is %s, want %s", k, v.Status, want)
		}
	}
}
