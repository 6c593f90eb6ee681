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

	"github.com/ipeval/ipeval/internal/auth"
	"github.com/ipeval/ipeval/internal/config"
	"github.com/ipeval/ipeval/internal/database"
	"github.com/ipeval/ipeval/internal/fault"
)

func migrate(ctx context.Context, e env, args []string) error {
	status := len(args) > 0 && args[0] == "status"
	if status {
		args = args[1:]
	}
	cfg, _, err := flags(e, "migrate", args, config.CommandSettings("migrate")...)
	if err != nil {
		return err
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
	return newServices(db), fs, func() { _ = database.Close(db) }, nil
}

func user(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("user needs a subcommand: add, list, token, revoke, passwd: %w", errUsage)
	}
	sub, args := args[0], args[1:]
	switch sub {
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
	svc, _, done, err := withStore(ctx, e, "user add", args, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "username", "", "login name")
		fs.StringVar(&role, "role", "", "admin, contractor or city")
		fs.StringVar(&region, "region", "", "region code (city users)")
		fs.StringVar(&org, "org", "", "organisation name or id (contractors); created if new")
		fs.StringVar(&name, "name", "", "display name")
	})
	if err != nil {
		return err
	}
	defer done()
	r, err := auth.ParseRole(role)
	if err != nil {
		return err
	}
	orgID := ""
	if org != "" {
		o, err := svc.auth.OrganisationByName(ctx, org)
		if errors.Is(err, fault.ErrNotFound) {
			if o, err = svc.auth.Organisation(ctx, org); errors.Is(err, fault.ErrNotFound) {
				if o, err = svc.auth.CreateOrganisation(ctx, org, "contractor"); err == nil {
					svc.cliAudit(ctx, e, "organisations.create", "organisation:"+o.ID, o.Name)
					fmt.Fprintf(e.stdout, "created organisation %q (%s)\n", o.Name, o.ID)
				}
			}
		}
		if err != nil {
			return err
		}
		orgID = o.ID
	}
	if name == "" {
		name = username
	}
	u, pw, err := svc.auth.CreateUser(ctx, auth.NewUser{Username: username, DisplayName: name, Role: r, RegionCode: region, OrganisationID: orgID})
	if err != nil {
		return explain(err)
	}
	svc.cliAudit(ctx, e, "users.create", "user:"+u.ID, u.Username)
	fmt.Fprintf(e.stdout, "created %s %s (%s)\npassword (shown once): %s\n", u.Role, u.Username, u.ID, pw)
	return nil
}

func userList(ctx context.Context, e env, args []string) error {
	svc, _, done, err := withStore(ctx, e, "user list", args, nil)
	if err != nil {
		return err
	}
	defer done()
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
		} else if u.LockedUntil != nil && u.LockedUntil.After(time.Now()) {
			state = "locked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Role, deref(u.RegionCode), deref(u.OrganisationID), state)
	}
	return tw.Flush()
}

func userToken(ctx context.Context, e env, args []string) error {
	var name string
	var days int
	svc, fs, done, err := withStore(ctx, e, "user token", args, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "cli", "what the token is for")
		fs.IntVar(&days, "days", 90, "days until the token expires")
	})
	if err != nil {
		return err
	}
	defer done()
	u, err := oneUser(ctx, svc, fs)
	if err != nil {
		return err
	}
	if days < 1 || days > 365 {
		return fmt.Errorf("--days must be 1-365, got %d", days)
	}
	secret, t, err := svc.auth.IssueToken(ctx, u.ID, name, time.Duration(days)*24*time.Hour)
	if err != nil {
		return err
	}
	svc.cliAudit(ctx, e, "tokens.create", "token:"+t.ID, u.Username)
	fmt.Fprintf(e.stderr, "token %s for %s, expires %s (shown once):\n", t.ID, u.Username, t.ExpiresAt.Format(time.RFC3339))
	fmt.Fprintln(e.stdout, secret)
	return nil
}

func userRevoke(ctx context.Context, e env, args []string) error {
	svc, fs, done, err := withStore(ctx, e, "user revoke", args, nil)
	if err != nil {
		return err
	}
	defer done()
	u, err := oneUser(ctx, svc, fs)
	if err != nil {
		return err
	}
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
}

func userPasswd(ctx context.Context, e env, args []string) error {
	svc, fs, done, err := withStore(ctx, e, "user passwd", args, nil)
	if err != nil {
		return err
	}
	defer done()
	u, err := oneUser(ctx, svc, fs)
	if err != nil {
		return err
	}
	pw, err := svc.auth.ResetPassword(ctx, u.Username)
	if err != nil {
		return err
	}
	svc.cliAudit(ctx, e, "users.reset_password", "user:"+u.ID, u.Username)
	fmt.Fprintf(e.stdout, "new password for %s (shown once): %s\n", u.Username, pw)
	return nil
}

func oneUser(ctx context.Context, svc services, fs *flag.FlagSet) (auth.User, error) {
	if fs.NArg() != 1 {
		return auth.User{}, fmt.Errorf("name one user: %w", errUsage)
	}
	return svc.auth.UserByUsername(ctx, fs.Arg(0))
}

func demoCmd(ctx context.Context, e env, args []string) error {
	svc, _, done, err := withStore(ctx, e, "demo", args, nil)
	if err != nil {
		return err
	}
	defer done()
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

// explain spells out validation problems on the terminal.
func explain(err error) error {
	var ve *fault.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	var b strings.Builder
	b.WriteString("invalid input:")
	for _, fe := range ve.Errors {
		fmt.Fprintf(&b, "\n  %s: %s (%s)", fe.Field, fe.MessageEn, fe.Message)
	}
	return errors.New(b.String())
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
