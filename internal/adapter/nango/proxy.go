package nango

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ProxyRequest is a request that Nango forwards to the provider's API with
// the connection's credentials.
type ProxyRequest struct {
	Method string     // default GET
	Path   string     // path on the provider's API, e.g. "/1/members/me"
	Query  url.Values // forwarded as is
	// Header is sent to the provider: each header goes as
	// Nango-Proxy-<Name>, except Content-Type, which Nango reads to forward
	// the body and passes on itself.
	Header            http.Header
	Body              []byte
	ConnectionID      string
	ProviderConfigKey string
	Retries           int   // Nango's own retries of upstream failures (header Retries)
	RetryOn           []int // statuses Nango retries besides 5xx and 429 (header Retry-On)
	BaseURLOverride   string
}

// ProxyResponse is the provider's answer, whatever its status.
type ProxyResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// nangoProxyCodes are the codes with which Nango itself (not the provider)
// refuses a proxied request. An answer carrying one of them in Nango's error
// shape is a Nango-level failure; any other answer is the provider's.
var nangoProxyCodes = map[string]bool{
	CodeUnknownConnection: true, CodeUnknownProviderConfig: true,
	"missing_connection_id": true, "missing_provider_config_key": true,
	CodeInvalidCredentials: true, CodeConnectionRefreshBackoff: true, CodeConnectionRefreshExhausted: true,
	"missing_auth_header": true, "malformed_auth_header": true, "unknown_account": true,
	"invalid_secret_key_format": true, CodeTooManyRequest: true, "missing_base_api_url": true,
}

// Proxy sends req through Nango's proxy (/proxy/{path}). An upstream non-2xx
// answer is returned as a ProxyResponse, not an error; errors are Nango-level
// failures only: no answer, or Nango refusing the request (unknown
// connection, failed refresh, bad secret key, rate limit). The client never
// retries a proxied call; set Retries to have Nango retry upstream failures.
func (c *Client) Proxy(ctx context.Context, req ProxyRequest) (*ProxyResponse, error) {
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	h := http.Header{}
	for k, vs := range req.Header {
		name := http.CanonicalHeaderKey(k)
		if name == "Content-Type" {
			h[name] = vs
			continue
		}
		h["Nango-Proxy-"+name] = vs
	}
	h.Set("Connection-Id", req.ConnectionID)
	h.Set("Provider-Config-Key", req.ProviderConfigKey)
	if req.Retries > 0 {
		h.Set("Retries", strconv.Itoa(req.Retries))
	}
	if len(req.RetryOn) > 0 {
		codes := make([]string, len(req.RetryOn))
		for i, s := range req.RetryOn {
			codes[i] = strconv.Itoa(s)
		}
		h.Set("Retry-On", strings.Join(codes, ","))
	}
	if req.BaseURLOverride != "" {
		h.Set("Base-Url-Override", req.BaseURLOverride)
	}
	h.Set("Accept", "*/*")
	r := &request{
		method: method, path: "/proxy/" + strings.TrimLeft(req.Path, "/"), op: method + " /proxy/{path}",
		query: req.Query, header: h, body: req.Body,
	}
	resp, err := c.send(ctx, r, func(int) bool { return false })
	if err != nil {
		return nil, err
	}
	if resp.Status/100 != 2 && isNangoProxyError(resp) {
		return nil, parseAPIError(r.op, resp)
	}
	return &ProxyResponse{Status: resp.Status, Header: resp.Header, Body: resp.Body}, nil
}

// isNangoProxyError reports whether a non-2xx proxy answer came from Nango.
func isNangoProxyError(resp *response) bool {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(resp.Body, &env) != nil {
		return false
	}
	if nangoProxyCodes[env.Error.Code] {
		return true
	}
	return env.Error.Code == CodeServerError && env.Error.Message == proxyUnknownConnection
}
