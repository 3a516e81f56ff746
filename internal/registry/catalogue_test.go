package registry

import (
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/automators/connectors/internal/tstest/reftest"
)

// catalogueEntry is the part of a provider in Nango's providers.yaml that
// the registry must agree with.
type catalogueEntry struct {
	AuthMode string `yaml:"auth_mode"`
	Alias    string `yaml:"alias"`
	Proxy    struct {
		BaseURL string `yaml:"base_url"`
	} `yaml:"proxy"`
	ConnectionConfig      map[string]yaml.Node `yaml:"connection_config"`
	TokenResponseMetadata []string             `yaml:"token_response_metadata"`
}

// providersPath finds Nango's catalogue: $NANGO_PROVIDERS, else
// ../shared/reference/nango-providers.yaml, else the providers.yaml of the
// pinned npm package @nangohq/providers (make tools installs it), so a
// fresh clone without ../shared still checks the registry against Nango.
func providersPath(t *testing.T) string {
	t.Helper()
	return reftest.Path(t, "nango-providers.yaml", "NANGO_PROVIDERS",
		"internal/tstest/browsertest/node_modules/@nangohq/providers/providers.yaml")
}

// loadCatalogue reads the catalogue. A missing file fails the test: the
// check it feeds is the only thing tying the registry to Nango.
func loadCatalogue(t *testing.T) map[string]catalogueEntry {
	t.Helper()
	path := providersPath(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("Nango's provider catalogue is required (set NANGO_PROVIDERS to its path): %v", err)
	}
	var cat map[string]catalogueEntry
	if err := yaml.Unmarshal(data, &cat); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if len(cat) < 100 {
		t.Fatalf("%s holds %d providers; not Nango's catalogue?", path, len(cat))
	}
	return cat
}

// resolve applies Nango's alias inheritance: an entry with an alias takes
// its parent's auth mode and base URL unless it sets its own.
func resolve(cat map[string]catalogueEntry, name string) (catalogueEntry, bool) {
	e, ok := cat[name]
	if !ok {
		return e, false
	}
	if e.Alias != "" {
		parent, ok := resolve(cat, e.Alias)
		if !ok {
			return e, false
		}
		if e.AuthMode == "" {
			e.AuthMode = parent.AuthMode
		}
		if e.Proxy.BaseURL == "" {
			e.Proxy.BaseURL = parent.Proxy.BaseURL
		}
		if e.ConnectionConfig == nil {
			e.ConnectionConfig = parent.ConnectionConfig
		}
		if e.TokenResponseMetadata == nil {
			e.TokenResponseMetadata = parent.TokenResponseMetadata
		}
	}
	return e, true
}

var nangoAuthModes = map[AuthType]string{
	AuthOAuth2: "OAUTH2",
	AuthOAuth1: "OAUTH1",
	AuthAPIKey: "API_KEY",
	AuthNone:   "NONE",
}

// TestManifestsAgreeWithNangoCatalogue holds every manifest that names a
// Nango provider (the Nango-served ones, and the legacy ones a policy may
// move to Nango) to Nango's catalogue.
func TestManifestsAgreeWithNangoCatalogue(t *testing.T) {
	cat := loadCatalogue(t)
	checked := 0
	for _, m := range Default().All() {
		if m.NangoProvider == "" {
			if m.OAuthProvider == "nango" {
				t.Errorf("%s: served by Nango but names no Nango provider", m.ID)
			}
			continue
		}
		t.Run(m.ID, func(t *testing.T) {
			checked++
			e, ok := resolve(cat, m.NangoProvider)
			if !ok {
				t.Fatalf("Nango provider %q is not in the catalogue", m.NangoProvider)
			}
			if want := nangoAuthModes[m.AuthType]; e.AuthMode != want {
				t.Errorf("auth mode: manifest %s (Nango %s), catalogue %s", m.AuthType, want, e.AuthMode)
			}
			base := e.Proxy.BaseURL
			if base == "" {
				t.Fatalf("catalogue gives %s no proxy base URL", m.NangoProvider)
			}
			// Both sides are compared as written, placeholders included:
			// ${connectionConfig.instance_url} must stay the same template.
			if m.BaseURL != base && !strings.HasPrefix(m.BaseURL, strings.TrimSuffix(base, "/")+"/") {
				t.Errorf("base URL %q is not under the catalogue's %q", m.BaseURL, base)
			}
			for _, key := range m.Placeholders() {
				_, inConfig := e.ConnectionConfig[key]
				inMeta := false
				for _, k := range e.TokenResponseMetadata {
					inMeta = inMeta || k == key
				}
				if !inConfig && !inMeta {
					t.Errorf("base URL uses ${connectionConfig.%s}, which the catalogue does not define", key)
				}
			}
		})
	}
	if checked < 10 {
		t.Errorf("checked %d manifests against the catalogue, want at least the 10 Nango-served ones", checked)
	}
}

// TestCatalogueCheckCatchesDrift makes sure the comparison above can fail.
func TestCatalogueCheckCatchesDrift(t *testing.T) {
	cat := loadCatalogue(t)
	e, ok := resolve(cat, "trello")
	if !ok || e.AuthMode != "OAUTH1" {
		t.Fatalf("trello in catalogue: ok=%v auth=%q, want OAUTH1", ok, e.AuthMode)
	}
	if _, ok := resolve(cat, "no-such-provider-xyz"); ok {
		t.Error("an unknown provider resolved")
	}
	teams, _ := resolve(cat, "microsoft-teams")
	if teams.Proxy.BaseURL != "https://graph.microsoft.com" || teams.AuthMode != "OAUTH2" {
		t.Errorf("alias inheritance: microsoft-teams = %+v", teams)
	}
	sf, _ := resolve(cat, "salesforce")
	if !strings.Contains(sf.Proxy.BaseURL, "${connectionConfig.instance_url}") {
		t.Errorf("salesforce base URL %q is not templated", sf.Proxy.BaseURL)
	}
}
