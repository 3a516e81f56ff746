package actions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// provider is what the actions of one connector share: how to
// authenticate and how the provider reports failures.
type provider struct {
	id string
	// auth authenticates a request with the connection's own credentials
	// (registry.CredentialConnection): its OAuth token or its API key.
	auth func(connectors.Credentials, *http.Request) error
	// appAuth authenticates a request with the deployment's app credential
	// (Credentials.AppToken), for the requests of actions that declare one;
	// nil when the connector has none.
	appAuth func(token string, r *http.Request)
	// viaProxy, when set, reports whether a request with these credentials
	// goes through Nango's proxy (OAuth 1.0a: Nango signs each request)
	// rather than directly to the provider.
	viaProxy func(connectors.Credentials) bool
	// classify, when set, inspects an answer before the status mapping:
	// Slack fails with 200 and ok:false, Google rate limits with 403. It
	// returns "" to leave the answer to the generic mapping.
	classify func(status int, body []byte) (code, message string)
}

// proxied reports whether a request with c goes through the connection's
// proxy: always when its provider keeps the credentials (c.ViaProxy), and
// for the connectors whose requests Nango signs.
func (p *provider) proxied(c connectors.Credentials) bool {
	return c.ViaProxy || (p.viaProxy != nil && p.viaProxy(c))
}

// spec is an Action: parameters, a request builder and its provider.
// A connector's file leaves provider, manifest and key to the catalogue.
type spec struct {
	provider *provider
	manifest registry.Manifest // base URL of the catalogue's registry
	key      string            // connector.action
	name     string
	write    bool
	// credential is what the action's requests send: the connection's
	// own credentials, or an app credential of the deployment. Every
	// action declares it; NewCatalogue refuses one that does not.
	credential registry.Credential
	params     []Param
	// constraints, when set, is a JSON Schema (2020-12) fragment added to
	// the top level of the input schema generated from params: the rules
	// between fields, e.g. {"anyOf":[{"required":["text"]},{"required":["blocks"]}]}.
	constraints string
	rule        func(s *spec, a args) error // cross-field rules, after each field is valid
	// operation is the provider operation the action's request is, as
	// provider-specs names it: "<file> <operation id>", e.g.
	// "slack.json chat_postMessage". The README's action table and the
	// fidelity tests read it.
	operation string
	// scopes are the OAuth scopes the action needs; an entry "a|b" is met
	// by either (a broader scope that includes the narrower one). Every
	// scope must be one the manifest requests, so that a new connection
	// is granted it; an older connection may lack it (scope drift).
	scopes []string
	// output is the JSON Schema (2020-12) of what Run returns.
	output string
	// schemas are the input and output schemas (NewCatalogue).
	schemas *schemas
	build   func(a args, req Request, c *call) error
	// guard, when set, runs after build and before the action's request is
	// sent: GET requests (through r, with the credential each chooses)
	// that decide whether the request may go. A non-nil error stops the
	// action before its request is sent.
	guard func(r *reads, a args) error
	// classify, when set, is consulted before the provider's (a GraphQL
	// answer that fails with 200).
	classify func(status int, body []byte) (code, message string)
}

// Connector implements Action.
func (s *spec) Connector() string { return s.provider.id }

// Name implements Action.
func (s *spec) Name() string { return s.name }

// Write implements Action.
func (s *spec) Write() bool { return s.write }

// Credential implements Action.
func (s *spec) Credential() registry.Credential { return s.credential }

// Operation implements Action.
func (s *spec) Operation() string { return s.operation }

// Scopes implements Action.
func (s *spec) Scopes() []string { return slices.Clone(s.scopes) }

// ready checks, before anything is sent, that the credentials hold what
// the action's credential needs from the deployment.
func (s *spec) ready(c connectors.Credentials) error {
	if name, ok := s.credential.App(); ok && c.AppToken == "" {
		return connectors.Errorf(connectors.ENotConfigured, "%s sends the deployment's app credential %s, which is not configured", s.key, name)
	}
	return nil
}

// authorize authenticates r as cred says: the connection's credentials,
// or the deployment's app credential.
func (s *spec) authorize(cred registry.Credential, c connectors.Credentials, r *http.Request) error {
	name, app := cred.App()
	if !app {
		return s.provider.auth(c, r)
	}
	if c.AppToken == "" || s.provider.appAuth == nil {
		return connectors.Errorf(connectors.ENotConfigured, "%s sends the deployment's app credential %s, which is not configured", s.key, name)
	}
	s.provider.appAuth(c.AppToken, r)
	return nil
}

// bearer sets "Authorization: Bearer" from the OAuth access token, or an
// API key when the route gave one instead (Stripe takes either).
func bearer(c connectors.Credentials, r *http.Request) error {
	tok := c.AccessToken
	if tok == "" {
		tok = c.APIKey
	}
	if tok == "" {
		return connectors.Errorf(connectors.EUnauthorized, "no access token for the request")
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	return nil
}

// ProviderError is the provider's side of a failed action; it is the cause
// of the *connectors.Error Run returns.
type ProviderError struct {
	Connector  string
	Status     int           // HTTP status; 200 for Slack's ok:false
	Message    string        // the provider's message, scrubbed of credentials
	RetryAfter time.Duration // from Retry-After (or the body) on rate limits
}

// Error implements error.
func (e *ProviderError) Error() string {
	return fmt.Sprintf("%s: HTTP %d: %s", e.Connector, e.Status, e.Message)
}

// answer maps a provider's answer to a request sent with cred to nil or
// an error: answerError's, except that an app credential the provider
// refuses (401) is the deployment's to fix, not the user's connection's
// (ENotConfigured rather than EUnauthorized, which would refresh the
// user's token and retry).
func (s *spec) answer(cred registry.Credential, status int, header http.Header, body []byte, creds connectors.Credentials) error {
	err := s.answerError(status, header, body, creds)
	name, app := cred.App()
	var ce *connectors.Error
	if app && errors.As(err, &ce) && ce.Code == connectors.EUnauthorized {
		return &connectors.Error{
			Code:    connectors.ENotConfigured,
			Message: fmt.Sprintf("%s: the provider refused the deployment's app credential %s (%s)", s.key, name, strings.TrimPrefix(ce.Message, s.key+": ")),
			Err:     ce.Err,
		}
	}
	return err
}

// answerError maps a provider's answer to nil or an error.
func (s *spec) answerError(status int, header http.Header, body []byte, cred connectors.Credentials) error {
	code, msg := "", ""
	if s.classify != nil {
		code, msg = s.classify(status, body)
	}
	if code == "" && s.provider.classify != nil {
		code, msg = s.provider.classify(status, body)
	}
	if code == "" {
		switch {
		case status >= 200 && status < 300:
			return nil
		case status == http.StatusUnauthorized:
			code = connectors.EUnauthorized
		case status == http.StatusTooManyRequests:
			code = connectors.ERateLimited
		case status == http.StatusRequestTimeout || status >= 500:
			code = connectors.EUnavailable
		default:
			code = connectors.EUpstream
		}
	}
	if msg == "" {
		msg = providerMessage(header, body)
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	pe := &ProviderError{Connector: s.provider.id, Status: status, Message: scrub(msg, cred)}
	if code == connectors.ERateLimited {
		pe.RetryAfter = retryAfter(header, body, time.Now())
	}
	return &connectors.Error{
		Code:       code,
		Message:    fmt.Sprintf("%s: %s", s.key, pe.Message),
		RetryAfter: pe.RetryAfter,
		Err:        pe,
	}
}

// retryAfter reads Retry-After as seconds (Shopify sends "2.0") or an HTTP
// date, else a JSON body's retry_after in seconds (Discord).
func retryAfter(h http.Header, body []byte, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseFloat(v, 64); err == nil && secs >= 0 && !math.IsInf(secs, 0) {
			return time.Duration(secs * float64(time.Second))
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	var b struct {
		RetryAfter float64 `json:"retry_after"`
	}
	if json.Unmarshal(body, &b) == nil && b.RetryAfter > 0 {
		return time.Duration(b.RetryAfter * float64(time.Second))
	}
	return 0
}

// providerMessage extracts a human message from an error body, whatever
// the provider's shape: {"error":{"message"}} (Google, Graph, Stripe),
// {"message"} (HubSpot, Discord), [{"message","errorCode"}] (Salesforce),
// {"errors":[{"message"}]} (Asana), {"errors":"..." or {field:[...]}}
// (Shopify), plain text (Trello).
func providerMessage(h http.Header, body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		// Plain text is a message (Trello); an HTML error page is not.
		if ct := h.Get("Content-Type"); strings.HasPrefix(ct, "text/html") || body[0] == '<' {
			return ""
		}
		return string(body)
	}
	return findMessage(v, 0)
}

func findMessage(v any, depth int) string {
	if depth > 4 {
		return ""
	}
	switch x := v.(type) {
	case string:
		return x
	case []any:
		var parts []string
		for _, e := range x {
			if m := findMessage(e, depth+1); m != "" && !slices.Contains(parts, m) {
				parts = append(parts, m)
			}
			if len(parts) == 3 {
				break
			}
		}
		return strings.Join(parts, "; ")
	case map[string]any:
		if msg, _ := x["message"].(string); msg != "" {
			if code := errorCode(x); code != "" && code != msg {
				return code + ": " + msg
			}
			return msg
		}
		for _, k := range []string{"error", "errors", "error_description", "detail", "title"} {
			if e, ok := x[k]; ok {
				if m := findMessage(e, depth+1); m != "" {
					return m
				}
			}
		}
		if depth > 0 { // {field: [messages]}, as Shopify's errors
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(x)) {
				if m := findMessage(x[k], depth+1); m != "" {
					parts = append(parts, k+": "+m)
				}
			}
			return strings.Join(parts, "; ")
		}
	}
	return ""
}

func errorCode(x map[string]any) string {
	for _, k := range []string{"errorCode", "code", "category", "status"} {
		if s, ok := x[k].(string); ok && s != "" && s != "error" {
			return s
		}
	}
	if n, ok := x["code"].(json.Number); ok {
		return n.String()
	}
	return ""
}

// maxMessage bounds a provider message kept in an error.
const maxMessage = 300

// scrub makes a provider's message safe to return: the request's
// credentials and anything after "Bearer " are removed, control characters
// flattened, and the length bounded.
func scrub(msg string, c connectors.Credentials) string {
	for _, s := range c.Secrets() {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "[REDACTED]")
		}
	}
	for _, scheme := range []string{"Bearer ", "bearer ", "Bot "} {
		if i := strings.Index(msg, scheme); i >= 0 {
			j := i + len(scheme)
			k := strings.IndexFunc(msg[j:], unicode.IsSpace)
			if k < 0 {
				k = len(msg) - j
			}
			msg = msg[:j] + "[REDACTED]" + msg[j+k:]
		}
	}
	msg = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, msg)
	msg = strings.Join(strings.Fields(msg), " ")
	if utf8.RuneCountInString(msg) > maxMessage {
		msg = string([]rune(msg)[:maxMessage]) + "…"
	}
	return msg
}

// decodeOutput decodes a successful answer: an object as is, an array
// under "items", nothing as an empty object.
func decodeOutput(s *spec, body []byte) (map[string]any, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // keep 64-bit ids exact
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, connectors.Wrap(err, connectors.EUpstream, s.key+": the provider's answer is not JSON")
	}
	switch x := v.(type) {
	case map[string]any:
		return x, nil
	case []any:
		return map[string]any{"items": x}, nil
	}
	return map[string]any{"value": v}, nil
}

// marshalJSON encodes without HTML escaping, so that message text such as
// "a < b" reaches the provider as written.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
