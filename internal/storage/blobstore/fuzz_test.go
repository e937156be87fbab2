package blobstore_test

import (
	"mime"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/storage/blobstore"
)

// FuzzContentDisposition checks that any file name gives a header value of
// printable ASCII that parses back with mime.ParseMediaType as an
// attachment whose file name is not empty, not . or .., holds no path
// separator and no control character, and is the name given once those are
// removed (cleaned). The seeds are in testdata/fuzz/FuzzContentDisposition.
func FuzzContentDisposition(f *testing.F) {
	f.Fuzz(func(t *testing.T, fileName string) {
		cd := blobstore.ContentDisposition(fileName)
		for i := 0; i < len(cd); i++ {
			require.True(t, cd[i] >= ' ' && cd[i] <= '~', "byte %d of %q", i, cd)
		}
		mediaType, params, err := mime.ParseMediaType(cd)
		require.NoError(t, err, "%q", cd)
		require.Equal(t, "attachment", mediaType)
		name := params["filename"]
		require.NotContains(t, []string{"", ".", ".."}, name, "%q", cd)
		require.True(t, utf8.ValidString(name))
		require.False(t, strings.ContainsAny(name, `/\`), "%q", name)
		require.False(t, strings.ContainsFunc(name, unicode.IsControl), "%q", name)
		require.Equal(t, strings.TrimSpace(name), name)
		require.Equal(t, cleaned(fileName), name, "%q", cd)
	})
}

// cleaned is the file name a download is given, as ContentDisposition's
// documentation states it: control characters and bytes that are not UTF-8
// dropped, / and \ replaced by _, spaces trimmed; "download" when nothing,
// . or .. is left.
func cleaned(fileName string) string {
	var b strings.Builder
	for _, r := range fileName {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r):
		case r == '/', r == '\\':
			b.WriteByte('_')
		default:
			b.WriteRune(r)
		}
	}
	switch s := strings.TrimSpace(b.String()); s {
	case "", ".", "..":
		return "download"
	default:
		return s
	}
}
