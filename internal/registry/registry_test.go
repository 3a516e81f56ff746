package registry

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/connectors"
)

var wantIDs = []string{
	"asana", "discord", "gmail", "google-sheets", "hubspot", "microsoft-teams",
	"outlook", "salesforce", "shopify", "slack", "stripe", "trello",
}

func TestDefaultHasTheTwelveConnectors(t *testing.T) {
	r := Default()
	if got := r.IDs(); !slices.Equal(got, wantIDs) {
		t.Fatalf("IDs = %v, want %v", got, wantIDs)
	}
	all := r.All()
	if len(all) != len(wantIDs) {
		t.Fatalf("All: %d manifests", len(all))
	}
	kebab := regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	for i, m := range all {
		if m.ID != wantIDs[i] {
			t.Errorf("All()[%d] = %s, want %s (sorted)", i, m.ID, wantIDs[i])
		}
		if !kebab.MatchString(m.ID) {
			t.Errorf("%s: id is not kebab-case", m.ID)
		}
		if m.DisplayName == "" || m.Category == "" || m.BaseURL == "" || len(m.Scopes) == 0 {
			t.Errorf("%s: incomplete manifest %+v", m.ID, m)
		}
		// Action lists come from the actions package, which checks that
		// each connector has a write and a read.
		if len(m.Actions) != 0 {
			t.Errorf("%s: Default lists actions %v; they belong to the actions package", m.ID, m.Actions)
		}
		if m.ProviderConfigKey == "" {
			t.Errorf("%s: no default providerConfigKey", m.ID)
		}
		wantProvider := connectors.ProviderNango
		if m.ID == "gmail" || m.ID == "outlook" {
			wantProvider = connectors.ProviderLegacy
		}
		if m.OAuthProvider != wantProvider {
			t.Errorf("%s: OAuthProvider %q, want %q", m.ID, m.OAuthProvider, wantProvider)
		}
		wantAuth := AuthOAuth2
		if m.ID == "trello" {
			wantAuth = AuthOAuth1
		}
		if m.AuthType != wantAuth {
			t.Errorf("%s: AuthType %q, want %q", m.ID, m.AuthType, wantAuth)
		}
	}
}

func TestLookupReturnsCopies(t *testing.T) {
	r := Default().WithActions(map[string][]Action{"slack": {{Name: "send_message", Credential: CredentialConnection}}})
	m, ok := r.Lookup("slack")
	if !ok {
		t.Fatal("slack not found")
	}
	m.Actions[0] = "mutated"
	m.Scopes[0] = "mutated"
	again, _ := r.Lookup("slack")
	if again.Actions[0] == "mutated" || again.Scopes[0] == "mutated" {
		t.Error("a caller's change leaked into the registry")
	}
	if _, ok := r.Lookup("myspace"); ok {
		t.Error("unknown connector found")
	}
}

func TestWithActions(t *testing.T) {
	bot := AppCredential("slack_bot_token")
	names := map[string][]Action{"slack": {{"send_message", bot}, {"list_channels", CredentialConnection}}, "nope": {{"x", CredentialConnection}}}
	base := Default().WithProviderConfigKeys(map[string]string{"slack": "slack-prod"})
	r := base.WithActions(names)
	m, _ := r.Lookup("slack")
	if !m.HasAction("send_message") || !m.HasAction("list_channels") || m.HasAction("nuke") {
		t.Errorf("slack actions %v", m.Actions)
	}
	if m.ProviderConfigKey != "slack-prod" {
		t.Errorf("WithActions lost the integration key: %q", m.ProviderConfigKey)
	}
	if got := m.Credential("send_message"); got != bot {
		t.Errorf("send_message credential %q, want %q", got, bot)
	}
	if name, ok := m.Credential("send_message").App(); !ok || name != "slack_bot_token" {
		t.Errorf("App() = %q, %v", name, ok)
	}
	if _, ok := m.Credential("list_channels").App(); ok || m.Credential("nuke") != "" {
		t.Errorf("list_channels %q, nuke %q", m.Credential("list_channels"), m.Credential("nuke"))
	}
	names["slack"][0].Name = "mutated"
	if m, _ := r.Lookup("slack"); m.Actions[0] != "send_message" {
		t.Error("the caller's slice is shared with the registry")
	}
	if m, _ := base.Lookup("slack"); len(m.Actions) != 0 {
		t.Errorf("original registry changed: %v", m.Actions)
	}
	if m, _ := r.Lookup("gmail"); len(m.Actions) != 0 {
		t.Errorf("gmail was not named, has %v", m.Actions)
	}
	if _, ok := r.Lookup("nope"); ok {
		t.Error("WithActions invented a connector")
	}
}

func TestWithProviderConfigKeys(t *testing.T) {
	base := Default()
	r := base.WithProviderConfigKeys(map[string]string{"slack": "slack-prod", "nope": "x", "gmail": ""})
	if m, _ := r.Lookup("slack"); m.ProviderConfigKey != "slack-prod" {
		t.Errorf("override: %q", m.ProviderConfigKey)
	}
	if m, _ := r.Lookup("gmail"); m.ProviderConfigKey != "google-mail" {
		t.Errorf("empty override replaced the default: %q", m.ProviderConfigKey)
	}
	if m, _ := base.Lookup("slack"); m.ProviderConfigKey != "slack" {
		t.Errorf("original registry changed: %q", m.ProviderConfigKey)
	}
	if _, ok := r.Lookup("nope"); ok {
		t.Error("override invented a connector")
	}
}

func TestParseProviderConfigKeys(t *testing.T) {
	r := Default()
	tests := []struct {
		in      string
		want    map[string]string
		wantErr bool
	}{
		{in: "", want: map[string]string{}},
		{in: " slack = slack-prod , gmail=gm ,", want: map[string]string{"slack": "slack-prod", "gmail": "gm"}},
		{in: "slack", wantErr: true},
		{in: "slack=", wantErr: true},
		{in: "=x", wantErr: true},
		{in: "myspace=x", wantErr: true},
		{in: "slack=a,slack=b", wantErr: true},
	}
	for _, tt := range tests {
		got, err := r.ParseProviderConfigKeys(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && !mapsEqual(got, tt.want) {
			t.Errorf("%q: got %v, want %v", tt.in, got, tt.want)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestNewRejectsBadManifests(t *testing.T) {
	if _, err := New(Manifest{ID: "a"}, Manifest{ID: "a"}); err == nil {
		t.Error("duplicate ids accepted")
	}
	if _, err := New(Manifest{}); err == nil {
		t.Error("empty id accepted")
	}
}

func TestResolveBaseURL(t *testing.T) {
	r := Default()
	sf, _ := r.Lookup("salesforce")
	shop, _ := r.Lookup("shopify")
	slack, _ := r.Lookup("slack")
	tests := []struct {
		name   string
		m      Manifest
		config map[string]string
		want   string // "" means an EInvalid error
	}{
		{"plain", slack, nil, "https://slack.com/api"},
		{"salesforce", sf, map[string]string{"instance_url": "https://acme.my.salesforce.com"}, "https://acme.my.salesforce.com/services/data/v60.0"},
		{"salesforce trailing slash", sf, map[string]string{"instance_url": "https://acme.my.salesforce.com/"}, "https://acme.my.salesforce.com/services/data/v60.0"},
		{"salesforce missing", sf, map[string]string{}, ""},
		{"salesforce http", sf, map[string]string{"instance_url": "http://acme.my.salesforce.com"}, ""},
		{"salesforce userinfo", sf, map[string]string{"instance_url": "https://x@evil.example"}, ""},
		{"salesforce path", sf, map[string]string{"instance_url": "https://evil.example/x?"}, ""},
		{"shopify", shop, map[string]string{"subdomain": "acme-store"}, "https://acme-store.myshopify.com/admin/api/2026-04"},
		{"shopify other host", shop, map[string]string{"subdomain": "evil.example/"}, ""},
		{"shopify fragment", shop, map[string]string{"subdomain": "evil.example#"}, ""},
		{"shopify userinfo", shop, map[string]string{"subdomain": "evil.example@x"}, ""},
		{"shopify missing", shop, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.m.ResolveBaseURL(tt.config)
			if tt.want == "" {
				var ce *connectors.Error
				if !errors.As(err, &ce) || ce.Code != connectors.EInvalid {
					t.Fatalf("got %q, %v; want an EInvalid error", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestBasePath(t *testing.T) {
	want := map[string]string{
		"slack":           "/api",
		"salesforce":      "/services/data/v60.0",
		"shopify":         "/admin/api/2026-04",
		"hubspot":         "",
		"microsoft-teams": "/v1.0",
		"gmail":           "/gmail/v1",
	}
	r := Default()
	for id, w := range want {
		m, _ := r.Lookup(id)
		if got := m.BasePath(); got != w {
			t.Errorf("%s: BasePath = %q, want %q", id, got, w)
		}
	}
}

// TestCheckFields holds the API-key fields' rules: presence, printable
// ASCII, each field's pattern, and its length bound (MaxLen, else 1,024).
func TestCheckFields(t *testing.T) {
	reg := Default()
	trello, _ := reg.Lookup("trello")
	shopify, _ := reg.Lookup("shopify")
	key := strings.Repeat("0a", 16)
	tok := func(n int) string { return strings.Repeat("A", n) }
	tests := []struct {
		name   string
		m      Manifest
		fields map[string]string
		want   string // "" when accepted
	}{
		{"trello", trello, map[string]string{"api_key": key, "token": tok(64)}, ""},
		{"longest token", trello, map[string]string{"api_key": key, "token": tok(256)}, ""},
		{"token too long", trello, map[string]string{"api_key": key, "token": tok(257)}, "credentials.token is longer than 256 bytes"},
		{"token too short", trello, map[string]string{"api_key": key, "token": tok(31)}, "credentials.token does not look like"},
		{"field too long", trello, map[string]string{"api_key": strings.Repeat("a", 1025), "token": tok(64)}, "credentials.api_key is longer than 1024 bytes"},
		{"not printable", trello, map[string]string{"api_key": key, "token": tok(40) + " x"}, "printable ASCII"},
		{"missing", trello, map[string]string{"api_key": key}, "credentials.token is required"},
		{"unknown field", trello, map[string]string{"api_key": key, "token": tok(64), "secret": "x"}, "credentials.secret is not a trello credential field"},
		{"shop", shopify, map[string]string{"subdomain": strings.Repeat("a", 63), "access_token": "shpat_0123456789abcdef"}, ""},
		{"shop too long", shopify, map[string]string{"subdomain": strings.Repeat("a", 64), "access_token": "shpat_0123456789abcdef"}, "credentials.subdomain is longer than 63 bytes"},
		{"shop starting with a dash", shopify, map[string]string{"subdomain": "-acme", "access_token": "shpat_0123456789abcdef"}, "credentials.subdomain does not look like"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.CheckFields(tt.fields)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("CheckFields = %v, want accepted", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || connectors.ErrorCode(err) != connectors.EInvalid {
				t.Fatalf("CheckFields = %v, want an invalid error containing %q", err, tt.want)
			}
		})
	}
}
