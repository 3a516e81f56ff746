// Package wiring builds every dependency of the service once per cold start
// from configuration. The Lambda functions and the local API both use it, so
// local runs and deployed ones execute the same code; local runs swap in
// their own store and secrets through Options.
//
// It links only what a deployed function needs: the embedded store, the fake
// Nango and the local API are passed in by internal/local/localdev, never imported.
package wiring

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/google/uuid"

	"github.com/automators/connectors/internal/actions"
	"github.com/automators/connectors/internal/adapter/awskms"
	"github.com/automators/connectors/internal/adapter/awssecrets"
	"github.com/automators/connectors/internal/adapter/composio"
	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/adapter/httpapi"
	"github.com/automators/connectors/internal/adapter/lambdatask"
	"github.com/automators/connectors/internal/adapter/legacyoauth"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/adapter/panora"
	"github.com/automators/connectors/internal/adapter/tracing"
	"github.com/automators/connectors/internal/apikey"
	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/config"
	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/credentials"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/metrics"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
	"github.com/automators/connectors/internal/schema"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/sweeper"
)

// Options replace parts of the deployed wiring, for local runs and tests.
// Zero values mean "as deployed".
type Options struct {
	Getenv     func(string) string // default os.Getenv
	LogOutput  io.Writer           // default os.Stdout
	Store      connectors.Store    // default DynamoDB on TABLE_NAME
	Secrets    config.SecretsSource
	HTTPClient *http.Client // outbound calls (Nango, providers)
	// KeyWrapper wraps organizations' data keys instead of KMS (make run's
	// local key); default: KMS on KMS_KEY_ID when it is set.
	KeyWrapper connectors.KeyWrapper
	// OAuthServers replace the built-in OAuth's authorization servers
	// (connector id -> server), for tests against a fake one.
	OAuthServers map[string]*legacyoauth.Provider
	// Now is the clock of the connection service and the token lifecycle
	// (default time.Now), for tests that move time.
	Now func() time.Time
	// APIKeyVerifier replaces the connectors' own API-key test calls
	// (routing step 2), for tests that fake the providers; nil in
	// production.
	APIKeyVerifier apikey.Verifier
	// Metrics receives each invocation's metrics; default EMF lines on
	// os.Stdout, which CloudWatch Logs turns into metrics.
	Metrics metrics.Sink
	// Tracing makes spans of the handlers, the AWS SDK's calls and the
	// outbound HTTP calls; nil: none (the Lambda entry points build it from
	// the environment, tracing.FromEnv).
	Tracing *tracing.Tracing
}

// DataKeyMaxAge is how old an organization's newest data key may grow
// before its next seal creates the next one. Old keys stay (they open what
// they sealed); a record is re-sealed under the newest key when next
// written. The KMS key itself rotates yearly (EnableKeyRotation).
const DataKeyMaxAge = 90 * 24 * time.Hour

// App holds the dependencies of one process that serves every function:
// the local API and the tests. A deployed function builds only its own
// part (API, Executor, Sweeper).
type App struct {
	Config      config.Config
	Secrets     *config.CachedSecrets
	Logger      *slog.Logger
	Store       connectors.Store
	Auth        httpapi.Authenticator // a stand-in answering not_configured when there is no JWT key
	HTTP        *http.Client
	Registry    *registry.Registry
	Router      *router.Router
	Providers   connectors.Providers
	Tokens      *credentials.Lifecycle
	Connections *connect.Service
	Executor    *executor.Executor
	Keyring     *seal.Keyring // nil when sealing with token_encryption_keys only

	core *core // what the App was built from, for its functions' parts
}

// New builds the whole App. A non-empty function names the function in
// every line of the App's logger; the Lambda entry points leave it empty,
// since their handlers add the name per request.
func New(ctx context.Context, function string, opts Options) (*App, error) {
	c, err := newCore(ctx, function, opts)
	if err != nil {
		return nil, err
	}
	verifier, err := c.verifier(ctx)
	if err != nil {
		return nil, err
	}
	return &App{
		core:   c,
		Config: c.cfg, Secrets: c.secrets, Logger: c.logger, Store: c.store, Auth: verifier, HTTP: c.http,
		Registry: c.registry, Router: c.router, Providers: c.providers, Tokens: c.tokens,
		Connections: c.service(), Executor: c.executor(), Keyring: c.keyring,
	}, nil
}

// core is what every function's graph shares: configuration, secrets, the
// store, sealing, the registry, the router and the auth providers.
type core struct {
	cfg       config.Config
	sec       config.Secrets
	secrets   *config.CachedSecrets
	logger    *slog.Logger
	store     connectors.Store
	http      *http.Client
	registry  *registry.Registry
	router    *router.Router
	providers connectors.Providers
	tokens    *credentials.Lifecycle
	keyring   *seal.Keyring
	sealer    credentials.Sealer
	missing   []missingValue
	now       func() time.Time
	actions   *actions.Catalogue
	metrics   metrics.Sink
	tracing   *tracing.Tracing
}

func newCore(ctx context.Context, function string, opts Options) (*core, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	out := opts.LogOutput
	if out == nil {
		out = os.Stdout
	}
	logger := logging.New(out, cfg.LogLevel)
	if function != "" {
		logger = logger.With(slog.String(logging.KeyFunction, function))
	}

	tr := cmp.Or(opts.Tracing, tracing.Disabled())
	source := opts.Secrets
	var awsCfg aws.Config
	if opts.Store == nil || (source == nil && cfg.SecretsID != "") || (opts.KeyWrapper == nil && cfg.KMSKeyID != "") {
		if awsCfg, err = awsconfig.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("aws configuration: %w", err)
		}
		tr.AppendAWS(&awsCfg)
	}
	if source == nil {
		if cfg.SecretsID != "" {
			source = awssecrets.New(secretsClient(awsCfg), cfg.SecretsID)
		} else {
			source = config.EnvSource{Getenv: getenv}
		}
	}
	secrets := config.NewCachedSecrets(source, config.CacheOptions{Logger: logger})
	sec, err := secrets.LoadSecrets(ctx)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	if sec.StateSigningKey == "" {
		return nil, fmt.Errorf("secrets: state_signing_key is not set")
	}

	store := opts.Store
	if store == nil {
		if cfg.TableName == "" {
			return nil, fmt.Errorf("configuration: TABLE_NAME is not set")
		}
		store = dynamostore.New(dynamoClient(awsCfg), cfg.TableName, seal.DeriveKey([]byte(sec.StateSigningKey), "cursor"))
	}

	httpClient := opts.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 25 * time.Second}
	}
	httpClient = tr.Client(httpClient)
	missing := missingValues(cfg, sec)
	logMissing(ctx, logger, missing)

	keyring, sealer, err := newSealer(cfg, opts, awsCfg, store, sec, logger)
	if err != nil {
		return nil, err
	}

	reg := registry.Default().WithProviderConfigKeys(cfg.ProviderConfigKeys)
	cat, err := actions.NewCatalogue(reg, schema.Subset{})
	if err != nil {
		return nil, err
	}
	reg = cat.Registry()
	policy, err := router.ParsePolicy(cfg.RoutingPolicy)
	if err != nil {
		return nil, fmt.Errorf("ROUTING_POLICY: %w", err)
	}
	if err := policy.Validate(reg); err != nil {
		return nil, fmt.Errorf("ROUTING_POLICY: %w", err)
	}
	providers, routes := newProviders(cfg, sec, missing, httpClient, reg, cat, opts)
	sink := opts.Metrics
	if sink == nil {
		sink = metrics.NewEMF(os.Stdout, nil)
	}
	return &core{
		cfg: cfg, sec: sec, secrets: secrets, logger: logger, store: store, http: httpClient,
		registry: reg, router: router.New(policy, routes...), providers: providers,
		tokens:  credentials.New(store, providers, sealer, opts.Now),
		keyring: keyring, sealer: sealer, missing: missing, now: opts.Now, actions: cat,
		metrics: sink, tracing: tr,
	}, nil
}

// newProviders builds the auth providers this deployment serves, one per
// routing step that has one, and the router's options for the managed
// ones' steps. Adding a provider is one line here.
func newProviders(cfg config.Config, sec config.Secrets, missing []missingValue, httpClient *http.Client, reg *registry.Registry, cat *actions.Catalogue, opts Options) (connectors.Providers, []router.Option) {
	providerHTTP := metrics.Client(httpClient, metrics.TargetProvider) // providers' APIs and OAuth servers
	nangoProvider := nango.NotConfigured
	if sec.NangoSecretKey != "" && cfg.NangoHost != "" {
		nangoProvider = nango.NewProvider(nango.New(cfg.NangoHost, sec.NangoSecretKey, nango.WithHTTPClient(metrics.Client(httpClient, metrics.TargetNango))), cfg.NangoHost)
	}
	servers := opts.OAuthServers
	if servers == nil {
		callback := func(connector string) string {
			return cfg.PublicURL + "/api/v1/nango/oauth/" + connector + "/callback"
		}
		google := legacyoauth.Google(sec.GoogleClientID, sec.GoogleClientSecret, callback("gmail"))
		google.Missing = oauthMissing(missing, MissingGoogleClientID, MissingGoogleSecret, MissingPublicURL)
		microsoft := legacyoauth.Microsoft(sec.MicrosoftClientID, sec.MicrosoftClientSecret, callback("outlook"))
		microsoft.Missing = oauthMissing(missing, MissingMicrosoftID, MissingMicrosoftSecret, MissingPublicURL)
		servers = map[string]*legacyoauth.Provider{"gmail": google, "outlook": microsoft}
	}
	// API keys are tested with the connector's own read-only call, sent
	// where the actions send theirs.
	verifyKey := opts.APIKeyVerifier
	if verifyKey == nil {
		verifyKey = func(ctx context.Context, m registry.Manifest, creds connectors.Credentials) error {
			return cat.Verify(ctx, providerHTTP, m.ID, creds, cfg.ProviderBaseURLs[m.ID])
		}
	}
	comp := newComposio(cfg, sec, metrics.Client(httpClient, metrics.TargetComposio), reg)
	pan := newPanora(cfg, sec, metrics.Client(httpClient, metrics.TargetPanora))
	return connectors.NewProviders(
		nangoProvider,
		apikey.New(reg, verifyKey, opts.Now),
		pan.provider,
		comp.provider,
		legacyoauth.NewProvider(legacyoauth.New(providerHTTP, servers)),
	), []router.Option{pan.route, comp.route}
}

// verifier is the bearer-token check of the HTTP API; without a JWT key,
// a stand-in that answers not_configured.
func (c *core) verifier(ctx context.Context) (httpapi.Authenticator, error) {
	if len(c.sec.JWTHS256Secret) == 0 && c.cfg.JWTJWKSURL == "" {
		return notConfiguredAuth{}, nil
	}
	v, err := auth.New(ctx, auth.Options{
		HS256Secret: []byte(c.sec.JWTHS256Secret),
		JWKSURL:     c.cfg.JWTJWKSURL,
		Issuer:      c.cfg.JWTIssuer,
		Audience:    c.cfg.JWTAudience,
		OrgClaim:    c.cfg.JWTOrgClaim,
		HTTPClient:  c.http,
	})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return v, nil
}

func (c *core) service() *connect.Service {
	return connect.New(connect.Deps{
		Store: c.store, Registry: c.registry, Router: c.router, Providers: c.providers, Tokens: c.tokens,
		Sealer: c.sealer, StateKey: seal.DeriveKey([]byte(c.sec.StateSigningKey), "state"),
		RedirectAllowlist: c.cfg.RedirectAllowlist, Now: c.now, Actions: c.actions,
	})
}

func (c *core) executor() *executor.Executor {
	return executor.New(executor.Deps{
		Store: c.store, Registry: c.registry, Router: c.router, Providers: c.providers, Tokens: c.tokens,
		HTTP: metrics.Client(c.http, metrics.TargetProvider), Actions: c.actions, BaseURLs: c.cfg.ProviderBaseURLs, AppCredentials: c.sec.AppCredentials(),
		Executions: c.store, Retention: c.cfg.ExecutionRetention, // execution history
	})
}

func (c *core) sweeper() *sweeper.Sweeper {
	return sweeper.New(c.store, c.tokens, sweeper.Options{Owner: uuid.NewString()})
}

// webhooks verifies the providers' webhooks (Nango's, Composio's) with
// the signing keys of the cached secret, re-reading it when asked (a
// signature matched none of the cached keys).
func (c *core) webhooks() httpapi.Events {
	keys := func(pick func(config.Secrets) []string) func(context.Context, bool) ([]string, error) {
		return func(ctx context.Context, fresh bool) ([]string, error) {
			if fresh {
				c.secrets.Invalidate()
			}
			s, err := c.secrets.LoadSecrets(ctx)
			if err != nil {
				return nil, fmt.Errorf("load secrets: %w", err)
			}
			return pick(s), nil
		}
	}
	return webhookEvents{
		nango:    nango.Webhooks{Keys: keys(func(s config.Secrets) []string { return s.NangoWebhookSigningKeys })},
		composio: composio.Webhooks{Secrets: keys(func(s config.Secrets) []string { return s.ComposioWebhookSecrets })},
		panora: panora.Webhooks{Secrets: keys(func(s config.Secrets) []string { return s.PanoraWebhookSecrets }), ProviderConfigKey: func(connector string) string {
			m, _ := c.registry.Lookup(connector)
			return m.ProviderConfigKey
		}},
	}
}

// newSealer decides how tokens and verifiers are sealed:
//   - with a key wrapper (KMS on KMS_KEY_ID, or the one Options give), under
//     per-organization data keys (seal.Keyring, format version 2); the
//     token_encryption_keys, when present, still open the version-1 values
//     sealed before (read old, write new: no migration step);
//   - without KMS_KEY_ID (a stack not yet upgraded, sam local without KMS),
//     with token_encryption_keys as before (version 1, one key set for every
//     organization), and a warning, since nothing is per organization then;
//   - with neither, the function does not start.
func newSealer(cfg config.Config, opts Options, awsCfg aws.Config, store connectors.Store, sec config.Secrets, logger *slog.Logger) (*seal.Keyring, credentials.Sealer, error) {
	var legacy *seal.Sealer
	if len(sec.TokenEncryptionKeys) > 0 {
		keys := make([]seal.Key, 0, len(sec.TokenEncryptionKeys))
		for _, k := range sec.TokenEncryptionKeys {
			keys = append(keys, seal.Key{ID: k.ID, Secret: k.Secret})
		}
		var err error
		if legacy, err = seal.New(keys...); err != nil {
			return nil, nil, fmt.Errorf("token encryption keys: %w", err)
		}
	}
	wrapper := opts.KeyWrapper
	if wrapper == nil && cfg.KMSKeyID != "" {
		wrapper = awskms.New(kmsClient(awsCfg), cfg.KMSKeyID)
	}
	switch {
	case wrapper != nil:
		ring := seal.NewKeyring(store, wrapper, seal.KeyringOptions{Legacy: legacy, MaxKeyAge: DataKeyMaxAge})
		logger.Debug("sealing with per-organization data keys", "keyWrapper", wrapper.KeyName(), "legacyKeys", len(sec.TokenEncryptionKeys))
		return ring, ring, nil
	case legacy != nil:
		logger.Warn("KMS_KEY_ID is not set: sealing with token_encryption_keys, one key set for every organization")
		return nil, legacy, nil
	}
	// Nothing to seal with: what stores or reads a token answers
	// not_configured (New has logged what is missing); the rest serves.
	return nil, notConfiguredSealer{}, nil
}

func must[T any](v T, err error) T {
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("cold start failed", "err", err)
		os.Exit(1)
	}
	return v
}

// MustExecutor builds the execute-connector handler at cold start, or
// exits. It builds no JWT verifier and no connection service.
func MustExecutor(ctx context.Context) lambdatask.Task[executor.Input, executor.Output] {
	tr := must(tracing.FromEnv(os.Getenv, "execute-connector"))
	return must(newCore(ctx, "", Options{Tracing: tr})).executorTask()
}

// MustSweeper builds the connection-sweeper handler at cold start, or
// exits. It builds no JWT verifier and no executor.
func MustSweeper(ctx context.Context) lambdatask.Task[json.RawMessage, sweeper.Result] {
	tr := must(tracing.FromEnv(os.Getenv, "connection-sweeper"))
	return must(newCore(ctx, "", Options{Tracing: tr})).sweeperTask()
}

// Sweeper returns the connection sweeper.
func (a *App) Sweeper() *sweeper.Sweeper { return a.core.sweeper() }
