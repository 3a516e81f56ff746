package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/automators/connectors/internal/adapter/apigw"
	"github.com/automators/connectors/internal/adapter/httpapi"
	"github.com/automators/connectors/internal/auth"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/local/nangofake"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/wiring"
)

// FuzzRequestDecoding sends arbitrary bodies, queries and path parameters,
// with and without a valid token, to every handler: none may panic or answer
// 5xx, and every refusal is the JSON error body.
func FuzzRequestDecoding(f *testing.F) {
	const jwtSecret = "fuzz-jwt-secret-0123456789abcdef0123456789"
	fake := nangofake.New(nangofake.Options{SecretKey: "fuzz-nango-key", Integrations: []nangofake.Integration{{UniqueKey: "slack", Provider: "slack"}}})
	nangoURL := fake.Start()
	f.Cleanup(fake.Close)
	store, err := boltstore.Open(filepath.Join(f.TempDir(), "fuzz.db"), []byte("cursor-key"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	vars := map[string]string{
		"NANGO_HOST": nangoURL, "NANGO_SECRET_KEY": "fuzz-nango-key",
		"JWT_HS256_SECRET": jwtSecret, "STATE_SIGNING_KEY": "fuzz-state-key",
		"TOKEN_ENCRYPTION_KEYS":      "k1:" + base64.StdEncoding.EncodeToString(make([]byte, 32)),
		"NANGO_WEBHOOK_SIGNING_KEYS": "fuzz-webhook-key", "REDIRECT_ALLOWLIST": "https://app.example.com",
		// Configured, so that the built-in OAuth route is explored too
		// rather than answering 503 not_configured.
		"GOOGLE_CLIENT_ID": "fuzz-google", "GOOGLE_CLIENT_SECRET": "fuzz-google-secret",
		"MICROSOFT_CLIENT_ID": "fuzz-microsoft", "MICROSOFT_CLIENT_SECRET": "fuzz-microsoft-secret",
		"PUBLIC_URL": "https://api.example.com",
	}
	app, err := wiring.New(context.Background(), "fuzz", wiring.Options{
		Getenv: func(k string) string { return vars[k] }, Store: store, LogOutput: io.Discard,
		// API keys are tested by a fake that takes any (the create and
		// rotate routes are explored past their provider).
		APIKeyVerifier: func(context.Context, registry.Manifest, connectors.Credentials) error { return nil },
	})
	if err != nil {
		f.Fatal(err)
	}
	handlers := map[string]apigw.Handler{}
	for n, h := range app.API("fuzz").Handlers() {
		handlers[n] = apigw.Wrap(h)
	}
	names := make([]string, 0, len(handlers))
	for n := range handlers {
		names = append(names, n)
	}
	sort.Strings(names)
	token, err := auth.Issue([]byte(jwtSecret), auth.DevClaims{UserID: "u1", OrgID: "o1"}, "org_id")
	if err != nil {
		f.Fatal(err)
	}

	// which picks a handler by its place in names (sorted): 0 authorize,
	// 1 callback, 2 create-connection, 3 delete-connection, 4
	// get-connection, 5 list-connections, 6 refresh, 7 rotate-credentials,
	// 8 update-connection, 9 webhook.
	f.Add(uint8(0), `{"connectionId":"c1"}`, "state=x&connection_id=y", "slack", false, true)
	f.Add(uint8(1), `{`, "limit=0&cursor=%%%", "../../etc", true, true)
	f.Add(uint8(3), strings.Repeat("a", 70000), "redirect_uri=javascript:alert(1)", "", false, true)
	f.Add(uint8(4), `{"type":"auth"}`, "", "gmail", true, false)
	f.Add(uint8(5), `null`, "scope=organization&status=nope", "\x00", false, true)
	f.Add(uint8(2), `{"connector":"stripe","credentials":{"secret_key":"sk_test_0123456789abcdef"},"label":"l"}`, "", "", false, true)
	f.Add(uint8(7), `{"credentials":{"secret_key":42}}`, "", "key-x", false, true)
	f.Add(uint8(8), `{"shared":true}`, "", "c1", false, true)
	f.Fuzz(func(t *testing.T, which uint8, body, rawQuery, param string, b64, authed bool) {
		name := names[int(which)%len(names)]
		req := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "FUZZ " + name, RawQueryString: rawQuery,
			Headers:        map[string]string{"content-type": "application/json"},
			PathParameters: map[string]string{"provider": param, "connectionId": param},
			Body:           body, IsBase64Encoded: b64,
		}
		req.RequestContext.RequestID = "fuzz"
		if authed {
			req.Headers["authorization"] = "Bearer " + token
		}
		resp, err := handlers[name](context.Background(), req)
		if err != nil {
			t.Fatalf("%s returned a Lambda error: %v", name, err)
		}
		if resp.StatusCode >= 500 || resp.StatusCode < 200 {
			t.Fatalf("%s answered %d: %s", name, resp.StatusCode, resp.Body)
		}
		if resp.StatusCode >= 400 {
			var e httpapi.ErrorBody
			if err := json.Unmarshal([]byte(resp.Body), &e); err != nil || e.Error.Code == "" {
				t.Fatalf("%s answered %d without the JSON error body: %q", name, resp.StatusCode, resp.Body)
			}
		}
	})
}
