package executor_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/automators/connectors/internal/executor"
)

// TestExactlyOnce covers the idempotency key: a repeat returns the
// recorded result without calling the provider.
func TestExactlyOnce(t *testing.T) {
	t.Run("same input twice", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		input := withConn("stripe", stripeParams)(e)
		first, err := e.exec.Execute(t.Context(), input)
		if err != nil {
			t.Fatal(err)
		}
		second, err := e.exec.Execute(t.Context(), input)
		if err != nil {
			t.Fatal(err)
		}
		if n := e.stripe.count(); n != 1 {
			t.Errorf("provider called %d times, want 1", n)
		}
		// Equal as Step Functions sees them, 64-bit numbers included.
		if a, b := mustJSON(t, first), mustJSON(t, second); a != b {
			t.Errorf("replayed output differs:\nfirst  %s\nsecond %s", a, b)
		}
	})

	t.Run("custom idempotencyKey", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		input := withConn("stripe", stripeParams)(e)
		input.IdempotencyKey = "order-4711"
		if _, err := e.exec.Execute(t.Context(), input); err != nil {
			t.Fatal(err)
		}
		if got, want := e.stripe.calls()[0].Header.Get("Idempotency-Key"), input.Key(); got != want {
			t.Errorf("Idempotency-Key %q, want %q", got, want)
		}
		// Another execution and node with the same key is the same write.
		other := in(org, user, "integration.stripe.create_customer", stripeParams())
		other.ExecutionID, other.IdempotencyKey = "another-execution", "order-4711"
		if _, err := e.exec.Execute(t.Context(), other); err != nil {
			t.Fatal(err)
		}
		if n := e.stripe.count(); n != 1 {
			t.Errorf("provider called %d times for one idempotencyKey, want 1", n)
		}
		// A different key is a different write.
		other.IdempotencyKey = "order-4712"
		if _, err := e.exec.Execute(t.Context(), other); err != nil {
			t.Fatal(err)
		}
		if n := e.stripe.count(); n != 2 {
			t.Errorf("provider called %d times for two keys, want 2", n)
		}
	})

	t.Run("keys are scoped by organization", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		a := withConn("stripe", stripeParams)(e)
		e.nangoConn("org-other", user, "stripe")
		b := a
		b.OrganizationID = "org-other"
		for _, x := range []executor.Input{a, b, a, b} {
			if _, err := e.exec.Execute(t.Context(), x); err != nil {
				t.Fatalf("%s: %v", x.OrganizationID, err)
			}
		}
		calls := e.stripe.calls()
		if len(calls) != 2 {
			t.Fatalf("provider called %d times, want 2 (one per organization)", len(calls))
		}
		if calls[0].Header.Get("Idempotency-Key") == calls[1].Header.Get("Idempotency-Key") {
			t.Errorf("both organizations sent Idempotency-Key %q", calls[0].Header.Get("Idempotency-Key"))
		}
	})

	t.Run("a retryable failure releases the key", func(t *testing.T) {
		e := newEnv(t, envOptions{})
		e.stripe.set(sequence(answer(503, `{"error":{"message":"try later"}}`), answer(200, stripeOK)))
		input := withConn("stripe", stripeParams)(e)
		_, err := e.exec.Execute(t.Context(), input)
		if xe := errName(t, err); xe.Name != executor.NameProviderUnavailable || !xe.Retryable() {
			t.Fatalf("first: %s, want a retryable ProviderUnavailable", xe.Name)
		}
		out, err := e.exec.Execute(t.Context(), input) // Step Functions' retry
		if err != nil {
			t.Fatalf("retry: %v", err)
		}
		if n := e.stripe.count(); n != 2 || out.Output["id"] != "cus_NffrFeUfNV2Hib" {
			t.Errorf("provider called %d times (want 2), output %v", n, out.Output)
		}
		if _, err := e.exec.Execute(t.Context(), input); err != nil || e.stripe.count() != 2 {
			t.Errorf("third run: %v, provider calls %d (want still 2)", err, e.stripe.count())
		}
	})
}

// TestConcurrentInvocations: ten invocations of one input at once make one
// provider call; the others return the recorded result or a retryable
// ProviderUnavailable.
func TestConcurrentInvocations(t *testing.T) {
	for _, dynamo := range []bool{false, true} {
		for _, wait := range []time.Duration{50 * time.Millisecond, 3 * time.Second} {
			name := "bolt"
			if dynamo {
				name = "dynamodb"
			}
			t.Run(name+"/wait "+wait.String(), func(t *testing.T) { concurrentRun(t, envOptions{dynamo: dynamo, wait: wait}) })
		}
	}
}

func concurrentRun(t *testing.T, opts envOptions) {
	wait := opts.wait
	e := newEnv(t, opts)
	release := make(chan struct{})
	e.stripe.set(func(w http.ResponseWriter, r *http.Request) {
		<-release
		answer(200, stripeOK)(w, r)
	})
	input := withConn("stripe", stripeParams)(e)

	const n = 10
	outs := make([]executor.Output, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { outs[i], errs[i] = e.exec.Execute(t.Context(), input) })
	}
	// Let the holder reach the provider and the others queue up.
	deadline := time.Now().Add(5 * time.Second)
	for e.stripe.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	close(release)
	wg.Wait()

	if c := e.stripe.count(); c != 1 {
		t.Fatalf("provider called %d times, want exactly 1", c)
	}
	var ok, busy int
	var want string
	for i := range n {
		switch err := errs[i]; {
		case err == nil:
			ok++
			got := mustJSON(t, outs[i])
			if want == "" {
				want = got
			} else if got != want {
				t.Errorf("invocation %d answered %s, another %s", i, got, want)
			}
		default:
			xe := errName(t, err)
			if xe.Name != executor.NameProviderUnavailable || !xe.Retryable() {
				t.Errorf("invocation %d: %s (%s), want a retryable ProviderUnavailable", i, xe.Name, xe.Message)
			}
			busy++
		}
	}
	if ok < 1 {
		t.Errorf("no invocation succeeded")
	}
	if wait > time.Second && busy != 0 {
		t.Errorf("%d invocations gave up although they could wait %v", busy, wait)
	}
	if wait < 100*time.Millisecond && busy == 0 {
		t.Errorf("every invocation waited past its %v", wait)
	}
	t.Logf("%d returned the result, %d were told to retry", ok, busy)

	// Step Functions' retry of a busy one gets the recorded result.
	out, err := e.exec.Execute(t.Context(), input)
	if err != nil || mustJSON(t, out) != want || e.stripe.count() != 1 {
		t.Errorf("retry after the holder finished: %v, %d provider calls", err, e.stripe.count())
	}
}

// TestWaitIsBoundedWithAFrozenClock: a duplicate invocation gives up after
// Deps.Wait even when the injected clock does not move.
func TestWaitIsBoundedWithAFrozenClock(t *testing.T) {
	clk := newClock()
	e := newEnv(t, envOptions{clock: clk, wait: 100 * time.Millisecond})
	input := withConn("stripe", stripeParams)(e)
	key := input.Key()
	if _, err := e.store.BeginIdempotent(t.Context(), key, "another-invocation", time.Minute); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := e.exec.Execute(t.Context(), input)
	if xe := errName(t, err); xe.Name != executor.NameProviderUnavailable {
		t.Errorf("error %s, want ProviderUnavailable", xe.Name)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("waited %v for a key held elsewhere, Wait is 100ms", d)
	}
	if e.stripe.count() != 0 {
		t.Errorf("the provider was called while another invocation held the key")
	}
}

// TestLongKeysFitTheProvider: a key longer than Stripe's 255-character
// Idempotency-Key is sent as a stable digest, the same on every retry.
func TestLongKeysFitTheProvider(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.stripe.set(sequence(answer(503, `{}`), answer(200, stripeOK)))
	input := withConn("stripe", stripeParams)(e)
	input.ExecutionID = "arn:aws:states:us-east-1:123456789012:execution:" + strings.Repeat("w", 80) + ":" + strings.Repeat("e", 80)
	input.NodeID = "node-" + strings.Repeat("n", 60)
	if _, err := e.exec.Execute(t.Context(), input); err == nil {
		t.Fatal("first attempt did not fail")
	}
	if _, err := e.exec.Execute(t.Context(), input); err != nil {
		t.Fatalf("retry: %v", err)
	}
	calls := e.stripe.calls()
	if len(calls) != 2 {
		t.Fatalf("%d provider calls", len(calls))
	}
	k1, k2 := calls[0].Header.Get("Idempotency-Key"), calls[1].Header.Get("Idempotency-Key")
	if k1 == "" || len(k1) > 255 || k1 != k2 {
		t.Errorf("Idempotency-Key %q (%d chars) then %q", k1, len(k1), k2)
	}
	// A different node gets a different key.
	other := input
	other.NodeID += "x"
	if _, err := e.exec.Execute(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if k3 := e.stripe.calls()[2].Header.Get("Idempotency-Key"); k3 == k1 {
		t.Errorf("two nodes share Idempotency-Key %q", k3)
	}
}
