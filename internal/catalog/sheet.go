package catalog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
)

// Entry is what the folder asks for one of its files.
type Entry struct {
	File
	// Name is the product's name; NameGiven is false when it was derived
	// from the file name (see nameOf), which a product renamed in the
	// Dashboard then keeps.
	Name      string
	NameGiven bool
	// Description, when not nil, is the product's description ("" clears
	// it); nil leaves the product's as it is.
	Description *string
	Price       Money
	// Line is the file's row in catalog.csv, or 0.
	Line int
}

// Columns of catalog.csv. Only file is required; price and currency come
// together or not at all.
var columns = []string{"file", "name", "price", "currency", "description"}

// Load reads the folder fsys and its catalog.csv into one Entry per file,
// sorted by path. A file without a row, or a row without a price, is sold at
// def (nil: no default). Every problem found is returned in one
// *InputError, with the line of catalog.csv it is on.
func Load(fsys fs.FS, def *Money) ([]Entry, error) {
	files, problems, err := scan(fsys)
	if err != nil {
		return nil, err
	}
	data, err := fs.ReadFile(fsys, SheetName)
	hasSheet := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	// rows are the good rows; named the files a row names, good or bad
	// (nil: no sheet, or one whose header is unusable).
	var rows map[string]Entry
	var named map[string]bool
	if hasSheet {
		var ps []Problem
		rows, named, ps = readSheet(data, files, def)
		problems = append(problems, ps...)
	}
	entries := make([]Entry, 0, len(files))
	for _, f := range files {
		e, ok := rows[f.Path]
		switch {
		case ok:
			e.File = f
		case def == nil && hasSheet:
			if named != nil && !named[f.Path] {
				problems = append(problems, Problem{File: f.Path, Text: "has no row in " + SheetName + " and no default price is given"})
			}
			continue
		case def == nil:
			continue // said once below
		default:
			e = Entry{File: f, Name: nameOf(f.Path), Price: *def}
		}
		entries = append(entries, e)
	}
	switch {
	case len(files) == 0 && len(problems) == 0:
		problems = append(problems, Problem{Text: "no files to sell in the folder"})
	case !hasSheet && def == nil && len(files) > 0:
		problems = append(problems, Problem{Text: "no " + SheetName + " and no default price: give the files a price"})
	}
	if len(problems) > 0 {
		return nil, &InputError{Problems: problems}
	}
	return entries, nil
}

// sheet is catalog.csv as it is read: its header and problems so far.
type sheet struct {
	col      map[string]int
	problems []Problem
}

func (s *sheet) problem(line int, format string, args ...any) {
	s.problems = append(s.problems, Problem{Line: line, Text: fmt.Sprintf(format, args...)})
}

// readSheet parses catalog.csv into an entry per good row, keyed by file,
// and returns the files the rows name and every problem of every row.
func readSheet(data []byte, files []File, def *Money) (rows map[string]Entry, named map[string]bool, problems []Problem) {
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // the byte order mark spreadsheets write
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	if first, _, _ := bytes.Cut(data, []byte("\n")); bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		r.Comma = ';' // as spreadsheets in many locales write CSV
	}
	s := &sheet{}
	header, err := r.Read()
	if err != nil {
		s.problem(1, "no header row (%v); the first row names the columns: %s", err, strings.Join(columns, ","))
		return nil, nil, s.problems
	}
	s.readHeader(header)
	if len(s.problems) > 0 {
		return nil, nil, s.problems
	}
	known := map[string]bool{}
	folded := map[string]string{}
	for _, f := range files {
		known[f.Path] = true
		folded[strings.ToLower(f.Path)] = f.Path
	}
	rows, named = map[string]Entry{}, map[string]bool{}
	for range MaxFiles + 1 {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			s.problem(pe.Line, "%v", pe.Err)
			continue
		}
		if err != nil {
			s.problem(0, "%v", err)
			break
		}
		line, _ := r.FieldPos(0)
		e, ok := s.readRow(line, rec, def)
		named[e.Path] = true
		switch {
		case !ok:
		case !known[e.Path] && folded[strings.ToLower(e.Path)] != "":
			s.problem(line, "file %q is not in the folder; did you mean %q?", e.Path, folded[strings.ToLower(e.Path)])
		case !known[e.Path]:
			s.problem(line, "file %q is not in the folder", e.Path)
		case rows[e.Path].Line != 0:
			s.problem(line, "file %q is already on line %d", e.Path, rows[e.Path].Line)
		default:
			rows[e.Path] = e
		}
	}
	return rows, named, s.problems
}

func (s *sheet) readHeader(header []string) {
	s.col = map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch _, dup := s.col[name]; {
		case !slices.Contains(columns, name):
			s.problem(1, "unknown column %q (the columns are %s)", h, strings.Join(columns, ", "))
		case dup:
			s.problem(1, "column %q appears twice", name)
		default:
			s.col[name] = i
		}
	}
	_, price := s.col["price"]
	_, currency := s.col["currency"]
	if !s.has("file") {
		s.problem(1, "no file column (the columns are %s)", strings.Join(columns, ", "))
	}
	if price != currency {
		s.problem(1, "a price column needs a currency column, and the reverse")
	}
}

func (s *sheet) has(column string) bool { _, ok := s.col[column]; return ok }

// cell is the trimmed value of column in rec, "" when the row is short.
func (s *sheet) cell(rec []string, column string) string {
	if i, ok := s.col[column]; ok && i < len(rec) {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// readRow reads one row; ok is false when it has a problem (recorded) or
// is empty.
func (s *sheet) readRow(line int, rec []string, def *Money) (Entry, bool) {
	if strings.TrimSpace(strings.Join(rec, "")) == "" {
		return Entry{}, false
	}
	file := strings.TrimPrefix(strings.ReplaceAll(s.cell(rec, "file"), `\`, "/"), "./")
	e := Entry{File: File{Path: file}, Name: s.cell(rec, "name"), Line: line}
	switch {
	case file == "":
		s.problem(line, "no file")
		return e, false
	case len(rec) > len(s.col):
		s.problem(line, "%d fields, but the header names %d columns", len(rec), len(s.col))
		return e, false
	}
	e.NameGiven = e.Name != ""
	if !e.NameGiven {
		e.Name = nameOf(file)
	}
	if s.has("description") {
		d := s.cell(rec, "description")
		e.Description = &d
	}
	price, currency := s.cell(rec, "price"), s.cell(rec, "currency")
	switch {
	case price == "" && currency == "" && def != nil:
		e.Price = *def
	case price == "" && currency == "":
		s.problem(line, "no price and currency, and no default price is given")
		return e, false
	case price == "" || currency == "":
		s.problem(line, "a price needs its currency, and the reverse")
		return e, false
	default:
		cur, err := ParseCurrency(currency)
		if err == nil {
			e.Price.Currency = cur
			e.Price.Amount, err = ParseAmount(price, cur)
		}
		if err != nil {
			s.problem(line, "%v", err)
			return e, false
		}
	}
	return e, true
}
