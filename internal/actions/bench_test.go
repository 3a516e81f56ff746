package actions

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/automators/connectors/internal/connectors"
)

// cannedDoer answers requests in process with canned responses, in turn
// (an action with a guard sends its reads first), so that a benchmark
// measures request building and response decoding only.
type cannedDoer struct {
	answers []cannedAnswer
	n       int
}

type cannedAnswer struct {
	status int
	body   []byte
}

func newCannedDoer(tc requestCase) *cannedDoer {
	d := &cannedDoer{}
	for _, e := range tc.exchanges() {
		d.answers = append(d.answers, cannedAnswer{e.status, []byte(e.answer)})
	}
	return d
}

func (d *cannedDoer) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	a := d.answers[d.n%len(d.answers)]
	d.n++
	return &http.Response{
		StatusCode: a.status,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(bytes.NewReader(a.body)),
	}, nil
}

// BenchmarkRun measures each action's warm path without a network: validate
// parameters, build the documented request, pass it to an in-process Doer
// (or Proxy, for Trello) and decode the provider's canned answer.
func BenchmarkRun(b *testing.B) {
	cat := testCatalogue(b)
	ctx := context.Background()
	for _, tc := range requestCases() {
		b.Run(tc.connector+"."+tc.action, func(b *testing.B) {
			doer := newCannedDoer(tc)
			req := Request{
				Connector: tc.connector, Action: tc.action, Params: tc.params,
				Credentials: tc.creds, IdempotencyKey: tc.idempotencyKey,
				BaseURL: "https://provider.test",
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cat.Run(ctx, doer, nil, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, tc := range []struct {
		action string
		params map[string]any
		answer string
	}{
		{"create_card", map[string]any{"list_id": "5abbe4b7ddc1b351ef961414", "name": "Write docs"}, `{"id":"5abbe4b7ddc1b351ef961415","name":"Write docs"}`},
		{"list_cards", map[string]any{"list_id": "5abbe4b7ddc1b351ef961414"}, `[{"id":"c1","name":"a"},{"id":"c2","name":"b"}]`},
	} {
		b.Run("trello."+tc.action, func(b *testing.B) {
			body := []byte(tc.answer)
			proxy := connectors.ProxyFunc(func(context.Context, connectors.ProxyCall) (int, http.Header, []byte, error) {
				return 200, nil, body, nil
			})
			req := Request{Connector: "trello", Action: tc.action, Params: tc.params}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cat.Run(ctx, nil, proxy, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify measures one credential test call per iteration against
// an httptest server on loopback (a real HTTP round trip, kept alive):
// build the call, authenticate it, send it, map the answer.
func BenchmarkVerify(b *testing.B) {
	cat := testCatalogue(b)
	ctx := context.Background()
	for _, vc := range verifyCalls() {
		b.Run(vc.connector, func(b *testing.B) {
			body := []byte(vc.accepted)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "application/json")
				w.Write(body)
			}))
			defer srv.Close()
			client := srv.Client()
			creds := apiKeyCreds(b, vc.connector)
			b.ReportAllocs()
			for b.Loop() {
				if err := cat.Verify(ctx, client, vc.connector, creds, srv.URL); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
