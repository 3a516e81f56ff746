// Package panora is Panora (https://panora.dev) as an auth provider: a small
// client for the parts of Panora's unified API this service uses (linked
// users, magic links, connections, the passthrough), the verification of the
// webhooks Panora sends, and Provider, which implements connectors.Provider
// on them.
//
// Panora keeps the provider's tokens. What it hands out per connection is a
// connection token (a UUID, the `x-connection-token` of every unified and
// passthrough call); this service keeps it sealed in the connection's record
// and sends every provider request through Panora's passthrough.
//
// One Client is built per cold start and shared: it holds one keep-alive
// transport, bounds each attempt with a per-call timeout, and bounds the whole
// call with the caller's context.
//
// Retry policy. Only calls that are safe to repeat are retried, on 5xx
// answers, network errors and 429 (honouring Retry-After): the GETs (linked
// users, connections, a queued passthrough's result). Creating a linked user
// or a magic link (POST) is never retried: each attempt would create another
// one (Panora has no unique constraint on linked_user_origin_id). The
// passthrough is never retried by the client: its upstream effects are
// unknown, and Panora queues and repeats a rate-limited request itself.
//
// What this package follows that Panora's OpenAPI document does not say
// comes from Panora's source (github.com/panoratech/Panora at c6741e9e, the
// commit the document comes from); each place names the file. It is read,
// not copied. In short (paths under packages/api/src unless said):
//   - magic links: the request is CreateMagicLinkDto
//     (@core/magic-link/dto/create-magic-link.dto.ts), the answer the
//     invite_links row (packages/api/prisma/schema.prisma) that
//     createUniqueLink returns (@core/magic-link/magic-link.service.ts),
//     the route is guarded by the dashboard's JWT, not the API key
//     (@core/magic-link/magic-link.controller.ts), and the page is
//     <connect host>/?uniqueLink=<id> (apps/magic-link/src/lib/
//     ProviderModal.tsx; hosts in packages/api/variables.MD);
//   - linked users: lookups are not bound to the project and answer nothing
//     for no match (@core/linked-users/linked-users.service.ts); origin ids
//     are not unique (prisma/schema.prisma, model linked_users);
//   - connections: statuses ("valid") and in-place updates on reconnect
//     (@core/connections/crm/services/hubspot/hubspot.service.ts and its
//     siblings); the project's active apps (packages/shared/src/
//     connectors/metadata.ts);
//   - passthrough: request_format and headers (@core/passthrough/dto/
//     passthrough.dto.ts, @core/connections/@utils/base.service.ts), the
//     answers and the queued retry (@core/passthrough/passthrough.service.ts,
//     @core/passthrough/types/index.ts, @core/@core-services/request-retry/
//     retry.handler.ts and retry.consumer.ts), an unknown connection token
//     (@core/connections/@utils/index.ts);
//   - errors: @core/utils/exception.filter.ts;
//   - webhooks: the header, the body and the HMAC
//     (@core/@core-services/webhooks/panora-webhooks/webhook.processor.ts
//     and webhook.service.ts), the event names (packages/shared/src/
//     webhookScopes.ts).
package panora

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/automators/connectors/internal/httpcall"
)

// Version names this client in the User-Agent. It is set at build time with
// -ldflags "-X github.com/automators/connectors/internal/adapter/panora.Version=1.2.3".
var Version = "dev"

// DefaultHost is Panora's cloud API.
const DefaultHost = "https://api.panora.dev"

// Defaults for New.
const (
	DefaultCallTimeout = httpcall.DefaultCallTimeout
	DefaultMaxRetries  = httpcall.DefaultMaxRetries
	DefaultBackoffBase = httpcall.DefaultBackoffBase
	DefaultBackoffMax  = httpcall.DefaultBackoffMax
)

// Headers of Panora's API.
const (
	// HeaderAPIKey carries the project's API key (the document's api_key
	// security scheme).
	HeaderAPIKey = "x-api-key"
	// HeaderConnectionToken names the connection of a unified or
	// passthrough call.
	HeaderConnectionToken = "x-connection-token"
)

// Client calls Panora's API with a project's API key. It is safe for
// concurrent use. It never prints its secrets.
type Client struct {
	host           string // base URL without a trailing slash
	apiKey         string
	dashboardToken string // Bearer for POST /magic_links, when set
	hc             *http.Client
	callTimeout    time.Duration
	maxRetries     int
	backoffBase    time.Duration
	backoffMax     time.Duration
	userAgent      string
}

// String never shows the secrets.
func (c *Client) String() string { return "panora.Client{host:" + c.host + "}" }

// GoString is String.
func (c *Client) GoString() string { return c.String() }

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the shared keep-alive client (tests use it to
// observe or validate traffic). Its Timeout, if any, applies on top of the
// per-call timeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithMaxRetries sets how many times a retryable call is repeated after its
// first attempt (default 3; 0 disables retries).
func WithMaxRetries(n int) Option {
	return func(c *Client) {
		if n >= 0 {
			c.maxRetries = n
		}
	}
}

// WithBackoff sets the exponential back-off between attempts: the wait
// before retry n is min(max, base*2^(n-1)) randomised by ±50%, unless Panora
// said how long to wait with Retry-After.
func WithBackoff(base, max time.Duration) Option {
	return func(c *Client) {
		if base > 0 {
			c.backoffBase = base
		}
		if max > 0 {
			c.backoffMax = max
		}
	}
}

// WithCallTimeout bounds each attempt (default DefaultCallTimeout); the
// caller's context still bounds the whole call.
func WithCallTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.callTimeout = d
		}
	}
}

// WithDashboardToken sets the bearer token sent with POST /magic_links.
// Panora guards that route with its dashboard's JWT guard, not the API key
// (packages/api/src/@core/magic-link/magic-link.controller.ts:
// @UseGuards(JwtAuthGuard); the guard reads `Authorization: Bearer`,
// packages/api/src/@core/auth/strategies/jwt.strategy.ts), so a deployment
// that creates magic links needs a dashboard session's token besides the
// API key. Without it the client sends the API key only, which Panora's
// cloud refuses with 401 there.
func WithDashboardToken(token string) Option {
	return func(c *Client) { c.dashboardToken = token }
}

// New returns a client for the Panora API at host (DefaultHost when empty)
// authenticated with apiKey.
func New(host, apiKey string, opts ...Option) *Client {
	if host == "" {
		host = DefaultHost
	}
	c := &Client{
		host:        strings.TrimRight(host, "/"),
		apiKey:      apiKey,
		hc:          httpcall.SharedClient(),
		callTimeout: DefaultCallTimeout,
		maxRetries:  DefaultMaxRetries,
		backoffBase: DefaultBackoffBase,
		backoffMax:  DefaultBackoffMax,
		userAgent:   "automators-connectors/" + Version + " (+panora-go)",
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// request is one logical call; send may make several attempts of it.
type request struct {
	method string
	path   string // escaped path, e.g. "/linked_users/abc"
	op     string // for error messages: method and path template, never a query
	query  url.Values
	header http.Header
	body   []byte
	retry  bool     // safe to repeat (see the package comment)
	bearer string   // Authorization: Bearer, when set (magic links)
	hide   []string // secrets of this call (a connection token), scrubbed from errors
}

// response is a complete answer of Panora.
type response = httpcall.Response

// callError reports that no answer came from Panora: a network error, a
// timeout, or the caller's context ending. IsUnavailable matches it.
type callError struct {
	op  string
	err error
}

// Error names the operation and the cause, never the URL or a secret.
func (e *callError) Error() string { return "panora: " + e.op + ": " + e.err.Error() }

// Unwrap gives the cause, so errors.Is sees a context's error.
func (e *callError) Unwrap() error { return e.err }

// secrets are the values no error of r may show.
func (c *Client) secrets(r *request) []string {
	return append([]string{c.apiKey, c.dashboardToken}, r.hide...)
}

// do sends r, decodes a 2xx JSON answer into out (when out is not nil), and
// turns any other answer into an *APIError. A 2xx answer with an empty body
// (or `null`), which is how Panora answers a lookup that matched nothing,
// leaves out untouched and reports found = false.
func (c *Client) do(ctx context.Context, r *request, out any) (found bool, err error) {
	resp, err := c.send(ctx, r, nil)
	if err != nil {
		return false, err
	}
	if resp.Status/100 != 2 {
		return false, parseAPIError(r.op, resp, c.secrets(r))
	}
	b := bytes.TrimSpace(resp.Body)
	if len(b) == 0 || string(b) == "null" {
		return false, nil
	}
	if out == nil {
		return true, nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return false, fmt.Errorf("panora: %s: decoding answer: %w", r.op, err)
	}
	return true, nil
}

// doJSON is do with a JSON request body.
func (c *Client) doJSON(ctx context.Context, r *request, in, out any) (bool, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return false, fmt.Errorf("panora: %s: encoding request: %w", r.op, err)
	}
	r.body = b
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set("Content-Type", "application/json")
	return c.do(ctx, r, out)
}

// policy is the client's retry settings, read at each call so that options
// set plain fields.
func (c *Client) policy() httpcall.Policy {
	return httpcall.Policy{
		Client:      c.hc,
		CallTimeout: c.callTimeout,
		MaxRetries:  c.maxRetries,
		BackoffBase: c.backoffBase,
		BackoffMax:  c.backoffMax,
	}
}

// send sends r with the API key (and r's bearer) and Panora's headers,
// retrying it as the package comment says; retryStatus nil means
// httpcall.RetryableStatus. It returns an error only when it has no answer
// to give: a *callError, which wraps the last answer's *APIError when the
// caller's context ended after one.
func (c *Client) send(ctx context.Context, r *request, retryStatus func(int) bool) (*response, error) {
	u := c.host + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	h := r.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set(HeaderAPIKey, c.apiKey)
	if r.bearer != "" {
		h.Set("Authorization", "Bearer "+r.bearer)
	}
	h.Set("User-Agent", c.userAgent)
	if h.Get("Accept") == "" {
		h.Set("Accept", "application/json")
	}
	resp, err := c.policy().Send(ctx, &httpcall.Request{
		Method: r.method, URL: u, Header: h, Body: r.body,
		Retry: r.retry, RetryStatus: retryStatus,
		AnswerError: func(resp *response) error { return parseAPIError(r.op, resp, c.secrets(r)) },
	})
	if err != nil {
		return nil, &callError{op: r.op, err: err}
	}
	return resp, nil
}
