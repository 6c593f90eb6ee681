// The bulk writer of an ingestion: multi-row INSERTs in short transactions.

package surveys

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/surveys/questionnaire"
)

// writer inserts the responses of a batch in multi-row statements. It
// holds a window of rows and writes it, grouped by region (in upload
// order within each region), while the reader fills the next window: so
// that reading the file and inserting overlap, and that a region's
// responses lie close together in the table, as recompute reads them
// region by region. A window is written in one or more short
// transactions of the attempt (txRows), never in one that lasts the whole
// read. At most one window is being written at a time; a failed write's
// error is returned by the next add or by flush.
type writer struct {
	l     *loading
	items int

	fill    []pending    // the window being filled
	spare   []pending    // a written window, for reuse
	writing chan written // the outcome of the window being written; nil when none
	err     error        // the first failed write

	// Used only by the write in progress; regions is read once the last
	// write is done.
	regions map[string]bool // the regions of the responses written
	order   []int32
	args    []any
}

// pending is a response held until its window is written. Its strings are
// the reader's, which emit may keep; its answers are encoded.
type pending struct {
	region, respondentType, respondentID, contactHash, answers string
	row, attention                                             int
	seconds, at                                                any // float64 and time.Time, or nil
}

// written is the outcome of writing a window.
type written struct {
	rows []pending
	err  error
}

// insertWindow is the rows a writer holds before writing them: a few MB,
// at most two windows at a time.
const insertWindow = 16_384

const insertHead = "INSERT INTO survey_responses (project_id, region_code, batch_id, row_no, respondent_type, " +
	"respondent_id, contact_hash, seconds, submitted_at, answers, attention, flags) VALUES "

// insertRows is the responses per INSERT statement, 11 placeholders each.
// MySQL takes 65,535 placeholders in a statement, and fewer, larger
// statements save round trips. The SQLite driver binds each placeholder
// by a linear search of the arguments, in time quadratic in a statement's
// size, so there small statements are fastest.
func (w *writer) insertRows() int {
	if w.l.db.Dialector.Name() == "sqlite" {
		return 32
	}
	return 4096
}

// txRows is the responses per transaction. On SQLite a transaction holds
// the database's one write lock, which every other write of the system
// waits for: a few thousand rows take some tens of milliseconds. On MySQL
// it holds only the batch's row, and a window is one transaction.
func (w *writer) txRows() int {
	if w.l.db.Dialector.Name() == "sqlite" {
		return sqliteTxRows
	}
	return insertWindow
}

// sqliteTxRows is the responses per transaction on SQLite.
const sqliteTxRows = 4096

func (w *writer) add(r *questionnaire.Response) error {
	if w.err != nil {
		return w.err
	}
	if w.fill == nil {
		w.fill = make([]pending, 0, insertWindow)
	}
	p := pending{region: r.Region, respondentType: r.RespondentType, respondentID: r.RespondentID,
		contactHash: r.ContactHash, answers: encodeAnswers(r.Answers), row: r.Row, attention: int(r.Attention)}
	if r.Seconds >= 0 {
		p.seconds = r.Seconds
	}
	if !r.SubmittedAt.IsZero() {
		p.at = r.SubmittedAt.UTC()
	}
	w.fill = append(w.fill, p)
	if len(w.fill) < insertWindow {
		return nil
	}
	if err := w.wait(); err != nil {
		return err
	}
	rows := w.fill
	w.fill, w.spare = w.spare, nil
	done := make(chan written, 1)
	w.writing = done
	go func() { done <- written{rows: rows, err: w.write(rows)} }()
	return nil
}

// wait waits for the window being written, if any.
func (w *writer) wait() error {
	if w.writing == nil {
		return w.err
	}
	res := <-w.writing
	w.writing = nil
	clear(res.rows) // let go of the strings
	w.spare = res.rows[:0]
	if res.err != nil && w.err == nil {
		w.err = fmt.Errorf("insert responses: %w", res.err)
	}
	return w.err
}

// flush writes what is left and returns once every response is stored.
func (w *writer) flush() error {
	if err := w.wait(); err != nil {
		return err
	}
	if err := w.write(w.fill); err != nil {
		w.err = fmt.Errorf("insert responses: %w", err)
		return w.err
	}
	clear(w.fill)
	w.fill = w.fill[:0]
	return nil
}

// write stores a window of responses, grouped by region, txRows to a
// transaction of the attempt.
func (w *writer) write(rows []pending) error {
	order := w.order[:0]
	for i := range rows {
		order = append(order, int32(i))
	}
	slices.SortStableFunc(order, func(a, b int32) int { return strings.Compare(rows[a].region, rows[b].region) })
	w.order = order
	if w.regions == nil {
		w.regions = map[string]bool{}
	}
	for k, i := range order {
		if k == 0 || rows[i].region != rows[order[k-1]].region {
			w.regions[rows[i].region] = true
		}
	}
	for len(order) > 0 {
		n := min(len(order), w.txRows())
		if err := w.l.step(func(tx *gorm.DB) error { return w.insert(tx, rows, order[:n]) }); err != nil {
			return err
		}
		order = order[n:]
	}
	return nil
}

// insert stores rows[i], for each i of order, within tx.
func (w *writer) insert(tx *gorm.DB, rows []pending, order []int32) (err error) {
	per := w.insertRows()
	ctx, pool := tx.Statement.Context, tx.Statement.ConnPool
	// Full statements reuse one prepared statement.
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			err = errors.Join(err, stmt.Close())
		}
	}()
	for len(order) > 0 {
		n := min(len(order), per)
		args := w.args[:0]
		for _, i := range order[:n] {
			r := &rows[i]
			args = append(args, w.l.batch.ProjectID, r.region, w.l.batch.ID, r.row, r.respondentType, r.respondentID,
				r.contactHash, r.seconds, r.at, r.answers, r.attention)
		}
		if n == per {
			if stmt == nil {
				stmt, err = pool.PrepareContext(ctx, insertSQL(n))
			}
			if err == nil {
				_, err = stmt.ExecContext(ctx, args...)
			}
		} else {
			_, err = pool.ExecContext(ctx, insertSQL(n), args...)
		}
		clear(args)
		w.args = args
		if err != nil {
			return err
		}
		order = order[n:]
	}
	return nil
}

// insertSQL is the INSERT statement of n responses.
func insertSQL(n int) string {
	const values = "(?,?,?,?,?,?,?,?,?,?,?,0)"
	var b strings.Builder
	b.Grow(len(insertHead) + n*(len(values)+1))
	b.WriteString(insertHead)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(values)
	}
	return b.String()
}

// encodeAnswers writes one character per answer, '0' + answer.
func encodeAnswers(a []uint8) string {
	b := make([]byte, len(a))
	for i, x := range a {
		b[i] = '0' + x
	}
	return string(b)
}

// decodeAnswers is encodeAnswers backwards, into dst.
func decodeAnswers[S ~string | ~[]byte](dst []uint8, s S) []uint8 {
	dst = dst[:0]
	for i := 0; i < len(s); i++ {
		dst = append(dst, s[i]-'0')
	}
	return dst
}
