// Package credentials is the token lifecycle of connections: it hands out
// the credentials an action needs (cached in the container), refreshes
// tokens (one refresh per connection at a time: single-flight in the
// container, a lease in the store across containers), marks a connection
// reauth_required when its provider refuses the grant, and runs the
// sweeper's health checks. The connection API's refresh, the executor and
// the sweeper all use it.
//
// It speaks to providers only through the connectors.Provider port; what
// differs between them is data, not names: a connection whose token this
// service keeps (sealed in its record) refreshes under a lease, and one
// whose provider keeps the token is read back from the provider.
package credentials

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/singleflight"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/seal"
)

// Sealer seals and opens secrets for one organization: under its data key
// (seal.Keyring), or with the deployment's token_encryption_keys
// (*seal.Sealer). purpose and aad bind a value to what it is and where it
// is stored.
type Sealer interface {
	SealFor(ctx context.Context, orgID, purpose string, aad, plaintext []byte) ([]byte, error)
	OpenFor(ctx context.Context, orgID, purpose string, aad, sealed []byte) ([]byte, error)
}

// Store is what the lifecycle keeps: connection records and leases.
type Store interface {
	connectors.ConnectionStore
	connectors.LeaseStore
}

// Lifecycle runs the token lifecycle. Build one per cold start: it keeps
// credentials cached in the container and coalesces concurrent refreshes.
type Lifecycle struct {
	store     Store
	providers connectors.Providers
	sealer    Sealer
	now       func() time.Time
	owner     string // this container's lease owner id
	refreshes singleflight.Group
	cache     *cache
}

// New returns the lifecycle of the connections in store, served by
// providers. now is the clock (nil: time.Now).
func New(store Store, providers connectors.Providers, sealer Sealer, now func() time.Time) *Lifecycle {
	if now == nil {
		now = time.Now
	}
	return &Lifecycle{store: store, providers: providers, sealer: sealer, now: now, owner: uuid.NewString(), cache: newCache()}
}

// Provider returns the provider that holds c.
func (l *Lifecycle) Provider(c *connectors.Connection) (connectors.Provider, error) {
	return l.providers.Get(c.AuthProvider)
}

// keeps reports whether this service keeps c's token (sealed in its
// record), rather than its provider.
func keeps(c *connectors.Connection) bool { return len(c.SealedToken) > 0 }

// refused reports whether err says the provider refused c's grant or no
// longer has the connection: only the user reconnecting helps.
func refused(err error) bool {
	return errors.Is(err, connectors.ErrReauthRequired) || errors.Is(err, connectors.ErrNotFound)
}

// Credentials returns what an action sends for c, served by p. Credentials
// a provider hands out are cached in the container unless force; a token
// this service keeps is opened, and refreshed first when force is set or it
// expires within a minute.
func (l *Lifecycle) Credentials(ctx context.Context, p connectors.Provider, c *connectors.Connection, force bool) (connectors.Credentials, error) {
	if keeps(c) {
		t, err := l.OpenToken(ctx, c)
		if err != nil {
			return connectors.Credentials{}, err
		}
		if force || !t.Fresh(l.now()) {
			if _, t, err = l.refreshKept(ctx, p, c); err != nil {
				return connectors.Credentials{}, err
			}
		}
		g, err := p.Grant(ctx, c, &t, false)
		if err != nil {
			return connectors.Credentials{}, err
		}
		return g.Credentials, nil
	}
	if !force {
		if cr, ok := l.cache.get(c, l.now()); ok {
			return cr, nil
		}
	}
	// Concurrent fetches of one connection's credentials in this container
	// are one provider call (a forced one apart from a plain read).
	kind := "grant"
	if force {
		kind = "grant+refresh"
	}
	v, err := l.coalesce(ctx, kind, c, false, func(ctx context.Context) (any, error) {
		g, err := p.Grant(ctx, c, nil, force)
		if refused(err) {
			// Record it, so the user sees reauth_required and later runs
			// fail fast instead of asking the provider again.
			return nil, l.MarkReauth(ctx, c, err)
		}
		if err != nil {
			return nil, err
		}
		l.cache.put(c, g.Credentials, g.ExpiresAt, l.now())
		return g.Credentials, nil
	})
	if err != nil {
		return connectors.Credentials{}, err
	}
	return v.(connectors.Credentials), nil
}

// Forget drops c's cached credentials (the provider refused them).
func (l *Lifecycle) Forget(c *connectors.Connection) { l.cache.forget(c) }

// Refresh refreshes c's token now and records the result. A refusal marks
// the connection reauth_required; an outage changes nothing.
func (l *Lifecycle) Refresh(ctx context.Context, c *connectors.Connection) (*connectors.Connection, error) {
	p, err := l.Provider(c)
	if err != nil {
		return nil, err
	}
	if keeps(c) {
		got, _, err := l.refreshKept(ctx, p, c)
		return got, err
	}
	// Concurrent refreshes of one connection in this container are one;
	// across containers the provider serializes its own refreshes, and a
	// lost version race is re-read and re-applied.
	v, err := l.coalesce(ctx, "refresh", c, false, func(ctx context.Context) (any, error) {
		return l.readBack(ctx, p, c, true)
	})
	if err != nil {
		return nil, err
	}
	cp := *v.(*connectors.Connection) // each caller its own copy: the record is mutable
	return &cp, nil
}

// readBack reads c's grant from its provider and records what it says.
func (l *Lifecycle) readBack(ctx context.Context, p connectors.Provider, c *connectors.Connection, refresh bool) (*connectors.Connection, error) {
	g, err := p.Grant(ctx, c, nil, refresh)
	if refused(err) {
		return nil, l.MarkReauth(ctx, c, err)
	}
	if err != nil {
		return nil, err
	}
	now := l.now()
	l.cache.put(c, g.Credentials, g.ExpiresAt, now) // the fresh token replaces the cached one
	return l.Save(ctx, c, func(c *connectors.Connection) error {
		c.Status = c.Status.After(connectors.RefreshSucceeded)
		c.LastRefreshedAt = now
		c.ExpiresAt = g.ExpiresAt
		return nil
	})
}

// Check is the sweeper's visit: it refreshes a token this service keeps,
// or reads the connection back from a provider that keeps it (which
// refreshes an expiring token on read), and records the resulting status.
// A failure that may pass marks the connection refresh_failed; a refusal
// reauth_required.
func (l *Lifecycle) Check(ctx context.Context, c *connectors.Connection) (*connectors.Connection, error) {
	p, err := l.Provider(c)
	if err != nil {
		return c, err
	}
	var got *connectors.Connection
	if keeps(c) {
		got, _, err = l.refreshKept(ctx, p, c)
	} else {
		got, err = l.readBack(ctx, p, c, false)
	}
	if err == nil || errors.Is(err, connectors.ErrReauthRequired) || connectors.ErrorCode(err) == connectors.ENotConfigured {
		// Success and refusal are recorded; a provider this deployment
		// cannot use says nothing about the connection.
		return got, err
	}
	got, uerr := l.Save(ctx, c, func(c *connectors.Connection) error {
		c.Status = c.Status.After(connectors.RefreshFailed)
		return nil
	})
	if uerr != nil {
		return nil, errors.Join(err, uerr)
	}
	return got, err
}

// MarkReauth records that the provider refused c's grant (the user must
// reconnect), and returns the error that says so.
func (l *Lifecycle) MarkReauth(ctx context.Context, c *connectors.Connection, cause error) error {
	l.cache.forget(c) // no credentials of a refused grant are handed out again
	if _, err := l.Save(ctx, c, func(c *connectors.Connection) error {
		c.Status = c.Status.After(connectors.RefreshRefused)
		return nil
	}); err != nil {
		return err
	}
	return &connectors.Error{Code: connectors.EReauthRequired, Message: "the provider refused to refresh; the user must reconnect " + c.Connector, Err: cause}
}

// Save applies change to c and saves it with optimistic locking; on a lost
// race it re-reads the record and applies change again.
func (l *Lifecycle) Save(ctx context.Context, c *connectors.Connection, change func(*connectors.Connection) error) (*connectors.Connection, error) {
	for range 5 {
		if err := change(c); err != nil {
			return nil, err
		}
		c.UpdatedAt = l.now()
		err := l.store.UpdateConnection(ctx, c)
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
		if c, err = l.store.GetConnection(ctx, c.OrganizationID, c.ID); err != nil {
			return nil, fmt.Errorf("reload connection: %w", err)
		}
	}
	return nil, connectors.Errorf(connectors.EConflict, "connection %s is being changed concurrently; try again", c.ID)
}

// OpenToken opens the token this service keeps for c.
func (l *Lifecycle) OpenToken(ctx context.Context, c *connectors.Connection) (connectors.Token, error) {
	if len(c.SealedToken) == 0 {
		return connectors.Token{}, connectors.Errorf(connectors.EReauthRequired, "connection %s holds no token", c.ID)
	}
	plain, err := l.sealer.OpenFor(ctx, c.OrganizationID, seal.PurposeToken, seal.AAD(c.OrganizationID, c.ID), c.SealedToken)
	if err != nil {
		return connectors.Token{}, fmt.Errorf("open token of %s: %w", c.ID, err)
	}
	return connectors.UnmarshalToken(plain)
}

// SealToken seals t for the connection id of organization orgID.
func (l *Lifecycle) SealToken(ctx context.Context, orgID, id string, t connectors.Token) ([]byte, error) {
	plain, err := t.Marshal()
	if err != nil {
		return nil, err
	}
	sealed, err := l.sealer.SealFor(ctx, orgID, seal.PurposeToken, seal.AAD(orgID, id), plain)
	if err != nil {
		return nil, fmt.Errorf("seal token: %w", err)
	}
	return sealed, nil
}
