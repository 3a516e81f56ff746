package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

const (
	jwtValue    = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlLXZhbHVl"
	secretValue = "s3cr3t-VALUE-should-never-appear"
)

// logLine logs one line with attrs and returns it decoded.
func logLine(t *testing.T, args ...any) (map[string]any, string) {
	t.Helper()
	var buf bytes.Buffer
	New(&buf, "debug").Info("hello", args...)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("log line is not JSON: %v: %s", err, buf.String())
	}
	return m, buf.String()
}

func TestSensitiveKeysRedacted(t *testing.T) {
	keys := []string{
		"authorization", "Authorization", "proxy-authorization", "cookie", "Set-Cookie", "token", "access_token",
		"refresh_token", "id_token", "accessToken", "secret", "client_secret", "nango_secret_key", "password",
		"api_key", "X-Api-Key", "apiKey", "code", "CODE", "state", "signature", "X-Nango-Signature",
		"connect_session_token", "connectSessionToken", "jwt", "credentials", "private_key",
	}
	for _, k := range keys {
		t.Run(k, func(t *testing.T) {
			m, raw := logLine(t, k, secretValue)
			if m[k] != Redacted || strings.Contains(raw, secretValue) {
				t.Fatalf("%s not redacted: %s", k, raw)
			}
		})
	}
}

func TestNormalFieldsKept(t *testing.T) {
	fields := map[string]any{
		"request_id": "req-1", "function": "NangoAuthorizeFunction", "connector": "slack",
		"status": "active", "status_code": float64(200), "error_code": "not_found", "connection_id": "c1",
		"authProvider": "nango", "providerConfigKey": "slack-prod", "path": "/api/v1/nango/connections",
		"host": "api.nango.dev", "version": "v1.2.3", "key": "exec-1/node-2",
	}
	var args []any
	for k, v := range fields {
		args = append(args, k, v)
	}
	m, raw := logLine(t, args...)
	for k, v := range fields {
		if m[k] != v {
			t.Errorf("%s = %v, want %v kept (%s)", k, m[k], v, raw)
		}
	}
	if m["msg"] != "hello" {
		t.Errorf("msg = %v", m["msg"])
	}
}

func TestValuesRedactedWhateverTheKey(t *testing.T) {
	tests := []struct {
		name string
		val  any
		want any // the logged value
	}{
		{"JWT", jwtValue, Redacted},
		{"JWT alg none", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSJ9.", Redacted},
		{"bearer", "Bearer " + secretValue, Redacted},
		{"bearer inside a message", "upstream said: bearer " + secretValue + " is invalid", "upstream said: " + Redacted + " is invalid"},
		{"JWT inside a URL", "https://connect.nango.dev/?session=" + jwtValue + "&x=1", "https://connect.nango.dev/?session=" + Redacted + "&x=1"},
		{"three long segments", "AAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBB.CCCCCCCCCCCCCCCCCCCC", Redacted},
		{"error quoting a token", errors.New("verify Bearer " + secretValue + ": expired"), "verify " + Redacted + ": expired"},
		{"header map", map[string]string{"Authorization": "Basic " + secretValue, "Content-Type": "application/json", "X-Forward": "Bearer " + secretValue},
			map[string]any{"Authorization": Redacted, "Content-Type": "application/json", "X-Forward": Redacted}},
		{"http.Header", http.Header{"Cookie": {"session=" + secretValue}, "Accept": {"*/*"}},
			map[string]any{"Cookie": []any{Redacted}, "Accept": []any{"*/*"}}},
		{"decoded JSON", map[string]any{"access_token": secretValue, "nested": map[string]any{"refresh_token": secretValue, "n": float64(1)}, "list": []any{jwtValue}},
			map[string]any{"access_token": Redacted, "nested": map[string]any{"refresh_token": Redacted, "n": float64(1)}, "list": []any{Redacted}}},
		{"plain string", "hello world", "hello world"},
		{"domain", "api.nango.dev", "api.nango.dev"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, raw := logLine(t, "detail", tt.val)
			got, _ := json.Marshal(m["detail"])
			want, _ := json.Marshal(tt.want)
			if string(got) != string(want) {
				t.Fatalf("detail = %s, want %s", got, want)
			}
			if strings.Contains(raw, secretValue) || strings.Contains(raw, jwtValue) {
				t.Fatalf("secret in log: %s", raw)
			}
		})
	}
}

func TestMessageRedacted(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "info").Info("got token " + jwtValue)
	if strings.Contains(buf.String(), jwtValue) || !strings.Contains(buf.String(), "got token "+Redacted) {
		t.Fatalf("JWT in message: %s", buf.String())
	}
}

func TestNestedGroups(t *testing.T) {
	var buf bytes.Buffer
	logger := New(&buf, "info")
	logger.WithGroup("request").Info("in",
		slog.Group("headers", slog.String("authorization", "Basic "+secretValue), slog.String("accept", "*/*")),
		slog.Group("token", slog.String("value", secretValue), slog.Group("deeper", slog.String("x", secretValue))),
		slog.Group("oauth", slog.String("code", secretValue), slog.String("provider", "slack")),
		slog.String("path", "/x"),
	)
	raw := buf.String()
	if strings.Contains(raw, secretValue) {
		t.Fatalf("secret in log: %s", raw)
	}
	var m struct {
		Request struct {
			Headers map[string]string
			Token   map[string]any
			OAuth   map[string]string `json:"oauth"`
			Path    string
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.Request.Headers["accept"] != "*/*" || m.Request.Headers["authorization"] != Redacted ||
		m.Request.Token["value"] != Redacted || m.Request.OAuth["code"] != Redacted ||
		m.Request.OAuth["provider"] != "slack" || m.Request.Path != "/x" {
		t.Fatalf("unexpected log: %s", raw)
	}
}

func TestWithAttrsRedacted(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "info", slog.String("service", "connectors"), slog.String("api_key", secretValue)).
		With("client_secret", secretValue).Info("x")
	if strings.Contains(buf.String(), secretValue) || !strings.Contains(buf.String(), `"service":"connectors"`) {
		t.Fatalf("unexpected log: %s", buf.String())
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want slog.Level
		ok   bool
	}{
		{"", slog.LevelInfo, true},
		{"info", slog.LevelInfo, true},
		{"DEBUG", slog.LevelDebug, true},
		{" warn ", slog.LevelWarn, true},
		{"warning", slog.LevelWarn, true},
		{"Error", slog.LevelError, true},
		{"verbose", slog.LevelInfo, false},
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestLevelFilters(t *testing.T) {
	tests := []struct {
		level string
		want  []string // messages written, of debug, info, warn, error
	}{
		{"debug", []string{"d", "i", "w", "e"}},
		{"", []string{"i", "w", "e"}},
		{"warn", []string{"w", "e"}},
		{"error", []string{"e"}},
		{"nonsense", []string{"unknown log level, logging at info", "i", "w", "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			var buf bytes.Buffer
			l := New(&buf, tt.level)
			l.Debug("d")
			l.Info("i")
			l.Warn("w")
			l.Error("e")
			var got []string
			for line := range strings.Lines(buf.String()) {
				var m map[string]any
				if err := json.Unmarshal([]byte(line), &m); err != nil {
					t.Fatal(err)
				}
				got = append(got, m["msg"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("logged %v, want %v", got, tt.want)
			}
		})
	}
}

func TestContext(t *testing.T) {
	// Without WithRequest: a usable logger that writes nowhere.
	FromContext(context.Background()).Info("dropped", "token", secretValue)

	var buf bytes.Buffer
	ctx := WithRequest(context.Background(), New(&buf, "info"), "req-42", "NangoWebhookFunction")
	FromContext(ctx).Info("handled", "authorization", "Bearer "+secretValue)
	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m[KeyRequestID] != "req-42" || m[KeyFunction] != "NangoWebhookFunction" || m["authorization"] != Redacted {
		t.Fatalf("unexpected log: %s", buf.String())
	}
	// A nil logger is tolerated.
	FromContext(WithRequest(context.Background(), nil, "r", "f")).Info("dropped")
}
