package panora

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/automators/connectors/internal/connectors"
)

// droppedHeaders are a call's headers Panora's passthrough must not get:
// credentials (Panora adds the connection's, and a caller's would replace
// them: constructPassthrough spreads the call's headers before its own
// Authorization, the HubSpot service after), what describes this request's
// transfer, and the content type, which Panora sets for JSON.
var droppedHeaders = map[string]bool{
	"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "X-Api-Key": true, "X-Connection-Token": true,
	"Host": true, "Connection": true, "Keep-Alive": true, "Transfer-Encoding": true, "Te": true, "Trailer": true,
	"Upgrade": true, "Content-Length": true, "Content-Type": true, "Accept-Encoding": true,
}

// passthroughRequest is call as Panora's passthrough takes it: GET or POST
// only, the path relative to the connection's account_url with the query
// in it, a JSON object body, the headers as strings.
func passthroughRequest(call connectors.ProxyCall) (PassthroughRequest, error) {
	method := strings.ToUpper(call.Method)
	if method == "" {
		method = http.MethodGet
	}
	if method != http.MethodGet && method != http.MethodPost {
		return PassthroughRequest{}, connectors.Errorf(connectors.ENotImplemented,
			"Panora's passthrough sends only GET and POST requests, not %s", method)
	}
	path := strings.TrimLeft(call.Path, "/")
	if len(call.Query) > 0 {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + call.Query.Encode()
	}
	var data json.RawMessage
	if b := bytes.TrimSpace(call.Body); len(b) > 0 {
		var obj map[string]json.RawMessage
		if b[0] != '{' || json.Unmarshal(b, &obj) != nil {
			return PassthroughRequest{}, connectors.Errorf(connectors.EInvalid,
				"Panora's passthrough sends a JSON object as the body (its PassThroughRequestDto's data)")
		}
		data = json.RawMessage(b)
	}
	var headers map[string]string
	for k, vs := range call.Header {
		name := http.CanonicalHeaderKey(k)
		if droppedHeaders[name] || len(vs) == 0 {
			continue
		}
		if headers == nil {
			headers = map[string]string{}
		}
		headers[name] = strings.Join(vs, ", ")
	}
	return PassthroughRequest{Method: method, Path: path, Data: data, Headers: headers}, nil
}
