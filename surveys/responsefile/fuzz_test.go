package responsefile_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/internal/textguard"
	"github.com/ipeval/ipeval/surveys/questionnaire"
	"github.com/ipeval/ipeval/surveys/responsefile"
)

// fuzzRead reads content and checks what no input may break: no panic,
// every emitted response complete and on the scale, counts consistent.
func fuzzRead(t *testing.T, format string, content []byte) {
	t.Helper()
	rules := testRules(t)
	rules.MaxProblems = 50
	q := rules.Questionnaire
	emitted := 0
	sum, err := responsefile.Read(context.Background(), bytes.NewReader(content), int64(len(content)), format, rules,
		responsefile.Mapping{}, func(r *questionnaire.Response) error {
			emitted++
			if len(r.Answers) != len(q.Items) {
				t.Fatalf("%d answers for %d items", len(r.Answers), len(q.Items))
			}
			for i, a := range r.Answers {
				if a < 1 || a > 5 {
					t.Fatalf("row %d: answer %d to %s is off the scale", r.Row, a, q.Items[i].Code)
				}
			}
			if r.Attention > 5 || r.Region == "" || r.RespondentType == "" || r.Row < 2 {
				t.Fatalf("incomplete response %+v", r)
			}
			if !rules.Project[r.Region] {
				t.Fatalf("region %q outside the project emitted", r.Region)
			}
			if _, c, bad := textguard.Find(r.RespondentID, textguard.Text); bad {
				t.Fatalf("row %d: respondent id with %U emitted", r.Row, c)
			}
			return nil
		}, nil)
	if emitted != sum.Valid || sum.Valid > sum.Rows || len(sum.Problems) > sum.ProblemCount || len(sum.Problems) > 50 {
		t.Fatalf("inconsistent summary %+v after %d emitted (err %v)", sum, emitted, err)
	}
	for _, p := range sum.Problems {
		if p.Code == "" || p.Message == "" || p.MessageEn == "" {
			t.Fatalf("problem without code or message: %+v", p)
		}
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, seed := range []string{
		canonicalHeader + "\n" + goodRow + "\n",
		"\ufeff" + canonicalHeader + "\r\n" + goodRow + "\r" + goodRow,
		canonicalHeader + "\n" + strings.Replace(goodRow, ",5,4,3", ",5 非常满意,满意(4),\"3\"", 1),
		canonicalHeader + "\n" + strings.Replace(goodRow, ",5,4,3", ",6,4.5,x", 1),
		canonicalHeader + "\n" + strings.Replace(goodRow, ",5,4,3", ",5\x1b,4\u202e,3", 1),
		canonicalHeader + "\n\"unclosed,\n" + goodRow,
		"序号,所用时间,1、所属地区,2、身份,3、服务便捷性,4、服务效率,5、信息资源获取,6、咨询解答质量,7、服务态度,8、总体满意度,9、本题请选择“不满意”\n1,2分5秒,太原市,企业,5,4,3,2,1,5,2",
		strings.ReplaceAll(canonicalHeader+"\n"+goodRow, ",", "\t"),
		"",
		"\xff\xfe\x00",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, content []byte) {
		fuzzRead(t, responsefile.FormatCSV, content)
	})
}

// FuzzReadXLSX fuzzes the cells of a workbook rather than its bytes: a
// mutated zip fails its CRC check before any cell is read, so byte-level
// mutation would never reach the cell readers.
func FuzzReadXLSX(f *testing.F) {
	f.Add(goodRow, 45414.5, 22)
	f.Add("大同市,个人,,,2分5秒,,非常满意,满意,5 非常满意,不满意(2),1,5,", 45414.0, 14)
	f.Add("140100,enterprise,x,,,,6,4.5,,x,1,5,2", -1.0, 0)
	f.Fuzz(func(t *testing.T, row string, serial float64, numFmt int) {
		if len(row) > 1<<12 {
			return
		}
		cells := splitRow(row)
		if len(cells) > 20 {
			return
		}
		if len(cells) < 6 {
			cells = append(cells, make([]any, 6-len(cells))...)
		}
		cells[5] = serial
		content := xlsxFile(t, [][]any{splitRow(canonicalHeader), cells}, map[string]int{"F2": numFmt & 0xff})
		fuzzRead(t, responsefile.FormatXLSX, content)
	})
}
