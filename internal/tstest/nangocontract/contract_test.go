package nangotest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// recorder is a testing.TB that records errors instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Helper() {}

// TestValidatorCatchesViolations proves the contract check can fail: each
// exchange breaks the document in one way, outside every exception.
func TestValidatorCatchesViolations(t *testing.T) {
	c := Load(t)
	tests := []struct {
		name, method, path, auth, body string
		status                         int
		answer                         string
		wantErr                        string // "" = must pass
	}{
		{"valid list", "GET", "/integrations", "Bearer k", "", 200, `{"data":[]}`, ""},
		{"answer missing a required field", "GET", "/integrations", "Bearer k", "", 200, `{"data":[{"unique_key":"x"}]}`, "answer"},
		{"connection missing credentials", "GET", "/connections/c?provider_config_key=p", "Bearer k", "", 200,
			`{"id":1,"connection_id":"c","provider_config_key":"p","provider":"x","errors":[],"metadata":{},"connection_config":{},"tags":{},"created_at":"x","updated_at":"x","last_fetched_at":"x"}`, "answer"},
		{"oauth2 credentials with raw pass (patched schema)", "GET", "/connections/c?provider_config_key=p", "Bearer k", "", 200,
			`{"id":1,"connection_id":"c","provider_config_key":"p","provider":"x","errors":[],"metadata":{},"connection_config":{},"tags":{},"created_at":"x","updated_at":"x","last_fetched_at":"x","credentials":{"type":"OAUTH2","access_token":"a","raw":{}}}`, ""},
		{"missing required query", "GET", "/connections/c", "Bearer k", "", 404, `{"error":{"code":"not_found"}}`, "request"},
		{"no bearer", "GET", "/integrations", "", "", 200, `{"data":[]}`, "request"},
		{"session answer without token", "POST", "/connect/sessions", "Bearer k", `{}`, 201, `{"data":{"expires_at":"2026-01-01T00:00:00Z"}}`, "answer"},
		{"unknown path", "GET", "/nope", "Bearer k", "", 200, `{}`, "no operation"},
		{"proxy with deep path passes", "GET", "/proxy/a/b/c?x=1", "Bearer k", "", 200, `{}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			v := c.Transport(rec, nil)
			req := httptest.NewRequest(tt.method, "http://fake"+tt.path, strings.NewReader(tt.body))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if strings.HasPrefix(tt.path, "/proxy/") {
				req.Header.Set("Connection-Id", "c")
				req.Header.Set("Provider-Config-Key", "p")
			}
			v.Check(req, []byte(tt.body), tt.status, http.Header{"Content-Type": {"application/json"}}, []byte(tt.answer))
			got := strings.Join(rec.errs, "\n")
			if tt.wantErr == "" && got != "" {
				t.Errorf("unexpected contract errors:\n%s", got)
			}
			if tt.wantErr != "" && !strings.Contains(got, tt.wantErr) {
				t.Errorf("want a %q contract error, got %q", tt.wantErr, got)
			}
		})
	}
}

func TestEveryMatchExceptionHasAReason(t *testing.T) {
	for _, ex := range Exceptions {
		if ex.Name == "" || ex.Why == "" {
			t.Errorf("exception %+v lacks a name or reason", ex)
		}
	}
}
