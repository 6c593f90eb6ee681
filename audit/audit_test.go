package audit_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/audit"
	"github.com/ipeval/ipeval/internal/testing/dbtest"
)

func TestFilter(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		ctx := context.Background()
		l := audit.NewLog(db)
		base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		for i, e := range []audit.Entry{
			{Username: "li_wei", Action: "auth.login", Object: "user:li_wei", Result: audit.Success},
			{Username: "liXwei", Action: "auth.login", Object: "user:liXwei", Result: audit.Denied},
			{Username: "admin", Action: "cycles.create", Object: "cycle:100%", Result: audit.Success},
			{Username: "admin", Action: "cycles.transition", Object: "cycle:1001", Result: audit.Failure},
		} {
			e.At = base.Add(time.Duration(i) * time.Hour)
			if err := l.Record(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name string
			f    audit.Filter
			want []string
		}{
			{"underscore is literal", audit.Filter{Object: "user:li_"}, []string{"user:li_wei"}},
			{"percent is literal", audit.Filter{Object: "cycle:100%"}, []string{"cycle:100%"}},
			{"prefix", audit.Filter{Object: "cycle:"}, []string{"cycle:1001", "cycle:100%"}},
			{"result", audit.Filter{Result: audit.Denied}, []string{"user:liXwei"}},
			{"time window", audit.Filter{From: base.Add(time.Hour), To: base.Add(3 * time.Hour)}, []string{"cycle:100%", "user:liXwei"}},
			{"limit", audit.Filter{Limit: 1}, []string{"cycle:1001"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				es, err := l.List(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, e := range es {
					got = append(got, e.Object)
				}
				if strings.Join(got, " ") != strings.Join(tt.want, " ") {
					t.Fatalf("objects %v, want %v (newest first)", got, tt.want)
				}
			})
		}
	})
}

func TestWriteCSVNeutralisesFormulas(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	l := audit.NewLog(db)
	for _, d := range []string{"=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "plain <script>"} {
		if err := l.Record(ctx, audit.Entry{Username: "u", Action: "a", Object: "o", Result: audit.Success, Detail: d}); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	n, err := l.WriteCSV(ctx, &buf, audit.Filter{}, nil)
	if err != nil || n != 5 {
		t.Fatalf("WriteCSV = %d, %v", n, err)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		detail := rec[len(rec)-1]
		if strings.ContainsAny(detail[:1], "=+-@") {
			t.Errorf("cell %q would be evaluated as a formula", detail)
		}
	}
}
