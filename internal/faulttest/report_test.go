package faulttest

import (
	"fmt"
	"io"
	"strings"
)

// row is one line of the report: a check with its expected and actual
// value, or (want == "") a figure shown for information.
type row struct {
	check     string
	want, got string
	ok        bool
}

// report is the table a phase prints at its end.
type report struct {
	title string
	rows  []row
	notes []string
}

// expect adds a check that got equals want.
func (rep *report) expect(check string, want, got int) {
	rep.rows = append(rep.rows, row{check: check, want: fmt.Sprint(want), got: fmt.Sprint(got), ok: want == got})
}

// expectThat adds a check whose test is ok; want describes it.
func (rep *report) expectThat(check, want, got string, ok bool) {
	rep.rows = append(rep.rows, row{check: check, want: want, got: got, ok: ok})
}

// info adds a figure that is not checked.
func (rep *report) info(check, got string, args ...any) {
	rep.rows = append(rep.rows, row{check: check, got: fmt.Sprintf(got, args...), ok: true})
}

// note adds a line under the table (details of a mismatch).
func (rep *report) note(format string, args ...any) {
	rep.notes = append(rep.notes, fmt.Sprintf(format, args...))
}

// mismatches returns the checks that failed.
func (rep *report) mismatches() []string {
	var out []string
	for _, r := range rep.rows {
		if !r.ok {
			out = append(out, fmt.Sprintf("%s: expected %s, got %s", r.check, r.want, r.got))
		}
	}
	return out
}

func (rep *report) print(w io.Writer) { _, _ = io.WriteString(w, rep.String()) }

func (rep *report) String() string {
	var b strings.Builder
	width := len("check")
	for _, r := range rep.rows {
		width = max(width, len(r.check))
	}
	fmt.Fprintf(&b, "\n%s\n", rep.title)
	fmt.Fprintf(&b, "%-*s  %10s  %10s\n", width, "check", "expected", "actual")
	for _, r := range rep.rows {
		mark := ""
		if !r.ok {
			mark = "  MISMATCH"
		}
		want := r.want
		if want == "" {
			want = "-"
		}
		fmt.Fprintf(&b, "%-*s  %10s  %10s%s\n", width, r.check, want, r.got, mark)
	}
	for _, n := range rep.notes {
		fmt.Fprintf(&b, "  %s\n", n)
	}
	if m := rep.mismatches(); len(m) > 0 {
		fmt.Fprintf(&b, "RESULT: %d mismatches\n", len(m))
	} else {
		fmt.Fprintf(&b, "RESULT: every check passed\n")
	}
	return b.String()
}
