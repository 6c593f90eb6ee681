//go:build race

package httpapi_test

// raceDetector is set when the tests run under the race detector (make
// test-race), which slows every call and disables sync.Pool reuse, so
// that timing and allocation bounds hold only for the plain build.
const raceDetector = true
