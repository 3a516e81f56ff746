package connect

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/router"
	"github.com/automators/connectors/internal/seal"
)

// Authorization is the answer to authorize.
type Authorization struct {
	Provider            string          `json:"provider"`
	Route               router.Decision `json:"route"`
	AuthorizationURL    string          `json:"authorizationUrl"`
	ConnectSessionToken string          `json:"connectSessionToken,omitempty"`
	State               string          `json:"state"`
	ExpiresAt           time.Time       `json:"expiresAt"`
}

// AuthorizeParams are the inputs of authorize besides the caller.
type AuthorizeParams struct {
	Connector    string
	RedirectURI  string
	ConnectionID string // reconnect an existing connection
}

// Authorize starts connecting an app: it routes the connector, stores a
// single-use state and returns where to send the user.
func (s *Service) Authorize(ctx context.Context, p connectors.Principal, in AuthorizeParams) (_ *Authorization, err error) {
	defer func() { s.audit(ctx, p, "authorize", in.ConnectionID, in.Connector, err) }()
	m, err := s.manifest(in.Connector)
	if err != nil {
		return nil, err
	}
	if err := s.checkRedirect(in.RedirectURI); err != nil {
		return nil, err
	}
	var existing *connectors.Connection
	if in.ConnectionID != "" {
		existing, err = s.managed(ctx, p, in.ConnectionID)
		if err != nil {
			return nil, err
		}
		if existing.Connector != m.ID {
			return nil, connectors.Errorf(connectors.EInvalid, "connection %s is not a %s connection", existing.ID, m.ID)
		}
		if existing.UserID != p.UserID {
			// The grant is the owner's: an admin's reconnect would put the
			// admin's account behind the member's connection.
			return nil, connectors.Errorf(connectors.EForbidden, "only the owner of connection %s can reconnect it; an admin may delete it instead", existing.ID)
		}
	}
	decision, err := s.router.Route(router.Input{Manifest: m, OrganizationID: p.OrganizationID, Existing: existing})
	if err != nil {
		return nil, err
	}
	prov, err := s.providers.Get(decision.Target)
	if err != nil {
		return nil, connectors.Errorf(connectors.ENotConfigured, "%s connects through %s, which has no authorize flow", m.ID, decision.Target)
	}
	now := s.now()
	st := &connectors.OAuthState{
		Nonce:          randomToken(24),
		OrganizationID: p.OrganizationID,
		UserID:         p.UserID,
		Connector:      m.ID,
		AuthProvider:   decision.Target,
		RedirectURI:    in.RedirectURI,
		ConnectionID:   in.ConnectionID,
		CreatedAt:      now,
		ExpiresAt:      now.Add(StateTTL),
	}
	state := signState(s.stateKey, stateClaims{Nonce: st.Nonce, OrgID: st.OrganizationID, UserID: st.UserID, Connector: st.Connector, Expires: st.ExpiresAt.Unix()})
	flow, err := prov.Connect(ctx, connectors.ConnectRequest{
		Connector: m.ID, ProviderConfigKey: m.ProviderConfigKey, Scopes: m.Scopes,
		OrganizationID: p.OrganizationID, UserID: p.UserID, State: state, Nonce: st.Nonce, Reconnect: existing,
	})
	if err != nil {
		return nil, err
	}
	if flow.Verifier != "" {
		st.SealedVerifier, err = s.sealVerifier(ctx, st, flow.Verifier)
		if err != nil {
			return nil, err
		}
	}
	out := &Authorization{
		Provider: m.ID, Route: decision, State: state, ExpiresAt: st.ExpiresAt.UTC(),
		AuthorizationURL: flow.AuthorizationURL, ConnectSessionToken: flow.SessionToken,
	}
	if err := s.store.CreateState(ctx, st); err != nil {
		return nil, fmt.Errorf("store state: %w", err)
	}
	return out, nil
}

// checkRedirect allows a redirect_uri only to an allow-listed origin.
func (s *Service) checkRedirect(raw string) error {
	if raw == "" {
		return nil
	}
	bad := connectors.Errorf(connectors.EInvalid, "redirect_uri is not allowed")
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return bad
	}
	// The allow-list holds lower-case origins (config.ParseOrigin); hosts
	// compare case-insensitively, as browsers do.
	if !slices.Contains(s.redirects, u.Scheme+"://"+strings.ToLower(u.Host)) {
		return bad
	}
	return nil
}

// sealVerifier seals a flow's verifier into its state.
func (s *Service) sealVerifier(ctx context.Context, st *connectors.OAuthState, verifier string) ([]byte, error) {
	sealed, err := s.sealer.SealFor(ctx, st.OrganizationID, seal.PurposeVerifier, stateAAD(st.Nonce), []byte(verifier))
	if err != nil {
		return nil, fmt.Errorf("seal verifier: %w", err)
	}
	return sealed, nil
}
