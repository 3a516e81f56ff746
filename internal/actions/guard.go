package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// reads is what an action's guard sends its requests through: GET
// requests to the action's provider, each authenticated with the
// credential the guard chooses, sent by sendDirect and answered by answer
// like the action's own request, so that their failures are classified
// (401, 429, 5xx, network) and scrubbed of credentials the same way.
//
// A guard's reads go directly to the provider, never through a proxy: a
// proxy authenticates with the connection's credentials and could not
// honour the guard's choice.
type reads struct {
	s    *spec
	ctx  context.Context
	doer Doer
	req  Request
}

// get sends GET path?query, authenticated with cred, and decodes the JSON
// answer into v. A failed answer is the *connectors.Error answer makes of
// it, with a *ProviderError cause that a guard may inspect (a 404 that
// means "not yours" rather than a failure).
func (r *reads) get(path string, query url.Values, cred registry.Credential, v any) error {
	c := &call{method: http.MethodGet, path: path, query: query, header: http.Header{}, credential: cred}
	status, header, body, err := r.s.sendDirect(r.ctx, r.doer, r.req, c)
	if err != nil {
		return err
	}
	if err := r.s.answer(cred, status, header, body, r.req.Credentials); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return connectors.Wrap(err, connectors.EUpstream, r.s.key+": the provider's answer to "+path+" is not the JSON it documents")
	}
	return nil
}
