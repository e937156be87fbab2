package delivery_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/delivery"
)

func TestBudgetFor(t *testing.T) {
	const acsAttempt = 40 * time.Second // acs: a send and its lookup, 20s each
	tests := []struct {
		name            string
		functionTimeout time.Duration
		want            delivery.Budget
		minStep         time.Duration
		wantErr         string
	}{
		{name: "5 min (today's host.json)", functionTimeout: 5 * time.Minute,
			want: delivery.Budget{Invocation: 2 * time.Minute, Step: 100 * time.Second, Lease: 150 * time.Second}, minStep: acsAttempt},
		{name: "10 min: capped", functionTimeout: 10 * time.Minute,
			want: delivery.Budget{Invocation: 2 * time.Minute, Step: 100 * time.Second, Lease: 150 * time.Second}, minStep: acsAttempt},
		{name: "unlimited (-1)", functionTimeout: 0,
			want: delivery.Budget{Invocation: 2 * time.Minute, Step: 100 * time.Second, Lease: 150 * time.Second}, minStep: acsAttempt},
		{name: "1 min: too short for ACS", functionTimeout: time.Minute,
			want: delivery.Budget{Invocation: 48 * time.Second, Step: 28 * time.Second, Lease: 78 * time.Second}, minStep: acsAttempt,
			wantErr: "a step may take 28s but needs at least 40s"},
		{name: "1 min: enough for the outbox", functionTimeout: time.Minute,
			want: delivery.Budget{Invocation: 48 * time.Second, Step: 28 * time.Second, Lease: 78 * time.Second}},
		{name: "30 s: too short for ACS", functionTimeout: 30 * time.Second,
			want: delivery.Budget{Invocation: 24 * time.Second, Step: 4 * time.Second, Lease: 54 * time.Second}, minStep: acsAttempt,
			wantErr: "a step may take 4s but needs at least 40s"},
		{name: "20 s: no step at all", functionTimeout: 20 * time.Second,
			want:    delivery.Budget{Invocation: 16 * time.Second, Step: -4 * time.Second, Lease: 46 * time.Second},
			wantErr: "a step may take -4s but needs at least 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := delivery.BudgetFor(tt.functionTimeout)
			require.Equal(t, tt.want, b)
			err := b.Validate(tt.minStep)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, delivery.ErrBudget)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestBudgetValidate(t *testing.T) {
	ok := delivery.BudgetFor(5 * time.Minute)
	tests := []struct {
		name    string
		edit    func(b *delivery.Budget)
		wantErr string
	}{
		{name: "derived", edit: func(*delivery.Budget) {}},
		{name: "lease as long as the invocation", edit: func(b *delivery.Budget) { b.Lease = b.Invocation },
			wantErr: "a lease of 2m0s is not longer than a 2m0s invocation"},
		{name: "step leaves no time to record", edit: func(b *delivery.Budget) { b.Step = b.Invocation },
			wantErr: "leaves less than 20s of a 2m0s invocation"},
		{name: "zero", edit: func(b *delivery.Budget) { *b = delivery.Budget{} }, wantErr: "a step may take 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := ok
			tt.edit(&b)
			err := b.Validate(0)
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestMinFunctionTimeout(t *testing.T) {
	for _, step := range []time.Duration{0, time.Second, 40 * time.Second, 60 * time.Second, 61500 * time.Millisecond} {
		d := delivery.MinFunctionTimeout(step)
		require.Zero(t, d%time.Second, "whole seconds")
		require.NoError(t, delivery.BudgetFor(d).Validate(step), "%s is enough for %s", d, step)
		require.Error(t, delivery.BudgetFor(d-time.Second).Validate(step), "%s is not enough for %s", d-time.Second, step)
	}
	require.Equal(t, 75*time.Second, delivery.MinFunctionTimeout(40*time.Second))
}
