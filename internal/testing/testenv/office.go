package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Soffice names the variable that holds the path of LibreOffice's soffice
// (Debian's libreoffice-calc-nogui installs /usr/bin/soffice), with which
// tests open the workbooks ipeval exports.
const Soffice = "IPEVAL_TEST_SOFFICE"

// RequireSoffice returns the soffice executable: the one Soffice names,
// else soffice on the PATH. Without either the test skips on a laptop and
// fails under CI=true, like Require.
func RequireSoffice(tb testing.TB) string {
	tb.Helper()
	if v := os.Getenv(Soffice); v != "" {
		return v
	}
	if p, err := exec.LookPath("soffice"); err == nil {
		return p
	}
	if InCI() {
		tb.Fatalf("LibreOffice (soffice) must be installed, or %s set, when CI=true", Soffice)
	}
	tb.Skipf("no soffice on the PATH and %s not set", Soffice)
	return ""
}
