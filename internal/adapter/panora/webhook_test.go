package panora_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/automators/connectors/internal/adapter/panora"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/tstest/panoracontract"
)

// secrets is a secret store: cached holds until a fresh read, which returns
// fresh (cached when fresh is nil).
type secrets struct {
	cached, fresh []string
	reads         atomic.Int32
}

func (s *secrets) get(_ context.Context, fresh bool) ([]string, error) {
	if fresh {
		s.reads.Add(1)
		if s.fresh == nil {
			return s.cached, nil
		}
		return s.fresh, nil
	}
	return s.cached, nil
}

func TestWebhooks(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, pc := e.connect(t, org, user, "crm", "hubspot")
	body, header, err := e.fake.Webhook(panora.EventConnectionCreated, pc.ID)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w := func(s *secrets) panora.Webhooks { return panora.Webhooks{Secrets: s.get} }

	t.Run("good", func(t *testing.T) {
		s := &secrets{cached: []string{webhookSecret}}
		ev, err := w(s).Event(ctx, body, header)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Provider != connectors.ProviderPanora || ev.Kind != connectors.EventConnected || ev.ConnectionID != pc.ID ||
			ev.ProviderConfigKey != "hubspot" || ev.Operation != "connection.created" || ev.Claimed != nil {
			t.Errorf("event %+v", ev)
		}
		if s.reads.Load() != 0 {
			t.Errorf("a good signature re-read the secrets")
		}
	})
	t.Run("rotation: old and new secrets", func(t *testing.T) {
		s := &secrets{cached: []string{"old-secret", webhookSecret}}
		if _, err := w(s).Event(ctx, body, header); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("rotation: the cached secret is stale", func(t *testing.T) {
		s := &secrets{cached: []string{"old-secret"}, fresh: []string{webhookSecret}}
		if _, err := w(s).Event(ctx, body, header); err != nil || s.reads.Load() != 1 {
			t.Fatalf("err %v, fresh reads %d", err, s.reads.Load())
		}
	})
	t.Run("bad secret", func(t *testing.T) {
		s := &secrets{cached: []string{"wrong"}, fresh: []string{"still-wrong"}}
		_, err := w(s).Event(ctx, body, header)
		if code(err) != connectors.EUnauthorized {
			t.Fatalf("got %v", err)
		}
		noSecrets(t, err, pc.ConnectionToken)
	})
	t.Run("tampered data", func(t *testing.T) {
		s := &secrets{cached: []string{webhookSecret}}
		forged := bytes.Replace(body, []byte(`\"status\":\"valid\"`), []byte(`\"status\":\"valid\" `), 1)
		if bytes.Equal(forged, body) {
			t.Fatal("nothing tampered")
		}
		if _, err := w(s).Event(ctx, forged, header); code(err) != connectors.EUnauthorized {
			t.Errorf("got %v", err)
		}
	})
	t.Run("no signature: no re-read", func(t *testing.T) {
		s := &secrets{cached: []string{webhookSecret}}
		if _, err := w(s).Event(ctx, body, http.Header{}); code(err) != connectors.EUnauthorized || s.reads.Load() != 0 {
			t.Errorf("got %v, %d reads", err, s.reads.Load())
		}
	})
	t.Run("no secrets", func(t *testing.T) {
		if _, err := w(&secrets{}).Event(ctx, body, header); code(err) != connectors.ENotConfigured {
			t.Errorf("got %v", err)
		}
		if _, err := (panora.Webhooks{}).Event(ctx, body, header); code(err) != connectors.ENotConfigured {
			t.Errorf("nil Secrets: %v", err)
		}
	})
	t.Run("secret store fails", func(t *testing.T) {
		boom := errors.New("secrets manager down")
		wh := panora.Webhooks{Secrets: func(context.Context, bool) ([]string, error) { return nil, boom }}
		if _, err := wh.Event(ctx, body, header); !errors.Is(err, boom) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("provider config key mapping", func(t *testing.T) {
		wh := panora.Webhooks{Secrets: (&secrets{cached: []string{webhookSecret}}).get, ProviderConfigKey: func(c string) string { return "pck-" + c }}
		if ev, err := wh.Event(ctx, body, header); err != nil || ev.ProviderConfigKey != "pck-hubspot" {
			t.Errorf("event %+v, %v", ev, err)
		}
	})
	t.Run("the fake's delivery is the document's Connection", func(t *testing.T) {
		panoracontract.Load(t).CheckWebhook(t, body)
	})
}

// TestWebhookKinds: the kind comes from the type and the signed
// connection's status; the type is not signed, so a relabelled delivery
// whose status contradicts it is ignored.
func TestWebhookKinds(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, hub := e.connect(t, org, user, "crm", "hubspot")
	_, pipe := e.connect(t, org, user, "crm", "pipedrive")
	wh := panora.Webhooks{Secrets: (&secrets{cached: []string{webhookSecret}}).get}
	ctx := context.Background()
	event := func(typ, id string) *connectors.ConnectionEvent {
		t.Helper()
		body, header, err := e.fake.Webhook(typ, id)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := wh.Event(ctx, body, header)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		return ev
	}
	if ev := event("connection.created", pipe.ID); ev.Kind != connectors.EventIgnored || ev.ConnectionID != "" {
		t.Errorf("an app this service does not use: %+v", ev)
	}
	if ev := event("crm.contact.created", hub.ID); ev.Kind != connectors.EventIgnored {
		t.Errorf("not a connection event: %+v", ev)
	}
	if ev := event("connection.invalid", hub.ID); ev.Kind != connectors.EventIgnored {
		t.Errorf("'invalid' for a valid connection (relabelled): %+v", ev)
	}
	e.fake.SetStatus(hub.ID, "invalid")
	if ev := event("connection.invalid", hub.ID); ev.Kind != connectors.EventRefreshFailed || ev.ConnectionID != hub.ID {
		t.Errorf("invalid: %+v", ev)
	}
	if ev := event("connection.expired", hub.ID); ev.Kind != connectors.EventRefreshFailed {
		t.Errorf("expired: %+v", ev)
	}
	if ev := event("connection.created", hub.ID); ev.Kind != connectors.EventIgnored {
		t.Errorf("'created' for an invalid connection: %+v", ev)
	}
}

// TestWebhookAgreesWithPanorasCheck: what Event accepts, Panora's own
// POST /webhooks/verifyEvent accepts (with the received body as payload),
// and what it refuses Panora refuses.
func TestWebhookAgreesWithPanorasCheck(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, pc := e.connect(t, org, user, "crm", "hubspot")
	body, header, err := e.fake.Webhook(panora.EventConnectionCreated, pc.ID)
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(body, &payload); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{webhookSecret, "another"} {
		local := panora.VerifyWebhook(body, header, []string{secret})
		in, _ := json.Marshal(map[string]any{"payload": payload, "signature": header.Get(panora.HeaderSignature), "secret": secret})
		req, _ := http.NewRequest("POST", e.url+"/webhooks/verifyEvent", bytes.NewReader(in))
		req.Header.Set("x-api-key", apiKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := (&http.Client{Transport: e.v}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if (local == nil) != (resp.StatusCode == http.StatusCreated) {
			t.Errorf("secret %q: local %v, Panora %d", secret, local, resp.StatusCode)
		}
	}
}

func TestVerifyWebhook(t *testing.T) {
	data := `"{\"id_connection\":\"c\"}"`
	body := []byte(`{"id_event":"e","data":` + data + `,"type":"connection.created"}`)
	sig := panora.SignWebhook([]byte(data), "k1")
	h := func(v string) http.Header { return http.Header{"Panora-Signature": {v}} }
	for _, tt := range []struct {
		name   string
		body   []byte
		header http.Header
		keys   []string
		want   error
	}{
		{"good", body, h(sig), []string{"k1"}, nil},
		{"upper-case hex", body, h(strings.ToUpper(sig)), []string{"k1"}, nil},
		{"second key", body, h(sig), []string{"k0", "k1"}, nil},
		{"empty key skipped", body, h(sig), []string{"", "k1"}, nil},
		{"wrong key", body, h(sig), []string{"k2"}, panora.ErrBadSignature},
		{"no keys", body, h(sig), nil, panora.ErrNoSecrets},
		{"not hex", body, h("zz"), []string{"k1"}, panora.ErrBadSignature},
		{"short", body, h(sig[:10]), []string{"k1"}, panora.ErrBadSignature},
		{"no data", []byte(`{"id_event":"e","type":"x"}`), h(sig), []string{"k1"}, panora.ErrBadSignature},
		{"not JSON", []byte(`nope`), h(sig), []string{"k1"}, panora.ErrBadSignature},
		{"whitespace around data is not signed", []byte(`{"id_event":"e","data": ` + data + ` ,"type":"x"}`), h(sig), []string{"k1"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := panora.VerifyWebhook(tt.body, tt.header, tt.keys); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func FuzzWebhookEvent(f *testing.F) {
	f.Add([]byte(`{"id_event":"e","data":"{\"id_connection\":\"c\",\"provider_slug\":\"hubspot\",\"vertical\":\"crm\",\"status\":\"valid\"}","type":"connection.created"}`))
	f.Add([]byte(`{"data":{"id_connection":"c"},"type":"connection.invalid"}`))
	f.Add([]byte(`{"data":"x","type":"connection.created"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(body, &env)
		header := http.Header{"Panora-Signature": {panora.SignWebhook(env.Data, "k")}}
		wh := panora.Webhooks{Secrets: func(context.Context, bool) ([]string, error) { return []string{"k"}, nil }}
		ev, err := wh.Event(context.Background(), body, header)
		if err == nil && ev.Kind != connectors.EventIgnored && !connectors.ValidID(ev.ConnectionID) {
			t.Errorf("event with an invalid connection id: %+v", ev)
		}
	})
}
