package composio_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/automators/connectors/internal/adapter/composio"
)

// FuzzWebhookEvent: no panic on any body or signature header, and
// acceptance only when one of the header's signatures is the body's own
// under the secret (keyed either way).
func FuzzWebhookEvent(f *testing.F) {
	now := time.Now()
	body := []byte(`{"id":"msg_1","type":"composio.connected_account.expired","data":{"id":"ca_1","user_id":"o/u","status":"EXPIRED","auth_config":{"id":"ac_1"}}}`)
	f.Add(body, "msg_1", composio.SignWebhook(webhookSecret, "msg_1", now, body))
	f.Add(body, "msg_1", "v1,AAAA v1,"+composio.SignWebhook(webhookSecret, "msg_1", now, body)[3:])
	f.Add([]byte(`{"type":"composio.connected_account.x","data":[]}`), "m", "v1,")
	f.Add([]byte(`null`), "", "")
	f.Add([]byte("\xff"), "m", "v1,,, ,")
	std, _ := standardwebhooks.NewWebhook(webhookSecret)
	w := composio.Webhooks{Secrets: func(context.Context, bool) ([]string, error) { return []string{webhookSecret}, nil }}
	f.Fuzz(func(t *testing.T, body []byte, id, sig string) {
		h := http.Header{}
		h.Set(composio.HeaderWebhookID, id)
		h.Set(composio.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		h.Set(composio.HeaderWebhookSignature, sig)
		_, _ = composio.ParseWebhook(body)
		ev, err := w.Event(context.Background(), body, h)
		if err != nil {
			return
		}
		raw := composio.SignWebhook(webhookSecret, id, now, body)
		dec, _ := std.Sign(id, now, body)
		matched := false
		for _, s := range strings.Split(h.Get(composio.HeaderWebhookSignature), " ") {
			if s == raw || s == dec {
				matched = true
			}
		}
		if !matched {
			t.Fatalf("accepted signature %q that is not the body's", sig)
		}
		if ev == nil {
			t.Fatal("accepted without an event")
		}
	})
}
