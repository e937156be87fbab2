package faulttest

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filedrop/filedrop/internal/mail"
	"github.com/filedrop/filedrop/internal/mail/acs"
	"github.com/filedrop/filedrop/internal/order"
)

// These tests check the harness itself; they run in every go test.

func TestPlanIsDeterministicAndShaped(t *testing.T) {
	sh := shape("unit", 100, 20*time.Second)
	a, b := newPlan(sh, rand.New(rand.NewPCG(7, 1))), newPlan(sh, rand.New(rand.NewPCG(7, 1)))
	require.Equal(t, len(a.sessions), len(b.sessions))
	for i := range a.sessions {
		require.Equal(t, *a.sessions[i], *b.sessions[i], "the same seed gives the same plan")
	}
	require.Equal(t, 100, a.count(kindPaid))
	require.Equal(t, 10, a.count(kindUnpaid))
	require.Equal(t, 10, a.count(kindFailed))
	require.Len(t, a.keys, 110, "one owed mail per paid and per failed session")

	events, twice, asyncFirst := 0, 0, 0
	for _, s := range a.sessions {
		require.True(t, order.ValidSessionID(s.id), s.id)
		require.NotEmpty(t, s.products)
		var types []string
		for _, st := range s.steps {
			if st.pay {
				continue
			}
			events++
			types = append(types, st.eventType)
			if st.dup != dupNone {
				twice++
			}
		}
		require.Contains(t, types, order.EventCompleted, "every session completes")
		if len(types) == 2 && types[0] != order.EventCompleted {
			asyncFirst++
		}
	}
	require.InDelta(t, 0.3, float64(twice)/float64(events), 0.1, "about 30%% of the events are delivered twice")
	require.Positive(t, asyncFirst, "some asynchronous events come before their completed")
	require.Equal(t, events+twice, a.deliveries())
}

// The fake ACS must behave as the real client expects of ACS: an accepted
// send is polled at its Operation-Location until it succeeds, a repeated
// Operation-Id is not a second mail, and the rate limit is a 429 that the
// client turns into order.Throttled with the fake's Retry-After.
func TestFakeACSAgainstTheRealClient(t *testing.T) {
	fake := startACS(t, acsFaults{limit: 2, window: time.Minute}, 1)
	// The client's pauses between polls pass at once.
	noPause := func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
	c, err := acs.NewWithKey(fake.URL, acsKey, &acs.Options{Sleep: noPause})
	require.NoError(t, err)
	msg := func(session string) mail.Message {
		return mail.Message{Key: order.MailKey(session, order.MailDownloadLinks, 1), Date: time.Now(),
			From: mail.Address{Email: "shop@filedrop.localhost"}, To: []mail.Address{{Email: session + "@customers.example"}},
			Subject: "Your downloads", Text: "https://127.0.0.1/devstoreaccount1/originals/a.jpg?sig=x\n"}
	}
	ctx := context.Background()

	r, err := c.Send(ctx, msg("cs_test_a"))
	require.NoError(t, err)
	require.Equal(t, mail.Receipt{OperationID: msg("cs_test_a").Key, Status: mail.Sent}, r)
	_, err = c.Send(ctx, msg("cs_test_a"))
	require.NoError(t, err, "a repeat is answered 409, which counts as sent")
	_, err = c.Send(ctx, msg("cs_test_b"))
	require.NoError(t, err)
	_, err = c.Send(ctx, msg("cs_test_c"))
	after, throttled := order.RetryAfter(err)
	require.True(t, throttled, "over the limit: %v", err)
	require.InDelta(t, time.Minute, after, float64(2*time.Second))

	st := fake.stats()
	require.Len(t, st.ops, 2, "two mails, whatever the repeats")
	require.Equal(t, 1, st.conflicts)
	require.Equal(t, 4, st.located, "each accepted send polled twice at its Operation-Location")
	require.Equal(t, 5, st.gets, "and the repeat looked up once")
	require.Equal(t, 1, st.limited429)
	require.Zero(t, st.authFailures)
	require.Equal(t, 2, maxInWindow(st.accepted, time.Minute))
}

func TestFakeACSRefusesABadSignature(t *testing.T) {
	var failed error
	fake := startACS(&recordingTB{TB: t, failed: &failed}, acsFaults{}, 1)
	c, err := acs.NewWithKey(fake.URL, "b3RoZXIta2V5", nil) // not the fake's key
	require.NoError(t, err)
	_, err = c.Send(context.Background(), mail.Message{Key: order.MailKey("cs_test_a", order.MailDownloadLinks, 1),
		From: mail.Address{Email: "shop@filedrop.localhost"}, To: []mail.Address{{Email: "a@customers.example"}}, Subject: "x"})
	require.Equal(t, order.ClassMisconfigured, order.Classify(err), "a refused key holds the order: %v", err)
	require.Error(t, failed, "the fake reports the bad signature")
	require.Equal(t, 1, fake.stats().authFailures)
}

// recordingTB keeps the first Errorf instead of failing the test.
type recordingTB struct {
	testing.TB
	failed *error
}

func (r *recordingTB) Errorf(format string, args ...any) {
	if *r.failed == nil {
		*r.failed = errors.New(format)
	}
}

func TestMaxInWindow(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(secs ...int) []time.Time {
		var out []time.Time
		for _, s := range secs {
			out = append(out, t0.Add(time.Duration(s)*time.Second))
		}
		return out
	}
	require.Equal(t, 0, maxInWindow(nil, time.Minute))
	require.Equal(t, 3, maxInWindow(at(0, 1, 2, 60, 61), time.Minute))
	require.Equal(t, 2, maxInWindow(at(0, 59, 119), time.Minute))
}

func TestTrapHoldsUntilReleased(t *testing.T) {
	var tp trap
	tp.spring("nothing armed") // returns at once
	caught, release := tp.arm()
	done := make(chan struct{})
	go func() { tp.spring("a call"); close(done) }()
	require.Equal(t, "a call", <-caught)
	select {
	case <-done:
		t.Fatal("the call went on before the release")
	case <-time.After(50 * time.Millisecond):
	}
	release()
	<-done
	tp.spring("disarmed again") // returns at once
}
