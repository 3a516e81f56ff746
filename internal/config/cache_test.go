package config

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSource returns Secrets{StateSigningKey: "v<n>"} on its n-th read, or
// err when set. When gate is set, each read waits for it.
type fakeSource struct {
	mu    sync.Mutex
	reads int
	err   error
	gate  chan struct{}
}

func (f *fakeSource) LoadSecrets(ctx context.Context) (Secrets, error) {
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return Secrets{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.err != nil {
		return Secrets{}, f.err
	}
	return Secrets{StateSigningKey: "v" + string(rune('0'+f.reads)), NangoWebhookSigningKeys: []string{"k"}}, nil
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var errSource = errors.New("source down")

func TestCachedSecrets(t *testing.T) {
	type step struct {
		advance    time.Duration
		invalidate bool
		fail       bool   // the source fails from this step on (until a step clears it)
		want       string // StateSigningKey wanted; "" wants errSource
		wantReads  int    // source reads so far
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"read once, then cached", []step{
			{want: "v1", wantReads: 1},
			{advance: time.Minute, want: "v1", wantReads: 1},
			{advance: 3 * time.Minute, want: "v1", wantReads: 1},
		}},
		{"re-read after the TTL", []step{
			{want: "v1", wantReads: 1},
			{advance: 5*time.Minute - time.Second, want: "v1", wantReads: 1},
			{advance: time.Second, want: "v2", wantReads: 2},
			{advance: time.Minute, want: "v2", wantReads: 2},
		}},
		{"invalidate re-reads at once", []step{
			{want: "v1", wantReads: 1},
			{advance: time.Minute, invalidate: true, want: "v2", wantReads: 2},
			{want: "v2", wantReads: 2},
		}},
		{"invalidate right after a read waits MinReload", []step{
			{want: "v1", wantReads: 1},
			{advance: time.Second, invalidate: true, want: "v1", wantReads: 1},
			{invalidate: true, want: "v1", wantReads: 1},
			{advance: 9 * time.Second, want: "v2", wantReads: 2},
		}},
		{"failure without secrets is returned and retried", []step{
			{fail: true, want: "", wantReads: 1},
			{fail: true, want: "", wantReads: 2},
			{want: "v3", wantReads: 3},
		}},
		{"failed re-read keeps the old secrets and backs off", []step{
			{want: "v1", wantReads: 1},
			{advance: 5 * time.Minute, fail: true, want: "v1", wantReads: 2},
			{advance: 5 * time.Second, fail: true, want: "v1", wantReads: 2},
			{advance: 5 * time.Second, fail: true, want: "v1", wantReads: 3},
			{advance: 10 * time.Second, want: "v4", wantReads: 4},
		}},
		{"failed re-read after invalidate keeps the old secrets", []step{
			{want: "v1", wantReads: 1},
			{advance: time.Minute, invalidate: true, fail: true, want: "v1", wantReads: 2},
			{advance: 10 * time.Second, want: "v3", wantReads: 3},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &fakeSource{}
			clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
			c := NewCachedSecrets(src, CacheOptions{Now: clock.Now})
			for i, st := range tt.steps {
				clock.Advance(st.advance)
				if st.invalidate {
					c.Invalidate()
				}
				src.mu.Lock()
				src.err = nil
				if st.fail {
					src.err = errSource
				}
				src.mu.Unlock()

				got, err := c.LoadSecrets(t.Context())
				switch {
				case st.want == "" && !errors.Is(err, errSource):
					t.Fatalf("step %d: err = %v, want errSource", i, err)
				case st.want != "" && (err != nil || got.StateSigningKey != st.want):
					t.Fatalf("step %d: got %q, %v; want %q", i, got.StateSigningKey, err, st.want)
				}
				if src.reads != st.wantReads {
					t.Fatalf("step %d: %d reads, want %d", i, src.reads, st.wantReads)
				}
			}
		})
	}
}

func TestCachedSecretsSharesOneRead(t *testing.T) {
	src := &fakeSource{gate: make(chan struct{})}
	c := NewCachedSecrets(src, CacheOptions{})
	const callers = 50
	var wg sync.WaitGroup
	var bad atomic.Int32
	for range callers {
		wg.Go(func() {
			if s, err := c.LoadSecrets(t.Context()); err != nil || s.StateSigningKey != "v1" {
				bad.Add(1)
			}
		})
	}
	time.Sleep(50 * time.Millisecond) // let the callers pile up on the one read
	close(src.gate)
	wg.Wait()
	if src.reads != 1 || bad.Load() != 0 {
		t.Fatalf("%d reads and %d bad results, want 1 and 0", src.reads, bad.Load())
	}
}

func TestCachedSecretsCallerGivesUp(t *testing.T) {
	src := &fakeSource{gate: make(chan struct{})}
	c := NewCachedSecrets(src, CacheOptions{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.LoadSecrets(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The read goes on for the next caller, detached from the one that left.
	close(src.gate)
	s, err := c.LoadSecrets(t.Context())
	if err != nil || s.StateSigningKey != "v1" || src.reads != 1 {
		t.Fatalf("got %q, %v after %d reads; want v1 after 1", s.StateSigningKey, err, src.reads)
	}
}

func TestCachedSecretsReturnsCopies(t *testing.T) {
	c := NewCachedSecrets(&fakeSource{}, CacheOptions{})
	s, _ := c.LoadSecrets(t.Context())
	s.NangoWebhookSigningKeys[0] = "changed"
	s2, _ := c.LoadSecrets(t.Context())
	if s2.NangoWebhookSigningKeys[0] != "k" {
		t.Fatal("a caller changed the cached secrets")
	}
}

func TestEnvSource(t *testing.T) {
	src := EnvSource{Getenv: env(map[string]string{"STATE_SIGNING_KEY": "s"})}
	s, err := src.LoadSecrets(t.Context())
	if err != nil || s.StateSigningKey != "s" {
		t.Fatalf("LoadSecrets = %v, %v", s, err)
	}
}
