package nango_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/automators/connectors/internal/adapter/nango"
	"github.com/automators/connectors/internal/local/nangofake"
)

// BenchmarkGetConnection measures a GetConnection against the fake over
// loopback with the shared keep-alive transport (no contract validation):
// the client's overhead plus the fake's, which bounds the client's from above.
func BenchmarkGetConnection(b *testing.B) {
	fake := nangofake.New(nangofake.Options{SecretKey: secretKey, Integrations: []nangofake.Integration{{UniqueKey: "slack", Provider: "slack"}}})
	url := fake.Start()
	defer fake.Close()
	c := nango.New(url, secretKey)
	ctx := context.Background()
	s, err := c.CreateConnectSession(ctx, nango.ConnectSessionRequest{Tags: map[string]string{"organization_id": "o1"}})
	if err != nil {
		b.Fatal(err)
	}
	id, err := fake.CompleteSession(s.Token)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetConnection(ctx, "slack", id, nango.GetConnectionOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// cannedTransport answers every request with the same recorded answer, so a
// benchmark measures the client alone: building the request, the retry
// loop, reading and decoding the answer.
type cannedTransport struct {
	status int
	header http.Header
	body   []byte
}

func (c *cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: c.status, Header: c.header, Body: io.NopCloser(bytes.NewReader(c.body)), Request: r}, nil
}

// BenchmarkGetConnectionClientOnly is the client's own overhead per
// GetConnection, on an answer recorded from the fake.
func BenchmarkGetConnectionClientOnly(b *testing.B) {
	fake := nangofake.New(nangofake.Options{SecretKey: secretKey, Integrations: []nangofake.Integration{{UniqueKey: "slack", Provider: "slack"}}})
	url := fake.Start()
	defer fake.Close()
	ctx := context.Background()
	s, err := nango.New(url, secretKey).CreateConnectSession(ctx, nango.ConnectSessionRequest{Tags: map[string]string{"organization_id": "o1"}})
	if err != nil {
		b.Fatal(err)
	}
	id, err := fake.CompleteSession(s.Token)
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest("GET", url+"/connections/"+id+"?provider_config_key=slack", nil)
	req.Header.Set("Authorization", "Bearer "+secretKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	c := nango.New(url, secretKey, nango.WithHTTPClient(&http.Client{Transport: &cannedTransport{resp.StatusCode, resp.Header, body}}))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetConnection(ctx, "slack", id, nango.GetConnectionOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
