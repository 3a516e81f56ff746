package executor

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/automators/connectors/internal/adapter/nango"
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

// credCache keeps Nango credentials in the container, never past the
// token's expiry and never longer than maxCredAge.
type credCache struct {
	mu sync.Mutex
	m  map[string]cachedCreds
}

func newCredCache() *credCache { return &credCache{m: map[string]cachedCreds{}} }

func cacheKey(c *connectors.Connection) string { return c.OrganizationID + "\x00" + c.ID }

func (cc *credCache) get(c *connectors.Connection, now time.Time) (connectors.Credentials, bool) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	e, ok := cc.m[cacheKey(c)]
	if !ok || !now.Before(e.until) {
		return connectors.Credentials{}, false
	}
	return e.creds, true
}

func (cc *credCache) put(c *connectors.Connection, creds connectors.Credentials, expires, now time.Time) {
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

func (cc *credCache) forget(c *connectors.Connection) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	delete(cc.m, cacheKey(c))
}

// nangoProxy sends an OAuth1 connector's calls through Nango's proxy, which
// signs them with the connection's token.
type nangoProxy struct {
	nango Nango
	conn  *connectors.Connection
}

func (e *Executor) proxy(c *connectors.Connection) connectors.Proxy {
	if e.Nango == nil || c.AuthProvider != connectors.ProviderNango {
		return nil
	}
	return nangoProxy{nango: e.Nango, conn: c}
}

// Proxy implements connectors.Proxy.
func (p nangoProxy) Proxy(ctx context.Context, call connectors.ProxyCall) (int, http.Header, []byte, error) {
	resp, err := p.nango.Proxy(ctx, nango.ProxyRequest{
		Method: call.Method, Path: call.Path, Query: call.Query, Header: call.Header, Body: call.Body,
		ConnectionID: p.conn.ID, ProviderConfigKey: p.conn.ProviderConfigKey,
	})
	if err != nil {
		return 0, nil, nil, nangoError(err)
	}
	return resp.Status, resp.Header, resp.Body, nil
}
