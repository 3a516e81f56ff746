package credentials

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v5"
	"golang.org/x/sync/singleflight"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/logging"
)

// refreshLease bounds how long one container may hold a connection's
// refresh; a token request takes well under it.
const refreshLease = 30 * time.Second

// saveAttempts bounds the tries to save a refreshed token.
const saveAttempts = 4

// refreshKept refreshes the token this service keeps for c, served by p,
// seals and saves the new one (a rotated refresh token included) and
// returns both.
//
// Concurrent refreshes of one connection make one token request: callers in
// this container share it (singleflight), and containers take turns through
// a lease in the store; whoever gets the lease after another container's
// refresh finds the fresh token already saved and uses it.
func (l *Lifecycle) refreshKept(ctx context.Context, p connectors.Provider, c *connectors.Connection) (*connectors.Connection, connectors.Token, error) {
	type result struct {
		c *connectors.Connection
		t connectors.Token
	}
	v, err := l.coalesce(ctx, "refresh", c, true, func(ctx context.Context) (any, error) {
		c, t, err := l.refreshLeased(ctx, p, c)
		return result{c, t}, err
	})
	if err != nil {
		return nil, connectors.Token{}, err
	}
	r := v.(result)
	cp := *r.c // each caller its own copy: the record is mutable
	return &cp, r.t, nil
}

// coalesce runs refresh once for every concurrent caller doing kind of
// work on c in this container, and gives each the one result.
//
// The shared refresh must not die with the cancellation of the caller that
// happened to start it: the others would get it. With outlive, it also
// outlives that caller's deadline (up to refreshLease), because a token
// request cut off after the provider rotated the refresh token would lose
// the new one; without, it ends at that caller's deadline, so nothing is
// left running after an answer said it failed. Each caller waits only as
// long as its own context allows.
func (l *Lifecycle) coalesce(ctx context.Context, kind string, c *connectors.Connection, outlive bool, refresh func(context.Context) (any, error)) (any, error) {
	deadline, ok := ctx.Deadline()
	if outlive || !ok {
		deadline = time.Now().Add(refreshLease)
	}
	ch := l.refreshes.DoChan(kind+"\x00"+c.OrganizationID+"\x00"+c.ID, func() (any, error) {
		fctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
		defer cancel()
		return refresh(fctx)
	})
	var res singleflight.Result
	select {
	case res = <-ch:
	case <-ctx.Done():
		return nil, connectors.Wrap(ctx.Err(), connectors.EUnavailable, "gave up waiting for the token refresh")
	}
	return res.Val, res.Err
}

func (l *Lifecycle) refreshLeased(ctx context.Context, p connectors.Provider, c *connectors.Connection) (*connectors.Connection, connectors.Token, error) {
	lease := "refresh/" + c.OrganizationID + "/" + c.ID
	if err := l.acquire(ctx, lease); err != nil {
		return nil, connectors.Token{}, err
	}
	defer l.store.ReleaseLease(context.WithoutCancel(ctx), lease, l.owner)

	// Under the lease, the stored record is the truth: another container
	// may have refreshed (and rotated the refresh token) since c was read.
	cur, err := l.store.GetConnection(ctx, c.OrganizationID, c.ID)
	if err != nil {
		return nil, connectors.Token{}, fmt.Errorf("reload connection %s: %w", c.ID, err)
	}
	old, err := l.OpenToken(ctx, cur)
	if err != nil {
		return nil, connectors.Token{}, err
	}
	if cur.Version != c.Version && old.Fresh(l.now()) {
		return cur, old, nil
	}
	g, err := p.Grant(ctx, cur, &old, true)
	if refused(err) {
		// invalid_grant can mean another container (whose lease expired
		// under it) just rotated the refresh token: read again before
		// telling the user to reconnect.
		if again, gerr := l.store.GetConnection(ctx, cur.OrganizationID, cur.ID); gerr == nil && !bytes.Equal(again.SealedToken, cur.SealedToken) {
			if t2, oerr := l.OpenToken(ctx, again); oerr == nil && t2.Fresh(l.now()) {
				return again, t2, nil
			}
		}
		return nil, connectors.Token{}, l.MarkReauth(ctx, cur, err)
	}
	if err != nil {
		return nil, connectors.Token{}, err
	}
	if g.Token == nil {
		return nil, connectors.Token{}, fmt.Errorf("refresh of %s returned no token", cur.ID)
	}
	t := *g.Token
	sealed, err := l.SealToken(ctx, cur.OrganizationID, cur.ID, t)
	if err != nil {
		return nil, connectors.Token{}, err
	}
	now := l.now()
	// The rotated refresh token must be saved whatever else changed in the
	// record meanwhile: Save re-reads and re-applies on a version race.
	// The provider has already invalidated the old refresh token, so a
	// failed save loses the connection: a store hiccup (throttling) is
	// retried here too.
	apply := func(c *connectors.Connection) error {
		c.Status = c.Status.After(connectors.RefreshSucceeded)
		c.SealedToken = sealed
		c.LastRefreshedAt = now
		c.ExpiresAt = t.Expiry
		c.CheckAt = g.CheckAt
		return nil
	}
	var (
		tries   int
		saveErr error
	)
	saved, err := backoff.Retry(ctx, func() (*connectors.Connection, error) {
		tries++
		var c *connectors.Connection
		c, saveErr = l.Save(ctx, cur, apply)
		return c, saveErr
	},
		backoff.WithMaxTries(saveAttempts),
		backoff.WithBackOff(&linearBackOff{step: 100 * time.Millisecond}),
		backoff.WithMaxElapsedTime(0), // the tries bound it
	)
	if err != nil {
		// The store's error, not the context's: it says why the save failed.
		logging.FromContext(ctx).Error("rotated token not saved", "connection", cur.ID, "attempts", tries, "err", saveErr)
		return nil, connectors.Token{}, saveErr
	}
	return saved, t, nil
}

// linearBackOff waits step, 2×step, 3×step, …: short pauses that give a
// throttled store a little more time on each try while the lease is held.
type linearBackOff struct{ step, next time.Duration }

func (b *linearBackOff) Reset() { b.next = 0 }

func (b *linearBackOff) NextBackOff() time.Duration {
	b.next += b.step
	return b.next
}

// acquire waits for the lease, up to the context's deadline or 10 seconds.
// The 10 seconds are measured on the real clock, as backoff measures them:
// an injected l.now that stands still must not make the wait endless.
func (l *Lifecycle) acquire(ctx context.Context, lease string) error {
	var held bool // the last try found the lease held by another container
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		err := l.store.AcquireLease(ctx, lease, l.owner, refreshLease)
		held = errors.Is(err, connectors.ErrConflict)
		if err != nil && !held {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	},
		backoff.WithBackOff(backoff.NewConstantBackOff(50*time.Millisecond)),
		backoff.WithMaxElapsedTime(10*time.Second),
	)
	switch {
	case !held:
		return err
	case errors.Is(err, connectors.ErrConflict):
		return connectors.Errorf(connectors.EUnavailable, "another refresh of this connection is running; try again")
	default:
		return connectors.Wrap(ctx.Err(), connectors.EUnavailable, "gave up waiting for another refresh")
	}
}
