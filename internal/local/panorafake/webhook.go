package panorafake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
)

// SignatureHeader is the header Panora signs webhooks in.
const SignatureHeader = "Panora-Signature"

// Webhook builds the webhook Panora sends for an event of a connection
// (eventType "connection.created" is the one Panora emits at c6741e9e),
// signed with Options.WebhookSecret (or secret, when given), as Panora's
// webhook worker builds it (packages/api/src/@core/@core-services/webhooks/
// panora-webhooks/webhook.processor.ts and webhook.service.ts):
//   - the event's object (the connections row) is stored as
//     JSON.stringify(object), a JSON string in a Json column;
//   - the body is JSON.stringify({id_event, data: that string, type});
//   - Panora-Signature is the hex HMAC-SHA256 of JSON.stringify(data),
//     i.e. of the quoted string, keyed with the endpoint's secret.
func (s *Server) Webhook(eventType, connectionID string, secret ...string) (body []byte, header http.Header, err error) {
	s.mu.Lock()
	var c *connection
	for _, x := range s.conns {
		if x.ID == connectionID {
			c = x
		}
	}
	var obj []byte
	if c != nil {
		obj = c.row()
	}
	s.mu.Unlock()
	if c == nil {
		return nil, nil, fmt.Errorf("panorafake: no connection %s", connectionID)
	}
	key := s.opts.WebhookSecret
	if len(secret) > 0 {
		key = secret[0]
	}
	data := JSStringify(string(obj))
	var b bytes.Buffer
	b.WriteString(`{"id_event":` + JSStringify(uuid.NewString()) + `,"data":` + data + `,"type":` + JSStringify(eventType) + `}`)
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(data))
	header = http.Header{}
	header.Set("Content-Type", "application/json")
	header.Set("User-Agent", "axios/1.7.2")
	header.Set(SignatureHeader, hex.EncodeToString(m.Sum(nil)))
	return b.Bytes(), header, nil
}

// SendWebhook POSTs Webhook's body and headers to url. The caller closes the
// answer's body.
func (s *Server) SendWebhook(ctx context.Context, url, eventType, connectionID string) (*http.Response, error) {
	body, header, err := s.Webhook(eventType, connectionID)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("panorafake: webhook request: %w", err)
	}
	req.Header = header
	return http.DefaultClient.Do(req)
}

// row is the connection as Panora's connections row serializes: Prisma's
// column order, dates as toISOString, the provider's tokens as stored
// (encrypted: here opaque).
func (c *connection) row() []byte {
	var b strings.Builder
	b.WriteString("{")
	fields := []struct{ k, v string }{
		{"id_connection", c.ID}, {"status", c.Status}, {"provider_slug", c.Slug}, {"vertical", c.Vertical},
		{"account_url", c.AccountURL}, {"token_type", c.TokenType},
		{"access_token", "enc:" + hexOf(c.AccessToken)}, {"refresh_token", "enc:" + hexOf(c.RefreshToken)},
		{"expiration_timestamp", isoTime(c.Expires)}, {"created_at", isoTime(c.Created)},
		{"connection_token", c.Token}, {"id_project", c.Project}, {"id_linked_user", c.LinkedUser},
	}
	for i, f := range fields {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(JSStringify(f.k) + ":" + JSStringify(f.v))
	}
	b.WriteString("}")
	return []byte(b.String())
}

// JSStringify is JavaScript's JSON.stringify of a string: the quotes, `\"`,
// `\\`, `\b \f \n \r \t`, other control characters as \u00xx (lower-case
// hex); everything else, U+2028, U+2029 and HTML's <>& included, as is
// (unlike encoding/json). Invalid UTF-8 is written as U+FFFD, as a JS
// string read from it would hold.
func JSStringify(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r) // utf8.RuneError for invalid bytes: U+FFFD
		}
	}
	b.WriteByte('"')
	return b.String()
}

// verifyEvent is POST /webhooks/verifyEvent (webhook.service.ts,
// verifyPayloadSignature): the expected signature is the HMAC of
// JSON.stringify(payload.data) with secret; a match answers 201 with the
// payload, a mismatch 500 with Panora's message (which names both
// signatures). The fake stringifies a string payload.data exactly and
// anything else as its compact JSON.
func (s *Server) verifyEvent(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Payload   map[string]json.RawMessage `json:"payload"`
		Signature string                     `json:"signature"`
		Secret    string                     `json:"secret"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	data := []byte("undefined") // JSON.stringify(undefined)
	if raw, ok := in.Payload["data"]; ok {
		var str string
		if json.Unmarshal(raw, &str) == nil {
			data = []byte(JSStringify(str))
		} else {
			var c bytes.Buffer
			if json.Compact(&c, raw) == nil {
				data = c.Bytes()
			}
		}
	}
	m := hmac.New(sha256.New, []byte(in.Secret))
	m.Write(data)
	expected := hex.EncodeToString(m.Sum(nil))
	if expected != in.Signature {
		writeError(w, r, http.StatusInternalServerError,
			"Signature mismatch for the payload received with expected="+expected+" and signature="+in.Signature)
		return
	}
	writeJSON(w, http.StatusCreated, in.Payload)
}
