// Command ipeval is the IP public-service assessment service
// (知识产权公共服务考核评估系统): one binary that serves the API and pages,
// runs job workers, migrates the database and administers users.
//
// main is an edge: it parses the command line, calls internal/app — which
// builds every store once and assembles the server and the job runtime —
// or the domain packages, and prints the outcome.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ipeval/ipeval/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "ipeval:", err)
		}
		os.Exit(exitCode(err))
	}
}

func exitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) || errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

var errUsage = errors.New("usage")

// env is the process environment, passed in so that tests can set it.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

const usage = `ipeval — 知识产权公共服务考核评估系统 / IP public-service assessment

Usage:
  ipeval serve [flags]          HTTP API, pages and in-process workers
  ipeval worker [flags]         job workers only (needs --redis)
  ipeval migrate [status]       apply migrations, or list their state
  ipeval user init|add|list|token|revoke|passwd ...
  ipeval scheme validate FILE   check a scheme (YAML or JSON) and list every problem
  ipeval scheme default         print the default Shanxi scheme as YAML
  ipeval evaluate [flags]       score scheme, regions and values files; no server or database
  ipeval demo                   load demo data into an empty database
  ipeval healthcheck --url URL  exit 0 if URL answers 2xx
  ipeval version

Run "ipeval <command> -h" for the flags of a command.
`

// run executes one command line. It returns when the command is done or, for
// long-running commands, when ctx is cancelled and shutdown has finished.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return serve(ctx, e, rest)
	case "worker":
		return worker(ctx, e, rest)
	case "migrate":
		return migrate(ctx, e, rest)
	case "user":
		return user(ctx, e, rest)
	case "scheme":
		return schemeCmd(e, rest)
	case "evaluate":
		return evaluateCmd(ctx, e, rest)
	case "demo":
		return demoCmd(ctx, e, rest)
	case "healthcheck":
		return healthcheck(ctx, e, rest)
	case "version":
		fmt.Fprintln(stdout, "ipeval", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q: %w", cmd, errUsage)
}

// flags parses a subcommand's flags, bound to their environment variables.
func flags(e env, name string, args []string, settings ...string) (*config.Config, *flag.FlagSet, error) {
	fs := flag.NewFlagSet("ipeval "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	cfg, err := config.Bind(fs, e.getenv, settings...)
	if err != nil {
		return nil, nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	return cfg, fs, nil
}

// noArgs refuses positional arguments that a command would otherwise
// silently ignore (such as a word placed after the flags).
func noArgs(fs *flag.FlagSet) error {
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q: %w", fs.Name(), fs.Arg(0), errUsage)
	}
	return nil
}

func newLogger(e env, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(e.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(e.stderr, opts))
}
