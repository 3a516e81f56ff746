package panora

import "sort"

// App is one of Panora's providers: a vertical (Panora's category: crm,
// ticketing, ...) and a provider slug, as Panora's connections name them
// (Connection.Vertical, Connection.ProviderSlug).
type App struct {
	Vertical string
	Slug     string
}

// String is "vertical/slug".
func (a App) String() string { return a.Vertical + "/" + a.Slug }

// apps are the connectors of the registry that Panora serves, by registry
// id. A connector is here when Panora's catalogue has it and does not mark
// it inactive (packages/shared/src/connectors/metadata.ts,
// CONNECTORS_METADATA; the magic-link page lists only active providers:
// packages/shared/src/utils.ts, providersArray), and it has a connection
// service (packages/api/src/@core/connections/<vertical>/services/<slug>):
//   - hubspot: crm/hubspot (OAuth 2.0; active, no `active: false`);
//   - salesforce: crm/salesforce (OAuth 2.0, the user gives their domain;
//     `active: true`).
//
// Not served, at c6741e9e: asana (ticketing/asana has a connection service
// but `active: false`), trello (ticketing/trello, `active: false`),
// slack (productivity/slack, `active: false`); shopify is active, but in
// the ecommerce vertical with an API-key strategy, which the registry
// already serves by API key. Google Sheets, Microsoft Teams, Discord,
// Stripe, Gmail and Outlook are not in Panora's catalogue.
var apps = map[string]App{
	"hubspot":    {Vertical: "crm", Slug: "hubspot"},
	"salesforce": {Vertical: "crm", Slug: "salesforce"},
}

// Serves reports whether Panora serves connector (a registry id).
func Serves(connector string) bool {
	_, ok := apps[connector]
	return ok
}

// AppFor returns the Panora app of connector, if Panora serves it.
func AppFor(connector string) (App, bool) {
	a, ok := apps[connector]
	return a, ok
}

// ConnectorFor returns the registry id of the connector that Panora's app
// (vertical, slug) is, if this service uses it.
func ConnectorFor(vertical, slug string) (string, bool) {
	for id, a := range apps {
		if a.Vertical == vertical && a.Slug == slug {
			return id, true
		}
	}
	return "", false
}

// Connectors lists the registry ids Panora serves, sorted.
func Connectors() []string {
	ids := make([]string, 0, len(apps))
	for id := range apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
