package nango_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/tstest/reftest"
)

const webhookBody = `{"from":"nango","type":"auth","operation":"creation","success":true,"connectionId":"c-1"}`

func TestSignWebhookKnownVectors(t *testing.T) {
	tests := []struct{ key, body, want string }{
		// The widely published HMAC-SHA256 example (key "key", the pangram).
		{"key", "The quick brown fox jumps over the lazy dog", "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"},
		// printf '%s' "$body" | openssl dgst -sha256 -hmac whsec_test_key
		{signingKey, webhookBody, "2c994e639de06605f716731eb08c0f147b54d6a36694d2a1d37892da4ee3486f"},
	}
	for _, tt := range tests {
		if got := nango.SignWebhook([]byte(tt.body), tt.key); got != tt.want {
			t.Errorf("SignWebhook(%q) = %s, want %s", tt.body, got, tt.want)
		}
	}
}

func TestVerifyWebhookWithOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		reftest.MissingTool(t, "openssl not on PATH; the fixed vectors of TestSignWebhookKnownVectors cover the format")
	}
	body := []byte(`{"type":"auth","operation":"refresh","success":false,"tags":{"organization_id":"o1"}}` + "\n")
	cmd := exec.Command("openssl", "dgst", "-sha256", "-hmac", signingKey)
	cmd.Stdin = strings.NewReader(string(body))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl: %v", err)
	}
	// "SHA2-256(stdin)= <hex>" or "(stdin)= <hex>" depending on the version.
	fields := strings.Fields(string(out))
	sig := fields[len(fields)-1]
	h := http.Header{nango.HeaderHMAC: {sig}}
	if err := nango.VerifyWebhook(body, h, []string{signingKey}); err != nil {
		t.Fatalf("openssl signature refused: %v", err)
	}
	// Any changed byte fails.
	for i := range body {
		changed := []byte(string(body))
		changed[i] ^= 0x01
		if err := nango.VerifyWebhook(changed, h, []string{signingKey}); !errors.Is(err, nango.ErrBadSignature) {
			t.Fatalf("byte %d changed: err = %v, want ErrBadSignature", i, err)
		}
	}
}

func TestVerifyWebhook(t *testing.T) {
	body := []byte(webhookBody)
	good := nango.SignWebhook(body, signingKey)
	tests := []struct {
		name   string
		header http.Header
		keys   []string
		want   error
	}{
		{"valid", http.Header{nango.HeaderHMAC: {good}}, []string{signingKey}, nil},
		{"upper-case hex", http.Header{nango.HeaderHMAC: {strings.ToUpper(good)}}, []string{signingKey}, nil},
		{"rotation: new key first", http.Header{nango.HeaderHMAC: {good}}, []string{"new-key", signingKey}, nil},
		{"rotation: old key gone", http.Header{nango.HeaderHMAC: {good}}, []string{"new-key"}, nango.ErrBadSignature},
		{"wrong signature", http.Header{nango.HeaderHMAC: {nango.SignWebhook(body, "other")}}, []string{signingKey}, nango.ErrBadSignature},
		{"truncated", http.Header{nango.HeaderHMAC: {good[:62]}}, []string{signingKey}, nango.ErrBadSignature},
		{"not hex", http.Header{nango.HeaderHMAC: {"zz" + good[2:]}}, []string{signingKey}, nango.ErrBadSignature},
		{"missing", http.Header{}, []string{signingKey}, nango.ErrBadSignature},
		{"legacy only", http.Header{nango.HeaderLegacySignature: {good}}, []string{signingKey}, nango.ErrLegacySignature},
		{"legacy and valid hmac", http.Header{nango.HeaderLegacySignature: {"x"}, nango.HeaderHMAC: {good}}, []string{signingKey}, nil},
		{"no keys", http.Header{nango.HeaderHMAC: {good}}, nil, nango.ErrNoSigningKeys},
		{"empty key only", http.Header{nango.HeaderHMAC: {nango.SignWebhook(body, "")}}, []string{""}, nango.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := nango.VerifyWebhook(body, tt.header, tt.keys)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), signingKey) {
				t.Errorf("error leaks the key: %v", err)
			}
		})
	}
}

func TestParseWebhook(t *testing.T) {
	tests := []struct {
		name, body string
		wantType   string
		wantAuth   bool
		wantErr    bool
	}{
		{"auth creation", `{"from":"nango","type":"auth","operation":"creation","success":true,"connectionId":"c1","providerConfigKey":"slack","provider":"slack","environment":"prod","authMode":"OAUTH2","tags":{"organization_id":"o1","end_user_id":"u1"},"endUser":{"endUserId":"u1","organizationId":"o1"}}`, "auth", true, false},
		{"auth refresh failed", `{"type":"auth","operation":"refresh","success":false,"connectionId":"c1","error":{"type":"refresh_token_external_error","description":"invalid_grant"}}`, "auth", true, false},
		{"sync", `{"type":"sync","connectionId":"c1","syncName":"x","responseResults":{"M":{"added":1}}}`, "sync", false, false},
		{"future type", `{"type":"something_new","x":[1,2]}`, "something_new", false, false},
		{"auth with odd shape", `{"type":"auth","success":"yes"}`, "auth", false, false},
		{"not json", `nope`, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := nango.ParseWebhook([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err != nil {
				return
			}
			if w.Type != tt.wantType || (w.Auth != nil) != tt.wantAuth || string(w.Raw) != tt.body {
				t.Errorf("got %+v", w)
			}
		})
	}
	w, _ := nango.ParseWebhook([]byte(tests[0].body))
	a := w.Auth
	if a.Operation != nango.OperationCreation || !a.Success || a.ConnectionID != "c1" || a.Tags["organization_id"] != "o1" ||
		a.EndUser == nil || a.EndUser.EndUserID != "u1" || a.Environment != "prod" {
		t.Errorf("auth webhook = %+v", a)
	}
	w, _ = nango.ParseWebhook([]byte(tests[1].body))
	if w.Auth.Success || w.Auth.Error == nil || w.Auth.Error.Description != "invalid_grant" {
		t.Errorf("failed refresh webhook = %+v", w.Auth)
	}
}

func TestFakeSendsVerifiableWebhook(t *testing.T) {
	e := newEnv(t)
	got := make(chan *nango.Webhook, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := nango.VerifyWebhook(body, r.Header, []string{"rotated-key", signingKey}); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		wh, err := nango.ParseWebhook(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- wh
	}))
	defer recv.Close()
	resp, err := e.fake.SendAuthWebhook(context.Background(), recv.URL, nango.AuthWebhook{
		Operation: nango.OperationCreation, Success: true, ConnectionID: "c1", ProviderConfigKey: "slack", Provider: "slack",
		Tags: map[string]string{"organization_id": "o1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("receiver answered %d", resp.StatusCode)
	}
	wh := <-got
	if wh.Type != "auth" || wh.From != "nango" || wh.Auth.ConnectionID != "c1" || wh.Auth.Tags["organization_id"] != "o1" {
		t.Errorf("received %+v", wh.Auth)
	}
}
