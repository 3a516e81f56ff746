package composiofake

import (
	"crypto/subtle"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"strings"
	"time"
)

// Handler returns the fake's HTTP handler, for serving it on a listener of
// your own (then call SetPublicURL).
func (s *Server) Handler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("POST /api/v3/connected_accounts/link", s.createLink)
	api.HandleFunc("GET /api/v3/connected_accounts/{nanoid}", s.getAccount)
	api.HandleFunc("DELETE /api/v3/connected_accounts/{nanoid}", s.deleteAccount)
	api.HandleFunc("POST /api/v3/connected_accounts/{nanoid}/refresh", s.refreshAccount)
	api.HandleFunc("POST /api/v3/tools/execute/proxy", s.proxy)
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NotFound", "Cannot "+r.Method+" "+r.URL.Path)
	})

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.counts = append(s.counts, requestRecord{r.Method, r.URL.Path})
		s.mu.Unlock()
		if s.applyFault(w, r) {
			return
		}
		// The hosted link page is what the user's browser opens: no API key.
		if strings.HasPrefix(r.URL.Path, "/link/") {
			s.linkPage(w, r)
			return
		}
		if !s.authorized(w, r) {
			return
		}
		api.ServeHTTP(w, r)
	})
}

// authorized checks the project API key, answering 401 otherwise.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	key := r.Header.Get("x-api-key")
	switch {
	case key == "":
		writeError(w, http.StatusUnauthorized, "Unauthorized", "API key is missing. Pass it in the x-api-key header.")
		return false
	case subtle.ConstantTimeCompare([]byte(key), []byte(s.opts.APIKey)) != 1:
		writeError(w, http.StatusUnauthorized, "Unauthorized", "Invalid API key.")
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers Composio's error shape.
func writeError(w http.ResponseWriter, status int, slug, message string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": message, "code": status, "slug": slug, "status": status, "request_id": "req_" + randomID(10),
	}})
}

// decode reads a JSON object body (an absent body is an empty object).
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "Unreadable body")
		return false
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return true
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "Invalid JSON body")
		return false
	}
	return true
}

func (s *Server) linkURLLocked(token string) string { return s.publicURL + "/link/" + token }

func (s *Server) newLinkLocked(a *account, callback string) *link {
	l := &link{token: "lt_" + randomID(20), accountID: a.id, callback: callback, expires: s.opts.Now().Add(s.opts.LinkTTL)}
	s.links[l.token] = l
	return l
}

func (s *Server) createLink(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AuthConfigID string `json:"auth_config_id"`
		UserID       string `json:"user_id"`
		CallbackURL  string `json:"callback_url"`
	}
	if !decode(w, r, &in) {
		return
	}
	if in.AuthConfigID == "" || in.UserID == "" {
		writeError(w, http.StatusBadRequest, "BadRequest", "auth_config_id and user_id are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ac := s.authConfigs[in.AuthConfigID]
	switch {
	case ac == nil:
		writeError(w, http.StatusNotFound, "AuthConfig_NotFound", "Auth config not found")
		return
	case ac.Disabled:
		writeError(w, http.StatusBadRequest, "AuthConfig_Disabled", "Auth config is disabled")
		return
	}
	a := s.newAccountLocked(ac, in.UserID)
	a.status = StatusInitiated
	l := s.newLinkLocked(a, in.CallbackURL)
	writeJSON(w, http.StatusCreated, map[string]any{
		"link_token": l.token, "redirect_url": s.linkURLLocked(l.token),
		"expires_at": l.expires.UTC().Format(time.RFC3339Nano), "connected_account_id": a.id,
	})
}

// liveAccountLocked is the account named by the path, or nil after a 404.
func (s *Server) liveAccountLocked(w http.ResponseWriter, r *http.Request) *account {
	a := s.accounts[r.PathValue("nanoid")]
	if a == nil || a.deleted {
		writeError(w, http.StatusNotFound, "ConnectedAccount_NotFound", "Connected account not found")
		return nil
	}
	return a
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.liveAccountLocked(w, r)
	if a == nil {
		return
	}
	writeJSON(w, http.StatusOK, s.accountJSONLocked(a))
}

func (s *Server) deleteAccount(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.liveAccountLocked(w, r)
	if a == nil {
		return
	}
	a.deleted = true
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

// refreshAccount re-runs an account's authentication: an OAuth 2 account
// becomes INITIATED with a new link page that returns to redirect_url;
// other schemes are re-validated at once and stay ACTIVE.
func (s *Server) refreshAccount(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RedirectURL string `json:"redirect_url"`
	}
	if !decode(w, r, &in) {
		return
	}
	if q := r.URL.Query().Get("redirect_url"); q != "" {
		in.RedirectURL = q
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.liveAccountLocked(w, r)
	if a == nil {
		return
	}
	a.updated = s.opts.Now()
	if a.scheme != "OAUTH2" {
		a.status = StatusActive
		writeJSON(w, http.StatusOK, map[string]any{"id": a.id, "status": a.status, "redirect_url": nil})
		return
	}
	a.status = StatusInitiated
	a.statusReason = nil
	l := s.newLinkLocked(a, in.RedirectURL)
	writeJSON(w, http.StatusOK, map[string]any{"id": a.id, "status": a.status, "redirect_url": s.linkURLLocked(l.token)})
}

// accountJSONLocked is a connected account as GET answers it. Its state
// carries the credentials the document requires, masked as Composio masks
// them by default.
func (s *Server) accountJSONLocked(a *account) map[string]any {
	ac := s.authConfigs[a.authConfig]
	acDisabled := ac != nil && ac.Disabled
	val := map[string]any{"status": a.status}
	if a.scheme == "OAUTH2" {
		switch a.status {
		case StatusActive, StatusInactive:
			val["access_token"] = mask(a.accessToken)
			val["token_type"] = "Bearer"
		case StatusInitiated:
			val["redirectUrl"] = s.publicURL + "/link/"
			for _, l := range s.links {
				if l.accountID == a.id && !l.used {
					val["redirectUrl"] = s.linkURLLocked(l.token)
				}
			}
		case StatusFailed:
			if a.statusReason != nil {
				val["error"] = *a.statusReason
			}
		case StatusExpired:
			val["expired_at"] = a.updated.UTC().Format(time.RFC3339)
		}
	}
	var reason any
	if a.statusReason != nil {
		reason = *a.statusReason
	}
	return map[string]any{
		"id":      a.id,
		"user_id": a.userID,
		"status":  a.status,
		"toolkit": map[string]any{"slug": a.toolkit},
		"auth_config": map[string]any{
			"id": a.authConfig, "auth_scheme": a.scheme, "is_composio_managed": true, "is_disabled": acDisabled,
		},
		"created_at":    a.created.UTC().Format(time.RFC3339Nano),
		"updated_at":    a.updated.UTC().Format(time.RFC3339Nano),
		"state":         map[string]any{"authScheme": a.scheme, "val": val},
		"data":          map[string]any{},
		"params":        map[string]any{},
		"status_reason": reason,
		"is_disabled":   a.disabled,
	}
}

func mask(token string) string {
	if len(token) <= 4 {
		return "****"
	}
	return token[:4] + strings.Repeat("*", 8)
}

var linkTemplate = template.Must(template.New("link").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Connect {{.Toolkit}} (Composio sandbox)</title></head>
<body style="font-family:system-ui;max-width:32rem;margin:4rem auto">
<h1>Connect {{.Toolkit}}</h1>
<p>Composio sandbox: no account is asked for. Connecting makes connected account <code>{{.Account}}</code> active.</p>
<form method="post"><button name="action" value="allow" id="allow">Connect</button>
<button name="action" value="deny" id="deny">Cancel</button></form>
</body></html>`))

// linkPage is the hosted Connect Link: GET shows it, POST (action=allow or
// deny) completes or fails it and sends the browser to the callback.
func (s *Server) linkPage(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.URL.Path, "/link/")
	switch r.Method {
	case http.MethodGet:
		s.mu.Lock()
		l := s.links[token]
		var toolkit, id string
		if l != nil {
			id = l.accountID
			if a := s.accounts[id]; a != nil {
				toolkit = a.toolkit
			}
		}
		s.mu.Unlock()
		if l == nil || l.used {
			http.Error(w, "This link is invalid or was already used.", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = linkTemplate.Execute(w, struct{ Toolkit, Account string }{toolkit, id})
	case http.MethodPost:
		_ = r.ParseForm()
		var (
			to  string
			err error
		)
		if r.PostForm.Get("action") == "deny" {
			to, err = s.FailLink(token)
		} else {
			to, err = s.CompleteLink(token)
		}
		switch {
		case err != nil:
			http.Error(w, "This link is invalid, expired or was already used.", http.StatusNotFound)
		case to != "":
			http.Redirect(w, r, to, http.StatusSeeOther)
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<!doctype html><p>Done. You can close this window.</p>")
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
