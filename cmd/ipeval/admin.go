package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/config"
	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/fault"
)

func migrate(ctx context.Context, e env, args []string) error {
	cfg, fs, err := flags(e, "migrate", args, config.CommandSettings("migrate")...)
	if err != nil {
		return err
	}
	status := fs.Arg(0) == "status"
	if fs.NArg() > 1 || (fs.NArg() == 1 && !status) {
		return fmt.Errorf("migrate takes only the word status: %w", errUsage)
	}
	target, err := database.Parse(cfg.DatabaseAddr())
	if err != nil {
		return err
	}
	db, err := database.Open(ctx, target, newLogger(e, cfg.LogFormat))
	if err != nil {
		return err
	}
	defer database.Close(db)
	if !status {
		if err := database.Migrate(ctx, db); err != nil {
			return err
		}
	}
	states, err := database.Status(ctx, db)
	if err != nil {
		return err
	}
	for _, s := range states {
		mark := "pending"
		if s.Applied {
			mark = "applied"
		}
		fmt.Fprintf(e.stdout, "%-8s %s\n", mark, s.ID)
	}
	return nil
}

// withStore opens the database (migrating a SQLite file) for a one-off command.
func withStore(ctx context.Context, e env, name string, args []string, extra func(fs *flag.FlagSet)) (services, *flag.FlagSet, func(), error) {
	fs := flag.NewFlagSet("ipeval "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if extra != nil {
		extra(fs)
	}
	cfg, err := bindStore(fs, e)
	if err != nil {
		return services{}, nil, nil, err
	}
	if err := fs.Parse(args); err != nil {
		return services{}, nil, nil, err
	}
	db, err := openDB(ctx, cfg, newLogger(e, cfg.LogFormat), false)
	if err != nil {
		return services{}, nil, nil, err
	}
	return newServices(cfg, db), fs, func() { _ = database.Close(db) }, nil
}

func user(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("user needs a subcommand: init, add, list, token, revoke, passwd: %w", errUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "init":
		return userInit(ctx, e, args)
	case "add":
		return userAdd(ctx, e, args)
	case "list":
		return userList(ctx, e, args)
	case "token":
		return userToken(ctx, e, args)
	case "revoke":
		return userRevoke(ctx, e, args)
	case "passwd":
		return userPasswd(ctx, e, args)
	}
	return fmt.Errorf("unknown user subcommand %q: %w", sub, errUsage)
}

func userAdd(ctx context.Context, e env, args []string) error {
	var username, role, region, org, name string
	svc, fs, done, err := withStore(ctx, e, "user add", args, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "username", "", "login name")
		fs.StringVar(&role, "role", "", "admin, secadmin, auditor, contractor or city")
		fs.StringVar(&region, "region", "", "region code (city users)")
		fs.StringVar(&org, "org", "", "organisation name or id (contractors); created if new")
		fs.StringVar(&name, "name", "", "display name")
	})
	if err != nil {
		return err
	}
	defer done()
	if err := noArgs(fs); err != nil {
		return err
	}
	r, err := auth.ParseRole(role)
	if err != nil {
		return err
	}
	orgID := ""
	if org != "" && r == auth.RoleContractor {
		o, err := findOrCreateOrganisation(ctx, e, svc, org)
		if err != nil {
			return err
		}
		orgID = o.ID
	} else if org != "" {
		return fmt.Errorf("--org is for contractors only: %w", errUsage)
	}
	u, pw, err := svc.auth.CreateUser(ctx, auth.NewUser{Username: username, DisplayName: name, Role: r, RegionCode: region, OrganisationID: orgID})
	if err != nil {
		return explain(err)
	}
	svc.cliAudit(ctx, e, "users.create", "user:"+u.ID, u.Username)
	fmt.Fprintf(e.stdout, "created %s %s (%s)\npassword (shown once): %s\n", u.Role, u.Username, u.ID, pw)
	return nil
}

// userInit creates the first users of an empty database: one assessment
// manager, one security administrator and one auditor, because no account
// may hold two of these roles (等保2.0 三权分立). Further users are added by
// the security administrator.
func userInit(ctx context.Context, e env, args []string) error {
	svc, fs, done, err := withStore(ctx, e, "user init", args, nil)
	if err != nil {
		return err
	}
	defer done()
	if err := noArgs(fs); err != nil {
		return err
	}
	us, err := svc.auth.ListUsers(ctx)
	if err != nil {
		return err
	}
	if len(us) > 0 {
		return fmt.Errorf("user init: the database already has users; add one with `ipeval user add`: %w", errUsage)
	}
	for _, r := range []auth.Role{auth.RoleAdmin, auth.RoleSecAdmin, auth.RoleAuditor} {
		u, pw, err := svc.auth.CreateUser(ctx, auth.NewUser{Username: string(r), Role: r})
		if err != nil {
			return explain(err)
		}
		svc.cliAudit(ctx, e, "users.create", "user:"+u.ID, u.Username)
		fmt.Fprintf(e.stdout, "created %s %s (%s)\npassword (shown once): %s\n", u.Role, u.Username, u.ID, pw)
	}
	return nil
}

// findOrCreateOrganisation looks a contractor organisation up by name or id
// and creates it when neither matches.
func findOrCreateOrganisation(ctx context.Context, e env, svc services, nameOrID string) (auth.Organisation, error) {
	o, err := svc.auth.OrganisationByName(ctx, nameOrID)
	if !errors.Is(err, fault.ErrNotFound) {
		return o, err
	}
	if o, err = svc.auth.Organisation(ctx, nameOrID); !errors.Is(err, fault.ErrNotFound) {
		return o, err
	}
	if o, err = svc.auth.CreateOrganisation(ctx, nameOrID, auth.OrgKindContractor); err != nil {
		return o, explain(err)
	}
	svc.cliAudit(ctx, e, "organisations.create", "organisation:"+o.ID, o.Name)
	fmt.Fprintf(e.stdout, "created organisation %q (%s)\n", o.Name, o.ID)
	return o, nil
}

func userList(ctx context.Context, e env, args []string) error {
	svc, fs, done, err := withStore(ctx, e, "user list", args, nil)
	if err != nil {
		return err
	}
	defer done()
	if err := noArgs(fs); err != nil {
		return err
	}
	us, err := svc.auth.ListUsers(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tROLE\tREGION\tORGANISATION\tSTATE")
	for _, u := range us {
		state := "active"
		if u.Disabled {
			state = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Role, deref(u.RegionCode), deref(u.OrganisationID), state)
	}
	return tw.Flush()
}

func userToken(ctx context.Context, e env, args []string) error {
	var name string
	var days int
	return withUser(ctx, e, "user token", args, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "cli", "what the token is for")
		fs.IntVar(&days, "days", 90, "days until the token expires (1-365)")
	}, func(svc services, u auth.User) error {
		secret, t, err := svc.auth.IssueToken(ctx, u.ID, name, time.Duration(days)*24*time.Hour)
		if err != nil {
			return explain(err)
		}
		svc.cliAudit(ctx, e, "tokens.create", "token:"+t.ID, u.Username)
		fmt.Fprintf(e.stderr, "token %s for %s, expires %s (shown once):\n", t.ID, u.Username, t.ExpiresAt.Format(time.RFC3339))
		fmt.Fprintln(e.stdout, secret)
		return nil
	})
}

func userRevoke(ctx context.Context, e env, args []string) error {
	return withUser(ctx, e, "user revoke", args, nil, func(svc services, u auth.User) error {
		n, err := svc.auth.RevokeUserTokens(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := svc.auth.EndUserSessions(ctx, u.ID); err != nil {
			return err
		}
		svc.cliAudit(ctx, e, "tokens.revoke_all", "user:"+u.ID, fmt.Sprintf("%d tokens", n))
		fmt.Fprintf(e.stdout, "revoked %d token(s) and ended every session of %s\n", n, u.Username)
		return nil
	})
}

func userPasswd(ctx context.Context, e env, args []string) error {
	return withUser(ctx, e, "user passwd", args, nil, func(svc services, u auth.User) error {
		pw, revoked, err := svc.auth.ResetPassword(ctx, u.Username)
		if err != nil {
			return err
		}
		detail := u.Username
		if len(revoked) > 0 {
			detail += "; revoked API tokens: " + strings.Join(revoked, ", ")
		}
		svc.cliAudit(ctx, e, "users.reset_password", "user:"+u.ID, detail)
		fmt.Fprintf(e.stdout, "new password for %s (shown once): %s\n", u.Username, pw)
		if len(revoked) > 0 {
			fmt.Fprintf(e.stdout, "revoked %d API token(s) of %s\n", len(revoked), u.Username)
		}
		return nil
	})
}

// withUser opens the database for a command about one named user and runs fn
// on that user.
func withUser(ctx context.Context, e env, name string, args []string, extra func(*flag.FlagSet), fn func(services, auth.User) error) error {
	svc, fs, done, err := withStore(ctx, e, name, args, extra)
	if err != nil {
		return err
	}
	defer done()
	if fs.NArg() != 1 {
		return fmt.Errorf("%s: name one user: %w", name, errUsage)
	}
	u, err := svc.auth.UserByUsername(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	return fn(svc, u)
}

func demoCmd(ctx context.Context, e env, args []string) error {
	svc, fs, done, err := withStore(ctx, e, "demo", args, nil)
	if err != nil {
		return err
	}
	defer done()
	if err := noArgs(fs); err != nil {
		return err
	}
	return loadDemo(ctx, e, svc, "http://localhost:8080")
}

// healthcheck GETs a URL and succeeds on a 2xx answer: the container health
// check, without curl in the image.
func healthcheck(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("ipeval healthcheck", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	url := fs.String("url", "http://127.0.0.1:8080/readyz", "URL to check")
	timeout := fs.Duration("timeout", 3*time.Second, "time limit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %s", *url, resp.Status)
	}
	fmt.Fprintln(e.stdout, "ok")
	return nil
}

// explain spells out validation problems on the terminal, keeping the
// error's kind.
func explain(err error) error {
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var b strings.Builder
	for _, fe := range ve.Errors {
		fmt.Fprintf(&b, "\n  %s: %s (%s)", fe.Field, fe.MessageEn, fe.Message)
	}
	return fmt.Errorf("%w:%s", fault.ErrBadRequest, b.String())
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
