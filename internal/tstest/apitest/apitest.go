// Package apitest is the service's HTTP API as deployed, for tests that
// drive it end to end: the app built by wiring.New over a chosen store
// adapter (bbolt, or DynamoDB on the emulator), with the fake Nango
// (internal/local/nangofake) and the fake Google (internal/tstest/oauthtest), and helpers
// that send its functions API Gateway HTTP API (payload 2.0) events, as
// Lambda runs them: through package apigw.
//
// What a suite checks on top (an OpenAPI document, secrets in answers,
// injected faults) stays in the suite: Options take its store wrapper, its
// DynamoDB client options and its extra environment.
//
// Only tests import this package.
package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/automators/connectors/internal/adapter/apigw"
	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/adapter/httpapi"
	"github.com/automators/connectors/internal/adapter/legacyoauth"
	"github.com/automators/connectors/internal/apikey"
	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/metrics"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/oauthtest"
	"github.com/automators/connectors/internal/tstest/syncbuf"
	"github.com/automators/connectors/internal/wiring"
)

const (
	// BasePath is the prefix of every route.
	BasePath = httpapi.BasePath
	// AllowedOrigin is the one origin of REDIRECT_ALLOWLIST.
	AllowedOrigin = "https://app.example.com"
	// PublicURL is the deployment's public address (PUBLIC_URL).
	PublicURL = "https://api.example.com"

	googleClientID    = "google-client-id"
	microsoftClientID = "microsoft-client-id"
)

// Route is the route of one HTTP function.
type Route struct {
	Method string
	Path   string // under BasePath, with {params}
}

// Routes maps a function (folder) name to its route, from the API's route
// list.
var Routes = routesByFunction()

func routesByFunction() map[string]Route {
	out := map[string]Route{}
	for _, r := range httpapi.Routes() {
		out[r.Function] = Route{Method: r.Method, Path: strings.TrimPrefix(r.Path, BasePath)}
	}
	return out
}

// Secrets are the deployment's secrets. A suite chooses them, each with a
// marker of its own, so that a leak it looks for is never a coincidence.
type Secrets struct {
	JWT                   string // JWT_HS256_SECRET
	StateSigningKey       string // STATE_SIGNING_KEY
	NangoSecretKey        string // NANGO_SECRET_KEY, and the fake's
	WebhookKey            string // NANGO_WEBHOOK_SIGNING_KEYS, and the fake's
	GoogleClientSecret    string // GOOGLE_CLIENT_SECRET, and the fake Google's
	MicrosoftClientSecret string // MICROSOFT_CLIENT_SECRET
	EncryptionKeyB64      string // the one key of TOKEN_ENCRYPTION_KEYS, base64
}

// Options shape a deployment.
type Options struct {
	Name         string // the app's name for wiring.New
	UserAgent    string // of every event Do sends
	Secrets      Secrets
	GoogleMarker string            // in every code and token the fake Google issues
	Vars         map[string]string // environment added to (or overriding) the deployment's
	NangoHost    string            // NANGO_HOST instead of the fake's URL (an unreachable one)
	HTTPClient   *http.Client      // the app's outbound client; default a 10s timeout
	Now          func() time.Time  // the app's clock; default time.Now
	// APIKeyVerifier, when set, is the test call of routing step 2 (API
	// keys users paste): the deployment then serves API-key connections.
	APIKeyVerifier apikey.Verifier

	// DynamoDB are the client options of the "dynamodb" store (its HTTP
	// client, retries).
	DynamoDB []func(*dynamodb.Options)
	// WrapStore, when set, wraps the store adapter before the app gets it.
	WrapStore func(connectors.Store) connectors.Store
	// Timeout is the deadline Do gives an invocation sent without a
	// context of its own; 0 gives none (only the test's).
	Timeout time.Duration
	// Check, when set, runs on every answer Do returns: what the suite
	// holds every answer to.
	Check func(t *testing.T, r Request, resp Response)
}

// Env is one deployment under test.
type Env struct {
	Kind     string           // "bolt" or "dynamodb"
	Store    connectors.Store // as the app has it (wrapped by Options.WrapStore)
	BoltPath string           // the bbolt file ("bolt")
	Dynamo   *dynamodb.Client // the emulator's client ("dynamodb")
	Table    string           // the table ("dynamodb")
	Nango    *nangofake.Server
	Google   *oauthtest.Server
	App      *wiring.App
	Handlers map[string]apigw.Handler // by function name, one per route
	Logs     *syncbuf.Buffer          // everything the app logged
	Metrics  *syncbuf.Buffer          // the EMF lines of every invocation
	Vars     map[string]string        // the environment the app was built from
	Seq      atomic.Int64             // numbers request ids

	opts Options
}

// New builds a deployment over the store adapter kind ("bolt" or
// "dynamodb"). The captured logs are printed when the test fails.
func New(t *testing.T, kind string, o Options) *Env {
	t.Helper()
	sec := o.Secrets
	e := &Env{Kind: kind, Logs: &syncbuf.Buffer{}, Metrics: &syncbuf.Buffer{}, opts: o}

	integrations := nangofake.RegistryIntegrations(registry.Default())
	e.Nango = nangofake.New(nangofake.Options{SecretKey: sec.NangoSecretKey, WebhookSigningKey: sec.WebhookKey, Integrations: integrations})
	nangoURL := e.Nango.Start()
	t.Cleanup(e.Nango.Close)
	if o.NangoHost != "" {
		nangoURL = o.NangoHost
	}
	// Google: codes with PKCE, refresh with rotation (a reused refresh token
	// is refused).
	e.Google = oauthtest.New(t, oauthtest.Options{ClientID: googleClientID, ClientSecret: sec.GoogleClientSecret, Marker: o.GoogleMarker, Rotate: true})

	e.Vars = map[string]string{
		"NANGO_HOST":                 nangoURL,
		"NANGO_SECRET_KEY":           sec.NangoSecretKey,
		"NANGO_WEBHOOK_SIGNING_KEYS": sec.WebhookKey,
		"JWT_HS256_SECRET":           sec.JWT,
		"STATE_SIGNING_KEY":          sec.StateSigningKey,
		"TOKEN_ENCRYPTION_KEYS":      "k1:" + sec.EncryptionKeyB64,
		"REDIRECT_ALLOWLIST":         AllowedOrigin,
		"GOOGLE_CLIENT_ID":           googleClientID,
		"GOOGLE_CLIENT_SECRET":       sec.GoogleClientSecret,
		"MICROSOFT_CLIENT_ID":        microsoftClientID,
		"MICROSOFT_CLIENT_SECRET":    sec.MicrosoftClientSecret,
		"PUBLIC_URL":                 PublicURL,
		"LOG_LEVEL":                  "debug",
	}
	for k, v := range o.Vars {
		e.Vars[k] = v
	}

	cursorKey := seal.DeriveKey([]byte(sec.StateSigningKey), "cursor")
	switch kind {
	case "bolt":
		e.BoltPath = filepath.Join(t.TempDir(), "connectors.db")
		s, err := boltstore.Open(e.BoltPath, cursorKey)
		if err != nil {
			t.Fatalf("open bolt store: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		e.Store = s
	case "dynamodb":
		e.Dynamo = awstest.DynamoDB(t, o.DynamoDB...)
		e.Table = awstest.Table(t, e.Dynamo)
		e.Store = dynamostore.New(e.Dynamo, e.Table, cursorKey)
	default:
		t.Fatalf("unknown store kind %q", kind)
	}
	if o.WrapStore != nil {
		e.Store = o.WrapStore(e.Store)
	}

	httpClient := o.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 10 * time.Second}
	}
	// Google's endpoints are the fake's; Microsoft's stay as deployed.
	app, err := wiring.New(t.Context(), o.Name, wiring.Options{
		Getenv:     func(k string) string { return e.Vars[k] },
		LogOutput:  e.Logs,
		Metrics:    metrics.NewEMF(e.Metrics, nil),
		Store:      e.Store,
		HTTPClient: httpClient,
		Now:        o.Now,
		// A test's fake of the connectors' test calls (nil: step 2
		// has no provider, as deployed today).
		APIKeyVerifier: o.APIKeyVerifier,
		OAuthServers: map[string]*legacyoauth.Provider{
			"gmail":   e.Google.GoogleProvider(PublicURL + BasePath + "/oauth/gmail/callback"),
			"outlook": legacyoauth.Microsoft(microsoftClientID, sec.MicrosoftClientSecret, PublicURL+BasePath+"/oauth/outlook/callback"),
		},
	})
	if err != nil {
		t.Fatalf("wiring.New: %v", err)
	}
	e.App = app

	e.Handlers = map[string]apigw.Handler{}
	for name := range Routes {
		h, err := app.Lambda(name)
		if err != nil {
			t.Fatal(err)
		}
		e.Handlers[name] = h
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("captured logs:\n%s", e.Logs.String())
		}
	})
	return e
}

// Token issues a bearer JWT for user in org, with roles.
func (e *Env) Token(t *testing.T, user, org string, roles ...string) string {
	t.Helper()
	tok, err := auth.Issue([]byte(e.opts.Secrets.JWT), auth.DevClaims{UserID: user, OrgID: org, Roles: roles}, "")
	if err != nil {
		t.Fatalf("issue token: %v", err)
	}
	return tok
}

// Request is one API Gateway request to a function.
type Request struct {
	Fn      string
	Token   string            // bearer JWT; "" sends no Authorization header
	Params  map[string]string // path parameters
	Query   string            // raw query string
	Body    string
	Base64  bool
	Headers map[string]string // extra headers, lower-case names as API Gateway sends them
	Ctx     context.Context   // default the test's (with Options.Timeout)
}

// Event builds the API Gateway HTTP API (payload 2.0) event of r.
func (e *Env) Event(t *testing.T, r Request) events.APIGatewayV2HTTPRequest {
	t.Helper()
	rt, ok := Routes[r.Fn]
	if !ok {
		t.Fatalf("unknown function %q", r.Fn)
	}
	path := BasePath + rt.Path
	for k, v := range r.Params {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(v))
	}
	headers := map[string]string{"user-agent": e.opts.UserAgent, "accept": "application/json"}
	if r.Body != "" {
		headers["content-type"] = "application/json"
	}
	if r.Token != "" {
		headers["authorization"] = "Bearer " + r.Token
	}
	for k, v := range r.Headers {
		headers[strings.ToLower(k)] = v
	}
	id := fmt.Sprintf("req-%s-%d", e.Kind, e.Seq.Add(1))
	var qsp map[string]string
	if r.Query != "" {
		// API Gateway passes a query it cannot decode through raw.
		q, _ := url.ParseQuery(r.Query)
		qsp = map[string]string{}
		for k, vs := range q {
			qsp[k] = strings.Join(vs, ",")
		}
	}
	return events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              rt.Method + " " + BasePath + rt.Path,
		RawPath:               path,
		RawQueryString:        r.Query,
		Headers:               headers,
		QueryStringParameters: qsp,
		PathParameters:        r.Params,
		Body:                  r.Body,
		IsBase64Encoded:       r.Base64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: id,
			Stage:     "$default",
			RouteKey:  rt.Method + " " + BasePath + rt.Path,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: rt.Method, Path: path, Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: e.opts.UserAgent,
			},
		},
	}
}

// Response is a handler's answer, with the event that asked for it.
type Response struct {
	events.APIGatewayV2HTTPResponse
	RequestID string
	Event     events.APIGatewayV2HTTPRequest
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r Response) JSON(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", r.StatusCode, err, r.Body)
	}
}

// ErrorCode returns the code of an error answer, checking that it carries
// the request id and a message.
func (r Response) ErrorCode(t *testing.T) string {
	t.Helper()
	var b httpapi.ErrorBody
	r.JSON(t, &b)
	if b.Error.RequestID != r.RequestID {
		t.Errorf("error requestId = %q, want %q", b.Error.RequestID, r.RequestID)
	}
	if b.Error.Message == "" {
		t.Errorf("error answer has no message: %s", r.Body)
	}
	return b.Error.Code
}

// Do sends r to its handler and returns the answer, after Options.Check.
// A Lambda error fails the test.
func (e *Env) Do(t *testing.T, r Request) Response {
	t.Helper()
	ev := e.Event(t, r)
	ctx := r.Ctx
	if ctx == nil {
		ctx = t.Context()
		if e.opts.Timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, e.opts.Timeout)
			defer cancel()
		}
	}
	resp, err := e.Handlers[r.Fn](ctx, ev)
	if err != nil {
		t.Fatalf("%s returned a Lambda error: %v", r.Fn, err)
	}
	out := Response{APIGatewayV2HTTPResponse: resp, RequestID: ev.RequestContext.RequestID, Event: ev}
	if e.opts.Check != nil {
		e.opts.Check(t, r, out)
	}
	return out
}

// Authorization is the answer of authorize, decoded.
type Authorization struct {
	Provider string `json:"provider"`
	Route    struct {
		Step   int    `json:"step"`
		Name   string `json:"name"`
		Target string `json:"target"`
		Trace  []struct {
			Step    int    `json:"step"`
			Matched bool   `json:"matched"`
			Target  string `json:"target"`
		} `json:"trace"`
	} `json:"route"`
	AuthorizationURL    string    `json:"authorizationUrl"`
	ConnectSessionToken string    `json:"connectSessionToken"`
	State               string    `json:"state"`
	ExpiresAt           time.Time `json:"expiresAt"`
}

// Authorize starts a connection of connector for the bearer token, with
// the raw query, and returns the answer: a 200 with a state and a URL.
func (e *Env) Authorize(t *testing.T, tok, connector, query string) Authorization {
	t.Helper()
	resp := e.Do(t, Request{Fn: "nango-authorize", Token: tok, Params: map[string]string{"provider": connector}, Query: query})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize %s: status %d: %s", connector, resp.StatusCode, resp.Body)
	}
	var a Authorization
	resp.JSON(t, &a)
	if a.State == "" || a.AuthorizationURL == "" {
		t.Fatalf("authorize %s: no state or URL: %s", connector, resp.Body)
	}
	return a
}

// ConnectAtFake completes a Nango authorization at the fake, as the user's
// browser does, and returns Nango's connection id.
func (e *Env) ConnectAtFake(t *testing.T, a Authorization) string {
	t.Helper()
	id, err := e.Nango.CompleteSession(a.ConnectSessionToken)
	if err != nil {
		t.Fatalf("complete session at the fake: %v", err)
	}
	return id
}

// ConnectionJSON is the connection of an answer, decoded.
type ConnectionJSON struct {
	ID                string     `json:"id"`
	Connector         string     `json:"connector"`
	AuthProvider      string     `json:"authProvider"`
	ProviderConfigKey string     `json:"providerConfigKey"`
	UserID            string     `json:"userId"`
	OrganizationID    string     `json:"organizationId"`
	Status            string     `json:"status"`
	Scopes            []string   `json:"scopes"`
	CreatedAt         time.Time  `json:"createdAt"`
	UpdatedAt         time.Time  `json:"updatedAt"`
	LastRefreshedAt   *time.Time `json:"lastRefreshedAt"`
	ExpiresAt         *time.Time `json:"expiresAt"`
	Label             *string    `json:"label"`
	Shared            bool       `json:"shared"`
	ReadOnly          bool       `json:"readOnly"`
}
