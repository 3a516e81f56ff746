package nango_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/automators/connectors/internal/adapter/nango"
)

// The tests in this file each pin one difference found by running Nango's
// official Node SDK against the fake next to this client (issue 17): the
// fake now answers as Nango does, and the client asks as the SDK does.

func TestListConnectionsFilters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sheets := e.connect(t, "google-sheets", map[string]string{"end_user_id": "u1", "organization_id": "o1"})
	slack := e.connect(t, "slack", map[string]string{"end_user_id": "u1", "organization_id": "o1"})
	endUser, err := e.client.CreateConnectSession(ctx, nango.ConnectSessionRequest{
		AllowedIntegrations: []string{"slack"},
		EndUser:             &nango.EndUser{ID: "legacy-user", Email: "Ada@Example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	legacy, err := e.fake.CompleteSession(endUser.Token)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		p    nango.ListConnectionsParams
		want []string
	}{
		// Filtered by Nango, so a page of one is the integration's first
		// connection, not an empty page.
		{"integration with limit 1", nango.ListConnectionsParams{Integration: "slack", Limit: 1}, []string{slack}},
		{"integration", nango.ListConnectionsParams{Integration: "google-sheets"}, []string{sheets}},
		{"mixed-case tag keys", nango.ListConnectionsParams{Tags: map[string]string{"End_User_ID": "u1", "ORGANIZATION_ID": "o1"}}, []string{sheets, slack}},
		{"search by end user email", nango.ListConnectionsParams{Search: "ada@example"}, []string{legacy}},
		{"search by connection id", nango.ListConnectionsParams{Search: slack[:8]}, []string{slack}},
		// The deprecated end_user is copied into the end_user_id tag.
		{"end_user as tag", nango.ListConnectionsParams{Tags: map[string]string{"end_user_id": "legacy-user"}}, []string{legacy}},
		{"end user organization", nango.ListConnectionsParams{EndUserOrganizationID: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.client.ListConnections(ctx, tt.p)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range got {
				ids = append(ids, c.ConnectionID)
			}
			if len(ids) != len(tt.want) {
				t.Fatalf("got %v, want %v", ids, tt.want)
			}
			for i := range ids {
				if ids[i] != tt.want[i] {
					t.Fatalf("got %v, want %v", ids, tt.want)
				}
			}
		})
	}
}

func TestGetIntegration(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		key          string
		wantProvider string
		wantNotFound bool
	}{
		{"slack", "slack", false},
		{"google-sheets", "google-sheet", false},
		{"nope", "", true},
	}
	for _, tt := range tests {
		in, err := e.client.GetIntegration(context.Background(), tt.key)
		if tt.wantNotFound {
			if !nango.IsNotFound(err) {
				t.Errorf("%s: %v, want not found", tt.key, err)
			}
			continue
		}
		if err != nil || in.Provider != tt.wantProvider || in.Logo == "" || !in.ForwardWebhooks || in.CreatedAt.IsZero() {
			t.Errorf("%s: %+v, %v", tt.key, in, err)
		}
	}
}

func TestForcedRefreshAfterFailureSkipsBackoff(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.connect(t, "slack", nil)
	e.fake.FailRefresh(id)
	steps := []struct {
		force      bool
		wantStatus int
	}{
		{true, http.StatusBadRequest},  // the provider refuses
		{true, http.StatusBadRequest},  // forced: tried again, not backed off
		{false, http.StatusBadRequest}, // token still valid: no refresh at all... see below
		{true, http.StatusBadRequest},  // forced again
	}
	for i, s := range steps {
		_, err := e.client.GetConnection(ctx, "slack", id, nango.GetConnectionOptions{ForceRefresh: s.force})
		if !s.force {
			// A read of a connection whose token has not expired does not
			// refresh: it answers the connection.
			if err != nil {
				t.Errorf("step %d: unforced read of a valid token: %v", i, err)
			}
			continue
		}
		var ae *nango.APIError
		if !errors.As(err, &ae) || ae.Status != s.wantStatus || !nango.IsRefreshFailure(err) {
			t.Errorf("step %d: %v, want %d invalid_credentials", i, err, s.wantStatus)
		}
	}
	// An expired token read without force is backed off: 424.
	e.fake.ExpireToken(id)
	_, err := e.client.GetConnection(ctx, "slack", id, nango.GetConnectionOptions{})
	var ae *nango.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusFailedDependency {
		t.Errorf("unforced refresh after failures: %v, want 424", err)
	}
}

func TestLegacySignatureUsesSigningKey(t *testing.T) {
	e := newEnv(t)
	got := make(chan [2]string, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sum := sha256.Sum256(append([]byte(signingKey), body...))
		got <- [2]string{r.Header.Get(nango.HeaderLegacySignature), hex.EncodeToString(sum[:])}
	}))
	defer recv.Close()
	resp, err := e.fake.SendAuthWebhook(context.Background(), recv.URL, nango.AuthWebhook{Operation: nango.OperationCreation, Success: true, ConnectionID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if sig := <-got; sig[0] != sig[1] {
		t.Errorf("X-Nango-Signature = %s, want sha256(signing key + body) = %s", sig[0], sig[1])
	}
}

func TestSecretKeyFormat(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		key, wantCode string
	}{
		{"not-a-uuid", "invalid_secret_key_format"},
		{"00000000-0000-4000-8000-000000000000", "unknown_account"},
	}
	for _, tt := range tests {
		c := nango.New(e.url, tt.key, nango.WithHTTPClient(&http.Client{Transport: e.v}), nango.WithMaxRetries(0))
		_, err := c.ListIntegrations(context.Background())
		var ae *nango.APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || ae.Code != tt.wantCode {
			t.Errorf("key %q: %v, want 401 %s", tt.key, err, tt.wantCode)
		}
	}
}
