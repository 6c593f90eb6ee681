package app

import (
	"context"
	"fmt"

	"github.com/ipeval/ipeval/internal/demo"
)

// LoadDemo fills an empty database with the demo data set, its survey
// ingested through s.Surveys, and records the load as made from the
// command line by osUser. When the database already has users it changes
// nothing and returns loaded false.
func (s *Stores) LoadDemo(ctx context.Context, osUser string) (res demo.Result, loaded bool, err error) {
	empty, err := demo.Empty(ctx, s.DB)
	if err != nil || !empty {
		return res, false, err
	}
	if res, err = demo.Load(ctx, s.DB, demo.Options{Surveys: s.Surveys}); err != nil {
		return res, false, err
	}
	s.AuditCLI(ctx, osUser, "demo.load", "cycle:"+res.Cycle.ID, fmt.Sprintf("%d regions, %d users", res.Regions, len(res.Accounts)))
	return res, true, nil
}
