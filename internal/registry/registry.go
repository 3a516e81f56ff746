// Package registry describes the connectors Automators can talk to: one
// manifest per connector with its auth type, the auth provider that serves it,
// its Nango catalogue entry, scopes, API base URL and actions.
//
// It is pure data: it imports no AWS SDK and does no I/O. The router decides
// from a manifest where a connector's credentials come from; the actions
// package uses its base URL and supplies its action list, so that the names
// are written once, next to their implementations.
package registry

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/automators/connectors/internal/connectors"
)

// AuthType is how a connector authenticates against its provider's API.
type AuthType string

// Auth types.
const (
	AuthOAuth2 AuthType = "oauth2"
	AuthOAuth1 AuthType = "oauth1"
	AuthAPIKey AuthType = "api_key"
	AuthNone   AuthType = "none"
)

// IsOAuth reports whether t is an OAuth flavour (1.0a or 2.0).
func (t AuthType) IsOAuth() bool { return t == AuthOAuth2 || t == AuthOAuth1 }

// Manifest describes one connector.
type Manifest struct {
	ID          string // kebab-case, used in URLs and node types
	DisplayName string
	Category    string
	AuthType    AuthType
	// OAuthProvider is the auth provider that serves the connector by
	// default: connectors.ProviderNango or connectors.ProviderLegacy.
	OAuthProvider connectors.AuthProvider
	// NangoProvider is the provider's name in Nango's catalogue. It is set
	// for legacy connectors too, so that a policy can move them to Nango.
	NangoProvider string
	// ProviderConfigKey is the default Nango integration key; deployments
	// override it with WithProviderConfigKeys.
	ProviderConfigKey string
	Scopes            []string
	// BaseURL is the root of the provider's API including its version path.
	// It may hold Nango-style placeholders, ${connectionConfig.<key>}, filled
	// from a connection's configuration by ResolveBaseURL.
	BaseURL string
	// Actions are the action names, as in integration.<id>.<action>. Default
	// leaves them empty; actions.NewCatalogue fills them from the actions
	// it implements (see WithActions), with ActionCredentials: the
	// credential each one sends.
	Actions           []string
	ActionCredentials map[string]Credential
	// APIKey is how a user connects the connector with an API key or
	// token they paste (routing step 2); nil when it accepts none.
	APIKey *APIKeyMode
	// AppCredentials are the deployment's app credentials (keys of the
	// secret) that some of its actions send (Discord's bot token).
	AppCredentials []string
}

// HasAction reports whether the connector offers the named action.
func (m Manifest) HasAction(name string) bool { return slices.Contains(m.Actions, name) }

// placeholder matches one ${connectionConfig.<key>} in a base URL.
var placeholder = regexp.MustCompile(`\$\{connectionConfig\.([A-Za-z0-9_]+)\}`)

// hostLabel is what a placeholder inside a host name may expand to: one DNS
// label (Nango's pattern for Shopify's subdomain). Anything more, such as a
// dot, slash or '@', could move the request, and its bearer token, to
// another host.
var hostLabel = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// Placeholders returns the connection configuration keys BaseURL refers to.
func (m Manifest) Placeholders() []string {
	var keys []string
	for _, sm := range placeholder.FindAllStringSubmatch(m.BaseURL, -1) {
		keys = append(keys, sm[1])
	}
	return keys
}

// ResolveBaseURL returns BaseURL with its placeholders filled from a
// connection's configuration (Nango's connection_config). A placeholder
// that is the whole origin (Salesforce's instance_url) must expand to an
// https URL with a host and nothing else; one inside a host name (Shopify's
// subdomain) must expand to a single DNS label. Errors are connectors
// errors with code EInvalid.
func (m Manifest) ResolveBaseURL(config map[string]string) (string, error) {
	if !strings.Contains(m.BaseURL, "${") {
		return m.BaseURL, nil
	}
	var err error
	out := placeholder.ReplaceAllStringFunc(m.BaseURL, func(ph string) string {
		key := placeholder.FindStringSubmatch(ph)[1]
		v := config[key]
		switch {
		case err != nil:
		case v == "":
			err = connectors.Errorf(connectors.EInvalid, "%s: connection configuration lacks %s", m.ID, key)
		case strings.HasPrefix(m.BaseURL, ph):
			if e := checkOrigin(v); e != nil {
				err = connectors.Wrap(e, connectors.EInvalid, fmt.Sprintf("%s: connection configuration %s is not an https origin", m.ID, key))
			}
			v = strings.TrimSuffix(v, "/")
		case !hostLabel.MatchString(v):
			err = connectors.Errorf(connectors.EInvalid, "%s: connection configuration %s is not a single host label", m.ID, key)
		}
		return v
	})
	if err != nil {
		return "", err
	}
	return out, nil
}

// checkOrigin accepts https://host[:port][/] and nothing else.
func checkOrigin(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("want https://host, got %d characters of another form", len(s))
	}
	return nil
}

// BasePath returns the path part of BaseURL (the API version prefix, e.g.
// "/v1.0" or "/services/data/v60.0"), so that a test or sandbox can point a
// connector at another origin and keep the documented paths.
func (m Manifest) BasePath() string {
	rest := m.BaseURL
	if loc := placeholder.FindStringIndex(rest); loc != nil && loc[0] == 0 {
		return rest[loc[1]:] // the placeholder is the whole origin
	}
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return ""
}

// Registry is a read-only set of manifests. It is safe for concurrent use.
type Registry struct {
	byID map[string]Manifest
}

// New returns a registry of the given manifests. IDs must be unique.
func New(ms ...Manifest) (*Registry, error) {
	r := &Registry{byID: make(map[string]Manifest, len(ms))}
	for _, m := range ms {
		if m.ID == "" {
			return nil, fmt.Errorf("registry: manifest without id")
		}
		if _, dup := r.byID[m.ID]; dup {
			return nil, fmt.Errorf("registry: duplicate manifest %q", m.ID)
		}
		if err := m.checkModes(); err != nil {
			return nil, err
		}
		r.byID[m.ID] = clone(m)
	}
	return r, nil
}

// Lookup returns the manifest of the connector id.
func (r *Registry) Lookup(id string) (Manifest, bool) {
	m, ok := r.byID[id]
	if !ok {
		return Manifest{}, false
	}
	return clone(m), true
}

// All returns every manifest, sorted by id.
func (r *Registry) All() []Manifest {
	out := make([]Manifest, 0, len(r.byID))
	for _, m := range r.byID {
		out = append(out, clone(m))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// IDs returns every connector id, sorted.
func (r *Registry) IDs() []string {
	return slices.Sorted(maps.Keys(r.byID))
}

// WithActions returns a copy of r in which the connectors named in acts
// offer exactly the given actions. The actions package derives them from
// its implementations, so that the registry and the implemented actions
// are one list. Unknown connector ids are ignored.
func (r *Registry) WithActions(acts map[string][]Action) *Registry {
	out := &Registry{byID: make(map[string]Manifest, len(r.byID))}
	for id, m := range r.byID {
		if as, ok := acts[id]; ok {
			m.Actions = make([]string, len(as))
			m.ActionCredentials = make(map[string]Credential, len(as))
			for i, a := range as {
				m.Actions[i] = a.Name
				m.ActionCredentials[a.Name] = a.Credential
			}
		}
		out.byID[id] = clone(m)
	}
	return out
}

// WithProviderConfigKeys returns a copy of r in which the connectors named
// in keys use the given Nango integration key instead of their default; a
// deployment whose Nango integrations are named differently sets these.
// Unknown connector ids are ignored (see ParseProviderConfigKeys to catch
// typos).
func (r *Registry) WithProviderConfigKeys(keys map[string]string) *Registry {
	out := &Registry{byID: make(map[string]Manifest, len(r.byID))}
	for id, m := range r.byID {
		if k, ok := keys[id]; ok && k != "" {
			m.ProviderConfigKey = k
		}
		out.byID[id] = m
	}
	return out
}

// ParseProviderConfigKeys parses the environment form of per-deployment
// integration keys, "slack=slack-prod,gmail=google-mail-prod", and checks
// every connector id against r.
func (r *Registry) ParseProviderConfigKeys(s string) (map[string]string, error) {
	out := map[string]string{}
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		id, key, ok := strings.Cut(entry, "=")
		id, key = strings.TrimSpace(id), strings.TrimSpace(key)
		if !ok || id == "" || key == "" {
			return nil, fmt.Errorf("registry: provider config key %q: want connector=key", entry)
		}
		if _, known := r.byID[id]; !known {
			return nil, fmt.Errorf("registry: provider config key for unknown connector %q", id)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("registry: provider config key for %q given twice", id)
		}
		out[id] = key
	}
	return out, nil
}

func clone(m Manifest) Manifest {
	m.Scopes = slices.Clone(m.Scopes)
	m.Actions = slices.Clone(m.Actions)
	m.ActionCredentials = maps.Clone(m.ActionCredentials)
	m.AppCredentials = slices.Clone(m.AppCredentials)
	return m
}
