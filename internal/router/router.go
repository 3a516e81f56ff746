// Package router decides which auth provider serves a connector: an ordered
// waterfall of twelve steps, the first of which to match and be available
// wins.
//
// Routing happens in two stages. First the preferred target is settled,
// strongest claim first:
//
//  1. an existing connection stays on the provider that holds it;
//  2. the caller asks to connect with an API key (api_key);
//  3. the user has no connection of their own and the organization shares
//     one (org_shared);
//  4. the organization's override from the policy;
//  5. the deployment's override from the policy;
//  6. the registry default (Nango or the built-in OAuth for OAuth
//     connectors, api_key or none for the others).
//
// Then the steps are evaluated in order; a step matches when the preferred
// target is its target and the connector's auth type fits, and it decides
// when it is also available. Every step appears in the trace with whether it
// matched, whether it is available and why, so a decision can be explained
// and a step that this build does not provide (Panora, Composio, ...) is
// never silently absent. A preferred target that no step can serve is an
// ENotConfigured error: routing never falls back silently to another
// provider, since that would hide a misconfigured policy.
//
// See ParsePolicy for the policy's environment form and
// internal/cmd/route for a command that prints a decision.
package router

import (
	"fmt"
	"slices"
	"strings"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// known reports whether t is the target of one of the steps.
func known(t connectors.AuthProvider) bool {
	return slices.ContainsFunc(steps, func(s step) bool { return s.Target == t })
}

func knownTargetNames() []string {
	names := make([]string, len(steps))
	for i, s := range steps {
		names[i] = string(s.Target)
	}
	return names
}

// Step is one rung of the waterfall.
type Step struct {
	Number      int
	Name        string
	Target      connectors.AuthProvider
	Description string
}

// TraceEntry records how one step fared in a decision.
type TraceEntry struct {
	Step      int                     `json:"step"`
	Name      string                  `json:"name"`
	Target    connectors.AuthProvider `json:"target"`
	Matched   bool                    `json:"matched"`
	Available bool                    `json:"available"`
	Reason    string                  `json:"reason"`
}

// Decision is the outcome of routing: the deciding step and the trace of
// all twelve. Its JSON form is the "route" object of the API's answers.
type Decision struct {
	Step   int                     `json:"step"`
	Name   string                  `json:"name"`
	Target connectors.AuthProvider `json:"target"`
	Trace  []TraceEntry            `json:"trace"`
	// ProviderConfigKey is the Nango integration key to use when Target is
	// ProviderNango: the existing connection's, else the manifest's.
	ProviderConfigKey string `json:"-"`
}

// Input is what routing looks at for one connector and caller.
type Input struct {
	Manifest       registry.Manifest
	OrganizationID string
	// Existing is the caller's connection for this connector, if any; it
	// stays on the provider that holds it (its AuthProvider).
	Existing *connectors.Connection
	// WantAPIKey is set when the caller asks to connect with an API key
	// (step 2).
	WantAPIKey bool
	// Shared is a connection the organization shares with its members,
	// given when the caller has none of their own (step 3).
	Shared *connectors.Connection
}

// Router routes connectors under one policy. It is immutable and safe for
// concurrent use.
type Router struct {
	policy  Policy
	managed map[connectors.AuthProvider]func(connector string) error
}

// Option configures a router.
type Option func(*Router)

// WithManaged makes the step of the managed provider t (Panora, Composio,
// ...) available for the connectors serves accepts; serves' error says why
// it cannot serve one (not configured, no such toolkit). A step without
// it is reported as having no client in this build.
func WithManaged(t connectors.AuthProvider, serves func(connector string) error) Option {
	return func(r *Router) { r.managed[t] = serves }
}

// New returns a router applying p.
func New(p Policy, opts ...Option) *Router {
	r := &Router{policy: p, managed: map[connectors.AuthProvider]func(string) error{}}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Steps returns the waterfall in order.
func Steps() []Step {
	out := make([]Step, len(steps))
	for i, s := range steps {
		out[i] = s.Step
	}
	return out
}

// preference is the settled preferred target and where it came from.
type preference struct {
	target connectors.AuthProvider
	source string
}

// eval is a step's verdict for one input.
type eval struct {
	matched, available bool
	reason             string
}

type step struct {
	Step
	eval func(r *Router, in Input, p preference) eval
}

// steps is the waterfall. Order is the contract: the first step that
// matches and is available decides.
var steps = []step{
	{Step{1, "nango_oauth", connectors.ProviderNango, "OAuth connector served by Nango's managed OAuth"}, (*Router).evalNango},
	{Step{2, "api_key", connectors.ProviderAPIKey, "API key stored by the organization"}, (*Router).evalAPIKey},
	{Step{3, "org_shared", connectors.ProviderOrgShared, "connection shared by the organization"}, (*Router).evalShared},
	{Step{4, "no_auth", connectors.ProviderNone, "connector that needs no credentials"}, (*Router).evalNone},
	{Step{5, "panora", connectors.ProviderPanora, "Panora unified API"}, managedStep("Panora", connectors.ProviderPanora)},
	{Step{6, "composio", connectors.ProviderComposio, "Composio managed auth"}, managedStep("Composio", connectors.ProviderComposio)},
	{Step{7, "merge", connectors.ProviderMerge, "Merge.dev unified API"}, managedStep("Merge", connectors.ProviderMerge)},
	{Step{8, "paragon", connectors.ProviderParagon, "Paragon Connect"}, managedStep("Paragon", connectors.ProviderParagon)},
	{Step{9, "pipedream", connectors.ProviderPipedream, "Pipedream Connect"}, managedStep("Pipedream", connectors.ProviderPipedream)},
	{Step{10, "unified", connectors.ProviderUnified, "Unified.to"}, managedStep("Unified.to", connectors.ProviderUnified)},
	{Step{11, "apideck", connectors.ProviderApideck, "Apideck Vault"}, managedStep("Apideck", connectors.ProviderApideck)},
	{Step{12, "builtin_oauth", connectors.ProviderLegacy, "built-in OAuth fallback (Gmail, Outlook)"}, (*Router).evalBuiltIn},
}

// Route decides where in's connector gets its credentials. The decision
// holds the full trace even when err is non-nil. Errors are connectors
// errors: EInvalid for an inconsistent input, ENotConfigured when no step
// can serve the connector.
func (r *Router) Route(in Input) (Decision, error) {
	m := in.Manifest
	if m.ID == "" {
		return Decision{}, connectors.Errorf(connectors.EInvalid, "route: no connector")
	}
	if e := in.Existing; e != nil {
		if e.Connector != "" && e.Connector != m.ID {
			return Decision{}, connectors.Errorf(connectors.EInvalid, "route: existing connection %s is for %s, not %s", e.ID, e.Connector, m.ID)
		}
		if e.OrganizationID != "" && in.OrganizationID != "" && e.OrganizationID != in.OrganizationID {
			return Decision{}, connectors.Errorf(connectors.EInvalid, "route: existing connection %s belongs to another organization", e.ID)
		}
	}
	pref := r.prefer(in)
	d := Decision{Trace: make([]TraceEntry, 0, len(steps))}
	var firstUnavailable *TraceEntry
	for _, s := range steps {
		v := s.eval(r, in, pref)
		d.Trace = append(d.Trace, TraceEntry{
			Step: s.Number, Name: s.Name, Target: s.Target,
			Matched: v.matched, Available: v.available, Reason: v.reason,
		})
		te := &d.Trace[len(d.Trace)-1]
		switch {
		case d.Step != 0 || !v.matched:
		case v.available:
			d.Step, d.Name, d.Target = s.Number, s.Name, s.Target
		case firstUnavailable == nil:
			firstUnavailable = te
		}
	}
	if d.Step == 0 {
		if firstUnavailable != nil {
			return d, connectors.Errorf(connectors.ENotConfigured, "no route for %s: step %d (%s) matched but is unavailable: %s",
				m.ID, firstUnavailable.Step, firstUnavailable.Name, firstUnavailable.Reason)
		}
		return d, connectors.Errorf(connectors.ENotConfigured, "no route for %s: no step serves target %q (%s) for %s auth",
			m.ID, pref.target, pref.source, m.AuthType)
	}
	if d.Target == connectors.ProviderNango {
		d.ProviderConfigKey = r.providerConfigKey(in)
	}
	return d, nil
}

// prefer settles the preferred target: existing connection, then the
// organization's override, then the deployment's, then the registry.
func (r *Router) prefer(in Input) preference {
	m := in.Manifest
	if e := in.Existing; e != nil {
		return preference{connectors.AuthProvider(e.AuthProvider), fmt.Sprintf("existing connection %s is held by %s", e.ID, e.AuthProvider)}
	}
	if in.WantAPIKey {
		return preference{connectors.ProviderAPIKey, "the caller asks to connect with an API key"}
	}
	if s := in.Shared; s != nil {
		return preference{connectors.ProviderOrgShared, fmt.Sprintf("the user has no %s connection of their own; the organization shares %s", m.ID, s.ID)}
	}
	if t, ok := r.policy.OrgOverrides[in.OrganizationID][m.ID]; ok && in.OrganizationID != "" {
		return preference{t, fmt.Sprintf("organization %s override %s=%s", in.OrganizationID, m.ID, t)}
	}
	if t, ok := r.policy.Overrides[m.ID]; ok {
		return preference{t, fmt.Sprintf("deployment override %s=%s", m.ID, t)}
	}
	var t connectors.AuthProvider
	switch m.AuthType {
	case registry.AuthOAuth2, registry.AuthOAuth1:
		t = connectors.AuthProvider(m.OAuthProvider)
	case registry.AuthAPIKey:
		t = connectors.ProviderAPIKey
	case registry.AuthNone:
		t = connectors.ProviderNone
	}
	return preference{t, "registry default"}
}

func (r *Router) providerConfigKey(in Input) string {
	if in.Existing != nil && in.Existing.ProviderConfigKey != "" {
		return in.Existing.ProviderConfigKey
	}
	return in.Manifest.ProviderConfigKey
}

// prefers words the condition shared by every step: the preferred target
// is (or is not) the step's.
func prefers(in Input, p preference, t connectors.AuthProvider) (bool, string) {
	if p.target == t {
		return true, fmt.Sprintf("%s prefers %s (%s)", in.Manifest.ID, t, p.source)
	}
	if p.target == "" {
		return false, fmt.Sprintf("%s has no preferred target (%s auth)", in.Manifest.ID, in.Manifest.AuthType)
	}
	return false, fmt.Sprintf("%s prefers %s (%s)", in.Manifest.ID, p.target, p.source)
}

// oauthStep is the condition of an OAuth provider's step: the connector
// prefers t and authenticates with OAuth.
func oauthStep(in Input, p preference, t connectors.AuthProvider) eval {
	m := in.Manifest
	var v eval
	v.matched, v.reason = prefers(in, p, t)
	if !m.AuthType.IsOAuth() {
		v.matched = false
		v.reason = fmt.Sprintf("%s uses %s auth, not OAuth", m.ID, m.AuthType)
	}
	return v
}

func (r *Router) evalNango(in Input, p preference) eval {
	m := in.Manifest
	v := oauthStep(in, p, connectors.ProviderNango)
	switch {
	case m.NangoProvider == "":
		v.reason += "; unavailable: no Nango provider for " + m.ID
	case r.providerConfigKey(in) == "":
		v.reason += "; unavailable: no Nango providerConfigKey for " + m.ID
	default:
		v.available = true
		v.reason += fmt.Sprintf("; Nango provider %s, providerConfigKey %s", m.NangoProvider, r.providerConfigKey(in))
	}
	return v
}

func (r *Router) evalAPIKey(in Input, p preference) eval {
	m := in.Manifest
	var v eval
	v.matched, v.reason = prefers(in, p, connectors.ProviderAPIKey)
	if m.AcceptsAPIKey() {
		v.available = true
		v.reason += fmt.Sprintf("; %s accepts an API key (%s)", m.ID, strings.Join(m.FieldNames(), ", "))
	} else {
		v.reason += fmt.Sprintf("; unavailable: %s accepts no API key", m.ID)
	}
	return v
}

func (r *Router) evalShared(in Input, p preference) eval {
	var v eval
	v.matched, v.reason = prefers(in, p, connectors.ProviderOrgShared)
	s := in.Shared
	switch {
	case s == nil:
		v.reason += fmt.Sprintf("; unavailable: organization %q shares no %s connection", in.OrganizationID, in.Manifest.ID)
	case s.Connector != in.Manifest.ID || (in.OrganizationID != "" && s.OrganizationID != in.OrganizationID):
		v.reason += "; unavailable: the shared connection is for another connector or organization"
	case s.Status == connectors.StatusRevoked || s.Status == connectors.StatusReauthRequired:
		v.reason += fmt.Sprintf("; unavailable: shared connection %s is %s", s.ID, s.Status)
	case !s.Shared:
		v.reason += fmt.Sprintf("; unavailable: connection %s is not shared", s.ID)
	default:
		v.available = true
		v.reason += fmt.Sprintf("; shared connection %s, held by %s", s.ID, s.AuthProvider)
	}
	return v
}

func (r *Router) evalNone(in Input, p preference) eval {
	var v eval
	v.matched, v.reason = prefers(in, p, connectors.ProviderNone)
	if in.Manifest.AuthType == registry.AuthNone {
		v.available = true
		v.reason += "; no credentials needed"
	} else {
		v.reason += fmt.Sprintf("; unavailable: %s needs %s credentials", in.Manifest.ID, in.Manifest.AuthType)
	}
	return v
}

// managedStep is the verdict of a managed provider's step: available for
// the connectors the provider serves (WithManaged); a slot this build has
// no client for may match (a policy can name it) but never decides.
func managedStep(provider string, t connectors.AuthProvider) func(*Router, Input, preference) eval {
	return func(r *Router, in Input, p preference) eval {
		var v eval
		v.matched, v.reason = prefers(in, p, t)
		serves, ok := r.managed[t]
		switch {
		case !ok:
			v.reason += fmt.Sprintf("; unavailable: this build has no %s client", provider)
		default:
			if err := serves(in.Manifest.ID); err != nil {
				v.reason += "; unavailable: " + err.Error()
			} else {
				v.available = true
				v.reason += fmt.Sprintf("; %s serves %s", provider, in.Manifest.ID)
			}
		}
		return v
	}
}

func (r *Router) evalBuiltIn(in Input, p preference) eval {
	m := in.Manifest
	v := oauthStep(in, p, connectors.ProviderLegacy)
	// The built-in OAuth serves the connectors the registry gives it
	// (Gmail, Outlook): it has an authorization server for no other.
	if m.OAuthProvider == connectors.ProviderLegacy {
		v.available = true
		v.reason += "; the built-in OAuth serves " + m.ID
	} else {
		v.reason += fmt.Sprintf("; unavailable: the built-in OAuth serves only the connectors the registry gives it, and %s is %s's", m.ID, m.OAuthProvider)
	}
	return v
}
