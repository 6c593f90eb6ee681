package site

import (
	"fmt"
	"time"

	"github.com/ipeval/ipeval/cycles"
	"github.com/ipeval/ipeval/reports"
)

// CollectionDeadline is cy's collection deadline as of now, nil for none:
// the collect page shows the city official until when collection is
// announced open.
func (v view) CollectionDeadline(cy cycles.Cycle) *reports.Deadline {
	return reports.DeadlineOf(cy, time.Now())
}

// DeadlineText says a collection deadline in the page's language:
// "开放至 2027-03-31（剩余 12 天）", the count only while collection is
// open.
func (v view) DeadlineText(d *reports.Deadline) string {
	if d == nil {
		return ""
	}
	s := fmt.Sprintf(v.T("cycles.deadline.until"), d.Day)
	switch {
	case !d.Open:
		return s
	case d.Overdue:
		return s + fmt.Sprintf(v.T("cycles.deadline.overdue"), d.Days)
	default:
		return s + fmt.Sprintf(v.T("cycles.deadline.left"), d.Days)
	}
}
