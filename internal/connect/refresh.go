package connect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/automators/connectors/internal/adapter/legacyoauth"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/seal"
)

// Refresh refreshes one of the caller's connections of connector.
func (s *Service) Refresh(ctx context.Context, p connectors.Principal, connector, id string) (_ *connectors.Connection, err error) {
	defer func() { s.audit(ctx, p, "refresh", id, connector, err) }()
	if _, err := s.manifest(connector); err != nil {
		return nil, err
	}
	c, err := s.owned(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if c.Connector != connector {
		return nil, connectors.Errorf(connectors.ENotFound, "connection %s not found", id)
	}
	switch c.AuthProvider {
	case connectors.ProviderNango:
		return s.refreshNango(ctx, c)
	case connectors.ProviderLegacy:
		c, _, err = s.RefreshLegacy(ctx, c)
		return c, err
	}
	return nil, connectors.Errorf(connectors.ENotConfigured, "connection %s has no refreshable provider", id)
}

// refreshNango asks Nango to refresh now. A refusal marks the connection
// reauth_required; an outage changes nothing. Concurrent refreshes of one
// connection in this container are one: every caller gets the result of
// the refresh in flight. Across containers Nango serializes its own
// refreshes, and a lost version race is re-read and re-applied.
func (s *Service) refreshNango(ctx context.Context, c *connectors.Connection) (*connectors.Connection, error) {
	if s.Nango == nil {
		return nil, connectors.Errorf(connectors.ENotConfigured, "Nango is not configured: nango_secret_key is not set")
	}
	v, err := s.coalesce(ctx, c, false, func(ctx context.Context) (any, error) {
		return s.refreshNangoOnce(ctx, c)
	})
	if err != nil {
		return nil, err
	}
	cp := *v.(*connectors.Connection) // each caller its own copy: the record is mutable
	return &cp, nil
}

func (s *Service) refreshNangoOnce(ctx context.Context, cur *connectors.Connection) (*connectors.Connection, error) {
	nc, err := s.Nango.GetConnection(ctx, cur.ProviderConfigKey, cur.ID, nango.GetConnectionOptions{ForceRefresh: true})
	if err != nil {
		if nango.IsRefreshFailure(err) || nango.IsNotFound(err) {
			return nil, s.MarkReauth(ctx, cur, err)
		}
		return nil, nangoError("refresh connection", err)
	}
	now := s.Now()
	return s.update(ctx, cur, func(c *connectors.Connection) error {
		c.Status = c.Status.After(connectors.RefreshSucceeded)
		c.LastRefreshedAt = now
		c.ExpiresAt = nc.Credentials.ExpiresAt
		return nil
	})
}

// RefreshLegacy refreshes a built-in OAuth connection's token, seals and
// saves the new one (a rotated refresh token included) and returns both.
//
// Concurrent refreshes of one connection make one token request: callers in
// this container share it (singleflight), and containers take turns through
// a lease in the store; whoever gets the lease after another container's
// refresh finds the fresh token already saved and uses it.
func (s *Service) RefreshLegacy(ctx context.Context, c *connectors.Connection) (*connectors.Connection, legacyoauth.Token, error) {
	type result struct {
		c *connectors.Connection
		t legacyoauth.Token
	}
	v, err := s.coalesce(ctx, c, true, func(ctx context.Context) (any, error) {
		c, t, err := s.refreshLegacyLeased(ctx, c)
		return result{c, t}, err
	})
	if err != nil {
		return nil, legacyoauth.Token{}, err
	}
	r := v.(result)
	// Each caller gets its own copy: the record is mutable.
	cp := *r.c
	return &cp, r.t, nil
}

// coalesce runs refresh once for every concurrent caller refreshing c in
// this container, and gives each the one result.
//
// The shared refresh must not die with the cancellation of the caller that
// happened to start it: the others would get it. With outlive, it also
// outlives that caller's deadline (up to refreshLease), because a token
// request cut off after the provider rotated the refresh token would lose
// the new one; without, it ends at that caller's deadline, so nothing is
// left running after an answer said it failed. Each caller waits only as
// long as its own context allows.
func (s *Service) coalesce(ctx context.Context, c *connectors.Connection, outlive bool, refresh func(context.Context) (any, error)) (any, error) {
	deadline, ok := ctx.Deadline()
	if outlive || !ok {
		deadline = time.Now().Add(refreshLease)
	}
	ch := s.refreshes.DoChan(c.OrganizationID+"\x00"+c.ID, func() (any, error) {
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

// refreshLease bounds how long one container may hold a connection's
// refresh; a token request takes well under it.
const refreshLease = 30 * time.Second

func (s *Service) refreshLegacyLeased(ctx context.Context, c *connectors.Connection) (*connectors.Connection, legacyoauth.Token, error) {
	lease := "refresh/" + c.OrganizationID + "/" + c.ID
	if err := s.acquire(ctx, lease); err != nil {
		return nil, legacyoauth.Token{}, err
	}
	defer s.Store.ReleaseLease(context.WithoutCancel(ctx), lease, s.owner)

	// Under the lease, the stored record is the truth: another container
	// may have refreshed (and rotated the refresh token) since c was read.
	cur, err := s.Store.GetConnection(ctx, c.OrganizationID, c.ID)
	if err != nil {
		return nil, legacyoauth.Token{}, fmt.Errorf("reload connection %s: %w", c.ID, err)
	}
	old, err := s.OpenToken(ctx, cur)
	if err != nil {
		return nil, legacyoauth.Token{}, err
	}
	if cur.Version != c.Version && fresh(old, s.Now()) {
		return cur, old, nil
	}
	t, err := s.Legacy.Refresh(ctx, cur.Connector, old)
	if errors.Is(err, legacyoauth.ErrRefused) {
		// invalid_grant can mean another container (whose lease expired
		// under it) just rotated the refresh token: read again before
		// telling the user to reconnect.
		if again, gerr := s.Store.GetConnection(ctx, cur.OrganizationID, cur.ID); gerr == nil && !bytes.Equal(again.SealedToken, cur.SealedToken) {
			if t2, oerr := s.OpenToken(ctx, again); oerr == nil && fresh(t2, s.Now()) {
				return again, t2, nil
			}
		}
		return nil, legacyoauth.Token{}, s.MarkReauth(ctx, cur, err)
	}
	if err != nil {
		return nil, legacyoauth.Token{}, err
	}
	plain, err := t.Marshal()
	if err != nil {
		return nil, legacyoauth.Token{}, err
	}
	sealed, err := s.Sealer.SealFor(ctx, cur.OrganizationID, seal.PurposeToken, tokenAAD(cur.OrganizationID, cur.ID), plain)
	if err != nil {
		return nil, legacyoauth.Token{}, fmt.Errorf("seal token: %w", err)
	}
	now := s.Now()
	// The rotated refresh token must be saved whatever else changed in the
	// record meanwhile: update re-reads and re-applies on a version race.
	// The provider has already invalidated the old refresh token, so a
	// failed save loses the connection: a store hiccup (throttling) is
	// retried here too.
	apply := func(c *connectors.Connection) error {
		c.Status = c.Status.After(connectors.RefreshSucceeded)
		c.SealedToken = sealed
		c.LastRefreshedAt = now
		c.ExpiresAt = t.Expiry
		return nil
	}
	var saved *connectors.Connection
	for attempt := 1; ; attempt++ {
		if saved, err = s.update(ctx, cur, apply); err == nil {
			return saved, t, nil
		}
		if attempt == saveAttempts || ctx.Err() != nil {
			logging.FromContext(ctx).Error("rotated token not saved", "connection", cur.ID, "attempts", attempt, "err", err)
			return nil, legacyoauth.Token{}, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

// saveAttempts bounds the tries to save a refreshed token.
const saveAttempts = 4

// acquire waits for the lease, up to the context's deadline or 10 seconds.
func (s *Service) acquire(ctx context.Context, lease string) error {
	deadline := s.Now().Add(10 * time.Second)
	for {
		err := s.Store.AcquireLease(ctx, lease, s.owner, refreshLease)
		if err == nil || !errors.Is(err, connectors.ErrConflict) {
			return err
		}
		if !s.Now().Before(deadline) {
			return connectors.Errorf(connectors.EUnavailable, "another refresh of this connection is running; try again")
		}
		select {
		case <-ctx.Done():
			return connectors.Wrap(ctx.Err(), connectors.EUnavailable, "gave up waiting for another refresh")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// fresh reports whether t is good for at least another minute.
func fresh(t legacyoauth.Token, now time.Time) bool {
	return t.AccessToken != "" && (t.Expiry.IsZero() || t.Expiry.After(now.Add(time.Minute)))
}

// MarkReauth records that the provider refused c's grant (the user must
// reconnect), and returns the error that says so.
func (s *Service) MarkReauth(ctx context.Context, c *connectors.Connection, cause error) error {
	if _, err := s.update(ctx, c, func(c *connectors.Connection) error {
		c.Status = c.Status.After(connectors.RefreshRefused)
		return nil
	}); err != nil {
		return err
	}
	return &connectors.Error{Code: connectors.EReauthRequired, Message: "the provider refused to refresh; the user must reconnect " + c.Connector, Err: cause}
}

// update applies change to c and saves it with optimistic locking; on a
// lost race it re-reads the record and applies change again.
func (s *Service) update(ctx context.Context, c *connectors.Connection, change func(*connectors.Connection) error) (*connectors.Connection, error) {
	for range 5 {
		if err := change(c); err != nil {
			return nil, err
		}
		c.UpdatedAt = s.Now()
		err := s.Store.UpdateConnection(ctx, c)
		if err == nil {
			return c, nil
		}
		if errors.Is(err, connectors.ErrOwned) {
			// A record kept from before owners existed, whose provider
			// connection another record holds: it is not this one's to change.
			return nil, connectors.Wrap(err, connectors.EForbidden, "connection "+c.ID+" is held by another record; connect it again")
		}
		if !errors.Is(err, connectors.ErrConflict) {
			return nil, fmt.Errorf("save connection %s: %w", c.ID, err)
		}
		if c, err = s.Store.GetConnection(ctx, c.OrganizationID, c.ID); err != nil {
			return nil, fmt.Errorf("reload connection: %w", err)
		}
	}
	return nil, connectors.Errorf(connectors.EConflict, "connection %s is being changed concurrently; try again", c.ID)
}

// CheckConnection is the sweeper's visit: it refreshes a built-in OAuth
// connection's token, or reads a Nango connection back (Nango refreshes an
// expiring token on read), and records the resulting status. A failure that
// may pass marks the connection refresh_failed; a refusal reauth_required.
func (s *Service) CheckConnection(ctx context.Context, c *connectors.Connection) (*connectors.Connection, error) {
	var err error
	switch c.AuthProvider {
	case connectors.ProviderNango:
		if s.Nango == nil {
			return c, connectors.Errorf(connectors.ENotConfigured, "Nango is not configured: nango_secret_key is not set")
		}
		var nc *nango.Connection
		nc, err = s.Nango.GetConnection(ctx, c.ProviderConfigKey, c.ID, nango.GetConnectionOptions{})
		switch {
		case err == nil:
			now := s.Now()
			return s.update(ctx, c, func(c *connectors.Connection) error {
				c.Status = c.Status.After(connectors.RefreshSucceeded)
				c.ExpiresAt = nc.Credentials.ExpiresAt
				c.LastRefreshedAt = now
				return nil
			})
		case nango.IsRefreshFailure(err) || nango.IsNotFound(err):
			return nil, s.MarkReauth(ctx, c, err)
		}
		err = nangoError("check connection", err)
	case connectors.ProviderLegacy:
		var got *connectors.Connection
		got, _, err = s.RefreshLegacy(ctx, c)
		if err == nil || errors.Is(err, connectors.ErrReauthRequired) {
			return got, err
		}
	default:
		return c, connectors.Errorf(connectors.ENotConfigured, "connection %s has no provider to check", c.ID)
	}
	got, uerr := s.update(ctx, c, func(c *connectors.Connection) error {
		c.Status = c.Status.After(connectors.RefreshFailed)
		return nil
	})
	if uerr != nil {
		return nil, errors.Join(err, uerr)
	}
	return got, err
}
