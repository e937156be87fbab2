// Package ncrontab reads the six-field NCRONTAB schedules of Azure
// Functions timer triggers ("{second} {minute} {hour} {day} {month}
// {day-of-week}", such as "0 */15 * * * *") and tells when one next falls
// due. It knows the subset the app's schedules use: *, numbers, ranges
// (a-b), lists (a,b) and steps (*/n, a-b/n, a/n). Month and day names are
// not supported. Times are in UTC, as the host's are unless WEBSITE_TIME_ZONE
// says otherwise.
package ncrontab

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed schedule.
type Schedule struct {
	text                                   string
	second, minute, hour, day, month, week []bool
	// anyDay, anyWeek: the day and day-of-week fields are *; when both are
	// restricted, a time matching either falls due (as in cron).
	anyDay, anyWeek bool
}

// field is one of a schedule's six fields and its range.
type field struct {
	name     string
	lo, hi   int
	dst      *[]bool
	wildcard *bool
}

// Parse reads a six-field schedule.
func Parse(text string) (*Schedule, error) {
	parts := strings.Fields(text)
	if len(parts) != 6 {
		return nil, fmt.Errorf("schedule %q has %d fields; want 6: second minute hour day month day-of-week, such as \"0 */15 * * * *\"", text, len(parts))
	}
	s := &Schedule{text: strings.Join(parts, " ")}
	var anySec, anyMin, anyHour, anyMonth bool
	fields := []field{
		{"second", 0, 59, &s.second, &anySec},
		{"minute", 0, 59, &s.minute, &anyMin},
		{"hour", 0, 23, &s.hour, &anyHour},
		{"day", 1, 31, &s.day, &s.anyDay},
		{"month", 1, 12, &s.month, &anyMonth},
		{"day-of-week", 0, 6, &s.week, &s.anyWeek},
	}
	for i, f := range fields {
		set, wildcard, err := parseField(parts[i], f.lo, f.hi)
		if err != nil {
			return nil, fmt.Errorf("schedule %q: %s field: %w", text, f.name, err)
		}
		*f.dst, *f.wildcard = set, wildcard
	}
	return s, nil
}

// parseField reads one field into the set of the values it allows.
func parseField(text string, lo, hi int) (set []bool, wildcard bool, err error) {
	set = make([]bool, hi+1)
	for _, item := range strings.Split(text, ",") {
		rng, stepText, stepped := strings.Cut(item, "/")
		step := 1
		if stepped {
			if step, err = strconv.Atoi(stepText); err != nil || step < 1 {
				return nil, false, fmt.Errorf("step %q is not a positive number", stepText)
			}
		}
		from, to := lo, hi
		switch {
		case rng == "*":
			wildcard = wildcard || !stepped
		case strings.Contains(rng, "-"):
			a, b, _ := strings.Cut(rng, "-")
			if from, err = number(a, lo, hi); err == nil {
				to, err = number(b, lo, hi)
			}
			if err == nil && to < from {
				err = fmt.Errorf("range %q runs backwards", rng)
			}
		default:
			from, err = number(rng, lo, hi)
			if !stepped {
				to = from
			}
		}
		if err != nil {
			return nil, false, err
		}
		for v := from; v <= to; v += step {
			set[v] = true
		}
	}
	return set, wildcard, nil
}

func number(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%q is not a number from %d to %d", s, lo, hi)
	}
	return n, nil
}

// String returns the schedule as parsed.
func (s *Schedule) String() string { return s.text }

// maxSteps bounds Next's search: enough for any schedule that falls due at
// all within a few years (the 29th of February, say).
const maxSteps = 100_000

// Next returns the first time after t (to the second, in UTC) that the
// schedule falls due, or the zero time when it never does (the 31st of
// February).
func (s *Schedule) Next(t time.Time) time.Time {
	t = t.UTC().Truncate(time.Second).Add(time.Second)
	for range maxSteps {
		switch {
		case !s.month[int(t.Month())]:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		case !s.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
		case !s.hour[t.Hour()]:
			t = t.Truncate(time.Hour).Add(time.Hour)
		case !s.minute[t.Minute()]:
			t = t.Truncate(time.Minute).Add(time.Minute)
		case !s.second[t.Second()]:
			t = t.Add(time.Second)
		default:
			return t
		}
	}
	return time.Time{}
}

func (s *Schedule) dayMatches(t time.Time) bool {
	day, week := s.day[t.Day()], s.week[int(t.Weekday())]
	switch {
	case s.anyDay && s.anyWeek:
		return true
	case s.anyDay:
		return week
	case s.anyWeek:
		return day
	}
	return day || week
}
