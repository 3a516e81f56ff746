package config

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// env turns a map into a getenv function.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    func(c *Config) // edits the defaults into the expected config
		errVars []string        // variables the error must name
	}{
		{
			name: "defaults",
			env:  map[string]string{},
			want: func(c *Config) {},
		},
		{
			name: "everything",
			env: map[string]string{
				"TABLE_NAME":               "ConnectorCredentials",
				"NANGO_HOST":               "https://api.nango.dev/",
				"JWT_ISSUER":               "https://auth.example.com/",
				"JWT_AUDIENCE":             "connectors",
				"JWT_JWKS_URL":             "https://auth.example.com/.well-known/jwks.json",
				"JWT_ORG_CLAIM":            "https://automators.io/org",
				"REDIRECT_ALLOWLIST":       " https://App.Example.com , http://localhost:5173,",
				"CORS_ALLOW_ORIGINS":       "https://app.example.com",
				"LOG_LEVEL":                "DEBUG",
				"SECRETS_ID":               "connectors/prod",
				"AWS_LAMBDA_FUNCTION_NAME": "NangoAuthorizeFunction",
				"ROUTING_POLICY":           "gmail=nango",
				"NANGO_INTEGRATIONS":       "slack=slack-prod, google-sheets = sheets",
			},
			want: func(c *Config) {
				c.TableName = "ConnectorCredentials"
				c.NangoHost = "https://api.nango.dev"
				c.JWTIssuer = "https://auth.example.com/"
				c.JWTAudience = "connectors"
				c.JWTJWKSURL = "https://auth.example.com/.well-known/jwks.json"
				c.JWTOrgClaim = "https://automators.io/org"
				c.RedirectAllowlist = []string{"https://app.example.com", "http://localhost:5173"}
				c.CORSAllowOrigins = []string{"https://app.example.com"}
				c.LogLevel = "debug"
				c.SecretsID = "connectors/prod"
				c.FunctionName = "NangoAuthorizeFunction"
				c.RoutingPolicy = "gmail=nango"
				c.ProviderConfigKeys = map[string]string{"slack": "slack-prod", "google-sheets": "sheets"}
			},
		},
		{
			name: "cors wildcard",
			env:  map[string]string{"CORS_ALLOW_ORIGINS": "*"},
			want: func(c *Config) { c.CORSAllowOrigins = []string{"*"} },
		},
		{
			name: "warning is warn",
			env:  map[string]string{"LOG_LEVEL": "warning"},
			want: func(c *Config) { c.LogLevel = "warn" },
		},
		{
			name: "kms key",
			env:  map[string]string{"KMS_KEY_ID": " alias/automators-connectors-tokens "},
			want: func(c *Config) { c.KMSKeyID = "alias/automators-connectors-tokens" },
		},
		{name: "redirect with path", env: map[string]string{"REDIRECT_ALLOWLIST": "https://app.example.com/cb"}, errVars: []string{"REDIRECT_ALLOWLIST"}},
		{name: "redirect wildcard", env: map[string]string{"REDIRECT_ALLOWLIST": "*"}, errVars: []string{"REDIRECT_ALLOWLIST"}},
		{name: "redirect no scheme", env: map[string]string{"REDIRECT_ALLOWLIST": "app.example.com"}, errVars: []string{"REDIRECT_ALLOWLIST"}},
		{name: "redirect javascript", env: map[string]string{"REDIRECT_ALLOWLIST": "javascript:alert(1)"}, errVars: []string{"REDIRECT_ALLOWLIST"}},
		{name: "cors with query", env: map[string]string{"CORS_ALLOW_ORIGINS": "https://a.example?x=1"}, errVars: []string{"CORS_ALLOW_ORIGINS"}},
		{
			name: "execution retention",
			env:  map[string]string{"EXECUTION_RETENTION_DAYS": " 90 "},
			want: func(c *Config) { c.ExecutionRetention = 90 * 24 * time.Hour },
		},
		{name: "retention of no days", env: map[string]string{"EXECUTION_RETENTION_DAYS": "0"}, errVars: []string{"EXECUTION_RETENTION_DAYS"}},
		{name: "retention not a number", env: map[string]string{"EXECUTION_RETENTION_DAYS": "30d"}, errVars: []string{"EXECUTION_RETENTION_DAYS"}},
		{name: "retention too long", env: map[string]string{"EXECUTION_RETENTION_DAYS": "3654"}, errVars: []string{"EXECUTION_RETENTION_DAYS"}},
		{name: "bad log level", env: map[string]string{"LOG_LEVEL": "loud"}, errVars: []string{"LOG_LEVEL"}},
		{name: "bad integrations", env: map[string]string{"NANGO_INTEGRATIONS": "slack"}, errVars: []string{"NANGO_INTEGRATIONS"}},
		{name: "duplicate integration", env: map[string]string{"NANGO_INTEGRATIONS": "slack=a,slack=b"}, errVars: []string{"NANGO_INTEGRATIONS"}},
		{name: "relative jwks url", env: map[string]string{"JWT_JWKS_URL": "/jwks.json"}, errVars: []string{"JWT_JWKS_URL"}},
		{
			name:    "every error at once",
			env:     map[string]string{"NANGO_HOST": "api.nango.dev", "LOG_LEVEL": "x", "REDIRECT_ALLOWLIST": "ftp://x"},
			errVars: []string{"NANGO_HOST", "REDIRECT_ALLOWLIST", "LOG_LEVEL"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromEnv(env(tt.env))
			if len(tt.errVars) > 0 {
				if err == nil {
					t.Fatalf("FromEnv = %+v, want an error", got)
				}
				var named []string
				for _, e := range flatten(err) {
					var ve *VarError
					if errors.As(e, &ve) {
						named = append(named, ve.Name)
					}
				}
				if !reflect.DeepEqual(named, tt.errVars) {
					t.Fatalf("error %q names %v, want %v", err, named, tt.errVars)
				}
				return
			}
			if err != nil {
				t.Fatalf("FromEnv: %v", err)
			}
			want := Config{JWTOrgClaim: "org_id", LogLevel: "info", ExecutionRetention: 30 * 24 * time.Hour}
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("FromEnv =\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}

// flatten returns the errors joined in err, or err alone.
func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestParseOrigin(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://app.example.com", "https://app.example.com", true},
		{"HTTPS://APP.example.com:8443", "https://app.example.com:8443", true},
		{"http://127.0.0.1:3000", "http://127.0.0.1:3000", true},
		{"http://[::1]:3000", "http://[::1]:3000", true},
		{"https://app.example.com/", "", false},
		{"https://user@app.example.com", "", false},
		{"https://app.example.com#x", "", false},
		{"https://app.example.com?", "", false},
		{"https://:443", "", false},
		{"https://app.example.com:port", "", false},
		{"//app.example.com", "", false},
		{"mailto:a@b.c", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseOrigin(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("ParseOrigin(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	tests := map[string][]string{
		"":           nil,
		" , ,":       nil,
		"a":          {"a"},
		" a , b ,, ": {"a", "b"},
	}
	for in, want := range tests {
		if got := SplitList(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitList(%q) = %q, want %q", in, got, want)
		}
	}
}
