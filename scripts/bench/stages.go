package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// stageCPU is what the stage phase measured: the CPU time of ProcessOrder
// and of SendLink, each alone in a handler local of its own, over the
// same orders.
type stageCPU struct {
	Orders, Mails int
	// ProcessOrder and SendLink are each process's CPU time from just
	// before the orders were queued to the last mail (its host emulator's
	// polling and dispatch included).
	ProcessOrder, SendLink time.Duration
	Elapsed                time.Duration
	Err                    string
}

// stagePhase measures the CPU per order of the two queue stages apart.
// Each runs alone in a handler local (--functions ProcessOrder, and
// --functions SendLink), both started and idle before the orders arrive.
// The orders' messages are then put on ProcessOrder's queue at once, as
// the webhook queues them, and each process's CPU time is read once the
// last mail is in the outbox. The webhook's own cost is section 2's.
func (b *bench) stagePhase(ctx context.Context, rep *report) error {
	n := b.o.stageOrders
	if n == 0 {
		return nil
	}
	b.step("then CPU per stage: %d orders through ProcessOrder and SendLink, each alone in a handler local", n)
	proc, _, err := startLocal(ctx, b.cs, b.o.handler, b.app, filepath.Join(b.logs, "local-processorder.log"), b.settings, "ProcessOrder")
	if err != nil {
		return err
	}
	defer b.cs.stop(proc, 10*time.Second)
	send, _, err := startLocal(ctx, b.cs, b.o.handler, b.app, filepath.Join(b.logs, "local-sendlink.log"), b.settings, "SendLink")
	if err != nil {
		return err
	}
	defer b.cs.stop(send, 10*time.Second)
	tag := fmt.Sprintf("stage%x", time.Now().Unix())
	procBefore, err1 := cpuTime(proc.pid())
	sendBefore, err2 := cpuTime(send.pid())
	if err1 != nil || err2 != nil {
		return fmt.Errorf("read the stages' CPU time: %v %v", err1, err2)
	}
	start := time.Now()
	s := stageCPU{Orders: n}
	for i := range n {
		if err := b.processOrder.Send(ctx, orderMessage(tag, i), 0); err != nil {
			return fmt.Errorf("queue order %d: %w", i, err)
		}
	}
	deadline := start.Add(time.Duration(n)*200*time.Millisecond + 30*time.Second)
	for i := 0; i < n; {
		if _, err := os.Stat(mailPath(b.outbox, enqueuedSession(tag, i))); err == nil {
			i++
			continue
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.Err = fmt.Sprintf("%d of %d mails arrived before the deadline", i, n)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Elapsed = time.Since(start)
	procAfter, err1 := cpuTime(proc.pid())
	sendAfter, err2 := cpuTime(send.pid())
	if err1 != nil || err2 != nil {
		return fmt.Errorf("read the stages' CPU time: %v %v", err1, err2)
	}
	s.ProcessOrder, s.SendLink = procAfter-procBefore, sendAfter-sendBefore
	for i := range n {
		if _, err := os.Stat(mailPath(b.outbox, enqueuedSession(tag, i))); err == nil {
			s.Mails++
		}
	}
	rep.stages = &s
	return nil
}

// markdown prints the stage phase's table.
func (s *stageCPU) markdown(p func(format string, args ...any), webhook time.Duration) {
	p("\n### CPU per order, by stage\n\n")
	p("%d orders' messages put on ProcessOrder's queue at once; ProcessOrder and SendLink each ran alone in a handler local of its own"+
		" (started and idle before), and each process's CPU time was read when the last mail was in the outbox (%s later; %d of %d mails)."+
		" Each figure includes that process's host emulator (queue polls, dispatch), which the Functions host does in Azure.\n\n",
		s.Orders, s.Elapsed.Round(time.Millisecond), s.Mails, s.Orders)
	p("| stage | CPU per order |\n|---|---:|\n")
	if webhook > 0 {
		p("| CheckoutComplete (serve mode, the median of section 2's levels) | %s |\n", ms(webhook))
	}
	p("| ProcessOrder (Stripe fetch, ledger, blob check, links, mail queued) | %s |\n", ms(s.ProcessOrder/time.Duration(s.Orders)))
	p("| SendLink (ledger, render, outbox) | %s |\n", ms(s.SendLink/time.Duration(s.Orders)))
	if webhook > 0 {
		p("| **all three** | **%s** |\n", ms(webhook+(s.ProcessOrder+s.SendLink)/time.Duration(s.Orders)))
	}
}
