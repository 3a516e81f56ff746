package connect

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"maps"
	"slices"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
)

// CreateParams is an API-key connection to create: the fields the
// connector's API-key mode names, and an optional label.
type CreateParams struct {
	Connector   string
	Credentials map[string]string
	Label       string
}

// Create connects a connector with credentials the caller pasted (routing
// step 2). The credentials are tested at the provider before anything is
// stored: a refusal is EInvalidCredentials with the provider's reason, an
// outage EUnavailable, and either leaves nothing behind. They are sealed
// with the organization's data key and never answered.
//
// The same credentials posted again by the same user for the same
// connector are the same connection (its id is derived from them), so a
// retried or concurrent identical request answers the one record.
func (s *Service) Create(ctx context.Context, p connectors.Principal, in CreateParams) (c *connectors.Connection, err error) {
	id := ""
	defer func() { s.audit(ctx, p, "create", id, in.Connector, err) }()
	m, err := s.manifest(in.Connector)
	if err != nil {
		return nil, err
	}
	if !m.AcceptsAPIKey() {
		return nil, connectors.Errorf(connectors.EInvalid, "%s does not accept an API key; connect it with OAuth", m.ID)
	}
	if err := connectors.ValidLabel(in.Label); err != nil {
		return nil, err
	}
	decision, err := s.router.Route(router.Input{Manifest: m, OrganizationID: p.OrganizationID, WantAPIKey: true})
	if err != nil {
		return nil, err
	}
	prov, err := s.providers.Get(decision.Target)
	if err != nil {
		return nil, err
	}
	g, err := s.testFields(ctx, prov, m, in.Credentials)
	if err != nil {
		return nil, err
	}
	id = s.apiKeyID(p, m.ID, in.Credentials)
	sealed, err := s.tokens.SealToken(ctx, p.OrganizationID, id, *g.Token)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return s.upsert(ctx, p.OrganizationID, id, p.UserID, func(c *connectors.Connection) {
		c.Connector = m.ID
		c.AuthProvider = prov.Name()
		c.Scopes = []string{}
		c.Status = connectors.StatusActive
		c.Label = in.Label
		if c.SealedToken == nil {
			// A retry finds the record made: its sealed key is the same
			// key, and re-sealing it would only write a new version.
			c.SealedToken = sealed
			c.LastRefreshedAt = now
			c.CheckAt = g.CheckAt
		}
	})
}

// RotateCredentials replaces the credentials of one of the caller's
// API-key connections, tested first exactly as Create tests them: a
// refusal leaves the old ones in place.
func (s *Service) RotateCredentials(ctx context.Context, p connectors.Principal, id string, fields map[string]string) (c *connectors.Connection, err error) {
	connector := ""
	defer func() { s.audit(ctx, p, "rotate_credentials", id, connector, err) }()
	c, err = s.managed(ctx, p, id)
	if err != nil {
		return nil, err
	}
	connector = c.Connector
	// A connection is rotated when what it keeps is submitted fields, not
	// a grant some flow made: that is data, whichever provider holds it.
	notKey := connectors.Errorf(connectors.EInvalid, "connection %s holds no API key (it is connected through %s); reconnect it instead", c.ID, c.AuthProvider)
	if len(c.SealedToken) == 0 {
		return nil, notKey
	}
	if held, err := s.tokens.OpenToken(ctx, c); err != nil {
		return nil, err
	} else if len(held.Fields) == 0 {
		return nil, notKey
	}
	m, err := s.manifest(c.Connector)
	if err != nil {
		return nil, err
	}
	prov, err := s.tokens.Provider(c)
	if err != nil {
		return nil, err
	}
	g, err := s.testFields(ctx, prov, m, fields)
	if err != nil {
		return nil, err
	}
	sealed, err := s.tokens.SealToken(ctx, c.OrganizationID, c.ID, *g.Token)
	if err != nil {
		return nil, err
	}
	now := s.now()
	defer s.tokens.Forget(c)
	return s.tokens.Save(ctx, c, func(c *connectors.Connection) error {
		c.SealedToken = sealed
		c.Status = connectors.StatusActive
		c.LastRefreshedAt = now
		c.CheckAt = g.CheckAt
		return nil
	})
}

// testFields checks fields against m's API-key mode, then has the provider
// test them; the grant holds them as the token to seal.
func (s *Service) testFields(ctx context.Context, prov connectors.Provider, m registry.Manifest, fields map[string]string) (*connectors.Grant, error) {
	if err := m.CheckFields(fields); err != nil {
		return nil, err
	}
	g, err := prov.Complete(ctx, connectors.CompleteRequest{Connector: m.ID, Fields: fields})
	if err != nil {
		return nil, err
	}
	if g.Token == nil {
		return nil, connectors.Errorf(connectors.EInternal, "%s kept no credentials for %s", prov.Name(), m.ID)
	}
	return g, nil
}

// apiKeyID names an API-key connection after its owner, connector and
// credentials, keyed with the deployment's id key so that the id says
// nothing about the credentials to whoever reads it.
func (s *Service) apiKeyID(p connectors.Principal, connector string, fields map[string]string) string {
	mac := hmac.New(sha256.New, s.idKey)
	for _, part := range []string{p.OrganizationID, p.UserID, connector} {
		mac.Write([]byte(part))
		mac.Write([]byte{0})
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		mac.Write([]byte(k))
		mac.Write([]byte{0})
		mac.Write([]byte(fields[k]))
		mac.Write([]byte{0})
	}
	return "key-" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:18])
}
