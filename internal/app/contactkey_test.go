package app

import (
	"os"
	"strings"
	"testing"

	"github.com/ipeval/ipeval/internal/config"
)

// TestContactKey keeps one key per data directory: created once, private
// to the owner, read back by every later process; a short explicit key is
// refused rather than used.
func TestContactKey(t *testing.T) {
	cfg := &config.Config{DataDir: t.TempDir()}
	first, err := contactKey(cfg)
	if err != nil || len(first) < MinContactKey {
		t.Fatalf("first key %q, %v", first, err)
	}
	fi, err := os.Stat(cfg.ContactKeyPath())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v; want mode 0600", fi, err)
	}
	again, err := contactKey(cfg)
	if err != nil || string(again) != string(first) {
		t.Fatalf("second process got %q (%v), want the stored key", again, err)
	}
	cfg.ContactKey = "short"
	if _, err := contactKey(cfg); err == nil || !strings.Contains(err.Error(), "at least") {
		t.Fatalf("a short key: %v", err)
	}
	cfg.ContactKey = strings.Repeat("k", MinContactKey)
	if k, err := contactKey(cfg); err != nil || string(k) != cfg.ContactKey {
		t.Fatalf("explicit key: %q, %v", k, err)
	}
}
