package responsefile

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/ipeval/ipeval/internal/fault"
)

// CSV is read in two passes over the stream, never holding the file: the
// first decides the encoding (UTF-8 if every byte is valid UTF-8, else
// GB18030, which Excel and WPS on a Chinese Windows write) and the
// delimiter; the second decodes and parses.

func errEncoding() error {
	return errBad("the CSV file must be encoded in UTF-8 or GB18030 (GBK)",
		"CSV 文件须为 UTF-8 或 GB18030（GBK）编码", nil)
}

func errWorkbookAsCSV() error {
	return errBad("the file is an Excel workbook, not a CSV file; upload it with the .xlsx extension",
		"该文件是 Excel 工作簿而不是 CSV 文件，请以 .xlsx 扩展名上传", nil)
}

func errUTF16() error {
	return errBad("the file is UTF-16 text (Excel's \"Unicode Text\"); save it as \"CSV UTF-8\" and upload it again",
		"该文件为 UTF-16 文本（Excel 的“Unicode 文本”），请另存为“CSV UTF-8（逗号分隔）”后重新上传", nil)
}

func errBinary() error {
	return errBad("the file is not a CSV text file", "该文件不是 CSV 文本文件", nil)
}

func errRecordTooLong(line int) error {
	return errBad(fmt.Sprintf("the record starting near line %d is longer than %d bytes (an unclosed quote?)", line, maxRecord),
		fmt.Sprintf("第 %d 行附近的记录超过 %d 字节（可能有未闭合的引号）", line, maxRecord),
		map[string]any{"line": line, "max_bytes": maxRecord})
}

// streamError marks an error raised by the reader chain under csv.Reader,
// which the csv package passes through unwrapped.
type streamError struct{ err error }

func (e *streamError) Error() string { return e.err.Error() }
func (e *streamError) Unwrap() error { return e.err }

// sniff is the first pass: it reports whether the text is GB18030 rather
// than UTF-8, and the delimiter of the header line (comma unless the line
// has none but has tabs or semicolons, as European LimeSurvey exports do).
func sniff(r io.Reader) (gb bool, comma rune, err error) {
	buf := make([]byte, 64<<10)
	var carry int // bytes of an incomplete rune kept from the last chunk
	first := true
	var line []byte
	lineDone := false
	for {
		n, rerr := io.ReadFull(r, buf[carry:])
		n += carry
		chunk := buf[:n]
		if first && n > 0 {
			first = false
			switch {
			case bytes.HasPrefix(chunk, []byte("PK\x03\x04")), bytes.HasPrefix(chunk, []byte{0xD0, 0xCF, 0x11, 0xE0}):
				return false, 0, errWorkbookAsCSV()
			case bytes.HasPrefix(chunk, []byte{0xFF, 0xFE}), bytes.HasPrefix(chunk, []byte{0xFE, 0xFF}):
				return false, 0, errUTF16()
			}
		}
		if bytes.IndexByte(chunk, 0) >= 0 {
			return false, 0, errBinary()
		}
		if !lineDone {
			if i := bytes.IndexAny(chunk, "\r\n"); i >= 0 {
				line, lineDone = append(line, chunk[:i]...), true
			} else if len(line) < 64<<10 {
				line = append(line, chunk...)
			}
		}
		end := rerr != nil
		keep := 0
		if !end {
			keep = incompleteTail(chunk)
		}
		if !gb && !utf8.Valid(chunk[:n-keep]) {
			gb = true
		}
		if gb && lineDone {
			break
		}
		if end {
			if rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
				return false, 0, fmt.Errorf("responsefile: read: %w", rerr)
			}
			break
		}
		carry = copy(buf, chunk[n-keep:])
	}
	return gb, delimiter(bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))), nil
}

// incompleteTail returns how many bytes at the end of b start a UTF-8
// sequence that the next chunk completes.
func incompleteTail(b []byte) int {
	for i := 1; i <= 3 && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return 0
		}
		if c >= 0xC0 { // a lead byte
			if utf8.FullRune(b[len(b)-i:]) {
				return 0
			}
			return i
		}
	}
	return 0
}

// delimiter picks the separator of a header line.
func delimiter(line []byte) rune {
	counts := map[byte]int{}
	quoted := false
	for _, c := range line {
		if c == '"' {
			quoted = !quoted
		} else if !quoted {
			counts[c]++
		}
	}
	switch {
	case counts[','] > 0:
		return ','
	case counts['\t'] > 0:
		return '\t'
	case counts[';'] > 0:
		return ';'
	}
	return ','
}

// countingReader counts the bytes read, for progress.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// replacementCheck refuses decoded text holding U+FFFD: the GB18030
// decoder writes it for bytes that are not GB18030, so the file is in
// neither encoding.
type replacementCheck struct {
	r    io.Reader
	tail [2]byte
	nt   int
}

func (rc *replacementCheck) Read(p []byte) (int, error) {
	n, err := rc.r.Read(p)
	if n > 0 {
		var edge [4]byte
		e := copy(edge[:], rc.tail[:rc.nt])
		e += copy(edge[e:], p[:min(n, 2)])
		if bytes.Contains(p[:n], []byte("\uFFFD")) || bytes.Contains(edge[:e], []byte("\uFFFD")) {
			return 0, &streamError{errEncoding()}
		}
		if n >= 2 {
			rc.nt = copy(rc.tail[:], p[n-2:n])
		} else {
			rc.tail[0], rc.tail[1] = rc.tail[1], p[0]
			rc.nt = min(rc.nt+1, 2)
		}
	}
	return n, err
}

// Lexer states of lineReader.
const (
	stFieldStart = iota
	stUnquoted
	stQuoted
	stQuoteInQuoted
)

// lineReader sits under csv.Reader. It turns every line end into "\n"
// (encoding/csv takes "\r\n" but not the lone "\r" of old Mac exports),
// and follows the CSV quoting closely enough to bound each record's bytes
// and cells before csv.Reader buffers them.
type lineReader struct {
	r       io.Reader
	comma   byte
	state   uint8
	afterCR bool
	record  int // bytes of the current record
	cells   int // cells of the current record
	line    int // line being read, from 1
	start   int // line the current record started on
}

func newLineReader(r io.Reader, comma rune) *lineReader {
	return &lineReader{r: r, comma: byte(comma), line: 1, start: 1, cells: 1}
}

func (l *lineReader) Read(p []byte) (int, error) {
	for {
		n, err := l.r.Read(p)
		if l.afterCR || bytes.IndexByte(p[:n], '\r') >= 0 {
			n = l.normalise(p[:n])
		}
		if serr := l.scan(p[:n]); serr != nil {
			return 0, serr
		}
		// n is 0 with a nil error only when a chunk was a dropped "\n".
		if n > 0 || err != nil {
			return n, err
		}
	}
}

// normalise turns "\r\n" and a lone "\r" into "\n" in place and returns
// the new length.
func (l *lineReader) normalise(p []byte) int {
	w := 0
	for _, c := range p {
		if c == '\n' && l.afterCR {
			l.afterCR = false
			continue
		}
		l.afterCR = c == '\r'
		if c == '\r' {
			c = '\n'
		}
		p[w] = c
		w++
	}
	return w
}

// scan follows the records through b. Text outside quotes is measured a
// line at a time (bytes.IndexByte and bytes.Count run vectorised), quoted
// text a quote at a time; only the byte after a closing quote is looked
// at alone.
func (l *lineReader) scan(b []byte) error {
	comma := []byte{l.comma}
	for len(b) > 0 {
		switch l.state {
		case stQuoted:
			i := bytes.IndexByte(b, '"')
			seg := b
			if i >= 0 {
				seg = b[:i]
			}
			l.record += len(seg)
			l.line += bytes.Count(seg, []byte{'\n'})
			if i < 0 {
				b = nil
				break
			}
			l.record++
			l.state = stQuoteInQuoted
			b = b[i+1:]
		case stQuoteInQuoted:
			c := b[0]
			b = b[1:]
			l.record++
			switch c {
			case '"':
				l.state = stQuoted
			case l.comma:
				l.state = stFieldStart
				l.cells++
			case '\n':
				l.endRecord()
			default:
				l.state = stUnquoted // csv.Reader reports the stray quote
			}
		default:
			nl := bytes.IndexByte(b, '\n')
			seg := b
			if nl >= 0 {
				seg = b[:nl]
			}
			if q := bytes.IndexByte(seg, '"'); q >= 0 {
				l.text(seg[:q], comma)
				l.record++
				if l.state == stFieldStart {
					l.state = stQuoted
				}
				b = b[q+1:]
				break
			}
			l.text(seg, comma)
			if nl < 0 {
				b = nil
				break
			}
			l.record++
			l.endRecord()
			b = b[nl+1:]
		}
		if l.record > maxRecord {
			return &streamError{errRecordTooLong(l.start)}
		}
		if l.cells > maxColumns {
			return &streamError{errTooManyColumns(l.start)}
		}
	}
	return nil
}

// text takes unquoted text without line breaks or quotes.
func (l *lineReader) text(seg, comma []byte) {
	if len(seg) == 0 {
		return
	}
	l.record += len(seg)
	l.cells += bytes.Count(seg, comma)
	l.state = stUnquoted
	if seg[len(seg)-1] == l.comma {
		l.state = stFieldStart
	}
}

func (l *lineReader) endRecord() {
	l.line++
	l.state, l.record, l.cells, l.start = stFieldStart, 0, 1, l.line
}

// readCSV reads a CSV upload.
func readCSV(r io.ReadSeeker, rr *rowReader) error {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("responsefile: seek: %w", err)
	}
	gb, comma, err := sniff(bufio.NewReaderSize(r, 64<<10))
	if err != nil {
		return err
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("responsefile: seek: %w", err)
	}
	counter := &countingReader{r: r}
	br := bufio.NewReaderSize(counter, 64<<10)
	var text io.Reader = br
	if gb {
		text = &replacementCheck{r: transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())}
	} else if bom, _ := br.Peek(3); bytes.Equal(bom, []byte("\xEF\xBB\xBF")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(newLineReader(text, comma))
	cr.Comma = comma
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = false
	cr.ReuseRecord = true
	rr.csv = true
	// shift counts line breaks inside quoted cells so far: a spreadsheet
	// shows such a record as one row, and rows are numbered as it shows
	// them.
	shift := 0
	for i := 0; ; i++ {
		if i&8191 == 0 {
			if err := rr.ctx.Err(); err != nil {
				return fmt.Errorf("responsefile: %w", err)
			}
			if i > 0 {
				rr.report(counter.n)
			}
		}
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *streamError
			var pe *csv.ParseError
			switch {
			case errors.As(err, &se):
				return se.err
			case errors.As(err, &pe) && rr.lay != nil:
				rr.sum.Rows++
				rr.problem(func() fault.FieldError { return rowQuoteProblem(pe.StartLine - shift) })
				continue
			case errors.As(err, &pe):
				return errBad(fmt.Sprintf("the CSV file is malformed at line %d (check the quotes)", pe.Line),
					fmt.Sprintf("CSV 文件第 %d 行格式错误（请检查引号）", pe.Line), map[string]any{"line": pe.Line})
			default:
				return fmt.Errorf("responsefile: read csv: %w", err)
			}
		}
		line, _ := cr.FieldPos(0)
		last, _ := cr.FieldPos(len(rec) - 1)
		row := line - shift
		shift += last - line + strings.Count(rec[len(rec)-1], "\n")
		if err := rr.row(row, rec); err != nil {
			return err
		}
	}
	return rr.finish()
}

func rowQuoteProblem(row int) fault.FieldError {
	return fault.FieldError{Row: row, Code: "bad_quotes",
		Message:   "本行引号格式错误（单元格中的引号须写成两个引号，并整格加引号），本行未读取",
		MessageEn: `the row's quotes are malformed (a quote inside a cell must be doubled and the cell quoted); the row was not read`}
}
