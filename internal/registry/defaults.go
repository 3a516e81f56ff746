package registry

import (
	"regexp"

	"github.com/automators/connectors/internal/connectors"
)

// Default returns the registry of the twelve connectors Automators offers,
// without action lists: actions.NewCatalogue adds those from the actions it
// implements. Each call returns a fresh registry, so callers may derive
// from it freely.
//
// Base URLs include the API version the actions are written against; their
// origins agree with the proxy base URLs of Nango's catalogue (a test holds
// them to it). ProviderConfigKey defaults to the Nango provider name, the
// name Nango's dashboard suggests for a new integration.
func Default() *Registry {
	r, err := New(defaultManifests()...)
	if err != nil {
		panic(err) // the table below is a constant; its tests keep it valid
	}
	return r
}

func defaultManifests() []Manifest {
	return []Manifest{
		{
			ID: "slack", DisplayName: "Slack", Category: "communication",
			AuthType: AuthOAuth2, OAuthProvider: connectors.ProviderNango,
			NangoProvider: "slack", ProviderConfigKey: "slack",
			// users:read.email is granted only with users:read.
			Scopes:  []string{"chat:write", "channels:read", "groups:read", "reactions:write", "users:read", "users:read.email"},
			BaseURL: "https://slack.com/api",
		},
		{
			ID: "google-sheets", DisplayName: "Google Sheets", Category: "productivity",
			AuthType: AuthOAuth2, OAuthProvider: connectors.ProviderNango,
			NangoProvider: "google-sheet", ProviderConfigKey: "google-sheet",
			Scopes:  []string{"https://www.googleapis.com/auth/spreadsheets"},
			BaseURL: "https://sheets.googleapis.com/v4",
		},
		{
			ID: "salesforce", DisplayName: "Salesforce", Category: "crm",
			AuthType: AuthOAuth2, OAuthProvider: connectors.ProviderNango,
			NangoProvider: "salesforce", ProviderConfigKey: "salesforce",
			Scopes: []string{"api", "refresh_token", "offline_access"},
			// Every Salesforce org has its own host, returned as instance_url
			// with the token; Nango keeps it in the connection configuration.
			BaseURL: "${connectionConfig.instance_url}/services/data/v60.0",
		},
		{
			ID: "hubspot", DisplayName: "HubSpot", Category: "crm",
			AuthType: AuthOAuth2, OAuthProvider: connectors.ProviderNango,
			NangoProvider: "hubspot", ProviderConfigKey: "hubspot",
			Scopes:  []string{"crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.deals.write"},
			BaseURL: "https://api.hubapi.com",
			APIKey: &APIKeyMode{
				Doc: "https://developers.hubspot.com/docs/api/private-apps",
				Fields: []Field{
					{Name: "private_app_token", Label: "a HubSpot private app access token (pat-...)", Use: UseAccessToken, Pattern: regexp.MustCompile(`^pat-[A-Za-z0-9-]{8,}$`)},
				},
			},
		},
		{
			ID: "microsoft-teams", DisplayName: "Microsoft Teams", Category: "communication",
			AuthType: AuthOAuth2, OAuthProvider: connectors.ProviderNango,
			NangoProvider: "microsoft-teams", ProviderConfigKey: "microsoft-teams",
			Scopes:  []string{"offline_access", "ChannelMessage.Send", "Channel.ReadBasic.All", "Team.ReadBasic.All", "ChatMessage.Send"},
			BaseURL: "https://graph.microsoft.com/v1.0",
		},
		{
			ID: "discord", DisplayName: "Discord", Category: "communication",
			AuthType: AuthOAuth2, OAuthProvider: connectors.ProviderNango,
			NangoProvider: "discord", ProviderConfigKey: "discord",
			Scopes:  []string{"identify", "guilds", "bot"},
			BaseURL: "https://discord.com/api/v10",
			// Posting in a guild channel needs the application's bot
			// (Authorization: Bot); the user's OAuth connection, with the
			// bot scope, adds the bot to their server and says which
			// guilds are theirs.
			AppCredentials: []string{"discord_bot_token"},
		},
		{
			ID: "trello", DisplayName: "Trello", Category: "productivity",
			AuthType: AuthOAuth1, OAuthProvider: connectors.ProviderNango,
			NangoProvider: "trello", ProviderConfigKey: "trello",
			Scopes:  []string{"read", "write"},
			BaseURL: "https://api.trello.com/1",
			// With a key and token Trello is called directly; without
			// them, through Nango's proxy, which signs OAuth 1.0a.
			APIKey: &APIKeyMode{
				Doc: "https://developer.atlassian.com/cloud/trello/guides/rest-api/api-introduction/",
				Fields: []Field{
					{Name: "api_key", Label: "a Trello Power-Up API key (32 hex digits)", Use: UseAPIKey, Pattern: regexp.MustCompile(`^[0-9a-f]{32}$`)},
					{Name: "token", Label: "a Trello token the key's user authorized", Use: UseAccessToken, Pattern: regexp.MustCompile(`^[A-Za-z0-9]{32,}$`), MaxLen: 256},
				},
			},
		},
		{
			ID: "asana", DisplayName: "Asana", Category: "productivity",
			AuthType: AuthOAuth2, OAuthProvider: connectors.ProviderNango,
			NangoProvider: "asana", ProviderConfigKey: "asana",
			Scopes:  []string{"default"},
			BaseURL: "https://app.asana.com/api/1.0",
			APIKey: &APIKeyMode{
				Doc: "https://developers.asana.com/docs/personal-access-token",
				Fields: []Field{
					{Name: "personal_access_token", Label: "an Asana personal access token", Use: UseAccessToken},
				},
			},
		},
		{
			ID: "shopify", DisplayName: "Shopify", Category: "e-commerce",
			AuthType: AuthOAuth2, OAuthProvider: connectors.ProviderNango,
			NangoProvider: "shopify", ProviderConfigKey: "shopify",
			Scopes: []string{"read_products", "read_orders", "write_orders", "write_customers", "write_inventory"},
			// The shop's own domain, <subdomain>.myshopify.com, from the
			// connection; the Admin API (GraphQL, at graphql.json under it) is
			// versioned by date.
			BaseURL: "https://${connectionConfig.subdomain}.myshopify.com/admin/api/2026-04",
			APIKey: &APIKeyMode{
				Doc: "https://shopify.dev/docs/apps/build/authentication-authorization/access-tokens/generate-app-access-tokens-admin",
				Fields: []Field{
					{Name: "subdomain", Label: "the shop's subdomain (acme for acme.myshopify.com)", Use: UseConfig, Pattern: regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`), MaxLen: 63},
					{Name: "access_token", Label: "a custom app's Admin API access token (shpat_...)", Use: UseAccessToken, Pattern: regexp.MustCompile(`^shp[a-z]{2}_[A-Za-z0-9]{16,}$`)},
				},
			},
		},
		{
			ID: "stripe", DisplayName: "Stripe", Category: "payments",
			AuthType: AuthOAuth2, OAuthProvider: connectors.ProviderNango,
			NangoProvider: "stripe", ProviderConfigKey: "stripe",
			Scopes:  []string{"read_write"},
			BaseURL: "https://api.stripe.com/v1",
			APIKey: &APIKeyMode{
				Doc: "https://docs.stripe.com/keys",
				Fields: []Field{
					{Name: "secret_key", Label: "a Stripe secret or restricted key (sk_live_..., rk_test_...)", Use: UseAPIKey, Pattern: regexp.MustCompile(`^(sk|rk)_(test|live)_[A-Za-z0-9]{10,}$`)},
				},
			},
		},
		{
			ID: "gmail", DisplayName: "Gmail", Category: "email",
			AuthType: AuthOAuth2, OAuthProvider: connectors.ProviderLegacy,
			NangoProvider: "google-mail", ProviderConfigKey: "google-mail",
			Scopes: []string{
				"https://www.googleapis.com/auth/gmail.send",
				"https://www.googleapis.com/auth/gmail.readonly",
				"https://www.googleapis.com/auth/gmail.compose",
				"https://www.googleapis.com/auth/gmail.modify",
			},
			BaseURL: "https://gmail.googleapis.com/gmail/v1",
		},
		{
			ID: "outlook", DisplayName: "Outlook", Category: "email",
			AuthType: AuthOAuth2, OAuthProvider: connectors.ProviderLegacy,
			NangoProvider: "outlook", ProviderConfigKey: "outlook",
			Scopes:  []string{"offline_access", "Mail.Send", "Mail.Read", "Calendars.ReadWrite"},
			BaseURL: "https://graph.microsoft.com/v1.0",
		},
	}
}
