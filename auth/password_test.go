package auth_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/ipeval/ipeval/auth"
	"github.com/ipeval/ipeval/internal/fault"
)

func TestHashPasswordRoundTrip(t *testing.T) {
	for _, pw := range []string{testPassword, "知识产权公共服务Ab1", ""} {
		t.Run(pw, func(t *testing.T) {
			start := time.Now()
			enc, err := auth.HashPassword(pw)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("hash took %v", time.Since(start))
			if !strings.HasPrefix(enc, "$argon2id$v=19$m=") {
				t.Errorf("encoded = %q, want PHC argon2id", enc)
			}
			if strings.Contains(enc, pw) && pw != "" {
				t.Errorf("encoded hash contains the password")
			}
			ok, err := auth.VerifyPassword(enc, pw)
			if err != nil || !ok {
				t.Errorf("VerifyPassword(right) = %v, %v; want true", ok, err)
			}
			ok, err = auth.VerifyPassword(enc, pw+"x")
			if err != nil || ok {
				t.Errorf("VerifyPassword(wrong) = %v, %v; want false, nil", ok, err)
			}
			again, _ := auth.HashPassword(pw)
			if again == enc {
				t.Error("two hashes of one password are equal; salt not random")
			}
		})
	}
}

// reference is the argon2id test vector of the reference implementation
// (phc-winner-argon2, src/test.c): "password" with salt "somesalt", t=2, p=1,
// so that the parser is tested against a string it did not produce, with
// other parameters than HashPassword's.
const reference = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

// lowCost parses but is cheap to compute, to keep fuzzing fast.
const lowCost = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$8Jx6mS3d0fd6mQhxVRWBx4oF6sZSCNVvWZBoOsz+0fY"

func TestVerifyPasswordMalformed(t *testing.T) {
	good, err := auth.HashPassword("pw")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := slices.Clone(parts)
		p[i] = v
		return strings.Join(p, "$")
	}
	tests := map[string]string{
		"empty":           "",
		"dollars":         "$$$$$",
		"bcrypt":          "$2a$10$abcdefghijklmnopqrstuu5s0zWQd8Y7lXcFzKz3Ba3hXhZq2Zq2",
		"argon2i":         with(1, "argon2i"),
		"version":         with(2, "v=16"),
		"no version":      with(2, ""),
		"params order":    with(3, "t=3,m=65536,p=2"),
		"params missing":  with(3, "m=65536,t=3"),
		"params extra":    with(3, "m=65536,t=3,p=2,k=1"),
		"zero time":       with(3, "m=65536,t=0,p=2"),
		"zero threads":    with(3, "m=65536,t=3,p=0"),
		"negative":        with(3, "m=-1,t=3,p=2"),
		"leading zero":    with(3, "m=065536,t=3,p=2"),
		"huge memory":     with(3, "m=4294967295,t=3,p=2"),
		"overflow":        with(3, "m=99999999999999999999,t=3,p=2"),
		"huge time":       with(3, "m=65536,t=1000000,p=2"),
		"huge threads":    with(3, "m=65536,t=3,p=255"),
		"memory < 8p":     with(3, "m=8,t=1,p=2"),
		"salt not base64": with(4, "!!!!!!!!!!!!"),
		"salt short":      with(4, "c2FsdA"),
		"salt padded":     with(4, parts[4]+"=="),
		"hash short":      with(5, "AAAA"),
		"hash not base64": with(5, "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~"),
		"trailing field":  good + "$",
		"no leading $":    strings.TrimPrefix(good, "$"),
		"truncated":       good[:len(good)-10] + "$",
	}
	for name, enc := range tests {
		t.Run(name, func(t *testing.T) {
			ok, err := auth.VerifyPassword(enc, "pw")
			if err == nil || ok {
				t.Errorf("VerifyPassword(%q) = %v, %v; want false and an error", enc, ok, err)
			}
		})
	}
	t.Run("tampered hash", func(t *testing.T) {
		key := []byte(parts[5])
		if key[0] == 'A' {
			key[0] = 'B'
		} else {
			key[0] = 'A'
		}
		ok, err := auth.VerifyPassword(with(5, string(key)), "pw")
		if err != nil || ok {
			t.Errorf("tampered hash = %v, %v; want false, nil", ok, err)
		}
	})
	t.Run("reference vector", func(t *testing.T) {
		for pw, want := range map[string]bool{"password": true, "Password": false} {
			ok, err := auth.VerifyPassword(reference, pw)
			if err != nil || ok != want {
				t.Errorf("VerifyPassword(reference, %q) = %v, %v; want %v", pw, ok, err, want)
			}
		}
	})
}

func FuzzVerifyPassword(f *testing.F) {
	f.Add(lowCost, "pw")
	f.Add(reference, "password")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", "")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", "x")
	f.Add("$argon2id$v=19$m=64,t=1,p=4$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", "x")
	f.Add("$argon2id$v=19$m=,t=,p=$$", "x")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$$", "")
	f.Add("$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$AAAAAAAAAAAAAAAAAAAAAA", "x")
	f.Add("", "")
	f.Add("$", "x")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ=$AAAAAAAAAAAAAAAAAAAAAA==", "x")
	f.Fuzz(func(t *testing.T, enc, pw string) {
		ok, err := auth.VerifyPassword(enc, pw)
		if err != nil && ok {
			t.Fatalf("VerifyPassword(%q) = true with error %v", enc, err)
		}
	})
}

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name, pw, username string
		want               []string // problem codes, in order
	}{
		{"good", testPassword, "alice", nil},
		{"three classes without symbol", "Kx7mQ2vLp9Rt", "alice", nil},
		{"chinese counts as symbol", "知识产权qz7rwm2x9k", "alice", nil},
		{"spaces count as symbol", "correct horse 42", "alice", nil},
		{"too short", "Ab1!Ab1!Ab1", "alice", []string{"too_short"}},
		{"empty", "", "alice", []string{"too_short", "too_simple"}},
		{"too long", strings.Repeat("Ab1!", 65), "alice", []string{"too_long"}},
		{"two classes", "abcdefgh1234", "alice", []string{"too_simple"}},
		{"one class", "abcdefghijklmnop", "alice", []string{"too_simple"}},
		{"contains username", "xxAlice-2025!", "alice", []string{"contains_username"}},
		{"username case-insensitive", "ALICE-zz-2025", "Alice", []string{"contains_username"}},
		{"username reversed", "ecila-Zq7-2025!", "alice", []string{"contains_username"}},
		{"common", "Password1234", "bob", []string{"too_guessable"}},
		{"common with symbol", "Password1234!", "bob", []string{"too_guessable"}},
		{"repeated", "Aaaaaaaaaaa1", "bob", []string{"too_guessable"}},
		{"keyboard pattern", "1qaz@WSX3edc", "bob", []string{"too_guessable"}},
		{"word and year", "Sunshine2024!", "bob", []string{"too_guessable"}},
		{"common chinese", "Woaini1314520", "bob", []string{"too_guessable"}},
		{"display name", "Zhangwei-2026x", "bob", []string{"too_guessable"}},
		{"everything wrong", "alice", "alice", []string{"too_short", "too_simple", "contains_username"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := auth.CheckPassword(tt.pw, tt.username, "Zhang Wei")
			if tt.want == nil {
				if err != nil {
					t.Fatalf("CheckPassword(%q) = %v, want nil", tt.pw, err)
				}
				return
			}
			if !errors.Is(err, fault.ErrBadRequest) {
				t.Fatalf("CheckPassword(%q) = %v, want a validation error", tt.pw, err)
			}
			var ve *fault.ValidationError
			errors.As(err, &ve)
			var codes []string
			for _, fe := range ve.Errors {
				codes = append(codes, fe.Code)
				if fe.Field != "password" {
					t.Errorf("field = %q, want password", fe.Field)
				}
				if !containsHan(fe.Message) || fe.MessageEn == "" {
					t.Errorf("problem %s lacks a Chinese or English message: %+v", fe.Code, fe)
				}
			}
			if !slices.Equal(codes, tt.want) {
				t.Errorf("codes = %v, want %v", codes, tt.want)
			}
		})
	}
}

func containsHan(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}

func TestGeneratePassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		pw := auth.GeneratePassword()
		if len(pw) != auth.GeneratedPasswordLength {
			t.Fatalf("len(%q) = %d, want %d", pw, len(pw), auth.GeneratedPasswordLength)
		}
		if err := auth.CheckPassword(pw, ""); err != nil {
			t.Fatalf("generated %q fails the policy: %v", pw, err)
		}
		if strings.ContainsAny(pw, "0O1lI'\"\\ ") {
			t.Errorf("generated %q contains an ambiguous or awkward character", pw)
		}
		if seen[pw] {
			t.Fatalf("generated %q twice", pw)
		}
		seen[pw] = true
	}
}
