package composiofake

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// hopHeaders are not copied between the two legs of the proxy.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Transfer-Encoding": true, "Upgrade": true, "Te": true, "Trailer": true,
	"Proxy-Authorization": true, "Proxy-Authenticate": true, "Content-Length": true, "Host": true,
}

var proxyMethods = map[string]bool{"GET": true, "POST": true, "PUT": true, "DELETE": true, "PATCH": true, "HEAD": true}

// proxy forwards a request to the toolkit's API as Composio's proxy does,
// with the connected account's token (Authorization: Bearer <token>), and
// answers the API's status, headers and body in Composio's shape
// ({"status","headers","data"}), whatever the API's status. The API is the
// toolkit's upstream (Options.Upstreams) standing in for its origin: a
// relative endpoint is appended to the toolkit's base URL; an absolute one
// must be on the base URL's registrable domain (else 400 OriginMismatch, as
// Composio since April 2026). A JSON `body` goes as JSON; `binary_body`
// (base64) goes as its bytes with its content_type.
func (s *Server) proxy(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ConnectedAccountID string          `json:"connected_account_id"`
		Endpoint           string          `json:"endpoint"`
		Method             string          `json:"method"`
		Body               json.RawMessage `json:"body"`
		BinaryBody         *struct {
			Base64      string `json:"base64"`
			ContentType string `json:"content_type"`
		} `json:"binary_body"`
		Parameters []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
			Type  string `json:"type"`
		} `json:"parameters"`
	}
	if !decode(w, r, &in) {
		return
	}
	switch {
	case in.Endpoint == "" || !proxyMethods[in.Method]:
		writeError(w, http.StatusBadRequest, "BadRequest", "endpoint and a method of GET, POST, PUT, DELETE, PATCH or HEAD are required")
		return
	case in.ConnectedAccountID == "":
		writeError(w, http.StatusBadRequest, "MissingAuthContext", "connected_account_id or custom_connection_data is required")
		return
	}

	s.mu.Lock()
	a := s.accounts[in.ConnectedAccountID]
	if a == nil || a.deleted {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "ConnectedAccount_NotFound", "Connected account not found")
		return
	}
	ac := s.authConfigs[a.authConfig]
	if a.status != StatusActive || a.disabled || (ac != nil && ac.Disabled) {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "ConnectedAccount_Inactive", "Connected account is not active (status "+a.status+")")
		return
	}
	tk, upstream, token := s.toolkits[a.toolkit], s.upstreams[a.toolkit], a.accessToken
	s.mu.Unlock()

	if upstream == "" {
		writeError(w, http.StatusBadRequest, "Fake_NoUpstream", "the fake has no upstream for toolkit "+a.toolkit)
		return
	}
	target, ok := resolve(upstream, tk.BaseURL, in.Endpoint)
	if !ok {
		writeError(w, http.StatusBadRequest, "OriginMismatch", "endpoint is not on the connection's base URL domain")
		return
	}
	header := http.Header{}
	q := target.Query()
	for _, p := range in.Parameters {
		switch p.Type {
		case "header":
			if name := http.CanonicalHeaderKey(p.Name); !hopHeaders[name] {
				header.Add(name, p.Value)
			}
		case "query":
			q.Add(p.Name, p.Value)
		}
	}
	target.RawQuery = q.Encode()
	var body []byte
	switch {
	case in.BinaryBody != nil:
		b, err := base64.StdEncoding.DecodeString(in.BinaryBody.Base64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "BadRequest", "binary_body.base64 is not base64")
			return
		}
		body = b
		if in.BinaryBody.ContentType != "" {
			header.Set("Content-Type", in.BinaryBody.ContentType)
		}
	case len(in.Body) > 0 && string(in.Body) != "null":
		body = in.Body
		header.Set("Content-Type", "application/json")
	}
	header.Set("Authorization", "Bearer "+token)

	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, in.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "Bad endpoint")
		return
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		writeError(w, http.StatusBadGateway, "Proxy_UpstreamUnreachable", "Error communicating with the upstream API")
		return
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		writeError(w, http.StatusBadGateway, "Proxy_UpstreamUnreachable", "Error reading the upstream answer")
		return
	}
	headers := map[string]string{}
	for k, vs := range resp.Header {
		if !hopHeaders[k] {
			headers[strings.ToLower(k)] = strings.Join(vs, ", ")
		}
	}
	var data any
	switch {
	case len(b) == 0:
	case isJSON(resp.Header.Get("Content-Type")) && json.Valid(b):
		data = json.RawMessage(b)
	default:
		data = string(b)
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": resp.StatusCode, "headers": headers, "data": data})
}

// resolve is the upstream URL of endpoint: relative ones are appended to
// the toolkit's base URL; absolute ones must share its scheme and
// registrable domain. upstream stands in for the base URL's origin.
func resolve(upstream, baseURL, endpoint string) (*url.URL, bool) {
	up, err := url.Parse(upstream)
	if err != nil {
		return nil, false
	}
	base, _ := url.Parse(baseURL)
	if base == nil {
		base = &url.URL{}
	}
	e, err := url.Parse(endpoint)
	if err != nil {
		return nil, false
	}
	out := *up
	if e.IsAbs() {
		if base.Host != "" && (e.Scheme != base.Scheme || registrable(e.Hostname()) != registrable(base.Hostname())) {
			return nil, false
		}
		out.Path = strings.TrimRight(up.Path, "/") + e.Path
	} else {
		out.Path = strings.TrimRight(up.Path, "/") + strings.TrimRight(base.Path, "/") + "/" + strings.TrimLeft(e.Path, "/")
	}
	out.RawPath = ""
	out.RawQuery = e.RawQuery
	return &out, true
}

// registrable is a host's last two labels: enough for the toolkits' hosts
// (slack.com, googleapis.com, hubapi.com, ...).
func registrable(host string) string {
	labels := strings.Split(host, ".")
	if len(labels) <= 2 {
		return host
	}
	return strings.Join(labels[len(labels)-2:], ".")
}

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}
