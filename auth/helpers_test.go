package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
)

// clock is a fake time source that tests move forward by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newStore returns a Store on db driven by a fake clock.
func newStore(tb testing.TB, db *gorm.DB) (*auth.Store, *clock) {
	tb.Helper()
	c := newClock()
	return auth.NewStore(db, c.Now), c
}

// addRegion inserts a prefecture-city region with code.
func addRegion(tb testing.TB, db *gorm.DB, code, name string) {
	tb.Helper()
	now := time.Now().UTC()
	err := db.Table("regions").Create(map[string]any{
		"code": code, "name": name, "kind": "prefecture_city", "created_at": now, "updated_at": now,
	}).Error
	if err != nil {
		tb.Fatalf("insert region %s: %v", code, err)
	}
}

// addOrg creates an organisation of kind.
func addOrg(tb testing.TB, s *auth.Store, name, kind string) auth.Organisation {
	tb.Helper()
	o, err := s.CreateOrganisation(context.Background(), name, kind)
	if err != nil {
		tb.Fatalf("create organisation %s: %v", name, err)
	}
	return o
}

const testPassword = "Correct-Horse-42"

// addUser creates a user with testPassword.
func addUser(tb testing.TB, s *auth.Store, nu auth.NewUser) auth.User {
	tb.Helper()
	if nu.Password == "" {
		nu.Password = testPassword
	}
	u, _, err := s.CreateUser(context.Background(), nu)
	if err != nil {
		tb.Fatalf("create user %s: %v", nu.Username, err)
	}
	return u
}

// fieldCodes returns "field/code" for every problem of a validation error,
// failing when err is not one.
func fieldCodes(tb testing.TB, err error) []string {
	tb.Helper()
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		tb.Fatalf("error %v is not a validation error", err)
	}
	var out []string
	for _, fe := range ve.Errors {
		if fe.Message == "" || fe.MessageEn == "" {
			tb.Errorf("problem %s/%s lacks a message: %+v", fe.Field, fe.Code, fe)
		}
		out = append(out, fe.Field+"/"+fe.Code)
	}
	return out
}
