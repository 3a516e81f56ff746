package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// providerFakes are local stand-ins for the providers' APIs the executor
// calls (it calls them directly, with the connection's credentials, at
// PROVIDER_BASE_URLS). Each answers its methods in the provider's
// documented success shape, so a sample workflow node succeeds offline.
type providerFakes struct {
	servers map[string]*httptest.Server // connector id -> its fake
}

// startProviderFakes starts one fake per connector that has one.
func startProviderFakes() *providerFakes {
	return &providerFakes{servers: map[string]*httptest.Server{
		"slack":  httptest.NewServer(slackFake()),
		"stripe": httptest.NewServer(stripeFake()),
	}}
}

// Has reports whether connector's API has a local fake.
func (p *providerFakes) Has(connector string) bool { return p.servers[connector] != nil }

// Names lists the connectors with a fake, for messages.
func (p *providerFakes) Names() []string {
	names := make([]string, 0, len(p.servers))
	for n := range p.servers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// BaseURLs is the PROVIDER_BASE_URLS value pointing every faked connector
// at its fake (the origin only: the executor appends the API's base path).
func (p *providerFakes) BaseURLs() string {
	pairs := make([]string, 0, len(p.servers))
	for _, n := range p.Names() {
		pairs = append(pairs, n+"="+p.servers[n].URL)
	}
	return strings.Join(pairs, ",")
}

// Close stops every fake.
func (p *providerFakes) Close() {
	for _, s := range p.servers {
		s.Close()
	}
}

// slackFake answers the Slack Web API methods the slack actions call
// (https://api.slack.com/methods/chat.postMessage,
// https://api.slack.com/methods/conversations.list). Slack answers 200 with
// {"ok":false,"error":...} on failure; so does the fake, for a call without
// a bearer token (not_authed) or without a channel (channel_not_found).
func slackFake() http.Handler {
	var seq atomic.Int64
	mux := http.NewServeMux()
	authed := func(w http.ResponseWriter, r *http.Request) bool {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); !ok || tok == "" {
			slackJSON(w, map[string]any{"ok": false, "error": "not_authed"})
			return false
		}
		return true
	}
	mux.HandleFunc("POST /api/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
		if !authed(w, r) {
			return
		}
		var in struct {
			Channel  string `json:"channel"`
			Text     string `json:"text"`
			ThreadTS string `json:"thread_ts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			slackJSON(w, map[string]any{"ok": false, "error": "invalid_json"})
			return
		}
		if in.Channel == "" {
			slackJSON(w, map[string]any{"ok": false, "error": "channel_not_found"})
			return
		}
		// Slack's ts: seconds and a per-channel sequence, unique per message.
		ts := fmt.Sprintf("%d.%06d", time.Now().Unix(), seq.Add(1))
		msg := map[string]any{"type": "message", "user": "U0FAKEBOT", "bot_id": "B0FAKEBOT", "text": in.Text, "ts": ts}
		if in.ThreadTS != "" {
			msg["thread_ts"] = in.ThreadTS
		}
		slackJSON(w, map[string]any{"ok": true, "channel": in.Channel, "ts": ts, "message": msg})
	})
	mux.HandleFunc("GET /api/conversations.list", func(w http.ResponseWriter, r *http.Request) {
		if !authed(w, r) {
			return
		}
		slackJSON(w, map[string]any{
			"ok": true,
			"channels": []map[string]any{
				{"id": "C0123456789", "name": "general", "is_channel": true, "is_private": false, "is_archived": false, "is_member": true},
			},
			"response_metadata": map[string]any{"next_cursor": ""},
		})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		slackJSONStatus(w, http.StatusNotFound, map[string]any{"ok": false, "error": "unknown_method"})
	})
	return mux
}

func slackJSON(w http.ResponseWriter, v any) { slackJSONStatus(w, http.StatusOK, v) }

func slackJSONStatus(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// stripeFake answers Stripe's balance read
// (https://docs.stripe.com/api/balance/balance_retrieve), the test call of
// a Stripe API key: a secret or restricted key is accepted, anything else
// refused with Stripe's 401 error body.
func stripeFake() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/balance", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		key, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !strings.HasPrefix(key, "sk_") && !strings.HasPrefix(key, "rk_") {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "Invalid API Key provided"}})
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"object": "balance", "livemode": false,
			"available": []any{map[string]any{"amount": 0, "currency": "usd"}}, "pending": []any{}})
	})
	return mux
}
