package connect

import (
	"context"
	"errors"
	"fmt"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/seal"
)

// CallbackParams are the query of the callback.
type CallbackParams struct {
	Connector        string
	State            string
	ConnectionID     string // Nango's connection, Composio's connected account
	Code             string // built-in OAuth
	Error            string // the provider's error, e.g. access_denied
	ErrorDescription string
}

// CallbackResult is the connection the callback stored and where to send
// the user, if the authorize asked for it.
type CallbackResult struct {
	Connection  *connectors.Connection
	RedirectURI string
}

// Callback completes a connection. It is authenticated by the state; caller,
// when the request carried a bearer token, must be the state's user.
func (s *Service) Callback(ctx context.Context, caller *connectors.Principal, in CallbackParams) (_ *CallbackResult, err error) {
	claims, err := verifyState(s.stateKey, in.State, s.now())
	if err != nil {
		return nil, err
	}
	actor := connectors.Principal{UserID: claims.UserID, OrganizationID: claims.OrgID}
	defer func() { s.audit(ctx, actor, "callback", in.ConnectionID, claims.Connector, err) }()
	if claims.Connector != in.Connector {
		return nil, connectors.Errorf(connectors.EInvalidState, "the state is invalid, expired or already used")
	}
	if caller != nil && (caller.UserID != claims.UserID || caller.OrganizationID != claims.OrgID) {
		return nil, connectors.Errorf(connectors.EForbidden, "the state belongs to another user")
	}
	m, err := s.manifest(in.Connector)
	if err != nil {
		return nil, err
	}
	if in.Error != "" {
		// The user said no at the provider: burn the state, keep nothing.
		_, _ = s.store.ConsumeState(ctx, claims.Nonce)
		return nil, connectors.Errorf(connectors.EInvalid, "the provider refused the authorization: %s", safeReason(in.Error, in.ErrorDescription))
	}

	req := connectors.CompleteRequest{
		Connector: m.ID, ProviderConfigKey: m.ProviderConfigKey, ConnectionID: in.ConnectionID, Code: in.Code,
		OrganizationID: claims.OrgID, UserID: claims.UserID,
	}
	var (
		g    *connectors.Grant
		st   *connectors.OAuthState
		prov connectors.Provider
	)
	// The flow's provider is the one routing chose at authorize, which the
	// stored state names: routing now could differ (a policy changed, or
	// the flow reconnects a connection held by another provider).
	if in.Code == "" {
		// The provider made the connection (Nango and Composio name it;
		// Panora's magic link returns nothing, and the provider finds the
		// user's): read it back and check it is the state's user's before
		// the state is spent, so that an outage does not burn it, yet
		// before any write, so that a replay never writes twice.
		peek, err := s.store.GetState(ctx, claims.Nonce)
		if err != nil {
			return nil, stateError(err)
		}
		if prov, err = s.flowProvider(peek); err != nil {
			return nil, err
		}
		if g, err = prov.Complete(ctx, req); err != nil {
			if connectors.ErrorCode(err) == connectors.ENotFound {
				return nil, connectors.Errorf(connectors.EInvalid, "%s has no connection %s for %s", prov.Name(), in.ConnectionID, m.ID)
			}
			return nil, err
		}
		if o := g.Owner; o != nil && (o.UserID != claims.UserID || o.OrganizationID != claims.OrgID) {
			return nil, connectors.Errorf(connectors.EForbidden, "the connection does not belong to this user")
		}
		if st, err = s.consume(ctx, claims, prov.Name()); err != nil {
			return nil, err
		}
		if st.ConnectionID != "" && st.ConnectionID != g.ConnectionID {
			return nil, connectors.Errorf(connectors.EInvalidState, "the state was issued to reconnect another connection")
		}
	} else {
		// A code is single use: the state is spent before the code is.
		if st, err = s.consume(ctx, claims, ""); err != nil {
			return nil, err
		}
		if prov, err = s.flowProvider(st); err != nil {
			return nil, err
		}
		if req.Verifier, err = s.openVerifier(ctx, st); err != nil {
			return nil, err
		}
		if g, err = prov.Complete(ctx, req); err != nil {
			return nil, err
		}
	}
	conn, err := s.record(ctx, st.OrganizationID, st.UserID, st.ConnectionID, m, prov.Name(), g)
	if errors.Is(err, connectors.ErrOwned) {
		s.heldElsewhere(ctx, connectors.ProviderConnection{AuthProvider: prov.Name(), ProviderConfigKey: g.ProviderConfigKey, ConnectionID: g.ConnectionID}, connectors.Owner{OrganizationID: claims.OrgID, UserID: claims.UserID}, m.ID, "callback for a connection held by another record")
		return nil, connectors.Errorf(connectors.EForbidden, "the connection does not belong to this user")
	}
	if err != nil {
		return nil, err
	}
	in.ConnectionID = conn.ID // for the audit event
	return &CallbackResult{Connection: conn, RedirectURI: st.RedirectURI}, nil
}

// consume takes the stored state once and checks it says what the signed
// one says.
func (s *Service) consume(ctx context.Context, c stateClaims, provider connectors.AuthProvider) (*connectors.OAuthState, error) {
	st, err := s.store.ConsumeState(ctx, c.Nonce)
	if err != nil {
		return nil, stateError(err)
	}
	if st.OrganizationID != c.OrgID || st.UserID != c.UserID || st.Connector != c.Connector || (provider != "" && st.AuthProvider != provider) {
		return nil, connectors.Errorf(connectors.EInvalidState, "the state is invalid, expired or already used")
	}
	return st, nil
}

// stateError is a store's answer for a state: invalid_state as it is,
// anything else a failure of the store.
func stateError(err error) error {
	if errors.Is(err, connectors.ErrInvalidState) {
		return err
	}
	return fmt.Errorf("load state: %w", err)
}

// flowProvider is the provider of the flow st started. One this
// deployment no longer has cannot complete it.
func (s *Service) flowProvider(st *connectors.OAuthState) (connectors.Provider, error) {
	p, err := s.providers.Get(st.AuthProvider)
	if err != nil {
		return nil, connectors.Errorf(connectors.EInvalidState, "the state is invalid, expired or already used")
	}
	return p, nil
}

// openVerifier opens the verifier a state keeps ("" when it keeps none).
func (s *Service) openVerifier(ctx context.Context, st *connectors.OAuthState) (string, error) {
	if len(st.SealedVerifier) == 0 {
		return "", nil
	}
	v, err := s.sealer.OpenFor(ctx, st.OrganizationID, seal.PurposeVerifier, stateAAD(st.Nonce), st.SealedVerifier)
	if err != nil {
		return "", fmt.Errorf("open verifier: %w", err)
	}
	return string(v), nil
}

// safeReason keeps a provider's error short and printable.
func safeReason(code, desc string) string {
	r := truncate(code, 64)
	if desc != "" {
		r += " (" + truncate(desc, 200) + ")"
	}
	return r
}
