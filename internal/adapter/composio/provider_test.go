package composio_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/automators/connectors/internal/adapter/composio"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/composiofake"
)

// TestFlow: connect, complete the link, Complete, Grant, Proxy, Revoke.
func TestFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	flow, err := e.prov.Connect(ctx, connectors.ConnectRequest{
		Connector: "slack", ProviderConfigKey: "slack", OrganizationID: "acme", UserID: "u/1", State: "st.ate", Nonce: "n1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(flow.AuthorizationURL, e.url+"/link/lt_") || flow.SessionToken != "" || flow.Verifier != "" {
		t.Fatalf("flow = %+v", flow)
	}
	cb, err := e.fake.CompleteLink(flow.AuthorizationURL)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(cb)
	if got := u.Scheme + "://" + u.Host + u.Path; got != "https://api.example.test/api/v1/nango/oauth/slack/callback" {
		t.Errorf("callback %s", got)
	}
	id, status := composio.CallbackAccount(u.Query())
	if u.Query().Get("state") != "st.ate" || status != "success" || !strings.HasPrefix(id, "ca_") {
		t.Fatalf("callback query %v", u.Query())
	}
	acct, _ := e.fake.Account(id)
	if acct.UserID != "acme/u%2F1" || acct.AuthConfigID != acSlack || acct.Status != "ACTIVE" {
		t.Fatalf("account at Composio: %+v", acct)
	}

	g, err := e.prov.Complete(ctx, connectors.CompleteRequest{Connector: "slack", ProviderConfigKey: "slack", OrganizationID: "acme", UserID: "u/1", ConnectionID: id})
	if err != nil {
		t.Fatal(err)
	}
	want := connectors.Grant{ProviderConfigKey: acSlack, ConnectionID: id, Owner: &connectors.Owner{OrganizationID: "acme", UserID: "u/1", ConnectionID: id}, Credentials: connectors.Credentials{ViaProxy: true}}
	if g.ProviderConfigKey != want.ProviderConfigKey || g.ConnectionID != id || *g.Owner != *want.Owner || g.Token != nil || !g.Credentials.ViaProxy ||
		g.Credentials.AccessToken != "" || !g.ExpiresAt.IsZero() {
		t.Fatalf("grant = %+v", g)
	}

	conn := &connectors.Connection{ID: id, OrganizationID: "acme", UserID: "u/1", Connector: "slack", AuthProvider: connectors.ProviderComposio, ProviderConfigKey: acSlack}
	for _, refresh := range []bool{false, true} {
		g, err := e.prov.Grant(ctx, conn, nil, refresh)
		if err != nil || !g.Credentials.ViaProxy || g.Owner.UserID != "u/1" || g.Owner.OrganizationID != "acme" {
			t.Fatalf("Grant(refresh=%v) = %+v, %v", refresh, g, err)
		}
	}
	if n := e.fake.Requests(http.MethodPost, "/api/v3/connected_accounts/"+id+"/refresh"); n != 0 {
		t.Errorf("Grant re-ran the authorization %d times", n)
	}

	st, header, body, err := e.prov.Proxy(conn, connectors.Credentials{}).Proxy(ctx, connectors.ProxyCall{
		Method: "POST", Path: "/api/chat.postMessage", Query: url.Values{"a": {"1 2"}},
		Header: http.Header{"Content-Type": {"application/json"}, "X-Custom": {"v"}, "Authorization": {"Bearer leaked"}},
		Body:   []byte(`{"channel": "C1", "text": "hi"}`),
	})
	if err != nil || st != 200 || string(body) != `{"ok":true}` || header.Get("X-Upstream") != "yes" || header.Get("Content-Type") != "application/json" {
		t.Fatalf("Proxy = %d %v %s %v", st, header, body, err)
	}
	got := e.slack.last(t)
	if got.Method != "POST" || got.Path != "/api/chat.postMessage" || got.RawQuery != "a=1+2" || got.Header.Get("X-Custom") != "v" ||
		got.Header.Get("Authorization") != "Bearer "+acct.AccessToken || got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("upstream got %+v", got)
	}
	var sent map[string]string
	if json.Unmarshal(got.Body, &sent) != nil || sent["channel"] != "C1" || sent["text"] != "hi" {
		t.Errorf("upstream body %s", got.Body)
	}

	detail, err := e.prov.Revoke(ctx, conn, nil)
	if err != nil || detail == "" {
		t.Fatalf("Revoke = %q, %v", detail, err)
	}
	if a, _ := e.fake.Account(id); !a.Deleted {
		t.Error("the account was not deleted at Composio")
	}
	if _, err := e.prov.Grant(ctx, conn, nil, false); code(t, err) != connectors.ENotFound {
		t.Errorf("Grant after Revoke: %v", err)
	}
	// Revoking again is fine: already gone.
	if detail, err := e.prov.Revoke(ctx, conn, nil); err != nil || !strings.Contains(detail, "no such") {
		t.Errorf("second Revoke = %q, %v", detail, err)
	}
}

// TestCompleteRefusesAnotherUsersAccount: an account filed under another
// user, or another organization, or under an id this service does not make,
// is forbidden, whatever its status.
func TestCompleteRefusesAnotherUsersAccount(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	q := e.connect(t, "slack", "acme", "u2", "s")
	theirs, _ := composio.CallbackAccount(q)
	foreign, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: "u1"})
	tricky, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: "acme/u1/x"})
	unescaped, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: "acm%65/u1"})
	expiredTheirs, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: composio.UserID("acme", "u2"), Status: "EXPIRED"})
	for _, tt := range []struct {
		name, org, user, id string
	}{
		{"another user", "acme", "u1", theirs},
		{"another organization", "other", "u2", theirs},
		{"a user id of another form", "acme", "u1", foreign},
		{"an extra part", "acme", "u1", tricky},
		{"a non-canonical escape", "acme", "u1", unescaped},
		{"another user's expired account", "acme", "u1", expiredTheirs},
		{"no owner in the request", "", "", theirs},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.prov.Complete(ctx, connectors.CompleteRequest{Connector: "slack", OrganizationID: tt.org, UserID: tt.user, ConnectionID: tt.id})
			if code(t, err) != connectors.EForbidden {
				t.Errorf("Complete = %v, want forbidden", err)
			}
		})
	}
	// The owner completes it.
	if _, err := e.prov.Complete(ctx, connectors.CompleteRequest{Connector: "slack", OrganizationID: "acme", UserID: "u2", ConnectionID: theirs}); err != nil {
		t.Errorf("the owner's Complete: %v", err)
	}
}

// TestCompleteRefusesUnusableAccounts: nothing but an ACTIVE account of the
// connector's auth config completes a flow.
func TestCompleteRefusesUnusableAccounts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	uid := composio.UserID("acme", "u1")
	complete := func(connector, id string) error {
		_, err := e.prov.Complete(ctx, connectors.CompleteRequest{Connector: connector, OrganizationID: "acme", UserID: "u1", ConnectionID: id})
		return err
	}

	// A link the user has not completed yet: INITIATED.
	link, err := e.client.CreateLink(ctx, composio.LinkRequest{AuthConfigID: acSlack, UserID: uid, CallbackURL: "https://x.test/cb"})
	if err != nil || link.ExpiresAt.IsZero() || !strings.HasPrefix(link.ConnectedAccountID, "ca_") {
		t.Fatalf("CreateLink = %+v, %v", link, err)
	}
	if err := complete("slack", link.ConnectedAccountID); code(t, err) != connectors.EInvalid {
		t.Errorf("pending account: %v", err)
	}
	// A link the user refused: FAILED.
	flow, err := e.prov.Connect(ctx, connectors.ConnectRequest{Connector: "slack", OrganizationID: "acme", UserID: "u1", State: "s"})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := e.fake.FailLink(flow.AuthorizationURL)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(cb)
	failedID, status := composio.CallbackAccount(u.Query())
	if status != "failed" {
		t.Errorf("callback status %q", status)
	}
	if err := complete("slack", failedID); code(t, err) != connectors.EInvalid {
		t.Errorf("failed account: %v", err)
	}

	initiated, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: uid, Status: "INITIATED"})
	expired, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: uid, Status: "EXPIRED"})
	disabled, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: uid})
	_ = e.fake.Disable(disabled)
	gmail, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acGmail, UserID: uid})
	for name, id := range map[string]string{"initiated": initiated, "expired": expired, "disabled": disabled, "another auth config": gmail} {
		if err := complete("slack", id); code(t, err) != connectors.EInvalid {
			t.Errorf("%s account: %v", name, err)
		}
	}

	if err := complete("slack", "ca_nosuchaccount"); code(t, err) != connectors.ENotFound {
		t.Errorf("unknown account: %v", err)
	}
	if err := complete("slack", ""); code(t, err) != connectors.EInvalidState {
		t.Errorf("no account id: %v", err)
	}
	if err := complete("hubspot", gmail); code(t, err) != connectors.ENotConfigured {
		t.Errorf("a connector without auth config: %v", err)
	}
}

// TestGrantStatuses: only ACTIVE is usable; the rest need a reconnect.
func TestGrantStatuses(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	uid := composio.UserID("acme", "u1")
	for _, status := range []string{"EXPIRED", "FAILED", "INACTIVE", "INITIATED", "INITIALIZING"} {
		id, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: uid, Status: status})
		_, err := e.prov.Grant(ctx, &connectors.Connection{ID: id, Connector: "slack"}, nil, false)
		if code(t, err) != connectors.EReauthRequired || !strings.Contains(err.Error(), strings.ToLower(status)) {
			t.Errorf("%s: %v", status, err)
		}
	}
	id, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: uid})
	c := &connectors.Connection{ID: id, Connector: "slack"}
	if _, err := e.prov.Grant(ctx, c, nil, false); err != nil {
		t.Fatal(err)
	}
	_ = e.fake.Expire(id)
	if _, err := e.prov.Grant(ctx, c, nil, true); code(t, err) != connectors.EReauthRequired {
		t.Errorf("expired: %v", err)
	}
	disabled, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: uid})
	_ = e.fake.Disable(disabled)
	if _, err := e.prov.Grant(ctx, &connectors.Connection{ID: disabled}, nil, false); code(t, err) != connectors.EReauthRequired {
		t.Errorf("disabled: %v", err)
	}
	// An account under a user id this service does not make is owned by
	// nobody we know: an empty owner, never nil.
	foreign, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: "someone"})
	g, err := e.prov.Grant(ctx, &connectors.Connection{ID: foreign}, nil, false)
	if err != nil || g.Owner == nil || g.Owner.UserID != "" || g.Owner.OrganizationID != "" {
		t.Errorf("foreign account grant = %+v, %v", g, err)
	}
}

// TestReconnect re-runs the account's authorization: same account, same
// connection id, back at the callback with the new state.
func TestReconnect(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, _ := composio.CallbackAccount(e.connect(t, "slack", "acme", "u1", "s1"))
	_ = e.fake.Expire(id)
	c := &connectors.Connection{ID: id, OrganizationID: "acme", UserID: "u1", Connector: "slack", AuthProvider: connectors.ProviderComposio, ProviderConfigKey: acSlack}
	flow, err := e.prov.Connect(ctx, connectors.ConnectRequest{Connector: "slack", OrganizationID: "acme", UserID: "u1", State: "s2", Reconnect: c})
	if err != nil {
		t.Fatal(err)
	}
	if n := e.fake.Requests(http.MethodPost, "/api/v3/connected_accounts/link"); n != 1 {
		t.Errorf("reconnect created a new link (%d links)", n)
	}
	cb, err := e.fake.CompleteLink(flow.AuthorizationURL)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(cb)
	got, status := composio.CallbackAccount(u.Query())
	if got != id || status != "success" || u.Query().Get("state") != "s2" {
		t.Fatalf("callback %s", cb)
	}
	if _, err := e.prov.Complete(ctx, connectors.CompleteRequest{Connector: "slack", OrganizationID: "acme", UserID: "u1", ConnectionID: id}); err != nil {
		t.Fatal(err)
	}
	_ = e.fake.Delete(id)
	if _, err := e.prov.Connect(ctx, connectors.ConnectRequest{Connector: "slack", OrganizationID: "acme", UserID: "u1", State: "s3", Reconnect: c}); code(t, err) != connectors.ENotFound {
		t.Errorf("reconnect of a deleted account: %v", err)
	}
}

func TestConnectRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if e.prov.Serves("hubspot") || !e.prov.Serves("slack") || !e.prov.Serves("gmail") {
		t.Error("Serves disagrees with the auth configs")
	}
	if _, err := e.prov.Connect(ctx, connectors.ConnectRequest{Connector: "hubspot", OrganizationID: "o", UserID: "u"}); code(t, err) != connectors.ENotConfigured {
		t.Errorf("hubspot: %v", err)
	}
	if _, err := e.prov.Connect(ctx, connectors.ConnectRequest{Connector: "slack", OrganizationID: "", UserID: "u"}); code(t, err) != connectors.EInvalid {
		t.Errorf("no organization: %v", err)
	}
	// An auth config Composio does not know.
	p, _ := composio.NewProvider(e.client, composio.Config{AuthConfigs: map[string]string{"slack": "ac_gone"}, CallbackURL: callbackBase})
	if _, err := p.Connect(ctx, connectors.ConnectRequest{Connector: "slack", OrganizationID: "o", UserID: "u"}); code(t, err) != connectors.ENotFound {
		t.Errorf("unknown auth config: %v", err)
	}
}

func TestNewProviderValidates(t *testing.T) {
	for name, cfg := range map[string]composio.Config{
		"relative callback":   {CallbackURL: "/cb"},
		"no callback":         {},
		"unknown toolkit":     {CallbackURL: callbackBase, AuthConfigs: map[string]string{"notion": "ac_1"}},
		"origin with a path":  {CallbackURL: callbackBase, APIOrigins: map[string]string{"slack": "https://slack.com/api"}},
		"origin not absolute": {CallbackURL: callbackBase, APIOrigins: map[string]string{"slack": "slack.com"}},
	} {
		if _, err := composio.NewProvider(nil, cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	p, err := composio.NewProvider(nil, composio.Config{CallbackURL: callbackBase, Toolkits: map[string]string{"notion": "notion"}, AuthConfigs: map[string]string{"notion": "ac_1", "slack": " "}})
	if err != nil || !p.Serves("notion") || p.Serves("slack") || p.Toolkit("google-sheets") != "googlesheets" {
		t.Errorf("NewProvider = %v, %v", p, err)
	}
	if got := p.CallbackURL("google-sheets", "a&b"); got != "https://api.example.test/api/v1/nango/oauth/google-sheets/callback?state=a%26b" {
		t.Errorf("CallbackURL = %s", got)
	}
	if composio.NotConfigured.Name() != connectors.ProviderComposio {
		t.Error("NotConfigured has another name")
	}
	if _, err := composio.NotConfigured.Connect(context.Background(), connectors.ConnectRequest{}); code(t, err) != connectors.ENotConfigured ||
		!strings.Contains(err.Error(), "composio_api_key is not set") {
		t.Errorf("NotConfigured: %v", err)
	}
}

func TestUserID(t *testing.T) {
	pairs := [][2]string{{"acme", "u1"}, {"o/1", "u"}, {"o", "u/1"}, {"o%2F1", "u"}, {"é", "ü ✓"}, {"a b", "c+d"}, {"o:1", "u@x"}}
	seen := map[string]bool{}
	for _, p := range pairs {
		id := composio.UserID(p[0], p[1])
		if seen[id] {
			t.Errorf("%v collides: %s", p, id)
		}
		seen[id] = true
		org, user, ok := composio.ParseUserID(id)
		if !ok || org != p[0] || user != p[1] {
			t.Errorf("ParseUserID(%q) = %q, %q, %v; want %v", id, org, user, ok, p)
		}
	}
	for _, bad := range []string{"", "acme", "/u", "o/", "a/b/c", "acm%65/u", "o/%zz", "o/u%00", "o%2fx/u"} {
		if _, _, ok := composio.ParseUserID(bad); ok {
			t.Errorf("ParseUserID(%q) accepted", bad)
		}
	}
}
