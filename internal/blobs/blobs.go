// Package blobs keeps uploaded files on disk, addressed by the SHA-256 of
// their content. Content addressing makes a write idempotent (the same file
// uploaded twice is stored once) and makes every read checkable: a file
// whose bytes no longer match its name has been corrupted or tampered with.
package blobs

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrCorrupt means a stored file no longer matches its checksum.
var ErrCorrupt = errors.New("stored file does not match its checksum")

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

// Put stores data and returns its checksum. The file is written to a
// temporary name, synced, renamed and its directory synced, so that a
// crash never leaves a partial file under a valid name nor loses a file
// whose row was committed. A stored copy of the right size is kept (Get
// checks the content); any other is replaced.
func (s *Store) Put(data []byte) (string, error) {
	sum := Sum(data)
	path := s.path(sum)
	if fi, err := os.Stat(path); err == nil && fi.Size() == int64(len(data)) {
		return sum, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return "", fmt.Errorf("create blob directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".upload-*")
	if err != nil {
		return "", fmt.Errorf("create blob: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("write blob: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("sync blob: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("close blob: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("store blob: %w", err)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return "", fmt.Errorf("sync blob directory: %w", err)
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil {
		return "", fmt.Errorf("sync blob directory: %w", err)
	}
	return sum, nil
}

// Get returns the content stored under sum, checked against it.
func (s *Store) Get(sum string) ([]byte, error) {
	if !valid(sum) {
		return nil, fmt.Errorf("blob %q: %w", sum, os.ErrNotExist)
	}
	data, err := os.ReadFile(s.path(sum))
	if err != nil {
		return nil, fmt.Errorf("read blob: %w", err)
	}
	if Sum(data) != sum {
		return nil, fmt.Errorf("blob %s: %w", sum, ErrCorrupt)
	}
	return data, nil
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
