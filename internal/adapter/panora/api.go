package panora

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/automators/connectors/internal/httpcall"
)

// LinkedUser is a user of this service as Panora files it: the connections
// a user makes through Panora belong to their linked user
// (the document's LinkedUserResponse; every field may be null).
type LinkedUser struct {
	ID        string `json:"id_linked_user"`
	OriginID  string `json:"linked_user_origin_id"` // our id of the user (OriginID)
	Alias     string `json:"alias"`
	ProjectID string `json:"id_project"`
}

// CreateLinkedUserRequest is the body of POST /linked_users
// (the document's CreateLinkedUserDto).
type CreateLinkedUserRequest struct {
	OriginID string `json:"linked_user_origin_id"`
	Alias    string `json:"alias"`
}

// CreateLinkedUser creates a linked user (POST /linked_users, 201). It is
// never retried: Panora does not refuse a second linked user with the same
// origin id, so a repeat would make two.
func (c *Client) CreateLinkedUser(ctx context.Context, in CreateLinkedUserRequest) (*LinkedUser, error) {
	r := &request{method: http.MethodPost, path: "/linked_users", op: "POST /linked_users"}
	var out LinkedUser
	found, err := c.doJSON(ctx, r, in, &out)
	if err != nil {
		return nil, err
	}
	if !found || out.ID == "" {
		return nil, fmt.Errorf("panora: %s: the answer names no linked user", r.op)
	}
	return &out, nil
}

// LinkedUserByOrigin finds a linked user by its origin id
// (GET /linked_users/fromRemoteId?remoteId=). Panora answers 200 with an
// empty body when none matches (the service returns null:
// packages/api/src/@core/linked-users/linked-users.service.ts,
// getLinkedUserV2); that is reported as a 404 *APIError, which IsNotFound
// matches.
//
// Panora looks the origin id up in every project, not only the API key's
// (getLinkedUserV2 filters on linked_user_origin_id alone): the caller
// must check ProjectID.
func (c *Client) LinkedUserByOrigin(ctx context.Context, originID string) (*LinkedUser, error) {
	r := &request{
		method: http.MethodGet, path: "/linked_users/fromRemoteId", op: "GET /linked_users/fromRemoteId",
		query: url.Values{"remoteId": {originID}}, retry: true,
	}
	return c.linkedUser(ctx, r)
}

// LinkedUser reads a linked user by Panora's id (GET /linked_users/{id}).
// None is a 404 *APIError, as for LinkedUserByOrigin; this lookup is not
// bound to the API key's project either.
func (c *Client) LinkedUser(ctx context.Context, id string) (*LinkedUser, error) {
	r := &request{method: http.MethodGet, path: "/linked_users/" + url.PathEscape(id), op: "GET /linked_users/{id}", retry: true}
	return c.linkedUser(ctx, r)
}

func (c *Client) linkedUser(ctx context.Context, r *request) (*LinkedUser, error) {
	var out LinkedUser
	found, err := c.do(ctx, r, &out)
	if err != nil {
		return nil, err
	}
	if !found || out.ID == "" {
		return nil, &APIError{Op: r.op, Status: http.StatusNotFound, Message: "Panora answered no linked user"}
	}
	return &out, nil
}

// ListLinkedUsers lists the API key's project's linked users
// (GET /linked_users). Unlike the lookups, it is bound to the project.
func (c *Client) ListLinkedUsers(ctx context.Context) ([]LinkedUser, error) {
	r := &request{method: http.MethodGet, path: "/linked_users", op: "GET /linked_users", retry: true}
	var out []LinkedUser
	if _, err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// MagicLinkRequest is the body of POST /magic_links. The route is not in
// Panora's OpenAPI document (its controller is @ApiExcludeController); the
// shape is CreateMagicLinkDto
// (packages/api/src/@core/magic-link/dto/create-magic-link.dto.ts).
// Panora files the link under the linked user with this origin id in
// ProjectID, creating one if there is none
// (packages/api/src/@core/magic-link/magic-link.service.ts,
// createUniqueLink).
type MagicLinkRequest struct {
	OriginID  string `json:"linked_user_origin_id"`
	Email     string `json:"email"`
	Alias     string `json:"alias"`
	ProjectID string `json:"id_project"`
}

// MagicLink is the invite link Panora made: the invite_links row
// createUniqueLink returns (packages/api/prisma/schema.prisma, model
// invite_links). The user opens LinkURL(connectHost, ID).
type MagicLink struct {
	ID                 string   `json:"id_invite_link"`
	Status             string   `json:"status"` // "generated"
	Email              *string  `json:"email"`
	LinkedUserID       string   `json:"id_linked_user"`
	DisplayedVerticals []string `json:"displayed_verticals"`
	DisplayedProviders []string `json:"displayed_providers"`
}

// DefaultConnectHost is where Panora's cloud serves its magic-link page
// (packages/api/variables.MD: NEXT_PUBLIC_MAGIC_LINK_DOMAIN, "Magic link
// server": http://localhost:81, https://connect-dev.panora.dev,
// https://connect.panora.dev).
const DefaultConnectHost = "https://connect.panora.dev"

// LinkURL is the address of magic link id on the magic-link page served at
// connectHost: the page reads the link's id from its `uniqueLink` query
// parameter (apps/magic-link/src/lib/ProviderModal.tsx) and fetches the link
// with GET /magic_links/{id}. The user picks the app there; the page lists
// the project's active providers, not only one.
func LinkURL(connectHost, id string) string {
	return strings.TrimRight(connectHost, "/") + "/?" + url.Values{"uniqueLink": {id}}.Encode()
}

// CreateMagicLink creates a magic link (POST /magic_links, 201). Panora
// guards the route with its dashboard JWT, not the API key (see
// WithDashboardToken). It is never retried: each attempt makes a link.
func (c *Client) CreateMagicLink(ctx context.Context, in MagicLinkRequest) (*MagicLink, error) {
	r := &request{method: http.MethodPost, path: "/magic_links", op: "POST /magic_links", bearer: c.dashboardToken}
	var out MagicLink
	found, err := c.doJSON(ctx, r, in, &out)
	if err != nil {
		return nil, err
	}
	if !found || out.ID == "" {
		return nil, fmt.Errorf("panora: %s: the answer names no magic link", r.op)
	}
	return &out, nil
}

// Connection statuses Panora writes: "valid" when a connection is made or
// refreshed (every connection service under
// packages/api/src/@core/connections/); the document's example says
// "active".
const (
	StatusValid  = "valid"
	StatusActive = "active"
)

// Connection is one of the project's connections (the document's
// Connection). The provider's access and refresh tokens, which Panora
// returns encrypted, are not decoded.
type Connection struct {
	ID              string    `json:"id_connection"`
	Status          string    `json:"status"`
	ProviderSlug    string    `json:"provider_slug"`
	Vertical        string    `json:"vertical"`
	AccountURL      string    `json:"account_url"`
	TokenType       string    `json:"token_type"`
	ExpiresAt       time.Time `json:"expiration_timestamp"`
	CreatedAt       time.Time `json:"created_at"`
	ConnectionToken string    `json:"connection_token"`
	ProjectID       string    `json:"id_project"`
	LinkedUserID    string    `json:"id_linked_user"`
}

// Usable reports whether Panora says the connection works.
func (c *Connection) Usable() bool {
	s := strings.ToLower(c.Status)
	return s == StatusValid || s == StatusActive
}

// String never shows the connection token.
func (c Connection) String() string {
	return fmt.Sprintf("panora.Connection{ID:%s Status:%s Provider:%s/%s LinkedUser:%s ConnectionToken:%s}",
		c.ID, c.Status, c.Vertical, c.ProviderSlug, c.LinkedUserID, mark(c.ConnectionToken))
}

// GoString is String.
func (c Connection) GoString() string { return c.String() }

func mark(s string) string {
	if s == "" {
		return `""`
	}
	return "[REDACTED]"
}

// ListConnections lists the API key's project's connections
// (GET /connections; Panora's controller filters on the key's project:
// packages/api/src/@core/connections/connections.controller.ts, list). The
// document declares no filter or pagination: callers filter.
func (c *Client) ListConnections(ctx context.Context) ([]Connection, error) {
	r := &request{method: http.MethodGet, path: "/connections", op: "GET /connections", retry: true}
	var out []Connection
	if _, err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// PassthroughRequest is a request Panora sends to the connection's provider
// with the connection's credentials.
type PassthroughRequest struct {
	// Method is GET or POST: the only ones the document's
	// PassThroughRequestDto (and the source's PassthroughInput) allow.
	Method string
	// Path is relative to the connection's account_url: Panora requests
	// `${account_url}/${path}` (packages/api/src/@core/connections/@utils/
	// base.service.ts, constructPassthrough), so it has no leading slash;
	// a query goes in it.
	Path string
	// Data is the JSON object sent as the body; nil sends {} (the field is
	// required).
	Data json.RawMessage
	// Headers are added to the provider request; Panora sets the
	// credentials and the JSON content type itself.
	Headers map[string]string
}

// passthroughBody is the body of POST /passthrough: the document's
// PassThroughRequestDto (method, path, data, request_format,
// overrideBaseUrl, all required) plus `headers`, which the source reads
// (packages/api/src/@core/passthrough/dto/passthrough.dto.ts) and the
// document omits. request_format is the string "JSON": the document types
// it as an object or an array, but the source switches on the strings
// 'JSON' and 'MULTIPART' and sends no body for anything else
// (constructPassthrough).
type passthroughBody struct {
	Method          string            `json:"method"`
	Path            string            `json:"path"`
	Data            json.RawMessage   `json:"data"`
	RequestFormat   string            `json:"request_format"`
	OverrideBaseURL *string           `json:"overrideBaseUrl"`
	Headers         map[string]string `json:"headers,omitempty"`
}

// PassthroughResponse is the provider's answer as Panora reports it.
type PassthroughResponse struct {
	Status int
	Header http.Header
	Body   []byte
	// StatusOnly is set when Panora reported only the provider's status:
	// for a provider answer other than 2xx or 429, Panora's HTTP client
	// throws and Panora answers 500 with the message "Request failed with
	// status code <status>" (retry.handler.ts rethrows; exception.filter.ts
	// writes the message), losing the provider's headers and body.
	StatusOnly bool
}

// upstreamFailed is the message of Panora's 500 when the provider answered
// an error: axios's "Request failed with status code 404".
var upstreamFailed = regexp.MustCompile(`^Request failed with status code ([1-5][0-9][0-9])$`)

// passthroughAnswer is what POST /passthrough answers with 201 (NestJS's
// default status for a POST; the document says 200): the provider's answer
// ({status, statusText, headers, data}: retry.handler.ts makeRequest), or
// a queued retry ({statusCode, retryId}): packages/api/src/@core/
// passthrough/types/index.ts, PassthroughResponse.
type passthroughAnswer struct {
	Status     *int                       `json:"status"`
	StatusText string                     `json:"statusText"`
	Headers    map[string]json.RawMessage `json:"headers"`
	Data       json.RawMessage            `json:"data"`
	StatusCode int                        `json:"statusCode"`
	RetryID    string                     `json:"retryId"`
}

// Passthrough sends req through Panora to the provider of the connection
// whose connection token is token (POST /passthrough). An upstream answer
// is returned as a PassthroughResponse whatever its status; a 429 of the
// provider comes back as a *QueuedError (Panora queued the request and will
// send it again itself). Errors are Panora-level failures: no answer, or
// Panora refusing the request (an unknown connection token answers 500,
// which IsUnknownConnection matches). The client never retries it.
func (c *Client) Passthrough(ctx context.Context, token string, req PassthroughRequest) (*PassthroughResponse, error) {
	data := req.Data
	if len(bytes.TrimSpace(data)) == 0 {
		data = json.RawMessage("{}")
	}
	in := passthroughBody{
		Method: strings.ToUpper(req.Method), Path: req.Path, Data: data,
		RequestFormat: "JSON", Headers: req.Headers,
	}
	r := &request{
		method: http.MethodPost, path: "/passthrough", op: "POST /passthrough",
		header: http.Header{http.CanonicalHeaderKey(HeaderConnectionToken): {token}, "Content-Type": {"application/json"}},
		hide:   []string{token},
	}
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("panora: %s: encoding request: %w", r.op, err)
	}
	r.body = b
	resp, err := c.send(ctx, r, func(int) bool { return false })
	if err != nil {
		return nil, err
	}
	if resp.Status/100 != 2 {
		e := parseAPIError(r.op, resp, c.secrets(r))
		if m := upstreamFailed.FindStringSubmatch(e.Message); m != nil && resp.Status == http.StatusInternalServerError {
			status, _ := strconv.Atoi(m[1])
			return &PassthroughResponse{Status: status, Header: http.Header{}, StatusOnly: true}, nil
		}
		return nil, e
	}
	var a passthroughAnswer
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		return nil, fmt.Errorf("panora: %s: decoding answer: %w", r.op, err)
	}
	if a.RetryID != "" {
		q := &QueuedError{Op: r.op, RetryID: a.RetryID, RetryAfter: QueuedRetryAfter}
		if ra, ok := httpcall.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			q.RetryAfter = ra
		}
		return nil, q
	}
	if a.Status == nil {
		return nil, fmt.Errorf("panora: %s: the answer has neither the provider's status nor a retryId", r.op)
	}
	return upstreamResponse(a), nil
}

// RetriedResponse reads the outcome of a passthrough request Panora queued
// (GET /passthrough/{retryId}): done is false while the retry job has not
// finished (Panora answers nothing then, as for an unknown id:
// retry.handler.ts, getRetryStatus).
func (c *Client) RetriedResponse(ctx context.Context, retryID string) (resp *PassthroughResponse, done bool, err error) {
	r := &request{method: http.MethodGet, path: "/passthrough/" + url.PathEscape(retryID), op: "GET /passthrough/{retryId}", retry: true}
	var a passthroughAnswer
	found, err := c.do(ctx, r, &a)
	if err != nil || !found {
		return nil, false, err
	}
	if a.Status == nil {
		return nil, false, fmt.Errorf("panora: %s: the answer has no status", r.op)
	}
	return upstreamResponse(a), true, nil
}

// upstreamResponse turns Panora's report of the provider's answer (an axios
// response: headers by lower-case name, data parsed when it was JSON) back
// into a status, headers and body.
func upstreamResponse(a passthroughAnswer) *PassthroughResponse {
	h := http.Header{}
	for k, raw := range a.Headers {
		name := http.CanonicalHeaderKey(k)
		if hopByHop[name] {
			continue
		}
		var s string
		var list []string
		switch {
		case json.Unmarshal(raw, &s) == nil:
			h.Add(name, s)
		case json.Unmarshal(raw, &list) == nil:
			for _, v := range list {
				h.Add(name, v)
			}
		default:
			h.Add(name, strings.Trim(string(raw), `"`)) // a number
		}
	}
	return &PassthroughResponse{Status: *a.Status, Header: h, Body: body(a.Data, h.Get("Content-Type"))}
}

// hopByHop are the provider's headers that described its own answer's
// transfer, not its content: the body is re-encoded.
var hopByHop = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Transfer-Encoding": true, "Content-Length": true,
	"Content-Encoding": true, "Upgrade": true, "Trailer": true, "Te": true,
}

// body is the provider's body from axios's data: a JSON answer was parsed
// (and is re-encoded here as Panora sent it); any other answer is a string.
func body(data json.RawMessage, contentType string) []byte {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || string(data) == "null" {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json")
	if data[0] == '"' && !isJSON {
		var s string
		if json.Unmarshal(data, &s) == nil {
			return []byte(s)
		}
	}
	return []byte(data)
}
