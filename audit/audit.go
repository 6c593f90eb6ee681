// Package audit owns the append-only audit log: who did what to which
// object, with which result, from where. Every write and every login
// attempt is recorded; the table refuses UPDATE and DELETE.
package audit

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ipeval/ipeval/internal/textenc"

	"gorm.io/gorm"
)

// Results of an audited action.
const (
	Success = "success"
	Denied  = "denied"
	Failure = "failure"
	Error   = "error"
)

// ResultOf classifies an HTTP status as an audit result.
func ResultOf(status int) string {
	switch {
	case status >= 500:
		return Error
	case status == 401 || status == 403:
		return Denied
	case status >= 400:
		return Failure
	default:
		return Success
	}
}

// Entry is one audited action.
type Entry struct {
	ID        uint64    `json:"id" gorm:"primaryKey"`
	At        time.Time `json:"at"`
	UserID    string    `json:"user_id"`
	Username  string    `json:"username"`
	Role      string    `json:"role"`
	Action    string    `json:"action"`
	Object    string    `json:"object"`
	Result    string    `json:"result"`
	Status    int       `json:"status"`
	ClientIP  string    `json:"client_ip"`
	RequestID string    `json:"request_id"`
	Detail    string    `json:"detail"`
}

// TableName is the append-only table.
func (Entry) TableName() string { return "audit_log" }

// RecordSystem writes, with tx, the successful entry of something the
// system did on its own (a scheduled purge, say): no user, no client.
func RecordSystem(ctx context.Context, tx *gorm.DB, at time.Time, action, object, requestID, detail string) error {
	return NewLog(tx).Record(ctx, Entry{At: at, Username: "system", Role: "system", Action: action,
		Object: object, Result: Success, ClientIP: "local", RequestID: requestID, Detail: detail})
}

// Log records and reads audit entries.
type Log struct {
	db  *gorm.DB
	now func() time.Time
}

// NewLog returns a Log on db.
func NewLog(db *gorm.DB) *Log {
	return &Log{db: db, now: func() time.Time { return time.Now().UTC() }}
}

// Record appends e, stamping the time when it is unset. Long texts are
// truncated to their columns rather than failing the audited request.
func (l *Log) Record(ctx context.Context, e Entry) error {
	if e.At.IsZero() {
		e.At = l.now()
	}
	e.ID = 0
	e.Object = textenc.Clip(e.Object, 191)
	e.Detail = textenc.Clip(e.Detail, 1000)
	e.Username = textenc.Clip(e.Username, 64)
	e.ClientIP = textenc.Clip(e.ClientIP, 64)
	e.RequestID = textenc.Clip(e.RequestID, 64)
	if err := l.db.WithContext(ctx).Create(&e).Error; err != nil {
		return fmt.Errorf("record audit entry: %w", err)
	}
	return nil
}

// Filter selects entries; zero fields match everything. Before is a cursor:
// only entries with a smaller id are returned.
type Filter struct {
	Username string    `json:"username,omitempty"`
	Action   string    `json:"action,omitempty"`
	Object   string    `json:"object,omitempty"`
	Result   string    `json:"result,omitempty"`
	From     time.Time `json:"from,omitzero"`
	To       time.Time `json:"to,omitzero"`
	Before   uint64    `json:"before,omitempty"`
	Limit    int       `json:"limit,omitempty"`
}

// MaxPage bounds one page of List.
const MaxPage = 500

func (f Filter) apply(q *gorm.DB) *gorm.DB {
	if f.Username != "" {
		q = q.Where("username = ?", f.Username)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.Object != "" {
		q = q.Where("object LIKE ? ESCAPE '!'", escapeLike(f.Object)+"%")
	}
	if f.Result != "" {
		q = q.Where("result = ?", f.Result)
	}
	if !f.From.IsZero() {
		q = q.Where("at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("at < ?", f.To.UTC())
	}
	if f.Before > 0 {
		q = q.Where("id < ?", f.Before)
	}
	return q
}

// escapeLike makes s match literally in a LIKE pattern. The escape character
// is "!" because SQLite has no default one and MySQL's backslash would need
// different quoting on each.
func escapeLike(s string) string {
	return strings.NewReplacer(`!`, `!!`, `%`, `!%`, `_`, `!_`).Replace(s)
}

// List returns up to f.Limit entries (default 100, at most MaxPage), newest first.
func (l *Log) List(ctx context.Context, f Filter) ([]Entry, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, MaxPage)
	var out []Entry
	if err := f.apply(l.db.WithContext(ctx)).Order("id DESC").Limit(f.Limit).Find(&out).Error; err != nil {
		return nil, fmt.Errorf("list audit entries: %w", err)
	}
	return out, nil
}

// WriteCSV streams every entry matching f (ignoring its limit) to w as CSV
// with a UTF-8 BOM so that Excel opens Chinese text correctly. progress, if
// not nil, is called with the number of rows written so far.
func (l *Log) WriteCSV(ctx context.Context, w io.Writer, f Filter, progress func(rows int)) (int, error) {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return 0, err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "at", "user_id", "username", "role", "action", "object", "result", "status", "client_ip", "request_id", "detail"})
	rows := 0
	for {
		f.Limit = MaxPage
		page, err := l.List(ctx, f)
		if err != nil {
			return rows, err
		}
		for _, e := range page {
			rec := []string{strconv.FormatUint(e.ID, 10), e.At.UTC().Format(time.RFC3339), e.UserID, e.Username, e.Role,
				e.Action, e.Object, e.Result, strconv.Itoa(e.Status), e.ClientIP, e.RequestID, e.Detail}
			for i := range rec {
				rec[i] = textenc.GuardFormula(rec[i])
			}
			if err := cw.Write(rec); err != nil {
				return rows, err
			}
		}
		rows += len(page)
		if progress != nil {
			progress(rows)
		}
		if len(page) < MaxPage {
			break
		}
		f.Before = page[len(page)-1].ID
	}
	cw.Flush()
	return rows, cw.Error()
}
