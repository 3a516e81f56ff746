package config

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
)

// Values that must never show up in any output or error.
var (
	keyA = bytes.Repeat([]byte{0xA1}, 32)
	keyB = bytes.Repeat([]byte{0xB2}, 32)
)

const (
	nangoSecret  = "nango-secret-VALUE-1"
	webhookKey1  = "whsec-VALUE-1"
	webhookKey2  = "whsec-VALUE-2"
	jwtSecret    = "jwt-secret-VALUE-0123456789abcdef"
	stateKey     = "state-VALUE-xyz"
	googleSecret = "google-secret-VALUE"
	msSecret     = "ms-secret-VALUE"
)

func fullSecrets() Secrets {
	return Secrets{
		NangoSecretKey:          nangoSecret,
		NangoWebhookSigningKeys: []string{webhookKey1, webhookKey2},
		JWTHS256Secret:          jwtSecret,
		StateSigningKey:         stateKey,
		TokenEncryptionKeys:     []EncryptionKey{{ID: "k2", Secret: keyB}, {ID: "k1", Secret: keyA}},
		GoogleClientID:          "google-id",
		GoogleClientSecret:      googleSecret,
		MicrosoftClientID:       "ms-id",
		MicrosoftClientSecret:   msSecret,
	}
}

// assertNoSecret fails if out holds any secret value of fullSecrets.
func assertNoSecret(t *testing.T, what, out string) {
	t.Helper()
	for _, v := range []string{nangoSecret, webhookKey1, webhookKey2, jwtSecret, stateKey, googleSecret, msSecret,
		base64.StdEncoding.EncodeToString(keyA), base64.StdEncoding.EncodeToString(keyB), string(keyA), fmt.Sprint(keyA), fmt.Sprintf("%x", keyA)} {
		if strings.Contains(out, v) {
			t.Errorf("%s shows a secret (%q): %s", what, v, out)
		}
	}
}

func TestParseSecretsJSON(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	good := fmt.Sprintf(`{
		"nango_secret_key": %q,
		"nango_webhook_signing_keys": [%q, %q],
		"jwt_hs256_secret": %q,
		"state_signing_key": %q,
		"token_encryption_keys": [{"id": "k2", "key": %q}, {"id": "k1", "key": %q}],
		"google_client_id": "google-id",
		"google_client_secret": %q,
		"microsoft_client_id": "ms-id",
		"microsoft_client_secret": %q,
		"some_future_key": "ignored"
	}`, nangoSecret, webhookKey1, webhookKey2, jwtSecret, stateKey, b64(keyB),
		base64.RawURLEncoding.EncodeToString(keyA), googleSecret, msSecret)

	tests := []struct {
		name    string
		doc     string
		want    Secrets
		wantErr string // substring of the error; "" for success
	}{
		{name: "full", doc: good, want: fullSecrets()},
		{name: "empty object", doc: `{}`, want: Secrets{}},
		{name: "webhook key as one string", doc: `{"nango_webhook_signing_keys": "a, b"}`, want: Secrets{NangoWebhookSigningKeys: []string{"a", "b"}}},
		{name: "not JSON", doc: `{"nango_secret_key": "` + nangoSecret + `" oops}`, wantErr: "invalid JSON at byte"},
		{name: "not an object", doc: `["` + nangoSecret + `"]`, wantErr: "want a JSON object"},
		{name: "wrong type", doc: `{"nango_secret_key": 12345}`, wantErr: "nango_secret_key"},
		{name: "webhook keys wrong type", doc: `{"nango_webhook_signing_keys": {"a": "` + webhookKey1 + `"}}`, wantErr: "nango_webhook_signing_keys"},
		{name: "empty webhook key", doc: `{"nango_webhook_signing_keys": ["a", " "]}`, wantErr: "nango_webhook_signing_keys[1] is empty"},
		{name: "key not base64", doc: `{"token_encryption_keys": [{"id": "k1", "key": "` + stateKey + `!"}]}`, wantErr: `key "k1": not base64`},
		{name: "key too short", doc: `{"token_encryption_keys": [{"id": "k1", "key": "` + b64(keyA[:16]) + `"}]}`, wantErr: "decodes to 16 bytes, want 32"},
		{name: "key without id", doc: `{"token_encryption_keys": [{"key": "` + b64(keyA) + `"}]}`, wantErr: "key id is empty"},
		{name: "duplicate key id", doc: `{"token_encryption_keys": [{"id": "k", "key": "` + b64(keyA) + `"}, {"id": "k", "key": "` + b64(keyB) + `"}]}`, wantErr: `"k" given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSecretsJSON([]byte(tt.doc))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				assertNoSecret(t, "error", err.Error())
				return
			}
			if err != nil {
				t.Fatalf("ParseSecretsJSON: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want) // redacted, but DeepEqual decided
			}
		})
	}
}

func TestSecretsFromEnv(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	full := map[string]string{
		"NANGO_SECRET_KEY":           nangoSecret,
		"NANGO_WEBHOOK_SIGNING_KEYS": webhookKey1 + " , " + webhookKey2,
		"JWT_HS256_SECRET":           jwtSecret,
		"STATE_SIGNING_KEY":          stateKey,
		"TOKEN_ENCRYPTION_KEYS":      "k2:" + b64(keyB) + ", k1:" + base64.URLEncoding.EncodeToString(keyA),
		"GOOGLE_CLIENT_ID":           "google-id",
		"GOOGLE_CLIENT_SECRET":       googleSecret,
		"MICROSOFT_CLIENT_ID":        "ms-id",
		"MICROSOFT_CLIENT_SECRET":    msSecret,
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    Secrets
		wantErr string
	}{
		{name: "full", env: full, want: fullSecrets()},
		{name: "none", env: map[string]string{}, want: Secrets{}},
		{name: "key without id", env: map[string]string{"TOKEN_ENCRYPTION_KEYS": b64(keyA)}, wantErr: "entry 0 is not id:<base64 key>"},
		{name: "key too long", env: map[string]string{"TOKEN_ENCRYPTION_KEYS": "k1:" + b64(append(keyA, 1))}, wantErr: "decodes to 33 bytes"},
		{name: "key not base64", env: map[string]string{"TOKEN_ENCRYPTION_KEYS": "k1:" + stateKey + "!"}, wantErr: "not base64"},
		{name: "duplicate id", env: map[string]string{"TOKEN_ENCRYPTION_KEYS": "k:" + b64(keyA) + ",k:" + b64(keyB)}, wantErr: "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SecretsFromEnv(env(tt.env))
			if tt.wantErr != "" {
				var ve *VarError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ve) || ve.Name != "TOKEN_ENCRYPTION_KEYS" {
					t.Fatalf("err = %v, want a TOKEN_ENCRYPTION_KEYS *VarError containing %q", err, tt.wantErr)
				}
				assertNoSecret(t, "error", err.Error())
				return
			}
			if err != nil {
				t.Fatalf("SecretsFromEnv: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	s := fullSecrets()
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("loaded", "secrets", s, "key", s.TokenEncryptionKeys[0], "keys", s.TokenEncryptionKeys)
	js, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"%v":           fmt.Sprintf("%v", s),
		"%+v":          fmt.Sprintf("%+v", s),
		"%#v":          fmt.Sprintf("%#v", s),
		"%s":           fmt.Sprintf("%s", s),
		"%v pointer":   fmt.Sprintf("%v", &s),
		"%v keys":      fmt.Sprintf("%v", s.TokenEncryptionKeys),
		"%#v keys":     fmt.Sprintf("%#v", s.TokenEncryptionKeys),
		"%x key":       fmt.Sprintf("%x", s.TokenEncryptionKeys[0]),
		"slog":         logged.String(),
		"json.Marshal": string(js),
	}
	for what, out := range outputs {
		assertNoSecret(t, what, out)
		if what != "%x key" && !strings.Contains(out, "k2") {
			t.Errorf("%s lost the (non-secret) key id: %s", what, out)
		}
	}
	if got := fmt.Sprint(Secrets{}); !strings.Contains(got, "nango_secret_key:unset") {
		t.Errorf("empty secrets print %s, want the unset fields named", got)
	}
}

func TestSecretsClone(t *testing.T) {
	s := fullSecrets()
	c := s.Clone()
	c.NangoWebhookSigningKeys[0] = "changed"
	c.TokenEncryptionKeys[0].Secret[0] = 0
	if s.NangoWebhookSigningKeys[0] != webhookKey1 || s.TokenEncryptionKeys[0].Secret[0] != keyB[0] {
		t.Fatal("Clone shares memory with the original")
	}
}

func TestParseEnvFile(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr bool
	}{
		{
			name: "forms",
			in:   "# dev secrets\n\nJWT_HS256_SECRET=abc=def\nexport STATE_SIGNING_KEY=\"quoted value\"\n  A = ' x '  \nEMPTY=\n",
			want: map[string]string{"JWT_HS256_SECRET": "abc=def", "STATE_SIGNING_KEY": "quoted value", "A": " x ", "EMPTY": ""},
		},
		{name: "no equals", in: "A=1\n" + jwtSecret + "\n", wantErr: true},
		{name: "space in key", in: "A B=1\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvFile(strings.NewReader(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseEnvFile = %v, want an error", got)
				}
				assertNoSecret(t, "error", err.Error())
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseEnvFile = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
