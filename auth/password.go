package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"golang.org/x/crypto/argon2"

	"github.com/ipeval/ipeval/internal/fault"
)

// Argon2id parameters for new hashes. RFC 9106's second recommendation (64
// MiB, three passes) costs about 100 ms on one core of a small server, slow
// enough to make offline guessing expensive and fast enough that a burst of
// logins does not starve a 2-core machine. Stored hashes carry their own
// parameters, so these can be raised later: old hashes still verify and are
// re-hashed on the next successful login.
const (
	argonMemory  = 64 * 1024 // KiB
	argonTime    = 3
	argonThreads = 2
	argonKeyLen  = 32
	argonSaltLen = 16
)

// Bounds on parameters read back from a stored hash, so that a corrupted or
// hostile row cannot make one login allocate gigabytes or run for minutes.
const (
	maxArgonMemory  = 256 * 1024 // KiB
	maxArgonTime    = 10
	maxArgonThreads = 16
	minSaltLen      = 8
	minKeyLen       = 16
	maxSaltOrKeyLen = 64
)

// Password policy.
const (
	// MinPasswordLength is the shortest password accepted, in characters.
	MinPasswordLength = 12
	// MaxPasswordLength bounds what is hashed, in characters; long
	// passphrases fit comfortably.
	MaxPasswordLength = 256
	// MinPasswordClasses is how many of lower case, upper case, digits and
	// symbols a password must mix.
	MinPasswordClasses = 3
	// GeneratedPasswordLength is the length of GeneratePassword's output:
	// about 118 bits from a 60-character alphabet.
	GeneratedPasswordLength = 20
)

var errMalformedHash = errors.New("malformed password hash")

type argonParams struct {
	memory  uint32
	time    uint32
	threads uint8
}

func currentParams() argonParams {
	return argonParams{memory: argonMemory, time: argonTime, threads: argonThreads}
}

// HashPassword returns the PHC-format argon2id hash of pw with a fresh random
// salt: $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash> (base64 without padding).
func HashPassword(pw string) (string, error) {
	if utf8.RuneCountInString(pw) > MaxPasswordLength {
		return "", fmt.Errorf("hash password: longer than %d characters: %w", MaxPasswordLength, fault.ErrBadRequest)
	}
	salt := randomBytes(argonSaltLen)
	return encodeHash(currentParams(), salt, argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)), nil
}

func encodeHash(p argonParams, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// VerifyPassword reports whether pw matches the encoded hash. A malformed or
// unsupported encoding is an error, never a panic, since the string comes
// from storage that an operator may have edited by hand.
func VerifyPassword(encoded, pw string) (bool, error) {
	p, salt, key, err := decodeHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// needsRehash reports whether encoded was made with other parameters than
// HashPassword uses now.
func needsRehash(encoded string) bool {
	p, _, key, err := decodeHash(encoded)
	return err != nil || p != currentParams() || len(key) != argonKeyLen
}

// equalizeTiming does the work of one password verification, so that a login
// for an unknown username takes as long as one with a wrong password and
// does not reveal which usernames exist.
func equalizeTiming(pw string) {
	var salt [argonSaltLen]byte
	_ = argon2.IDKey([]byte(pw), salt[:], argonTime, argonMemory, argonThreads, argonKeyLen)
}

func decodeHash(encoded string) (argonParams, []byte, []byte, error) {
	var p argonParams
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" {
		return p, nil, nil, fmt.Errorf("%w: want 5 $-separated fields", errMalformedHash)
	}
	if parts[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: algorithm %q is not argon2id", errMalformedHash, parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported version %q", errMalformedHash, parts[2])
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return p, nil, nil, fmt.Errorf("%w: want m=,t=,p= parameters", errMalformedHash)
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		v, ok := strings.CutPrefix(params[i], name+"=")
		if !ok {
			return p, nil, nil, fmt.Errorf("%w: parameter %d is not %s", errMalformedHash, i+1, name)
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 || (len(v) > 1 && v[0] == '0') {
			return p, nil, nil, fmt.Errorf("%w: bad %s=%q", errMalformedHash, name, v)
		}
		vals[i] = n
	}
	if vals[2] > maxArgonThreads || vals[1] > maxArgonTime || vals[0] > maxArgonMemory || vals[0] < 8*vals[2] {
		return p, nil, nil, fmt.Errorf("%w: parameters m=%d,t=%d,p=%d out of range", errMalformedHash, vals[0], vals[1], vals[2])
	}
	p = argonParams{memory: uint32(vals[0]), time: uint32(vals[1]), threads: uint8(vals[2])}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltOrKeyLen {
		return p, nil, nil, fmt.Errorf("%w: bad salt", errMalformedHash)
	}
	key, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxSaltOrKeyLen {
		return p, nil, nil, fmt.Errorf("%w: bad key", errMalformedHash)
	}
	return p, salt, key, nil
}

// MinPasswordGuesses is the least number of guesses the strength estimator
// (zxcvbn) must expect an attacker to need: 10^10, its highest score, far
// beyond what the sign-in throttle lets through online, and costly offline
// against argon2id.
const MinPasswordGuesses = 1e10

// maxEstimatedRunes bounds what the estimator reads: its matching grows
// faster than the password's length, and 64 characters that resist
// guessing are not made weak by what follows.
const maxEstimatedRunes = 64

// CheckPassword applies the password policy and reports every rule pw
// breaks: at least MinPasswordLength characters, at most MaxPasswordLength,
// at least MinPasswordClasses of lower case, upper case, digits and symbols
// (any other character, including Chinese, counts as a symbol), not
// containing the username (userInputs[0]) forwards or backwards, and, when
// those pass, at least MinPasswordGuesses by the zxcvbn estimator, which
// knows common passwords (the usual Chinese ones such as woaini1314 too),
// words, names, keyboard patterns, repeats, sequences, dates and l33t
// spellings, and is told userInputs (username, display name, …) as words
// to avoid.
func CheckPassword(pw string, userInputs ...string) error {
	var errs []fault.FieldError
	add := func(code, zh, en string) { errs = append(errs, fault.Field("password", code, zh, en)) }

	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLength {
		add("too_short",
			fmt.Sprintf("密码至少需要 %d 个字符", MinPasswordLength),
			fmt.Sprintf("password must be at least %d characters long", MinPasswordLength))
	}
	if n > MaxPasswordLength {
		add("too_long",
			fmt.Sprintf("密码不能超过 %d 个字符", MaxPasswordLength),
			fmt.Sprintf("password must be at most %d characters long", MaxPasswordLength))
	}
	if c := passwordClasses(pw); c < MinPasswordClasses {
		add("too_simple",
			fmt.Sprintf("密码需包含小写字母、大写字母、数字、符号中的至少 %d 类", MinPasswordClasses),
			fmt.Sprintf("password must mix at least %d of lower case, upper case, digits and symbols", MinPasswordClasses))
	}
	lower := strings.ToLower(pw)
	// The estimator matches whole dictionary entries, so a display name
	// counts as itself, its words and its words run together.
	var inputs []string
	for _, in := range userInputs {
		words := strings.Fields(strings.ToLower(in))
		if len(words) > 0 {
			inputs = append(inputs, strings.Join(words, " "), strings.Join(words, ""))
		}
		if len(words) > 1 {
			inputs = append(inputs, words...)
		}
	}
	if u := firstLower(userInputs); u != "" && (strings.Contains(lower, u) || strings.Contains(lower, reverse(u))) {
		add("contains_username", "密码不能包含用户名", "password must not contain the username")
	}
	if len(errs) == 0 {
		// Only a password that passes the simple rules is estimated, so
		// that each problem is reported once, by the rule that names it.
		est := pw
		if n > maxEstimatedRunes {
			est = string([]rune(pw)[:maxEstimatedRunes])
		}
		if zxcvbn.PasswordStrength(est, inputs).Guesses < MinPasswordGuesses {
			add("too_guessable",
				"密码容易被猜中（常见密码、单词、姓名、键盘序列、重复或日期等），请换一个更随机的密码",
				"password is too easy to guess (a common password, word, name, keyboard pattern, repetition or date); choose a more random one")
		}
	}
	return fault.Invalid(errs...)
}

// firstLower is the first of ss in lower case without surrounding spaces,
// or "".
func firstLower(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(ss[0]))
}

// reverse returns s with its characters in reverse order.
func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

// passwordClasses counts the character classes present in pw.
func passwordClasses(pw string) int {
	var lower, upper, digit, symbol bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			symbol = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit, symbol} {
		if b {
			n++
		}
	}
	return n
}

// Alphabets for generated passwords, without look-alikes (0/O, 1/l/I) and
// without quotes, backslashes and spaces, so that a password read off a
// screen or pasted into a shell survives.
const (
	genLower  = "abcdefghijkmnopqrstuvwxyz"
	genUpper  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	genDigit  = "23456789"
	genSymbol = "!#%*+-=?@_"
)

// GeneratePassword returns a random GeneratedPasswordLength-character
// password from crypto/rand that contains all four character classes and so
// passes CheckPassword for any username it does not happen to contain
// (see generatePasswordFor).
func GeneratePassword() string {
	all := genLower + genUpper + genDigit + genSymbol
	out := make([]byte, GeneratedPasswordLength)
	for i, set := range []string{genLower, genUpper, genDigit, genSymbol} {
		out[i] = set[randIndex(len(set))]
	}
	for i := 4; i < len(out); i++ {
		out[i] = all[randIndex(len(all))]
	}
	// Fisher–Yates, so the guaranteed characters are not always in front.
	for i := len(out) - 1; i > 0; i-- {
		j := randIndex(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// generatePasswordFor returns a generated password that passes CheckPassword
// for userInputs (username first). A random password contains a
// three-letter username about once in ten thousand draws; drawing again is
// simpler than avoiding it.
func generatePasswordFor(userInputs ...string) string {
	for {
		pw := GeneratePassword()
		if CheckPassword(pw, userInputs...) == nil {
			return pw
		}
	}
}

// randomBytes returns n bytes from crypto/rand. Since Go 1.24 rand.Read
// never returns an error (it crashes the program instead), so there is
// nothing to handle.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// randIndex returns a uniform random integer in [0, n) from crypto/rand,
// rejecting the top of the range to avoid modulo bias.
func randIndex(n int) int {
	limit := ^uint32(0) - ^uint32(0)%uint32(n)
	for {
		v := binary.LittleEndian.Uint32(randomBytes(4))
		if v < limit {
			return int(v % uint32(n))
		}
	}
}
