package blobstore_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/storage/blobstore"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name    string
		problem string // "" for valid
	}{
		{"sunset.jpg", ""},
		{"landscapes/2024/sunset.jpg", ""},
		{"städte/Zürich – Nacht.jpg", ""},
		{"prod_PmFern0003.jpg", ""},
		{"a name with spaces & ünïcödé (1).jpg", ""},
		{strings.Repeat("a", 1024), ""},
		{strings.Repeat("ä", 1024), ""},
		{strings.Repeat("a/", 253) + "a", ""},
		{"", "empty"},
		{strings.Repeat("a", 1025), "longer than 1024"},
		{strings.Repeat("a/", 254) + "a", "more than 254 path segments"},
		{"/etc/passwd", "starts with /"},
		{"../secret.jpg", ". or .. path segment"},
		{"a/../../b.jpg", ". or .. path segment"},
		{"a/./b.jpg", ". or .. path segment"},
		{"a//b.jpg", "empty path segment"},
		{"dir/", "ends with / or ."},
		{"photo.", "ends with / or ."},
		{`a\b.jpg`, "backslash"},
		{"a\x00b.jpg", "control character"},
		{"a\nb.jpg", "control character"},
		{"a\u0085b.jpg", "control character"},
		{"a\xffb.jpg", "not UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name[:min(len(tt.name), 30)], func(t *testing.T) {
			err := blobstore.ValidateName(tt.name)
			if tt.problem == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, blobstore.ErrInvalidName)
			require.ErrorContains(t, err, tt.problem)
		})
	}
}

func TestContentDisposition(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sunset.jpg", `attachment; filename="sunset.jpg"`},
		{"Sunset over the harbour (1).jpg", `attachment; filename="Sunset over the harbour (1).jpg"`},
		{"Zürich – Nacht.jpg", `attachment; filename="Zurich - Nacht.jpg"; filename*=UTF-8''Z%C3%BCrich%20%E2%80%93%20Nacht.jpg`},
		{"東京.jpg", `attachment; filename="__.jpg"; filename*=UTF-8''%E6%9D%B1%E4%BA%AC.jpg`},
		{"Straße.png", `attachment; filename="Strasse.png"; filename*=UTF-8''Stra%C3%9Fe.png`},
		{`say "cheese".jpg`, `attachment; filename="say _cheese_.jpg"; filename*=UTF-8''say%20%22cheese%22.jpg`},
		{`back\slash.jpg`, `attachment; filename="back_slash.jpg"`},
		{"line\r\nbreak.jpg", `attachment; filename="linebreak.jpg"`},
		{"a/b.jpg", `attachment; filename="a_b.jpg"`},
		{"100%;x=1.jpg", `attachment; filename="100_;x=1.jpg"; filename*=UTF-8''100%25%3Bx%3D1.jpg`},
		{"   ", `attachment; filename="download"`},
		{"", `attachment; filename="download"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, blobstore.ContentDisposition(tt.in))
		})
	}
}
