package composio

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Methods the proxy sends (the document's enum).
var proxyMethods = map[string]bool{
	http.MethodGet: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodDelete: true, http.MethodPatch: true, http.MethodHead: true,
}

// ProxyRequest is a request that Composio sends to the toolkit's API with
// the connected account's credentials (POST /api/v3/tools/execute/proxy).
type ProxyRequest struct {
	ConnectedAccountID string
	Method             string // GET, POST, PUT, DELETE, PATCH or HEAD; default GET
	// Endpoint is an absolute URL, or a path that Composio resolves
	// against the connected account's base URL. It carries the query.
	Endpoint string
	// Header goes to the API as the proxy's header parameters, except the
	// credentials (Authorization, x-api-key, cookies: Composio adds the
	// account's own), hop-by-hop headers, and Content-Type, which goes with
	// the body.
	Header http.Header
	// Body is sent as the proxy's JSON `body` when it is JSON (Content-Type
	// JSON, or none and the bytes are valid JSON); any other body (a form,
	// text, bytes) is sent as `binary_body` (base64) with its Content-Type,
	// so that its bytes reach the API as they are.
	Body []byte
}

// ProxyResponse is the API's answer as Composio's proxy reports it,
// whatever its status.
type ProxyResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// ErrBinaryAnswer is a proxy answer whose body Composio stored as a file
// (binary_data, a URL to download) instead of returning it: this client does
// not download it.
var ErrBinaryAnswer = errors.New("composio: the proxied API answered a binary body, which Composio returns as a download link")

// skippedHeaders are never sent as the proxy's header parameters.
var skippedHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "X-Api-Key": true,
	"Host": true, "Content-Length": true, "Content-Type": true, "Accept-Encoding": true,
	"Connection": true, "Keep-Alive": true, "Transfer-Encoding": true, "Te": true, "Trailer": true, "Upgrade": true,
}

// droppedAnswerHeaders describe the answer's bytes as the API sent them,
// which the proxy re-encoded.
var droppedAnswerHeaders = map[string]bool{"Content-Length": true, "Content-Encoding": true, "Transfer-Encoding": true}

type proxyParameter struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type"` // header or query
}

type binaryBody struct {
	Base64      string `json:"base64"`
	ContentType string `json:"content_type,omitempty"`
}

// IsJSONContentType reports whether ct names JSON (application/json or a
// +json type).
func IsJSONContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// Proxy sends req through Composio's proxy. The API's answer, whatever its
// status, is a ProxyResponse; errors are Composio's own failures only: no
// answer, or Composio refusing the request (*APIError: unknown or unusable
// account, bad API key, rate limit, upstream unreachable). It is never
// retried.
func (c *Client) Proxy(ctx context.Context, req ProxyRequest) (*ProxyResponse, error) {
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = http.MethodGet
	}
	if !proxyMethods[method] {
		return nil, fmt.Errorf("composio: the proxy does not send %s requests", method)
	}
	in := struct {
		ConnectedAccountID string           `json:"connected_account_id"`
		Endpoint           string           `json:"endpoint"`
		Method             string           `json:"method"`
		Body               json.RawMessage  `json:"body,omitempty"`
		BinaryBody         *binaryBody      `json:"binary_body,omitempty"`
		Parameters         []proxyParameter `json:"parameters,omitempty"`
	}{ConnectedAccountID: req.ConnectedAccountID, Endpoint: req.Endpoint, Method: method}
	ct := req.Header.Get("Content-Type")
	if len(req.Body) > 0 {
		if (ct == "" || IsJSONContentType(ct)) && json.Valid(req.Body) {
			var buf bytes.Buffer
			if err := json.Compact(&buf, req.Body); err != nil {
				return nil, fmt.Errorf("composio: proxy body: %w", err)
			}
			in.Body = buf.Bytes()
		} else {
			in.BinaryBody = &binaryBody{Base64: base64.StdEncoding.EncodeToString(req.Body), ContentType: ct}
		}
	}
	for name, vs := range req.Header {
		name = http.CanonicalHeaderKey(name)
		if skippedHeaders[name] {
			continue
		}
		for _, v := range vs {
			in.Parameters = append(in.Parameters, proxyParameter{Name: name, Value: v, Type: "header"})
		}
	}
	var out struct {
		Data       json.RawMessage            `json:"data"`
		BinaryData json.RawMessage            `json:"binary_data"`
		Status     json.RawMessage            `json:"status"`
		Headers    map[string]json.RawMessage `json:"headers"`
	}
	r := &request{method: http.MethodPost, path: "/api/v3/tools/execute/proxy", op: "POST /api/v3/tools/execute/proxy"}
	if err := c.doJSON(ctx, r, in, &out); err != nil {
		return nil, err
	}
	// A JSON number (the document's type), not a string that holds one.
	status, err := strconv.ParseFloat(string(out.Status), 64)
	if err != nil || len(out.Status) == 0 || out.Status[0] == '"' || status < 100 || status > 599 || status != float64(int(status)) {
		return nil, &DecodeError{Op: r.op, Err: errMissing("the API's status")}
	}
	resp := &ProxyResponse{Status: int(status), Header: http.Header{}}
	for k, raw := range out.Headers {
		name := http.CanonicalHeaderKey(k)
		if droppedAnswerHeaders[name] {
			continue
		}
		var one string
		var many []string
		switch {
		case json.Unmarshal(raw, &one) == nil:
			resp.Header.Add(name, one)
		case json.Unmarshal(raw, &many) == nil:
			for _, v := range many {
				resp.Header.Add(name, v)
			}
		}
	}
	if len(out.BinaryData) > 0 && string(out.BinaryData) != "null" {
		return nil, ErrBinaryAnswer
	}
	data := bytes.TrimSpace(out.Data)
	switch {
	case len(data) == 0 || string(data) == "null":
		// No body (or one Composio reports as null).
	case data[0] == '"' && !IsJSONContentType(resp.Header.Get("Content-Type")):
		// A body that is not JSON comes as a JSON string: its text.
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return nil, &DecodeError{Op: r.op, Err: err}
		}
		resp.Body = []byte(s)
	default:
		resp.Body = data
		if resp.Header.Get("Content-Type") == "" {
			resp.Header.Set("Content-Type", "application/json")
		}
	}
	return resp, nil
}
