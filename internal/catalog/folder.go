package catalog

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/filedrop/filedrop/internal/storage/blobstore"
)

// SheetName is the optional catalog file at the root of the folder.
const SheetName = "catalog.csv"

// MaxFiles bounds the files of one folder.
const MaxFiles = 10_000

// MaxOriginalLength is the longest path a file may have: the blob name is
// written into the product's metadata, whose values Stripe limits to 500
// characters.
const MaxOriginalLength = 500

// File is an original in the folder.
type File struct {
	// Path is the file's slash-separated path inside the folder: the blob
	// name of its original.
	Path   string
	Size   int64
	SHA256 string // lowercase hex
	MD5    []byte
}

// Problem is one thing wrong with the folder or its catalog.csv.
type Problem struct {
	// Line is the line of catalog.csv, or 0.
	Line int    `json:"line,omitempty"`
	File string `json:"file,omitempty"`
	Text string `json:"problem"`
}

func (p Problem) String() string {
	switch {
	case p.Line > 0:
		return fmt.Sprintf("%s line %d: %s", SheetName, p.Line, p.Text)
	case p.File != "":
		return p.File + ": " + p.Text
	}
	return p.Text
}

// InputError is every problem found in the folder and its catalog.csv.
// Nothing is changed while there is one.
type InputError struct {
	Problems []Problem
}

func (e *InputError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("%d problem(s) in the folder, nothing changed:\n  %s", len(e.Problems), strings.Join(lines, "\n  "))
}

// scan lists and hashes the files of fsys: every regular file (or link to
// one) in every folder, except catalog.csv at the root and names starting
// with a dot. Names unusable as blob names are problems.
func scan(fsys fs.FS) ([]File, []Problem, error) {
	var files []File
	var problems []Problem
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || p == SheetName {
			return nil
		}
		info, err := fs.Stat(fsys, p) // follows a symbolic link
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			problems = append(problems, Problem{File: p, Text: "not a regular file; move it out of the folder"})
			return nil
		}
		if len(files) == MaxFiles {
			return fmt.Errorf("more than %d files: sync a smaller folder", MaxFiles)
		}
		if problem := nameProblem(p); problem != "" {
			problems = append(problems, Problem{File: p, Text: problem})
			return nil
		}
		f, err := hashFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, f)
		return nil
	})
	return files, problems, err
}

// nameProblem says why p cannot be an original's name, or "".
func nameProblem(p string) string {
	if err := blobstore.ValidateName(p); err != nil {
		return err.Error() + "; rename the file"
	}
	if utf8.RuneCountInString(p) > MaxOriginalLength {
		return fmt.Sprintf("the path is longer than %d characters, the most a Stripe metadata value holds; shorten it", MaxOriginalLength)
	}
	return ""
}

// hashFile reads the file p and returns it with its size and hashes.
func hashFile(fsys fs.FS, p string) (File, error) {
	r, err := fsys.Open(p)
	if err != nil {
		return File{}, err
	}
	defer r.Close()
	h := newHasher()
	if _, err := io.Copy(h, r); err != nil {
		return File{}, fmt.Errorf("read %s: %w", p, err)
	}
	f := h.file()
	f.Path = p
	return f, nil
}

// hasher computes what File records of the bytes written to it.
type hasher struct {
	md5, sha hash.Hash
	n        int64
}

func newHasher() *hasher { return &hasher{md5: md5.New(), sha: sha256.New()} }

func (h *hasher) Write(p []byte) (int, error) {
	h.md5.Write(p)
	h.sha.Write(p)
	h.n += int64(len(p))
	return len(p), nil
}

func (h *hasher) file() File {
	return File{Size: h.n, MD5: h.md5.Sum(nil), SHA256: hex.EncodeToString(h.sha.Sum(nil))}
}

// nameOf is the product name a file gets when catalog.csv gives none: its
// base name without the extension, with - and _ as spaces, capitalised
// ("harbour-at-dawn.jpg" is "Harbour at dawn").
func nameOf(p string) string {
	base := path.Base(p)
	if ext := path.Ext(base); ext != base {
		base = strings.TrimSuffix(base, ext)
	}
	name := strings.Join(strings.FieldsFunc(base, func(r rune) bool { return r == '-' || r == '_' || unicode.IsSpace(r) }), " ")
	if name == "" {
		return base
	}
	r, n := utf8.DecodeRuneInString(name)
	return string(unicode.ToUpper(r)) + name[n:]
}
