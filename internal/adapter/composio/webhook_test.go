package composio_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/automators/connectors/internal/adapter/composio"
	"github.com/automators/connectors/internal/connectors"
	"github.com/automators/connectors/internal/local/composiofake"
)

// secrets is a WebhookSecrets that answers cached until asked fresh.
type secrets struct {
	cached, fresh []string
	err           error
	calls         []bool
}

func (s *secrets) get(_ context.Context, fresh bool) ([]string, error) {
	s.calls = append(s.calls, fresh)
	if s.err != nil {
		return nil, s.err
	}
	if fresh && s.fresh != nil {
		return s.fresh, nil
	}
	return s.cached, nil
}

func TestWebhookEvents(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	id, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: composio.UserID("acme", "u/1")})
	w := composio.Webhooks{Secrets: (&secrets{cached: []string{webhookSecret}}).get}

	_ = e.fake.Expire(id)
	body, h, err := e.fake.Event(composiofake.EventConnectedAccountExpired, id)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := w.Event(ctx, body, h)
	if err != nil {
		t.Fatal(err)
	}
	want := connectors.ConnectionEvent{Provider: connectors.ProviderComposio, Kind: connectors.EventRefreshFailed, Operation: "EXPIRED",
		ProviderConfigKey: acSlack, ConnectionID: id, Claimed: &connectors.Owner{OrganizationID: "acme", UserID: "u/1"}}
	if ev.Provider != want.Provider || ev.Kind != want.Kind || ev.Operation != want.Operation || ev.ProviderConfigKey != want.ProviderConfigKey ||
		ev.ConnectionID != want.ConnectionID || ev.Claimed == nil || *ev.Claimed != *want.Claimed {
		t.Errorf("event = %+v, want %+v", ev, want)
	}

	_ = e.fake.SetStatus(id, "FAILED", "")
	body, h, _ = e.fake.Event("composio.connected_account.failed", id)
	if ev, err := w.Event(ctx, body, h); err != nil || ev.Kind != connectors.EventRefreshFailed || ev.Operation != "FAILED" {
		t.Errorf("failed: %+v, %v", ev, err)
	}
	for _, st := range []string{"ACTIVE", "INACTIVE", "INITIATED"} {
		_ = e.fake.SetStatus(id, st, "")
		body, h, _ = e.fake.Event("composio.connected_account.updated", id)
		if ev, err := w.Event(ctx, body, h); err != nil || ev.Kind != connectors.EventIgnored || ev.Operation != st || ev.ConnectionID != id {
			t.Errorf("%s: %+v, %v", st, ev, err)
		}
	}
	// A trigger event: acknowledged, ignored.
	body, h, _ = composiofake.SignedEvent([]string{webhookSecret}, composiofake.EventTriggerMessage, map[string]any{"trigger_slug": "SLACK_NEW_MESSAGE"}, time.Now())
	if ev, err := w.Event(ctx, body, h); err != nil || ev.Kind != connectors.EventIgnored || ev.Operation != composiofake.EventTriggerMessage || ev.ConnectionID != "" {
		t.Errorf("trigger: %+v, %v", ev, err)
	}
	// An account under a user id this service does not make: ignored, no claim.
	foreign, _ := e.fake.CreateAccount(composiofake.AccountSpec{AuthConfigID: acSlack, UserID: "someone", Status: "EXPIRED"})
	body, h, _ = e.fake.Event(composiofake.EventConnectedAccountExpired, foreign)
	if ev, err := w.Event(ctx, body, h); err != nil || ev.Kind != connectors.EventIgnored || ev.Claimed != nil {
		t.Errorf("foreign: %+v, %v", ev, err)
	}
	// An account id no connection could have.
	body, h, _ = composiofake.SignedEvent([]string{webhookSecret}, composiofake.EventConnectedAccountExpired, map[string]any{"id": "", "status": "EXPIRED"}, time.Now())
	if _, err := w.Event(ctx, body, h); code(t, err) != connectors.EInvalid {
		t.Errorf("no id: %v", err)
	}
	// A signed body that is not JSON.
	h = sign(t, webhookSecret, "msg_1", time.Now(), []byte("not json"))
	if _, err := w.Event(ctx, []byte("not json"), h); code(t, err) != connectors.EInvalid {
		t.Errorf("not JSON: %v", err)
	}
}

// sign returns Standard Webhooks headers for body, keyed as Composio keys.
func sign(t testing.TB, secret, id string, ts time.Time, body []byte) http.Header {
	t.Helper()
	h := http.Header{}
	h.Set(composio.HeaderWebhookID, id)
	h.Set(composio.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(composio.HeaderWebhookSignature, composio.SignWebhook(secret, id, ts, body))
	return h
}

func TestWebhookSignatures(t *testing.T) {
	ctx := context.Background()
	body := []byte(`{"id":"msg_1","type":"composio.trigger.message","data":{}}`)
	now := time.Now()
	ok := func(err error) bool { return err == nil }
	refused := func(err error) bool { return connectors.ErrorCode(err) == connectors.EUnauthorized }

	// The Standard Webhooks form: the HMAC keyed with the decoded
	// whsec_ secret, signed by the reference library.
	std, err := standardwebhooks.NewWebhook(webhookSecret)
	if err != nil {
		t.Fatal(err)
	}
	stdSig, _ := std.Sign("msg_1", now, body)
	other := sign(t, "whsec_b3RoZXI=", "msg_1", now, body).Get(composio.HeaderWebhookSignature)

	tests := []struct {
		name   string
		header http.Header
		body   []byte
		want   func(error) bool
	}{
		{"good", sign(t, webhookSecret, "msg_1", now, body), body, ok},
		{"standard webhooks key", hdr("msg_1", now, stdSig), body, ok},
		{"one good signature among several", hdr("msg_1", now, other+" "+sign(t, webhookSecret, "msg_1", now, body).Get(composio.HeaderWebhookSignature)), body, ok},
		{"bad signature", hdr("msg_1", now, other), body, refused},
		{"body changed", sign(t, webhookSecret, "msg_1", now, body), append([]byte(" "), body...), refused},
		{"id changed", hdr("msg_2", now, sign(t, webhookSecret, "msg_1", now, body).Get(composio.HeaderWebhookSignature)), body, refused},
		{"stale", sign(t, webhookSecret, "msg_1", now.Add(-6*time.Minute), body), body, refused},
		{"from the future", sign(t, webhookSecret, "msg_1", now.Add(6*time.Minute), body), body, refused},
		{"within tolerance", sign(t, webhookSecret, "msg_1", now.Add(-4*time.Minute), body), body, ok},
		{"no headers", http.Header{}, body, refused},
		{"no id", hdr("", now, sign(t, webhookSecret, "", now, body).Get(composio.HeaderWebhookSignature)), body, refused},
		{"timestamp not a number", func() http.Header {
			h := sign(t, webhookSecret, "msg_1", now, body)
			h.Set(composio.HeaderWebhookTimestamp, "soon")
			return h
		}(), body, refused},
		{"unknown version", hdr("msg_1", now, strings.Replace(sign(t, webhookSecret, "msg_1", now, body).Get(composio.HeaderWebhookSignature), "v1,", "v2,", 1)), body, refused},
		{"the secret itself as signature", hdr("msg_1", now, "v1,"+base64.StdEncoding.EncodeToString([]byte(webhookSecret))), body, refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := composio.Webhooks{Secrets: (&secrets{cached: []string{webhookSecret}}).get}
			_, err := w.Event(ctx, tt.body, tt.header)
			if !tt.want(err) {
				t.Errorf("Event: %v", err)
			}
			noSecret(t, err)
		})
	}
}

func hdr(id string, ts time.Time, sig string) http.Header {
	h := http.Header{}
	if id != "" {
		h.Set(composio.HeaderWebhookID, id)
	}
	h.Set(composio.HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(composio.HeaderWebhookSignature, sig)
	return h
}

// TestWebhookRotation: a signature matching none of the cached secrets
// re-reads them once; a rotation on Composio's side (two signatures) works
// with either secret.
func TestWebhookRotation(t *testing.T) {
	ctx := context.Background()
	const newSecret = "whsec_bmV3LXNlY3JldC10d28="
	body := []byte(`{"id":"msg_1","type":"composio.trigger.message"}`)
	now := time.Now()

	s := &secrets{cached: []string{webhookSecret}, fresh: []string{webhookSecret, newSecret}}
	if _, err := (composio.Webhooks{Secrets: s.get}).Event(ctx, body, sign(t, newSecret, "m", now, body)); err != nil {
		t.Fatalf("signed with the rotated secret: %v", err)
	}
	if len(s.calls) != 2 || s.calls[0] || !s.calls[1] {
		t.Errorf("secret reads %v, want cached then fresh", s.calls)
	}
	s = &secrets{cached: []string{webhookSecret}}
	if _, err := (composio.Webhooks{Secrets: s.get}).Event(ctx, body, sign(t, webhookSecret, "m", now, body)); err != nil || len(s.calls) != 1 {
		t.Errorf("a cached secret re-read the store: %v %v", err, s.calls)
	}
	// The fake signing with both secrets during a rotation.
	both, h, err := composiofake.SignedEvent([]string{webhookSecret, newSecret}, composiofake.EventTriggerMessage, map[string]any{}, now)
	if err != nil || len(strings.Fields(h.Get(composio.HeaderWebhookSignature))) != 2 {
		t.Fatalf("SignedEvent: %v %v", h, err)
	}
	for _, only := range []string{webhookSecret, newSecret} {
		if _, err := (composio.Webhooks{Secrets: (&secrets{cached: []string{only}}).get}).Event(ctx, both, h); err != nil {
			t.Errorf("with only one secret: %v", err)
		}
	}
	// An old secret alone no longer verifies.
	s = &secrets{cached: []string{newSecret}, fresh: []string{newSecret}}
	if _, err := (composio.Webhooks{Secrets: s.get}).Event(ctx, body, sign(t, webhookSecret, "m", now, body)); connectors.ErrorCode(err) != connectors.EUnauthorized {
		t.Errorf("retired secret: %v", err)
	}

	// No secret configured, or the store failing.
	for _, w := range []composio.Webhooks{{}, {Secrets: (&secrets{}).get}, {Secrets: (&secrets{cached: []string{""}}).get}} {
		if _, err := w.Event(ctx, body, sign(t, webhookSecret, "m", now, body)); connectors.ErrorCode(err) != connectors.ENotConfigured {
			t.Errorf("no secrets: %v", err)
		}
	}
	boom := errors.New("secrets manager down")
	if _, err := (composio.Webhooks{Secrets: (&secrets{err: boom}).get}).Event(ctx, body, sign(t, webhookSecret, "m", now, body)); !errors.Is(err, boom) {
		t.Errorf("store failing: %v", err)
	}
}

func TestVerifyWebhookErrors(t *testing.T) {
	body := []byte(`{}`)
	now := time.Now()
	if err := composio.VerifyWebhook(body, sign(t, "k", "m", now, body), nil); !errors.Is(err, composio.ErrNoWebhookSecrets) {
		t.Errorf("no secrets: %v", err)
	}
	if err := composio.VerifyWebhook(body, sign(t, "k", "m", now.Add(-time.Hour), body), []string{"k"}); !errors.Is(err, composio.ErrStaleWebhook) {
		t.Errorf("stale: %v", err)
	}
	if err := composio.VerifyWebhook(body, sign(t, "x", "m", now, body), []string{"k"}); !errors.Is(err, composio.ErrBadSignature) {
		t.Errorf("bad: %v", err)
	}
	if err := composio.VerifyWebhook(body, sign(t, "k", "m", now, body), []string{"k"}); err != nil {
		t.Errorf("good: %v", err)
	}
}
