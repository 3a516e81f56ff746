package connecttest

import (
	"context"

	"github.com/automators/connectors/internal/connectors"
)

// FakeProvider is a connectors.Provider whose methods call its function
// fields, so that a test says what each call answers and watches what it
// is asked. A nil field answers an ENotImplemented error (and Proxy nil),
// so that an unexpected call fails the operation that made it.
type FakeProvider struct {
	// AuthProvider is what Name returns.
	AuthProvider connectors.AuthProvider

	ConnectFn  func(ctx context.Context, r connectors.ConnectRequest) (*connectors.ConnectFlow, error)
	CompleteFn func(ctx context.Context, r connectors.CompleteRequest) (*connectors.Grant, error)
	GrantFn    func(ctx context.Context, c *connectors.Connection, held *connectors.Token, refresh bool) (*connectors.Grant, error)
	RevokeFn   func(ctx context.Context, c *connectors.Connection, held *connectors.Token) (string, error)
	ProxyFn    func(c *connectors.Connection, creds connectors.Credentials) connectors.Proxy
}

var _ connectors.Provider = (*FakeProvider)(nil)

func notSet(method string) error {
	return connectors.Errorf(connectors.ENotImplemented, "fake provider: %s is not set", method)
}

// Name implements connectors.Provider.
func (p *FakeProvider) Name() connectors.AuthProvider { return p.AuthProvider }

// Connect implements connectors.Provider.
func (p *FakeProvider) Connect(ctx context.Context, r connectors.ConnectRequest) (*connectors.ConnectFlow, error) {
	if p.ConnectFn == nil {
		return nil, notSet("Connect")
	}
	return p.ConnectFn(ctx, r)
}

// Complete implements connectors.Provider.
func (p *FakeProvider) Complete(ctx context.Context, r connectors.CompleteRequest) (*connectors.Grant, error) {
	if p.CompleteFn == nil {
		return nil, notSet("Complete")
	}
	return p.CompleteFn(ctx, r)
}

// Grant implements connectors.Provider.
func (p *FakeProvider) Grant(ctx context.Context, c *connectors.Connection, held *connectors.Token, refresh bool) (*connectors.Grant, error) {
	if p.GrantFn == nil {
		return nil, notSet("Grant")
	}
	return p.GrantFn(ctx, c, held, refresh)
}

// Revoke implements connectors.Provider.
func (p *FakeProvider) Revoke(ctx context.Context, c *connectors.Connection, held *connectors.Token) (string, error) {
	if p.RevokeFn == nil {
		return "", notSet("Revoke")
	}
	return p.RevokeFn(ctx, c, held)
}

// Proxy implements connectors.Provider.
func (p *FakeProvider) Proxy(c *connectors.Connection, creds connectors.Credentials) connectors.Proxy {
	if p.ProxyFn == nil {
		return nil
	}
	return p.ProxyFn(c, creds)
}
