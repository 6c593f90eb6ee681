package textenc

import (
	"encoding/csv"
	"io"
)

// ExcelCSV starts a CSV for Excel on w: it writes a UTF-8 byte-order mark,
// without which Excel on a Chinese Windows reads the Chinese as GBK and
// garbles it, and returns a writer that ends lines with CRLF. The caller
// flushes the writer and checks its Error.
func ExcelCSV(w io.Writer) (*csv.Writer, error) {
	if _, err := w.Write(bom); err != nil {
		return nil, err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return cw, nil
}
