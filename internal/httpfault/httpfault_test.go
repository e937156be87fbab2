package httpfault_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/httpfault"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	const def = time.Minute
	tests := []struct {
		name, value string
		want        time.Duration
	}{
		{"none", "", def},
		{"seconds", "30", 30 * time.Second},
		{"zero seconds", "0", time.Second},
		{"spaces", " 7 ", 7 * time.Second},
		{"an HTTP date", "Fri, 01 May 2026 10:02:00 GMT", 2 * time.Minute},
		{"a date past", "Fri, 01 May 2026 09:00:00 GMT", time.Second},
		{"a year", "31536000", httpfault.MaxRetryAfter},
		{"past int64", "99999999999999999999", def},
		{"negative", "-5", def},
		{"a fraction", "1.5", def},
		{"garbage", "soon", def},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			require.Equal(t, tt.want, httpfault.RetryAfter(h, now, def))
		})
	}
}

func TestWithoutURL(t *testing.T) {
	_, err := http.Get("http://127.0.0.1:1/hook?sig=S3cr3t")
	require.Error(t, err)
	require.Contains(t, err.Error(), "S3cr3t", "net/http quotes the URL")
	require.NotContains(t, httpfault.WithoutURL(err).Error(), "S3cr3t")
	other := errors.New("x")
	require.Equal(t, other, httpfault.WithoutURL(other))
}
