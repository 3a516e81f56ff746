package wiring_test

import (
	"bytes"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/boltstore"
	"github.com/automators/connectors/internal/seal"
	"github.com/automators/connectors/internal/tstest/awstest"
	"github.com/automators/connectors/internal/tstest/storetest"
	"github.com/automators/connectors/internal/wiring"
)

var legacyKey = bytes.Repeat([]byte{7}, seal.KeySize)

func env(extra map[string]string) func(string) string {
	vars := map[string]string{
		"STATE_SIGNING_KEY": "state-signing-key-for-wiring-tests",
		"JWT_HS256_SECRET":  "jwt-secret-for-wiring-tests-0123456789",
	}
	for k, v := range extra {
		vars[k] = v
	}
	return func(k string) string { return vars[k] }
}

func legacyKeys() map[string]string {
	return map[string]string{"TOKEN_ENCRYPTION_KEYS": "k1:" + base64.StdEncoding.EncodeToString(legacyKey)}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// TestSealerChoice: KMS_KEY_ID (or a given wrapper) means per-organization
// data keys; without it the token_encryption_keys seal as before; with
// neither the function still starts, says what is missing, and what needs a
// token answers not_configured.
func TestSealerChoice(t *testing.T) {
	kmsKey := awstest.KMSKey(t, awstest.KMS(t))
	// The SDK's configuration reads the process environment.
	t.Setenv("AWS_ENDPOINT_URL_KMS", awstest.Endpoint(t, "kms"))
	tests := []struct {
		name        string
		vars        map[string]string
		wrapper     connectors.KeyWrapper
		wantKeyring bool
		wantLog     string
	}{
		{name: "kms", vars: merge(legacyKeys(), map[string]string{"KMS_KEY_ID": kmsKey}), wantKeyring: true},
		{name: "kms without legacy keys", vars: map[string]string{"KMS_KEY_ID": kmsKey}, wantKeyring: true},
		{name: "local wrapper", vars: legacyKeys(), wrapper: storetest.Wrapper(t), wantKeyring: true},
		{name: "legacy only", vars: legacyKeys(), wantLog: "KMS_KEY_ID is not set"},
		{name: "nothing", vars: nil, wantLog: `"missing":"KMS_KEY_ID or token_encryption_keys"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := openStore(t)
			var logs bytes.Buffer
			app, err := wiring.New(t.Context(), "", wiring.Options{
				Getenv: env(tt.vars), LogOutput: &logs, Store: store, KeyWrapper: tt.wrapper,
			})
			if err != nil {
				t.Fatal(err)
			}
			if (app.Keyring != nil) != tt.wantKeyring {
				t.Fatalf("keyring = %v, want %v", app.Keyring != nil, tt.wantKeyring)
			}
			if !strings.Contains(logs.String(), tt.wantLog) {
				t.Fatalf("log %q lacks %q", logs.String(), tt.wantLog)
			}
			if bytes.Contains(logs.Bytes(), []byte(base64.StdEncoding.EncodeToString(legacyKey))) {
				t.Fatal("the log holds key material")
			}
			if tt.name == "nothing" {
				c := &connectors.Connection{ID: "c1", OrganizationID: "o1", SealedToken: []byte{2, 1, 'x'}}
				if _, err := app.Tokens.OpenToken(t.Context(), c); connectors.ErrorCode(err) != connectors.ENotConfigured {
					t.Fatalf("opening a token with nothing to open it: %v, want not_configured", err)
				}
				return
			}
			checkTokens(t, app, store, tt.wantKeyring && tt.vars["TOKEN_ENCRYPTION_KEYS"] != "")
		})
	}
}

func openStore(t *testing.T) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "store.db"), []byte("cursor"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkTokens: the connection service opens what its sealer seals, and,
// with a keyring and legacy keys, a token sealed before the upgrade.
func checkTokens(t *testing.T, app *wiring.App, store connectors.Store, legacyToo bool) {
	t.Helper()
	tok := connectors.Token{AccessToken: "ya29.access", RefreshToken: "1//refresh"}
	plain, err := tok.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var sealers []func(aad []byte) ([]byte, error)
	if app.Keyring != nil {
		sealers = append(sealers, func(aad []byte) ([]byte, error) {
			return app.Keyring.SealFor(t.Context(), "o1", seal.PurposeToken, aad, plain)
		})
	}
	if app.Keyring == nil || legacyToo {
		old, err := seal.New(seal.Key{ID: "k1", Secret: legacyKey})
		if err != nil {
			t.Fatal(err)
		}
		sealers = append(sealers, func(aad []byte) ([]byte, error) { return old.Seal(plain, aad) })
	}
	for i, sealFn := range sealers {
		c := storetest.Connection("o1", "u1", "gmail", "c"+string(rune('0'+i)))
		c.AuthProvider = connectors.ProviderLegacy
		if c.SealedToken, err = sealFn(seal.AAD("o1", c.ID)); err != nil {
			t.Fatal(err)
		}
		if err := store.CreateConnection(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		got, err := app.Tokens.OpenToken(t.Context(), c)
		if err != nil || got.AccessToken != tok.AccessToken {
			t.Fatalf("sealer %d: OpenToken = %+v, %v", i, got, err)
		}
	}
}
