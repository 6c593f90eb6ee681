package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// probeBody is the size of the anonymous uploads of TestProbe09: the
// survey limit, which the server used to read in full before it asked who
// was calling.
const probeBody = 100 << 20

// probeSlackMB is how far above idle the server's resident memory may go
// while it refuses them, or while it takes a large upload.
const probeSlackMB = 8

// TestProbe09BodiesBeforeIdentity runs `ipeval serve` in a process of its
// own and sends it 100 MiB bodies from callers without a credential —
// an upload, a sign-in, the sign-in chunked, a route that does not exist —
// generated as they are sent: each is refused at once with a 4xx and the
// server's resident memory (its peak, VmHWM, reset before each request)
// stays within a few MiB of idle. An 80 MiB survey upload from the
// contractor is stored, and the server's peak grows by far less than the
// file. The server runs without workers, so that reading the file (a job)
// does not count.
func TestProbe09BodiesBeforeIdentity(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	s := startLive(t, true, "--workers", "0")
	project, sample := s.surveyProject(t)
	u, err := url.Parse(s.base)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // a first request of each kind initialises what it needs
		s.do(t, s.admin, "GET", "/api/v1/me", nil)
		probeSend(t, u.Host, "POST /api/v1/auth/login", "application/json", 1<<10, false)
	}
	time.Sleep(time.Second)
	idle := rss(t, s.pid, "VmRSS")
	t.Logf("idle: %.1f MiB", idle)

	for _, tc := range []struct {
		name, request, contentType string
		chunked                    bool
		status                     int
	}{
		{"survey upload", "POST /api/v1/survey-projects/" + project + "/batches", "multipart/form-data; boundary=x", false, http.StatusUnauthorized},
		{"evidence upload", "POST /api/v1/cycles/" + s.collecting + "/evidence", "multipart/form-data; boundary=x", true, http.StatusUnauthorized},
		{"sign-in", "POST /api/v1/auth/login", "application/json", false, http.StatusRequestEntityTooLarge},
		{"sign-in, chunked", "POST /api/v1/auth/login", "application/json", true, http.StatusRequestEntityTooLarge},
		{"sign-in form", "POST /login", "application/x-www-form-urlencoded", false, http.StatusRequestEntityTooLarge},
		{"no such route", "POST /api/v1/nowhere", "application/json", false, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resetPeak(t, s.pid)
			start := time.Now()
			status := probeSend(t, u.Host, tc.request, tc.contentType, probeBody, tc.chunked)
			took := time.Since(start)
			peak := rss(t, s.pid, "VmHWM")
			t.Logf("%d in %v; peak %.1f MiB (idle %.1f)", status, took.Round(time.Millisecond), peak, idle)
			if status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			if took > 5*time.Second {
				t.Errorf("answered after %v", took)
			}
			if peak > idle+probeSlackMB {
				t.Errorf("peak resident memory %.1f MiB, idle %.1f: the server held the body", peak, idle)
			}
		})
	}

	t.Run("authenticated survey upload", func(t *testing.T) {
		body, size, sum := probeSurveyUpload(t, sample, 80<<20)
		defer body.Close()
		token := strings.TrimSpace(cli(t, s.env, "user", "token", "survey"))
		req, err := http.NewRequest("POST", s.base+"/api/v1/survey-projects/"+project+"/batches", body.file)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = body.size
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", body.contentType)
		before := rss(t, s.pid, "VmRSS")
		resetPeak(t, s.pid)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		peak := rss(t, s.pid, "VmHWM")
		t.Logf("%d MiB file: peak %.1f MiB, before %.1f", size>>20, peak, before)
		var b struct {
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
		}
		if resp.StatusCode != http.StatusAccepted || json.Unmarshal(answer, &b) != nil {
			t.Fatalf("upload: %d %.300s", resp.StatusCode, answer)
		}
		if b.SHA256 != sum {
			t.Errorf("stored sha256 %s, want %s", b.SHA256, sum)
		}
		if peak > before+probeSlackMB {
			t.Errorf("peak resident memory %.1f MiB, %.1f before the upload: the server held the file", peak, before)
		}
	})
}

// probeSend sends request (method and path) with a body of size bytes,
// written as it goes from a generator and chunked or of a declared length,
// and returns the status of the answer. The server may answer and close
// before the body is sent: writing then fails, which is what is wanted.
func probeSend(t *testing.T, host, request, contentType string, size int, chunked bool) int {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	head := request + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: " + contentType + "\r\n"
	if chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		head += fmt.Sprintf("Content-Length: %d\r\n\r\n", size)
	}
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		w := bufio.NewWriter(conn)
		_, _ = w.WriteString(head)
		chunk := bytes.Repeat([]byte{'0'}, 32<<10)
		for n := 0; n < size; n += len(chunk) {
			if chunked {
				fmt.Fprintf(w, "%x\r\n", len(chunk))
			}
			if _, err := w.Write(chunk); err != nil {
				return
			}
			if chunked {
				_, _ = w.WriteString("\r\n")
			}
		}
		if chunked {
			_, _ = w.WriteString("0\r\n\r\n")
		}
		_ = w.Flush()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: no answer: %v", request, err)
	}
	resp.Body.Close()
	conn.Close()
	<-sent
	return resp.StatusCode
}

// resetPeak resets the kernel's high-water mark of the process's resident
// memory (VmHWM) to its current size.
func resetPeak(t *testing.T, pid int) {
	t.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Skipf("cannot reset the peak resident memory: %v", err)
	}
}

// probeUpload is a multipart form on disk, ready to be sent.
type probeUpload struct {
	file        *os.File
	size        int64
	contentType string
}

func (u probeUpload) Close() { u.file.Close() }

// probeSurveyUpload writes a multipart form holding a survey CSV of at
// least size bytes (sample's rows over and over) to a temporary file, and
// returns it with the CSV's size and sha256.
func probeSurveyUpload(t *testing.T, sample []byte, size int64) (probeUpload, int64, string) {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "form"))
	if err != nil {
		t.Fatal(err)
	}
	mw := multipart.NewWriter(f)
	part, err := mw.CreateFormFile("file", "大文件.csv")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	w := io.MultiWriter(part, h)
	_, rows, _ := bytes.Cut(sample, []byte("\n"))
	n, err := w.Write(sample)
	written := int64(n)
	for err == nil && written < size {
		n, err = w.Write(rows)
		written += int64(n)
	}
	if err == nil {
		err = mw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	total, err := f.Seek(0, io.SeekCurrent)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		t.Fatal(err)
	}
	return probeUpload{file: f, size: total, contentType: mw.FormDataContentType()}, written, hex.EncodeToString(h.Sum(nil))
}
