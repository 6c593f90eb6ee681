package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ipeval/ipeval/internal/fault"
	"github.com/ipeval/ipeval/jobs"
)

// serverLog is in the Error of a job whose handler's error is not fit for
// API callers.
const serverLog = "details are in the server log"

// TestErrorsShownToCallers checks that a job's JSON carries only caller-safe
// error text, while the log has the full error.
func TestErrorsShownToCallers(t *testing.T) {
	h := newHarness(t, nil, embeddedBroker(t))
	logs := &lockedBuffer{}
	h.log = slog.New(slog.NewTextHandler(logs, nil))
	leak := errors.New("query jobs: dial tcp 10.0.0.1:3306: secret/path")
	detailed := fault.With(fault.ErrBadRequest, "row 3 is wrong", "第3行有误", nil)
	tests := []struct {
		kind    string
		err     error
		opts    []jobs.Option
		want    jobs.Status
		errText string // "": serverLog and the job id
		message string // "": any, checked by prefix for a retry
	}{
		{kind: "leak:retry", err: leak, opts: []jobs.Option{jobs.MaxRetry(1)}, want: jobs.StatusQueued},
		{kind: "leak:fail", err: leak, opts: []jobs.Option{jobs.MaxRetry(0)}, want: jobs.StatusFailed},
		{
			kind: "safe:detail", err: fmt.Errorf("write secret/path: %w: %w", detailed, asynq.SkipRetry),
			want: jobs.StatusFailed, errText: "row 3 is wrong", message: "第3行有误",
		},
		{
			kind: "safe:validation",
			err:  fmt.Errorf("import at 10.0.0.1: %w: %w", fault.Invalid(fault.Field("name", "required", "名称必填", "name is required")), asynq.SkipRetry),
			want: jobs.StatusFailed, errText: "invalid input: name: name is required",
		},
	}
	for _, tt := range tests {
		h.reg.Register(tt.kind, func(context.Context, jobs.Job, jobs.Progress) (string, error) { return "", tt.err }, tt.opts...)
	}
	// A retry is due only in an hour, so that the job stays queued with the
	// message of its first failure.
	h.startWorker(func(w *jobs.Worker) { w.RetryDelay = func(int) time.Duration { return time.Hour } })
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			id := h.submit(tt.kind, nil).ID
			job := h.wait(id, string(tt.want), func(j jobs.Job) bool { return j.Status == tt.want && j.Error != "" })
			body, err := json.Marshal(job)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{"10.0.0.1", "secret", "3306", "dial tcp"} {
				if strings.Contains(string(body), secret) {
					t.Errorf("job JSON reveals %q: %s", secret, body)
				}
			}
			switch {
			case tt.errText == "":
				if !strings.Contains(job.Error, serverLog) || !strings.Contains(job.Error, id) {
					t.Errorf("error = %q, want a pointer to the server log with the job id", job.Error)
				}
			case job.Error != tt.errText:
				t.Errorf("error = %q, want %q", job.Error, tt.errText)
			}
			if tt.want == jobs.StatusQueued && job.Message != "will retry after: "+job.Error {
				t.Errorf("message = %q, want the retry note with the safe error", job.Message)
			}
			if tt.message != "" && job.Message != tt.message {
				t.Errorf("message = %q, want %q", job.Message, tt.message)
			}
			if tt.err == leak {
				eventually(t, 5*time.Second, "full error logged", func() bool {
					for line := range strings.Lines(logs.String()) {
						if strings.Contains(line, "dial tcp 10.0.0.1:3306: secret/path") && strings.Contains(line, "job_id="+id) &&
							strings.Contains(line, "kind="+tt.kind) && strings.Contains(line, "attempt=1") {
							return true
						}
					}
					return false
				})
			}
		})
	}
}

func TestDecode(t *testing.T) {
	var v struct{ N int }
	tests := []struct {
		payload string
		as      func(error) bool
	}{
		{`{"N":`, func(err error) bool { _, ok := errors.AsType[*json.SyntaxError](err); return ok }},
		{`{"N":"x"}`, func(err error) bool { _, ok := errors.AsType[*json.UnmarshalTypeError](err); return ok }},
	}
	for _, tt := range tests {
		err := jobs.Job{ID: "j1", Kind: kindEcho, Payload: tt.payload}.Decode(&v)
		if err == nil || !errors.Is(err, asynq.SkipRetry) || !tt.as(err) || !strings.Contains(err.Error(), "j1") {
			t.Errorf("Decode(%s) = %v, want an error naming the job and wrapping the json error and SkipRetry", tt.payload, err)
		}
	}
	if err := (jobs.Job{Payload: `{"N":7}`}).Decode(&v); err != nil || v.N != 7 {
		t.Errorf("Decode = %v, N = %d", err, v.N)
	}
}
