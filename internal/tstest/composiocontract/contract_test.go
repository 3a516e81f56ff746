package composiocontract

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

const account = `{"toolkit":{"slug":"slack"},"auth_config":{"id":"ac_1","auth_scheme":"OAUTH2","is_composio_managed":true,"is_disabled":false},` +
	`"id":"ca_1","user_id":"o/u","status":"ACTIVE","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z",` +
	`"state":{"authScheme":"OAUTH2","val":{"status":"ACTIVE","access_token":"xo..."}},"data":{},"params":{},"status_reason":null,"is_disabled":false}`

func apiKeyAccount(status, stateStatus string) string {
	a := strings.Replace(account, `"status":"ACTIVE","created`, `"status":"`+status+`","created`, 1)
	return strings.Replace(a, `"state":{"authScheme":"OAUTH2","val":{"status":"ACTIVE","access_token":"xo..."}}`,
		`"state":{"authScheme":"API_KEY","val":{"status":"`+stateStatus+`"}}`, 1)
}

// TestValidatorCatchesViolations proves the contract check can fail: each
// exchange breaks the document in one way, outside every exception.
func TestValidatorCatchesViolations(t *testing.T) {
	c := Load(t)
	tests := []struct {
		name, method, path, key, body string
		status                        int
		answer                        string
		wantErr                       string // "" = must pass
	}{
		{"valid link", "POST", "/api/v3/connected_accounts/link", "k", `{"auth_config_id":"ac_1","user_id":"o/u","callback_url":"https://x/cb?state=s"}`, 201,
			`{"link_token":"lt","redirect_url":"https://x/link/lt","expires_at":"2026-01-01T00:10:00Z","connected_account_id":"ca_1"}`, ""},
		{"link without user_id", "POST", "/api/v3/connected_accounts/link", "k", `{"auth_config_id":"ac_1"}`, 201,
			`{"link_token":"lt","redirect_url":"https://x/link/lt","expires_at":"x","connected_account_id":"ca_1"}`, "request"},
		{"link with a malformed auth config id", "POST", "/api/v3/connected_accounts/link", "k", `{"auth_config_id":"slack","user_id":"o/u"}`, 201,
			`{"link_token":"lt","redirect_url":"https://x/link/lt","expires_at":"x","connected_account_id":"ca_1"}`, "request"},
		{"link answer without redirect_url", "POST", "/api/v3/connected_accounts/link", "k", `{"auth_config_id":"ac_1","user_id":"o/u"}`, 201,
			`{"link_token":"lt","expires_at":"x","connected_account_id":"ca_1"}`, "answer"},
		{"no api key", "GET", "/api/v3/connected_accounts/ca_1", "", "", 200, account, "request"},
		{"valid account", "GET", "/api/v3/connected_accounts/ca_1", "k", "", 200, account, ""},
		{"account with an unknown status", "GET", "/api/v3/connected_accounts/ca_1", "k", "", 200, strings.Replace(account, `"status":"ACTIVE","created`, `"status":"REVOKED","created`, 1), "answer"},
		{"account without user_id", "GET", "/api/v3/connected_accounts/ca_1", "k", "", 200, strings.Replace(account, `"user_id":"o/u",`, "", 1), "answer"},
		{"error without code", "GET", "/api/v3/connected_accounts/ca_1", "k", "", 404, `{"error":{"message":"x","status":404}}`, "answer"},
		{"undeclared status", "DELETE", "/api/v3/connected_accounts/ca_1", "k", "", 409, `{"error":{"message":"x","code":1,"status":409}}`, "answer"},
		{"proxy with an unknown method", "POST", "/api/v3/tools/execute/proxy", "k", `{"connected_account_id":"ca_1","endpoint":"/x","method":"OPTIONS"}`, 200, `{"status":200,"data":null,"headers":{}}`, "request"},
		{"proxy answer without status", "POST", "/api/v3/tools/execute/proxy", "k", `{"connected_account_id":"ca_1","endpoint":"/x","method":"GET"}`, 200, `{"data":{"ok":true}}`, "answer"},
		{"valid proxy", "POST", "/api/v3/tools/execute/proxy", "k", `{"connected_account_id":"ca_1","endpoint":"https://slack.com/api/x?a=1","method":"POST","body":{"a":1},"parameters":[{"name":"X-A","value":"1","type":"header"}]}`, 200,
			`{"status":201,"data":{"ok":true},"headers":{"content-type":"application/json"}}`, ""},
		{"proxy binary body", "POST", "/api/v3/tools/execute/proxy", "k", `{"connected_account_id":"ca_1","endpoint":"/x","method":"POST","binary_body":{"base64":"YT0x","content_type":"application/x-www-form-urlencoded"}}`, 200,
			`{"status":200,"data":"ok","headers":{}}`, ""},
		{"429 passes (undeclared-429)", "GET", "/api/v3/connected_accounts/ca_1", "k", "", 429, `{"error":{"message":"slow down","code":429,"status":429}}`, ""},
		{"503 passes (undeclared-5xx)", "POST", "/api/v3/connected_accounts/link", "k", `{"auth_config_id":"ac_1","user_id":"o/u"}`, 503, `{"error":{"message":"down","code":503,"status":503}}`, ""},
		{"an expired API-key account passes (state-lacks-failed-expired)", "GET", "/api/v3/connected_accounts/ca_1", "k", "", 200, apiKeyAccount("EXPIRED", "EXPIRED"), ""},
		{"an active API-key account passes", "GET", "/api/v3/connected_accounts/ca_1", "k", "", 200, apiKeyAccount("ACTIVE", "ACTIVE"), ""},
		{"an API-key account whose state contradicts its status", "GET", "/api/v3/connected_accounts/ca_1", "k", "", 200, apiKeyAccount("ACTIVE", "EXPIRED"), "answer"},
		{"unknown path", "GET", "/api/v3/nope", "k", "", 200, `{}`, "no operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{TB: t}
			v := c.Transport(rec, nil)
			req := httptest.NewRequest(tt.method, "http://fake"+tt.path, strings.NewReader(tt.body))
			if tt.key != "" {
				req.Header.Set("x-api-key", tt.key)
			}
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
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

func TestEveryExceptionHasAReason(t *testing.T) {
	for _, ex := range Exceptions {
		if ex.Name == "" || ex.Why == "" {
			t.Errorf("exception %+v lacks a name or reason", ex)
		}
	}
}
