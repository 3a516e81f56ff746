// Package localdev wires the service for `make run`: the embedded bbolt
// store under .local/, development secrets generated on first start, and,
// unless NANGO_SECRET_KEY is set, an offline Nango sandbox (the fake Nango,
// in process), and, unless KMS_KEY_ID is set, a local key in place of KMS. It is the only place these local-only parts meet the
// deployed wiring, so no Lambda bootstrap links them.
package localdev

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/automators/connectors/internal/apigw"
	"github.com/automators/connectors/internal/boltstore"
	"github.com/automators/connectors/internal/config"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/localkms"
	"github.com/automators/connectors/internal/logging"
	"github.com/automators/connectors/internal/nangofake"
	"github.com/automators/connectors/internal/registry"
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

// App is the local service.
type App struct {
	*wiring.App
	Sandbox *nangofake.Server // nil when a real Nango is configured
	store   *boltstore.Store
}

// Close stops the sandbox and closes the store.
func (a *App) Close() {
	if a.Sandbox != nil {
		a.Sandbox.Close()
	}
	a.store.Close()
}

// Handlers returns every HTTP function's handler keyed by folder name.
func (a *App) Handlers() map[string]apigw.Handler {
	out := map[string]apigw.Handler{}
	for name := range a.API("").Handlers() {
		// One API per function, so log lines name the function as in Lambda.
		out[name] = a.API(name).Handlers()[name]
	}
	return out
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
	if env.get("NANGO_SECRET_KEY") == "" {
		app.Sandbox = sandbox(env)
		url := app.Sandbox.Start()
		env.vars["NANGO_HOST"] = url
		log.Warn("NANGO SANDBOX IN USE: offline fake Nango, no real provider is contacted", "nangoHost", url)
	} else {
		log.Info("using a real Nango", "nangoHost", env.get("NANGO_HOST"))
	}
	if env.get("PUBLIC_URL") == "" && opts.PublicURL != "" {
		env.vars["PUBLIC_URL"] = opts.PublicURL
	}

	secrets, err := config.EnvSource{Getenv: env.get}.LoadSecrets(ctx)
	if err != nil {
		app.closeSandbox()
		return nil, fmt.Errorf("development secrets: %w", err)
	}
	app.store, err = boltstore.Open(filepath.Join(opts.Dir, "connectors.db"), wiring.DeriveKey(secrets.StateSigningKey, "cursor"))
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
		Getenv: env.get, LogOutput: opts.LogOutput, Store: app.store, KeyWrapper: wrapper,
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
}

// sandbox is a fake Nango knowing every Nango-served connector's integration.
func sandbox(env overlay) *nangofake.Server {
	key := randomHex(24)
	env.vars["NANGO_SECRET_KEY"] = key
	var ins []nangofake.Integration
	for _, m := range registry.Default().All() {
		if m.OAuthProvider == connectors.ProviderNango {
			ins = append(ins, nangofake.Integration{UniqueKey: m.ProviderConfigKey, Provider: m.NangoProvider})
		}
	}
	signing := strings.Split(env.get("NANGO_WEBHOOK_SIGNING_KEYS"), ",")[0]
	return nangofake.New(nangofake.Options{SecretKey: key, WebhookSigningKey: signing, Integrations: ins})
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
