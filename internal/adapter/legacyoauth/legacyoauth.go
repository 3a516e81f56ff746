// Package legacyoauth is the built-in OAuth 2.0 kept for Gmail and Outlook
// (router step 12): authorization code with PKCE through golang.org/x/oauth2
// against Google's and Microsoft's endpoints, refresh, and best-effort
// revocation.
package legacyoauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/endpoints"

	"github.com/automators/connectors/internal/connectors"
)

// Provider is one OAuth authorization server.
type Provider struct {
	Config    oauth2.Config
	RevokeURL string // "" when the provider has no token revocation endpoint
	// AuthParams are extra authorization parameters (offline access).
	AuthParams []oauth2.AuthCodeOption
	// Missing names the settings this provider lacks (secret keys such as
	// google_client_secret, or PUBLIC_URL); while it has any, every call
	// answers not_configured naming them.
	Missing []string
}

// Google returns Google's provider. Offline access and a forced consent
// screen make Google return a refresh token every time.
func Google(clientID, clientSecret, redirectURL string) *Provider {
	return &Provider{
		Config: oauth2.Config{
			ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
			Endpoint: withParams(endpoints.Google),
		},
		RevokeURL:  "https://oauth2.googleapis.com/revoke",
		AuthParams: []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.SetAuthURLParam("prompt", "consent")},
	}
}

// Microsoft returns the Microsoft identity platform (common tenant).
// Microsoft offers no token revocation endpoint; offline access comes from
// the offline_access scope.
func Microsoft(clientID, clientSecret, redirectURL string) *Provider {
	return &Provider{
		Config: oauth2.Config{
			ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirectURL,
			Endpoint: withParams(endpoints.AzureAD("common")),
		},
	}
}

// withParams sends the client credentials in the form body, which both
// Google and Microsoft accept; left to guess, x/oauth2 would try a second
// style after a refusal and spend two token requests on one refused grant.
func withParams(e oauth2.Endpoint) oauth2.Endpoint {
	e.AuthStyle = oauth2.AuthStyleInParams
	return e
}

func fromOAuth2(t *oauth2.Token) connectors.Token {
	return connectors.Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, Expiry: t.Expiry}
}

func toOAuth2(t connectors.Token) *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, Expiry: t.Expiry}
}

// Client serves the built-in OAuth connectors.
type Client struct {
	providers map[string]*Provider // by connector id
	http      *http.Client
}

// New returns a client; providers maps a connector id ("gmail", "outlook")
// to its authorization server. A nil entry means not configured.
func New(httpClient *http.Client, providers map[string]*Provider) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{providers: providers, http: httpClient}
}

func (c *Client) provider(connector string) (*Provider, error) {
	p := c.providers[connector]
	if p != nil && len(p.Missing) > 0 {
		return nil, connectors.Errorf(connectors.ENotConfigured, "built-in OAuth for %s is not configured: %s not set", connector, strings.Join(p.Missing, ", "))
	}
	if p == nil || p.Config.ClientID == "" {
		return nil, connectors.Errorf(connectors.ENotConfigured, "built-in OAuth for %s is not configured", connector)
	}
	return p, nil
}

func (c *Client) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.http)
}

// AuthCodeURL returns the authorization URL with PKCE (S256) for verifier.
func (c *Client) AuthCodeURL(connector, state, verifier string, scopes []string) (string, error) {
	p, err := c.provider(connector)
	if err != nil {
		return "", err
	}
	cfg := p.Config
	cfg.Scopes = scopes
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, p.AuthParams...)
	return cfg.AuthCodeURL(state, opts...), nil
}

// Exchange trades an authorization code and its PKCE verifier for a token.
func (c *Client) Exchange(ctx context.Context, connector, code, verifier string) (connectors.Token, error) {
	p, err := c.provider(connector)
	if err != nil {
		return connectors.Token{}, err
	}
	t, err := p.Config.Exchange(c.ctx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		err = mapError("exchange code", err)
		if errors.Is(err, ErrRefused) {
			// A refused code is a bad request (reused, expired or forged),
			// not a connection that needs the user to reconnect.
			return connectors.Token{}, connectors.Errorf(connectors.EInvalid, "the provider refused the authorization code")
		}
		return connectors.Token{}, err
	}
	return fromOAuth2(t), nil
}

// Refresh returns a fresh token for t. A provider that keeps the refresh
// token answers none; the old one is kept then.
func (c *Client) Refresh(ctx context.Context, connector string, t connectors.Token) (connectors.Token, error) {
	p, err := c.provider(connector)
	if err != nil {
		return connectors.Token{}, err
	}
	old := toOAuth2(t)
	old.Expiry = time.Unix(1, 0) // force the token source to refresh
	nt, err := p.Config.TokenSource(c.ctx(ctx), old).Token()
	if err != nil {
		return connectors.Token{}, mapError("refresh token", err)
	}
	out := fromOAuth2(nt)
	if out.RefreshToken == "" {
		out.RefreshToken = t.RefreshToken
	}
	return out, nil
}

// Revoke revokes t at the provider. It reports whether the provider supports
// revocation at all.
func (c *Client) Revoke(ctx context.Context, connector string, t connectors.Token) (bool, error) {
	p, err := c.provider(connector)
	if err != nil {
		return false, err
	}
	if p.RevokeURL == "" {
		return false, nil
	}
	tok := t.RefreshToken
	if tok == "" {
		tok = t.AccessToken
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.RevokeURL, strings.NewReader(url.Values{"token": {tok}}.Encode()))
	if err != nil {
		return true, fmt.Errorf("revoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		return true, connectors.Wrap(redactURLError(err), connectors.EUnavailable, "revocation endpoint unreachable")
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusBadRequest {
		// 400 means the token is already invalid: revoked is revoked.
		return true, connectors.Errorf(connectors.EUpstream, "revocation answered %d", resp.StatusCode)
	}
	return true, nil
}

// mapError turns x/oauth2 errors into domain errors. The provider's
// error code (invalid_grant, ...) is kept; the response body is not, since
// it may echo what was sent.
func mapError(op string, err error) error {
	if re, ok := err.(*oauth2.RetrieveError); ok {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		switch {
		case re.ErrorCode == "invalid_grant" || re.ErrorCode == "unauthorized_client" || status == http.StatusUnauthorized:
			return &connectors.Error{Code: connectors.EReauthRequired, Message: fmt.Sprintf("%s: the provider refused (%s)", op, re.ErrorCode), Err: ErrRefused}
		case status == http.StatusTooManyRequests:
			return connectors.Errorf(connectors.ERateLimited, "%s: the provider is rate limiting", op)
		case status >= 500:
			// A provider outage passes: retryable, like an unreachable one.
			return connectors.Errorf(connectors.EUnavailable, "%s: the provider answered %d", op, status)
		default:
			return connectors.Errorf(connectors.EUpstream, "%s: the provider answered %d %s", op, status, re.ErrorCode)
		}
	}
	return connectors.Wrap(redactURLError(err), connectors.EUnavailable, op+": the provider is unreachable")
}

// ErrRefused marks a grant the provider refused: the user must reconnect.
var ErrRefused = errors.New("grant refused")

// redactURLError drops the URL of a *url.Error, which may carry a token in
// its query.
func redactURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
