// Package localdev wires the service for `make run`: the embedded bbolt
// store under .local/, development secrets generated on first start, and,
// unless NANGO_SECRET_KEY is set, an offline Nango sandbox (the fake Nango,
// in process, its connections kept in .local/nango-sandbox.json); unless
// GOOGLE_CLIENT_ID / MICROSOFT_CLIENT_ID are set, an offline OAuth sandbox
// for Gmail and Outlook; when ROUTING_POLICY routes a connector to Composio
// or Panora and its key is unset, that provider's fake; unless
// API_KEY_SANDBOX=off, offline answers to
// the API-key test calls; and, unless KMS_KEY_ID is set, a local key in
// place of KMS. It is the only place these local-only parts meet the
// deployed wiring, so no Lambda bootstrap links them.
package localdev

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/automators/connectors/internal/adapter/apigw"
	"github.com/automators/connectors/internal/adapter/httpapi"
	"github.com/automators/connectors/internal/config"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/local/composiofake"
	"github.com/automators/connectors/internal/local/localkms"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/local/panorafake"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/metrics"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/wiring"
)

// SecretsFile is where development secrets live, relative to Dir.
const SecretsFile = "secrets.env"

// Options configure the local app.
type Options struct {
	Dir       string              // state directory; default ".local"
	Getenv    func(string) string // default os.Getenv
	LogOutput io.Writer           // default os.Stdout
	PublicURL string              // where the local API listens, e.g. http://127.0.0.1:3000
}

// SandboxStateFile is where the Nango sandbox keeps its connections,
// relative to Dir, so a restart keeps the records of the store usable.
const SandboxStateFile = "nango-sandbox.json"

// App is the local service.
type App struct {
	*wiring.App
	Sandbox   *nangofake.Server    // nil when a real Nango is configured
	oauth     *oauthSandbox        // nil when Google and Microsoft clients are configured
	composio  *composiofake.Server // nil unless the policy routes to Composio without its key
	panora    *panorafake.Server   // nil unless the policy routes to Panora without its key
	store     *boltstore.Store
	publicURL string
}

// Close stops the sandboxes and closes the store.
func (a *App) Close() {
	a.closeSandbox()
	if a.store != nil {
		a.store.Close()
	}
}

// Handlers returns every HTTP function's handler keyed by folder name.
func (a *App) Handlers() map[string]apigw.Handler {
	out := map[string]apigw.Handler{}
	for _, r := range httpapi.Routes() {
		// One API per function, so log lines name the function as in
		// Lambda, behind the adapter Lambda runs it with.
		out[r.Function] = apigw.Wrap(a.API(r.Function).Handler(r.Function))
	}
	if h := out["nango-authorize"]; h != nil && (a.Sandbox != nil || a.oauth != nil) {
		out["nango-authorize"] = a.sandboxAuthorize(h)
	}
	return out
}

// DefaultCORSOrigin is the browser origin make run allows when
// CORS_ALLOW_ORIGINS is unset: the front end's development server. Both the
// preflight answers and the handlers' answers use it.
const DefaultCORSOrigin = "http://localhost:5173"

// sandboxAuthorize adapts authorize's authorizationUrl to the sandboxes, the
// one place where local and deployed answers differ: a built-in OAuth URL
// points at the OAuth sandbox instead of Google or Microsoft, and a Nango
// sandbox connect URL gets a return_to of the callback with the state, so a
// browser that opens it comes back to the callback (and from there to the
// front end's redirect_uri) as it would from the provider.
func (a *App) sandboxAuthorize(h apigw.Handler) apigw.Handler {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		resp, err := h(ctx, req)
		if err != nil || resp.StatusCode != 200 {
			return resp, err
		}
		var body map[string]any
		if json.Unmarshal([]byte(resp.Body), &body) != nil {
			return resp, nil
		}
		u, _ := body["authorizationUrl"].(string)
		state, _ := body["state"].(string)
		provider, _ := body["provider"].(string)
		switch {
		case a.oauth != nil && a.oauth.rewriteURL(u) != u:
			body["authorizationUrl"] = a.oauth.rewriteURL(u)
		case a.Sandbox != nil && body["connectSessionToken"] != nil:
			callback := a.publicURL + "/api/v1/nango/oauth/" + url.PathEscape(provider) + "/callback?" + url.Values{"state": {state}}.Encode()
			body["authorizationUrl"] = u + "&" + url.Values{"return_to": {callback}}.Encode()
		default:
			return resp, nil
		}
		b, err := json.Marshal(body)
		if err != nil {
			return resp, nil
		}
		resp.Body = string(b)
		return resp, nil
	}
}

// New builds the local app.
func New(ctx context.Context, opts Options) (*App, error) {
	if opts.Dir == "" {
		opts.Dir = ".local"
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.LogOutput == nil {
		opts.LogOutput = os.Stdout
	}
	log := logging.New(opts.LogOutput, opts.Getenv("LOG_LEVEL"), slog.String("function", "localapi"))
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", opts.Dir, err)
	}
	file, created, err := devSecrets(filepath.Join(opts.Dir, SecretsFile))
	if err != nil {
		return nil, err
	}
	if created {
		// Printed once, on the first start: the values stay in the file.
		log.Info("generated development secrets", "file", filepath.Join(opts.Dir, SecretsFile),
			"hint", "make token USER=u1 ORG=o1 signs with JWT_HS256_SECRET from this file")
	}
	env := overlay{getenv: opts.Getenv, vars: file}

	app := &App{}
	if env.get("PUBLIC_URL") == "" && opts.PublicURL != "" {
		env.vars["PUBLIC_URL"] = opts.PublicURL
	}
	app.publicURL = strings.TrimRight(env.get("PUBLIC_URL"), "/")
	if env.get("NANGO_SECRET_KEY") == "" {
		app.Sandbox, err = sandbox(env, filepath.Join(opts.Dir, SandboxStateFile), app.publicURL)
		if err != nil {
			return nil, err
		}
		url := app.Sandbox.Start()
		env.vars["NANGO_HOST"] = url
		log.Warn("NANGO SANDBOX IN USE: offline fake Nango, no real provider is contacted", "nangoHost", url,
			"state", filepath.Join(opts.Dir, SandboxStateFile))
	} else {
		log.Info("using a real Nango", "nangoHost", env.get("NANGO_HOST"))
	}
	if env.get("CORS_ALLOW_ORIGINS") == "" {
		// The same default as the local API's preflight answers, so that
		// the answers after a preflight carry the origin too.
		env.vars["CORS_ALLOW_ORIGINS"] = DefaultCORSOrigin
	}
	httpClient := &http.Client{Timeout: 25 * time.Second}
	if clients := sandboxOAuthClients(env); len(clients) > 0 {
		app.oauth = newOAuthSandbox(clients, app.publicURL+"/api/v1/nango/oauth/")
		httpClient.Transport = rewriteTransport{sandbox: app.oauth, base: http.DefaultTransport}
		log.Warn("OAUTH SANDBOX IN USE: offline fake Google/Microsoft OAuth for Gmail and Outlook", "url", app.oauth.URL())
	}
	app.sandboxComposio(env, log)
	app.sandboxPanora(env, log)
	if env.get("API_KEY_SANDBOX") != "off" {
		base := httpClient.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		httpClient.Transport = keySandbox{base: base}
		log.Warn("API KEY SANDBOX IN USE: the API-key test calls (stripe, asana, hubspot, shopify, trello) are answered offline; a key holding \"invalid\" is refused; API_KEY_SANDBOX=off sends them to the providers")
	}

	secrets, err := config.EnvSource{Getenv: env.get}.LoadSecrets(ctx)
	if err != nil {
		app.closeSandbox()
		return nil, fmt.Errorf("development secrets: %w", err)
	}
	app.store, err = boltstore.Open(filepath.Join(opts.Dir, "connectors.db"), seal.DeriveKey([]byte(secrets.StateSigningKey), "cursor"))
	if err != nil {
		app.closeSandbox()
		return nil, fmt.Errorf("open embedded store: %w", err)
	}
	// No KMS offline: organizations' data keys are wrapped by a local key
	// derived from the development state signing key (kept in secrets.env,
	// so the keys unwrap after a restart), unless KMS_KEY_ID names a real
	// (or emulated) KMS key.
	var wrapper connectors.KeyWrapper
	if env.get("KMS_KEY_ID") == "" {
		if wrapper, err = localkms.New([]byte(secrets.StateSigningKey), "make-run"); err != nil {
			app.Close()
			return nil, fmt.Errorf("local data key wrapping: %w", err)
		}
		log.Warn("LOCAL DATA KEYS IN USE: no KMS; organizations' data keys are wrapped by a local key derived from STATE_SIGNING_KEY")
	}
	app.App, err = wiring.New(ctx, "", wiring.Options{
		Getenv: env.get, LogOutput: opts.LogOutput, Store: app.store, HTTPClient: httpClient, KeyWrapper: wrapper,
		Metrics: metrics.Discard, // EMF lines would only crowd make run's log
	})
	if err != nil {
		app.Close()
		return nil, err
	}
	return app, nil
}

func (a *App) closeSandbox() {
	if a.Sandbox != nil {
		a.Sandbox.Close()
	}
	if a.composio != nil {
		a.composio.Close()
	}
	if a.panora != nil {
		a.panora.Close()
	}
	if a.oauth != nil {
		a.oauth.Close()
	}
}

// sandbox is a fake Nango, with its state in stateFile, knowing the
// integration of every connector Nango can serve: those routed to Nango and
// also gmail's google-mail and outlook's, for ROUTING_POLICY=gmail=nango.
// Its secret key is a UUID, as Nango's are.
func sandbox(env overlay, stateFile, publicURL string) (*nangofake.Server, error) {
	key := uuid.NewString()
	env.vars["NANGO_SECRET_KEY"] = key
	var ins []nangofake.Integration
	for _, m := range registry.Default().All() {
		if m.NangoProvider != "" && m.ProviderConfigKey != "" {
			ins = append(ins, nangofake.Integration{UniqueKey: m.ProviderConfigKey, Provider: m.NangoProvider})
		}
	}
	signing := strings.Split(env.get("NANGO_WEBHOOK_SIGNING_KEYS"), ",")[0]
	s, err := nangofake.Open(nangofake.Options{
		SecretKey: key, WebhookSigningKey: signing, Integrations: ins, StateFile: stateFile,
		ReturnURLPrefixes: []string{publicURL + "/api/v1/nango/oauth/"},
	})
	if err != nil {
		return nil, fmt.Errorf("nango sandbox (rm %s to start afresh): %w", stateFile, err)
	}
	return s, nil
}

// sandboxOAuthClients gives Gmail and Outlook sandbox OAuth clients where
// no real one is configured, and returns them as "provider:clientID" ->
// secret. A configured GOOGLE_CLIENT_ID (or MICROSOFT_CLIENT_ID) keeps the
// real provider.
func sandboxOAuthClients(env overlay) map[string]string {
	out := map[string]string{}
	for _, p := range []struct{ name, env string }{{"google", "GOOGLE"}, {"microsoft", "MICROSOFT"}} {
		if env.get(p.env+"_CLIENT_ID") != "" {
			continue
		}
		id, secret := "sandbox-"+p.name+"-client", "sandbox-"+p.name+"-secret-"+randomHex(8)
		env.vars[p.env+"_CLIENT_ID"], env.vars[p.env+"_CLIENT_SECRET"] = id, secret
		out[p.name+":"+id] = secret
	}
	return out
}

// overlay reads the process environment first, then the development file
// and values this package sets.
type overlay struct {
	getenv func(string) string
	vars   map[string]string
}

func (o overlay) get(k string) string {
	if v := o.getenv(k); v != "" {
		return v
	}
	return o.vars[k]
}

// devSecrets loads the development secrets file, creating it with fresh
// random values when missing.
func devSecrets(path string) (map[string]string, bool, error) {
	f, err := os.Open(path)
	if err == nil {
		defer f.Close()
		vars, err := config.ParseEnvFile(f)
		return vars, false, err
	}
	if !os.IsNotExist(err) {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	vars := map[string]string{
		"JWT_HS256_SECRET":           randomHex(32),
		"STATE_SIGNING_KEY":          randomHex(32),
		"NANGO_WEBHOOK_SIGNING_KEYS": randomHex(32),
		"TOKEN_ENCRYPTION_KEYS":      "dev1:" + base64.StdEncoding.EncodeToString(randomBytes(32)),
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Development secrets for make run, generated on first start. Never use them anywhere else.\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, vars[k])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return nil, false, fmt.Errorf("write %s: %w", path, err)
	}
	return vars, true, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// Handlers builds the local app and returns its HTTP handlers keyed by
// function folder name, and a function that releases it.
func Handlers(ctx context.Context, opts Options) (map[string]apigw.Handler, func(), error) {
	app, err := New(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	return app.Handlers(), app.Close, nil
}
