// Package actions runs connector actions (the integration.<connector>.<action>
// nodes of a workflow) against each provider's real, documented API.
//
// An action validates its parameters, builds one HTTP request, sends it
// through a Doer (an *http.Client) or, for OAuth 1.0a connections such as
// Trello's whose requests Nango signs, through a Proxy, and decodes the
// answer. Each action declares the credential it sends (Action.Credential):
// the connection's own (an OAuth token, or an API key the user submitted),
// or an app credential of the deployment (Discord's bot token, in
// Credentials.AppToken). An action may have a guard: GET requests sent
// before its own, which decide whether it may be sent (Discord's
// send_message checks that the channel is in one of the user's servers).
// Failures are *connectors.Error values with codes an executor maps
// to its error names:
//
//	invalid parameters           EInvalid (naming the field; cause *ParamError)
//	401                          EUnauthorized (refresh the token, retry once)
//	429 and provider rate limits ERateLimited, with RetryAfter
//	408, 5xx, network errors     EUnavailable
//	other 4xx, ok:false          EUpstream, with the provider's message
//	a scope the token lacks      EForbidden (Shopify's ACCESS_DENIED), naming it
//
// Provider failures carry a *ProviderError cause. No message ever holds a
// credential: provider text is scrubbed of the request's tokens.
//
// A Catalogue, built once with NewCatalogue over the registry, holds every
// connector's actions; the registry's action lists (and each action's
// credential) are derived from it, so action names are written only here.
// Catalogue.Verify proves API-key credentials with one read-only call per
// connector that accepts them.
//
// The package imports nothing of AWS and holds no package state:
// credentials come with each Request.
package actions

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// Doer sends an HTTP request; *http.Client is one.
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Request is one action to run.
type Request struct {
	Connector   string         // registry id, e.g. "slack"
	Action      string         // action name, e.g. "send_message"
	Params      map[string]any // the node's parameters, as decoded from JSON
	Credentials connectors.Credentials
	// IdempotencyKey, when set, is passed to providers that deduplicate
	// writes themselves (Stripe's Idempotency-Key).
	IdempotencyKey string
	// BaseURL, when set, replaces the provider's origin (scheme://host[:port])
	// for tests and sandboxes; the documented path (API version and
	// resource) is kept, and connection configuration is not needed for
	// the origin.
	BaseURL string
}

// LogValue implements slog.LogValuer without parameters' values (they may
// hold personal data) and with redacted credentials.
func (r Request) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("connector", r.Connector),
		slog.String("action", r.Action),
		slog.Any("params", slices.Sorted(maps.Keys(r.Params))),
		slog.Any("credentials", r.Credentials),
	)
}

// Action is one operation of a connector.
type Action interface {
	// Connector is the registry id of the action's connector.
	Connector() string
	// Name is the action's name within its connector.
	Name() string
	// Write reports whether the action changes data at the provider, so
	// that an executor records its result before a retry can repeat it.
	Write() bool
	// Params describes the accepted parameters.
	Params() []Param
	// Validate checks params; the error is an EInvalid *connectors.Error
	// naming the field, with a *ParamError cause.
	Validate(params map[string]any) error
	// Credential is what the action's requests authenticate with: the
	// connection's own credentials (registry.CredentialConnection), or an
	// app credential of the deployment (registry.AppCredential), which
	// the caller puts in Credentials.AppToken.
	Credential() registry.Credential
	// Operation is the provider operation the action's request is:
	// "<provider-specs file> <operation id>".
	Operation() string
	// Scopes are the OAuth scopes the action needs; an entry "a|b" is met
	// by either.
	Scopes() []string
}

// maxResponse bounds what is read from a provider: an answer larger than a
// workflow step can carry is an error, not a reason to exhaust memory.
const maxResponse = 8 << 20

// Run validates req, sends its request to the provider and returns the
// provider's answer decoded from JSON (an array answer is under "items").
// doer serves direct calls; proxy serves connectors whose requests Nango
// signs (Trello with an OAuth connection) and may be nil otherwise.
//
// An action that declares an app credential needs Credentials.AppToken
// (ENotConfigured, before anything is sent, without it). An action with
// a guard sends the guard's reads first; the action's own request is
// sent once, after them, or not at all.
func (cat *Catalogue) Run(ctx context.Context, doer Doer, proxy connectors.Proxy, req Request) (map[string]any, error) {
	s, ok := cat.byKey[req.Connector+"."+req.Action]
	if !ok {
		return nil, connectors.Errorf(connectors.EUnknownConnector, "unknown action %s.%s", req.Connector, req.Action)
	}
	args, err := s.validate(req.Params)
	if err != nil {
		return nil, err
	}
	if err := s.ready(req.Credentials); err != nil {
		return nil, err
	}
	c := &call{method: http.MethodGet, header: http.Header{}}
	if err := s.build(args, req, c); err != nil {
		return nil, err
	}
	if s.guard != nil {
		if err := s.guard(&reads{s: s, ctx: ctx, doer: doer, req: req}, args); err != nil {
			return nil, err
		}
	}
	var (
		status int
		header http.Header
		body   []byte
	)
	if s.provider.proxied(req.Credentials) {
		status, header, body, err = s.sendProxy(ctx, proxy, c)
	} else {
		status, header, body, err = s.sendDirect(ctx, doer, req, c)
	}
	if err != nil {
		return nil, err
	}
	if err := s.answer(c.cred(s), status, header, body, req.Credentials); err != nil {
		return nil, c.rateLimit(err, body)
	}
	if c.decode != nil {
		return c.decode(body)
	}
	return decodeOutput(s, body)
}

// call is the request an action builds; the path is relative to the
// manifest's base URL.
type call struct {
	method   string
	path     string
	query    url.Values
	rawQuery string // used instead of query when set (Graph's $-options)
	header   http.Header
	body     []byte
	// credential is what the request authenticates with; "" is the
	// action's own (a guard's reads choose theirs).
	credential registry.Credential
	// decode, when set, reads a successful answer instead of
	// decodeOutput: a GraphQL answer's payload is under data.<field>.
	decode func(body []byte) (map[string]any, error)
	// wait, when set, reads from a rate-limited answer's body how long it
	// asks to wait, when no Retry-After says so (Shopify's GraphQL cost
	// throttle answers 200 and gives its bucket's state).
	wait func(body []byte) time.Duration
}

// rateLimit sets on err, a rate limit without a wait, the wait c.wait
// reads from the answer's body.
func (c *call) rateLimit(err error, body []byte) error {
	var ce *connectors.Error
	if c.wait == nil || !errors.As(err, &ce) || ce.Code != connectors.ERateLimited || ce.RetryAfter > 0 {
		return err
	}
	if d := c.wait(body); d > 0 {
		ce.RetryAfter = d
		var pe *ProviderError
		if errors.As(err, &pe) {
			pe.RetryAfter = d
		}
	}
	return err
}

// cred is the credential c is sent with.
func (c *call) cred(s *spec) registry.Credential {
	if c.credential != "" {
		return c.credential
	}
	return s.credential
}

func (c *call) json(v any) error {
	b, err := marshalJSON(v)
	if err != nil {
		return connectors.Wrap(err, connectors.EInvalid, "parameters cannot be encoded as JSON")
	}
	c.body = b
	c.header.Set("Content-Type", "application/json; charset=utf-8")
	return nil
}

func (c *call) form(v url.Values) {
	c.body = []byte(v.Encode())
	c.header.Set("Content-Type", "application/x-www-form-urlencoded")
}

func (c *call) encodedQuery() string {
	if c.rawQuery != "" {
		return c.rawQuery
	}
	return c.query.Encode()
}

func (s *spec) sendDirect(ctx context.Context, doer Doer, req Request, c *call) (int, http.Header, []byte, error) {
	if doer == nil {
		return 0, nil, nil, connectors.Errorf(connectors.EInternal, "%s: no HTTP client", s.key)
	}
	if req.Credentials.ViaProxy {
		// What such a provider hands out (Panora's connection token) is
		// its own credential, never one to send to the provider's API.
		return 0, nil, nil, connectors.Errorf(connectors.EInternal, "%s: the connection's provider sends its requests itself; none goes directly", s.key)
	}
	base, err := s.baseURL(req)
	if err != nil {
		return 0, nil, nil, err
	}
	u := base + c.path
	if q := c.encodedQuery(); q != "" {
		u += "?" + q
	}
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	hr, err := http.NewRequestWithContext(ctx, c.method, u, body)
	if err != nil {
		return 0, nil, nil, connectors.Wrap(redact(err, req.Credentials), connectors.EInvalid, s.key+": cannot build the request URL")
	}
	hr.Header = c.header
	hr.Header.Set("Accept", "application/json")
	if hr.Header.Get("User-Agent") == "" {
		hr.Header.Set("User-Agent", userAgent)
	}
	if err := s.authorize(c.cred(s), req.Credentials, hr); err != nil {
		return 0, nil, nil, err
	}
	resp, err := doer.Do(hr)
	if err != nil {
		return 0, nil, nil, unavailable(s, redact(err, req.Credentials))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return 0, nil, nil, unavailable(s, redact(err, req.Credentials))
	}
	if len(b) > maxResponse {
		return 0, nil, nil, connectors.Errorf(connectors.EUpstream, "%s: response larger than %d bytes", s.provider.id, maxResponse)
	}
	return resp.StatusCode, resp.Header, b, nil
}

func (s *spec) sendProxy(ctx context.Context, proxy connectors.Proxy, c *call) (int, http.Header, []byte, error) {
	if proxy == nil {
		return 0, nil, nil, connectors.Errorf(connectors.ENotConfigured, "%s: requests go through Nango's proxy, and none is configured", s.provider.id)
	}
	c.header.Set("Accept", "application/json")
	status, header, body, err := proxy.Proxy(ctx, connectors.ProxyCall{
		Method: c.method,
		Path:   s.manifest.BasePath() + c.path,
		Query:  c.query,
		Header: c.header,
		Body:   c.body,
	})
	if err != nil {
		var ce *connectors.Error
		if errors.As(err, &ce) {
			return 0, nil, nil, err // the proxy's adapter already classified it
		}
		return 0, nil, nil, unavailable(s, err)
	}
	if header == nil {
		header = http.Header{}
	}
	return status, header, body, nil
}

func unavailable(s *spec, err error) error {
	return &connectors.Error{
		Code:    connectors.EUnavailable,
		Message: s.provider.id + ": provider unreachable",
		Err:     err,
	}
}

// redact makes a transport error safe to keep as a cause: a *url.Error
// names the request's URL, whose query may carry credentials (Trello's
// key and token), so the query is cut from it; the text that remains is
// scrubbed of the request's credentials. The cause chain below the
// *url.Error (context.DeadlineExceeded, *net.OpError) is kept for
// errors.Is and errors.As.
func redact(err error, c connectors.Credentials) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u, q, _ := strings.Cut(ue.URL, "?")
		if q != "" {
			u += "?[REDACTED]"
		}
		err = &url.Error{Op: ue.Op, URL: u, Err: ue.Err}
	}
	return &redactedError{msg: scrub(err.Error(), c), err: err}
}

// redactedError is an error whose text was scrubbed of credentials.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// baseURL is the manifest's base URL, resolved from the connection's
// configuration, or Request.BaseURL plus the manifest's path.
func (s *spec) baseURL(req Request) (string, error) {
	if req.BaseURL != "" {
		return strings.TrimSuffix(req.BaseURL, "/") + s.manifest.BasePath(), nil
	}
	return s.manifest.ResolveBaseURL(req.Credentials.ConnectionConfig)
}

const userAgent = "automators-connectors/1.0 (+https://github.com/automators/connectors)"
