package router

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// PolicyEnv is the environment variable a deployment sets its routing
// policy in; the wiring package passes its value to ParsePolicy.
const PolicyEnv = "ROUTING_POLICY"

// Policy is a deployment's routing configuration: which target a connector
// prefers instead of its registry default. Organization overrides beat
// deployment overrides; an existing connection beats both.
type Policy struct {
	// Overrides maps a connector id to its target for the whole deployment.
	Overrides map[string]connectors.AuthProvider
	// OrgOverrides maps an organization id to connector overrides that apply
	// to that organization only.
	OrgOverrides map[string]map[string]connectors.AuthProvider
}

var connectorID = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// ParsePolicy parses the environment form of a policy: entries separated by
// commas (or semicolons or newlines), each one of
//
//	<connector>=<target>              for the whole deployment
//	org:<organizationId>/<connector>=<target>   for one organization
//
// for example "gmail=nango,org:acme/outlook=nango". Whitespace around
// entries and names is ignored; an organization id may contain anything but
// '=', ',', ';' and newlines (the connector is after its last '/'). Targets
// are the connectors.AuthProvider constants; naming one that is not available in this build
// (e.g. "panora") parses, and routing then reports it unavailable in the
// trace. A connector given twice in the same scope is an error, so that a
// typo cannot silently win.
func ParsePolicy(s string) (Policy, error) {
	p := Policy{}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '\n' })
	for _, entry := range fields {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		key, val, ok := strings.Cut(entry, "=")
		if !ok {
			return Policy{}, fmt.Errorf("routing policy entry %q: want connector=target", entry)
		}
		key, target := strings.TrimSpace(key), connectors.AuthProvider(strings.TrimSpace(val))
		if !known(target) {
			return Policy{}, fmt.Errorf("routing policy entry %q: unknown target %q (known: %s)", entry, target, strings.Join(knownTargetNames(), ", "))
		}
		org := ""
		if rest, isOrg := strings.CutPrefix(key, "org:"); isOrg {
			i := strings.LastIndexByte(rest, '/')
			if i <= 0 {
				return Policy{}, fmt.Errorf("routing policy entry %q: want org:<organizationId>/<connector>=target", entry)
			}
			org, key = strings.TrimSpace(rest[:i]), strings.TrimSpace(rest[i+1:])
			if org == "" {
				return Policy{}, fmt.Errorf("routing policy entry %q: empty organization id", entry)
			}
		}
		if !connectorID.MatchString(key) {
			return Policy{}, fmt.Errorf("routing policy entry %q: %q is not a connector id", entry, key)
		}
		scope := p.Overrides
		if org != "" {
			if p.OrgOverrides == nil {
				p.OrgOverrides = map[string]map[string]connectors.AuthProvider{}
			}
			if p.OrgOverrides[org] == nil {
				p.OrgOverrides[org] = map[string]connectors.AuthProvider{}
			}
			scope = p.OrgOverrides[org]
		} else if scope == nil {
			p.Overrides = map[string]connectors.AuthProvider{}
			scope = p.Overrides
		}
		if _, dup := scope[key]; dup {
			where := ""
			if org != "" {
				where = " for organization " + org
			}
			return Policy{}, fmt.Errorf("routing policy: %s given twice%s", key, where)
		}
		scope[key] = target
	}
	return p, nil
}

// Validate checks that every connector the policy names is in reg, so a
// deployment finds a typo at cold start rather than by a route that never
// changes.
func (p Policy) Validate(reg *registry.Registry) error {
	check := func(scope, id string) error {
		if _, ok := reg.Lookup(id); !ok {
			return fmt.Errorf("routing policy%s names unknown connector %q", scope, id)
		}
		return nil
	}
	for id := range p.Overrides {
		if err := check("", id); err != nil {
			return err
		}
	}
	for org, m := range p.OrgOverrides {
		for id := range m {
			if err := check(" for organization "+org, id); err != nil {
				return err
			}
		}
	}
	return nil
}
