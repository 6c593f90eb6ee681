// Package blobs keeps uploaded files on disk, addressed by the SHA-256 of
// their content. Content addressing makes a write idempotent (the same file
// uploaded twice is stored once) and makes every read checkable: a file
// whose bytes no longer match its name has been corrupted or tampered with.
package blobs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/ipeval/ipeval/internal/fault"
)

// ErrCorrupt means a stored file no longer matches its checksum.
var ErrCorrupt = errors.New("stored file does not match its checksum")

// ErrTooLarge wraps fault.ErrTooLarge for content over a caller's limit.
var ErrTooLarge = fmt.Errorf("blob too large: %w", fault.ErrTooLarge)

// Store is a directory of content-addressed files: <dir>/<ab>/<abcdef…>.
type Store struct {
	dir string
}

// New returns the store in dir, creating the directory if needed.
func New(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create blob directory: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Sum returns the name data is stored under: its hex SHA-256.
func Sum(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// Put stores data and returns its checksum; see PutReader.
func (s *Store) Put(data []byte) (string, error) {
	sum, _, err := s.PutReader(bytes.NewReader(data), -1)
	return sum, err
}

// PutReader stores what r yields, without holding it in memory, and
// returns its checksum and size. maxBytes ≥ 0 refuses more than that many
// bytes with ErrTooLarge, keeping nothing. The file is written to a
// temporary name, synced, renamed and its directory synced, so that a
// crash never leaves a partial file under a valid name nor loses a file
// whose row was committed.
func (s *Store) PutReader(r io.Reader, maxBytes int64) (string, int64, error) {
	tmp, err := os.CreateTemp(s.dir, ".upload-*")
	if err != nil {
		return "", 0, fmt.Errorf("create blob: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	defer tmp.Close()
	h := sha256.New()
	src := r
	if maxBytes >= 0 {
		src = io.LimitReader(r, maxBytes+1)
	}
	n, err := io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		return "", 0, fmt.Errorf("write blob: %w", err)
	}
	if maxBytes >= 0 && n > maxBytes {
		return "", 0, fmt.Errorf("blob over %d bytes: %w", maxBytes, ErrTooLarge)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	path := s.path(sum)
	// A stored copy of the right size is kept (Get and Open check the
	// content); any other is replaced. The kept copy's time is refreshed:
	// Remove spares a file put again lately, whose new owner's row may not
	// be committed yet.
	if fi, err := os.Stat(path); err == nil && fi.Size() == n {
		t := time.Now()
		if err := os.Chtimes(path, t, t); err != nil {
			return "", 0, fmt.Errorf("touch blob: %w", err)
		}
		return sum, n, nil
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("sync blob: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("close blob: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", 0, fmt.Errorf("create blob directory: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", 0, fmt.Errorf("store blob: %w", err)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return "", 0, fmt.Errorf("sync blob directory: %w", err)
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil {
		return "", 0, fmt.Errorf("sync blob directory: %w", err)
	}
	return sum, n, nil
}

// Get returns the content stored under sum, checked against it.
func (s *Store) Get(sum string) ([]byte, error) {
	f, err := s.Open(sum)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// Open returns the file stored under sum, positioned at its start, after
// checking its content against sum in one streaming pass; the caller
// closes it.
func (s *Store) Open(sum string) (*os.File, error) {
	if !valid(sum) {
		return nil, fmt.Errorf("blob %q: %w", sum, os.ErrNotExist)
	}
	f, err := os.Open(s.path(sum))
	if err != nil {
		return nil, fmt.Errorf("read blob: %w", err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		f.Close()
		return nil, fmt.Errorf("read blob: %w", err)
	}
	if hex.EncodeToString(h.Sum(nil)) != sum {
		f.Close()
		return nil, fmt.Errorf("blob %s: %w", sum, ErrCorrupt)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("read blob: %w", err)
	}
	return f, nil
}

// Remove deletes the content stored under sum, unless it was put (or put
// again) after notSince: an upload of the same bytes may be under way,
// its row not yet committed. It reports whether the content is gone, as
// it is when it was never stored. The caller checks that no live object
// refers to sum.
func (s *Store) Remove(sum string, notSince time.Time) (bool, error) {
	if !valid(sum) {
		return false, fmt.Errorf("blob %q: %w", sum, os.ErrNotExist)
	}
	path := s.path(sum)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("stat blob: %w", err)
	}
	if fi.ModTime().After(notSince) {
		return false, nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("remove blob: %w", err)
	}
	return true, nil
}

func (s *Store) path(sum string) string { return filepath.Join(s.dir, sum[:2], sum) }

// valid reports whether sum is a lower-case hex SHA-256, so that no name
// read from the database can point outside the store.
func valid(sum string) bool {
	if len(sum) != 2*sha256.Size {
		return false
	}
	for _, c := range sum {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
