package config

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// SecretsSource loads the secrets from where they are kept.
type SecretsSource interface {
	LoadSecrets(ctx context.Context) (Secrets, error)
}

// EnvSource loads the secrets from environment variables (SecretsFromEnv):
// the local form.
type EnvSource struct {
	Getenv func(string) string // nil means os.Getenv
}

// LoadSecrets implements SecretsSource.
func (s EnvSource) LoadSecrets(ctx context.Context) (Secrets, error) {
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	return SecretsFromEnv(getenv)
}

// Cache defaults.
const (
	// DefaultSecretsTTL is how long loaded secrets are used before a re-read,
	// so that a rotation reaches every warm container within minutes.
	DefaultSecretsTTL = 5 * time.Minute
	// DefaultMinReload is the least time between two reads. It keeps a flood
	// of requests with bad signatures, each calling Invalidate, from becoming
	// a flood of Secrets Manager calls.
	DefaultMinReload = 10 * time.Second
	// loadTimeout bounds a shared read: it runs detached from the caller that
	// started it, since other callers wait for it too.
	loadTimeout = 30 * time.Second
)

// CacheOptions tunes a CachedSecrets. The zero value gives the defaults.
type CacheOptions struct {
	TTL       time.Duration    // default DefaultSecretsTTL
	MinReload time.Duration    // default DefaultMinReload
	Now       func() time.Time // default time.Now; tests inject a clock
	Logger    *slog.Logger     // told when a re-read fails and old secrets are kept; default none
}

// CachedSecrets wraps a SecretsSource: it reads once per cold start, keeps
// the result, and reads again after the TTL, or on the next call after
// Invalidate (when a key turned out to be wrong, for example a webhook
// signature that matches no key). Concurrent callers share one read.
//
// When a re-read fails and secrets were loaded before, the old secrets are
// kept and served (a Secrets Manager hiccup must not fail every request), and
// the next attempt waits MinReload. Without earlier secrets, the error is
// returned and the next call tries again.
//
// A CachedSecrets is itself a SecretsSource. It is safe for concurrent use.
type CachedSecrets struct {
	src  SecretsSource
	opts CacheOptions

	reads singleflight.Group // one read for every caller that arrives while it runs

	mu          sync.Mutex
	have        bool
	secrets     Secrets
	loadedAt    time.Time // last successful read
	attemptedAt time.Time // last read, successful or not
	invalid     bool      // Invalidate was called since the last successful read
}

// NewCachedSecrets returns a cache in front of src.
func NewCachedSecrets(src SecretsSource, opts CacheOptions) *CachedSecrets {
	if opts.TTL <= 0 {
		opts.TTL = DefaultSecretsTTL
	}
	if opts.MinReload <= 0 {
		opts.MinReload = DefaultMinReload
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &CachedSecrets{src: src, opts: opts}
}

// LoadSecrets returns the cached secrets, reading them from the source first
// when none are cached, they are older than the TTL, or Invalidate was called.
// The result is a copy the caller may keep.
func (c *CachedSecrets) LoadSecrets(ctx context.Context) (Secrets, error) {
	if s, ok := c.cached(); ok {
		return s, nil
	}
	// The read runs detached from this caller: others may be waiting for it.
	rctx := context.WithoutCancel(ctx)
	ch := c.reads.DoChan("", func() (any, error) { return c.read(rctx) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return Secrets{}, r.Err
		}
		return r.Val.(Secrets).Clone(), nil
	case <-ctx.Done():
		return Secrets{}, ctx.Err()
	}
}

// cached returns a copy of the cached secrets when no read is due.
func (c *CachedSecrets) cached() (Secrets, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.have && !c.due(c.opts.Now()) {
		return c.secrets.Clone(), true
	}
	return Secrets{}, false
}

// due reports whether cached secrets should be read again. c.mu is held.
func (c *CachedSecrets) due(now time.Time) bool {
	if now.Sub(c.attemptedAt) < c.opts.MinReload {
		return false
	}
	return c.invalid || now.Sub(c.loadedAt) >= c.opts.TTL
}

// read reads from the source and updates the cache. It returns the secrets
// to serve, which the callers copy.
func (c *CachedSecrets) read(ctx context.Context) (Secrets, error) {
	c.mu.Lock()
	now := c.opts.Now()
	if c.have && !c.due(now) {
		// A read that ended after this caller looked at the cache, and
		// before this one started, has already refreshed it.
		s := c.secrets
		c.mu.Unlock()
		return s, nil
	}
	c.attemptedAt = now
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	s, err := c.src.LoadSecrets(ctx)

	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case err == nil:
		c.secrets, c.have, c.invalid = s, true, false
		c.loadedAt = c.opts.Now()
		return s, nil
	case c.have:
		// Keep serving what worked; c.attemptedAt delays the next try.
		if c.opts.Logger != nil {
			c.opts.Logger.WarnContext(ctx, "secrets re-read failed; keeping the secrets loaded before", "error", err)
		}
		return c.secrets, nil
	default:
		return Secrets{}, err
	}
}

// Invalidate makes the next LoadSecrets read from the source again (at most
// one read per MinReload), for example after a webhook signature matched no
// key, in case the key was rotated since the last read.
func (c *CachedSecrets) Invalidate() {
	c.mu.Lock()
	c.invalid = true
	c.mu.Unlock()
}
