package blobstore

import (
	"net/url"
	"path"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// FuzzValidateName checks that every name ValidateName accepts stays inside
// the container: the name has no empty, . or .. segment, no leading /, no
// backslash, no control character and is UTF-8; and the link path Link
// builds from it (escapePath) decodes back to exactly /originals/name,
// which path cleaning leaves as it is. The seeds are in
// testdata/fuzz/FuzzValidateName.
func FuzzValidateName(f *testing.F) {
	const prefix = "https://acct.blob.core.windows.net/originals"
	f.Fuzz(func(t *testing.T, name string) {
		if ValidateName(name) != nil {
			return
		}
		require.True(t, utf8.ValidString(name))
		require.False(t, strings.HasPrefix(name, "/"))
		require.NotContains(t, name, `\`)
		require.False(t, strings.ContainsFunc(name, unicode.IsControl))
		for _, seg := range strings.Split(name, "/") {
			require.NotContains(t, []string{"", ".", ".."}, seg)
		}

		u, err := url.Parse(prefix + "/" + escapePath(name))
		require.NoError(t, err)
		require.Equal(t, "acct.blob.core.windows.net", u.Host)
		require.Empty(t, u.RawQuery, "the name cannot start a query")
		require.Empty(t, u.Fragment, "the name cannot start a fragment")
		require.Equal(t, "/originals/"+name, u.Path)
		require.Equal(t, u.Path, path.Clean(u.Path), "path cleaning cannot climb out")
		escaped, ok := strings.CutPrefix(u.EscapedPath(), "/originals/")
		require.True(t, ok, "escaped path %q", u.EscapedPath())
		for _, seg := range strings.Split(escaped, "/") {
			plain, err := url.PathUnescape(seg)
			require.NoError(t, err)
			require.NotContains(t, []string{"", ".", ".."}, plain, "segment %q", seg)
			require.NotContains(t, plain, "/", "an escaped segment cannot hold a slash")
		}
	})
}
