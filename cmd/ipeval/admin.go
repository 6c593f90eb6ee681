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
	"github.com/ipeval/ipeval/internal/app"
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
	states, err := app.Migrate(ctx, cfg, newLogger(e, cfg.LogFormat), status)
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

// withStore opens the database (migrating a SQLite file) for a one-off
// command and builds the stores that need nothing else.
func withStore(ctx context.Context, e env, name string, args []string, extra func(fs *flag.FlagSet)) (*app.Core, *flag.FlagSet, func(), error) {
	fs := flag.NewFlagSet("ipeval "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if extra != nil {
		extra(fs)
	}
	cfg, err := config.Bind(fs, e.getenv, config.CommandSettings("store")...)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, nil, err
	}
	db, err := app.OpenDB(ctx, cfg, newLogger(e, cfg.LogFormat), false)
	if err != nil {
		return nil, nil, nil, err
	}
	return app.NewCore(db), fs, func() { _ = database.Close(db) }, nil
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
		o, created, err := svc.ContractorOrganisation(ctx, e.getenv("USER"), org)
		if err != nil {
			return explain(err)
		}
		if created {
			fmt.Fprintf(e.stdout, "created organisation %q (%s)\n", o.Name, o.ID)
		}
		orgID = o.ID
	} else if org != "" {
		return fmt.Errorf("--org is for contractors only: %w", errUsage)
	}
	u, pw, err := svc.Auth.CreateUser(ctx, auth.NewUser{Username: username, DisplayName: name, Role: r, RegionCode: region, OrganisationID: orgID})
	if err != nil {
		return explain(err)
	}
	svc.AuditCLI(ctx, e.getenv("USER"), "users.create", "user:"+u.ID, u.Username)
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
	us, err := svc.Auth.ListUsers(ctx)
	if err != nil {
		return err
	}
	if len(us) > 0 {
		return fmt.Errorf("user init: the database already has users; add one with `ipeval user add`: %w", errUsage)
	}
	for _, r := range []auth.Role{auth.RoleAdmin, auth.RoleSecAdmin, auth.RoleAuditor} {
		u, pw, err := svc.Auth.CreateUser(ctx, auth.NewUser{Username: string(r), Role: r})
		if err != nil {
			return explain(err)
		}
		svc.AuditCLI(ctx, e.getenv("USER"), "users.create", "user:"+u.ID, u.Username)
		fmt.Fprintf(e.stdout, "created %s %s (%s)\npassword (shown once): %s\n", u.Role, u.Username, u.ID, pw)
	}
	return nil
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
	us, err := svc.Auth.ListUsers(ctx)
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
	}, func(svc *app.Core, u auth.User) error {
		secret, t, err := svc.Auth.IssueToken(ctx, u.ID, name, time.Duration(days)*24*time.Hour)
		if err != nil {
			return explain(err)
		}
		svc.AuditCLI(ctx, e.getenv("USER"), "tokens.create", "token:"+t.ID, u.Username)
		fmt.Fprintf(e.stderr, "token %s for %s, expires %s (shown once):\n", t.ID, u.Username, t.ExpiresAt.Format(time.RFC3339))
		fmt.Fprintln(e.stdout, secret)
		return nil
	})
}

func userRevoke(ctx context.Context, e env, args []string) error {
	return withUser(ctx, e, "user revoke", args, nil, func(svc *app.Core, u auth.User) error {
		n, err := svc.Auth.RevokeUserTokens(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := svc.Auth.EndUserSessions(ctx, u.ID); err != nil {
			return err
		}
		svc.AuditCLI(ctx, e.getenv("USER"), "tokens.revoke_all", "user:"+u.ID, fmt.Sprintf("%d tokens", n))
		fmt.Fprintf(e.stdout, "revoked %d token(s) and ended every session of %s\n", n, u.Username)
		return nil
	})
}

func userPasswd(ctx context.Context, e env, args []string) error {
	return withUser(ctx, e, "user passwd", args, nil, func(svc *app.Core, u auth.User) error {
		pw, revoked, err := svc.Auth.ResetPassword(ctx, u.Username)
		if err != nil {
			return err
		}
		detail := u.Username
		if len(revoked) > 0 {
			detail += "; revoked API tokens: " + strings.Join(revoked, ", ")
		}
		svc.AuditCLI(ctx, e.getenv("USER"), "users.reset_password", "user:"+u.ID, detail)
		fmt.Fprintf(e.stdout, "new password for %s (shown once): %s\n", u.Username, pw)
		if len(revoked) > 0 {
			fmt.Fprintf(e.stdout, "revoked %d API token(s) of %s\n", len(revoked), u.Username)
		}
		return nil
	})
}

// withUser opens the database for a command about one named user and runs fn
// on that user.
func withUser(ctx context.Context, e env, name string, args []string, extra func(*flag.FlagSet), fn func(*app.Core, auth.User) error) error {
	svc, fs, done, err := withStore(ctx, e, name, args, extra)
	if err != nil {
		return err
	}
	defer done()
	if fs.NArg() != 1 {
		return fmt.Errorf("%s: name one user: %w", name, errUsage)
	}
	u, err := svc.Auth.UserByUsername(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	return fn(svc, u)
}

func demoCmd(ctx context.Context, e env, args []string) error {
	cfg, fs, err := flags(e, "demo", args, config.CommandSettings("store")...)
	if err != nil {
		return err
	}
	if err := noArgs(fs); err != nil {
		return err
	}
	db, err := app.OpenDB(ctx, cfg, newLogger(e, cfg.LogFormat), false)
	if err != nil {
		return err
	}
	defer database.Close(db)
	stores, err := app.NewStores(cfg, db, nil)
	if err != nil {
		return err
	}
	return loadDemo(ctx, e, stores, "http://localhost:8080")
}

// loadDemo fills an empty database with the demo data set and prints how to sign in.
func loadDemo(ctx context.Context, e env, s *app.Stores, baseURL string) error {
	res, loaded, err := s.LoadDemo(ctx, e.getenv("USER"))
	if err != nil {
		return err
	}
	if !loaded {
		fmt.Fprintln(e.stdout, "demo: the database already has users; nothing loaded (reset a password with `ipeval user passwd NAME`).")
		return nil
	}
	fmt.Fprintf(e.stdout, "\nDemo data loaded: %d regions, scheme %s v%d, cycle %d (%s).\n", res.Regions, res.Scheme.Code, res.Scheme.Version, res.Cycle.Year, res.Cycle.Status)
	if n := len(res.PastCycles); n > 0 {
		last := res.PastCycles[n-1].Year
		fmt.Fprintf(e.stdout, "Cycles %d–%d are scored and published; in %d rule R1 caps 太原市 at 良好 (no funding allocated).\n",
			res.PastCycles[0].Year, last, last)
	}
	fmt.Fprintf(e.stdout, "Sign in at %s/login — the passwords are shown only now:\n", baseURL)
	for _, a := range res.Accounts {
		fmt.Fprintf(e.stdout, "  %-8s  %-22s  %s\n", a.Username, a.Password, a.Note)
	}
	fmt.Fprintln(e.stdout)
	return nil
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
