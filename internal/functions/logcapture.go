package functions

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// MaxLogLines bounds the lines an invocation returns in Logs.
const MaxLogLines = 100

// lineCollector gathers an invocation's log lines for the host's Logs.
type lineCollector struct {
	mu    sync.Mutex
	lines []string
}

func (c *lineCollector) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.lines) < MaxLogLines {
		c.lines = append(c.lines, s)
	}
}

func (c *lineCollector) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// teeHandler passes every record to next and writes a one-line copy of it
// (level, message, attributes) to a lineCollector.
type teeHandler struct {
	next  slog.Handler
	lines *lineCollector
	attrs []slog.Attr
	group string
}

func (h *teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	write := func(a slog.Attr) bool {
		a.Value = a.Value.Resolve()
		if a.Equal(slog.Attr{}) {
			return true
		}
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		fmt.Fprintf(&b, " %s=%v", key, a.Value)
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	h.lines.add(b.String())
	return h.next.Handle(ctx, r)
}

func (h *teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(as)
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &c
}

func (h *teeHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

// invocationLogger returns a logger that logs through base and collects
// its lines, and the collector.
func invocationLogger(base *slog.Logger, attrs ...any) (*slog.Logger, *lineCollector) {
	lines := &lineCollector{}
	return slog.New(&teeHandler{next: base.Handler(), lines: lines}).With(attrs...), lines
}
