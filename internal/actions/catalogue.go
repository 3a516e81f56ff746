package actions

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
	"github.com/automators/connectors/internal/schema"
)

// connector is one connector's actions and what they share, as its file
// defines them. Each definition function builds fresh values, so that two
// catalogues never share a spec.
type connector struct {
	provider *provider
	actions  []*spec
	// verify is the call that proves API-key credentials (Verify): set
	// exactly when the connector's manifest accepts API keys. Its build
	// gets no arguments.
	verify *spec
}

// builtin lists the definition of every connector this package implements.
func builtin() []func() connector {
	return []func() connector{
		asanaActions, discordActions, gmailActions, hubspotActions,
		teamsActions, outlookActions, salesforceActions, shopifyActions,
		sheetsActions, slackActions, stripeActions, trelloActions,
	}
}

// Catalogue holds every connector's actions, bound to the manifests of a
// registry. It is read-only once built and safe for concurrent use.
type Catalogue struct {
	reg    *registry.Registry  // the registry built over, with action lists
	byKey  map[string]*spec    // connector.action
	names  map[string][]string // connector -> action names, in definition order
	verify map[string]*spec    // connector -> its credential test call
}

// NewCatalogue builds every connector's actions over reg, whose manifests
// give them their base URLs. It fails, rather than serving a partial set,
// when an action belongs to a connector reg lacks, when a connector of reg
// has no actions, when an action is defined twice, when an action
// declares no credential (or an app credential its manifest does not
// list), or when a connector that accepts API keys has no call to test
// them with.
//
// Run validates parameters with schemas (schema.Subset in the functions;
// tests also use the library, internal/adapter/jsonschema); nil makes a
// catalogue that describes and verifies but runs nothing. Each action's
// schemas are made and compiled on its first use.
func NewCatalogue(reg *registry.Registry, schemas schema.Compiler) (*Catalogue, error) {
	return newCatalogue(reg, schemas, builtin())
}

func newCatalogue(reg *registry.Registry, schemas schema.Compiler, defs []func() connector) (*Catalogue, error) {
	cat := &Catalogue{byKey: map[string]*spec{}, names: map[string][]string{}, verify: map[string]*spec{}}
	listed := map[string][]registry.Action{}
	for _, def := range defs {
		d := def()
		p := d.provider
		m, ok := reg.Lookup(p.id)
		if !ok {
			return nil, fmt.Errorf("actions: connector %q is not in the registry", p.id)
		}
		if _, dup := cat.names[p.id]; dup {
			return nil, fmt.Errorf("actions: connector %q is defined twice", p.id)
		}
		names := make([]string, 0, len(d.actions))
		for _, s := range d.actions {
			s.provider, s.manifest, s.key = p, m, p.id+"."+s.name
			if _, dup := cat.byKey[s.key]; dup {
				return nil, fmt.Errorf("actions: action %s is defined twice", s.key)
			}
			if err := checkCredential(s, m); err != nil {
				return nil, err
			}
			if err := checkScopes(s, m); err != nil {
				return nil, err
			}
			if strings.TrimSpace(s.output) == "" {
				return nil, fmt.Errorf("actions: action %s declares no output schema", s.key)
			}
			s.schemas = newSchemas(s, schemas)
			cat.byKey[s.key] = s
			names = append(names, s.name)
			listed[p.id] = append(listed[p.id], registry.Action{Name: s.name, Credential: s.credential})
		}
		cat.names[p.id] = names
		switch v := d.verify; {
		case v == nil && m.AcceptsAPIKey():
			return nil, fmt.Errorf("actions: connector %q accepts API keys and has no call to test them", p.id)
		case v != nil && !m.AcceptsAPIKey():
			return nil, fmt.Errorf("actions: connector %q has a credential test call and accepts no API key", p.id)
		case v != nil:
			v.provider, v.manifest, v.key = p, m, p.id+" credential test"
			v.credential = registry.CredentialConnection
			cat.verify[p.id] = v
		}
	}
	for _, id := range reg.IDs() {
		if len(cat.names[id]) == 0 {
			return nil, fmt.Errorf("actions: connector %q of the registry has no actions", id)
		}
	}
	cat.reg = reg.WithActions(listed)
	return cat, nil
}

// checkCredential checks the credential s declares: the connection's, or
// an app credential that m lists and s's provider knows how to send.
func checkCredential(s *spec, m registry.Manifest) error {
	if s.credential == "" {
		return fmt.Errorf("actions: action %s declares no credential", s.key)
	}
	if s.credential == registry.CredentialConnection {
		return nil
	}
	name, ok := s.credential.App()
	switch {
	case !ok:
		return fmt.Errorf("actions: action %s declares an unknown credential %q", s.key, s.credential)
	case !slices.Contains(m.AppCredentials, name):
		return fmt.Errorf("actions: action %s sends app credential %q, which %s's manifest does not list (it lists %v)", s.key, name, m.ID, m.AppCredentials)
	case s.provider.appAuth == nil:
		return fmt.Errorf("actions: action %s sends app credential %q, and %s has no way to send one", s.key, name, m.ID)
	}
	return nil
}

// checkScopes checks that every scope s needs is one m requests, so that
// a connection made today is granted it.
func checkScopes(s *spec, m registry.Manifest) error {
	for _, entry := range s.scopes {
		if !slices.ContainsFunc(strings.Split(entry, "|"), func(alt string) bool { return slices.Contains(m.Scopes, alt) }) {
			return fmt.Errorf("actions: action %s needs scope %q, which %s's manifest does not request (it requests %v)", s.key, entry, m.ID, m.Scopes)
		}
	}
	return nil
}

// ActionInfo describes one action for the catalogue API.
type ActionInfo struct {
	Name      string
	Write     bool
	Operation string   // "<provider-specs file> <operation id>"
	Scopes    []string // OAuth scopes needed; "a|b" is met by either
	// InputSchema and OutputSchema are JSON Schema 2020-12 documents: the
	// parameters Validate enforces and what Run returns.
	InputSchema, OutputSchema json.RawMessage
}

// Describe returns a connector's actions in definition order, none for a
// connector without any. Its error is internal: a schema document that
// cannot be made (TestSchemasCompile keeps that from shipping). The
// schemas are shared: callers must not modify them.
func (cat *Catalogue) Describe(connector string) ([]ActionInfo, error) {
	names := cat.names[connector]
	out := make([]ActionInfo, len(names))
	for i, n := range names {
		s := cat.byKey[connector+"."+n]
		d, err := s.schemas.docs()
		if err != nil {
			return nil, connectors.Wrap(err, connectors.EInternal, "describe "+s.key)
		}
		out[i] = ActionInfo{
			Name: s.name, Write: s.write, Operation: s.operation, Scopes: slices.Clone(s.scopes),
			InputSchema: d.input, OutputSchema: d.output,
		}
	}
	return out, nil
}

// Lookup returns the action of a connector by name.
func (cat *Catalogue) Lookup(connector, action string) (Action, bool) {
	s, ok := cat.byKey[connector+"."+action]
	if !ok {
		return nil, false // not a non-nil Action holding a nil *spec
	}
	return s, true
}

// Actions returns the names of a connector's actions, nil for an unknown
// connector.
func (cat *Catalogue) Actions(connector string) []string {
	return slices.Clone(cat.names[connector])
}

// Registry returns the registry the catalogue was built over, with each
// manifest's Actions filled from the catalogue: the one list of action
// names, so that Manifest.HasAction and the catalogue cannot disagree.
func (cat *Catalogue) Registry() *registry.Registry { return cat.reg }
