package localdev_test

import (
	"io"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/automators/connectors/internal/local/localdev"
)

// TestCORSDefault: with CORS_ALLOW_ORIGINS unset, the handlers' answers
// allow the same origin the local API's preflight allows.
func TestCORSDefault(t *testing.T) {
	app, err := localdev.New(t.Context(), localdev.Options{
		Dir:       t.TempDir(),
		Getenv:    func(string) string { return "" },
		LogOutput: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	h := app.Handlers()["nango-list-connections"]
	if h == nil {
		t.Fatal("no nango-list-connections handler")
	}
	for _, tc := range []struct{ origin, want string }{
		{localdev.DefaultCORSOrigin, localdev.DefaultCORSOrigin},
		{"https://evil.example", ""},
	} {
		resp, err := h(t.Context(), events.APIGatewayV2HTTPRequest{
			RouteKey: "GET /api/v1/nango/connections",
			Headers:  map[string]string{"origin": tc.origin},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/api/v1/nango/connections"},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 401 {
			t.Errorf("status %d without a token, want 401", resp.StatusCode)
		}
		if got := resp.Headers["Access-Control-Allow-Origin"]; got != tc.want {
			t.Errorf("origin %s: Access-Control-Allow-Origin = %q, want %q", tc.origin, got, tc.want)
		}
	}
}
