package responsefile

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// refLexer is the byte-at-a-time statement of what lineReader.scan
// computes in larger steps.
type refLexer struct {
	comma               byte
	state               uint8
	record, cells, line int
}

func (l *refLexer) step(c byte) {
	l.record++
	if l.state == stQuoted {
		if c == '\n' {
			l.line++
		}
		if c == '"' {
			l.state = stQuoteInQuoted
		}
		return
	}
	switch {
	case c == l.comma:
		l.state = stFieldStart
		l.cells++
	case c == '\n':
		l.line++
		l.state, l.record, l.cells = stFieldStart, 0, 1
	case c == '"' && l.state != stUnquoted:
		l.state = stQuoted
	default:
		l.state = stUnquoted
	}
}

func TestLineReaderMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("ab,,,\"\"\n\r ;")
	for trial := range 2000 {
		in := make([]byte, rng.IntN(200))
		for i := range in {
			in[i] = alphabet[rng.IntN(len(alphabet))]
		}
		// The reference sees the text with line ends already normalised.
		norm := bytes.ReplaceAll(bytes.ReplaceAll(in, []byte("\r\n"), []byte("\n")), []byte("\r"), []byte("\n"))
		ref := &refLexer{comma: ',', cells: 1, line: 1}
		for _, c := range norm {
			ref.step(c)
		}
		lr := newLineReader(iotest.OneByteReader(bytes.NewReader(in)), ',')
		if trial%2 == 1 {
			lr = newLineReader(iotest.HalfReader(bytes.NewReader(in)), ',')
		}
		out, err := io.ReadAll(lr)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, norm) {
			t.Fatalf("%q normalised to %q; want %q", in, out, norm)
		}
		if lr.state != ref.state || lr.record != ref.record || lr.cells != ref.cells || lr.line != ref.line {
			t.Fatalf("%q: state %d record %d cells %d line %d; reference %d %d %d %d", in,
				lr.state, lr.record, lr.cells, lr.line, ref.state, ref.record, ref.cells, ref.line)
		}
	}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    []byte
		gb    bool
		comma rune
	}{
		{"utf-8", []byte("a,b\n中,文\n"), false, ','},
		{"gb18030", []byte{'a', ',', 'b', '\n', 0xD6, 0xD0, ',', 0xCE, 0xC4, '\n'}, true, ','},
		{"utf-8 rune across chunks", append(bytes.Repeat([]byte("x"), 64<<10-1), []byte("中\n")...), false, ','},
		{"tabs", []byte("a\tb\n"), false, '\t'},
		{"semicolons", []byte("\ufeffa;b\n"), false, ';'},
		{"comma inside quotes", []byte("\"a,b\";c\n"), false, ';'},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gb, comma, err := sniff(bytes.NewReader(tc.in))
			if err != nil || gb != tc.gb || comma != tc.comma {
				t.Fatalf("sniff = %v, %q, %v; want %v, %q", gb, comma, err, tc.gb, tc.comma)
			}
		})
	}
}
