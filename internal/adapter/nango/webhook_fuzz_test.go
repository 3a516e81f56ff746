package nango

import (
	"net/http"
	"strings"
	"testing"
)

// FuzzVerifyWebhook: no panic on any body or signature, and acceptance only
// for the body's own HMAC under one of the keys.
func FuzzVerifyWebhook(f *testing.F) {
	keys := []string{"old-key", "new-key"}
	body := []byte(`{"type":"auth","operation":"creation","success":true}`)
	f.Add(body, SignWebhook(body, "new-key"), "")
	f.Add(body, "", "legacy")
	f.Add([]byte{}, "00", "")
	f.Add([]byte("x"), "zz", "x")
	f.Fuzz(func(t *testing.T, body []byte, sig, legacy string) {
		h := http.Header{}
		if sig != "" {
			h.Set("X-Nango-Hmac-Sha256", sig)
		}
		if legacy != "" {
			h.Set("X-Nango-Signature", legacy)
		}
		if _, err := ParseWebhook(body); err != nil {
			_ = err // unparseable bodies are fine; parsing must just not panic
		}
		if err := VerifyWebhook(body, h, keys); err == nil {
			// Hex is read case-insensitively (and trimmed, as header values
			// are); what must hold is that the bytes are the body's HMAC.
			got := strings.TrimSpace(sig)
			if !strings.EqualFold(got, SignWebhook(body, keys[0])) && !strings.EqualFold(got, SignWebhook(body, keys[1])) {
				t.Fatalf("accepted signature %q that is not the body's HMAC", sig)
			}
		}
	})
}
