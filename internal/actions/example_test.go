package actions_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/automators/connectors/internal/actions"
	"github.com/automators/connectors/internal/adapter/jsonschema"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/registry"
)

// ExampleCatalogue_Run builds the catalogue once, as wiring does, and runs
// Slack's send_message against a test server standing in for Slack.
func ExampleCatalogue_Run() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Println(r.Method, r.URL.Path, r.Header.Get("Authorization"))
		fmt.Println(string(body))
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1712345678.000100"}`)
	}))
	defer srv.Close()

	cat, err := actions.NewCatalogue(registry.Default(), jsonschema.Compiler{})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, _ := cat.Registry().Lookup("slack")
	fmt.Println(m.Actions)

	out, err := cat.Run(context.Background(), srv.Client(), nil, actions.Request{
		Connector:   "slack",
		Action:      "send_message",
		Params:      map[string]any{"channel": "C1", "text": "Build passed"},
		Credentials: connectors.Credentials{AccessToken: "xoxb-example"},
		BaseURL:     srv.URL, // the documented path, /api, is kept
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out["ok"], out["ts"])
	// Output:
	// [send_message list_channels update_message add_reaction lookup_user_by_email]
	// POST /api/chat.postMessage Bearer xoxb-example
	// {"channel":"C1","text":"Build passed"}
	// true 1712345678.000100
}
