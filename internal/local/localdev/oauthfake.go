package localdev

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// oauthSandbox is an offline stand-in for Google's and Microsoft's OAuth 2.0
// authorization servers, for Gmail and Outlook (the built-in OAuth) under
// `make run`. The consent screen completes at once: it redirects back to the
// callback with a code, as the provider does after the user agrees.
//
// Its authorization endpoint is reached by the browser (the authorize
// answer's URL is rewritten to it); its token endpoint by the local API,
// whose HTTP client sends Google's and Microsoft's OAuth hosts here (see
// rewriteTransport), so the built-in OAuth code runs unchanged.
type oauthSandbox struct {
	ts          *httptest.Server
	clients     map[string]string // client id -> secret, per provider prefix
	redirectPfx string            // redirect_uri must start with it

	mu    sync.Mutex
	codes map[string]pendingCode
}

type pendingCode struct {
	provider, clientID, redirectURI, challenge, scope string
	expires                                           time.Time
}

// Prefixes of what the sandbox issues, so that a log or a record shows at
// once that a token is a sandbox one.
const (
	sandboxCodePrefix    = "sandbox-code-"
	sandboxAccessPrefix  = "sandbox-access-"
	sandboxRefreshPrefix = "sandbox-refresh-"
)

// oauthHosts maps each real OAuth host to the sandbox path prefix standing in
// for it.
var oauthHosts = map[string]string{
	"accounts.google.com":       "/google",
	"oauth2.googleapis.com":     "/google",
	"login.microsoftonline.com": "/microsoft",
}

func newOAuthSandbox(clients map[string]string, redirectPrefix string) *oauthSandbox {
	o := &oauthSandbox{clients: clients, redirectPfx: redirectPrefix, codes: map[string]pendingCode{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /google/o/oauth2/auth", o.authorize("google"))
	mux.HandleFunc("GET /microsoft/common/oauth2/v2.0/authorize", o.authorize("microsoft"))
	mux.HandleFunc("POST /google/token", o.token("google"))
	mux.HandleFunc("POST /microsoft/common/oauth2/v2.0/token", o.token("microsoft"))
	mux.HandleFunc("POST /google/revoke", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	o.ts = httptest.NewServer(mux)
	return o
}

func (o *oauthSandbox) URL() string { return o.ts.URL }
func (o *oauthSandbox) Close()      { o.ts.Close() }

// authorize plays the consent screen: it checks the request as the provider
// does, then redirects to redirect_uri with a code and the state.
func (o *oauthSandbox) authorize(provider string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		clientID, redirect := q.Get("client_id"), q.Get("redirect_uri")
		switch {
		case o.clients[provider+":"+clientID] == "":
			http.Error(w, "sandbox OAuth: unknown client_id", http.StatusBadRequest)
			return
		case !strings.HasPrefix(redirect, o.redirectPfx):
			http.Error(w, "sandbox OAuth: redirect_uri is not the local API's callback", http.StatusBadRequest)
			return
		case q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
			http.Error(w, "sandbox OAuth: response_type=code with a S256 code_challenge is required", http.StatusBadRequest)
			return
		}
		code := sandboxCodePrefix + randomHex(16)
		o.mu.Lock()
		o.codes[code] = pendingCode{provider: provider, clientID: clientID, redirectURI: redirect,
			challenge: q.Get("code_challenge"), scope: q.Get("scope"), expires: time.Now().Add(10 * time.Minute)}
		o.mu.Unlock()
		u, err := url.Parse(redirect)
		if err != nil {
			http.Error(w, "sandbox OAuth: bad redirect_uri", http.StatusBadRequest)
			return
		}
		back := u.Query()
		back.Set("code", code)
		back.Set("state", q.Get("state"))
		u.RawQuery = back.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
}

// token answers the token endpoint: authorization_code (PKCE checked, single
// use) and refresh_token (any sandbox refresh token: they stay valid across
// restarts, as the records in .local do).
func (o *oauthSandbox) token(provider string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			oauthError(w, "invalid_request", err.Error())
			return
		}
		f := r.PostForm
		secret := o.clients[provider+":"+f.Get("client_id")]
		if secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(f.Get("client_secret"))) != 1 {
			oauthError(w, "invalid_client", "unknown client or wrong secret")
			return
		}
		scope := ""
		switch f.Get("grant_type") {
		case "authorization_code":
			o.mu.Lock()
			pc, ok := o.codes[f.Get("code")]
			delete(o.codes, f.Get("code"))
			o.mu.Unlock()
			sum := sha256.Sum256([]byte(f.Get("code_verifier")))
			if !ok || pc.provider != provider || pc.clientID != f.Get("client_id") || pc.redirectURI != f.Get("redirect_uri") ||
				time.Now().After(pc.expires) || base64.RawURLEncoding.EncodeToString(sum[:]) != pc.challenge {
				oauthError(w, "invalid_grant", "bad, used or expired code, or wrong code_verifier")
				return
			}
			scope = pc.scope
		case "refresh_token":
			if !strings.HasPrefix(f.Get("refresh_token"), sandboxRefreshPrefix) {
				oauthError(w, "invalid_grant", "not a sandbox refresh token")
				return
			}
		default:
			oauthError(w, "unsupported_grant_type", f.Get("grant_type"))
			return
		}
		out := map[string]any{"access_token": sandboxAccessPrefix + randomHex(16), "token_type": "Bearer", "expires_in": 3599, "scope": scope}
		if f.Get("grant_type") == "authorization_code" {
			out["refresh_token"] = sandboxRefreshPrefix + randomHex(16)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(out)
	}
}

func oauthError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// rewriteURL points a Google or Microsoft OAuth URL at the sandbox; other
// URLs are returned unchanged.
func (o *oauthSandbox) rewriteURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || oauthHosts[u.Host] == "" {
		return raw
	}
	base, _ := url.Parse(o.ts.URL)
	u.Path = oauthHosts[u.Host] + u.Path
	u.Scheme, u.Host = base.Scheme, base.Host
	return u.String()
}

// rewriteTransport sends requests for Google's and Microsoft's OAuth hosts
// to the sandbox, and every other request on unchanged.
type rewriteTransport struct {
	sandbox *oauthSandbox
	base    http.RoundTripper
}

func (t rewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if oauthHosts[req.URL.Host] == "" {
		return t.base.RoundTrip(req)
	}
	u, _ := url.Parse(t.sandbox.rewriteURL(req.URL.String()))
	r := req.Clone(req.Context())
	r.URL, r.Host = u, u.Host
	return t.base.RoundTrip(r)
}
