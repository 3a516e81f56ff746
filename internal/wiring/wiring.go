// Package wiring builds every dependency of the service once per cold start
// from configuration. The Lambda functions and the local API both use it, so
// local runs and deployed ones execute the same code; local runs swap in
// their own store and secrets through Options.
//
// It links only what a deployed function needs: the embedded store, the fake
// Nango and the local API are passed in by internal/local/localdev, never imported.
package wiring

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/uuid"

	"github.com/automators/connectors/internal/adapter/awskms"
	"github.com/automators/connectors/internal/adapter/awssecrets"
	"github.com/automators/connectors/internal/adapter/dynamostore"
	"github.com/automators/connectors/internal/adapter/httpapi"
	"github.com/automators/connectors/internal/adapter/lambdatask"
	"github.com/automators/connectors/internal/adapter/legacyoauth"
	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/config"
	"github.com/automators/connectors/internal/connect"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/executor"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/router"
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
}

// DataKeyMaxAge is how old an organization's newest data key may grow
// before its next seal creates the next one. Old keys stay (they open what
// they sealed); a record is re-sealed under the newest key when next
// written. The KMS key itself rotates yearly (EnableKeyRotation).
const DataKeyMaxAge = 90 * 24 * time.Hour

// App holds the dependencies of one process.
type App struct {
	Config      config.Config
	Secrets     *config.CachedSecrets
	Logger      *slog.Logger
	Store       connectors.Store
	Auth        httpapi.Authenticator // a stand-in answering not_configured when there is no JWT key
	HTTP        *http.Client
	Registry    *registry.Registry
	Router      *router.Router
	Nango       *nango.Client // nil when NANGO_SECRET_KEY is empty
	Connections *connect.Service
	Executor    *executor.Executor
	Keyring     *seal.Keyring // nil when sealing with token_encryption_keys only
}

// New builds the App. A non-empty function names the function in every line
// of the App's logger; the Lambda entry points leave it empty, since their
// handlers add the name per request.
func New(ctx context.Context, function string, opts Options) (*App, error) {
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

	source := opts.Secrets
	var awsCfg aws.Config
	if opts.Store == nil || (source == nil && cfg.SecretsID != "") || (opts.KeyWrapper == nil && cfg.KMSKeyID != "") {
		if awsCfg, err = awsconfig.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("aws configuration: %w", err)
		}
	}
	if source == nil {
		if cfg.SecretsID != "" {
			source = awssecrets.New(secretsmanager.NewFromConfig(awsCfg), cfg.SecretsID)
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
		store = dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.TableName, DeriveKey(sec.StateSigningKey, "cursor"))
	}

	httpClient := opts.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 25 * time.Second}
	}
	missing := missingValues(cfg, sec)
	logMissing(ctx, logger, missing)

	var verifier httpapi.Authenticator = notConfiguredAuth{}
	if len(sec.JWTHS256Secret) > 0 || cfg.JWTJWKSURL != "" {
		v, err := auth.New(ctx, auth.Options{
			HS256Secret: []byte(sec.JWTHS256Secret),
			JWKSURL:     cfg.JWTJWKSURL,
			Issuer:      cfg.JWTIssuer,
			Audience:    cfg.JWTAudience,
			OrgClaim:    cfg.JWTOrgClaim,
			HTTPClient:  httpClient,
		})
		if err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
		verifier = v
	}

	keyring, sealer, err := newSealer(cfg, opts, awsCfg, store, sec, logger)
	if err != nil {
		return nil, err
	}

	reg := registry.Default().WithProviderConfigKeys(cfg.ProviderConfigKeys)
	policy, err := router.ParsePolicy(cfg.RoutingPolicy)
	if err != nil {
		return nil, fmt.Errorf("ROUTING_POLICY: %w", err)
	}
	if err := policy.Validate(reg); err != nil {
		return nil, fmt.Errorf("ROUTING_POLICY: %w", err)
	}
	rt := router.New(policy)

	var nc *nango.Client
	if sec.NangoSecretKey != "" && cfg.NangoHost != "" {
		nc = nango.New(cfg.NangoHost, sec.NangoSecretKey, nango.WithHTTPClient(httpClient))
	}
	var nangoPort connect.Nango
	var execNango executor.Nango
	if nc != nil {
		nangoPort, execNango = nc, nc
	}
	callback := func(connector string) string {
		return cfg.PublicURL + "/api/v1/nango/oauth/" + connector + "/callback"
	}
	google := legacyoauth.Google(sec.GoogleClientID, sec.GoogleClientSecret, callback("gmail"))
	google.Missing = oauthMissing(missing, MissingGoogleClientID, MissingGoogleSecret, MissingPublicURL)
	microsoft := legacyoauth.Microsoft(sec.MicrosoftClientID, sec.MicrosoftClientSecret, callback("outlook"))
	microsoft.Missing = oauthMissing(missing, MissingMicrosoftID, MissingMicrosoftSecret, MissingPublicURL)
	legacy := legacyoauth.New(httpClient, map[string]*legacyoauth.Provider{"gmail": google, "outlook": microsoft})
	svc := connect.New(connect.Deps{
		Store: store, Registry: reg, Router: rt, Nango: nangoPort, NangoHost: cfg.NangoHost,
		Legacy: legacy, Sealer: sealer, StateKey: DeriveKey(sec.StateSigningKey, "state"),
		RedirectAllowlist: cfg.RedirectAllowlist,
	})
	exec := executor.New(executor.Deps{
		Store: store, Registry: reg, Router: rt, Nango: execNango, Tokens: svc, HTTP: httpClient,
		BaseURLs: cfg.ProviderBaseURLs,
	})
	return &App{
		Config: cfg, Secrets: secrets, Logger: logger, Store: store, Auth: verifier, HTTP: httpClient,
		Registry: reg, Router: rt, Nango: nc, Connections: svc, Executor: exec, Keyring: keyring,
	}, nil
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
func newSealer(cfg config.Config, opts Options, awsCfg aws.Config, store connectors.Store, sec config.Secrets, logger *slog.Logger) (*seal.Keyring, connect.Sealer, error) {
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
		wrapper = awskms.New(kms.NewFromConfig(awsCfg), cfg.KMSKeyID)
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

// DeriveKey returns a purpose-bound key from a secret, so one configured
// secret can key several MACs (states, cursors) without any two sharing a key.
func DeriveKey(secret, purpose string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// webhookKeys reads Nango's signing keys from the cached secret, re-reading
// it when asked (a signature matched none of the cached keys).
func (a *App) webhookKeys(ctx context.Context, fresh bool) ([]string, error) {
	if fresh {
		a.Secrets.Invalidate()
	}
	s, err := a.Secrets.LoadSecrets(ctx)
	if err != nil {
		return nil, fmt.Errorf("load secrets: %w", err)
	}
	return s.NangoWebhookSigningKeys, nil
}

func must(app *App, err error) *App {
	if err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("cold start failed", "err", err)
		os.Exit(1)
	}
	return app
}

// MustExecutor builds the execute-connector handler at cold start, or exits.
func MustExecutor(ctx context.Context) lambdatask.Task[executor.Input, executor.Output] {
	app := must(New(ctx, "", Options{}))
	return lambdatask.Executor(app.Executor, app.Logger)
}

// MustSweeper builds the connection-sweeper handler at cold start, or exits.
func MustSweeper(ctx context.Context) lambdatask.Task[json.RawMessage, sweeper.Result] {
	app := must(New(ctx, "", Options{}))
	return lambdatask.Sweeper(app.Sweeper(), app.Logger)
}

// Sweeper returns the connection sweeper.
func (a *App) Sweeper() *sweeper.Sweeper {
	return sweeper.New(a.Store, a.Connections, sweeper.Options{Owner: uuid.NewString()})
}
