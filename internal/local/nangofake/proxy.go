package nangofake

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// hopHeaders are not copied between the two legs of the proxy.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Transfer-Encoding": true, "Upgrade": true,
	"Te": true, "Trailer": true, "Proxy-Authorization": true, "Proxy-Authenticate": true, "Content-Length": true,
}

// proxy forwards /proxy/{path...} to the provider's base URL (the
// Base-Url-Override header, else the upstream set for the provider) with the
// connection's credentials:
//   - OAUTH2: Authorization: Bearer <access token> (refreshed first when
//     expired, as Nango does);
//   - OAUTH1 (e.g. trello): Nango signs the request with HMAC-SHA1 and the
//     integration's consumer secret, which the fake does not have. It sends
//     the token unsigned instead, as Authorization: OAuth
//     oauth_token="<token>", so a test can see which connection was used;
//   - API_KEY: Authorization: Bearer <key>.
//
// Headers named Nango-Proxy-<Name> go upstream as <Name>; Content-Type goes
// as is. The Retries header retries 5xx, 429 and the Retry-On statuses.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request) {
	id, key := r.Header.Get("Connection-Id"), r.Header.Get("Provider-Config-Key")
	switch {
	case id == "":
		writeError(w, http.StatusBadRequest, "missing_connection_id", "Missing Connection-Id header", nil)
		return
	case key == "":
		writeError(w, http.StatusBadRequest, "missing_provider_config_key", "Missing Provider-Config-Key header", nil)
		return
	}

	s.mu.Lock()
	if s.integrations[key] == nil {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "unknown_provider_config", "Unknown integration "+strconv.Quote(key), nil)
		return
	}
	c := s.conns[connKey{key, id}]
	if c == nil {
		s.mu.Unlock()
		// Nango's answer for an unknown connection (not in its document).
		writeError(w, http.StatusBadRequest, "server_error", "Failed to get connection", nil)
		return
	}
	now := s.opts.Now()
	if c.authMode == "OAUTH2" && !now.Before(c.expiresAt) {
		if s.failRefresh[c.connectionID] {
			c.refreshFails++
			payload := s.connectionJSONLocked(c, false, false)
			s.mu.Unlock()
			writeError(w, http.StatusFailedDependency, "invalid_credentials", "The refresh of the access token failed", payload)
			return
		}
		s.issueTokensLocked(c, now)
	}
	base := strings.TrimRight(r.Header.Get("Base-Url-Override"), "/")
	if base == "" {
		base = s.upstreams[c.provider]
	}
	authMode, token := c.authMode, c.accessToken
	s.mu.Unlock()

	if base == "" {
		writeError(w, http.StatusBadRequest, "missing_base_api_url", "No base URL for provider; set one in the fake or send Base-Url-Override", nil)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_body", "Unreadable body", nil)
		return
	}
	target := base + "/" + r.PathValue("path")
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	header := http.Header{}
	for k, vs := range r.Header {
		if name, ok := strings.CutPrefix(k, "Nango-Proxy-"); ok && !hopHeaders[name] {
			header[http.CanonicalHeaderKey(name)] = vs
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		header.Set("Content-Type", ct)
	}
	switch authMode {
	case "OAUTH1":
		header.Set("Authorization", `OAuth oauth_token="`+token+`"`)
	default:
		header.Set("Authorization", "Bearer "+token)
	}

	retries, _ := strconv.Atoi(r.Header.Get("Retries"))
	retryOn := map[int]bool{}
	for _, f := range strings.Split(r.Header.Get("Retry-On"), ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil {
			retryOn[n] = true
		}
	}
	var resp *http.Response
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", "Bad upstream URL", nil)
			return
		}
		req.Header = header.Clone()
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			if attempt < retries {
				continue
			}
			writeError(w, http.StatusBadGateway, "server_error", "Upstream unreachable", nil)
			return
		}
		retryable := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || retryOn[resp.StatusCode]
		if !retryable || attempt >= retries {
			break
		}
		resp.Body.Close()
		time.Sleep(time.Duration(10<<attempt) * time.Millisecond)
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		if !hopHeaders[k] {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}
