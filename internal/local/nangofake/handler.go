package nangofake

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Handler returns the fake's HTTP handler, for serving it on a listener of
// your own (then call SetPublicURL).
func (s *Server) Handler() http.Handler {
	api := http.NewServeMux()
	api.HandleFunc("POST /connect/sessions", s.createSession)
	api.HandleFunc("POST /connect/sessions/reconnect", s.createReconnectSession)
	api.HandleFunc("GET /connections", s.listConnections)
	api.HandleFunc("GET /connections/{connectionId}", s.getConnection)
	api.HandleFunc("PATCH /connections/{connectionId}", s.patchConnection)
	api.HandleFunc("DELETE /connections/{connectionId}", s.deleteConnection)
	api.HandleFunc("POST /connections/metadata", s.setMetadata)
	api.HandleFunc("PATCH /connections/metadata", s.updateMetadata)
	api.HandleFunc("GET /integrations", s.listIntegrations)
	api.HandleFunc("GET /integrations/{uniqueKey}", s.getIntegration)
	api.HandleFunc("/proxy/{path...}", s.proxy)
	api.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "Unknown endpoint", nil)
	})

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.counts = append(s.counts, requestRecord{r.Method, r.URL.Path})
		s.mu.Unlock()
		if s.applyFault(w, r) {
			return
		}
		// What the end user's browser opens carries no secret key, as with
		// Nango's own: the connect URL, the Connect UI, the SDK's
		// WebSocket, and the session the Connect UI reads with its token.
		switch {
		case strings.HasPrefix(r.URL.Path, "/oauth/connect/") && r.Method == http.MethodGet:
			s.connect(w, r)
			return
		case r.URL.Path == "/" && r.Method == http.MethodGet && isWebSocket(r):
			s.serveWebSocket(w, r)
			return
		case r.URL.Path == "/" && r.Method == http.MethodGet:
			s.connectUI(w, r)
			return
		case r.URL.Path == "/connect/session" && r.Method == http.MethodGet:
			s.getConnectSession(w, r)
			return
		}
		if !s.authorized(w, r) {
			return
		}
		api.ServeHTTP(w, r)
		s.persist()
	})
}

// persist saves the state file after a request that may have changed it. A
// failure is not the client's: the answer has gone; the next change retries.
func (s *Server) persist() {
	if s.opts.StateFile == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.saveLocked(); err != nil {
		s.saveErr = err
	}
}

// SaveError is the last failure to write the StateFile, or nil.
func (s *Server) SaveError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saveErr
}

// authorized checks the secret key as Nango does, answering 401 otherwise.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	h := r.Header.Get("Authorization")
	switch {
	case h == "":
		writeError(w, http.StatusUnauthorized, "missing_auth_header", "Authentication failed. The request is missing the Authorization header.", nil)
		return false
	case !strings.HasPrefix(h, "Bearer ") || strings.TrimPrefix(h, "Bearer ") == "":
		writeError(w, http.StatusUnauthorized, "malformed_auth_header", "Authentication failed. The Authorization header is malformed.", nil)
		return false
	case s.checkKeyFormat && uuid.Validate(strings.TrimPrefix(h, "Bearer ")) != nil:
		// Nango checks the format before looking the key up.
		writeError(w, http.StatusUnauthorized, "invalid_secret_key_format", "Authentication failed. The provided secret key is not a UUID v4.", nil)
		return false
	case strings.TrimPrefix(h, "Bearer ") != s.opts.SecretKey:
		writeError(w, http.StatusUnauthorized, "unknown_account", "Authentication failed. The provided authorization header does not match any account.", nil)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers Nango's error shape. payload, when set, is carried as
// error.payload (Nango does so for a failed refresh).
func writeError(w http.ResponseWriter, status int, code, message string, payload any) {
	e := map[string]any{"code": code}
	if message != "" {
		e["message"] = message
	}
	if payload != nil {
		e["payload"] = payload
	}
	writeJSON(w, status, map[string]any{"error": e})
}

// decodeBody reads a JSON body, answering 400 invalid_body when it cannot.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "Invalid body: "+err.Error(), nil)
		return false
	}
	return true
}

// lowerKeys normalises tag keys to lower case, as Nango does.
func lowerKeys(tags map[string]string) map[string]string {
	out := make(map[string]string, len(tags))
	for k, v := range tags {
		out[strings.ToLower(k)] = v
	}
	return out
}

func validTags(tags map[string]string) string {
	if len(tags) > 10 {
		return "tags: at most 10 keys"
	}
	for k, v := range tags {
		if len(v) > 255 {
			return "tags." + k + ": at most 255 characters"
		}
	}
	return ""
}

func timeString(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// --- connect sessions

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Tags                map[string]string `json:"tags"`
		EndUser             map[string]any    `json:"end_user"`
		AllowedIntegrations []string          `json:"allowed_integrations"`
		WebhookURLOverride  *string           `json:"webhook_url_override"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	in.Tags = endUserTags(in.Tags, in.EndUser)
	if msg := validTags(in.Tags); msg != "" {
		writeError(w, http.StatusBadRequest, "invalid_body", msg, nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range in.AllowedIntegrations {
		if s.integrations[k] == nil {
			writeError(w, http.StatusBadRequest, "invalid_body", "allowed_integrations: unknown integration "+strconv.Quote(k), nil)
			return
		}
	}
	ss := &session{
		token:   "nango_connect_session_" + randomHex(32),
		tags:    lowerKeys(in.Tags),
		endUser: in.EndUser,
		allowed: in.AllowedIntegrations,
		expires: s.opts.Now().Add(SessionTTL),
		webhook: in.WebhookURLOverride,
	}
	s.sessions[ss.token] = ss
	writeJSON(w, http.StatusCreated, map[string]any{"data": s.sessionJSONLocked(ss)})
}

func (s *Server) createReconnectSession(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ConnectionID  string            `json:"connection_id"`
		IntegrationID string            `json:"integration_id"`
		Tags          map[string]string `json:"tags"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.ConnectionID == "" || in.IntegrationID == "" {
		writeError(w, http.StatusBadRequest, "invalid_body", "connection_id and integration_id are required", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.integrations[in.IntegrationID] == nil {
		writeError(w, http.StatusBadRequest, "unknown_provider_config", "Unknown integration", nil)
		return
	}
	c := s.conns[connKey{in.IntegrationID, in.ConnectionID}]
	if c == nil {
		writeError(w, http.StatusBadRequest, "unknown_connection", "Unknown connection", nil)
		return
	}
	tags := c.tags
	if in.Tags != nil {
		tags = lowerKeys(in.Tags)
	}
	ss := &session{
		token:        "nango_connect_session_" + randomHex(32),
		tags:         tags,
		allowed:      []string{in.IntegrationID},
		expires:      s.opts.Now().Add(SessionTTL),
		reconnectID:  in.ConnectionID,
		reconnectKey: in.IntegrationID,
	}
	s.sessions[ss.token] = ss
	writeJSON(w, http.StatusCreated, map[string]any{"data": s.sessionJSONLocked(ss)})
}

// sessionJSONLocked builds the session answer. Its connect_link is the
// sandbox connect URL of the first allowed integration (or of the first
// integration when none is listed): opening it completes the connection.
func (s *Server) sessionJSONLocked(ss *session) map[string]any {
	out := map[string]any{"token": ss.token, "expires_at": timeString(ss.expires)}
	key := ""
	if len(ss.allowed) > 0 {
		key = ss.allowed[0]
	} else if len(s.order) > 0 {
		key = s.order[0]
	}
	if key != "" {
		out["connect_link"] = s.connectURLLocked(key, ss.token)
	}
	return out
}

func (s *Server) connectURLLocked(key, token string) string {
	return s.publicURL + "/oauth/connect/" + url.PathEscape(key) + "?connect_session_token=" + url.QueryEscape(token)
}

// ConnectURL returns the sandbox connect URL of a session for an integration.
func (s *Server) ConnectURL(providerConfigKey, token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connectURLLocked(providerConfigKey, token)
}

// connect serves GET /oauth/connect/{providerConfigKey}?connect_session_token=:
// the sandbox's stand-in for Nango's connect UI and the provider's consent
// screen. It completes the connection at once.
func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	key, err := url.PathUnescape(strings.TrimPrefix(r.URL.Path, "/oauth/connect/"))
	if err != nil || key == "" || strings.Contains(key, "/") {
		writeError(w, http.StatusNotFound, "not_found", "Unknown integration", nil)
		return
	}
	q := r.URL.Query()
	wsID := q.Get("ws_client_id")
	id, code, err := s.complete(q.Get("connect_session_token"), key)
	if err != nil {
		s.notifyWebSocket(wsID, map[string]any{"message_type": "error", "error_type": code, "error_desc": err.Error()})
		if prefersHTML(r.Header.Get("Accept")) {
			w.WriteHeader(http.StatusBadRequest)
			connectedPage(w, "", key, err.Error())
			return
		}
		writeError(w, http.StatusBadRequest, code, err.Error(), nil)
		return
	}
	s.persist()
	s.notifyWebSocket(wsID, map[string]any{"message_type": "success", "provider_config_key": key, "connection_id": id, "is_pending": false})
	if prefersHTML(r.Header.Get("Accept")) {
		// Opened by the browser itself: back to where the flow started,
		// as the provider's redirect does in the real flow.
		if back := s.returnURL(r, id, key); back != "" && wsID == "" {
			http.Redirect(w, r, back, http.StatusFound)
			return
		}
		connectedPage(w, id, key, "")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"connectionId": id, "providerConfigKey": key})
}

// prefersHTML reports whether an Accept header ranks text/html above JSON.
func prefersHTML(accept string) bool {
	best, bestQ := "", -1.0
	for _, part := range strings.Split(accept, ",") {
		fields := strings.Split(part, ";")
		mt := strings.ToLower(strings.TrimSpace(fields[0]))
		q := 1.0
		for _, p := range fields[1:] {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		if (mt == "text/html" || mt == "application/json") && q > bestQ {
			best, bestQ = mt, q
		}
	}
	return best == "text/html"
}

// CompleteSession completes a session's connection as the sandbox connect URL
// does, for its first allowed integration (or the only integration), and
// returns the connection id.
func (s *Server) CompleteSession(token string) (string, error) {
	s.mu.Lock()
	key := ""
	if ss := s.sessions[token]; ss != nil && len(ss.allowed) > 0 {
		key = ss.allowed[0]
	} else if len(s.order) == 1 {
		key = s.order[0]
	}
	s.mu.Unlock()
	if key == "" {
		return "", fmt.Errorf("nangofake: session allows no single integration; use the connect URL")
	}
	id, _, err := s.complete(token, key)
	s.persist()
	return id, err
}

// complete consumes a session and creates (or, for a reconnect session,
// re-authorizes) the connection. On failure it returns a Nango-style code.
func (s *Server) complete(token, key string) (id, code string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	ss := s.sessions[token]
	switch {
	case ss == nil || ss.used:
		return "", "invalid_connect_session_token", fmt.Errorf("nangofake: unknown or used connect session")
	case !now.Before(ss.expires):
		return "", "invalid_connect_session_token", fmt.Errorf("nangofake: connect session expired")
	case len(ss.allowed) > 0 && !slices.Contains(ss.allowed, key):
		return "", "integration_not_allowed", fmt.Errorf("nangofake: integration %q not allowed by this session", key)
	}
	in := s.integrations[key]
	if in == nil {
		return "", "unknown_provider_config", fmt.Errorf("nangofake: unknown integration %q", key)
	}
	ss.used = true
	if ss.reconnectID != "" {
		c := s.conns[connKey{ss.reconnectKey, ss.reconnectID}]
		if c == nil {
			return "", "unknown_connection", fmt.Errorf("nangofake: connection to reconnect is gone")
		}
		c.tags = maps.Clone(ss.tags)
		c.refreshFails = 0
		delete(s.failRefresh, c.connectionID)
		s.issueTokensLocked(c, now)
		return c.connectionID, "", nil
	}
	s.nextID++
	c := &connection{
		id: s.nextID, connectionID: uuid.NewString(), key: key, provider: in.Provider, authMode: in.AuthMode,
		tags: maps.Clone(ss.tags), endUser: ss.endUser, metadata: map[string]any{}, created: now,
		webhookURLOverride: ss.webhook,
	}
	if c.tags == nil {
		c.tags = map[string]string{}
	}
	s.issueTokensLocked(c, now)
	s.conns[connKey{key, c.connectionID}] = c
	return c.connectionID, "", nil
}

// issueTokensLocked gives c fresh credentials.
func (s *Server) issueTokensLocked(c *connection, now time.Time) {
	switch c.authMode {
	case "OAUTH1":
		c.accessToken, c.tokenSecret = "fake_oauth1_token_"+randomHex(16), "fake_oauth1_secret_"+randomHex(16)
	case "API_KEY":
		c.accessToken = "fake_api_key_" + randomHex(16)
	default:
		c.accessToken = "fake_access_token_" + randomHex(16)
		c.refreshToken = "fake_refresh_token_" + randomHex(16)
		c.expiresAt = now.Add(s.opts.TokenTTL)
	}
	c.updated = now
}

// --- connections

// connectionJSONLocked is the connection as Nango answers it, with
// credentials when withCreds (refresh token only when withRefresh).
func (s *Server) connectionJSONLocked(c *connection, withCreds, withRefresh bool) map[string]any {
	var endUser any
	if c.endUser != nil {
		endUser = c.endUser
	}
	out := map[string]any{
		"id": c.id, "connection_id": c.connectionID, "provider_config_key": c.key, "provider": c.provider,
		"errors": []any{}, "end_user": endUser, "metadata": c.metadata, "connection_config": map[string]any{},
		"tags": c.tags, "created_at": timeString(c.created), "updated_at": timeString(c.updated),
		// Nango answers null for a connection never fetched, not a zero date.
		"last_fetched_at": nil, "webhook_url_override": nil,
	}
	if !c.lastFetched.IsZero() {
		out["last_fetched_at"] = timeString(c.lastFetched)
	}
	if c.webhookURLOverride != nil && *c.webhookURLOverride != "" {
		out["webhook_url_override"] = *c.webhookURLOverride
	}
	if c.refreshFails > 0 {
		out["errors"] = []any{map[string]any{"type": "auth", "log_id": "fake_log_" + strconv.FormatInt(c.id, 10)}}
	}
	if withCreds {
		out["credentials"] = credentialsJSON(c, withRefresh)
	}
	return out
}

func credentialsJSON(c *connection, withRefresh bool) map[string]any {
	switch c.authMode {
	case "OAUTH1":
		return map[string]any{"type": "OAUTH1", "oauth_token": c.accessToken, "oauth_token_secret": c.tokenSecret,
			"raw": map[string]any{"oauth_token": c.accessToken, "oauth_token_secret": c.tokenSecret}}
	case "API_KEY":
		return map[string]any{"type": "API_KEY", "apiKey": c.accessToken}
	}
	raw := map[string]any{"access_token": c.accessToken, "token_type": "bearer", "expires_in": int(time.Until(c.expiresAt).Seconds())}
	creds := map[string]any{"type": "OAUTH2", "access_token": c.accessToken, "expires_at": timeString(c.expiresAt), "raw": raw}
	if withRefresh {
		creds["refresh_token"] = c.refreshToken
	}
	return creds
}

// lookupLocked finds a connection, answering as Nango does when it cannot:
// unknown integration 400 unknown_provider_config, unknown connection
// notFoundStatus/notFoundCode.
func (s *Server) lookupLocked(w http.ResponseWriter, key, id string, notFoundStatus int, notFoundCode string) *connection {
	if key == "" {
		writeError(w, http.StatusBadRequest, "missing_provider_config_key", "Missing provider_config_key", nil)
		return nil
	}
	if s.integrations[key] == nil {
		writeError(w, http.StatusBadRequest, "unknown_provider_config", "Unknown integration "+strconv.Quote(key), nil)
		return nil
	}
	c := s.conns[connKey{key, id}]
	if c == nil {
		writeError(w, notFoundStatus, notFoundCode, "No connection matching the provided params", nil)
	}
	return c
}

func (s *Server) listConnections(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tags := map[string]string{}
	for k, vs := range q {
		if name, ok := strings.CutPrefix(k, "tags["); ok && strings.HasSuffix(name, "]") && len(vs) > 0 {
			tags[strings.ToLower(strings.TrimSuffix(name, "]"))] = vs[0]
		}
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	page, _ := strconv.Atoi(q.Get("page"))
	if limit <= 0 {
		limit = 1000
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var list []*connection
	for _, c := range s.conns {
		if id := q.Get("connectionId"); id != "" && c.connectionID != id {
			continue
		}
		if in := q.Get("integrationId"); in != "" && c.key != in {
			continue
		}
		if eu := q.Get("endUserId"); eu != "" && (c.endUser == nil || c.endUser["id"] != eu) {
			continue
		}
		if org := q.Get("endUserOrganizationId"); org != "" && endUserOrg(c.endUser) != org {
			continue
		}
		if search := q.Get("search"); search != "" && !matchesSearch(c, search) {
			continue
		}
		match := true
		for k, v := range tags {
			if c.tags[k] != v {
				match = false
				break
			}
		}
		if match {
			list = append(list, c)
		}
	}
	slices.SortFunc(list, func(a, b *connection) int { return int(a.id - b.id) })
	start := min(page*limit, len(list))
	list = list[start:min(start+limit, len(list))]
	out := make([]map[string]any, 0, len(list))
	for _, c := range list {
		full := s.connectionJSONLocked(c, false, false)
		out = append(out, map[string]any{
			"id": full["id"], "connection_id": full["connection_id"], "provider": full["provider"],
			"provider_config_key": full["provider_config_key"], "created": full["created_at"],
			"metadata": full["metadata"], "tags": full["tags"], "errors": full["errors"], "end_user": full["end_user"],
		})
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": out})
}

func (s *Server) getConnection(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookupLocked(w, q.Get("provider_config_key"), r.PathValue("connectionId"), http.StatusNotFound, "not_found")
	if c == nil {
		return
	}
	now := s.opts.Now()
	force := q.Get("force_refresh") == "true"
	if c.authMode == "OAUTH2" && (force || !now.Before(c.expiresAt)) {
		if s.failRefresh[c.connectionID] {
			c.refreshFails++
			// After a failed refresh Nango backs off: a read that would
			// refresh answers 424 without trying. A forced refresh skips
			// the back-off and tries (and fails) again: 400.
			status := http.StatusBadRequest
			if c.refreshFails > 1 && !force {
				status = http.StatusFailedDependency
			}
			writeError(w, status, "invalid_credentials", "The refresh of the access token failed", s.connectionJSONLocked(c, false, false))
			return
		}
		s.issueTokensLocked(c, now)
		c.refreshFails = 0
	}
	c.lastFetched = now
	writeJSON(w, http.StatusOK, s.connectionJSONLocked(c, true, q.Get("refresh_token") == "true"))
}

func (s *Server) patchConnection(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Tags               *map[string]string `json:"tags"`
		WebhookURLOverride *string            `json:"webhook_url_override"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Tags != nil {
		if msg := validTags(*in.Tags); msg != "" {
			writeError(w, http.StatusBadRequest, "invalid_body", msg, nil)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.lookupLocked(w, r.URL.Query().Get("provider_config_key"), r.PathValue("connectionId"), http.StatusNotFound, "not_found")
	if c == nil {
		return
	}
	if in.Tags != nil {
		c.tags = lowerKeys(*in.Tags)
	}
	if in.WebhookURLOverride != nil {
		c.webhookURLOverride = in.WebhookURLOverride // "" clears it
	}
	c.updated = s.opts.Now()
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

func (s *Server) deleteConnection(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, id := r.URL.Query().Get("provider_config_key"), r.PathValue("connectionId")
	// Nango answers 400 unknown_connection here, though its document says 404.
	if s.lookupLocked(w, key, id, http.StatusBadRequest, "unknown_connection") == nil {
		return
	}
	delete(s.conns, connKey{key, id})
	writeJSON(w, http.StatusOK, map[string]any{"success": true})
}

func (s *Server) setMetadata(w http.ResponseWriter, r *http.Request)    { s.metadata(w, r, false) }
func (s *Server) updateMetadata(w http.ResponseWriter, r *http.Request) { s.metadata(w, r, true) }

// metadata replaces (POST, 201) or merges (PATCH, 200) metadata of one
// connection or several (all or none).
func (s *Server) metadata(w http.ResponseWriter, r *http.Request, merge bool) {
	var in struct {
		ConnectionID      json.RawMessage `json:"connection_id"`
		ProviderConfigKey string          `json:"provider_config_key"`
		Metadata          map[string]any  `json:"metadata"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	var ids []string
	var one string
	if json.Unmarshal(in.ConnectionID, &one) == nil && one != "" {
		ids = []string{one}
	} else if json.Unmarshal(in.ConnectionID, &ids) != nil || len(ids) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_body", "connection_id is required", nil)
		return
	}
	if in.Metadata == nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "metadata is required", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var conns []*connection
	for _, id := range ids {
		c := s.lookupLocked(w, in.ProviderConfigKey, id, http.StatusBadRequest, "unknown_connection")
		if c == nil {
			return
		}
		conns = append(conns, c)
	}
	now := s.opts.Now()
	for _, c := range conns {
		if merge {
			maps.Copy(c.metadata, in.Metadata)
		} else {
			c.metadata = maps.Clone(in.Metadata)
		}
		c.updated = now
	}
	status := http.StatusCreated
	if merge {
		status = http.StatusOK
	}
	writeJSON(w, status, map[string]any{"connection_id": json.RawMessage(in.ConnectionID), "provider_config_key": in.ProviderConfigKey, "metadata": in.Metadata})
}

// --- integrations

func (s *Server) listIntegrations(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data := make([]map[string]any, 0, len(s.order))
	for _, k := range s.order {
		in := s.integrations[k]
		data = append(data, integrationJSON(in))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

// getIntegration answers GET /integrations/{uniqueKey}: the integration
// with, as IntegrationFull, its webhook URL and credentials (the fake has
// neither: null).
func (s *Server) getIntegration(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.integrations[r.PathValue("uniqueKey")]
	if in == nil {
		writeError(w, http.StatusNotFound, "not_found", "Integration does not exist", nil)
		return
	}
	out := integrationJSON(in)
	out["webhook_url"], out["credentials"] = nil, nil
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
}

// integrationJSON is an integration as Nango lists it, logo included (the
// SDK's types have it; the fake points at Nango's public logo path).
func integrationJSON(in *integration) map[string]any {
	return map[string]any{
		"unique_key": in.UniqueKey, "display_name": displayName(in.Provider), "provider": in.Provider,
		"logo":       "https://app.nango.dev/images/template-logos/" + in.Provider + ".svg",
		"created_at": timeString(in.created), "updated_at": timeString(in.created),
		"forward_webhooks": true,
	}
}

// endUserTags copies the deprecated end_user into tags as Nango does
// (end_user_id, end_user_email, organization_id), without overwriting a tag
// the caller set.
func endUserTags(tags map[string]string, endUser map[string]any) map[string]string {
	if endUser == nil {
		return tags
	}
	out := lowerKeys(tags)
	set := func(k string, v any) {
		if s, ok := v.(string); ok && s != "" {
			if _, exists := out[k]; !exists {
				out[k] = s
			}
		}
	}
	set("end_user_id", endUser["id"])
	set("end_user_email", endUser["email"])
	set("organization_id", endUserOrg(endUser))
	return out
}

// endUserOrg is the id of the end user's organization, or "".
func endUserOrg(endUser map[string]any) string {
	org, _ := endUser["organization"].(map[string]any)
	id, _ := org["id"].(string)
	return id
}

// matchesSearch is Nango's search filter: a partial, case-insensitive match
// of the connection id or the end user's id, email or display name.
func matchesSearch(c *connection, search string) bool {
	search = strings.ToLower(search)
	fields := []string{c.connectionID}
	for _, k := range []string{"id", "email", "display_name"} {
		if v, ok := c.endUser[k].(string); ok {
			fields = append(fields, v)
		}
	}
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), search) {
			return true
		}
	}
	return false
}

func displayName(provider string) string {
	words := strings.FieldsFunc(provider, func(r rune) bool { return r == '-' || r == '_' })
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// AddConnection creates a connection with a given id, as if a connect
// session had completed it: tags as given (e.g. end_user_id and
// organization_id), fresh credentials of the integration's auth mode. It
// lets a tool seed the connection a sample event names (make invoke), whose
// id a session would not produce. An existing connection with that id is an
// error, so a seed never silently replaces another's credentials.
func (s *Server) AddConnection(providerConfigKey, connectionID string, tags map[string]string) error {
	if connectionID == "" {
		return fmt.Errorf("nangofake: add connection: empty connection id")
	}
	if msg := validTags(tags); msg != "" {
		return fmt.Errorf("nangofake: add connection %s: %s", connectionID, msg)
	}
	s.mu.Lock()
	in := s.integrations[providerConfigKey]
	if in == nil {
		s.mu.Unlock()
		return fmt.Errorf("nangofake: add connection %s: unknown integration %q", connectionID, providerConfigKey)
	}
	k := connKey{providerConfigKey, connectionID}
	if s.conns[k] != nil {
		s.mu.Unlock()
		return fmt.Errorf("nangofake: add connection %s: it exists already", connectionID)
	}
	now := s.opts.Now()
	s.nextID++
	c := &connection{
		id: s.nextID, connectionID: connectionID, key: providerConfigKey, provider: in.Provider, authMode: in.AuthMode,
		tags: lowerKeys(tags), metadata: map[string]any{}, created: now,
	}
	if c.tags == nil {
		c.tags = map[string]string{}
	}
	s.issueTokensLocked(c, now)
	s.conns[k] = c
	s.mu.Unlock()
	s.persist()
	return nil
}
