package actions

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/automators/connectors/internal/connectors"
)

// Verify proves API-key credentials a user submitted (built with
// registry.Manifest.FieldCredentials) before they are stored: one cheap,
// documented, read-only call to the provider (Stripe GET /v1/balance,
// Asana GET /users/me, HubSpot GET /account-info/v3/details, Shopify a
// { shop { name } } Admin GraphQL query, Trello GET /members/me), sent
// directly with doer. baseURL, when set, replaces the provider's origin
// as Request.BaseURL does.
//
// It returns nil when the provider accepts the credentials (2xx), and
// otherwise a *connectors.Error:
//
//	401, 403, other 4xx          EInvalidCredentials, with the provider's reason
//	429                          ERateLimited, with RetryAfter
//	408, 5xx, network errors     EUnavailable
//	credentials lacking a value  EInvalid (nothing is sent)
//	a connector without API keys EInvalid; an unknown one EUnknownConnector
//
// No message holds a credential: provider text is scrubbed of them, and
// a transport error's URL loses its query.
func (cat *Catalogue) Verify(ctx context.Context, doer Doer, connector string, creds connectors.Credentials, baseURL string) error {
	s, ok := cat.verify[connector]
	if !ok {
		if _, known := cat.names[connector]; !known {
			return connectors.Errorf(connectors.EUnknownConnector, "unknown connector %q", connector)
		}
		return connectors.Errorf(connectors.EInvalid, "%s has no credential test call: it accepts no API key", connector)
	}
	req := Request{Connector: connector, Credentials: creds, BaseURL: baseURL}
	c := &call{method: http.MethodGet, header: http.Header{}}
	if err := s.build(nil, req, c); err != nil {
		return err
	}
	status, header, body, err := s.sendDirect(ctx, doer, req, c)
	if connectors.ErrorCode(err) == connectors.EUnauthorized {
		// Only an auth function answers EUnauthorized before a response:
		// the credentials lack what the call sends.
		return connectors.Wrap(err, connectors.EInvalid, fmt.Sprintf("%s: the credentials lack a value the test call needs", connector))
	}
	if err != nil {
		return err
	}
	return refused(connector, c.rateLimit(s.answer(s.credential, status, header, body, creds), body))
}

// refused turns a provider's refusal of the test call (a 4xx other than
// 408 and 429, or a 2xx that failed, as GraphQL does) into
// EInvalidCredentials; rate limits and outages keep their codes.
func refused(connector string, err error) error {
	var ce *connectors.Error
	var pe *ProviderError
	if !errors.As(err, &ce) || !errors.As(err, &pe) {
		return err
	}
	switch {
	case ce.Code == connectors.ERateLimited || ce.Code == connectors.EUnavailable:
		return err
	case ce.Code == connectors.EInvalidCredentials, pe.Status >= 400 && pe.Status < 500:
		return &connectors.Error{
			Code:    connectors.EInvalidCredentials,
			Message: fmt.Sprintf("%s refused the credentials: %s", connector, pe.Message),
			Err:     pe,
		}
	}
	return err
}
