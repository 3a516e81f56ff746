package panorafake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// upstreamClient sends the passthrough's requests.
var upstreamClient = &http.Client{Timeout: 30 * time.Second}

// upstreamRequest is a passthrough request as the fake sends it upstream.
type upstreamRequest struct {
	method string
	url    string
	header http.Header
	body   []byte
}

// retryJob is a rate-limited passthrough request in the retry queue.
type retryJob struct {
	id     string
	req    upstreamRequest
	done   bool
	result map[string]any // the provider's answer once done; nil for a failed job
}

// RateLimitNext makes the next n passthrough requests answer as when the
// provider rate limited them: queued for retry, without reaching the
// upstream (RunRetries sends them).
func (s *Server) RateLimitNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitNext += n
}

// PendingRetries is how many queued passthrough requests have not finished.
func (s *Server) PendingRetries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, j := range s.jobs {
		if !j.done {
			n++
		}
	}
	return n
}

// RunRetries is one round of Panora's retry worker
// (request-retry/retry.consumer.ts): each queued request is sent upstream
// again; one the provider rate limits again stays queued, any other
// finishes (a provider error finishes it with no result, as a failed job).
func (s *Server) RunRetries(ctx context.Context) {
	s.mu.Lock()
	var pending []*retryJob
	for _, id := range s.jobOrder {
		if j := s.jobs[id]; !j.done {
			pending = append(pending, j)
		}
	}
	s.mu.Unlock()
	for _, j := range pending {
		resp, err := send(ctx, j.req)
		s.mu.Lock()
		switch {
		case err != nil:
			j.done = true
		case resp.StatusCode == http.StatusTooManyRequests:
		case resp.StatusCode/100 == 2:
			j.done, j.result = true, axiosResponse(resp)
		default:
			j.done = true
		}
		s.mu.Unlock()
		if resp != nil {
			resp.Body.Close()
		}
	}
}

func send(ctx context.Context, u upstreamRequest) (*http.Response, error) {
	var body io.Reader
	if u.body != nil {
		body = bytes.NewReader(u.body)
	}
	req, err := http.NewRequestWithContext(ctx, u.method, u.url, body)
	if err != nil {
		return nil, err
	}
	req.Header = u.header.Clone()
	return upstreamClient.Do(req)
}

// passthrough is POST /passthrough (passthrough.controller.ts and
// passthrough.service.ts; the request is built as
// connections/@utils/base.service.ts constructPassthrough builds it and sent
// as request-retry/retry.handler.ts makeRequest sends it):
//   - the connection is the one with the x-connection-token, in any project
//     (getConnectionMetadataFromConnectionToken); none is a 500 naming the
//     token, as Panora's;
//   - the URL is `${overrideBaseUrl || account_url}/${path}` (the fake's
//     upstream for the slug replacing account_url);
//   - the provider's access token goes as Authorization: Bearer, the
//     call's headers with it; request_format "JSON" (the default when the
//     field is absent) sends data as JSON with Content-Type
//     application/json, and any other value sends no body. The fake sends
//     no body with a GET (axios would send the JSON);
//   - the answer is 201 (NestJS's default for a POST): the provider's
//     answer as {status, statusText, headers, data}; for a provider 429,
//     {statusCode: 200, retryId} and the request queued; for any other
//     provider error a 500 "Request failed with status code <status>".
func (s *Server) passthrough(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Method          string          `json:"method"`
		Path            *string         `json:"path"`
		Data            json.RawMessage `json:"data"`
		RequestFormat   json.RawMessage `json:"request_format"`
		OverrideBaseURL json.RawMessage `json:"overrideBaseUrl"`
		Headers         map[string]any  `json:"headers"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	token := r.Header.Get("x-connection-token")
	s.mu.Lock()
	var c *connection
	for _, x := range s.conns {
		if x.Token == token && token != "" {
			c = x
		}
	}
	var base string
	if c != nil {
		base = c.AccountURL
		if u, ok := s.upstreams[c.Slug]; ok {
			base = u
		}
	}
	s.mu.Unlock()
	if c == nil {
		writeError(w, r, http.StatusInternalServerError, "Connection undefined for token "+token)
		return
	}
	var override string
	if json.Unmarshal(in.OverrideBaseURL, &override) == nil && override != "" {
		base = override
	}
	path := ""
	if in.Path != nil {
		path = *in.Path
	}
	u := upstreamRequest{method: strings.ToUpper(in.Method), url: base + "/" + path, header: http.Header{}}
	for k, v := range in.Headers {
		u.header.Set(k, fmt.Sprint(v))
	}
	u.header.Set("Authorization", "Bearer "+s.UpstreamToken(c.ID))
	format := "JSON"
	if len(in.RequestFormat) > 0 {
		format = ""
		_ = json.Unmarshal(in.RequestFormat, &format)
	}
	switch format {
	case "JSON":
		u.header.Set("Content-Type", "application/json")
		if u.method != http.MethodGet && len(in.Data) > 0 && string(in.Data) != "null" {
			u.body = in.Data
		}
	case "MULTIPART":
		writeError(w, r, http.StatusInternalServerError, "panorafake: MULTIPART passthrough is not supported")
		return
	}

	s.mu.Lock()
	limited := s.limitNext > 0
	if limited {
		s.limitNext--
	}
	s.mu.Unlock()
	if limited {
		s.queue(w, u)
		return
	}
	resp, err := send(r.Context(), u)
	if err != nil {
		writeError(w, r, http.StatusInternalServerError, "connect ECONNREFUSED")
		return
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		s.queue(w, u)
	case resp.StatusCode/100 == 2:
		writeJSON(w, http.StatusCreated, axiosResponse(resp))
	default:
		writeError(w, r, http.StatusInternalServerError, fmt.Sprintf("Request failed with status code %d", resp.StatusCode))
	}
}

// queue puts u in the retry queue and answers as Panora does.
func (s *Server) queue(w http.ResponseWriter, u upstreamRequest) {
	id := uuid.NewString()
	s.mu.Lock()
	s.jobs[id] = &retryJob{id: id, req: u}
	s.jobOrder = append(s.jobOrder, id)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"statusCode": 200, "retryId": id})
}

// retriedResponse is GET /passthrough/{retryId} (retry.handler.ts,
// getRetryStatus): the job's result once it finished, else nothing.
func (s *Server) retriedResponse(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	j, ok := s.jobs[r.PathValue("retryId")]
	var result map[string]any
	if ok && j.done {
		result = j.result
	}
	s.mu.Unlock()
	if result == nil {
		writeNothing(w)
		return
	}
	writeJSON(w, http.StatusOK, result)
}

// axiosResponse is the provider's answer as axios reports it: status,
// statusText, headers by lower-case name (set-cookie a list, others one
// string), data parsed when it is JSON, else the text.
func axiosResponse(resp *http.Response) map[string]any {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	headers := map[string]any{}
	for k, vs := range resp.Header {
		name := strings.ToLower(k)
		if name == "set-cookie" {
			headers[name] = vs
			continue
		}
		headers[name] = strings.Join(vs, ", ")
	}
	var data any = string(b)
	if t := bytes.TrimSpace(b); len(t) > 0 && json.Valid(t) {
		data = json.RawMessage(t)
	}
	return map[string]any{
		"status": resp.StatusCode, "statusText": http.StatusText(resp.StatusCode), "headers": headers, "data": data,
	}
}
