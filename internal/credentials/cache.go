package credentials

import (
	"sync"
	"time"

	"github.com/automators/connectors/internal/connectors"
)

// maxCredAge bounds how long the container trusts cached credentials, so a
// revoked connection stops working within minutes even if its token lives
// longer.
const maxCredAge = 5 * time.Minute

// expirySlack keeps a token from being used in its last seconds.
const expirySlack = 30 * time.Second

type cachedCreds struct {
	creds connectors.Credentials
	until time.Time
}

// cache keeps provider-held credentials in the container, never past the
// token's expiry and never longer than maxCredAge.
type cache struct {
	mu sync.Mutex
	m  map[string]cachedCreds
}

func newCache() *cache { return &cache{m: map[string]cachedCreds{}} }

func cacheKey(c *connectors.Connection) string { return c.OrganizationID + "\x00" + c.ID }

func (cc *cache) get(c *connectors.Connection, now time.Time) (connectors.Credentials, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.m[cacheKey(c)]
	if !ok || !now.Before(e.until) {
		return connectors.Credentials{}, false
	}
	return e.creds, true
}

func (cc *cache) put(c *connectors.Connection, creds connectors.Credentials, expires, now time.Time) {
	until := now.Add(maxCredAge)
	if !expires.IsZero() && expires.Add(-expirySlack).Before(until) {
		until = expires.Add(-expirySlack)
	}
	if !now.Before(until) {
		return
	}
	cc.mu.Lock()
	defer cc.mu.Unlock()
	cc.m[cacheKey(c)] = cachedCreds{creds: creds, until: until}
}

func (cc *cache) forget(c *connectors.Connection) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	delete(cc.m, cacheKey(c))
}
