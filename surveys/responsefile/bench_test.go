package responsefile_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/surveys/questionnaire"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

// benchRows is the size of the generated upload.
const benchRows = 100_000

// benchQuestionnaire has 20 items on the default scale.
func benchQuestionnaire(tb testing.TB) questionnaire.Questionnaire {
	tb.Helper()
	q := testQuestionnaire(tb)
	q.Items = nil
	for i := range 20 {
		q.Items = append(q.Items, questionnaire.Item{Code: fmt.Sprintf("q%02d", i+1), Text: fmt.Sprintf("题目%d", i+1)})
	}
	return q
}

// writeBenchCSV writes benchRows rows as a survey tool would: metadata,
// then 20 answers, mostly numbers and one item as label text.
func writeBenchCSV(tb testing.TB, q questionnaire.Questionnaire) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "responses.csv")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	header := []string{"region", "respondent_type", "respondent_id", "contact", "seconds", "submitted_at"}
	for _, it := range q.Items {
		header = append(header, it.Code)
	}
	header = append(header, "attention")
	fmt.Fprintf(w, "\ufeff%s\r\n", strings.Join(header, ","))
	regions := []string{"140100", "大同市"}
	types := []string{"企业", "高校院所", "服务机构", "个人"}
	labels := []string{"非常不满意", "不满意", "基本满意", "满意", "非常满意"}
	for i := range benchRows {
		fmt.Fprintf(w, "%s,%s,R%07d,1380013%04d,%d,2024-05-%02d %02d:%02d:%02d", regions[i%2], types[i%4], i, i%10000,
			60+i%600, 1+i%28, i%24, i%60, (i*7)%60)
		for j := range q.Items {
			if j == 19 {
				fmt.Fprintf(w, ",%s", labels[(i+j)%5])
			} else {
				fmt.Fprintf(w, ",%d", 1+(i*31+j*7)%5)
			}
		}
		fmt.Fprint(w, ",2\r\n")
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return path
}

// BenchmarkReadCSV reads a 100,000-row × 20-item upload; encoding_csv is
// a plain encoding/csv read of the same file, the floor Read is measured
// against.
func BenchmarkReadCSV(b *testing.B) {
	q := benchQuestionnaire(b)
	path := writeBenchCSV(b, q)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	rules := testRules(b)
	rules.Questionnaire = q
	b.Run("ipeval", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(st.Size())
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			sum, err := responsefile.Read(context.Background(), f, st.Size(), responsefile.FormatCSV, rules, responsefile.Mapping{},
				func(*questionnaire.Response) error { return nil }, nil)
			_ = f.Close()
			if err != nil || sum.Valid != benchRows {
				b.Fatalf("read %d valid rows, %v (%+v)", sum.Valid, err, sum.Problems[:min(3, len(sum.Problems))])
			}
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("encoding_csv", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(st.Size())
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
			r.ReuseRecord = true
			r.FieldsPerRecord = -1
			n := 0
			for {
				_, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			_ = f.Close()
			if n != benchRows+1 {
				b.Fatalf("read %d records", n)
			}
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}
