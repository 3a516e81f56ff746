// Package oauthtest is a fake OAuth 2.0 authorization server on loopback
// standing in for Google's (the built-in OAuth of gmail, through
// internal/adapter/legacyoauth and golang.org/x/oauth2): authorization codes with
// PKCE (S256), refresh with optional rotation, revocation, failure
// injection and counters.
//
// The consent screen is not served: the authorization URL keeps Google's
// address, and a test plays the user's consent with Server.Authorize, which
// returns the code Google would redirect back with.
//
// Only tests import this package.
package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/endpoints"

	"github.com/automators/connectors/internal/adapter/legacyoauth"
	"github.com/automators/connectors/internal/connectors"
)

// Prefixes of what the server issues, as Google's look. Options.Marker
// follows the prefix.
const (
	AccessPrefix  = "ya29."
	RefreshPrefix = "1//"
	CodePrefix    = "4/"
)

// Options configure a Server.
type Options struct {
	// ClientID and ClientSecret are the one client the server knows: a
	// token request with other credentials is refused (401 invalid_client).
	ClientID, ClientSecret string
	// Marker is put after the prefix of every code and token issued, so
	// that a test can search answers, logs and stored bytes for it.
	Marker string
	// TTL is the lifetime of an issued access token; default 3599 s.
	TTL time.Duration
	// Rotate makes each refresh issue a new refresh token and refuse the
	// one used from then on (invalid_grant), as Google does with rotation
	// on. Without it a refresh answers no refresh token and the old one
	// stays good.
	Rotate bool
}

// Stats counts what the server saw.
type Stats struct {
	TokenRequests int // requests to the token endpoint, failed ones included
	Exchanges     int // of which authorization_code grants
	Refreshes     int // of which refresh_token grants
	Rotations     int // refresh tokens rotated (by a refresh, or Refresh)
	Refused       int // refresh grants answered invalid_grant
	Revocations   int // requests to the revocation endpoint
}

// Server is the fake authorization server. Its methods are safe for
// concurrent use.
type Server struct {
	opts Options
	url  string

	mu        sync.Mutex
	consents  map[string]consent // authorization code -> consent, until exchanged
	valid     map[string]bool    // refresh tokens accepted
	family    map[string]string  // refresh token -> first refresh token of its family
	perFamily map[string]int     // refresh requests per family
	stats     Stats
	requests  []url.Values // form of every token request
	issued    []string     // every code and token issued
	last      connectors.Token

	failing      int // answer this many next token requests with failStatus; < 0: all
	failStatus   int
	revokeStatus int // answer revocations with it; 0: 200
	latency      time.Duration
	onRefresh    func(refreshToken string)
}

// consent is what the user agreed to at the authorization step.
type consent struct{ clientID, redirectURI, challenge string }

// New starts a server, closed when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.TTL == 0 {
		opts.TTL = 3599 * time.Second
	}
	s := &Server{
		opts:      opts,
		consents:  map[string]consent{},
		valid:     map[string]bool{},
		family:    map[string]string{},
		perFamily: map[string]int{},
	}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.url }

// Endpoint is the server as an x/oauth2 endpoint: Google's authorization URL
// (see the package comment), the server's token endpoint, client
// credentials in the form body.
func (s *Server) Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{AuthURL: endpoints.Google.AuthURL, TokenURL: s.url + "/token", AuthStyle: oauth2.AuthStyleInParams}
}

// GoogleProvider is legacyoauth's Google provider for the server's client,
// its token and revocation endpoints the server's.
func (s *Server) GoogleProvider(redirectURL string) *legacyoauth.Provider {
	p := legacyoauth.Google(s.opts.ClientID, s.opts.ClientSecret, redirectURL)
	p.Config.Endpoint = s.Endpoint()
	p.RevokeURL = s.url + "/revoke"
	return p
}

// Authorize plays the user consenting at Google for authorizationURL: it
// records the client, redirect URI and PKCE challenge, and returns the code
// and state Google redirects back with. The URL must carry an S256
// challenge.
func (s *Server) Authorize(t testing.TB, authorizationURL string) (code, state string) {
	t.Helper()
	u, err := url.Parse(authorizationURL)
	if err != nil {
		t.Fatalf("oauthtest: authorization URL: %v", err)
	}
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		t.Fatalf("oauthtest: authorization URL without PKCE (S256): %s", authorizationURL)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	code = s.newToken(CodePrefix)
	s.consents[code] = consent{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge")}
	return code, q.Get("state")
}

// Issue returns a token the server issued earlier, for seeding a stored
// connection: its access token expires at expiry (to the second) and the
// server accepts its refresh token.
func (s *Server) Issue(expiry time.Time) connectors.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := connectors.Token{AccessToken: s.newToken(AccessPrefix), TokenType: "Bearer", Expiry: expiry.Round(time.Second)}
	tok.RefreshToken = s.newToken(RefreshPrefix)
	s.acceptLocked(tok.RefreshToken)
	return tok
}

// Accept makes the server accept refreshToken, a token the test made up, as
// if it had issued it.
func (s *Server) Accept(refreshToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acceptLocked(refreshToken)
}

func (s *Server) acceptLocked(rt string) {
	s.valid[rt] = true
	s.family[rt] = rt
}

// Refresh uses refreshToken as a client would, but outside HTTP: how a test
// plays another client whose refresh reached the server first. It counts a
// rotation, not a refresh request; false when the token is refused.
func (s *Server) Refresh(refreshToken string) (connectors.Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, _, ok := s.refreshLocked(refreshToken)
	return tok, ok
}

// Revoke refuses every refresh token of refreshToken's family (it and those
// rotated from it) from now on.
func (s *Server) Revoke(refreshToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fam := s.family[refreshToken]
	for rt := range s.valid {
		if s.family[rt] == fam {
			delete(s.valid, rt)
		}
	}
}

// RevokeAll refuses every refresh token issued so far.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.valid)
}

// FailTokenRequests answers the next n token requests with status instead
// of serving them; n < 0 answers every one until the next call
// (FailTokenRequests(0, 0) serves again).
func (s *Server) FailTokenRequests(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing, s.failStatus = n, status
}

// FailRevocations answers revocations with status; 0 answers 200 again.
func (s *Server) FailRevocations(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeStatus = status
}

// SetLatency delays the answer of every token request by d.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// OnRefresh runs fn on every refresh request, once counted and before it is
// judged, without the server's lock held (fn may call the server).
func (s *Server) OnRefresh(fn func(refreshToken string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRefresh = fn
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// FamilyRefreshes returns the refresh requests per refresh token family,
// keyed by the family's first refresh token ("" for unknown tokens).
func (s *Server) FamilyRefreshes() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.perFamily)
}

// Requests returns the form of every token request, in order.
func (s *Server) Requests() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Last returns the last token the server granted (by a code, a refresh or
// Refresh).
func (s *Server) Last() connectors.Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Issued returns every code and token the server issued, for leak audits.
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.ParseForm() != nil {
		http.NotFound(w, r)
		return
	}
	switch r.URL.Path {
	case "/token":
		s.token(w, r.PostForm)
	case "/revoke":
		s.mu.Lock()
		s.stats.Revocations++
		status := s.revokeStatus
		s.mu.Unlock()
		if status != 0 {
			http.Error(w, http.StatusText(status), status)
		}
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) token(w http.ResponseWriter, form url.Values) {
	grant, rt := form.Get("grant_type"), form.Get("refresh_token")
	s.mu.Lock()
	s.requests = append(s.requests, form)
	s.stats.TokenRequests++
	switch grant {
	case "authorization_code":
		s.stats.Exchanges++
	case "refresh_token":
		s.stats.Refreshes++
		s.perFamily[s.family[rt]]++
	}
	failing, status := s.failing != 0, s.failStatus
	if s.failing > 0 {
		s.failing--
	}
	latency, hook := s.latency, s.onRefresh
	s.mu.Unlock()

	if hook != nil && grant == "refresh_token" {
		hook(rt)
	}
	time.Sleep(latency)
	if failing {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if form.Get("client_id") != s.opts.ClientID || form.Get("client_secret") != s.opts.ClientSecret {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	var (
		tok         connectors.Token
		withRefresh bool
		ok          bool
	)
	s.mu.Lock()
	switch grant {
	case "authorization_code":
		tok, ok = s.exchangeLocked(form)
		withRefresh = true
	case "refresh_token":
		tok, withRefresh, ok = s.refreshLocked(rt)
		if !ok {
			s.stats.Refused++
		}
	default:
		s.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	}
	s.mu.Unlock()
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	body := map[string]any{"access_token": tok.AccessToken, "token_type": tok.TokenType, "expires_in": int(s.opts.TTL.Seconds())}
	if withRefresh {
		body["refresh_token"] = tok.RefreshToken
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(body)
}

// exchangeLocked trades a code, once, for a token with a new refresh token
// family: the client and redirect URI must be the consent's and the PKCE
// verifier must match its challenge.
func (s *Server) exchangeLocked(form url.Values) (connectors.Token, bool) {
	code, verifier := form.Get("code"), form.Get("code_verifier")
	c, ok := s.consents[code]
	delete(s.consents, code)
	sum := sha256.Sum256([]byte(verifier))
	if !ok || verifier == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge ||
		form.Get("client_id") != c.clientID || form.Get("redirect_uri") != c.redirectURI {
		return connectors.Token{}, false
	}
	tok := s.grantLocked()
	tok.RefreshToken = s.newToken(RefreshPrefix)
	s.acceptLocked(tok.RefreshToken)
	s.last = tok
	return tok, true
}

// refreshLocked grants a token for refresh token rt, rotating it when the
// server rotates; rotated tells whether the token carries a new refresh token.
func (s *Server) refreshLocked(rt string) (tok connectors.Token, rotated, ok bool) {
	if !s.valid[rt] {
		return connectors.Token{}, false, false
	}
	tok = s.grantLocked()
	tok.RefreshToken = rt
	if s.opts.Rotate {
		delete(s.valid, rt)
		tok.RefreshToken = s.newToken(RefreshPrefix)
		s.valid[tok.RefreshToken] = true
		s.family[tok.RefreshToken] = s.family[rt]
		s.stats.Rotations++
	}
	s.last = tok
	return tok, s.opts.Rotate, true
}

// grantLocked makes a new access token.
func (s *Server) grantLocked() connectors.Token {
	return connectors.Token{AccessToken: s.newToken(AccessPrefix), TokenType: "Bearer", Expiry: time.Now().Add(s.opts.TTL)}
}

// newToken returns a fresh code or token with prefix, recorded as issued.
func (s *Server) newToken(prefix string) string {
	v := prefix + s.opts.Marker + rand.Text()
	s.issued = append(s.issued, v)
	return v
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q}`, code)
}
