package retryafter_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/retryafter"
)

func TestParse(t *testing.T) {
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
		{"a year", "31536000", retryafter.Max},
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
			require.Equal(t, tt.want, retryafter.Parse(h, now, def))
		})
	}
}
