package blobstore

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Blob-name limits of Azure Storage.
const (
	MaxNameLength   = 1024 // characters
	MaxNameSegments = 254  // path segments separated by /
)

// ErrInvalidName reports a blob name that ValidateName refuses.
var ErrInvalidName = errors.New("invalid blob name")

// ValidateName checks that name is a safe blob path inside the originals
// container: not empty, valid UTF-8, at most MaxNameLength characters and
// MaxNameSegments segments, no leading /, no trailing / or ., no empty, "."
// or ".." segment, no backslash, no control character. The error wraps
// ErrInvalidName and quotes the name.
func ValidateName(name string) error {
	problem := nameProblem(name)
	if problem == "" {
		return nil
	}
	return fmt.Errorf("%w %q: %s", ErrInvalidName, name, problem)
}

func nameProblem(name string) string {
	switch {
	case name == "":
		return "it is empty"
	case !utf8.ValidString(name):
		return "it is not UTF-8"
	case utf8.RuneCountInString(name) > MaxNameLength:
		return fmt.Sprintf("it is longer than %d characters", MaxNameLength)
	case strings.HasPrefix(name, "/"):
		return "it starts with /"
	case strings.HasSuffix(name, "/"), strings.HasSuffix(name, "."):
		return "it ends with / or ."
	case strings.ContainsRune(name, '\\'):
		return "it contains a backslash"
	case strings.ContainsFunc(name, unicode.IsControl):
		return "it contains a control character"
	}
	segs := strings.Split(name, "/")
	if len(segs) > MaxNameSegments {
		return fmt.Sprintf("it has more than %d path segments", MaxNameSegments)
	}
	for _, s := range segs {
		switch s {
		case "":
			return "it has an empty path segment (//)"
		case ".", "..":
			return "it has a . or .. path segment"
		}
	}
	return ""
}
