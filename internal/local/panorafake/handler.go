package panorafake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
)

var errUnknownLink = errors.New("panorafake: no such magic link")

// ConnectPath is where the magic-link page is served.
const ConnectPath = "/connect"

// Handler is the fake's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /linked_users", s.apiKey(s.createLinkedUser))
	mux.HandleFunc("GET /linked_users", s.apiKey(s.listLinkedUsers))
	mux.HandleFunc("GET /linked_users/fromRemoteId", s.apiKey(s.linkedUserFromRemoteID))
	mux.HandleFunc("GET /linked_users/{id}", s.apiKey(s.getLinkedUser))
	mux.HandleFunc("POST /magic_links", s.createMagicLink)
	mux.HandleFunc("GET /magic_links/{id}", s.getMagicLink)
	mux.HandleFunc("GET /connections", s.apiKey(s.listConnections))
	mux.HandleFunc("POST /passthrough", s.apiKey(s.passthrough))
	mux.HandleFunc("GET /passthrough/{retryId}", s.apiKey(s.retriedResponse))
	mux.HandleFunc("POST /webhooks/verifyEvent", s.apiKey(s.verifyEvent))
	mux.HandleFunc("GET "+ConnectPath+"/", s.page)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, http.StatusNotFound, "Cannot "+r.Method+" "+r.URL.Path)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.counts = append(s.counts, requestRecord{r.Method, r.URL.Path})
		s.mu.Unlock()
		if s.applyFault(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// writeJSON answers v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeNothing is NestJS's answer for a handler that returns null: 200, no
// body, no content type.
func writeNothing(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }

// writeError answers as Panora's global exception filter does
// (packages/api/src/@core/utils/exception.filter.ts): statusCode,
// timestamp, the request's path and the exception's message.
func writeError(w http.ResponseWriter, r *http.Request, status int, message string) {
	writeJSON(w, status, map[string]any{
		"statusCode": status, "timestamp": isoTime(time.Now()), "path": r.URL.RequestURI(), "message": message,
	})
}

// isoTime is a time as JavaScript's Date.toISOString writes it.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// apiKey wraps h with Panora's API-key guard (ApiKeyAuthGuard: the
// x-api-key header, packages/api/src/@core/auth/strategies/
// auth-header-api-key.strategy.ts): no key is 401 "Unauthorized", a wrong
// one 401 "Invalid API Key".
func (s *Server) apiKey(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch k := r.Header.Get("x-api-key"); {
		case k == "":
			writeError(w, r, http.StatusUnauthorized, "Unauthorized")
		case k != s.opts.APIKey:
			writeError(w, r, http.StatusUnauthorized, "Invalid API Key")
		default:
			h(w, r)
		}
	}
}

// readJSON decodes a JSON body into v, answering 400 when it cannot.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "Unexpected token in JSON body")
		return false
	}
	return true
}

func (u *linkedUser) json() map[string]any {
	return map[string]any{"id_linked_user": u.ID, "linked_user_origin_id": u.OriginID, "alias": u.Alias, "id_project": u.Project}
}

// createLinkedUser is POST /linked_users (linked-users.service.ts,
// addLinkedUser): a new linked user in the key's project, 201.
func (s *Server) createLinkedUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		OriginID *string `json:"linked_user_origin_id"`
		Alias    *string `json:"alias"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.OriginID == nil || in.Alias == nil {
		// No validation pipe guards the route: Prisma refuses the row.
		writeError(w, r, http.StatusInternalServerError, "Invalid `prisma.linked_users.create()` invocation: Argument `linked_user_origin_id` and `alias` are required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.UniqueOriginIDs {
		for _, u := range s.users {
			if u.OriginID == *in.OriginID && u.Project == s.opts.ProjectID {
				writeError(w, r, http.StatusConflict, "a linked user with this origin id exists")
				return
			}
		}
	}
	writeJSON(w, http.StatusCreated, s.addUserLocked(*in.OriginID, *in.Alias, s.opts.ProjectID).json())
}

// listLinkedUsers is GET /linked_users: the key's project's linked users.
func (s *Server) listLinkedUsers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := []map[string]any{}
	for _, u := range s.users {
		if u.Project == s.opts.ProjectID {
			out = append(out, u.json())
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// linkedUserFromRemoteID is GET /linked_users/fromRemoteId?remoteId=: the
// first linked user of any project with that origin id
// (linked-users.service.ts, getLinkedUserV2: findFirst on
// linked_user_origin_id alone), or nothing.
func (s *Server) linkedUserFromRemoteID(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("remoteId")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.OriginID == id {
			writeJSON(w, http.StatusOK, u.json())
			return
		}
	}
	writeNothing(w)
}

// getLinkedUser is GET /linked_users/{id} (getLinkedUser: findFirst on the
// id alone), or nothing.
func (s *Server) getLinkedUser(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users {
		if u.ID == id {
			writeJSON(w, http.StatusOK, u.json())
			return
		}
	}
	writeNothing(w)
}

func (l *inviteLink) json(project string) map[string]any {
	m := map[string]any{
		"id_invite_link": l.ID, "status": l.Status, "email": l.Email, "id_linked_user": l.LinkedUser,
		"displayed_verticals": []string{}, "displayed_providers": []string{},
	}
	if project != "" {
		m["id_project"] = project
	}
	return m
}

// createMagicLink is POST /magic_links (magic-link.service.ts,
// createUniqueLink): the linked user with the origin id in the body's
// project, created when there is none, gets a new invite link; 201 with the
// invite_links row. Panora's JwtAuthGuard guards it (see
// Options.DashboardToken).
func (s *Server) createMagicLink(w http.ResponseWriter, r *http.Request) {
	if t := s.opts.DashboardToken; t != "" {
		if r.Header.Get("Authorization") != "Bearer "+t {
			writeError(w, r, http.StatusUnauthorized, "Unauthorized")
			return
		}
	} else if !s.checkKey(w, r) {
		return
	}
	var in struct {
		OriginID  string `json:"linked_user_origin_id"`
		Email     string `json:"email"`
		Alias     string `json:"alias"`
		ProjectID string `json:"id_project"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if _, err := uuid.Parse(in.ProjectID); err != nil {
		writeError(w, r, http.StatusInternalServerError, "Invalid `prisma.linked_users.findFirst()` invocation: id_project is not a UUID")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var u *linkedUser
	for _, x := range s.users {
		if x.OriginID == in.OriginID && x.Project == in.ProjectID && u == nil {
			u = x
		}
	}
	if u == nil {
		u = s.addUserLocked(in.OriginID, in.Alias, in.ProjectID)
	}
	l := &inviteLink{ID: uuid.NewString(), Status: "generated", Email: in.Email, LinkedUser: u.ID}
	s.links[l.ID] = l
	writeJSON(w, http.StatusCreated, l.json(""))
}

func (s *Server) checkKey(w http.ResponseWriter, r *http.Request) bool {
	ok := false
	s.apiKey(func(http.ResponseWriter, *http.Request) { ok = true })(w, r)
	return ok
}

// getMagicLink is GET /magic_links/{id}, which the magic-link page calls
// with no credentials (no guard: magic-link.controller.ts): the link with
// its linked user's project.
func (s *Server) getMagicLink(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[r.PathValue("id")]
	if !ok {
		writeError(w, r, http.StatusInternalServerError, "Magic link undefined")
		return
	}
	project := ""
	for _, u := range s.users {
		if u.ID == l.LinkedUser {
			project = u.Project
		}
	}
	writeJSON(w, http.StatusOK, l.json(project))
}

func (c *connection) json() map[string]any {
	return map[string]any{
		"id_connection": c.ID, "status": c.Status, "provider_slug": c.Slug, "vertical": c.Vertical,
		"account_url": c.AccountURL, "token_type": c.TokenType,
		// Panora returns the provider's tokens as its EncryptionService
		// stored them; the fake returns opaque values, not the tokens.
		"access_token": "enc:" + hexOf(c.AccessToken), "refresh_token": "enc:" + hexOf(c.RefreshToken),
		"expiration_timestamp": isoTime(c.Expires), "created_at": isoTime(c.Created),
		"connection_token": c.Token, "id_project": c.Project, "id_linked_user": c.LinkedUser,
	}
}

// hexOf is an opaque, stable stand-in for an encrypted token.
func hexOf(s string) string {
	sum := sha256.Sum256([]byte("panorafake:" + s))
	return hex.EncodeToString(sum[:16])
}

// listConnections is GET /connections: the key's project's connections
// (connections.controller.ts, list).
func (s *Server) listConnections(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := []map[string]any{}
	for _, c := range s.conns {
		if c.Project == s.opts.ProjectID {
			out = append(out, c.json())
		}
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}
