package blobs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipeval/ipeval/internal/fault"
)

func TestPutGet(t *testing.T) {
	dir := t.TempDir()
	s, err := New(filepath.Join(dir, "evidence"))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("%PDF-1.7 test")
	sum, err := s.Put(data)
	if err != nil {
		t.Fatal(err)
	}
	if sum != Sum(data) || len(sum) != 64 {
		t.Fatalf("sum = %q", sum)
	}
	again, err := s.Put(data)
	if err != nil || again != sum {
		t.Fatalf("second put = %q, %v", again, err)
	}
	got, err := s.Get(sum)
	if err != nil || string(got) != string(data) {
		t.Fatalf("get = %q, %v", got, err)
	}
	entries, err := os.ReadDir(filepath.Join(dir, "evidence", sum[:2]))
	if err != nil || len(entries) != 1 {
		t.Fatalf("directory holds %v (%v), want the one file and no temporary", entries, err)
	}

	t.Run("a truncated copy is replaced", func(t *testing.T) {
		path := filepath.Join(dir, "evidence", sum[:2], sum)
		if err := os.WriteFile(path, data[:3], 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(data); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Get(sum); err != nil || string(got) != string(data) {
			t.Fatalf("after repair: %q, %v", got, err)
		}
	})
	t.Run("tampered file is refused", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "evidence", sum[:2], sum), []byte("changed"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(sum); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("err = %v, want ErrCorrupt", err)
		}
	})
	for _, bad := range []string{"", "../../etc/passwd", sum[:63], "ZZ" + sum[2:]} {
		t.Run("bad name "+bad, func(t *testing.T) {
			if _, err := s.Get(bad); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("err = %v, want not exist", err)
			}
		})
	}
}

func TestPutReaderLimit(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	data := strings.Repeat("x", 100)
	if _, _, err := s.PutReader(strings.NewReader(data), 99); !errors.Is(err, fault.ErrTooLarge) {
		t.Fatalf("101 bytes over a limit of 99: %v, want too large", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused file left %v", entries)
	}
	sum, n, err := s.PutReader(strings.NewReader(data), 100)
	if err != nil || n != 100 || sum != Sum([]byte(data)) {
		t.Fatalf("at the limit: %s, %d, %v", sum, n, err)
	}
	f, err := s.Open(sum)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := io.ReadAll(f)
	if err != nil || string(got) != data {
		t.Fatalf("open reads %d bytes (%v), want the content from its start", len(got), err)
	}
}

// TestRemoveSparesContentPutAgain: Remove deletes content put before its
// fence, spares content put (or put again) after it, and counts content
// that is not there as gone.
func TestRemoveSparesContentPutAgain(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sum, err := s.Put([]byte("withdrawn evidence"))
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(s.path(sum), old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put([]byte("withdrawn evidence")); err != nil { // an upload of the same bytes
		t.Fatal(err)
	}
	if gone, err := s.Remove(sum, time.Now().Add(-time.Hour)); err != nil || gone {
		t.Fatalf("content put again within the fence: gone %v (%v), want kept", gone, err)
	}
	if _, err := s.Get(sum); err != nil {
		t.Fatalf("content kept: %v", err)
	}
	if gone, err := s.Remove(sum, time.Now().Add(time.Minute)); err != nil || !gone {
		t.Fatalf("content older than the fence: gone %v (%v)", gone, err)
	}
	if _, err := s.Get(sum); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("removed content read back: %v", err)
	}
	if gone, err := s.Remove(sum, time.Now()); err != nil || !gone {
		t.Fatalf("absent content: gone %v (%v), want gone", gone, err)
	}
}
