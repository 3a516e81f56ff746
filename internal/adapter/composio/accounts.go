package composio

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Connected account statuses (the document's enum; REVOKED is not in it but
// Composio's SDKs name it).
const (
	StatusInitializing = "INITIALIZING"
	StatusInitiated    = "INITIATED"
	StatusActive       = "ACTIVE"
	StatusFailed       = "FAILED"
	StatusExpired      = "EXPIRED"
	StatusInactive     = "INACTIVE"
	StatusRevoked      = "REVOKED"
)

// LinkRequest asks for a Connect Link: a hosted page where the user connects
// an account of the auth config's toolkit.
type LinkRequest struct {
	AuthConfigID string // ac_...
	UserID       string // Composio's user id (see UserID)
	// CallbackURL is where Composio sends the user back when done. Composio
	// appends status (success or failed) and connected_account_id to its
	// query.
	CallbackURL string
}

// Link is a created Connect Link.
type Link struct {
	Token              string    // link_token
	RedirectURL        string    // where to send the user
	ExpiresAt          time.Time // zero when Composio's value does not parse
	ConnectedAccountID string    // the account the link completes (ca_...)
}

// CreateLink creates a Connect Link (POST /api/v3/connected_accounts/link).
// It is not retried.
func (c *Client) CreateLink(ctx context.Context, in LinkRequest) (*Link, error) {
	body := struct {
		AuthConfigID string `json:"auth_config_id"`
		UserID       string `json:"user_id"`
		CallbackURL  string `json:"callback_url,omitempty"`
	}{in.AuthConfigID, in.UserID, in.CallbackURL}
	var out struct {
		LinkToken          string `json:"link_token"`
		RedirectURL        string `json:"redirect_url"`
		ExpiresAt          string `json:"expires_at"`
		ConnectedAccountID string `json:"connected_account_id"`
	}
	r := &request{method: http.MethodPost, path: "/api/v3/connected_accounts/link", op: "POST /api/v3/connected_accounts/link"}
	if err := c.doJSON(ctx, r, body, &out); err != nil {
		return nil, err
	}
	if out.RedirectURL == "" {
		return nil, &DecodeError{Op: r.op, Err: errMissing("redirect_url")}
	}
	return &Link{Token: out.LinkToken, RedirectURL: out.RedirectURL, ExpiresAt: parseTime(out.ExpiresAt), ConnectedAccountID: out.ConnectedAccountID}, nil
}

// ConnectedAccount is a connected account as GET answers it, without its
// state (which holds credentials this service never reads).
type ConnectedAccount struct {
	ID           string `json:"id"`
	UserID       string `json:"user_id"`
	Status       string `json:"status"`
	StatusReason string `json:"status_reason"`
	IsDisabled   bool   `json:"is_disabled"`
	Toolkit      struct {
		Slug string `json:"slug"`
	} `json:"toolkit"`
	AuthConfig struct {
		ID         string `json:"id"`
		AuthScheme string `json:"auth_scheme"`
		IsDisabled bool   `json:"is_disabled"`
	} `json:"auth_config"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// Usable reports whether Composio can send requests with the account: it is
// ACTIVE and neither it nor its auth config is disabled.
func (a *ConnectedAccount) Usable() bool {
	return a.Status == StatusActive && !a.IsDisabled && !a.AuthConfig.IsDisabled
}

func accountPath(id string) string { return "/api/v3/connected_accounts/" + url.PathEscape(id) }

// GetConnectedAccount reads a connected account
// (GET /api/v3/connected_accounts/{nanoid}).
func (c *Client) GetConnectedAccount(ctx context.Context, id string) (*ConnectedAccount, error) {
	var out ConnectedAccount
	r := &request{method: http.MethodGet, path: accountPath(id), op: "GET /api/v3/connected_accounts/{nanoid}", retry: true}
	if err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	if out.ID == "" || out.Status == "" {
		return nil, &DecodeError{Op: r.op, Err: errMissing("id or status")}
	}
	return &out, nil
}

// DeleteConnectedAccount deletes a connected account
// (DELETE /api/v3/connected_accounts/{nanoid}); Composio keeps the record,
// unusable. One already deleted answers not-found (IsNotFound).
func (c *Client) DeleteConnectedAccount(ctx context.Context, id string) error {
	r := &request{method: http.MethodDelete, path: accountPath(id), op: "DELETE /api/v3/connected_accounts/{nanoid}", retry: true}
	return c.do(ctx, r, nil)
}

// Reauthorization is what re-running an account's authentication answered.
type Reauthorization struct {
	ID     string
	Status string
	// RedirectURL is where to send the user to authorize again; "" when
	// Composio re-authenticated without the user (non-OAuth schemes).
	RedirectURL string
}

// Reauthorize re-runs a connected account's authentication
// (POST /api/v3/connected_accounts/{nanoid}/refresh): for OAuth it answers
// a new redirect URL, and the account is INITIATED until the user completes
// it there; redirectURL is where Composio then sends the user (it appends
// status and connected_account_id, as for a link). It is not retried.
func (c *Client) Reauthorize(ctx context.Context, id, redirectURL string) (*Reauthorization, error) {
	body := struct {
		RedirectURL string `json:"redirect_url,omitempty"`
	}{redirectURL}
	var out struct {
		ID          string  `json:"id"`
		Status      string  `json:"status"`
		RedirectURL *string `json:"redirect_url"`
	}
	r := &request{method: http.MethodPost, path: accountPath(id) + "/refresh", op: "POST /api/v3/connected_accounts/{nanoid}/refresh"}
	if err := c.doJSON(ctx, r, body, &out); err != nil {
		return nil, err
	}
	ra := &Reauthorization{ID: out.ID, Status: out.Status}
	if out.RedirectURL != nil {
		ra.RedirectURL = *out.RedirectURL
	}
	return ra, nil
}

type errMissing string

func (e errMissing) Error() string { return "the answer lacks " + string(e) }

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t
}
