package testenv

// Chromium names the variable that holds the path of the Chromium executable
// (Debian's package installs /usr/bin/chromium) for the tests that drive the
// pages in a real browser. Pass it to Require: such a test skips on a laptop
// without it and fails under CI=true.
const Chromium = "IPEVAL_TEST_CHROMIUM"
