package ncrontab_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/ncrontab"
)

func TestNext(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return v
	}
	tests := []struct {
		schedule, after string
		want            []string // the next few times, in turn
	}{
		{"0 */15 * * * *", "2025-03-14T09:07:12Z", []string{"2025-03-14T09:15:00Z", "2025-03-14T09:30:00Z", "2025-03-14T09:45:00Z", "2025-03-14T10:00:00Z"}},
		{"0 */15 * * * *", "2025-03-14T09:15:00Z", []string{"2025-03-14T09:30:00Z"}},
		{"*/10 * * * * *", "2025-03-14T09:00:55Z", []string{"2025-03-14T09:01:00Z", "2025-03-14T09:01:10Z"}},
		{"0 0 * * * *", "2025-12-31T23:30:00Z", []string{"2026-01-01T00:00:00Z"}},
		{"30 5 9-10 * * 1-5", "2025-03-14T10:06:00Z", []string{"2025-03-17T09:05:30Z", "2025-03-17T10:05:30Z"}}, // Friday, then Monday
		{"0 0 12 29 2 *", "2025-01-01T00:00:00Z", []string{"2028-02-29T12:00:00Z"}},
		{"0 0,30 8 * * *", "2025-03-14T08:10:00Z", []string{"2025-03-14T08:30:00Z", "2025-03-15T08:00:00Z"}},
		{"5/20 * * * * *", "2025-03-14T08:00:00Z", []string{"2025-03-14T08:00:05Z", "2025-03-14T08:00:25Z", "2025-03-14T08:00:45Z", "2025-03-14T08:01:05Z"}},
		{"0 0 0 1 * 0", "2025-03-14T00:00:00Z", []string{"2025-03-16T00:00:00Z", "2025-03-23T00:00:00Z"}}, // day or day-of-week
		{"0 0 0 31 2 *", "2025-03-14T00:00:00Z", []string{"0001-01-01T00:00:00Z"}},                        // never
	}
	for _, tt := range tests {
		t.Run(tt.schedule+" after "+tt.after, func(t *testing.T) {
			s, err := ncrontab.Parse(tt.schedule)
			require.NoError(t, err)
			next := at(tt.after)
			for _, w := range tt.want {
				next = s.Next(next)
				require.Equal(t, at(w), next)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct{ schedule, want string }{
		{"*/15 * * * *", "has 5 fields; want 6"},
		{"0 */0 * * * *", "minute field: step"},
		{"60 * * * * *", "second field: \"60\" is not a number from 0 to 59"},
		{"0 0 5-3 * * *", "runs backwards"},
		{"0 0 0 * JAN *", "month field"},
		{"0 0 0 0 * *", "day field"},
	}
	for _, tt := range tests {
		t.Run(tt.schedule, func(t *testing.T) {
			_, err := ncrontab.Parse(tt.schedule)
			require.ErrorContains(t, err, tt.want)
		})
	}
}
