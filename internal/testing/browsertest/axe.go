package browsertest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ipeval/ipeval/internal/testing/testenv"
)

// axeScript is node_modules/axe-core/axe.min.js under the module's root,
// which `make assets` installs from the committed npm lockfile. It is the
// accessibility engine the tests inject into a page; ipeval never serves it.
const axeScript = "node_modules/axe-core/axe.min.js"

var axeSource = sync.OnceValues(func() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(axeScript)))
	if err != nil {
		return "", fmt.Errorf("%w (run make assets)", err)
	}
	return string(b), nil
})

// moduleRoot walks up from the working directory, which go test sets to the
// package's directory, to the directory that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// RequireAxe reads axe-core's script, skipping the test when it is not
// installed on a laptop and failing it under CI=true, like testenv.Require.
func RequireAxe(tb testing.TB) string {
	tb.Helper()
	src, err := axeSource()
	if err != nil {
		if testenv.InCI() {
			tb.Fatalf("axe-core must be installed when CI=true: %v", err)
		}
		tb.Skipf("axe-core not installed: %v", err)
	}
	return src
}

// Violation is one rule that axe-core found broken on a page.
type Violation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	// Targets holds the selector of each element that breaks the rule.
	Targets []string `json:"targets"`
}

func (v Violation) String() string {
	targets := v.Targets
	if len(targets) > 3 {
		targets = append(targets[:3:3], fmt.Sprintf("and %d more", len(v.Targets)-3))
	}
	return fmt.Sprintf("%s (%s): %s: %s", v.ID, v.Impact, v.Help, strings.Join(targets, ", "))
}

// Serious reports whether the violation is one a test fails on.
func (v Violation) Serious() bool { return v.Impact == "serious" || v.Impact == "critical" }

// axeRun runs axe-core on the whole document, injected a first time into
// each page, and keeps only what Violation reads. Runtime.evaluate runs it
// outside the page's Content-Security-Policy: nothing is fetched, and the
// page's own policy stays as the server sent it.
const axeRun = `(function () {
	return axe.run(document, {resultTypes: ['violations']}).then(function (r) {
		return r.violations.map(function (v) {
			return {id: v.id, impact: v.impact || '', help: v.help,
				targets: v.nodes.map(function (n) { return n.target.join(' '); })};
		});
	});
})()`

// AxeViolations injects axe-core into the current page, runs it, and
// returns every violation it reports, of any impact.
func (tb *Tab) AxeViolations() []Violation {
	tb.T.Helper()
	src := RequireAxe(tb.T)
	loaded, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[bool](`typeof axe === 'object'`))
	if err != nil {
		tb.T.Fatalf("axe: %v", err)
	}
	if !loaded {
		if err := chromedp.Do(tb.Ctx, chromedp.Evaluate[chromedp.Void](src)); err != nil {
			tb.T.Fatalf("axe: inject axe-core: %v", err)
		}
	}
	vs, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[[]Violation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.T.Fatalf("axe: run: %v", err)
	}
	return vs
}

// Axe checks the current page with axe-core: the test fails with each
// serious or critical violation, and logs the moderate and minor ones.
// name says which page it is in the messages.
func (tb *Tab) Axe(name string) {
	tb.T.Helper()
	for _, v := range tb.AxeViolations() {
		if v.Serious() {
			tb.T.Errorf("accessibility of %s (%s): %s", name, tb.Location(), v)
		} else {
			tb.T.Logf("accessibility of %s (%s): %s", name, tb.Location(), v)
		}
	}
}
