package cli

import (
	"context"
	"fmt"
	"log/slog"
)

// setup creates what the pipeline needs and is missing: every queue
// function's queue and poison queue. It is idempotent and says what it made.
func (p *pipeline) setup(ctx context.Context, log *slog.Logger) error {
	for _, fn := range p.app.QueueFunctions() {
		for _, name := range []string{fn.Queue, fn.PoisonQueue()} {
			if name == "" {
				continue
			}
			created, err := p.queues.Create(ctx, name)
			if err != nil {
				return fmt.Errorf("setup: %w", err)
			}
			if created {
				log.Info("created queue", "queue", name)
			}
		}
	}
	return nil
}
